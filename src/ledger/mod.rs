//! The ledger: every month's chargeback lines and allocated rows kept as one Hive-partitioned Parquet dataset,
//! `OUT/ledger/{chargeback,allocated}/billing_month=YYYY-MM/part-0.parquet`, and what reads across its months:
//! [`history`] (monthly totals, trends, forecasts, budgets, anomalies) and [`sql`] (polars' SQL over its tables).
//!
//! `run` writes the partitions into its pack (`report/ledger.rs`); this module only reads them, through polars'
//! lazy, streaming engine: a query reads the columns and partitions it needs, a batch at a time, so a year of
//! ten-million-row months runs in flat memory. Each table is scanned from the list of its partition files, never
//! through a glob, and only the path below the table's folder is read as Hive keys: whatever the ledger's own path
//! holds (`[`, `*`, `key=value`) is neither a pattern nor a column.

pub mod history;
pub mod sql;

use crate::dates::Month;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// The ledger's tables, each a folder of `billing_month=YYYY-MM` partitions.
pub const TABLES: [&str; 2] = ["chargeback", "allocated"];
/// The Hive partition key: a column of every table, `YYYY-MM`, read from the partition's folder name.
pub const PARTITION_KEY: &str = "billing_month";
/// The one data file of a partition.
pub const PART_FILE: &str = "part-0.parquet";
/// The decimal scale of every cost column of the ledger (as in allocated.parquet).
pub const COST_SCALE: usize = 18;

/// `ledger/<table>/billing_month=YYYY-MM`.
pub fn partition(ledger: &Path, table: &str, month: Month) -> PathBuf {
    ledger.join(table).join(format!("{PARTITION_KEY}={month}"))
}

/// The partitions of one table: (month, its Parquet files), in month order. Entries that are not partitions (hidden
/// files, `_SUCCESS`, a user's notes) are left alone; a folder that looks like a partition but names no month is an
/// error, as its rows would otherwise be missed.
pub fn partitions(ledger: &Path, table: &str) -> Result<Vec<(Month, Vec<PathBuf>)>> {
    let dir = ledger.join(table);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let prefix = format!("{PARTITION_KEY}=");
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(value) = name.strip_prefix(&prefix) else { continue };
        let path = entry.path();
        let month = Month::parse(value).filter(|m| m.to_string() == value).ok_or_else(|| {
            Error::Usage(format!(
                "{}: a ledger partition names a billing month as YYYY-MM (billing_month=2026-10); rename or remove this folder",
                path.display()
            ))
        })?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| Error::io(&path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                n.ends_with(".parquet") && !n.starts_with('.') && !n.starts_with('_')
            })
            .collect();
        files.sort();
        if !files.is_empty() {
            found.push((month, files));
        }
    }
    found.sort_by_key(|(m, _)| *m);
    Ok(found)
}

/// The error for a ledger that holds no months.
pub fn empty(ledger: &Path) -> Error {
    Error::Usage(format!(
        "{}: holds no ledger months; `mlspend run` writes them (OUT/ledger), or give --ledger DIR",
        ledger.display()
    ))
}

/// A lazy scan of one table over all its partitions, with `billing_month` (a string, `YYYY-MM`) from the folder
/// names. `None` when the table has no partitions.
///
/// Each partition file is scanned on its own and given its month as a literal column, and the scans are one union:
/// polars' own Hive parsing reads `key=value` anywhere in a path (the ledger's own path included) and every file
/// of a folder (a `.DS_Store` too), where this reads only the partitions [`partitions`] lists.
pub fn scan(ledger: &Path, table: &str) -> Result<Option<LazyFrame>> {
    let parts = partitions(ledger, table)?;
    if parts.is_empty() {
        return Ok(None);
    }
    let root = ledger.join(table);
    let mut scans = Vec::new();
    for (month, paths) in &parts {
        for p in paths {
            let text = p
                .to_str()
                .ok_or_else(|| Error::Usage(format!("{}: a ledger file's path is not UTF-8", p.display())))?;
            let args = ScanArgsParquet { glob: false, ..ScanArgsParquet::default() };
            let lf = LazyFrame::scan_parquet(PlRefPath::new(text), args).map_err(|e| polars_error(p, e))?;
            scans.push(lf.with_column(lit(month.to_string()).alias(PARTITION_KEY)));
        }
    }
    let args = UnionArgs { maintain_order: false, ..UnionArgs::default() };
    let lf = concat(scans, args).map_err(|e| polars_error(&root, e))?;
    Ok(Some(lf))
}

/// A polars error, as one line naming the ledger.
pub fn polars_error(ledger: &Path, e: PolarsError) -> Error {
    Error::Parquet { path: ledger.to_path_buf(), detail: e.to_string().replace('\n', " ") }
}

/// A decimal's 128-bit value at `scale` as text, trailing zeros trimmed down to two decimals: `1234.5600`.
pub fn decimal_text(value: i128, scale: usize) -> String {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let (int, frac) = if digits.len() > scale {
        (digits[..digits.len() - scale].to_string(), digits[digits.len() - scale..].to_string())
    } else {
        ("0".to_string(), format!("{digits:0>scale$}"))
    };
    let mut frac = frac.trim_end_matches('0').to_string();
    let min = scale.min(2);
    while frac.len() < min {
        frac.push('0');
    }
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// The cells of a query result, column by column, as text (decimals exact, at their scale).
pub fn cells(df: &DataFrame, ledger: &Path) -> Result<Vec<Vec<String>>> {
    let mut columns = Vec::with_capacity(df.width());
    for column in df.columns() {
        let s = column.as_materialized_series();
        let cells: Vec<String> = match s.dtype() {
            DataType::Decimal(_, scale) => {
                let scale = *scale;
                let d = s.decimal().map_err(|e| polars_error(ledger, e))?;
                d.physical().iter().map(|v| v.map(|v| decimal_text(v, scale)).unwrap_or_default()).collect()
            }
            DataType::String => {
                s.str().map_err(|e| polars_error(ledger, e))?.iter().map(|v| v.unwrap_or("").to_string()).collect()
            }
            _ => {
                let t = s.cast(&DataType::String).map_err(|e| polars_error(ledger, e))?;
                t.str().map_err(|e| polars_error(ledger, e))?.iter().map(|v| v.unwrap_or("").to_string()).collect()
            }
        };
        columns.push(cells);
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_exactly_with_at_least_two_places() {
        assert_eq!(decimal_text(1_234_560_000_000_000_000_000, 18), "1234.56");
        assert_eq!(decimal_text(-5, 18), "-0.000000000000000005");
        assert_eq!(decimal_text(100, 2), "1.00");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(decimal_text(-1_000_000_000_000_000_000, 18), "-1.00");
    }
}
