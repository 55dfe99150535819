//! The run's months in the ledger: `OUT/ledger/{chargeback,allocated}/billing_month=YYYY-MM/part-0.parquet`, staged
//! with the month folders and made part of the pack in the same atomic swap (`pack.rs`), so a rerun of a month
//! replaces its partitions whole, and a reader sees either the old ones or the new ones. `src/ledger/` reads them.

use crate::dates::Month;
use crate::error::{Error, Result};
use crate::ledger::{partition, PART_FILE};
use crate::rollup::MonthChargeback;
use std::path::{Path, PathBuf};

/// The two cost columns a ledger's chargeback table can hold: one basis per ledger.
const BASES: [(&str, &str); 2] = [("EffectiveCost", "amortized"), ("BilledCost", "actual")];

/// The cost column of chargeback.parquet and of the ledger: `EffectiveCost` on amortized cost, `BilledCost` on
/// actual.
pub fn cost_column(basis: crate::schema::CostBasis) -> &'static str {
    if basis == crate::schema::CostBasis::Actual {
        "BilledCost"
    } else {
        "EffectiveCost"
    }
}

/// A ledger charges back one cost basis: months of amortized and of actual cost in one table would be summed
/// together by every query over it. Errors when `OUT/ledger` already holds months of the other basis.
pub fn check_basis(out: &Path, cost_column: &str) -> Result<()> {
    let ledger = out.join("ledger");
    // Any partition's file tells: every one is written by the same rule. (Read leniently: a partition this run
    // replaces may hold anything.)
    let dir = ledger.join("chargeback");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(()) };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("billing_month="))
        .map(|e| e.path().join(PART_FILE))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if let Some(file) = files.first() {
        let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| Error::Parquet { path: file.clone(), detail: e.to_string() })?;
        let schema = builder.schema();
        for (column, basis) in BASES {
            if column != cost_column && schema.index_of(column).is_ok() {
                let this = BASES.iter().find(|(c, _)| *c == cost_column).map(|(_, b)| *b).unwrap_or("");
                return Err(Error::Usage(format!(
                    "{}: the ledger holds months of {basis} cost ({column}), and this run charges back {this} cost: give --basis {basis}, another --out, or move {} away to start a new ledger",
                    file.display(),
                    ledger.display()
                )));
            }
        }
    }
    Ok(())
}

/// Stages one month's partitions: the chargeback lines (ledger schema), and the month's `allocated.parquet`,
/// already staged in the month folder: linked when the pack keeps it (`--format parquet`), moved otherwise.
/// Returns the partitions the month replaces, relative to `OUT`.
pub fn stage(
    staging: &Path,
    m: &MonthChargeback,
    cost_column: &str,
    reporting: Option<&str>,
    keep_allocated: bool,
) -> Result<Vec<PathBuf>> {
    let ledger = staging.join("ledger");
    let month: Month = m.month;
    let chargeback = partition(&ledger, "chargeback", month);
    std::fs::create_dir_all(&chargeback).map_err(|e| Error::io(&chargeback, e))?;
    let bytes = crate::report::allocated::ledger_chargeback_parquet(&m.lines, cost_column, reporting)?;
    let path = chargeback.join(PART_FILE);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;

    let source = staging.join(month.to_string()).join("allocated.parquet");
    if source.exists() {
        let allocated = partition(&ledger, "allocated", month);
        std::fs::create_dir_all(&allocated).map_err(|e| Error::io(&allocated, e))?;
        let target = allocated.join(PART_FILE);
        if keep_allocated {
            if std::fs::hard_link(&source, &target).is_err() {
                std::fs::copy(&source, &target).map_err(|e| Error::io(&target, e))?;
            }
        } else {
            std::fs::rename(&source, &target).map_err(|e| Error::io(&target, e))?;
        }
    }
    let rel = Path::new("ledger");
    Ok(vec![partition(rel, "chargeback", month), partition(rel, "allocated", month)])
}
