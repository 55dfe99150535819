//! The report pack as one step: a lock on `OUT`, a staging tree beside it, and one atomic swap.
//!
//! Takes the month folders a run has prepared and gives an `OUT` that changes from the previous pack to the new one
//! in a single `rename`: a reader of `OUT` sees either the whole old pack or the whole new one, never some months of
//! each, and a run killed at any point leaves the old pack whole.
//!
//! How: the run locks the `OUT` folder itself (an advisory `flock`, released by the kernel when the process ends, so
//! a killed run never leaves a stale lock; the holder writes its pid into `OUT/.mlspend-lock` for the message a
//! second run prints). It builds the new pack in `.<OUT>.mlspend-staging-<pid>` beside `OUT`: the new month folders
//! written in full, and every other entry of `OUT` (other months, a user's own files) hard-linked in (copied where
//! links can't be made). Then `renameat2(RENAME_EXCHANGE)` swaps the staging folder and `OUT` atomically, and the
//! old tree, now under the staging name, is removed. Leftovers of a killed run are removed by the next run that
//! holds the lock. On a filesystem without `RENAME_EXCHANGE`, months are renamed into place one by one, and the run
//! says so.

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The file in `OUT` that names the lock holder.
pub const LOCK_FILE: &str = ".mlspend-lock";

/// Prefix of the staging folder beside `OUT`: `.<name>.mlspend-staging-<pid>`.
fn staging_prefix(name: &str) -> String {
    format!(".{name}.mlspend-staging-")
}

/// A held lock on an output folder, released when dropped (or when the process ends, however it ends).
pub struct PackLock {
    _dir: File,
}

impl PackLock {
    /// Locks `out` (created when missing). A second run gets an error naming the holder's pid.
    pub fn acquire(out: &Path) -> Result<PackLock> {
        for _ in 0..100 {
            std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
            let dir = File::open(out).map_err(|e| Error::io(out, e))?;
            match dir.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    // The holder writes its pid just after it locks: give it a moment.
                    let mut holder = String::new();
                    for _ in 0..20 {
                        holder = std::fs::read_to_string(out.join(LOCK_FILE)).unwrap_or_default();
                        if !holder.trim().is_empty() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    let holder = holder.trim();
                    return Err(Error::Busy(format!(
                        "{}: another mlspend run is writing this pack{}; wait for it to finish, or give another --out",
                        out.display(),
                        if holder.is_empty() { String::new() } else { format!(" (pid {holder})") }
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(out, e)),
            }
            // The folder may have been swapped for a new pack between opening and locking: lock the one that is
            // `out` now.
            if same_file(&dir, out) {
                let _ = std::fs::write(out.join(LOCK_FILE), format!("{}\n", std::process::id()));
                return Ok(PackLock { _dir: dir });
            }
        }
        Err(Error::Busy(format!("{}: the folder kept changing while mlspend tried to lock it", out.display())))
    }
}

#[cfg(unix)]
fn same_file(f: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.is_dir()
}

/// A run's new pack, built beside `OUT` under its lock.
pub struct Staging {
    pub out: PathBuf,
    /// `.<name>.mlspend-staging-<pid>` beside `OUT`: the new pack as it is built.
    pub dir: PathBuf,
    lock: Option<PackLock>,
    /// Whether this run created `out`: a failed run removes it again when it is still empty.
    created_out: bool,
}

/// Where the staging folders of `out` go, and their name prefix.
fn beside(out: &Path) -> Result<(PathBuf, String)> {
    let abs = std::path::absolute(out).map_err(|e| Error::io(out, e))?;
    let name = abs.file_name().map(|n| n.to_string_lossy().to_string()).ok_or_else(|| {
        Error::Usage(format!("--out {}: name a folder to write the reports into, not a root", out.display()))
    })?;
    let parent = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    Ok((parent, staging_prefix(&name)))
}

impl Staging {
    /// Locks `out` and creates an empty staging folder beside it, after removing what killed runs left there.
    pub fn create(out: &Path) -> Result<Staging> {
        let created_out = !out.exists();
        // An `OUT` that is a link to a folder (reports -> /srv/share/reports) is swapped where it points, so that
        // the link stays a link.
        let is_link = std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
        let real = if is_link { std::fs::canonicalize(out).map_err(|e| Error::io(out, e))? } else { out.to_path_buf() };
        let out = real.as_path();
        let lock = PackLock::acquire(out)?;
        let (parent, prefix) = beside(out)?;
        remove_leftovers(out, &parent, &prefix);
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging { out: out.to_path_buf(), dir, lock: Some(lock), created_out })
    }

    /// Makes the staged months the pack: every other entry of `OUT` is linked into the staging tree, which then
    /// takes `OUT`'s place in one atomic swap. `merge` keeps the files of a month folder that the staged month does
    /// not replace (`compare` writes only `topology.csv` and its charts); otherwise a staged month replaces the
    /// whole folder. Returns the month folders written.
    ///
    /// `replaced` names folders below `OUT` (the ledger's partitions of the staged months) that the staged tree
    /// replaces whole: the old ones are not linked in.
    pub fn commit(mut self, months: &[String], merge: bool, replaced: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let skip: Vec<PathBuf> = replaced.iter().map(|r| self.out.join(r)).collect();
        for entry in read_dir_sorted(&self.out)? {
            let name = entry.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if name == LOCK_FILE || name.starts_with(".mlspend-staging-") || name.starts_with(".mlspend-old-") {
                continue;
            }
            let target = self.dir.join(&name);
            if months.contains(&name) {
                if merge {
                    link_tree(&entry, &target, true, &skip)?;
                }
                continue;
            }
            link_tree(&entry, &target, false, &skip)?;
        }
        // The new pack takes the old one's permissions (a group-writable shared folder stays so).
        if let Ok(meta) = std::fs::metadata(&self.out) {
            let _ = std::fs::set_permissions(&self.dir, meta.permissions());
        }
        fault_point("before-swap");
        let swapped = exchange(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e))?;
        if !swapped {
            // No atomic exchange here: month by month, each one whole.
            for m in months {
                let target = self.out.join(m);
                let old = self.out.join(format!(".mlspend-old-{}-{m}", std::process::id()));
                if target.exists() {
                    std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
                }
                std::fs::rename(self.dir.join(m), &target).map_err(|e| Error::io(&target, e))?;
                let _ = std::fs::remove_dir_all(&old);
            }
            // And the ledger's partitions, each one whole.
            for (i, rel) in replaced.iter().enumerate() {
                let target = self.out.join(rel);
                let staged = self.dir.join(rel);
                let old = self.out.join(format!(".mlspend-old-{}-ledger-{i}", std::process::id()));
                if target.exists() {
                    std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
                }
                if staged.exists() {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                    }
                    std::fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
                }
                let _ = std::fs::remove_dir_all(&old);
            }
        }
        fault_point("after-swap");
        // The old pack is now the staging folder (or, without the exchange, what is left of the staging tree).
        let _ = std::fs::remove_dir_all(&self.dir);
        self.created_out = false;
        self.lock.take();
        Ok(months.iter().map(|m| self.out.join(m)).collect())
    }
}

impl Drop for Staging {
    /// A run that did not commit (it failed, or stopped on an error) leaves `OUT` as it found it: no staging folder,
    /// no lock file, and no `OUT` at all when this run created it.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.lock.is_some() {
            let _ = std::fs::remove_file(self.out.join(LOCK_FILE));
        }
        if self.created_out {
            // Only succeeds when nothing else is there.
            let _ = std::fs::remove_dir(&self.out);
        }
    }
}

/// Staging folders of earlier runs that were killed, and the old-format leftovers inside `OUT`: only the lock
/// holder builds a pack, so under the lock none of them is in use.
fn remove_leftovers(out: &Path, parent: &Path, prefix: &str) {
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(".mlspend-staging-") || name.starts_with(".mlspend-old-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    v.sort();
    Ok(v)
}

/// Recreates `from` at `to` with hard links (a copy where a link can't be made; links as links). With `keep`, an
/// entry that already exists at `to` is kept: the staged file wins over the old one. Entries in `skip` are left out.
fn link_tree(from: &Path, to: &Path, keep: bool, skip: &[PathBuf]) -> Result<()> {
    if skip.iter().any(|s| s == from) {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(from).map_err(|e| Error::io(from, e))?;
    if meta.is_dir() {
        if !to.exists() {
            std::fs::create_dir(to).map_err(|e| Error::io(to, e))?;
        }
        for entry in read_dir_sorted(from)? {
            let name = entry.file_name().map(Path::new).unwrap_or(Path::new(""));
            link_tree(&entry, &to.join(name), keep, skip)?;
        }
        return Ok(());
    }
    if keep && std::fs::symlink_metadata(to).is_ok() {
        return Ok(());
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| Error::io(from, e))?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, to).map_err(|e| Error::io(to, e))?;
        #[cfg(not(unix))]
        std::fs::copy(from, to).map(|_| ()).map_err(|e| Error::io(to, e))?;
        return Ok(());
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(())
}

/// Swaps two folders atomically. `Ok(false)` where the filesystem or system can't (the caller falls back).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Test builds only (debug assertions): `MLSPEND_FAULT=<point>` stops the process at that point, as a kill would,
/// so the tests can check what a reader of `OUT` sees after a run dies there. Release builds have no such switch.
pub fn fault_point(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("MLSPEND_FAULT").is_ok_and(|f| f == point) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
