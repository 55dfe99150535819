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

mod history;
mod month;
mod statement;
mod topology;

pub use history::history;
pub use month::report;
pub use statement::statement;

use crate::config::{Config, Split};
use crate::money::Money;
use crate::report::chart::TeamColours;
use crate::report::{percentages, pool_total, weight_basis};
use crate::rollup::{Line, MonthChargeback, PoolSplit, DIRECT};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub use crate::text::escape_markup as escape;

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
table{font-size:8pt;max-width:100%}th,td{padding:.15rem .4rem}td{overflow-wrap:break-word;white-space:normal}td.n{white-space:nowrap}td.w{min-width:0}td .muted{font-size:inherit}h3+p{break-after:avoid}tr{break-inside:avoid}\
thead{display:table-header-group}thead th{position:static;box-shadow:none;border-bottom:1px solid #999}a{color:inherit;text-decoration:none}\
figure svg{width:100%}}";

/// What the pages need besides the chargeback.
pub struct PageInfo<'a> {
    pub config: &'a Config,
    pub basis: &'a str,
    pub timestamp: Option<&'a str>,
    /// The chargeback files this run writes beside the page (`chargeback.csv`, `.parquet`, `.json`).
    pub line_files: Vec<&'static str>,
    /// Each team's statement file name (without `.html`), the same in every month of the run.
    pub team_files: &'a BTreeMap<String, String>,
}

fn page(title: &str, info: &PageInfo, body: &str) -> String {
    document(title, info.timestamp, body)
}

/// A self-contained page: the house style inline, nothing fetched.
fn document(title: &str, timestamp: Option<&str>, body: &str) -> String {
    let stamp = timestamp.map(|t| format!("<p class=\"muted\">generated {}</p>\n", escape(t))).unwrap_or_default();
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
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], totals: Vec<Vec<String>>) {
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
            rows.iter().chain(totals.iter()).filter_map(|r| r.get(c)).filter_map(|v| decimals(v)).max().unwrap_or(0)
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
    for t in &totals {
        row(t, " class=\"total\"");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn decimals(m: &MonthChargeback, currency: &str) -> u32 {
    m.decimals(currency)
}

/// An amount at `d` decimals with thousands separators, exactly (`-1,234.50`).
pub use crate::report::grouped as money;

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

/// What a line of a team is, in words: which rule put it there. Plain text, with names from the configuration in
/// it: escape it where it goes into a page.
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
    if l.allocation == crate::rollup::UNUSED_COMMITMENT || l.allocation == crate::rollup::COMMITMENT_PURCHASE {
        return commitment_how(l, m);
    }
    if !l.allocation.starts_with("shared-") {
        return l.allocation.clone();
    }
    let Some(s) = m
        .splits
        .iter()
        .find(|s| s.workspace == l.workspace && s.environment == l.environment && s.currency == l.currency)
    else {
        return l.allocation.clone();
    };
    // A compute target's busy hours or idle capacity (a usage file).
    let compute = l.reason.strip_prefix("busy hours on ").or_else(|| l.reason.strip_prefix("idle capacity of "));
    if let Some(c) = compute.and_then(|name| s.computes.iter().find(|c| c.compute == name)) {
        let d = decimals(m, &s.currency);
        if l.allocation == crate::rollup::IDLE {
            return format!(
                "idle capacity of {}: {} {} unused of its cost, {}",
                c.compute,
                money(c.idle.round(d), d),
                s.currency,
                c.idle_policy
            );
        }
        let hours = c.busy.iter().find(|b| b.0 == l.team).map(|b| b.1).unwrap_or_default();
        let rate = c.cost.per(c.hours).unwrap_or_default();
        return format!(
            "busy hours on {}: {} h of its {} node hours, at {} {} an hour",
            c.compute,
            hours.round(2).to_plain(),
            c.hours.round(2).to_plain(),
            money(rate.round(d), d),
            s.currency
        );
    }
    let i = s.shares.iter().position(|x| x.0 == l.team).unwrap_or(0);
    let weights: Vec<Money> = s.shares.iter().map(|x| x.1).collect();
    let pct = percentages(&weights).get(i).cloned().unwrap_or_default();
    let d = decimals(m, &s.currency);
    format!(
        "{}: {pct}% of pool {} {} ({}; weights: {})",
        if s.platform { format!("platform pool {}", s.workspace) } else { "shared".to_string() },
        money(pool_total(s), d),
        s.currency,
        method(s),
        weight_basis(s, m.month)
    )
}

/// A commitment's name with its id beneath, for tables.
fn commitment_label(name: &str, id: &str) -> String {
    match (name.is_empty(), id.is_empty()) {
        (_, true) => format!("{} <span class=\"muted\">(no id)</span>", escape(name)),
        (true, false) => format!("<code>{}</code>", escape(id)),
        (false, false) => format!("{}<br><code class=\"muted\">{}</code>", escape(name), escape(id)),
    }
}

/// A commitment line in words: whose capacity, and why this team pays for it.
fn commitment_how(l: &Line, m: &MonthChargeback) -> String {
    let key = l.reason.trim_start_matches("commitment ");
    if l.allocation == crate::rollup::COMMITMENT_PURCHASE {
        return format!("commitment purchase: the team owns commitment {key}");
    }
    let this = |u: &&crate::rollup::CommitmentUse| {
        u.currency == l.currency && (u.commitment == key || (u.commitment.is_empty() && key == "(no id)"))
    };
    let name = m.commitments.iter().filter(this).map(|u| u.name.as_str()).find(|n| !n.is_empty()).unwrap_or(key);
    // The team's part of what the commitment covered, as the Commitments table gives it.
    let pcts = crate::report::commitment_percentages(m);
    let mine = m.commitments.iter().position(|u| this(&u) && u.team == l.team && u.covered.is_positive());
    match mine.map(|i| pcts[i].as_str()).filter(|p| !p.is_empty()) {
        Some(pct) => format!(
            "unused commitment: {pct}% of {name}'s unused capacity, as the team's usage was {pct}% of what it covered"
        ),
        None => format!("unused commitment: {name}, which the team owns"),
    }
}

fn method(s: &PoolSplit) -> &'static str {
    if s.fell_back() {
        return match s.method {
            Split::Usage => "even, as no member had measured usage",
            _ => "even, as proportional had no weights",
        };
    }
    match s.method {
        Split::Even => "even",
        Split::Proportional => "proportional",
        Split::Fixed => "fixed",
        Split::Usage => "usage",
    }
}

/// A team's number per currency, the change since last month in words, and what the number is made of: each
/// workspace and environment, and why the spend is the team's (the rule, or the pool's split and its weights).
fn breakdown(body: &mut String, team: &str, m: &MonthChargeback, previous: Option<&MonthChargeback>) {
    let lines: Vec<&Line> = m.lines.iter().filter(|l| l.team == team).collect();
    let last = previous.into_iter().flat_map(|p| p.lines.iter()).filter(|l| l.team == team);
    for cur in lines.iter().copied().chain(last).map(|l| l.currency.as_str()).collect::<std::collections::BTreeSet<_>>()
    {
        let d = decimals(m, cur);
        let total: Money = lines.iter().filter(|l| l.currency == cur).map(|l| l.cost).sum();
        let change = previous
            .map(|p| {
                let before: Money =
                    p.lines.iter().filter(|l| l.team == team && l.currency == cur).map(|l| l.cost).sum();
                change_words(total, before, d, cur, p.month)
            })
            .unwrap_or_default();
        let _ = writeln!(body, "<p><strong>{} {}</strong> in {}{change}.</p>", money(total, d), escape(cur), m.month);
        let parts = sums(lines.iter().copied().filter(|l| l.currency == cur), |l| {
            vec![l.workspace.clone(), l.environment.clone(), how(l, m)]
        });
        let rows: Vec<Vec<String>> = parts
            .iter()
            .map(|((k, _), (cost, _))| vec![escape(&k[0]), environment(&k[1]), escape(&k[2]), money(*cost, d)])
            .collect();
        if rows.is_empty() {
            continue;
        }
        table(
            body,
            &["workspace", "environment", "~why", "#cost"],
            &rows,
            vec![vec!["total".into(), String::new(), String::new(), money(total, d)]],
        );
    }
}

/// The unit costs of a month (or of one team): compute hours and cost per hour, per team, workspace and currency.
fn unit_costs(body: &mut String, m: &MonthChargeback, team: Option<&str>) {
    let list: Vec<&crate::rollup::UnitCost> =
        m.unit_costs.iter().filter(|u| team.is_none_or(|t| u.team == t)).collect();
    if list.is_empty() {
        body.push_str("<p class=\"muted\">The bill measures no compute in hours this month.</p>\n");
        return;
    }
    body.push_str("<p>Compute measured in hours: rows of the team's own compute, and its busy hours on shared compute targets. Per hour is the cost over the hours; GPU hours are those on N-series (GPU) meters.</p>\n");
    let per = |cost: Money, hours: Money, d: u32| -> String {
        match cost.per(hours).filter(|_| hours.is_positive()) {
            Some(rate) => money(rate.round(d), d),
            None => "-".into(),
        }
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|u| {
            let d = decimals(m, &u.currency);
            let mut r = Vec::new();
            if team.is_none() {
                r.push(escape(&u.team));
            }
            r.extend([
                escape(&u.workspace),
                escape(&u.currency),
                u.hours.round(2).to_plain(),
                money(u.cost.round(d), d),
                per(u.cost, u.hours, d),
                if u.gpu_hours.is_zero() { "-".into() } else { u.gpu_hours.round(2).to_plain() },
                per(u.gpu_cost, u.gpu_hours, d),
            ]);
            r
        })
        .collect();
    let mut header =
        vec!["workspace", "currency", "#compute hours", "#cost", "#per hour", "#GPU hours", "#per GPU hour"];
    if team.is_none() {
        header.insert(0, "team");
    }
    table(body, &header, &rows, vec![]);
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
        table(&mut out, &["c", "#n"], &[vec!["JPY".into(), "1,200".into()], vec!["USD".into(), "3.50".into()]], vec![]);
        assert!(out.contains("<td class=\"n\">1,200\u{2007}\u{2007}\u{2007}</td>"), "{out}");
        assert!(out.contains("<td class=\"n\">3.50</td>"), "{out}");
    }
}
