//! The files of `mlspend history`: `history.csv`, `history.html` and the charts (each team's monthly spend stacked
//! by allocation, every team's trend, and budget burn), from a [`History`] the ledger module computed.

use crate::error::{Error, Result};
use crate::ledger::history::{History, Level, Series};
use crate::money::Money;
use crate::report::chart::{neutral, neutral_hatched, Chart, Drawn, Kind, TeamColours};
use crate::report::charts::series;
use crate::report::{csv_bytes, grouped, safe_file_names, safe_name, Files};
use std::path::PathBuf;

/// The columns of history.csv.
pub const COLUMNS: [&str; 17] = [
    "level",
    "name",
    "team",
    "currency",
    "billing_month",
    "kind",
    "cost",
    "mom_change",
    "mom_pct",
    "yoy_change",
    "yoy_pct",
    "ytd",
    "budget",
    "budget_used_pct",
    "backtest_error_pct",
    "backtest_months",
    "note",
];

/// A chart of the history: (file stem, title for the page, drawn).
pub struct HistoryChart {
    pub stem: String,
    pub currency: String,
    pub drawn: Drawn,
}

fn pct_text(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.1}")).unwrap_or_default()
}

fn change_cells(c: Option<(Money, Option<f64>)>, d: u32) -> [String; 2] {
    match c {
        Some((amount, p)) => [amount.round(d).to_fixed(d), pct_text(p)],
        None => [String::new(), String::new()],
    }
}

/// history.csv: one line per series and ledger month (`kind` `actual`), then its two forecasts (`forecast` for the
/// next month, `forecast-year-end` for the year's total), each with its back-tested error.
pub fn csv(h: &History) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for c in &h.currencies {
        let d = c.decimals;
        for s in &c.series {
            let budget = if s.level == Level::Team { c.budgets.iter().find(|b| b.team == s.name) } else { None };
            for m in &s.months {
                let [mom, mom_pct] = change_cells(m.mom, d);
                let [yoy, yoy_pct] = change_cells(m.yoy, d);
                rows.push(vec![
                    s.level.name().to_string(),
                    crate::text::safe_cell(&s.name).to_string(),
                    crate::text::safe_cell(&s.team).to_string(),
                    c.code.clone(),
                    m.month.to_string(),
                    "actual".into(),
                    m.cost.round(d).to_fixed(d),
                    mom,
                    mom_pct,
                    yoy,
                    yoy_pct,
                    m.ytd.round(d).to_fixed(d),
                    budget.map(|b| b.monthly.to_fixed(d)).unwrap_or_default(),
                    budget
                        .and_then(|b| crate::ledger::history::pct_of(m.cost, b.monthly))
                        .map(|p| format!("{p:.1}"))
                        .unwrap_or_default(),
                    String::new(),
                    String::new(),
                    m.anomaly.as_ref().map(|a| format!("anomaly: {a}")).unwrap_or_default(),
                ]);
            }
            let f = &s.forecast;
            let (err, n) = match f.error {
                Some((e, n)) => (format!("{e:.1}"), n.to_string()),
                None => (String::new(), "0".to_string()),
            };
            let blank = || vec![String::new(); 5];
            let mut next = vec![
                s.level.name().to_string(),
                crate::text::safe_cell(&s.name).to_string(),
                crate::text::safe_cell(&s.team).to_string(),
                c.code.clone(),
                f.next_month.to_string(),
                "forecast".into(),
                f.next.round(d).to_fixed(d),
            ];
            next.extend(blank());
            next.extend([
                budget.map(|b| b.monthly.to_fixed(d)).unwrap_or_default(),
                budget
                    .and_then(|b| crate::ledger::history::pct_of(f.next, b.monthly))
                    .map(|p| format!("{p:.1}"))
                    .unwrap_or_default(),
                err.clone(),
                n.clone(),
                format!("run rate: mean of the last {} months", f.window),
            ]);
            rows.push(next);
            let mut year = vec![
                s.level.name().to_string(),
                crate::text::safe_cell(&s.name).to_string(),
                crate::text::safe_cell(&s.team).to_string(),
                c.code.clone(),
                f.year_end_month.to_string(),
                "forecast-year-end".into(),
                f.year_end.round(d).to_fixed(d),
            ];
            year.extend(blank());
            // The budget of the forecast's own period (its first month to December), which is the next year's
            // when the ledger ends in December.
            let period = budget.and_then(|b| {
                let months = 12 - u32::from(f.year_from.month) + 1;
                b.monthly.mul_div(Money::from_minor_units(i128::from(months), 0), Money::from_minor_units(1, 0))
            });
            year.extend([
                period.map(|p| p.to_fixed(d)).unwrap_or_default(),
                period
                    .and_then(|p| crate::ledger::history::pct_of(f.year_end, p))
                    .map(|p| format!("{p:.1}"))
                    .unwrap_or_default(),
                pct_text(f.year_end_error),
                n,
                format!(
                    "{} to {}: {} months known, {} at the run rate",
                    f.year_from, f.year_end_month, f.year_known, f.year_estimated
                ),
            ]);
            rows.push(year);
        }
    }
    csv_bytes(&COLUMNS, rows.into_iter())
}

/// The charts: per currency, every team's trend (lines), each team's months stacked by allocation, and budget burn.
pub fn charts(h: &History, basis: &str) -> Vec<HistoryChart> {
    let mut out = Vec::new();
    let categories: Vec<String> = h.months.iter().map(|m| m.to_string()).collect();
    let span = match (h.months.first(), h.months.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    for c in &h.currencies {
        let d = c.decimals;
        let teams: Vec<&Series> = c.of(Level::Team).filter(|s| !s.name.starts_with('(')).collect();
        let colours = TeamColours::new(teams.iter().map(|s| s.name.as_str()));
        let files = safe_file_names(teams.iter().map(|s| s.name.as_str()));
        let axis = format!("{}, {basis} cost", c.code);
        let base = |kind: Kind, title: String, category_axis: &str| Chart {
            kind,
            title,
            value_axis: axis.clone(),
            decimals: d,
            category_axis: category_axis.into(),
            categories: Vec::new(),
            series: Vec::new(),
            labels: Vec::new(),
        };
        if h.months.len() >= 2 && !teams.is_empty() {
            let mut chart = base(
                Kind::Lines,
                format!("Monthly ML spend per team, {span} ({basis} cost, {})", c.code),
                "billing month",
            );
            chart.categories = categories.clone();
            chart.series = teams
                .iter()
                .map(|s| series(&s.name, colours.swatch(&s.name), s.months.iter().map(|m| m.cost), d))
                .collect();
            out.push(HistoryChart { stem: format!("trend-{}", c.code), currency: c.code.clone(), drawn: chart.draw() });
        }
        for s in &teams {
            if s.months.iter().all(|m| m.cost.is_zero()) {
                continue;
            }
            let mut chart = base(
                Kind::Bars,
                format!("{}: monthly spend by allocation, {span} ({basis} cost, {})", s.name, c.code),
                "billing month",
            );
            chart.categories = categories.clone();
            chart.series = s
                .by_allocation
                .iter()
                .enumerate()
                .map(|(k, (name, values))| series(name, neutral(name, k), values.iter().copied(), d))
                .collect();
            chart.labels = s.months.iter().map(|m| grouped(m.cost, d)).collect();
            let file = files.get(&s.name).cloned().unwrap_or_else(|| safe_name(&s.name));
            out.push(HistoryChart {
                stem: format!("team-{file}-{}", c.code),
                currency: c.code.clone(),
                drawn: chart.draw(),
            });
        }
        if !c.budgets.is_empty() {
            let last = h.months.last().copied();
            let from = c.budgets.first().map(|b| b.period_from.to_string()).unwrap_or_default();
            let to = last.map(|m| format!("{:04}-12", m.year)).unwrap_or_default();
            let mut chart = base(Kind::Bars, format!("Budget burn, {from} to {to} ({basis} cost, {})", c.code), "team");
            let mut spent = Vec::new();
            let mut forecast = Vec::new();
            let mut left = Vec::new();
            for b in &c.budgets {
                let year_end = b.year_end;
                chart.categories.push(b.team.clone());
                spent.push(b.ytd);
                let ahead = year_end - b.ytd;
                forecast.push(if ahead.is_negative() { Money::ZERO } else { ahead });
                let rest = b.year - year_end;
                left.push(if rest.is_negative() { Money::ZERO } else { rest });
                chart.labels.push(format!(
                    "{:.0}% of {}; {}",
                    b.burn_pct,
                    grouped(b.year, d),
                    match b.runs_out {
                        Some(m) => format!("runs out {m}"),
                        None => "lasts the year".into(),
                    }
                ));
            }
            chart.series = vec![
                series(
                    &format!("spent to {}", last.map(|m| m.to_string()).unwrap_or_default()),
                    neutral("spent", 0),
                    spent.into_iter(),
                    d,
                ),
                series("forecast to December", neutral_hatched("forecast", 1), forecast.into_iter(), d),
                series("budget left", neutral("left", 2), left.into_iter(), d),
            ];
            out.push(HistoryChart {
                stem: format!("budget-{}", c.code),
                currency: c.code.clone(),
                drawn: chart.draw(),
            });
        }
    }
    out
}

/// Every file of the history folder: history.csv, history.html, and each chart as SVG and PNG.
pub fn files(h: &History, basis: &str, timestamp: Option<&str>) -> Result<Files> {
    let charts = charts(h, basis);
    let mut files: Files = vec![(PathBuf::from("history.csv"), csv(h)?)];
    files
        .push((PathBuf::from("history.html"), crate::report::html::history(h, &charts, basis, timestamp).into_bytes()));
    for c in &charts {
        let stem = safe_name(&c.stem);
        let fail = |e: String| Error::Write {
            path: PathBuf::from(format!("charts/{stem}")),
            source: std::io::Error::other(e),
        };
        files.push((PathBuf::from("charts").join(format!("{stem}.svg")), c.drawn.svg.clone().into_bytes()));
        files.push((PathBuf::from("charts").join(format!("{stem}.png")), c.drawn.png().map_err(fail)?));
    }
    Ok(files)
}
