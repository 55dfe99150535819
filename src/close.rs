//! Closed months: what finance booked stays booked.
//!
//! Takes the chargeback of a run, the last closed month and the pack folder, and gives the chargeback of the open
//! months only, with prior-period adjustments. A closed month's pack is never rewritten: its rows in this run (late
//! charges, refunds, corrections, a re-run export of the month) are compared, line by line, with the lines its pack
//! booked (`OUT/<month>/chargeback.csv`), and each difference is booked into the first open month as a
//! `prior-period-adjustment` line with the same team, project, workspace, environment and category, its reason naming
//! the closed month and the original allocation. Each closed month gives one [`Restatement`] row per currency and team:
//! booked, what the exports now say, and the delta carried. The first open month's books then balance as its own rows
//! plus the adjustments, per currency, to the cent.

use crate::dates::Month;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::rollup::{Chargeback, CurrencyTotals, Line, MonthChargeback, RowCounts};
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::rollup::PRIOR_PERIOD;

/// One closed month's change, per currency and team, carried into the first open month.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restatement {
    pub closed_month: Month,
    pub currency: String,
    pub team: String,
    pub booked: Money,
    pub now: Money,
    pub delta: Money,
    pub carried_into: Month,
}

/// A line's key: every column of `chargeback.csv` but the cost.
type Key = (String, String, String, String, String, String, String, String, String);

fn key(l: &Line) -> Key {
    (
        l.currency.clone(),
        l.team.clone(),
        l.project.clone(),
        l.workspace.clone(),
        l.environment.clone(),
        l.service_category.clone(),
        l.topology.clone(),
        l.allocation.clone(),
        l.reason.clone(),
    )
}

/// A cell as the chargeback held it: `chargeback.csv` writes a leading `'` before text a spreadsheet would run as a
/// formula (`report::safe_cell`); that quote is not part of the name.
fn unquote(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.trim_start_matches(' ').bytes().next(),
                Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n')
            ) =>
        {
            rest.to_string()
        }
        _ => cell.to_string(),
    }
}

/// The lines a closed month's pack booked, by key.
fn booked(out: &Path, month: Month) -> Result<BTreeMap<Key, Money>> {
    let path = out.join(month.to_string()).join("chargeback.csv");
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "month {month} is closed (closed_through) but {} is missing: a closed month is compared with the chargeback it booked, so run it (with --format csv) before closing it, or close an earlier month",
            path.display()
        )));
    }
    let bad = |line: u64, what: String| Error::Usage(format!("{}: line {line}: {what}", path.display()));
    let mut reader = csv::ReaderBuilder::new().from_path(&path).map_err(|e| bad(1, e.to_string()))?;
    let header: Vec<String> = reader.headers().map_err(|e| bad(1, e.to_string()))?.iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).ok_or_else(|| bad(1, format!("no column {name}")));
    let cols = [
        col("currency")?,
        col("team")?,
        col("project")?,
        col("workspace")?,
        col("environment")?,
        col("service_category")?,
        col("topology")?,
        col("allocation")?,
        col("reason")?,
        col("cost")?,
    ];
    let mut lines = BTreeMap::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let cell = |k: usize| unquote(rec.get(cols[k]).unwrap_or(""));
        let cost = Money::parse(rec.get(cols[9]).unwrap_or("")).map_err(|e| bad(line, format!("cost: {e}")))?;
        let k = (cell(0), cell(1), cell(2), cell(3), cell(4), cell(5), cell(6), cell(7), cell(8));
        *lines.entry(k).or_default() += cost;
    }
    Ok(lines)
}

/// Takes the closed months out of `chargeback`, books their changes into the first open month, and gives what was
/// restated. Months after `through` are left as they are.
pub fn close(chargeback: &mut Chargeback, through: Month, out: &Path) -> Result<Vec<Restatement>> {
    let first_open = through.next();
    let (closed, open): (Vec<MonthChargeback>, Vec<MonthChargeback>) =
        std::mem::take(&mut chargeback.months).into_iter().partition(|m| m.month <= through);
    chargeback.months = open;
    let mut restated = Vec::new();
    let mut adjustments: Vec<Line> = Vec::new();
    let mut decimals: BTreeMap<String, u32> = BTreeMap::new();
    for m in &closed {
        let was = booked(out, m.month)?;
        let mut now: BTreeMap<Key, Money> = BTreeMap::new();
        for l in &m.lines {
            *now.entry(key(l)).or_default() += l.cost;
        }
        for t in &m.totals {
            decimals.insert(t.currency.clone(), t.decimals);
        }
        let mut by_team: BTreeMap<(String, String), (Money, Money)> = BTreeMap::new();
        let keys: std::collections::BTreeSet<&Key> = was.keys().chain(now.keys()).collect();
        for k in keys {
            let (b, n) = (was.get(k).copied().unwrap_or_default(), now.get(k).copied().unwrap_or_default());
            let e = by_team.entry((k.0.clone(), k.1.clone())).or_default();
            e.0 += b;
            e.1 += n;
            let delta = n - b;
            if delta.is_zero() {
                continue;
            }
            let reason =
                if k.8.is_empty() { format!("{} {}", m.month, k.7) } else { format!("{} {}: {}", m.month, k.7, k.8) };
            adjustments.push(Line {
                billing_month: first_open,
                currency: k.0.clone(),
                team: k.1.clone(),
                project: k.2.clone(),
                workspace: k.3.clone(),
                environment: k.4.clone(),
                service_category: k.5.clone(),
                topology: k.6.clone(),
                allocation: PRIOR_PERIOD.to_string(),
                reason,
                exact: delta,
                cost: delta,
                report_cost: None,
            });
        }
        for ((currency, team), (b, n)) in by_team {
            restated.push(Restatement {
                closed_month: m.month,
                currency,
                team,
                booked: b,
                now: n,
                delta: n - b,
                carried_into: first_open,
            });
        }
    }
    if adjustments.is_empty() {
        return Ok(restated);
    }
    // The first open month: this run's, or one of adjustments alone when the exports hold none of its rows.
    let pos = match chargeback.months.iter().position(|m| m.month == first_open) {
        Some(p) => p,
        None => {
            chargeback.months.push(MonthChargeback {
                month: first_open,
                lines: Vec::new(),
                totals: Vec::new(),
                splits: Vec::new(),
                other_providers: Vec::new(),
            });
            chargeback.months.sort_by_key(|m| m.month);
            chargeback.months.iter().position(|m| m.month == first_open).unwrap_or(0)
        }
    };
    let target = &mut chargeback.months[pos];
    for a in adjustments {
        let t = match target.totals.iter_mut().position(|t| t.currency == a.currency) {
            Some(i) => &mut target.totals[i],
            None => {
                target.totals.push(CurrencyTotals {
                    currency: a.currency.clone(),
                    decimals: decimals.get(&a.currency).copied().unwrap_or(2),
                    input_total: Money::ZERO,
                    input_total_exact: Money::ZERO,
                    direct: Money::ZERO,
                    shared: Money::ZERO,
                    unallocated: Money::ZERO,
                    out_of_scope: Money::ZERO,
                    adjustments: Money::ZERO,
                    chargeback_total: Money::ZERO,
                    rows: RowCounts::default(),
                    balanced: false,
                    rate: None,
                    input_total_report: None,
                    teams: Vec::new(),
                });
                target.totals.sort_by(|x, y| x.currency.cmp(&y.currency));
                let i = target.totals.iter().position(|t| t.currency == a.currency).unwrap_or(0);
                &mut target.totals[i]
            }
        };
        t.adjustments += a.cost;
        t.chargeback_total += a.cost;
        match t.teams.iter_mut().find(|x| x.0 == a.team) {
            Some(x) => {
                x.1 += a.cost;
                x.2 += a.exact;
            }
            None => {
                t.teams.push((a.team.clone(), a.cost, a.exact));
                t.teams.sort_by(|x, y| x.0.cmp(&y.0));
            }
        }
        target.lines.push(a);
    }
    target.sort_lines();
    target.mark_balanced();
    Ok(restated)
}
