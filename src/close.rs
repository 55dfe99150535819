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
use crate::rollup::{Chargeback, CurrencyTotals, Line, MonthChargeback};
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
    /// The currency's decimals, for showing the amounts.
    #[serde(skip)]
    pub decimals: u32,
}

/// A line's key: every column of `chargeback.csv` but the cost, as `chargeback.csv` writes them.
type Key = (String, String, String, String, String, String, String, String, String);

/// A line's key as the CSV holds it (text a spreadsheet would run gets its leading `'`): compared with the booked
/// lines as written, so a name that really starts with `'` is not mistaken for a quoted one.
fn key(l: &Line) -> Key {
    let w = |t: &str| crate::text::safe_cell(t).into_owned();
    (
        w(&l.currency),
        w(&l.team),
        w(&l.project),
        w(&l.workspace),
        w(&l.environment),
        l.service_category.clone(),
        l.topology.clone(),
        l.allocation.clone(),
        w(&l.reason),
    )
}

/// A cell of a booked line that is in no line of this run: the text the chargeback held, without the `'` the CSV
/// writes before text a spreadsheet would run as a formula.
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

/// What a closed month's pack booked: its own lines, and the prior-period adjustments it carried for earlier months
/// (by the month they restate, under the key of the line they change).
struct Booked {
    own: BTreeMap<Key, Money>,
    carried: Vec<(Month, Key, Money)>,
}

/// The chargeback a closed month booked, `OUT/<month>/chargeback.csv`; an error when it was never written.
pub fn require_booked(out: &Path, month: Month) -> Result<std::path::PathBuf> {
    let path = out.join(month.to_string()).join("chargeback.csv");
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "month {month} is closed (closed_through) but {} is missing: the exports hold its rows, and a closed month is compared with the chargeback it booked, so run it (with --format csv) before closing it, or close an earlier month",
            path.display()
        )));
    }
    Ok(path)
}

fn booked(out: &Path, month: Month, config: &crate::config::Config) -> Result<Booked> {
    let path = require_booked(out, month)?;
    let bad = |line: u64, what: String| {
        Error::Usage(format!(
            "{}: line {line}: {what}; a closed month's chargeback.csv must be as mlspend wrote it",
            path.display()
        ))
    };
    let mut reader = csv::ReaderBuilder::new().from_path(&path).map_err(|e| bad(1, e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
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
    let mut own = BTreeMap::new();
    let mut carried = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let cell = |k: usize| rec.get(cols[k]).unwrap_or("").to_string();
        let currency = unquote(&cell(0));
        let cost = Money::parse(rec.get(cols[9]).unwrap_or("")).map_err(|e| bad(line, format!("cost: {e}")))?;
        // A booked cost is at its currency's minor unit: anything finer was not written by a chargeback.
        if cost.round(config.decimals_for(&currency)) != cost {
            return Err(bad(line, format!("cost {cost} is finer than {currency}'s minor unit")));
        }
        let mut k = (cell(0), cell(1), cell(2), cell(3), cell(4), cell(5), cell(6), cell(7), cell(8));
        if k.7 == PRIOR_PERIOD {
            // `2026-08 direct` or `2026-08 unallocated: unknown workspace x`: the month and the line it changed.
            let reason = k.8.clone();
            let (restated, rest) = reason.split_once(' ').unwrap_or((reason.as_str(), ""));
            let Some(restated) = Month::parse(restated) else {
                return Err(bad(line, format!("prior-period adjustment without its month: {reason:?}")));
            };
            let (allocation, original) = rest.split_once(": ").unwrap_or((rest, ""));
            k.7 = allocation.to_string();
            k.8 = original.to_string();
            carried.push((restated, k, cost));
        } else {
            *own.entry(k).or_default() += cost;
        }
    }
    Ok(Booked { own, carried })
}

/// The closed months that have a pack in `out`: folders named `YYYY-MM`, up to `through`. Every one must hold its
/// `chargeback.csv`: the adjustments it carried for earlier months are read from it, and without them they would be
/// carried again.
fn closed_packs(out: &Path, through: Month) -> Result<Vec<Month>> {
    let mut months: Vec<Month> = std::fs::read_dir(out)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| Month::parse(&e.file_name().to_string_lossy()))
                .filter(|m| *m <= through)
                .collect()
        })
        .unwrap_or_default();
    months.sort();
    for m in &months {
        let path = out.join(m.to_string()).join("chargeback.csv");
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "closed month {m} has a pack without {}: restating reads what each closed month booked and carried from its chargeback.csv, so write the packs with --format csv (the default) before closing them",
                path.display()
            )));
        }
    }
    Ok(months)
}

/// Takes the closed months out of `chargeback`, books their changes into the first open month, and gives what was
/// restated. Months after `through` are left as they are.
pub fn close(
    chargeback: &mut Chargeback,
    through: Month,
    out: &Path,
    config: &crate::config::Config,
) -> Result<Vec<Restatement>> {
    let first_open = through.next();
    let (closed, open): (Vec<MonthChargeback>, Vec<MonthChargeback>) =
        std::mem::take(&mut chargeback.months).into_iter().partition(|m| m.month <= through);
    chargeback.months = open;
    // What each closed month stands at: its own booked lines, plus what later closed months already carried for it
    // (a month closed after it was restated must not carry the same change again).
    let mut baseline: BTreeMap<Month, BTreeMap<Key, Money>> = BTreeMap::new();
    for m in closed_packs(out, through)? {
        let b = booked(out, m, config)?;
        let own = baseline.entry(m).or_default();
        for (k, v) in b.own {
            *own.entry(k).or_default() += v;
        }
        for (restated, k, v) in b.carried {
            *baseline.entry(restated).or_default().entry(k).or_default() += v;
        }
    }
    let mut restated = Vec::new();
    let mut adjustments: Vec<Line> = Vec::new();
    for m in &closed {
        require_booked(out, m.month)?;
        let was = baseline.remove(&m.month).unwrap_or_default();
        let mut now: BTreeMap<Key, Money> = BTreeMap::new();
        // The text of each key as the chargeback holds it, for the adjustment lines.
        let mut text: BTreeMap<Key, &Line> = BTreeMap::new();
        for l in &m.lines {
            let k = key(l);
            *now.entry(k.clone()).or_default() += l.cost;
            text.insert(k, l);
        }
        let mut by_team: BTreeMap<(String, String), (Money, Money)> = BTreeMap::new();
        let keys: std::collections::BTreeSet<&Key> = was.keys().chain(now.keys()).collect();
        for k in keys {
            let (b, n) = (was.get(k).copied().unwrap_or_default(), now.get(k).copied().unwrap_or_default());
            let (currency, team, project, workspace, environment, reason) = match text.get(k) {
                Some(l) => (
                    l.currency.clone(),
                    l.team.clone(),
                    l.project.clone(),
                    l.workspace.clone(),
                    l.environment.clone(),
                    l.reason.clone(),
                ),
                None => (unquote(&k.0), unquote(&k.1), unquote(&k.2), unquote(&k.3), unquote(&k.4), unquote(&k.8)),
            };
            let e = by_team.entry((currency.clone(), team.clone())).or_default();
            e.0 += b;
            e.1 += n;
            let delta = n - b;
            if delta.is_zero() {
                continue;
            }
            let why = if reason.is_empty() {
                format!("{} {}", m.month, k.7)
            } else {
                format!("{} {}: {reason}", m.month, k.7)
            };
            adjustments.push(Line {
                billing_month: first_open,
                currency,
                team,
                project,
                workspace,
                environment,
                service_category: k.5.clone(),
                topology: k.6.clone(),
                allocation: PRIOR_PERIOD.to_string(),
                reason: why,
                exact: delta,
                cost: delta,
                report_cost: None,
            });
        }
        for ((currency, team), (b, n)) in by_team {
            let decimals = config.decimals_for(&currency);
            restated.push(Restatement {
                closed_month: m.month,
                currency,
                team,
                booked: b,
                now: n,
                delta: n - b,
                carried_into: first_open,
                decimals,
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
                commitments: Vec::new(),
                unit_costs: Vec::new(),
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
                target.totals.push(CurrencyTotals::empty(&a.currency, config.decimals_for(&a.currency)));
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
