//! The reading pool: every planned file is cut into tasks (chunks of uncompressed CSV files, whole `.csv.gz`
//! files, runs of Parquet row groups), and all tasks of all files are read by one pool of threads, each into a sink
//! of its own. This thread merges the pieces in task order as they come in, so the result is the same whatever the
//! number of threads, and only a bounded window of pieces waits to be merged: memory does not grow with the input.

use super::read::{Opened, Piece, Task};
use super::{file_read, Part, RowSink};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// A finished task: where it guessed it started and what it read; `Err` when it panicked.
type Outcome<S> = std::result::Result<(u64, Result<Piece<S>>), Error>;

/// What the workers and the merger share.
struct Shared<S> {
    /// Finished tasks not yet merged, by task number: where each guessed it started and what it read, or the error
    /// of a task that panicked.
    done: HashMap<usize, Outcome<S>>,
    /// Tasks merged so far: a worker starts task `k` only when `k < merged + window`.
    merged: usize,
    /// Workers still running: when none is and a task never came in, its thread stopped.
    running: usize,
    abort: bool,
}

/// Counts a worker out when it ends, however it ends. A worker that panicked stops the others too: the task it
/// held never arrives, so the merge could never move past it and the workers waiting on the window would wait for
/// ever; instead every worker ends and the merge reports that a reading thread stopped.
struct Running<'a, S> {
    shared: &'a Mutex<Shared<S>>,
    merger: &'a Condvar,
    workers: &'a Condvar,
}

impl<S> Drop for Running<'_, S> {
    fn drop(&mut self) {
        let mut s = match self.shared.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        s.running -= 1;
        if std::thread::panicking() {
            s.abort = true;
        }
        drop(s);
        self.workers.notify_all();
        self.merger.notify_all();
    }
}

/// Where a file stands in the merge.
struct FileState {
    /// The true end of the last chunk merged, in bytes, and the file's lines up to there (the header's at first).
    end: u64,
    lines_before: u64,
    tasks_left: usize,
    report: Option<super::FileReport>,
    read_twice: u64,
    chunks: u64,
}

/// Reads every planned file on up to `threads` threads, giving each piece to `merge` in input order.
pub(super) fn read_all<S: RowSink>(
    opened: &[Opened],
    report: &mut super::LoadReport,
    threads: usize,
    new_sink: &(dyn Fn() -> S + Sync),
    merge: &mut dyn FnMut(Part<S>) -> Result<()>,
) -> Result<()> {
    let mut tasks = Vec::new();
    for (file, o) in opened.iter().enumerate() {
        o.tasks(file, &mut tasks);
    }
    let mut files: Vec<FileState> = opened
        .iter()
        .map(|o| FileState {
            end: 0,
            lines_before: o.header_lines(),
            tasks_left: 0,
            report: Some(o.report()),
            read_twice: 0,
            chunks: 0,
        })
        .collect();
    for t in &tasks {
        files[t.file()].tasks_left += 1;
    }
    let n = tasks.len();
    // A `.csv.gz` file inflates on a thread of its own only when there are more threads than tasks to give them.
    let pipelined = threads > n;
    let workers = threads.min(n).max(1);
    let window = 2 * workers + 2;
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(Shared { done: HashMap::new(), merged: 0, running: workers, abort: false });
    let (worker_cv, merger_cv) = (Condvar::new(), Condvar::new());
    let lock = || shared.lock().map_err(|_| Error::Usage("a reading thread stopped".into()));

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let _running = Running { shared: &shared, merger: &merger_cv, workers: &worker_cv };
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        return;
                    }
                    {
                        let Ok(mut s) = shared.lock() else { return };
                        while !s.abort && k >= s.merged + window {
                            s = match worker_cv.wait(s) {
                                Ok(s) => s,
                                Err(_) => return,
                            };
                        }
                        if s.abort {
                            return;
                        }
                    }
                    let task = &tasks[k];
                    // A task that panics (a bug) fails the run with an error naming its file, rather than taking
                    // the process down or leaving the merge waiting for it.
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        #[cfg(debug_assertions)]
                        if k == 1 && std::env::var("MLSPEND_FAULT").is_ok_and(|f| f == "panic-task") {
                            panic!("fault injected by MLSPEND_FAULT=panic-task");
                        }
                        opened[task.file()].run(task, new_sink(), pipelined)
                    }))
                    .map_err(|_| Error::Read {
                        path: opened[task.file()].source().path.clone(),
                        line: 0,
                        detail: "internal error: a reading thread panicked; please report it".into(),
                    });
                    let Ok(mut s) = shared.lock() else { return };
                    s.done.insert(k, out);
                    merger_cv.notify_all();
                }
            });
        }

        let merged = (|| -> Result<()> {
            let mut next_file = 0;
            for (k, task) in tasks.iter().enumerate() {
                let (start, piece) = {
                    let mut s = lock()?;
                    loop {
                        if let Some(out) = s.done.remove(&k) {
                            break out?;
                        }
                        if s.running == 0 {
                            return Err(Error::Read {
                                path: opened[task.file()].source().path.clone(),
                                line: 0,
                                detail: "a reading thread stopped".into(),
                            });
                        }
                        s = merger_cv.wait(s).map_err(|_| Error::Usage("a reading thread stopped".into()))?;
                    }
                };
                let f = task.file();
                let o = &opened[f];
                let state = &mut files[f];
                let (piece, offset) = match task {
                    Task::Chunk { k: c, .. } => {
                        state.chunks += 1;
                        // Each chunk's guessed start is checked against where the chunk before really ended; one that
                        // guessed wrong (a quoted field held the line break) is read again from there.
                        let piece = if *c > 0 && start != state.end {
                            state.read_twice += 1;
                            o.reread(task, state.end, new_sink())
                        } else {
                            piece
                        };
                        // Chunk 0's rows carry the file's lines already (it knows the header's); a later chunk's
                        // are made the file's by the lines of the chunks before.
                        let offset = if *c == 0 { 0 } else { state.lines_before };
                        let piece = piece.map_err(|e| shift_line(e, offset))?;
                        state.lines_before += piece.end_line - 1;
                        state.end = piece.end;
                        (piece, offset)
                    }
                    Task::Whole { .. } | Task::Groups { .. } => (piece?, 0),
                };
                if let Some(file) = state.report.as_mut() {
                    file.rows += piece.rows;
                    file.rejected += piece.rejected;
                    file.superseded += piece.superseded;
                }
                report.rejects.extend(piece.rejects.into_iter().map(|mut r| {
                    r.line += offset;
                    r
                }));
                merge(Part { sink: piece.sink, source: f, line_offset: offset })?;
                state.tasks_left -= 1;
                {
                    let mut s = lock()?;
                    s.merged = k + 1;
                    worker_cv.notify_all();
                }
                // Files complete in order: every task of a file comes before the next file's, and a file of no
                // tasks (a Parquet file without row groups) completes when the files before it have.
                while next_file < files.len() && files[next_file].tasks_left == 0 {
                    complete(&opened[next_file], &mut files[next_file], report)?;
                    next_file += 1;
                }
            }
            while next_file < files.len() {
                complete(&opened[next_file], &mut files[next_file], report)?;
                next_file += 1;
            }
            Ok(())
        })();
        if merged.is_err() {
            if let Ok(mut s) = shared.lock() {
                s.abort = true;
            }
            worker_cv.notify_all();
        }
        merged
    })
}

/// A file's last task is merged: its manifest row count checked, its report added.
fn complete(o: &Opened, state: &mut FileState, report: &mut super::LoadReport) -> Result<()> {
    // Test builds only: how many chunks had to be read again (a quoted field held the line break a chunk started at).
    #[cfg(debug_assertions)]
    if state.chunks > 0 && std::env::var_os("MLSPEND_DEBUG_CHUNKS").is_some() {
        eprintln!("chunks: {}: {} read, {} read twice", o.source().path.display(), state.chunks, state.read_twice);
    }
    match state.report.take() {
        Some(file) => file_read(o.source(), file, report),
        None => Ok(()),
    }
}

/// An error found in a chunk after a file's first names a line relative to the chunk: made the file's.
fn shift_line(e: Error, offset: u64) -> Error {
    match e {
        Error::Read { path, line, detail } if line > 0 => Error::Read { path, line: line + offset, detail },
        e => e,
    }
}
