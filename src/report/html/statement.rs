//! `statements/<team>.html`: one team's page.

use super::{breakdown, change_pct, decimals, environment, escape, method, money, page, reporting, table, PageInfo};
use crate::money::Money;
use crate::report::{percentages, pool_label, pool_shares, pool_total, weight_basis, weight_text};
use crate::rollup::{Line, MonthChargeback};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A team's `statements/<team>.html`.
pub fn statement(team: &str, m: &MonthChargeback, previous: Option<&MonthChargeback>, info: &PageInfo) -> String {
    let rep = reporting(info);
    let lines: Vec<&Line> = m.lines.iter().filter(|l| l.team == team).collect();
    let mut totals: BTreeMap<&str, (Money, Option<Money>)> = BTreeMap::new();
    for l in &lines {
        let e = totals.entry(&l.currency).or_default();
        e.0 += l.cost;
        if let Some(r) = l.report_cost {
            *e.1.get_or_insert(Money::ZERO) += r;
        }
    }
    let previous_total = |cur: &str| -> Option<Money> {
        previous.map(|p| p.lines.iter().filter(|l| l.team == team && l.currency == cur).map(|l| l.cost).sum())
    };
    let budget = info.config.budgets.iter().find(|(t, _)| t.eq_ignore_ascii_case(team)).map(|(_, b)| b);
    let mut body = String::new();
    let back = info
        .team_files
        .get(team)
        .map(|f| format!(" <a href=\"../report.html#team-{}\">In the month's report</a>.", escape(f)))
        .unwrap_or_default();
    let _ = writeln!(
        body,
        "<p>Team <strong>{}</strong>, {} ({} cost).{back}</p>",
        escape(team),
        m.month,
        escape(info.basis)
    );

    body.push_str("<h2 id=\"total\">Total</h2>\n");
    let mut header: Vec<String> = ["currency", "#this month"].iter().map(|s| s.to_string()).collect();
    if previous.is_some() {
        header.extend([format!("#{}", m.month.previous()), "#change".to_string(), "#change %".to_string()]);
    }
    if budget.is_some() {
        header.extend(["#budget".to_string(), "#remaining".to_string(), "#used %".to_string()]);
    }
    if let Some((c, _)) = &rep {
        header.push(format!("#total in {c}"));
    }
    let rows: Vec<Vec<String>> = totals
        .iter()
        .map(|(cur, (cost, report))| {
            let d = decimals(m, cur);
            let mut r = vec![escape(cur), money(*cost, d)];
            if previous.is_some() {
                let p = previous_total(cur).unwrap_or_default();
                r.extend([money(p, d), money(*cost - p, d), change_pct(*cost - p, p)]);
            }
            if let Some(b) = budget {
                match b.get(&cur.to_ascii_uppercase()) {
                    Some(limit) => {
                        let left = *limit - *cost;
                        let remaining = if left.is_negative() {
                            format!("<span class=\"bad\">{}</span>", money(left, d))
                        } else {
                            money(left, d)
                        };
                        r.extend([money(*limit, d), remaining, change_pct(*cost, *limit)])
                    }
                    None => r.extend(["-".into(), "-".into(), "-".into()]),
                }
            }
            if let Some((_, rd)) = &rep {
                r.push(report.map(|v| money(v, *rd)).unwrap_or_default());
            }
            r
        })
        .collect();
    let h: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    table(&mut body, &h, &rows, vec![]);

    body.push_str("<h2 id=\"made-of\">What it is made of</h2>\n");
    breakdown(&mut body, team, m, previous);

    body.push_str("<h2 id=\"lines\">Lines</h2>\n");
    let mut header = vec!["project", "workspace", "environment", "service", "allocation", "currency", "#cost"];
    let rep_head = rep.as_ref().map(|(c, _)| format!("#cost in {c}"));
    if let Some(h) = &rep_head {
        header.push(h);
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let mut r = vec![
                escape(&l.project),
                escape(&l.workspace),
                environment(&l.environment),
                escape(&l.service_category),
                escape(&l.allocation),
                escape(&l.currency),
                money(l.cost, decimals(m, &l.currency)),
            ];
            if let Some((_, rd)) = &rep {
                r.push(l.report_cost.map(|v| money(v, *rd)).unwrap_or_default());
            }
            r
        })
        .collect();
    // A total line per currency, as the statement's CSV has.
    let total_rows: Vec<Vec<String>> = totals
        .iter()
        .map(|(cur, (cost, report))| {
            let mut r = vec!["total".into(), String::new(), String::new(), String::new(), String::new(), escape(cur)];
            r.push(money(*cost, decimals(m, cur)));
            if let Some((_, rd)) = &rep {
                r.push(report.map(|v| money(v, *rd)).unwrap_or_default());
            }
            r
        })
        .collect();
    table(&mut body, &header, &rows, total_rows);

    commitments(&mut body, team, m);
    if m.unit_costs.iter().any(|u| u.team == team) {
        body.push_str("<h2 id=\"unit-costs\">Unit costs</h2>\n");
        super::unit_costs(&mut body, m, Some(team));
    }

    let pools: Vec<_> = m.splits.iter().filter(|s| s.shares.iter().any(|(t, _, _)| t == team)).collect();
    if !pools.is_empty() {
        body.push_str("<h2 id=\"pools\">Shared-pool shares</h2>\n");
        let rows: Vec<Vec<String>> = pools
            .iter()
            .map(|s| {
                let d = decimals(m, &s.currency);
                let i = s.shares.iter().position(|(t, _, _)| t == team).unwrap_or(0);
                let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
                let pct = percentages(&weights).get(i).cloned().unwrap_or_default();
                let share = pool_shares(s).get(i).map(|x| x.1).unwrap_or_default();
                vec![
                    escape(&pool_label(s)),
                    method(s).to_string(),
                    escape(&s.currency),
                    money(pool_total(s), d),
                    escape(&weight_text(s, s.shares[i].1, d)),
                    escape(&weight_basis(s, m.month)),
                    pct,
                    money(share, d),
                ]
            })
            .collect();
        table(
            &mut body,
            &[
                "~pool",
                "method",
                "currency",
                "#pool amount",
                "#your weight",
                "~weights are",
                "#your share %",
                "#your share",
            ],
            &rows,
            vec![],
        );
    }
    page(&format!("Statement: {team}, {}", m.month), info, &body)
}

/// The team's covered usage and share of unused capacity, per commitment whose usage or capacity reached it.
fn commitments(body: &mut String, team: &str, m: &MonthChargeback) {
    let pcts = crate::report::commitment_percentages(m);
    let covered = crate::report::commitment_covered_rounded(m);
    let mine: Vec<(usize, &crate::rollup::CommitmentUse)> =
        m.commitments.iter().enumerate().filter(|(_, u)| u.team == team).collect();
    if mine.is_empty() {
        return;
    }
    body.push_str("<h2 id=\"commitments\">Commitments</h2>\n");
    body.push_str("<p>Reservations and savings plans that covered the team's usage this month, and its share of what they left unused: in proportion to its covered usage, or all of it when the team owns the commitment and nobody's usage it covered.</p>\n");
    let moved = mine.iter().any(|(_, u)| u.billed != u.rounded);
    let rows: Vec<Vec<String>> = mine
        .iter()
        .map(|(i, u)| {
            let d = decimals(m, &u.currency);
            let all = m.commitments.iter().filter(|x| x.currency == u.currency && x.commitment == u.commitment);
            let covered_all: Money = all.clone().map(|x| x.covered).sum();
            let unused: Money = all.map(|x| x.unused).sum();
            let mut r = vec![
                super::commitment_label(&u.name, &u.commitment),
                escape(&u.currency),
                money(covered[*i], d),
                money(covered_all.round(d), d),
                if pcts[*i].is_empty() { "-".into() } else { format!("{}%", pcts[*i]) },
                money(unused.round(d), d),
                money(u.rounded, d),
            ];
            if moved {
                r.push(money(u.billed, d));
            }
            r
        })
        .collect();
    let mut header = vec![
        "~commitment",
        "currency",
        "#your covered usage",
        "#all covered usage",
        "#your part %",
        "#unused capacity",
        "#your share",
    ];
    if moved {
        header.push("#in your lines");
    }
    table(body, &header, &rows, vec![]);
    if moved {
        body.push_str("<p class=\"muted\">In your lines: the share as your chargeback lines carry it, each line rounded with the month's other lines so that the month adds up to the cent.</p>\n");
    }
}
