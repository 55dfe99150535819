//! The ledger: every month's chargeback lines and allocated rows kept as one Hive-partitioned Parquet dataset,
//! `OUT/ledger/{chargeback,allocated}/billing_month=YYYY-MM/part-0.parquet`, and what reads across its months:
//! [`history`] (monthly totals, trends, forecasts, budgets, anomalies) and [`sql`] (polars' SQL over its tables).
//!
//! `run` writes the partitions into its pack (`report/ledger.rs`); this module only reads them, through polars'
//! lazy, streaming engine: a query reads the columns and partitions it needs, a batch at a time (a year of
//! ten-million-row months: a heap of 749 MiB, against 595 MiB for a fifth of it; docs/performance.md). Each table
//! is scanned from the list of its partition files, never through a glob, given relative to the ledger
//! ([`enter`]): whatever the ledger's own path holds (`[`, `*`, `key=value`) is neither a pattern nor a column.

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

/// The partitions of one table: (month, its Parquet file), in month order. Entries that are not partitions (hidden
/// files, `_SUCCESS`, a user's notes) are left alone; a folder that looks like a partition but names no month, or a
/// partition with a second Parquet file, is an error, as its rows would otherwise be missed or counted twice.
pub fn partitions(ledger: &Path, table: &str) -> Result<Vec<(Month, Vec<PathBuf>)>> {
    if !ledger.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no such folder; `mlspend run` writes the ledger into its --out (OUT/ledger), or give --ledger DIR",
            ledger.display()
        )));
    }
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
        // mlspend writes one file per partition: a second one (a copy made by hand, a file of another tool) would
        // be summed with it, so it is an error rather than rows counted twice.
        if let Some(extra) = files.iter().find(|f| f.file_name().is_some_and(|n| n != PART_FILE)) {
            return Err(Error::Usage(format!(
                "{}: a ledger partition holds one file, {PART_FILE}, as mlspend writes it; remove or move this one (its rows would be counted beside {PART_FILE}'s)",
                extra.display()
            )));
        }
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

/// Makes `ledger` the working folder of this process and returns its absolute path. The commands that read the
/// ledger work from inside it, so that polars is given each file's path relative to the ledger
/// (`chargeback/billing_month=2026-10/part-0.parquet`) and reads `billing_month` from that alone: polars reads Hive
/// keys anywhere in the paths it is given, and a `key=value` in the folders above the ledger would otherwise become a
/// column, or override one. Every other path of the command is made absolute before.
pub fn enter(ledger: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(ledger).map_err(|e| Error::io(ledger, e))?;
    partitions(&abs, TABLES[0])?;
    std::env::set_current_dir(&abs).map_err(|e| Error::io(&abs, e))?;
    Ok(abs)
}

/// A lazy scan of one table over all its partitions, with `billing_month` (a string, `YYYY-MM`) from the partition
/// folders; `None` when the table has none. The working folder is the ledger ([`enter`]). Files are listed by
/// [`partitions`] and given one by one (never a glob or a folder, which would take in a `.DS_Store`), each one's
/// footer read first, so a file that is not whole Parquet, or holds other columns than the first, is named.
pub fn scan(ledger: &Path, table: &str) -> Result<Option<LazyFrame>> {
    let parts = partitions(ledger, table)?;
    if parts.is_empty() {
        return Ok(None);
    }
    let here = std::env::current_dir().map_err(|e| Error::io(ledger, e))?;
    if std::path::absolute(ledger).ok().as_deref() != Some(here.as_path()) {
        return Err(Error::Usage(format!("{}: read the ledger from inside it (ledger::enter)", ledger.display())));
    }
    let mut files = Vec::new();
    let mut first: Option<(PathBuf, arrow_schema::SchemaRef)> = None;
    for (month, paths) in &parts {
        for p in paths {
            let schema = file_schema(p)?;
            match &first {
                None => first = Some((p.clone(), schema)),
                Some((path, expected)) => same_schema(path, expected, p, &schema)?,
            }
            files.push(PlRefPath::new(format!("{table}/{PARTITION_KEY}={month}/{PART_FILE}")));
        }
    }
    let mut args = ScanArgsParquet { glob: false, ..ScanArgsParquet::default() };
    args.hive_options.enabled = Some(true);
    args.hive_options.try_parse_dates = false;
    args.hive_options.schema = Some(Arc::new(Schema::from_iter([Field::new(PARTITION_KEY.into(), DataType::String)])));
    let lf = LazyFrame::scan_parquet_files(files.into_iter().collect(), args)
        .map_err(|e| polars_error(&ledger.join(table), e))?;
    Ok(Some(lf))
}

/// A Parquet file's columns, from its footer.
fn file_schema(path: &Path) -> Result<arrow_schema::SchemaRef> {
    let bad = |detail: String| Error::Parquet {
        path: path.to_path_buf(),
        detail: format!("{detail}; a ledger file that is not whole Parquet: rerun its month, or remove its partition"),
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    Ok(builder.schema().clone())
}

/// The same columns, of the same types, in the same order, or an error naming the first difference.
fn same_schema(a: &Path, sa: &arrow_schema::SchemaRef, b: &Path, sb: &arrow_schema::SchemaRef) -> Result<()> {
    let fields = |s: &arrow_schema::SchemaRef| -> Vec<(String, String)> {
        s.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect()
    };
    let (fa, fb) = (fields(sa), fields(sb));
    if fa == fb {
        return Ok(());
    }
    let differs = fa
        .iter()
        .zip(&fb)
        .find(|(x, y)| x != y)
        .map(|(x, y)| {
            format!(
                "column {} is {} {} there and {} {} here",
                fa.iter().position(|f| f == x).unwrap_or(0) + 1,
                x.0,
                x.1,
                y.0,
                y.1
            )
        })
        .unwrap_or_else(|| format!("{} columns there, {} here", fa.len(), fb.len()));
    Err(Error::Usage(format!(
        "{}: holds other columns than {} ({differs}); every month of a ledger has one schema: rerun this month with this mlspend, or remove its partition",
        b.display(),
        a.display()
    )))
}

/// What the ledger's files are now: (path, inode, size, modified) of each, to tell whether a run replaced a month
/// while a query read it.
pub fn snapshot(ledger: &Path) -> Vec<(PathBuf, u64, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    for table in TABLES {
        for (_, files) in partitions(ledger, table).unwrap_or_default() {
            for f in files {
                if let Ok(m) = std::fs::metadata(&f) {
                    #[cfg(unix)]
                    let ino = std::os::unix::fs::MetadataExt::ino(&m);
                    #[cfg(not(unix))]
                    let ino = 0;
                    out.push((f, ino, m.len(), m.modified().ok()));
                }
            }
        }
    }
    out
}

/// Runs a query over the ledger: on polars' streaming engine, or where it can't run the query (it stops on some
/// plans over 128-bit decimals, such as a count over the union of months or a top-k of a decimal), in memory. A
/// panic inside polars becomes an error, never a crash. When a run replaced a month while the query read it (the
/// ledger's files changed between before and after), the query runs again, up to three times: the answer is always
/// from one state of the ledger.
pub fn run<T>(
    ledger: &Path,
    build: impl Fn() -> Result<LazyFrame>,
    query: impl Fn(LazyFrame, Engine) -> PolarsResult<T>,
) -> Result<T> {
    let mut last = None;
    for _ in 0..3 {
        let before = snapshot(ledger);
        let lf = build()?;
        let result = match guarded(|| query(lf.clone(), Engine::Streaming)) {
            Ok(r) => Ok(r),
            Err(why) => guarded(|| query(lf, Engine::InMemory)).map_err(|again| format!("{why}; in memory: {again}")),
        };
        if snapshot(ledger) == before {
            return result.map_err(|e| Error::Usage(format!("sql: {}", one_line(&e))));
        }
        last = Some(result);
    }
    match last {
        Some(Ok(_)) | None => Err(Error::Busy(format!(
            "{}: a run kept replacing the ledger's months while this query read them; run it again when the run is done",
            ledger.display()
        ))),
        Some(Err(e)) => Err(Error::Usage(format!("sql: {}", one_line(&e)))),
    }
}

fn one_line(text: &str) -> String {
    let text = text.replace('\n', " ");
    // polars appends the whole plan to some errors: the first part says what failed.
    match text.find(" Resolved plan until failure") {
        Some(i) => text[..i].to_string(),
        None if text.len() > 600 => {
            format!("{}...", &text[..text.char_indices().nth(600).map(|(i, _)| i).unwrap_or(text.len())])
        }
        None => text,
    }
}

/// Runs `f`, turning a polars error or a panic inside polars into its message. The panic's own report is kept off
/// the terminal while it runs.
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> std::result::Result<T, String> {
    static MESSAGE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let text = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        if let Ok(mut m) = MESSAGE.lock() {
            *m = text;
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("polars stopped: {}", MESSAGE.lock().map(|m| m.clone()).unwrap_or_default())),
    }
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
