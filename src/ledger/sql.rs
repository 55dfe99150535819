//! `mlspend sql`: polars' SQL over the ledger's tables, `chargeback` and `allocated`, with the column names of
//! `chargeback.parquet` and `allocated.parquet` and `billing_month` from the partitions. The query is planned
//! lazily and run on polars' streaming engine: a `--out` file is written as the rows stream, in flat memory.

use super::{cells, scan, TABLES};
use crate::error::{Error, Result};
use polars::prelude::*;
use polars::sql::SQLContext;
use std::path::{Path, PathBuf};

/// Rows a query prints on the terminal; `--out` writes them all.
pub const SHOWN: usize = 1000;

/// The query as a lazy frame over the ledger's tables.
pub fn query(ledger: &Path, text: &str) -> Result<LazyFrame> {
    let mut ctx = SQLContext::new();
    let mut any = false;
    for table in TABLES {
        if let Some(lf) = scan(ledger, table)? {
            ctx.register(table, lf);
            any = true;
        }
    }
    if !any {
        return Err(super::empty(ledger));
    }
    ctx.execute(text).map_err(|e| Error::Usage(format!("sql: {}", e.to_string().replace('\n', " "))))
}

/// A printed result: the header, the first rows, and whether there were more.
pub struct Printed {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub numeric: Vec<bool>,
    pub more: bool,
}

/// Runs the query for the terminal: its first [`SHOWN`] rows.
pub fn print(ledger: &Path, text: &str) -> Result<Printed> {
    let df = super::run(
        ledger,
        || query(ledger, text),
        |lf, engine| lf.limit(SHOWN as IdxSize + 1).collect_with_engine(engine).map(|r| r.unwrap_single()),
    )?;
    let more = df.height() > SHOWN;
    let df = df.head(Some(SHOWN));
    let header = df.columns().iter().map(|c| c.name().to_string()).collect();
    let numeric = df.columns().iter().map(|c| c.dtype().is_primitive_numeric() || c.dtype().is_decimal()).collect();
    let columns = cells(&df, ledger)?;
    let rows = (0..df.height()).map(|r| columns.iter().map(|c| c[r].clone()).collect()).collect();
    Ok(Printed { header, rows, numeric, more })
}

/// Runs the query into `out` (`.csv` or `.parquet`), streamed into a temporary file beside it that takes its name
/// only when the query has finished: a failed query leaves no file, and an existing one as it was.
pub fn write(ledger: &Path, text: &str, out: &Path) -> Result<PathBuf> {
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let csv = ext_is_csv(&lower);
    let format = if csv {
        // CRLF, as every CSV mlspend writes.
        let mut options = CsvWriterOptions::default();
        let mut serialize = (*options.serialize_options).clone();
        serialize.line_terminator = "\r\n".into();
        options.serialize_options = serialize.into();
        FileWriteFormat::Csv(options)
    } else if lower.ends_with(".parquet") {
        FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions::default()))
    } else {
        return Err(Error::Usage(format!(
            "--out {}: name a .csv or a .parquet file; the extension says which to write",
            out.display()
        )));
    };
    if out.is_dir() {
        return Err(Error::Usage(format!("--out {}: is a folder; name the file to write", out.display())));
    }
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::NotFound(dir.to_path_buf()));
    }
    // What an earlier query into the same file left when it was killed.
    let prefix = format!(".{name}.mlspend-tmp-");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let ext = if csv { "csv" } else { "parquet" };
    let tmp = dir.join(format!("{prefix}{}.{ext}", std::process::id()));
    let tmp_text =
        tmp.to_str().ok_or_else(|| Error::Usage(format!("--out {}: give a UTF-8 path", out.display())))?.to_string();
    let build = || {
        let lf = query(ledger, text)?;
        if csv {
            spreadsheet_safe(lf)
        } else {
            Ok(lf)
        }
    };
    let result = super::run(ledger, build, |lf, engine| {
        lf.sink(
            SinkDestination::File { target: SinkTarget::Path(PlRefPath::new(tmp_text.as_str())) },
            format.clone(),
            UnifiedSinkArgs::default(),
        )
        .and_then(|lf| lf.collect_with_engine(engine))
        .map(|_| ())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(out, e)
    })?;
    Ok(out.to_path_buf())
}

fn ext_is_csv(name: &str) -> bool {
    name.ends_with(".csv")
}

/// Every text column of a CSV result through the rule of every CSV mlspend writes (`text::safe_cell`): a cell that a
/// spreadsheet would run as a formula gets a leading `'`. Team names and tags come from the bill.
fn spreadsheet_safe(mut lf: LazyFrame) -> Result<LazyFrame> {
    let schema = lf.collect_schema().map_err(|e| Error::Usage(format!("sql: {}", e.to_string().replace('\n', " "))))?;
    let exprs: Vec<Expr> = schema
        .iter()
        .map(|(name, dtype)| {
            // The header too: a column named `=1+1` is a formula to a spreadsheet like any cell.
            let safe_name = crate::text::safe_cell(name.as_str()).into_owned();
            let c = col(name.clone());
            if *dtype != DataType::String {
                return c.alias(safe_name);
            }
            c.map(
                |column: Column| {
                    let ca = column.str()?;
                    let risky = |s: &str| matches!(crate::text::safe_cell(s), std::borrow::Cow::Owned(_));
                    if !ca.iter().flatten().any(risky) {
                        return Ok(column);
                    }
                    let safe: StringChunked =
                        ca.iter().map(|v| v.map(|s| crate::text::safe_cell(s).into_owned())).collect();
                    Ok(safe.with_name(column.name().clone()).into_column())
                },
                |_, field| Ok(field.clone()),
            )
            .alias(safe_name)
        })
        .collect();
    Ok(lf.select(exprs))
}
