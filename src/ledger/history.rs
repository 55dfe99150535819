//! `mlspend history`: what the ledger's months say together. Per currency, and per team, project, workspace and
//! shared pool: each month's total, its change on the month before and on the same month a year before, the year to
//! date, a run-rate forecast of the next month and of the year's end with the forecast's error back-tested on the
//! ledger's own months, each team's budget burn, and the months that depart from their trailing months.
//!
//! polars does the reading: one lazy, streaming group-by over the ledger's `chargeback` table gives the exact
//! 128-bit sums per month, currency, team, project, workspace and allocation, a few thousand rows however many
//! months the ledger holds. Everything after that works on those sums as exact [`Money`]; the statistics that
//! only rank or flag (standard deviations, percentages) are floating point, and no amount is.
//!
//! The rules, as `docs/history.md` states them:
//! - **Forecast**: the run rate is the mean of the last [`WINDOW`] ledger months (fewer when the ledger holds fewer).
//!   Next month = the run rate; the year's end = the year to date + the run rate for each month left in the year
//!   (the year to date starts at the ledger's first month of the year: months before the ledger are not guessed).
//! - **Back-test**: the same rule applied to each past ledger month from the months before it; the error is the mean
//!   absolute error in % of the actual month (months with no spend left out), printed beside every forecast. The
//!   year-end forecast's error is that monthly error on the forecast months, in % of the year-end figure.
//! - **Anomaly**: a team's or workspace's month that differs from the mean of its trailing months (at least
//!   [`ANOMALY_MIN`], at most [`ANOMALY_WINDOW`]) by more than 3 standard deviations of them, by more than 25% of
//!   that mean, and by at least 1% of the currency's total that month.
//! - **Budget**: a team's monthly budget, over the period the ledger speaks for: its first month of the year (January
//!   when it holds the whole year) to December. Burn is the year to date in % of the period's budget; the budget runs
//!   out in the month the year to date, carried on at the run rate, passes it.

use super::{polars_error, scan};
use crate::dates::Month;
use crate::error::{Error, Result};
use crate::money::Money;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Months in the run rate.
pub const WINDOW: usize = 3;
/// Trailing months an anomaly is measured against: at least, and at most.
pub const ANOMALY_MIN: usize = 3;
pub const ANOMALY_WINDOW: usize = 6;

/// What a series totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Total,
    Team,
    Project,
    Workspace,
    Pool,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Total => "total",
            Level::Team => "team",
            Level::Project => "project",
            Level::Workspace => "workspace",
            Level::Pool => "shared-pool",
        }
    }
}

/// One ledger month of one series.
#[derive(Debug, Clone)]
pub struct MonthStat {
    pub month: Month,
    pub cost: Money,
    /// Change on the calendar month before, when the ledger holds it: (amount, % of that month).
    pub mom: Option<(Money, Option<f64>)>,
    /// Change on the same month a year before, when the ledger holds it.
    pub yoy: Option<(Money, Option<f64>)>,
    /// The year to date: this month and the ledger's earlier months of its calendar year.
    pub ytd: Money,
    /// Why this month is an anomaly, when it is one.
    pub anomaly: Option<String>,
}

/// A forecast and its back-test.
#[derive(Debug, Clone)]
pub struct Forecast {
    pub next_month: Month,
    /// The run rate: the mean of the last `window` months.
    pub next: Money,
    pub window: usize,
    /// December of the next month's year, and the forecast of that year's total.
    pub year_end_month: Month,
    pub year_end: Money,
    /// The first month of that year the ledger holds (the next month, when it holds none), and how many it holds:
    /// the year-end figure covers this month to December.
    pub year_from: Month,
    pub year_known: usize,
    /// The months of that year at the run rate: those left, and those the ledger misses since `year_from`.
    pub year_estimated: u32,
    /// The back-tested mean absolute error of the monthly forecast, in %, and over how many months.
    pub error: Option<(f64, usize)>,
    /// The year-end forecast's error: the monthly error on its forecast months, in % of the year-end figure.
    pub year_end_error: Option<f64>,
}

/// A team's (or project's, workspace's, pool's) months.
#[derive(Debug, Clone)]
pub struct Series {
    pub level: Level,
    pub name: String,
    /// The team a project belongs to; empty otherwise.
    pub team: String,
    pub months: Vec<MonthStat>,
    pub forecast: Forecast,
    /// Cost per allocation method per ledger month (teams only): what the trend chart stacks.
    pub by_allocation: BTreeMap<String, Vec<Money>>,
}

/// A team's budget against its spend.
#[derive(Debug, Clone)]
pub struct Budget {
    pub team: String,
    /// The monthly budget.
    pub monthly: Money,
    /// The last ledger month's spend, and it in % of the budget.
    pub last: Money,
    pub last_pct: f64,
    /// The budget's period: from the ledger's first month of the last month's year (January when the ledger holds
    /// the whole year) to December, and how many months that is.
    pub period_from: Month,
    pub period_months: u32,
    /// The year to date, the period's budget (a monthly budget per month of the period), the burn in %, and the
    /// forecast to December (the year to date + the run rate for each month left).
    pub ytd: Money,
    pub year: Money,
    pub burn_pct: f64,
    pub year_end: Money,
    /// Over the budget in the last month; forecast over it next month.
    pub over: bool,
    pub forecast_over: bool,
    /// The month the year's budget runs out at the run rate (already, or within the year); `None`: not this year.
    pub runs_out: Option<Month>,
}

/// One currency of the history.
#[derive(Debug, Clone)]
pub struct Currency {
    pub code: String,
    pub decimals: u32,
    pub series: Vec<Series>,
    pub budgets: Vec<Budget>,
}

impl Currency {
    pub fn of(&self, level: Level) -> impl Iterator<Item = &Series> {
        self.series.iter().filter(move |s| s.level == level)
    }

    pub fn total(&self) -> Option<&Series> {
        self.of(Level::Total).next()
    }
}

/// The history of a ledger.
#[derive(Debug, Clone)]
pub struct History {
    pub months: Vec<Month>,
    /// Calendar months between the first and last that the ledger does not hold.
    pub gaps: Vec<Month>,
    /// `EffectiveCost` (amortized) or `BilledCost` (actual).
    pub cost_column: String,
    pub currencies: Vec<Currency>,
}

impl History {
    /// Teams over their budget in the last month, or forecast to be next month: (currency, team, why).
    pub fn over_budget(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for c in &self.currencies {
            for b in &c.budgets {
                let d = c.decimals;
                if b.over {
                    let last = self.months.last().map(|m| m.to_string()).unwrap_or_default();
                    out.push((
                        c.code.clone(),
                        b.team.clone(),
                        format!(
                            "spent {} in {last}, over its budget of {} ({:.1}%)",
                            b.last.to_fixed(d),
                            b.monthly.to_fixed(d),
                            b.last_pct
                        ),
                    ));
                } else if b.forecast_over {
                    let f = c.of(Level::Team).find(|s| s.name == b.team).map(|s| &s.forecast);
                    if let Some(f) = f {
                        out.push((
                            c.code.clone(),
                            b.team.clone(),
                            format!(
                                "forecast {} in {}, over its budget of {}",
                                f.next.round(d).to_fixed(d),
                                f.next_month,
                                b.monthly.to_fixed(d)
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// One exact sum of the ledger's group-by.
struct Cell {
    month: Month,
    currency: String,
    team: String,
    project: String,
    workspace: String,
    allocation: String,
    cost: Money,
}

/// Reads the ledger's chargeback table and builds its history. `budgets`: monthly budget per team (as configured,
/// matched case-insensitively) and currency; `decimals`: a currency's minor unit.
pub fn history(
    ledger: &Path,
    budgets: &BTreeMap<String, BTreeMap<String, Money>>,
    decimals: &dyn Fn(&str) -> u32,
) -> Result<History> {
    let lf = scan(ledger, "chargeback")?.ok_or_else(|| super::empty(ledger))?;
    let (cells, cost_column) = sums(ledger, lf)?;
    let months: Vec<Month> = cells.iter().map(|c| c.month).collect::<BTreeSet<_>>().into_iter().collect();
    let ledger_months: Vec<Month> = super::partitions(ledger, "chargeback")?.into_iter().map(|(m, _)| m).collect();
    // Months whose partition holds no lines still count as months of the ledger (with nothing spent).
    let months: Vec<Month> = months.into_iter().chain(ledger_months).collect::<BTreeSet<_>>().into_iter().collect();
    let mut gaps = Vec::new();
    if let (Some(first), Some(last)) = (months.first(), months.last()) {
        let mut m = *first;
        while m < *last {
            if !months.contains(&m) {
                gaps.push(m);
            }
            m = m.next();
        }
    }
    let index: BTreeMap<Month, usize> = months.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let n = months.len();

    // Per currency, per (level, name, team): the cost of each ledger month; and each team's cost by allocation.
    type Key = (Level, String, String);
    let mut by_currency: BTreeMap<String, BTreeMap<Key, Vec<Money>>> = BTreeMap::new();
    let mut allocation: BTreeMap<(String, String), BTreeMap<String, Vec<Money>>> = BTreeMap::new();
    for c in &cells {
        let i = index[&c.month];
        let series = by_currency.entry(c.currency.clone()).or_default();
        let mut add = |key: Key| series.entry(key).or_insert_with(|| vec![Money::ZERO; n])[i] += c.cost;
        add((Level::Total, c.currency.clone(), String::new()));
        add((Level::Team, c.team.clone(), String::new()));
        if !c.project.is_empty() {
            add((Level::Project, c.project.clone(), c.team.clone()));
        }
        if !c.workspace.is_empty() {
            add((Level::Workspace, c.workspace.clone(), String::new()));
            if c.allocation.starts_with("shared-") || c.allocation.starts_with("platform-") {
                add((Level::Pool, c.workspace.clone(), String::new()));
            }
        }
        allocation
            .entry((c.currency.clone(), c.team.clone()))
            .or_default()
            .entry(c.allocation.clone())
            .or_insert_with(|| vec![Money::ZERO; n])[i] += c.cost;
    }

    let mut currencies = Vec::new();
    for (code, series) in by_currency {
        let d = decimals(&code);
        let total: Vec<Money> = series
            .iter()
            .find(|((level, _, _), _)| *level == Level::Total)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![Money::ZERO; n]);
        let mut out = Vec::new();
        for ((level, name, team), values) in series {
            let flag = matches!(level, Level::Team | Level::Workspace);
            let stats = month_stats(&months, &values, flag.then_some(total.as_slice()), d);
            let by_allocation = if level == Level::Team {
                allocation.remove(&(code.clone(), name.clone())).unwrap_or_default()
            } else {
                BTreeMap::new()
            };
            let forecast = forecast(&months, &values, &stats);
            out.push(Series { level, name, team, months: stats, forecast, by_allocation });
        }
        let mut budget_rows = Vec::new();
        for s in out.iter().filter(|s| s.level == Level::Team) {
            let Some(monthly) = budgets
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(&s.name))
                .and_then(|(_, b)| b.iter().find(|(c, _)| c.eq_ignore_ascii_case(&code)).map(|(_, m)| *m))
            else {
                continue;
            };
            budget_rows.push(budget(s, monthly));
        }
        currencies.push(Currency { code, decimals: d, series: out, budgets: budget_rows });
    }
    Ok(History { months, gaps, cost_column, currencies })
}

/// The exact sums per month, currency, team, project, workspace and allocation: one streaming group-by.
fn sums(ledger: &Path, lf: LazyFrame) -> Result<(Vec<Cell>, String)> {
    let mut lf = lf;
    let schema = lf.collect_schema().map_err(|e| polars_error(ledger, e))?;
    let cost_column = ["EffectiveCost", "BilledCost"]
        .into_iter()
        .find(|c| schema.contains(c))
        .ok_or_else(|| {
            Error::Usage(format!(
                "{}: the ledger's chargeback table has no EffectiveCost or BilledCost column; is this a ledger mlspend wrote?",
                ledger.display()
            ))
        })?
        .to_string();
    // The chargeback table's columns exactly (a file of the allocated table put there by hand would otherwise sum
    // its unrounded rows).
    let expected = [
        "BillingPeriodStart",
        "BillingCurrency",
        "x_Team",
        "x_Project",
        "x_Workspace",
        "x_Environment",
        "x_ServiceCategory",
        "x_Topology",
        "x_AllocationMethod",
        "x_Reason",
        cost_column.as_str(),
        "x_ReportCurrency",
        "x_ReportCost",
        super::PARTITION_KEY,
    ];
    let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    if names != expected {
        return Err(Error::Usage(format!(
            "{}: holds other columns than the chargeback table mlspend writes ({}); rerun its months, or give the ledger a run writes",
            ledger.join("chargeback").display(),
            names.join(", ")
        )));
    }
    let keys = ["billing_month", "BillingCurrency", "x_Team", "x_Project", "x_Workspace", "x_AllocationMethod"];
    let cost = col(cost_column.as_str());
    let df = super::run(
        ledger,
        || Ok(lf.clone()),
        |lf, engine| {
            lf.group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
                .agg([
                    cost.clone().sum().alias("sum"),
                    cost.clone().min().alias("min"),
                    cost.clone().max().alias("max"),
                    len().cast(DataType::UInt64).alias("rows"),
                ])
                .collect_with_engine(engine)
                .map(|r| r.unwrap_single())
        },
    )?;
    let text = |name: &str| -> Result<Vec<String>> {
        let c = df.column(name).map_err(|e| polars_error(ledger, e))?;
        Ok(c.str().map_err(|e| polars_error(ledger, e))?.iter().map(|v| v.unwrap_or("").to_string()).collect())
    };
    let decimal = |name: &str| -> Result<(Vec<Option<i128>>, usize)> {
        let c = df.column(name).map_err(|e| polars_error(ledger, e))?;
        let DataType::Decimal(_, scale) = c.dtype() else {
            return Err(Error::Parquet {
                path: ledger.to_path_buf(),
                detail: format!("{cost_column} is {}, not a decimal: the ledger's costs are exact decimals", c.dtype()),
            });
        };
        let scale = *scale;
        let d = c.as_materialized_series().decimal().map_err(|e| polars_error(ledger, e))?;
        Ok((d.physical().iter().collect(), scale))
    };
    let (month, currency, team, project, workspace, method) = (
        text("billing_month")?,
        text("BillingCurrency")?,
        text("x_Team")?,
        text("x_Project")?,
        text("x_Workspace")?,
        text("x_AllocationMethod")?,
    );
    let (sum, scale) = decimal("sum")?;
    let (min, _) = decimal("min")?;
    let (max, _) = decimal("max")?;
    let rows: Vec<u64> = {
        let c = df.column("rows").map_err(|e| polars_error(ledger, e))?;
        c.u64().map_err(|e| polars_error(ledger, e))?.iter().map(|v| v.unwrap_or(0)).collect()
    };
    let mut cells = Vec::with_capacity(df.height());
    for r in 0..df.height() {
        // polars sums decimals as 128-bit integers without an overflow check: a group whose rows could reach the
        // bound is an error, never a wrapped total.
        let widest = min[r].unwrap_or(0).unsigned_abs().max(max[r].unwrap_or(0).unsigned_abs());
        if widest.checked_mul(u128::from(rows[r].max(1))).is_none_or(|b| b > i128::MAX as u128) {
            return Err(Error::OutOfRange(format!(
                "{}: the {} costs of {} {} in {} could sum beyond what a decimal(38,{scale}) holds; history can't total them exactly",
                ledger.display(),
                currency[r],
                team[r],
                workspace[r],
                month[r]
            )));
        }
        let Some(m) = Month::parse(&month[r]) else { continue };
        cells.push(Cell {
            month: m,
            currency: currency[r].clone(),
            team: team[r].clone(),
            project: project[r].clone(),
            workspace: workspace[r].clone(),
            allocation: method[r].clone(),
            cost: Money::from_minor_units(sum[r].unwrap_or(0), scale as u32),
        });
    }
    Ok((cells, cost_column))
}

pub fn pct_of(part: Money, whole: Money) -> Option<f64> {
    let whole = whole.to_f64();
    (whole != 0.0).then(|| part.to_f64() / whole.abs() * 100.0)
}

/// The months of one series: change on the month and the year, year to date, and (with the currency's totals) the
/// anomalies.
fn month_stats(months: &[Month], values: &[Money], totals: Option<&[Money]>, decimals: u32) -> Vec<MonthStat> {
    let at = |m: Month| months.iter().position(|x| *x == m).map(|i| values[i]);
    let mut out = Vec::with_capacity(months.len());
    for (i, month) in months.iter().enumerate() {
        let cost = values[i];
        let change = |before: Option<Money>| before.map(|b| (cost - b, pct_of(cost - b, b)));
        let year_ago = Month::parse(&format!("{:04}-{:02}", month.year - 1, month.month));
        let ytd =
            months.iter().zip(values).filter(|(m, _)| m.year == month.year && **m <= *month).map(|(_, v)| *v).sum();
        let anomaly = totals.and_then(|t| anomaly(&values[..i], cost, t[i], decimals));
        out.push(MonthStat {
            month: *month,
            cost,
            mom: change(at(month.previous())),
            yoy: change(year_ago.and_then(at)),
            ytd,
            anomaly,
        });
    }
    out
}

/// Whether `cost` departs from the trailing months `before` (see the module's rule), and how.
fn anomaly(before: &[Money], cost: Money, total: Money, decimals: u32) -> Option<String> {
    if before.len() < ANOMALY_MIN {
        return None;
    }
    let trailing: Vec<f64> = before[before.len().saturating_sub(ANOMALY_WINDOW)..].iter().map(|m| m.to_f64()).collect();
    let k = trailing.len() as f64;
    let mean = trailing.iter().sum::<f64>() / k;
    let sd = (trailing.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k).sqrt();
    let v = cost.to_f64();
    let departs = (v - mean).abs();
    let floor = total.to_f64().abs() * 0.01;
    if departs > 3.0 * sd && departs > 0.25 * mean.abs() && departs >= floor && departs > 0.0 {
        let sds = if sd > 0.0 { format!("{:.1} standard deviations", departs / sd) } else { "flat months".into() };
        Some(format!(
            "{} {} against a mean of {} over the {} months before ({sds})",
            if v > mean { "up" } else { "down" },
            crate::report::chart::amount(departs, decimals),
            crate::report::chart::amount(mean, decimals),
            trailing.len()
        ))
    } else {
        None
    }
}

/// The run rate of the months before `i`: the mean of the last [`WINDOW`] of them.
fn run_rate(values: &[Money]) -> Option<(Money, usize)> {
    if values.is_empty() {
        return None;
    }
    let window = &values[values.len().saturating_sub(WINDOW)..];
    let sum: Money = window.iter().copied().sum();
    let k = window.len();
    sum.per(Money::from_minor_units(k as i128, 0)).map(|m| (m, k))
}

fn forecast(months: &[Month], values: &[Money], stats: &[MonthStat]) -> Forecast {
    let last = *months.last().expect("a history has months");
    let next_month = last.next();
    let (next, window) = run_rate(values).unwrap_or((Money::ZERO, 0));
    // Back-test: each month forecast from the months before it, by the same rule.
    let mut errors = Vec::new();
    for i in 1..values.len() {
        let actual = values[i].to_f64();
        if actual == 0.0 {
            continue;
        }
        if let Some((f, _)) = run_rate(&values[..i]) {
            errors.push((f.to_f64() - actual).abs() / actual.abs() * 100.0);
        }
    }
    let error = (!errors.is_empty()).then(|| (errors.iter().sum::<f64>() / errors.len() as f64, errors.len()));
    let year = next_month.year;
    let year_end_month = Month::parse(&format!("{year:04}-12")).unwrap_or(next_month);
    let known: Vec<&MonthStat> = stats.iter().filter(|s| s.month.year == year).collect();
    let year_from = known.first().map(|s| s.month).unwrap_or(next_month);
    let ytd = known.last().map(|s| s.ytd).unwrap_or(Money::ZERO);
    // The months left in the year, and the months the ledger misses since its first month of the year: both at the
    // run rate, so a missing month is never counted as a month of no spend.
    let gaps = gaps_since(year_from, &known);
    let remaining = (12 - u32::from(next_month.month) + 1 + gaps) as i128;
    let forecast_part = next.mul_div(Money::from_minor_units(remaining, 0), Money::from_minor_units(1, 0));
    let forecast_part = forecast_part.unwrap_or(Money::ZERO);
    let year_end = ytd + forecast_part;
    let year_end_error = error.and_then(|(e, _)| pct_of(forecast_part, year_end).map(|share| e * share.abs() / 100.0));
    Forecast {
        next_month,
        next,
        window,
        year_end_month,
        year_end,
        year_from,
        year_known: known.len(),
        year_estimated: remaining as u32,
        error,
        year_end_error,
    }
}

/// Calendar months from `from` to the last of `known` that `known` does not hold.
fn gaps_since(from: Month, known: &[&MonthStat]) -> u32 {
    let Some(last) = known.last().map(|s| s.month) else { return 0 };
    let mut gaps = 0;
    let mut m = from;
    while m < last {
        if !known.iter().any(|s| s.month == m) {
            gaps += 1;
        }
        m = m.next();
    }
    gaps
}

fn budget(s: &Series, monthly: Money) -> Budget {
    let stat = s.months.last().expect("a history has months");
    let last = stat.cost;
    // The period the ledger can speak for: its first month of this year to December.
    let period_from = s.months.iter().find(|m| m.month.year == stat.month.year).map(|m| m.month).unwrap_or(stat.month);
    let period_months = 12 - u32::from(period_from.month) + 1;
    let times = |m: Money, k: u32| m.mul_div(Money::from_minor_units(k as i128, 0), Money::from_minor_units(1, 0));
    let year = times(monthly, period_months).unwrap_or(Money::ZERO);
    let f = &s.forecast;
    // Months of the period the ledger misses count at the run rate, like the months left.
    let known: Vec<&MonthStat> = s.months.iter().filter(|m| m.month.year == stat.month.year).collect();
    let gaps = gaps_since(period_from, &known);
    let spent_so_far = stat.ytd + times(f.next, gaps).unwrap_or(Money::ZERO);
    let year_end = spent_so_far + times(f.next, 12 - u32::from(stat.month.month)).unwrap_or(Money::ZERO);
    // Carry the year to date on at the run rate, month by month, to the year's end.
    let (mut spent, mut month) = (spent_so_far, stat.month);
    let mut runs_out = None;
    if spent > year {
        // Already out: the first month of this year whose year to date passed it (the last, when only the months
        // the ledger misses tip it over).
        runs_out = s
            .months
            .iter()
            .filter(|m| m.month.year == stat.month.year)
            .find(|m| m.ytd > year)
            .map(|m| m.month)
            .or(Some(stat.month));
    } else {
        while month.next().year == stat.month.year {
            month = month.next();
            spent += f.next;
            if spent > year {
                runs_out = Some(month);
                break;
            }
        }
    }
    Budget {
        team: s.name.clone(),
        monthly,
        last,
        last_pct: pct_of(last, monthly).unwrap_or(0.0),
        period_from,
        period_months,
        ytd: stat.ytd,
        year,
        burn_pct: pct_of(spent_so_far, year).unwrap_or(0.0),
        year_end,
        over: last > monthly,
        forecast_over: f.next > monthly,
        runs_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(units: i128) -> Money {
        Money::from_minor_units(units, 0)
    }

    #[test]
    fn the_run_rate_is_the_mean_of_the_last_three_months() {
        assert_eq!(run_rate(&[m(1), m(10), m(20), m(30)]), Some((m(20), 3)));
        assert_eq!(run_rate(&[m(4)]), Some((m(4), 1)));
        assert_eq!(run_rate(&[]), None);
    }

    #[test]
    fn a_month_far_from_steady_months_is_an_anomaly_and_a_steady_one_is_not() {
        let before = [m(100), m(102), m(98), m(101)];
        assert!(anomaly(&before, m(180), m(1000), 2).is_some_and(|w| w.starts_with("up ")));
        assert!(anomaly(&before, m(103), m(1000), 2).is_none());
        // Too small against the currency's total to matter.
        assert!(anomaly(&before, m(180), m(1_000_000), 2).is_none());
        // Too few months to say.
        assert!(anomaly(&before[..2], m(180), m(1000), 2).is_none());
    }
}
