//! `history.html`: the ledger's months on one self-contained page, per currency: the teams with their trend and
//! forecasts, every month's totals, budgets, anomalies, then projects, workspaces and shared pools.

use super::{document, escape, money, table};
use crate::ledger::history::{Currency, Forecast, History, Level, Series, ANOMALY_MIN, ANOMALY_WINDOW, WINDOW};
use crate::report::history::HistoryChart;
use std::fmt::Write as _;

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:+.1}%")).unwrap_or_default()
}

/// A forecast with its back-tested error beside it (how many months it was tested on is said once, above).
fn with_error(amount: String, error: Option<f64>) -> String {
    match error {
        Some(e) => format!("{amount} <span class=\"muted\">±{e:.1}%</span>"),
        None => format!("{amount} <span class=\"muted\">(not back-tested)</span>"),
    }
}

fn forecast_cells(f: &Forecast, d: u32) -> [String; 2] {
    [
        with_error(money(f.next.round(d), d), f.error.map(|(e, _)| e)),
        with_error(money(f.year_end.round(d), d), f.year_end_error),
    ]
}

fn summary_rows<'a>(series: impl Iterator<Item = &'a Series>, d: u32, with_team: bool) -> Vec<Vec<String>> {
    series
        .map(|s| {
            let last = s.months.last();
            let mut row = vec![escape(&s.name)];
            if with_team {
                row.push(escape(&s.team));
            }
            row.extend([
                last.map(|m| money(m.cost, d)).unwrap_or_default(),
                pct(last.and_then(|m| m.mom.and_then(|(_, p)| p))),
                pct(last.and_then(|m| m.yoy.and_then(|(_, p)| p))),
                last.map(|m| money(m.ytd, d)).unwrap_or_default(),
            ]);
            row.extend(forecast_cells(&s.forecast, d));
            row
        })
        .collect()
}

fn currency_section(body: &mut String, h: &History, c: &Currency, charts: &[HistoryChart]) {
    let d = c.decimals;
    let code = escape(&c.code);
    let last = h.months.last().map(|m| m.to_string()).unwrap_or_default();
    let next = c.total().map(|t| t.forecast.next_month.to_string()).unwrap_or_default();
    let year_end = c
        .total()
        .map(|t| {
            let f = &t.forecast;
            if f.year_from.month == 1 {
                f.year_end_month.year.to_string()
            } else {
                format!("{} to {}", f.year_from, f.year_end_month)
            }
        })
        .unwrap_or_default();
    let _ = writeln!(body, "<h2 id=\"{code}\">{code}</h2>");

    // Teams: the last month, its changes, the year to date and the forecasts; the total row is the ledger's.
    let _ = writeln!(body, "<h3 id=\"{code}-teams\">Teams in {last}</h3>");
    let tested = c.total().and_then(|t| t.forecast.error).map(|(_, n)| n).unwrap_or(0);
    let _ = writeln!(
        body,
        "<p class=\"muted\">Beside each forecast, ± its back-tested error: the same rule run on {} of the ledger's past months (<a href=\"#method\">how</a>).</p>",
        if tested == 0 { "none".to_string() } else { tested.to_string() }
    );
    let header = [
        "team",
        "#cost",
        "#vs month before",
        "#vs year before",
        "#year to date",
        &format!("#forecast {next}"),
        &format!("#forecast {year_end}"),
    ];
    let teams: Vec<&Series> = c.of(Level::Team).collect();
    let totals = summary_rows(c.total().into_iter(), d, false)
        .into_iter()
        .map(|mut r| {
            r[0] = "total".into();
            r
        })
        .collect();
    table(body, &header, &summary_rows(teams.iter().copied(), d, false), totals);

    // Every month: one column per ledger month.
    let _ = writeln!(body, "<h3 id=\"{code}-months\">Every month</h3>");
    let months: Vec<String> = h.months.iter().map(|m| format!("#{m}")).collect();
    let mut header: Vec<&str> = vec!["team"];
    header.extend(months.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = teams
        .iter()
        .map(|s| std::iter::once(escape(&s.name)).chain(s.months.iter().map(|m| money(m.cost, d))).collect())
        .collect();
    let total: Vec<Vec<String>> = c
        .total()
        .map(|t| std::iter::once("total".to_string()).chain(t.months.iter().map(|m| money(m.cost, d))).collect())
        .into_iter()
        .collect();
    table(body, &header, &rows, total);

    if !c.budgets.is_empty() {
        let _ = writeln!(body, "<h3 id=\"{code}-budgets\">Budgets</h3>");
        let _ = writeln!(
            body,
            "<p class=\"muted\">Monthly budgets from the configuration, over {} to {}-12: a monthly budget for each of its months. The budget runs out in the month the year to date, carried on at the run rate, passes it.</p>",
            c.budgets[0].period_from,
            c.budgets[0].period_from.year
        );
        let header = [
            "team",
            "#monthly budget",
            &format!("#{last}"),
            "#used",
            &format!("#forecast {next}"),
            "status",
            "#year to date",
            "#period's budget",
            "#burn",
            "runs out",
        ];
        let rows: Vec<Vec<String>> = c
            .budgets
            .iter()
            .map(|b| {
                let f = c.of(Level::Team).find(|s| s.name == b.team).map(|s| &s.forecast);
                let status = if b.over {
                    "<span class=\"bad\">over budget</span>".to_string()
                } else if b.forecast_over {
                    "<span class=\"bad\">forecast over</span>".to_string()
                } else {
                    "<span class=\"ok\">within</span>".to_string()
                };
                vec![
                    escape(&b.team),
                    money(b.monthly, d),
                    money(b.last, d),
                    format!("{:.1}%", b.last_pct),
                    f.map(|f| with_error(money(f.next.round(d), d), f.error.map(|(e, _)| e))).unwrap_or_default(),
                    status,
                    money(b.ytd, d),
                    money(b.year, d),
                    format!("{:.1}%", b.burn_pct),
                    b.runs_out.map(|m| m.to_string()).unwrap_or_else(|| "not this year".into()),
                ]
            })
            .collect();
        table(body, &header, &rows, Vec::new());
    }

    let anomalies: Vec<(&Series, &crate::ledger::history::MonthStat)> = c
        .series
        .iter()
        .filter(|s| matches!(s.level, Level::Team | Level::Workspace))
        .flat_map(|s| s.months.iter().filter(|m| m.anomaly.is_some()).map(move |m| (s, m)))
        .collect();
    let _ = writeln!(body, "<h3 id=\"{code}-anomalies\">Anomalies</h3>");
    if anomalies.is_empty() {
        let _ = writeln!(
            body,
            "<p>None: no team's or workspace's month departs from its trailing months by the rule below.</p>"
        );
    } else {
        let rows: Vec<Vec<String>> = anomalies
            .iter()
            .map(|(s, m)| {
                vec![
                    s.level.name().to_string(),
                    escape(&s.name),
                    m.month.to_string(),
                    money(m.cost, d),
                    escape(m.anomaly.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        table(body, &["level", "name", "month", "#cost", "~what"], &rows, Vec::new());
    }

    for (level, title, with_team) in [
        (Level::Project, "Projects", true),
        (Level::Workspace, "Workspaces", false),
        (Level::Pool, "Shared pools", false),
    ] {
        let series: Vec<&Series> = c.of(level).collect();
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(body, "<h3 id=\"{code}-{}\">{title} in {last}</h3>", level.name());
        let mut header = vec![match level {
            Level::Project => "project",
            Level::Workspace => "workspace",
            _ => "pool",
        }];
        if with_team {
            header.push("team");
        }
        let fy = format!("#forecast {year_end}");
        let fn_ = format!("#forecast {next}");
        header.extend(["#cost", "#vs month before", "#vs year before", "#year to date", fn_.as_str(), fy.as_str()]);
        table(body, &header, &summary_rows(series.into_iter(), d, with_team), Vec::new());
    }

    let mine: Vec<&HistoryChart> = charts.iter().filter(|ch| ch.currency == c.code).collect();
    if !mine.is_empty() {
        let _ = writeln!(body, "<h3 id=\"{code}-charts\">Charts</h3>");
        for ch in mine {
            let _ = writeln!(body, "<figure id=\"{}\">{}</figure>", escape(&ch.stem), ch.drawn.svg);
        }
    }
}

/// The page.
pub fn history(h: &History, charts: &[HistoryChart], basis: &str, timestamp: Option<&str>) -> String {
    let span = match (h.months.first(), h.months.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} months of the ledger ({span}), {basis} cost ({}), in each currency as billed: currencies are never added together.</p>",
        h.months.len(),
        escape(&h.cost_column)
    );
    if !h.gaps.is_empty() {
        let gaps: Vec<String> = h.gaps.iter().map(|m| m.to_string()).collect();
        let _ = writeln!(
            body,
            "<p class=\"bad\">The ledger does not hold {}: changes on the month across a missing month are left blank, and the year to date leaves it out. Run those months to fill it.</p>",
            gaps.join(", ")
        );
    }
    body.push_str("<nav class=\"toc\"><ol>");
    for c in &h.currencies {
        let code = escape(&c.code);
        let _ = write!(body, "<li><a href=\"#{code}\">{code}</a></li>");
    }
    body.push_str("<li><a href=\"#method\">How the figures are made</a></li></ol></nav>\n");
    for c in &h.currencies {
        currency_section(&mut body, h, c, charts);
    }
    let _ = writeln!(
        body,
        "<h2 id=\"method\">How the figures are made</h2>\n<ul>\
         <li>Totals are the exact sums of the ledger's chargeback lines (each rounded to its currency's minor unit, as in chargeback.csv); a month's teams add up to its total.</li>\
         <li><b>Forecast</b>: the run rate is the mean of the last {WINDOW} ledger months (fewer when the ledger holds fewer). Next month is the run rate; the year's end is the year to date plus the run rate for each month left in the year. The year to date starts at the ledger's first month of the year: months before the ledger are not guessed, and the heading says which months the figure covers.</li>\
         <li><b>Back-test</b>: the same rule applied to every past ledger month from the months before it. The error beside a forecast is the mean absolute error, in % of the actual month, over those months (months with no spend left out). The year-end forecast's error is that monthly error on its forecast months, in % of the year-end figure.</li>\
         <li><b>Anomaly</b>: a team's or workspace's month that differs from the mean of its trailing months (at least {ANOMALY_MIN}, at most {ANOMALY_WINDOW}) by more than 3 of their standard deviations, by more than 25% of that mean, and by at least 1% of the currency's total that month.</li>\
         <li><b>Year before</b>, <b>month before</b>: blank when the ledger does not hold that month.</li></ul>"
    );
    document(&format!("ML spend history, {span}"), timestamp, &body)
}
