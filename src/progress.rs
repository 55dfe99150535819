//! Progress on a terminal: rows and bytes read, with their rates, for long ingests.
//!
//! Readers add to two global counters (in batches, so the threads don't contend on every row); a [`Display`] draws
//! them on stderr every 100 ms while it lives, only when stderr is a terminal and `--quiet` was not given, and clears
//! its line when dropped. Nothing else changes: outputs are the same with or without it.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

static ROWS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

pub fn add_rows(n: u64) {
    ROWS.fetch_add(n, Ordering::Relaxed);
}

pub fn add_bytes(n: u64) {
    BYTES.fetch_add(n, Ordering::Relaxed);
}

/// Counts the bytes read from a file into the progress display.
pub struct Counting<R> {
    pub inner: R,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        add_bytes(n as u64);
        Ok(n)
    }
}

/// The progress line; drawn by a thread of its own until dropped.
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Starts drawing, unless `quiet` or stderr is not a terminal. `total_bytes` is the size of the input files.
    pub fn start(total_bytes: u64, quiet: bool) -> Display {
        use std::io::IsTerminal;
        ROWS.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        if quiet || !std::io::stderr().is_terminal() {
            return Display { stop, thread: None };
        }
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(total_bytes.max(1));
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) {msg} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            let started = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let rows = ROWS.load(Ordering::Relaxed);
                bar.set_position(BYTES.load(Ordering::Relaxed).min(total_bytes));
                let secs = started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{rows} rows, {:.2} M rows/s", rows as f64 / secs / 1e6));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Display { stop, thread: Some(thread) }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
