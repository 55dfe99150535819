//! HTML pages: the month's `report.html` and each team's `statements/<team>.html`.
//!
//! Takes a month's chargeback (and the previous month's, when the input has it), the run's settings and the month's
//! chart SVGs, and gives self-contained pages: inline CSS, charts as inline SVG, no scripts, no external fonts or
//! links, readable offline. Every value that comes from the bill or the configuration (tag values, names, reasons)
//! is HTML-escaped: anyone who can tag a resource writes into these pages.

use crate::config::Config;
use crate::dates::Month;
use crate::money::Money;
use crate::report::chart::Chart;
use crate::rollup::{Line, MonthChargeback, DIRECT, OUT_OF_SCOPE, UNALLOCATED};
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

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{padding:.3rem .7rem;border-bottom:1px solid #eee;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600;border-top:2px solid #999}\
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.muted{color:#666;font-size:.85rem}\
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}";

/// What the pages need besides the chargeback.
pub struct PageInfo<'a> {
    pub config: &'a Config,
    pub basis: &'a str,
    pub timestamp: Option<&'a str>,
}

fn page(title: &str, info: &PageInfo, body: &str) -> String {
    let stamp = info.timestamp.map(|t| format!("<p class=\"muted\">generated {}</p>", escape(t))).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{stamp}\n{body}</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

/// A table: header cells (a leading `#` marks a numeric column) and rows of already-escaped cells.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], total: Option<Vec<String>>) {
    let numeric: Vec<bool> = header.iter().map(|h| h.starts_with('#')).collect();
    out.push_str("<table>\n<tr>");
    for (h, n) in header.iter().zip(&numeric) {
        let _ = write!(out, "<th{}>{}</th>", if *n { " class=\"n\"" } else { "" }, escape(h.trim_start_matches('#')));
    }
    out.push_str("</tr>\n");
    let mut row = |cells: &[String], class: &str| {
        let _ = write!(out, "<tr{class}>");
        for (c, n) in cells.iter().zip(&numeric) {
            let _ = write!(out, "<td{}>{c}</td>", if *n { " class=\"n\"" } else { "" });
        }
        out.push_str("</tr>\n");
    };
    for r in rows {
        row(r, "");
    }
    if let Some(t) = total {
        row(&t, " class=\"total\"");
    }
    out.push_str("</table>\n");
}

fn decimals(m: &MonthChargeback, currency: &str) -> u32 {
    m.totals.iter().find(|t| t.currency == currency).map(|t| t.decimals).unwrap_or(2)
}

/// An amount at `d` decimals with thousands separators, exactly (`-1,234.50`).
fn money(m: Money, d: u32) -> String {
    let text = m.to_fixed(d);
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text.as_str()),
    };
    let (whole, frac) = match rest.split_once('.') {
        Some((w, f)) => (w, format!(".{f}")),
        None => (rest, String::new()),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{frac}")
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

/// `report.html` of one month.
pub fn report(m: &MonthChargeback, info: &PageInfo, charts: &[(Month, String, Chart)]) -> String {
    let rep = reporting(info);
    let rep_head = rep.as_ref().map(|(c, _)| format!("#total in {c}"));
    let rep_cell = |v: Option<Money>| -> String {
        match (&rep, v) {
            (Some((_, d)), Some(v)) => money(v, *d),
            _ => String::new(),
        }
    };
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>Azure Machine Learning chargeback for {}, on {} cost. Every line of <code>chargeback.csv</code> is in the tables below; per currency they add up to the export's total.</p>",
        m.month,
        escape(info.basis)
    );

    body.push_str("<h2>Reconciliation</h2>\n");
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
    body.push_str("<p class=\"muted\">input total = direct + shared + unallocated + out of scope, per currency; currencies are never added together.</p>\n");
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

    let with_rep = |h: Vec<&str>| -> Vec<String> {
        let mut v: Vec<String> = h.iter().map(|s| s.to_string()).collect();
        if let Some(t) = &rep_head {
            v.push(t.clone());
        }
        v
    };
    let render = |body: &mut String,
                  title: &str,
                  header: Vec<String>,
                  groups: BTreeMap<(Vec<String>, String), (Money, Option<Money>)>| {
        let _ = writeln!(body, "<h2>{}</h2>", escape(title));
        if groups.is_empty() {
            body.push_str("<p class=\"muted\">none this month</p>\n");
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
    let teams = m.lines.iter().filter(|l| !l.team.starts_with('('));
    render(&mut body, "Per team", with_rep(vec!["team", "currency", "#cost"]), sums(teams, |l| vec![l.team.clone()]));
    let by_alloc = m.lines.iter().filter(|l| !l.team.starts_with('('));
    render(
        &mut body,
        "Per team and allocation",
        with_rep(vec!["team", "allocation", "currency", "#cost"]),
        sums(by_alloc, |l| vec![l.team.clone(), l.allocation.clone()]),
    );
    let projects = m.lines.iter().filter(|l| l.allocation == DIRECT);
    render(
        &mut body,
        "Per project (direct spend)",
        with_rep(vec!["team", "project", "currency", "#cost"]),
        sums(projects, |l| {
            vec![l.team.clone(), if l.project.is_empty() { "(no project)".into() } else { l.project.clone() }]
        }),
    );

    body.push_str("<h2>Shared pools and their split</h2>\n");
    if m.splits.is_empty() {
        body.push_str("<p class=\"muted\">no shared pool this month</p>\n");
    }
    for s in &m.splits {
        let d = decimals(m, &s.currency);
        let env = if s.environment.is_empty() { String::new() } else { format!(" ({})", escape(&s.environment)) };
        let _ = writeln!(
            body,
            "<p><strong>{}</strong>{env}: pool {} {} from {} rows, split {}{}</p>",
            escape(&s.workspace),
            money(s.pool.round(d), d),
            escape(&s.currency),
            s.rows,
            s.method.allocation().trim_start_matches("shared-"),
            s.note.as_ref().map(|n| format!(" <span class=\"muted\">({})</span>", escape(n))).unwrap_or_default()
        );
        let shares: Vec<Vec<String>> = s
            .shares
            .iter()
            .map(|(team, weight, _)| {
                let rounded: Money = m
                    .lines
                    .iter()
                    .filter(|l| {
                        l.team == *team
                            && l.workspace == s.workspace
                            && l.environment == s.environment
                            && l.currency == s.currency
                            && l.allocation.starts_with("shared-")
                    })
                    .map(|l| l.cost)
                    .sum();
                vec![escape(team), weight.to_plain(), money(rounded, d)]
            })
            .collect();
        table(&mut body, &["team", "#weight", "#share"], &shares, None);
    }

    let unallocated = m.lines.iter().filter(|l| l.allocation == UNALLOCATED);
    render(
        &mut body,
        "Unallocated ML spend by reason",
        with_rep(vec!["reason", "workspace", "currency", "#cost"]),
        sums(unallocated, |l| vec![l.reason.clone(), l.workspace.clone()]),
    );
    let oos = m.lines.iter().filter(|l| l.allocation == OUT_OF_SCOPE);
    render(
        &mut body,
        "Out of scope (not Azure ML spend)",
        with_rep(vec!["service", "currency", "#cost"]),
        sums(oos, |l| vec![l.service_category.clone()]),
    );

    body.push_str("<h2>Charts</h2>\n");
    for (_, stem, chart) in charts.iter().filter(|(month, _, _)| *month == m.month) {
        if let Ok(svg) = chart.svg() {
            let _ = writeln!(body, "<figure id=\"{}\">{svg}</figure>", escape(stem));
        }
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

    body.push_str("<h2>Total</h2>\n");
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
    let pct = |a: Money, b: Money| -> String {
        let (a, b): (f64, f64) = (a.to_plain().parse().unwrap_or(0.0), b.to_plain().parse().unwrap_or(0.0));
        if b == 0.0 {
            "-".into()
        } else {
            format!("{:.1}", a / b * 100.0)
        }
    };
    let rows: Vec<Vec<String>> = totals
        .iter()
        .map(|(cur, (cost, report))| {
            let d = decimals(m, cur);
            let mut r = vec![escape(cur), money(*cost, d)];
            if previous.is_some() {
                let p = previous_total(cur).unwrap_or_default();
                r.extend([money(p, d), money(*cost - p, d), pct(*cost - p, p)]);
            }
            if let Some(b) = budget {
                match b.get(&cur.to_ascii_uppercase()) {
                    Some(limit) => r.extend([money(*limit, d), money(*limit - *cost, d), pct(*cost, *limit)]),
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

    body.push_str("<h2>Lines</h2>\n");
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
                escape(&l.environment),
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
        body.push_str("<h2>Shared-pool shares</h2>\n");
        let rows: Vec<Vec<String>> = pools
            .iter()
            .map(|s| {
                let d = decimals(m, &s.currency);
                let weight = s.shares.iter().find(|(t, _, _)| t == team).map(|x| x.1).unwrap_or_default();
                let total_weight: Money = s.shares.iter().map(|x| x.1).sum();
                let share: Money = lines
                    .iter()
                    .filter(|l| {
                        l.workspace == s.workspace
                            && l.environment == s.environment
                            && l.currency == s.currency
                            && l.allocation.starts_with("shared-")
                    })
                    .map(|l| l.cost)
                    .sum();
                vec![
                    escape(&s.workspace),
                    escape(&s.environment),
                    s.method.allocation().trim_start_matches("shared-").to_string(),
                    escape(&s.currency),
                    money(s.pool.round(d), d),
                    pct(weight, total_weight),
                    money(share, d),
                ]
            })
            .collect();
        table(
            &mut body,
            &["workspace", "environment", "method", "currency", "#pool", "#your weight %", "#your share"],
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
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
