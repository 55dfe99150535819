//! The topology comparison's files: `topology.csv` (a row per combination, a column per cost part),
//! `constraints.csv` (what each constraint costs) and the topology charts.

use super::{chart_files, csv_bytes, safe_cell, Comparison, Files};
use crate::error::Result;
use crate::report::charts::Charts;
use crate::rollup::MonthChargeback;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The columns of `topology.csv`.
pub fn columns() -> Vec<&'static str> {
    let mut c = vec!["billing_month", "currency"];
    c.extend(crate::compare::columns());
    c
}

/// `topology.csv`, `constraints.csv` and the topology charts of one month.
pub(super) fn files(m: &MonthChargeback, (estimates, decisions): Comparison, charts: &Charts) -> Result<Files> {
    let decimals: BTreeMap<&str, u32> = m.totals.iter().map(|t| (t.currency.as_str(), t.decimals)).collect();
    let d = |currency: &str| decimals.get(currency).copied().unwrap_or(2);
    let rows = estimates.iter().filter(|e| e.month == m.month).map(|e| {
        let mut cells = vec![e.month.to_string(), safe_cell(&e.currency).into_owned()];
        cells.extend(e.cells(d(&e.currency), ""));
        cells
    });
    let mut files = vec![(PathBuf::from("topology.csv"), csv_bytes(&columns(), rows)?)];
    let rows = decisions.iter().filter(|x| x.month == m.month).flat_map(|x| {
        crate::config::Constraint::ALL.iter().map(move |c| {
            let cost = x.cost(estimates, *c, d(&x.currency));
            vec![
                x.month.to_string(),
                safe_cell(&x.currency).into_owned(),
                c.as_str().to_string(),
                if x.require.contains(c) { "yes" } else { "no" }.to_string(),
                if x.moot.contains(c) { "no" } else { "yes" }.to_string(),
                cost.map(|v| v.to_fixed(d(&x.currency))).unwrap_or_default(),
                x.recommended.clone().unwrap_or_default(),
            ]
        })
    });
    files.push((
        PathBuf::from("constraints.csv"),
        csv_bytes(&["billing_month", "currency", "constraint", "required", "applies", "cost", "recommended"], rows)?,
    ));
    files.extend(chart_files(m.month, charts, |stem| stem.starts_with("topology-"))?);
    Ok(files)
}
