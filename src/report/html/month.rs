//! `report.html`: the month's page.

use super::{
    breakdown, change_pct, commitment_label, decimals, escape, method, money, page, reporting, sums, swatch, table,
    PageInfo,
};
use crate::config::Split;
use crate::money::Money;
use crate::report::charts::Charts;
use crate::report::{percentages, pool_label, pool_shares, pool_total, weight_basis, weight_text};
use crate::rollup::{MonthChargeback, COMMITMENT_PURCHASE, DIRECT, OUT_OF_SCOPE, UNALLOCATED, UNUSED_COMMITMENT};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The parts of a team's total in the Teams table.
#[derive(Clone, Copy)]
enum Part {
    Direct,
    Shared,
    Commitment,
    Adjustment,
}

impl Part {
    fn has(self, l: &crate::rollup::Line) -> bool {
        match self {
            Part::Direct => l.allocation == DIRECT,
            Part::Shared => l.allocation.starts_with("shared-") || l.allocation.starts_with(crate::rollup::PLATFORM),
            Part::Commitment => l.allocation == UNUSED_COMMITMENT || l.allocation == COMMITMENT_PURCHASE,
            Part::Adjustment => l.allocation == crate::rollup::PRIOR_PERIOD,
        }
    }
}

/// `report.html` of one month.
pub fn report(
    m: &MonthChargeback,
    previous: Option<&MonthChargeback>,
    info: &PageInfo,
    charts: &Charts,
    comparison: crate::report::Comparison,
) -> String {
    let rep = reporting(info);
    let rep_head = rep.as_ref().map(|(c, _)| format!("#total in {c}"));
    let rep_cell = |v: Option<Money>| -> String {
        match (&rep, v) {
            (Some((_, d)), Some(v)) => money(v, *d),
            _ => String::new(),
        }
    };
    let colours = &charts.colours;
    // This month's teams, and last month's: a team whose spend stopped shows its drop to zero.
    let team_names: Vec<&str> = {
        let this = m.lines.iter();
        let last = previous.into_iter().flat_map(|p| p.lines.iter());
        let mut t: Vec<&str> = this.chain(last).filter(|l| !l.team.starts_with('(')).map(|l| l.team.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let has_statement = |team: &str| m.lines.iter().any(|l| l.team == team);
    let files = info.team_files;
    let anchor = |team: &str| format!("team-{}", files.get(team).map(String::as_str).unwrap_or("_"));

    let mut body = String::new();
    let lines_in = match info.line_files.as_slice() {
        [] => String::new(),
        names => {
            let list: Vec<String> = names.iter().map(|n| format!("<code>{n}</code>")).collect();
            format!(" The month's lines are in {}: every one of them is in the tables below.", list.join(" and "))
        }
    };
    let _ = writeln!(
        body,
        "<p>Azure Machine Learning chargeback for {}, on {} cost.{lines_in} Per currency, the tables add up to the export's total; currencies are never added together.</p>",
        m.month,
        escape(info.basis)
    );

    // Contents.
    let mut toc = String::from("<nav class=\"toc\" aria-label=\"contents\"><strong>Contents</strong>\n<ol>\n<li><a href=\"#reconciliation\">Reconciliation</a></li>\n<li><a href=\"#teams\">Teams</a>");
    if !team_names.is_empty() {
        toc.push_str("<ol>");
        for t in &team_names {
            let _ = write!(toc, "<li><a href=\"#{}\">{}</a></li>", anchor(t), escape(t));
        }
        toc.push_str("</ol>");
    }
    toc.push_str("</li>\n<li><a href=\"#projects\">Per project</a></li>\n<li><a href=\"#pools\">Shared pools and their split</a></li>\n<li><a href=\"#commitments\">Commitments</a></li>\n<li><a href=\"#unit-costs\">Unit costs</a></li>\n<li><a href=\"#unallocated\">Unallocated ML spend</a></li>\n<li><a href=\"#out-of-scope\">Out of scope</a></li>\n<li><a href=\"#topologies\">Workspace topologies</a></li>\n<li><a href=\"#charts\">Charts</a></li>\n</ol></nav>\n");
    body.push_str(&toc);

    body.push_str("<h2 id=\"reconciliation\">Reconciliation</h2>\n");
    let mut header = vec![
        "currency",
        "#input total",
        "#direct",
        "#shared",
        "#unallocated",
        "#out of scope",
        "#chargeback total",
        "#rows",
        "balanced",
    ];
    // Commitments and changes to closed months booked into this one, when there are any.
    let unused = m.totals.iter().any(|t| t.rows.unused_commitment > 0);
    let purchases = m.totals.iter().any(|t| t.rows.commitment_purchase > 0);
    let platform = m.totals.iter().any(|t| t.rows.platform_pool > 0);
    let adjusted = m.totals.iter().any(|t| !t.adjustments.is_zero());
    let mut at = 6;
    for (on, head) in [
        (platform, "#platform pools"),
        (unused, "#unused commitment"),
        (purchases, "#commitment purchases"),
        (adjusted, "#prior-period adjustments"),
    ] {
        if on {
            header.insert(at, head);
            at += 1;
        }
    }
    let rate_head = rep.as_ref().map(|(c, _)| format!("#rate to {c}"));
    if let (Some(r), Some(t)) = (&rate_head, &rep_head) {
        header.push(r);
        header.push(t);
    }
    let rows: Vec<Vec<String>> = m
        .totals
        .iter()
        .map(|t| {
            let d = t.decimals;
            let mut r = vec![
                escape(&t.currency),
                money(t.input_total, d),
                money(t.direct, d),
                money(t.shared, d),
                money(t.unallocated, d),
                money(t.out_of_scope, d),
            ];
            if platform {
                r.push(money(t.platform, d));
            }
            if unused {
                r.push(money(t.unused_commitment, d));
            }
            if purchases {
                r.push(money(t.commitment_purchases, d));
            }
            if adjusted {
                r.push(money(t.adjustments, d));
            }
            r.extend([
                money(t.chargeback_total, d),
                t.rows.input.to_string(),
                if t.balanced {
                    "<span class=\"ok\">yes</span>".into()
                } else {
                    "<span class=\"bad\">NO</span>".into()
                },
            ]);
            if rep.is_some() {
                r.push(t.rate.map(|x| x.to_plain()).unwrap_or_default());
                r.push(rep_cell(t.input_total_report));
            }
            r
        })
        .collect();
    // With a reporting currency, the one total across currencies: the sum of each currency's converted total.
    let mut grand = vec![];
    if let Some((code, rd)) = &rep {
        let all: Money = m.totals.iter().filter_map(|t| t.input_total_report).sum();
        let mut row = vec![format!("all, in {}", escape(code))];
        row.extend(std::iter::repeat_n(String::new(), header.len() - 2));
        row.push(money(all, *rd));
        grand.push(row);
    }
    table(&mut body, &header, &rows, grand);
    if adjusted {
        body.push_str("<p class=\"muted\">chargeback total = input total + prior-period adjustments: changes to closed months, booked here (<code>restatement.csv</code>; the closed months' packs stay as booked).</p>\n");
    }
    let _ = writeln!(
        body,
        "<p class=\"muted\">input total = direct + shared{}{}{} + unallocated + out of scope, per currency.{}</p>",
        if platform { " + platform pools" } else { "" },
        if unused { " + unused commitment" } else { "" },
        if purchases { " + commitment purchases" } else { "" },
        if unused {
            " Unused commitment is the teams' share of reservations and savings plans their usage did not fill; the parts of it that follow unallocated or out-of-scope usage are in those columns."
        } else {
            ""
        }
    );
    if !m.other_providers.is_empty() {
        body.push_str("<h3>Other cloud providers in the exports</h3>\n");
        body.push_str("<p class=\"muted\">Rows of other clouds in a multi-cloud FOCUS export: counted and shown here, never part of the Azure bill above.</p>\n");
        let rows: Vec<Vec<String>> = m
            .other_providers
            .iter()
            .map(|p| {
                let d = info.config.decimals_for(&p.currency);
                vec![escape(&p.provider), escape(&p.currency), money(p.cost, d), p.rows.to_string()]
            })
            .collect();
        table(&mut body, &["provider", "currency", "#total", "#rows"], &rows, vec![]);
    }

    // Teams: one table to find a number, then a section per team on what it is made of.
    body.push_str("<h2 id=\"teams\">Teams</h2>\n");
    if team_names.is_empty() {
        body.push_str("<p class=\"muted\">No spend reached a team this month.</p>\n");
    } else {
        let prev_head = previous.map(|p| p.month.to_string());
        let mut header: Vec<String> =
            ["~team", "currency", "#direct", "#shared"].iter().map(|s| s.to_string()).collect();
        let committed = m.lines.iter().any(|l| Part::Commitment.has(l));
        if committed {
            header.push("#commitments".into());
        }
        if adjusted {
            header.push("#prior-period adjustments".into());
        }
        header.push("#total".into());
        if let Some(p) = &prev_head {
            header.extend([format!("#{p}"), "#change".into(), "#change %".into()]);
        }
        if let Some(t) = &rep_head {
            header.push(t.clone());
        }
        header.push("statement".into());
        let mut per_team = sums(m.lines.iter().filter(|l| !l.team.starts_with('(')), |l| vec![l.team.clone()]);
        for l in previous.into_iter().flat_map(|p| p.lines.iter()).filter(|l| !l.team.starts_with('(')) {
            per_team.entry((vec![l.team.clone()], l.currency.clone())).or_default();
        }
        let rows: Vec<Vec<String>> = per_team
            .iter()
            .map(|((keys, cur), (cost, report))| {
                let team = &keys[0];
                let d = decimals(m, cur);
                let part = |kind: Part| -> Money {
                    m.lines
                        .iter()
                        .filter(|l| &l.team == team && &l.currency == cur && kind.has(l))
                        .map(|l| l.cost)
                        .sum()
                };
                let mut r = vec![
                    format!("{}<a href=\"#{}\">{}</a>", swatch(colours, team), anchor(team), escape(team)),
                    escape(cur),
                    money(part(Part::Direct), d),
                    money(part(Part::Shared), d),
                ];
                if committed {
                    r.push(money(part(Part::Commitment), d));
                }
                if adjusted {
                    r.push(money(part(Part::Adjustment), d));
                }
                r.push(money(*cost, d));
                if let Some(p) = previous {
                    let before: Money =
                        p.lines.iter().filter(|l| &l.team == team && &l.currency == cur).map(|l| l.cost).sum();
                    r.extend([money(before, d), money(*cost - before, d), change_pct(*cost - before, before)]);
                }
                if rep.is_some() {
                    r.push(rep_cell(*report));
                }
                r.push(match files.get(team.as_str()).filter(|_| has_statement(team)) {
                    Some(file) => format!("<a href=\"statements/{}.html\">statement</a>", escape(file)),
                    None => String::new(),
                });
                r
            })
            .collect();
        // A total per currency: the teams' share of the reconciliation (direct + shared).
        let currencies: std::collections::BTreeSet<&String> = per_team.keys().map(|(_, c)| c).collect();
        let totals: Vec<Vec<String>> = currencies
            .into_iter()
            .map(|cur| {
                let d = decimals(m, cur);
                let teams = m.lines.iter().filter(|l| &l.currency == cur && !l.team.starts_with('('));
                let sum = |kind: Option<Part>| -> Money {
                    teams.clone().filter(|l| kind.is_none_or(|k| k.has(l))).map(|l| l.cost).sum()
                };
                let mut r = vec![
                    "all teams".into(),
                    escape(cur),
                    money(sum(Some(Part::Direct)), d),
                    money(sum(Some(Part::Shared)), d),
                ];
                if committed {
                    r.push(money(sum(Some(Part::Commitment)), d));
                }
                if adjusted {
                    r.push(money(sum(Some(Part::Adjustment)), d));
                }
                r.push(money(sum(None), d));
                if let Some(p) = previous {
                    let before: Money =
                        p.lines.iter().filter(|l| &l.currency == cur && !l.team.starts_with('(')).map(|l| l.cost).sum();
                    r.extend([money(before, d), money(sum(None) - before, d), change_pct(sum(None) - before, before)]);
                }
                if rep.is_some() {
                    let converted: Option<Money> = teams.clone().map(|l| l.report_cost).sum();
                    r.push(rep_cell(converted));
                }
                r.push(String::new());
                r
            })
            .collect();
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        table(&mut body, &h, &rows, totals);

        for team in &team_names {
            let _ = writeln!(body, "<h3 id=\"{}\">{}{}</h3>", anchor(team), swatch(colours, team), escape(team));
            breakdown(&mut body, team, m, previous);
        }
    }

    let with_rep = |h: Vec<&str>| -> Vec<String> {
        let mut v: Vec<String> = h.iter().map(|s| s.to_string()).collect();
        if let Some(t) = &rep_head {
            v.push(t.clone());
        }
        v
    };
    let render = |body: &mut String,
                  id: &str,
                  title: &str,
                  empty: &str,
                  header: Vec<String>,
                  groups: BTreeMap<(Vec<String>, String), (Money, Option<Money>)>| {
        let _ = writeln!(body, "<h2 id=\"{id}\">{}</h2>", escape(title));
        if groups.is_empty() {
            let _ = writeln!(body, "<p class=\"muted\">{}</p>", escape(empty));
            return;
        }
        let rows: Vec<Vec<String>> = groups
            .into_iter()
            .map(|((keys, cur), (cost, report))| {
                let mut r: Vec<String> = keys.iter().map(|k| escape(k)).collect();
                r.push(escape(&cur));
                r.push(money(cost, decimals(m, &cur)));
                if rep.is_some() {
                    r.push(rep_cell(report));
                }
                r
            })
            .collect();
        let h: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
        table(body, &h, &rows, vec![]);
    };
    let projects = m.lines.iter().filter(|l| l.allocation == DIRECT);
    render(
        &mut body,
        "projects",
        "Per project (direct spend)",
        "No direct spend this month.",
        with_rep(vec!["team", "project", "currency", "#cost"]),
        sums(projects, |l| {
            vec![l.team.clone(), if l.project.is_empty() { "(no project)".into() } else { l.project.clone() }]
        }),
    );

    body.push_str("<h2 id=\"pools\">Shared pools and their split</h2>\n");
    if m.splits.is_empty() {
        body.push_str("<p class=\"muted\">No shared pool held spend this month.</p>\n");
    }
    for s in &m.splits {
        let d = decimals(m, &s.currency);
        let _ = writeln!(
            body,
            "<h3>{}</h3>\n<p>Pool of <strong>{} {}</strong> from {} rows, split {}. Weights: {}.</p>",
            escape(&pool_label(s)),
            money(pool_total(s), d),
            escape(&s.currency),
            s.rows,
            method(s),
            escape(&weight_basis(s, m.month)),
        );
        let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
        let pcts = percentages(&weights);
        let amounts = pool_shares(s);
        // Members in name order, as the chart stacks them.
        let mut members: Vec<_> = s.shares.iter().zip(&pcts).zip(&amounts).collect();
        members.sort_by(|a, b| a.0 .0 .0.cmp(&b.0 .0 .0));
        let rows: Vec<Vec<String>> = members
            .into_iter()
            .map(|(((team, weight, _), pct), (_, amount))| {
                vec![
                    format!("{}{}", swatch(colours, team), escape(team)),
                    escape(&weight_text(s, *weight, d)),
                    format!("{pct}%"),
                    money(*amount, d),
                ]
            })
            .collect();
        let total: Money = amounts.iter().map(|x| x.1).sum();
        let weight_head = match s.method {
            Split::Proportional if !s.fell_back() && s.platform => format!("#weight ({} ML spend)", s.currency),
            Split::Proportional if !s.fell_back() => format!("#weight ({} direct spend)", s.currency),
            Split::Fixed => "#weight (%)".into(),
            Split::Usage if !s.fell_back() => "#weight (hours)".into(),
            _ => "#weight".into(),
        };
        table(
            &mut body,
            &["team", &weight_head, "#share %", &format!("#share ({})", s.currency)],
            &rows,
            vec![vec!["pool".into(), String::new(), "100.0%".into(), money(total, d)]],
        );
        computes(&mut body, s, d, colours);
    }

    commitments(&mut body, m, colours);
    body.push_str("<h2 id=\"unit-costs\">Unit costs</h2>\n");
    super::unit_costs(&mut body, m, None);

    let unallocated = m.lines.iter().filter(|l| l.allocation == UNALLOCATED);
    render(
        &mut body,
        "unallocated",
        "Unallocated ML spend by reason",
        "No unallocated ML spend this month.",
        with_rep(vec!["~reason", "workspace", "currency", "#cost"]),
        sums(unallocated, |l| vec![l.reason.clone(), l.workspace.clone()]),
    );
    let oos = m.lines.iter().filter(|l| l.allocation == OUT_OF_SCOPE);
    render(
        &mut body,
        "out-of-scope",
        "Out of scope (not Azure ML spend)",
        "Nothing out of scope this month.",
        with_rep(vec!["service", "currency", "#cost"]),
        sums(oos, |l| vec![l.service_category.clone()]),
    );

    // The topology comparison, as topology.csv holds it.
    super::topology::section(&mut body, m, comparison);

    body.push_str("<h2 id=\"charts\">Charts</h2>\n");
    for (_, stem, drawn) in charts.of_month(m.month) {
        let _ = writeln!(body, "<figure id=\"{}\">{}</figure>", escape(stem), drawn.svg);
    }
    let omitted: Vec<String> = charts
        .omitted_in(m.month)
        .map(|(_, stem, why)| format!("<li><code>{}</code>: {}</li>", escape(stem), escape(why)))
        .collect();
    if !omitted.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"muted\">Not drawn, as they would show nothing:</p>\n<ul class=\"muted\">{}</ul>",
            omitted.join("")
        );
    }
    page(&format!("ML chargeback {} ({} cost)", m.month, info.basis), info, &body)
}

/// The month's commitments: per reservation or savings plan, whose usage it covered and who pays for what it left
/// unused, and the purchases charged to owners.
fn commitments(body: &mut String, m: &MonthChargeback, colours: &crate::report::chart::TeamColours) {
    body.push_str("<h2 id=\"commitments\">Commitments</h2>\n");
    let purchases: Vec<&crate::rollup::Line> = m.lines.iter().filter(|l| l.allocation == COMMITMENT_PURCHASE).collect();
    if m.commitments.is_empty() && purchases.is_empty() {
        body.push_str("<p class=\"muted\">No reservation or savings plan in the exports this month.</p>\n");
        return;
    }
    if !m.commitments.is_empty() {
        body.push_str("<p>Reservations and savings plans cover usage automatically. Each one's unused capacity is charged to the teams whose usage it covered this month, in proportion to their covered cost, or to its configured owner when it covered none (or its configuration says <code>unused = \"owner\"</code>). Parts that follow unallocated or out-of-scope usage stay there.</p>\n");
        let pcts = crate::report::commitment_percentages(m);
        let covered = crate::report::commitment_covered_rounded(m);
        // The shares as the lines carry them, when rounding line by line moved any.
        let moved = m.commitments.iter().any(|u| u.billed != u.rounded);
        let rows: Vec<Vec<String>> = m
            .commitments
            .iter()
            .zip(pcts)
            .zip(&covered)
            .map(|((u, pct), covered)| {
                let d = decimals(m, &u.currency);
                let team = if u.team.starts_with('(') {
                    format!("<span class=\"muted\">{}</span>", escape(&u.team))
                } else {
                    format!("{}{}", swatch(colours, &u.team), escape(&u.team))
                };
                let mut r = vec![
                    commitment_label(&u.name, &u.commitment),
                    team,
                    escape(&u.currency),
                    money(*covered, d),
                    if pct.is_empty() { "-".into() } else { format!("{pct}%") },
                    money(u.rounded, d),
                ];
                if moved {
                    r.push(money(u.billed, d));
                }
                r
            })
            .collect();
        // A total per commitment: what it covered and what it left unused.
        let mut totals: BTreeMap<(&str, &str), (&str, Money, Money, Money)> = BTreeMap::new();
        for u in &m.commitments {
            let t =
                totals.entry((&u.currency, &u.commitment)).or_insert((&u.name, Money::ZERO, Money::ZERO, Money::ZERO));
            t.1 += u.covered;
            t.2 += u.rounded;
            t.3 += u.billed;
        }
        let totals: Vec<Vec<String>> = totals
            .into_iter()
            .map(|((cur, id), (name, covered, rounded, billed))| {
                let d = decimals(m, cur);
                let mut r = vec![
                    format!("all of {}", if name.is_empty() { escape(id) } else { escape(name) }),
                    String::new(),
                    escape(cur),
                    money(covered.round(d), d),
                    String::new(),
                    money(rounded, d),
                ];
                if moved {
                    r.push(money(billed, d));
                }
                r
            })
            .collect();
        let mut header = vec!["~commitment", "~team", "currency", "#covered usage", "#covered %", "#unused share"];
        if moved {
            header.push("#in the lines");
        }
        table(body, &header, &rows, totals);
        if moved {
            body.push_str("<p class=\"muted\">In the lines: the share as the chargeback lines carry it. Each line is rounded with the month's other lines so that the month adds up to the cent, which can move a share by a cent per line.</p>\n");
        }
    }
    if !purchases.is_empty() {
        body.push_str("<h3>Purchases charged to their owners</h3>\n");
        let rows: Vec<Vec<String>> = purchases
            .iter()
            .map(|l| {
                vec![
                    escape(l.reason.trim_start_matches("commitment ")),
                    format!("{}{}", swatch(colours, &l.team), escape(&l.team)),
                    escape(&l.currency),
                    money(l.cost, decimals(m, &l.currency)),
                ]
            })
            .collect();
        table(body, &["~commitment", "~owner", "currency", "#cost"], &rows, vec![]);
    }
}

/// A pool's compute targets charged by busy hours: each member's busy hours and their cost, and the idle capacity.
fn computes(body: &mut String, s: &crate::rollup::PoolSplit, d: u32, colours: &crate::report::chart::TeamColours) {
    for c in &s.computes {
        let busy_hours: Money = c.busy.iter().map(|b| b.1).sum();
        let busy_cost: Money = c.busy.iter().map(|b| b.2).sum();
        let pct = |part: Money, whole: Money| {
            part.mul_div(Money::from_minor_units(100, 0), whole).map(|p| p.round(1).to_fixed(1)).unwrap_or_default()
        };
        let _ = writeln!(
            body,
            "<p>Compute target <code>{}</code> billed <strong>{} node hours</strong> for {} {}; the members were busy for {} of them ({}%), which cost {}. Its idle capacity, <strong>{} {}</strong>, is charged {}.</p>",
            escape(&c.compute),
            c.hours.round(2).to_plain(),
            money(c.cost.round(d), d),
            escape(&s.currency),
            busy_hours.round(2).to_plain(),
            pct(busy_hours, c.hours),
            money(busy_cost.round(d), d),
            money(c.idle.round(d), d),
            escape(&s.currency),
            escape(&c.idle_policy),
        );
        let rows: Vec<Vec<String>> = c
            .busy
            .iter()
            .zip(&c.idle_to)
            .filter(|(b, i)| !b.1.is_zero() || !i.1.is_zero())
            .map(|(b, i)| {
                vec![
                    format!("{}{}", swatch(colours, &b.0), escape(&b.0)),
                    b.1.round(2).to_plain(),
                    money(b.2.round(d), d),
                    money(i.1.round(d), d),
                ]
            })
            .collect();
        table(
            body,
            &["team", "#busy hours", &format!("#busy cost ({})", s.currency), &format!("#idle share ({})", s.currency)],
            &rows,
            vec![vec![
                format!("all of {}", escape(&c.compute)),
                busy_hours.round(2).to_plain(),
                money(busy_cost.round(d), d),
                money(c.idle.round(d), d),
            ]],
        );
    }
}
