//! HTML pages: the month's `report.html` and each team's `statements/<team>.html`.
//!
//! Takes a month's chargeback (and the previous month's, when the input has it), the run's settings and the month's
//! charts, and gives self-contained pages: inline CSS, charts as inline SVG, no scripts, no external fonts or links
//! (links go only to anchors of the page and to the pack's own statements), readable offline. `report.html` opens
//! with a contents list; each team has an anchored section with its number, what it is made of (direct spend per
//! workspace, its share of each pool and on what basis) and the change since last month. Numbers line up on the
//! decimal point, table headers stay in view while scrolling, and a print stylesheet gives A4 pages. Every value
//! that comes from the bill or the configuration (tag values, names, reasons) is HTML-escaped: anyone who can tag a
//! resource writes into these pages.

use crate::config::{Config, Split};
use crate::money::Money;
use crate::report::chart::TeamColours;
use crate::report::charts::Charts;
use crate::report::{
    grouped, percentages, pool_label, pool_shares, pool_total, safe_file_names, weight_basis, weight_text,
};
use crate::rollup::{Line, MonthChargeback, PoolSplit, DIRECT, OUT_OF_SCOPE, UNALLOCATED};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}h3{font-size:1.05rem;margin:1.6rem 0 .3rem}\
nav.toc{background:#f6f6f7;border:1px solid #e3e3e3;border-radius:6px;padding:.5rem 1.2rem;font-size:.92rem}nav.toc ol{margin:.3rem 0;padding-left:1.3rem}nav.toc ol ol{padding-left:1rem;columns:3}nav.toc li{overflow-wrap:anywhere;break-inside:avoid}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{padding:.3rem .7rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top;white-space:nowrap}td.w{white-space:normal;min-width:10rem;overflow-wrap:anywhere}\
thead th{position:sticky;top:0;background:#fff;box-shadow:0 1px 0 #bbb;z-index:1}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.total td{font-weight:600;border-top:2px solid #999}\
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.muted{color:#666;font-size:.85rem}\
.swatch{display:inline-block;width:.75em;height:.75em;border-radius:2px;margin-right:.4em;vertical-align:-.05em}\
a{color:#0b57d0}figure{margin:1rem 0;break-inside:avoid}figure svg{max-width:100%;height:auto}\
@page{size:A4;margin:14mm 12mm}\
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}nav.toc{break-after:page}h2,h3{break-after:avoid}\
table{font-size:8pt;max-width:100%}th,td{padding:.15rem .4rem}td{overflow-wrap:anywhere;white-space:normal}td.n{white-space:nowrap}td.w{min-width:0}tr{break-inside:avoid}\
thead{display:table-header-group}thead th{position:static;box-shadow:none;border-bottom:1px solid #999}a{color:inherit;text-decoration:none}\
figure svg{width:100%}}";

/// What the pages need besides the chargeback.
pub struct PageInfo<'a> {
    pub config: &'a Config,
    pub basis: &'a str,
    pub timestamp: Option<&'a str>,
    /// The chargeback files this run writes beside the page (`chargeback.csv`, `.parquet`, `.json`).
    pub line_files: Vec<&'static str>,
}

fn page(title: &str, info: &PageInfo, body: &str) -> String {
    let stamp = info.timestamp.map(|t| format!("<p class=\"muted\">generated {}</p>\n", escape(t))).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{stamp}{body}</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

/// A table: header cells (a leading `#` marks a numeric column, `~` a column of long text that may wrap; other
/// cells stay on one line) and rows of already-escaped cells. Numbers of a column line up on the decimal point: ones
/// with fewer decimals are padded with figure spaces.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], total: Option<Vec<String>>) {
    let numeric: Vec<bool> = header.iter().map(|h| h.starts_with('#')).collect();
    let class = |h: &str| match h.chars().next() {
        Some('#') => " class=\"n\"",
        Some('~') => " class=\"w\"",
        _ => "",
    };
    let classes: Vec<&str> = header.iter().map(|h| class(h)).collect();
    let decimals = |cell: &str| -> Option<usize> {
        let digits = cell.trim_start_matches('-').replace(',', "");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        Some(digits.split_once('.').map(|(_, f)| f.len() + 1).unwrap_or(0))
    };
    let widest: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter().chain(total.iter()).filter_map(|r| r.get(c)).filter_map(|v| decimals(v)).max().unwrap_or(0)
        })
        .collect();
    out.push_str("<table>\n<thead><tr>");
    for (h, c) in header.iter().zip(&classes) {
        let _ = write!(out, "<th{c}>{}</th>", escape(h.trim_start_matches(['#', '~'])));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut row = |cells: &[String], class: &str| {
        let _ = write!(out, "<tr{class}>");
        for (k, ((c, n), class)) in cells.iter().zip(&numeric).zip(&classes).enumerate() {
            let pad = match decimals(c) {
                Some(d) if *n && d < widest[k] => "\u{2007}".repeat(widest[k] - d),
                _ => String::new(),
            };
            let _ = write!(out, "<td{class}>{c}{pad}</td>");
        }
        out.push_str("</tr>\n");
    };
    for r in rows {
        row(r, "");
    }
    if let Some(t) = total {
        row(&t, " class=\"total\"");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn decimals(m: &MonthChargeback, currency: &str) -> u32 {
    m.totals.iter().find(|t| t.currency == currency).map(|t| t.decimals).unwrap_or(2)
}

/// An amount at `d` decimals with thousands separators, exactly (`-1,234.50`).
pub fn money(m: Money, d: u32) -> String {
    grouped(m, d)
}

/// `a` against `b` in percent at one decimal, never a negative zero; `-` when `b` is zero or negative (a change
/// against a credit has no meaningful percentage).
fn change_pct(a: Money, b: Money) -> String {
    let (a, b): (f64, f64) = (a.to_plain().parse().unwrap_or(0.0), b.to_plain().parse().unwrap_or(0.0));
    if b <= 0.0 {
        "-".into()
    } else {
        crate::compare::percent(a / b * 100.0, 1)
    }
}

/// `; 9,686.95 USD in 2026-09, so down 486.12 (-5.0%)`: the change from last month in words, its sign and its word
/// agreeing; no percentage against nothing or a credit.
fn change_words(now: Money, before: Money, d: u32, cur: &str, month: crate::dates::Month) -> String {
    if before.is_zero() {
        return format!("; nothing in {month}");
    }
    let diff = now - before;
    let (word, size) = if diff.is_zero() {
        ("unchanged", String::new())
    } else if diff.is_negative() {
        ("down", format!(" {}", money(Money::ZERO - diff, d)))
    } else {
        ("up", format!(" {}", money(diff, d)))
    };
    let pct = if before.is_negative() || diff.is_zero() {
        String::new()
    } else {
        format!(" ({}%)", change_pct(diff, before))
    };
    format!("; {} {} in {month}, so {word}{size}{pct}", money(before, d), escape(cur))
}

/// Sums of lines per key, per currency.
fn sums<'a>(
    lines: impl Iterator<Item = &'a Line>,
    key: impl Fn(&Line) -> Vec<String>,
) -> BTreeMap<(Vec<String>, String), (Money, Option<Money>)> {
    let mut out: BTreeMap<(Vec<String>, String), (Money, Option<Money>)> = BTreeMap::new();
    for l in lines {
        let e = out.entry((key(l), l.currency.clone())).or_default();
        e.0 += l.cost;
        if let Some(r) = l.report_cost {
            *e.1.get_or_insert(Money::ZERO) += r;
        }
    }
    out
}

/// The reporting currency's code and decimals, when configured.
fn reporting(info: &PageInfo) -> Option<(String, u32)> {
    info.config.reporting.as_ref().map(|r| (r.currency.clone(), info.config.decimals_for(&r.currency)))
}

/// A team's colour dot, as in the charts.
fn swatch(colours: &TeamColours, team: &str) -> String {
    format!("<span class=\"swatch\" style=\"background:{}\"></span>", colours.swatch(team).fill.hex())
}

/// An environment cell: its name, or that the rows had no environment tag.
fn environment(env: &str) -> String {
    if env.is_empty() {
        "<span class=\"muted\">no tag</span>".into()
    } else {
        escape(env)
    }
}

/// What a line of a team is, in words: which rule put it there.
fn how(l: &Line, m: &MonthChargeback) -> String {
    if l.allocation == DIRECT {
        return match l.topology.as_str() {
            "team" => "direct: the team's own workspace".into(),
            "project" => {
                format!("direct: project workspace of {}", if l.project.is_empty() { "-" } else { &l.project })
            }
            "shared" => "direct: team tag in a shared workspace".into(),
            _ => "direct".into(),
        };
    }
    let Some(s) = m
        .splits
        .iter()
        .find(|s| s.workspace == l.workspace && s.environment == l.environment && s.currency == l.currency)
    else {
        return l.allocation.clone();
    };
    let i = s.shares.iter().position(|x| x.0 == l.team).unwrap_or(0);
    let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
    let pct = percentages(&weights).get(i).cloned().unwrap_or_default();
    let d = decimals(m, &s.currency);
    format!(
        "shared: {pct}% of pool {} {} ({}; weights: {})",
        money(pool_total(m, s), d),
        escape(&s.currency),
        method(s),
        escape(&weight_basis(s, m.month))
    )
}

fn method(s: &PoolSplit) -> &'static str {
    if s.fell_back() {
        return "even, as proportional had no weights";
    }
    match s.method {
        Split::Even => "even",
        Split::Proportional => "proportional",
        Split::Fixed => "fixed",
    }
}

/// `report.html` of one month.
pub fn report(m: &MonthChargeback, previous: Option<&MonthChargeback>, info: &PageInfo, charts: &Charts) -> String {
    let rep = reporting(info);
    let rep_head = rep.as_ref().map(|(c, _)| format!("#total in {c}"));
    let rep_cell = |v: Option<Money>| -> String {
        match (&rep, v) {
            (Some((_, d)), Some(v)) => money(v, *d),
            _ => String::new(),
        }
    };
    let colours = &charts.colours;
    let team_names: Vec<&str> = {
        let mut t: Vec<&str> = m.lines.iter().filter(|l| !l.team.starts_with('(')).map(|l| l.team.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    let files = safe_file_names(team_names.iter().copied());
    let anchor = |team: &str| format!("team-{}", files.get(team).cloned().unwrap_or_default());

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
    toc.push_str("</li>\n<li><a href=\"#projects\">Per project</a></li>\n<li><a href=\"#pools\">Shared pools and their split</a></li>\n<li><a href=\"#unallocated\">Unallocated ML spend</a></li>\n<li><a href=\"#out-of-scope\">Out of scope</a></li>\n<li><a href=\"#charts\">Charts</a></li>\n</ol></nav>\n");
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
                money(t.chargeback_total, d),
                t.rows.input.to_string(),
                if t.balanced {
                    "<span class=\"ok\">yes</span>".into()
                } else {
                    "<span class=\"bad\">NO</span>".into()
                },
            ];
            if rep.is_some() {
                r.push(t.rate.map(|x| x.to_plain()).unwrap_or_default());
                r.push(rep_cell(t.input_total_report));
            }
            r
        })
        .collect();
    table(&mut body, &header, &rows, None);
    body.push_str("<p class=\"muted\">input total = direct + shared + unallocated + out of scope, per currency.</p>\n");
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
        table(&mut body, &["provider", "currency", "#total", "#rows"], &rows, None);
    }

    // Teams: one table to find a number, then a section per team on what it is made of.
    body.push_str("<h2 id=\"teams\">Teams</h2>\n");
    if team_names.is_empty() {
        body.push_str("<p class=\"muted\">No spend reached a team this month.</p>\n");
    } else {
        let prev_head = previous.map(|p| p.month.to_string());
        let mut header: Vec<String> =
            ["~team", "currency", "#direct", "#shared", "#total"].iter().map(|s| s.to_string()).collect();
        if let Some(p) = &prev_head {
            header.extend([format!("#{p}"), "#change".into(), "#change %".into()]);
        }
        if let Some(t) = &rep_head {
            header.push(t.clone());
        }
        header.push("statement".into());
        let per_team = sums(m.lines.iter().filter(|l| !l.team.starts_with('(')), |l| vec![l.team.clone()]);
        let rows: Vec<Vec<String>> = per_team
            .iter()
            .map(|((keys, cur), (cost, report))| {
                let team = &keys[0];
                let d = decimals(m, cur);
                let part = |direct: bool| -> Money {
                    m.lines
                        .iter()
                        .filter(|l| &l.team == team && &l.currency == cur && (l.allocation == DIRECT) == direct)
                        .map(|l| l.cost)
                        .sum()
                };
                let mut r = vec![
                    format!("{}<a href=\"#{}\">{}</a>", swatch(colours, team), anchor(team), escape(team)),
                    escape(cur),
                    money(part(true), d),
                    money(part(false), d),
                    money(*cost, d),
                ];
                if let Some(p) = previous {
                    let before: Money =
                        p.lines.iter().filter(|l| &l.team == team && &l.currency == cur).map(|l| l.cost).sum();
                    r.extend([money(before, d), money(*cost - before, d), change_pct(*cost - before, before)]);
                }
                if rep.is_some() {
                    r.push(rep_cell(*report));
                }
                r.push(format!("<a href=\"statements/{}.html\">statement</a>", escape(&files[team])));
                r
            })
            .collect();
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        table(&mut body, &h, &rows, None);

        for team in &team_names {
            let _ = writeln!(body, "<h3 id=\"{}\">{}{}</h3>", anchor(team), swatch(colours, team), escape(team));
            let lines: Vec<&Line> = m.lines.iter().filter(|l| l.team == *team).collect();
            for cur in lines.iter().map(|l| l.currency.as_str()).collect::<std::collections::BTreeSet<_>>() {
                let d = decimals(m, cur);
                let total: Money = lines.iter().filter(|l| l.currency == cur).map(|l| l.cost).sum();
                let change = previous
                    .map(|p| {
                        let before: Money =
                            p.lines.iter().filter(|l| l.team == *team && l.currency == cur).map(|l| l.cost).sum();
                        change_words(total, before, d, cur, p.month)
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    body,
                    "<p><strong>{} {}</strong> in {}{change}.</p>",
                    money(total, d),
                    escape(cur),
                    m.month
                );
                let parts = sums(lines.iter().copied().filter(|l| l.currency == cur), |l| {
                    vec![l.workspace.clone(), l.environment.clone(), how(l, m)]
                });
                let rows: Vec<Vec<String>> = parts
                    .iter()
                    .map(|((k, _), (cost, _))| vec![escape(&k[0]), environment(&k[1]), k[2].clone(), money(*cost, d)])
                    .collect();
                table(
                    &mut body,
                    &["workspace", "environment", "why", "#cost"],
                    &rows,
                    Some(vec!["total".into(), String::new(), String::new(), money(total, d)]),
                );
            }
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
        table(body, &h, &rows, None);
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
            escape(&pool_label(&s.workspace, &s.environment)),
            money(pool_total(m, s), d),
            escape(&s.currency),
            s.rows,
            method(s),
            escape(&weight_basis(s, m.month)),
        );
        let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
        let pcts = percentages(&weights);
        let amounts = pool_shares(m, s);
        let rows: Vec<Vec<String>> = s
            .shares
            .iter()
            .zip(&pcts)
            .zip(&amounts)
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
            Split::Proportional if !s.fell_back() => format!("#weight ({} direct spend)", s.currency),
            Split::Fixed => "#weight (%)".into(),
            _ => "#weight".into(),
        };
        table(
            &mut body,
            &["team", &weight_head, "#share %", &format!("#share ({})", s.currency)],
            &rows,
            Some(vec!["pool".into(), String::new(), "100.0%".into(), money(total, d)]),
        );
    }

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

    body.push_str("<h2 id=\"charts\">Charts</h2>\n");
    for (_, stem, chart) in charts.of_month(m.month) {
        if let Ok(svg) = chart.svg() {
            let _ = writeln!(body, "<figure id=\"{}\">{svg}</figure>", escape(stem));
        }
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
    let _ = writeln!(body, "<p>Team <strong>{}</strong>, {} ({} cost).</p>", escape(team), m.month, escape(info.basis));

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
                    Some(limit) => r.extend([money(*limit, d), money(*limit - *cost, d), change_pct(*cost, *limit)]),
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
    table(&mut body, &h, &rows, None);

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
    table(&mut body, &header, &rows, None);

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
                let share = pool_shares(m, s).get(i).map(|x| x.1).unwrap_or_default();
                vec![
                    escape(&pool_label(&s.workspace, &s.environment)),
                    method(s).to_string(),
                    escape(&s.currency),
                    money(pool_total(m, s), d),
                    escape(&weight_text(s, s.shares[i].1, d)),
                    escape(&weight_basis(s, m.month)),
                    pct,
                    money(share, d),
                ]
            })
            .collect();
        table(
            &mut body,
            &["~pool", "method", "currency", "#pool", "#your weight", "~weights are", "#your share %", "#your share"],
            &rows,
            None,
        );
    }
    page(&format!("Statement: {team}, {}", m.month), info, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_and_grouped() {
        assert_eq!(money(Money::parse("-1234567.125").unwrap(), 2), "-1,234,567.13");
        assert_eq!(money(Money::parse("999").unwrap(), 0), "999");
        assert_eq!(money(Money::parse("0.5").unwrap(), 3), "0.500");
        assert_eq!(money(Money::parse("-0.001").unwrap(), 2), "0.00");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn numbers_line_up_on_the_point() {
        let mut out = String::new();
        table(&mut out, &["c", "#n"], &[vec!["JPY".into(), "1,200".into()], vec!["USD".into(), "3.50".into()]], None);
        assert!(out.contains("<td class=\"n\">1,200\u{2007}\u{2007}\u{2007}</td>"), "{out}");
        assert!(out.contains("<td class=\"n\">3.50</td>"), "{out}");
    }
}
