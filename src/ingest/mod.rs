//! Ingest: export files in, canonical rows out.
//!
//! Takes the paths a user names (files, folders walked recursively, Azure export folders with `manifest.json`) and
//! gives every data row, once, as a [`CostRow`] to a sink, in a fixed order (inputs as named, files by path, rows
//! by line). Invariants: each file is read once however often it is named; of two runs of one export over the same
//! date range only the newest is read, and the skipped runs are reported; a row that can't be read is not dropped
//! but recorded as a [`Reject`] with file, line, column and reason; a manifest's declared row counts are checked.

pub mod manifest;
mod plan;
mod pool;
mod read;

pub use plan::{plan, DateRange, DuplicateFile, Superseded};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::{Basis, CostBasis, CostRow};
use std::path::{Path, PathBuf};

/// File formats, by file name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv") {
            Some(Format::Csv)
        } else if name.ends_with(".csv.gz") || name.ends_with(".gz") {
            Some(Format::CsvGz)
        } else if name.ends_with(".parquet") {
            Some(Format::Parquet)
        } else {
            None
        }
    }
}

/// Options that change what is read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What the cost column of EA or MCA files holds when neither a manifest nor the file name says.
    pub export_type: Option<CostBasis>,
    /// Sum runs of one export whose date ranges overlap, instead of reading each day from the newest run.
    pub allow_overlap: bool,
}

/// One file to read.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as it will be shown: under the folder the user named.
    pub path: PathBuf,
    pub format: Format,
    /// Which of the named inputs it came from.
    pub input: usize,
    /// What the manifest or file name says the cost column holds, if anything.
    pub basis_hint: Option<Basis>,
    /// The manifest that lists it, and the data rows it declares for this file.
    pub manifest: Option<(PathBuf, String, Option<u64>)>,
    /// Days whose rows a newer run of the same export supersedes: rows of those days are counted, not read.
    pub superseded: Vec<Superseded>,
}

/// A run of an export that was not read because a newer run covers the same dates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedRun {
    pub export: String,
    pub date_range: String,
    pub skipped: String,
    pub kept: String,
    /// How the newer run was told apart: `submittedTime`, `run folder name` or `file modification time`.
    pub chosen_by: &'static str,
    /// When only some days of the run were left out (a newer run of the export covers them): which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<String>,
}

impl SkippedRun {
    /// One line for `check` and the run's warnings.
    pub fn describe(&self) -> String {
        match &self.days {
            None => format!(
                "skipped run {} ({}): {} is newer, by {}",
                self.skipped, self.date_range, self.kept, self.chosen_by
            ),
            Some(days) => format!(
                "skipped the days {days} of run {} ({}): {} is newer and covers them, by {}",
                self.skipped, self.date_range, self.kept, self.chosen_by
            ),
        }
    }
}

/// What to read, worked out before reading anything.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub inputs: Vec<PathBuf>,
    pub sources: Vec<Source>,
    pub skipped_runs: Vec<(usize, SkippedRun)>,
    pub warnings: Vec<String>,
    /// Manifests of the runs read that declare a total `dataRowCount`, checked against the rows of their blobs.
    pub manifest_rows: Vec<(PathBuf, u64)>,
    /// Files left out because an earlier file has the same bytes, with the input they came from.
    pub duplicates: Vec<(usize, DuplicateFile)>,
}

/// A row that could not be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// What was read from one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    pub path: String,
    #[serde(skip)]
    pub input: usize,
    #[serde(skip)]
    pub format: Format,
    pub layout: Layout,
    pub variant: &'static str,
    pub basis: Basis,
    pub rows: u64,
    pub rejected: u64,
    /// Rows of days a newer run of the same export covers: counted in `rows`, not read.
    #[serde(skip_serializing_if = "is_zero")]
    pub superseded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What was read, beyond the rows themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub files: Vec<FileReport>,
    pub rejects: Vec<Reject>,
    pub warnings: Vec<String>,
}

impl LoadReport {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
}

/// Receives canonical rows. Each part of the input (a file, or a chunk of a large one) gets its own sink, so parts
/// can be read on several threads; the caller merges the sinks in order.
pub trait RowSink: Send {
    fn row(&mut self, row: &CostRow);
}

/// A part's sink, and what to add to the line numbers of its rows to make them the file's lines.
pub struct Part<S> {
    pub sink: S,
    pub source: usize,
    pub line_offset: u64,
}

/// After reading one file: its manifest's row count checked, a header-only file noted.
fn file_read(source: &Source, file: FileReport, report: &mut LoadReport) -> Result<()> {
    if let Some((mpath, blob, Some(declared))) = &source.manifest {
        if *declared != file.rows {
            return Err(Error::Manifest {
                path: mpath.clone(),
                detail: format!(
                    "blob {blob} declares {declared} data rows but {} holds {}; the file is incomplete or was changed, re-download the run",
                    source.path.display(),
                    file.rows
                ),
            });
        }
    }
    if file.rows == 0 {
        report.warnings.push(format!("{}: header only, no data rows", source.path.display()));
    }
    report.files.push(file);
    Ok(())
}

/// Each manifest's top-level `dataRowCount` against the rows read from all its blobs.
fn check_manifest_totals(plan: &Plan, report: &LoadReport) -> Result<()> {
    for (mpath, declared) in &plan.manifest_rows {
        let read: u64 = plan
            .sources
            .iter()
            .zip(&report.files)
            .filter(|(s, _)| s.manifest.as_ref().is_some_and(|(m, _, _)| m == mpath))
            .map(|(_, f)| f.rows)
            .sum();
        if read != *declared {
            return Err(Error::Manifest {
                path: mpath.clone(),
                detail: format!(
                    "declares dataRowCount {declared} but its blobs hold {read} data rows; the run is incomplete or \
                     was changed, re-download it"
                ),
            });
        }
    }
    Ok(())
}

fn finish_report(report: &mut LoadReport) {
    let mut layouts: Vec<&str> = report.files.iter().map(|f| f.layout.id()).collect();
    layouts.sort_unstable();
    layouts.dedup();
    if layouts.len() > 1 {
        report.warnings.push(format!("mixed layouts: {}", layouts.join(", ")));
    }
}

impl Source {
    /// Whether a newer run of the export covers this day: the row is counted as superseded, not read.
    pub fn is_superseded(&self, day: crate::dates::Date) -> bool {
        self.superseded.iter().any(|s| s.days.contains(day))
    }
}

impl Plan {
    /// The size of the files to read, in bytes.
    pub fn bytes(&self) -> u64 {
        self.sources.iter().map(|s| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0)).sum()
    }
}

/// Reads every planned file, giving each readable row to `sink`, in order, on this thread. Rejected rows are
/// collected, not fatal; an unreadable file, or a manifest whose row count disagrees with what was read, is an error.
pub fn load(plan: &Plan, options: &Options, sink: &mut dyn FnMut(&CostRow)) -> Result<LoadReport> {
    let mut report = LoadReport { warnings: plan.warnings.clone(), ..LoadReport::default() };
    for (index, source) in plan.sources.iter().enumerate() {
        let file = read::read_source(source, index as u32, options, &mut report, sink)?;
        file_read(source, file, &mut report)?;
    }
    check_manifest_totals(plan, &report)?;
    finish_report(&mut report);
    Ok(report)
}

/// Like [`load`], but the files are cut into parts (chunks of 64 MiB of an uncompressed CSV file, a whole
/// `.csv.gz` file, runs of a Parquet file's row groups), all read by one pool of up to `threads` threads, each part
/// into a sink of its own. `merge` receives the parts in input order as they are read; how files are cut depends
/// only on their size and metadata, so the result is the same on every machine.
pub fn load_parts<S: RowSink>(
    plan: &Plan,
    options: &Options,
    threads: usize,
    new_sink: &(dyn Fn() -> S + Sync),
    merge: &mut dyn FnMut(Part<S>) -> Result<()>,
) -> Result<LoadReport> {
    let mut report = LoadReport { warnings: plan.warnings.clone(), ..LoadReport::default() };
    let opened = plan
        .sources
        .iter()
        .enumerate()
        .map(|(index, source)| read::Opened::open(source, index as u32, options, &mut report))
        .collect::<Result<Vec<_>>>()?;
    pool::read_all(&opened, &mut report, threads, new_sink, merge)?;
    check_manifest_totals(plan, &report)?;
    finish_report(&mut report);
    Ok(report)
}
