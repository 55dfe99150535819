//! Planning what to read: the files under the named inputs, the export runs they belong to (the newest run of an
//! export read for each day, older ones skipped or cut to the days no newer run covers), identical copies left out.

use super::manifest::Manifest;
use super::{Format, Plan, SkippedRun, Source};
use crate::error::{Error, Result};
use crate::schema::Basis;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

impl SkippedRun {
    fn new(export: &Path, date_range: &str, skipped: &Run, kept: String, chosen_by: &'static str) -> SkippedRun {
        SkippedRun {
            export: export.display().to_string(),
            date_range: date_range.to_string(),
            skipped: skipped.dir.display().to_string(),
            kept,
            chosen_by,
            days: None,
        }
    }
}

/// Works out which files to read for the named inputs.
/// `allow_overlap` sums runs of one export whose date ranges overlap, instead of reading each day from the newest.
pub fn plan(inputs: &[PathBuf], allow_overlap: bool) -> Result<Plan> {
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
            walk_export_folder(&mut plan, &mut seen, path, input, allow_overlap)?;
            if plan.sources.len() == before && !plan.skipped_runs.iter().any(|(i, _)| *i == input) {
                return Err(Error::NoExportFiles(path.clone()));
            }
        }
    }
    drop_identical_files(&mut plan)?;
    if !allow_overlap {
        refuse_overlap_across_inputs(&plan)?;
    }
    Ok(plan)
}

/// The export run a file lies in, from its real path: the `<export>/<yyyyMMdd-yyyyMMdd>/<run>` folders above it (up
/// to three levels of folders between the range and the file).
fn run_of(path: &Path) -> Option<(PathBuf, DateRange, PathBuf)> {
    let real = std::fs::canonicalize(path).ok()?;
    let mut child: Option<&Path> = None;
    for a in real.ancestors().skip(1).take(4) {
        let name = a.file_name()?.to_string_lossy();
        if let Some(range) = DateRange::parse(&name) {
            return Some((a.parent()?.to_path_buf(), range, child?.to_path_buf()));
        }
        child = Some(a);
    }
    None
}

/// Runs of one export are resolved day by day only within one named input. Runs of one export whose dates overlap
/// but that come from different inputs (the range folders named one by one, or a run's file named beside the export
/// folder) are refused, naming both, rather than summed: name the export folder once, or sum them with
/// `--allow-overlap`.
fn refuse_overlap_across_inputs(plan: &Plan) -> Result<()> {
    let runs: Vec<(usize, &Source, (PathBuf, DateRange, PathBuf))> =
        plan.sources.iter().filter_map(|s| run_of(&s.path).map(|r| (s.input, s, r))).collect();
    for (i, (input_a, a, (export_a, range_a, run_a))) in runs.iter().enumerate() {
        for (input_b, b, (export_b, range_b, run_b)) in &runs[i + 1..] {
            let overlap = range_a.intersect(*range_b);
            if input_a != input_b && export_a == export_b && run_a != run_b && overlap.is_some() {
                let covered = |s: &Source| overlap.is_some_and(|o| s.superseded.iter().any(|x| x.days == o));
                if covered(a) || covered(b) {
                    continue;
                }
                return Err(Error::Usage(format!(
                    "{} and {} are runs of one export ({}) whose dates overlap, named as separate inputs: name the \
                     export folder once (mlspend reads each day from the newest run), or give --allow-overlap to sum \
                     them",
                    a.path.display(),
                    b.path.display(),
                    export_a.display()
                )));
            }
        }
    }
    Ok(())
}

/// A file left out because another file of the plan has the same bytes (a re-download, a copy in another folder).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DuplicateFile {
    pub skipped: String,
    pub same_as: String,
}

/// Leaves out every file whose content is byte for byte that of a file earlier in the plan, with a warning naming
/// both. Only files of equal size can be equal, so only those are hashed, then compared byte for byte: exact, and
/// nearly free when sizes differ, as export parts' do.
fn drop_identical_files(plan: &mut Plan) -> Result<()> {
    use std::hash::Hasher;
    let mut by_size: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, s) in plan.sources.iter().enumerate() {
        let len = std::fs::metadata(&s.path).map_err(|e| Error::io(&s.path, e))?.len();
        by_size.entry(len).or_default().push(i);
    }
    let mut drop: Vec<(usize, usize)> = Vec::new();
    for group in by_size.into_values().filter(|g| g.len() > 1) {
        let mut by_hash: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for i in group {
            let path = &plan.sources[i].path;
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut h = std::hash::DefaultHasher::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = std::io::Read::read(&mut f, &mut buf).map_err(|e| Error::io(path, e))?;
                if n == 0 {
                    break;
                }
                h.write(&buf[..n]);
            }
            by_hash.entry(h.finish()).or_default().push(i);
        }
        for same in by_hash.into_values().filter(|g| g.len() > 1) {
            // Equal hashes are confirmed byte for byte against each distinct file kept so far.
            let mut kept: Vec<usize> = Vec::new();
            for i in same {
                let mut original = None;
                for &k in &kept {
                    if same_bytes(&plan.sources[k].path, &plan.sources[i].path)? {
                        original = Some(k);
                        break;
                    }
                }
                match original {
                    Some(k) => drop.push((i, k)),
                    None => kept.push(i),
                }
            }
        }
    }
    if drop.is_empty() {
        return Ok(());
    }
    drop.sort_unstable();
    for &(i, k) in &drop {
        let (skipped, kept) = (&plan.sources[i], &plan.sources[k]);
        plan.warnings.push(format!(
            "{}: the same bytes as {}; read once (a copy or a re-download)",
            skipped.path.display(),
            kept.path.display()
        ));
        if let Some((mpath, _, _)) = &skipped.manifest {
            // Its manifest's total can no longer be checked against what is read.
            plan.manifest_rows.retain(|(m, _)| m != mpath);
        }
        plan.duplicates.push((
            skipped.input,
            DuplicateFile { skipped: skipped.path.display().to_string(), same_as: kept.path.display().to_string() },
        ));
    }
    // A copy that was read as part of an export run had days a newer run covers: the kept copy holds the same rows,
    // so it leaves out the same days.
    for &(i, k) in &drop {
        let days = plan.sources[i].superseded.clone();
        plan.sources[k].superseded.extend(days);
    }
    let gone: HashSet<usize> = drop.iter().map(|d| d.0).collect();
    let sources = std::mem::take(&mut plan.sources);
    plan.sources = sources.into_iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, s)| s).collect();
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    use std::io::Read;
    let mut fa = std::io::BufReader::new(std::fs::File::open(a).map_err(|e| Error::io(a, e))?);
    let mut fb = std::io::BufReader::new(std::fs::File::open(b).map_err(|e| Error::io(b, e))?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba).map_err(|e| Error::io(a, e))?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1]).map_err(|e| Error::io(b, e))? == 0);
        }
        fb.read_exact(&mut bb[..n]).map_err(|e| Error::io(b, e))?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
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
    plan.sources.push(Source { path, format, input, basis_hint, manifest, superseded: Vec::new() });
}

/// `amortized` or `actual` in the file name, or in a folder name below the named input.
fn basis_from_name(path: &Path, root: &Path) -> Option<Basis> {
    // The named folder's own name counts too (`x-actualcost` named as an input); folders above it do not.
    let base = if root == path { root } else { root.parent().unwrap_or(root) };
    let rel = path.strip_prefix(base).unwrap_or(path);
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

fn walk_export_folder(
    plan: &mut Plan,
    seen: &mut HashSet<PathBuf>,
    root: &Path,
    input: usize,
    allow_overlap: bool,
) -> Result<()> {
    let mut runs: BTreeMap<PathBuf, Run> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut manifests: Vec<PathBuf> = Vec::new();
    let mut loose: Vec<PathBuf> = Vec::new();
    // Folders already walked, by their real path: a link that loops back is walked once.
    let mut walked: HashSet<PathBuf> = HashSet::new();
    while let Some(dir) = stack.pop() {
        if !walked.insert(std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone())) {
            continue;
        }
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
            let located = Manifest::locate(&mdir, &blob.blob_name)
                .map_err(|detail| Error::Manifest { path: mpath.clone(), detail })?;
            let Some(found) = located else {
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
    // Runs kept per export, with their date range, for the overlap check below.
    let mut by_export: BTreeMap<PathBuf, Vec<(&Run, String)>> = BTreeMap::new();
    for ((export, range), group) in by_slot {
        let (chosen_by, ordered) = newest_first(&group);
        let newest = ordered[0];
        for r in &ordered[1..] {
            plan.skipped_runs
                .push((input, SkippedRun::new(&export, &range, r, newest.dir.display().to_string(), chosen_by)));
        }
        by_export.entry(export).or_default().push((newest, range));
    }
    // Runs of one export whose date ranges overlap (`20260801-20260831` and `20260801-20260815`): each day is read
    // from the newest run that covers it; an older run wholly covered is skipped, one partly covered has its rows
    // of the covered days superseded. `--allow-overlap` sums them instead.
    let mut superseded: HashMap<PathBuf, Vec<Superseded>> = HashMap::new();
    for (export, runs) in by_export {
        if allow_overlap || runs.len() < 2 {
            if runs.len() > 1 && any_overlap(&runs) {
                plan.warnings.push(format!(
                    "{}: runs with overlapping date ranges are summed (--allow-overlap): days they share are counted \
                     once per run",
                    export.display()
                ));
            }
            keep.extend(runs.iter().map(|(r, _)| *r));
            continue;
        }
        let group: Vec<&Run> = runs.iter().map(|(r, _)| *r).collect();
        let (chosen_by, ordered) = newest_first(&group);
        let range_of =
            |r: &Run| runs.iter().find(|(x, _)| std::ptr::eq(*x, r)).map(|(_, g)| g.clone()).unwrap_or_default();
        // Newer runs' ranges, as they are taken.
        let mut taken: Vec<(DateRange, &Run)> = Vec::new();
        for run in ordered {
            let name = range_of(run);
            let Some(range) = DateRange::parse(&name) else {
                keep.push(run);
                continue;
            };
            let overlaps: Vec<(DateRange, &Run)> =
                taken.iter().filter_map(|(t, r)| t.intersect(range).map(|i| (i, *r))).collect();
            let covered = range.covered_by(overlaps.iter().map(|(i, _)| *i));
            if covered {
                let kept = overlaps.iter().map(|(_, r)| r.dir.display().to_string()).collect::<Vec<_>>().join(", ");
                plan.skipped_runs.push((input, SkippedRun::new(&export, &name, run, kept, chosen_by)));
            } else {
                for (days, newer) in &overlaps {
                    let mut skipped = SkippedRun::new(&export, &name, run, newer.dir.display().to_string(), chosen_by);
                    skipped.days = Some(days.to_string());
                    plan.skipped_runs.push((input, skipped));
                    superseded
                        .entry(run.dir.clone())
                        .or_default()
                        .push(Superseded { days: *days, by: newer.dir.display().to_string() });
                }
                keep.push(run);
                taken.push((range, run));
            }
        }
        // A run's rows outside its own date range, on days another run of the export covers, are that run's to
        // give: superseded here (a `20260801-20260815` run holding rows of the 20th, beside a monthly run).
        for (range, run) in &taken {
            for (other_range, other) in &taken {
                if std::ptr::eq(*run, *other) {
                    continue;
                }
                // Not listed as skipped: runs of other months are the usual case, and their rows are rarely in the
                // wrong run; `check` counts any such row as superseded in its file.
                for days in other_range.minus(*range) {
                    superseded
                        .entry(run.dir.clone())
                        .or_default()
                        .push(Superseded { days, by: other.dir.display().to_string() });
                }
            }
        }
    }
    keep.sort_by(|a, b| a.dir.cmp(&b.dir));
    for run in keep {
        match &run.manifest {
            Some((mpath, m)) => {
                if let Some(total) = m.data_row_count {
                    plan.manifest_rows.push((mpath.clone(), total));
                }
                for (blob, file) in m.blobs.iter().zip(&run.files) {
                    let info = (mpath.clone(), blob.blob_name.clone(), blob.data_row_count, m.basis());
                    add_file(plan, seen, file.clone(), input, Some(info), root);
                    mark_superseded(plan, &superseded, run, file);
                }
            }
            None => {
                for file in &run.files {
                    add_file(plan, seen, file.clone(), input, None, root);
                    mark_superseded(plan, &superseded, run, file);
                }
            }
        }
    }
    Ok(())
}

/// Gives the file just added to the plan the days a newer run of its export covers.
fn mark_superseded(plan: &mut Plan, superseded: &HashMap<PathBuf, Vec<Superseded>>, run: &Run, file: &Path) {
    if let (Some(days), Some(last)) = (superseded.get(&run.dir), plan.sources.last_mut()) {
        if last.path == file {
            last.superseded = days.clone();
        }
    }
}

/// Orders runs of one export newest first: by the manifests' `submittedTime` when every run has one, else by run
/// folder name when every name is a number (a timestamp), else by the files' modification time; ties by folder.
fn newest_first<'r>(group: &[&'r Run]) -> (&'static str, Vec<&'r Run>) {
    let all_submitted = group.iter().all(|r| r.manifest.as_ref().is_some_and(|(_, m)| m.submitted_time().is_some()));
    let all_numeric = group
        .iter()
        .all(|r| r.dir.file_name().is_some_and(|n| n.to_string_lossy().bytes().all(|b| b.is_ascii_digit())));
    let mut ordered: Vec<&Run> = group.to_vec();
    let chosen_by = if all_submitted {
        let time = |r: &Run| r.manifest.as_ref().and_then(|(_, m)| m.submitted_time()).unwrap_or("").to_string();
        ordered.sort_by(|a, b| (time(b), &b.dir).cmp(&(time(a), &a.dir)));
        "submittedTime"
    } else if all_numeric {
        let name = |r: &Run| r.dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        // Numbers of different lengths compare by length first.
        ordered.sort_by_key(|r| std::cmp::Reverse((name(r).len(), name(r))));
        "run folder name"
    } else {
        ordered.sort_by(|a, b| (b.modified, &b.dir).cmp(&(a.modified, &a.dir)));
        "file modification time"
    };
    (chosen_by, ordered)
}

fn any_overlap(runs: &[(&Run, String)]) -> bool {
    let ranges: Vec<DateRange> = runs.iter().filter_map(|(_, r)| DateRange::parse(r)).collect();
    ranges.iter().enumerate().any(|(i, a)| ranges[i + 1..].iter().any(|b| a.intersect(*b).is_some()))
}

/// The days an export run covers, from its `yyyyMMdd-yyyyMMdd` folder: both ends included.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub first: crate::dates::Date,
    pub last: crate::dates::Date,
}

impl DateRange {
    fn parse(name: &str) -> Option<DateRange> {
        let day = |t: &str| -> Option<crate::dates::Date> {
            crate::dates::Date::new(t[0..4].parse().ok()?, t[4..6].parse().ok()?, t[6..8].parse().ok()?)
        };
        if !is_date_range(name) {
            return None;
        }
        let (first, last) = (day(&name[0..8])?, day(&name[9..17])?);
        (first <= last).then_some(DateRange { first, last })
    }

    fn intersect(self, other: DateRange) -> Option<DateRange> {
        let first = self.first.max(other.first);
        let last = self.last.min(other.last);
        (first <= last).then_some(DateRange { first, last })
    }

    /// Whether the given ranges, together, cover every day of this one.
    fn covered_by(self, parts: impl Iterator<Item = DateRange>) -> bool {
        let mut parts: Vec<DateRange> = parts.collect();
        parts.sort_by_key(|p| p.first);
        let mut next = self.first;
        for p in parts {
            if p.first > next {
                return false;
            }
            if p.last >= next {
                match p.last.succ() {
                    Some(d) => next = d,
                    None => return true,
                }
            }
            if next > self.last {
                return true;
            }
        }
        next > self.last
    }

    /// The days of this range outside `other`: none, one or two ranges.
    fn minus(self, other: DateRange) -> Vec<DateRange> {
        if self.intersect(other).is_none() {
            return vec![self];
        }
        let mut out = Vec::new();
        if self.first < other.first {
            if let Some(last) = other.first.pred() {
                out.push(DateRange { first: self.first, last });
            }
        }
        if self.last > other.last {
            if let Some(first) = other.last.succ() {
                out.push(DateRange { first, last: self.last });
            }
        }
        out
    }

    pub fn contains(self, day: crate::dates::Date) -> bool {
        self.first <= day && day <= self.last
    }
}

impl std::fmt::Display for DateRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.first, self.last)
    }
}

/// Days of a file's run that a newer run of the same export covers: its rows of those days are not read.
#[derive(Debug, Clone)]
pub struct Superseded {
    pub days: DateRange,
    /// The newer run's folder.
    pub by: String,
}

fn modified_time(p: &Path) -> SystemTime {
    std::fs::metadata(p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}
