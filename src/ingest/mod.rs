//! Ingest: export files in, canonical rows out.
//!
//! Takes the paths a user names (files, folders walked recursively, Azure export folders with `manifest.json`) and
//! gives every data row, once, as a [`CostRow`] to a sink, in a fixed order (inputs as named, files by path, rows
//! by line). Invariants: each file is read once however often it is named; of two runs of one export over the same
//! date range only the newest is read, and the skipped runs are reported; a row that can't be read is not dropped
//! but recorded as a [`Reject`] with file, line, column and reason; a manifest's declared row counts are checked.

pub mod manifest;
mod read;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::schema::{Basis, CostBasis, CostRow};
use manifest::Manifest;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
}

/// What to read, worked out before reading anything.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub inputs: Vec<PathBuf>,
    pub sources: Vec<Source>,
    pub skipped_runs: Vec<(usize, SkippedRun)>,
    pub warnings: Vec<String>,
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

/// Works out which files to read for the named inputs.
pub fn plan(inputs: &[PathBuf]) -> Result<Plan> {
    let mut plan = Plan { inputs: inputs.to_vec(), ..Plan::default() };
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for (input, path) in inputs.iter().enumerate() {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let before = plan.sources.len();
        if meta.is_file() {
            if Format::of(path).is_none() {
                return Err(Error::Usage(format!(
                    "{}: not an export file; mlspend reads .csv, .csv.gz and .parquet files and folders of them",
                    path.display()
                )));
            }
            add_file(&mut plan, &mut seen, path.clone(), input, None, path);
        } else {
            walk_export_folder(&mut plan, &mut seen, path, input)?;
            if plan.sources.len() == before && !plan.skipped_runs.iter().any(|(i, _)| *i == input) {
                return Err(Error::NoExportFiles(path.clone()));
            }
        }
    }
    Ok(plan)
}

fn add_file(
    plan: &mut Plan,
    seen: &mut HashSet<PathBuf>,
    path: PathBuf,
    input: usize,
    manifest: Option<(PathBuf, String, Option<u64>, Option<Basis>)>,
    root: &Path,
) {
    let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if !seen.insert(key) {
        plan.warnings.push(format!("{}: named more than once; read once", path.display()));
        return;
    }
    let Some(format) = Format::of(&path) else {
        return;
    };
    let (basis_hint, manifest) = match manifest {
        Some((m, blob, rows, basis)) => (basis.or_else(|| basis_from_name(&path, root)), Some((m, blob, rows))),
        None => (basis_from_name(&path, root), None),
    };
    plan.sources.push(Source { path, format, input, basis_hint, manifest });
}

/// `amortized` or `actual` in the file name, or in a folder name below the named input.
fn basis_from_name(path: &Path, root: &Path) -> Option<Basis> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut names: Vec<String> =
        vec![path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()];
    names.extend(
        rel.ancestors().skip(1).filter_map(|a| a.file_name()).map(|n| n.to_string_lossy().to_ascii_lowercase()),
    );
    names.iter().find_map(|n| {
        if n.contains("amortized") || n.contains("amortised") {
            Some(Basis::Amortized)
        } else if n.contains("actual") {
            Some(Basis::Actual)
        } else {
            None
        }
    })
}

/// A run of an export found on disk: its files, and how to tell it from other runs of the same date range.
struct Run {
    /// The export folder and date range (`yyyyMMdd-yyyyMMdd`) it belongs to; `None` outside the export folder shape.
    slot: Option<(PathBuf, String)>,
    dir: PathBuf,
    manifest: Option<(PathBuf, Manifest)>,
    files: Vec<PathBuf>,
    modified: SystemTime,
}

fn is_date_range(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 17 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit())
}

/// The run a file belongs to: the folder just below a `yyyyMMdd-yyyyMMdd` folder, if there is one.
fn run_slot(dir: &Path, root: &Path) -> (Option<(PathBuf, String)>, PathBuf) {
    let mut child: Option<&Path> = None;
    for a in dir.ancestors() {
        if !a.starts_with(root) {
            break;
        }
        if let Some(name) = a.file_name().map(|n| n.to_string_lossy().to_string()) {
            if is_date_range(&name) {
                let export = a.parent().unwrap_or(a).to_path_buf();
                return (Some((export, name)), child.unwrap_or(dir).to_path_buf());
            }
        }
        child = Some(a);
    }
    (None, dir.to_path_buf())
}

fn walk_export_folder(plan: &mut Plan, seen: &mut HashSet<PathBuf>, root: &Path, input: usize) -> Result<()> {
    let mut runs: BTreeMap<PathBuf, Run> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut manifests: Vec<PathBuf> = Vec::new();
    let mut loose: Vec<PathBuf> = Vec::new();
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(&dir, e)))
            .collect::<Result<_>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n.eq_ignore_ascii_case("manifest.json")) {
                manifests.push(p);
            } else if Format::of(&p).is_some() {
                loose.push(p);
            }
        }
    }
    manifests.sort();
    loose.sort();
    // Files listed by a manifest belong to its run; the manifest's folder and everything below it are its run.
    let mut claimed: HashSet<PathBuf> = HashSet::new();
    for mpath in manifests {
        let manifest = Manifest::read(&mpath)?;
        let mdir = mpath.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut files = Vec::new();
        for blob in &manifest.blobs {
            let Some(found) = Manifest::locate(&mdir, &blob.blob_name) else {
                return Err(Error::Manifest {
                    path: mpath.clone(),
                    detail: format!(
                        "blob {} is listed but not found below {}; copy the whole run folder",
                        blob.blob_name,
                        mdir.display()
                    ),
                });
            };
            claimed.insert(found.clone());
            files.push(found);
        }
        let (slot, _) = run_slot(&mdir, root);
        let modified = modified_time(&mpath);
        runs.insert(mdir.clone(), Run { slot, dir: mdir, manifest: Some((mpath, manifest)), files, modified });
    }
    for f in loose {
        if claimed.contains(&f) {
            continue;
        }
        if let Some(run) = runs.values().find(|r| r.manifest.is_some() && f.starts_with(&r.dir)) {
            plan.warnings.push(format!(
                "{}: not listed in {}; ignored",
                f.display(),
                run.manifest.as_ref().map(|(p, _)| p.display().to_string()).unwrap_or_default()
            ));
            continue;
        }
        let dir = f.parent().unwrap_or(Path::new(".")).to_path_buf();
        let (slot, run_dir) = run_slot(&dir, root);
        let modified = modified_time(&f);
        let run = runs.entry(run_dir.clone()).or_insert_with(|| Run {
            slot,
            dir: run_dir,
            manifest: None,
            files: vec![],
            modified,
        });
        run.modified = run.modified.max(modified);
        run.files.push(f);
    }

    // Of the runs in one export slot, keep the newest.
    let mut by_slot: BTreeMap<(PathBuf, String), Vec<&Run>> = BTreeMap::new();
    let mut keep: Vec<&Run> = Vec::new();
    for run in runs.values() {
        match &run.slot {
            Some(slot) => by_slot.entry(slot.clone()).or_default().push(run),
            None => keep.push(run),
        }
    }
    for ((export, range), group) in by_slot {
        let all_submitted =
            group.iter().all(|r| r.manifest.as_ref().is_some_and(|(_, m)| m.submitted_time().is_some()));
        let all_numeric = group
            .iter()
            .all(|r| r.dir.file_name().is_some_and(|n| n.to_string_lossy().bytes().all(|b| b.is_ascii_digit())));
        let (chosen_by, newest) = if all_submitted {
            let newest = group
                .iter()
                .max_by_key(|r| (r.manifest.as_ref().and_then(|(_, m)| m.submitted_time()).unwrap_or(""), &r.dir));
            ("submittedTime", newest)
        } else if all_numeric {
            ("run folder name", group.iter().max_by_key(|r| &r.dir))
        } else {
            ("file modification time", group.iter().max_by_key(|r| (r.modified, &r.dir)))
        };
        let newest = *newest.expect("a slot has at least one run");
        for r in &group {
            if std::ptr::eq(*r, newest) {
                continue;
            }
            plan.skipped_runs.push((
                input,
                SkippedRun {
                    export: export.display().to_string(),
                    date_range: range.clone(),
                    skipped: r.dir.display().to_string(),
                    kept: newest.dir.display().to_string(),
                    chosen_by,
                },
            ));
        }
        keep.push(newest);
    }
    keep.sort_by(|a, b| a.dir.cmp(&b.dir));
    for run in keep {
        match &run.manifest {
            Some((mpath, m)) => {
                for (blob, file) in m.blobs.iter().zip(&run.files) {
                    let info = (mpath.clone(), blob.blob_name.clone(), blob.data_row_count, m.basis());
                    add_file(plan, seen, file.clone(), input, Some(info), root);
                }
            }
            None => {
                for file in &run.files {
                    add_file(plan, seen, file.clone(), input, None, root);
                }
            }
        }
    }
    Ok(())
}

fn modified_time(p: &Path) -> SystemTime {
    std::fs::metadata(p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
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

fn finish_report(report: &mut LoadReport) {
    let mut layouts: Vec<&str> = report.files.iter().map(|f| f.layout.id()).collect();
    layouts.sort_unstable();
    layouts.dedup();
    if layouts.len() > 1 {
        report.warnings.push(format!("mixed layouts: {}", layouts.join(", ")));
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
    finish_report(&mut report);
    Ok(report)
}

/// Like [`load`], but each file, each chunk of a large uncompressed CSV file and each row group of a Parquet file goes
/// to a sink of its own, read on up to `threads` threads. The parts come back in input order; how files are cut depends only on their size.
pub fn load_parts<S: RowSink>(
    plan: &Plan,
    options: &Options,
    threads: usize,
    new_sink: &(dyn Fn() -> S + Sync),
) -> Result<(Vec<Part<S>>, LoadReport)> {
    let mut report = LoadReport { warnings: plan.warnings.clone(), ..LoadReport::default() };
    let mut parts = Vec::new();
    for (index, source) in plan.sources.iter().enumerate() {
        let size = std::fs::metadata(&source.path).map(|m| m.len()).unwrap_or(0);
        let file = if source.format == Format::Parquet {
            let (file, groups) =
                read::read_parquet_groups(source, index as u32, options, &mut report, threads, new_sink)?;
            parts.extend(groups.into_iter().map(|(sink, line_offset)| Part { sink, source: index, line_offset }));
            file
        } else if source.format == Format::Csv && size >= 2 * read::chunk_bytes() {
            let (file, chunks) = read::read_csv_chunked(source, index as u32, options, &mut report, threads, new_sink)?;
            parts.extend(chunks.into_iter().map(|(sink, line_offset)| Part { sink, source: index, line_offset }));
            file
        } else {
            let mut sink = new_sink();
            let file = read::read_source(source, index as u32, options, &mut report, &mut |row| sink.row(row))?;
            parts.push(Part { sink, source: index, line_offset: 0 });
            file
        };
        file_read(source, file, &mut report)?;
    }
    finish_report(&mut report);
    Ok((parts, report))
}
