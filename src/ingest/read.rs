//! Readers for one file: CSV (plain or gzip) and Parquet, each record mapped through the file's [`ColumnMap`].

use super::{FileReport, Format, LoadReport, Options, Reject, Source};
use crate::error::{Error, Result};
use crate::layout::{ColumnMap, Layout, RowError};
use crate::schema::{Basis, CostBasis, CostRow};
use std::fs::File;
use std::io::{BufReader, Read};

fn duplicate_warning(source: &Source, map: &ColumnMap, report: &mut LoadReport) {
    if !map.duplicates.is_empty() {
        report.warnings.push(format!(
            "{}: the header names {} more than once (columns mlspend does not read; ignored)",
            source.path.display(),
            map.duplicates.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
        ));
    }
}

/// Decides what a file's single cost column holds.
fn basis_for(source: &Source, layout: Layout, options: &Options, report: &mut LoadReport) -> Basis {
    if layout == Layout::Focus {
        return Basis::Both;
    }
    let name = |b: Basis| if b == Basis::Actual { "actual" } else { "amortized" };
    if layout == Layout::Payg {
        // Legacy pay-as-you-go usage files hold pre-tax billed cost: actual cost, whatever else is said.
        if let Some(said) = source.basis_hint.filter(|b| *b == Basis::Amortized) {
            report.warnings.push(format!(
                "{}: its name says {} but a legacy pay-as-you-go file holds actual cost; read as actual",
                source.path.display(),
                name(said)
            ));
        }
        return Basis::Actual;
    }
    match (source.basis_hint, options.export_type) {
        (Some(b), Some(flag)) => {
            let flag = if flag == CostBasis::Actual { Basis::Actual } else { Basis::Amortized };
            if flag != b {
                let by = if source.manifest.is_some() { "its manifest" } else { "its name" };
                report.warnings.push(format!(
                    "{}: --export-type {} disagrees with {by}, which says {}; read as {} ({by} wins; \
                     --export-type applies only where nothing else says)",
                    source.path.display(),
                    name(flag),
                    name(b),
                    name(b)
                ));
            }
            b
        }
        (Some(b), None) => b,
        (None, Some(CostBasis::Actual)) => Basis::Actual,
        (None, Some(CostBasis::Amortized)) => Basis::Amortized,
        (None, None) => {
            report.warnings.push(format!(
                "{}: nothing says whether its costs are actual or amortized (no manifest, file name, or --export-type); \
                 they serve whichever basis is asked for",
                source.path.display()
            ));
            Basis::Unlabelled
        }
    }
}

pub(super) fn read_source(
    source: &Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<FileReport> {
    match source.format {
        Format::Csv | Format::CsvGz => read_csv(source, index, options, report, sink),
        Format::Parquet => read_parquet(source, index, options, report, sink),
    }
}

/// Opens a CSV file for reading from its start, inflating a `.csv.gz` file on a thread of its own when `pipelined`
/// (there are cores to spare), else on the reading thread.
fn open(source: &Source, pipelined: bool) -> Result<Box<dyn Read + Send>> {
    let file = crate::progress::Counting { inner: File::open(&source.path).map_err(|e| Error::io(&source.path, e))? };
    // The CSV reader buffers what it reads (1 MiB): a plain file and the inflated stream are read straight into it,
    // with no second buffer to copy through.
    Ok(match source.format {
        Format::CsvGz if pipelined => {
            Box::new(Pipelined::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file))))
        }
        Format::CsvGz => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file))),
        _ => Box::new(file),
    })
}

/// Reads from `inner` on a thread of its own, a few MiB ahead of the consumer: gzip inflates on one core while
/// the CSV is parsed on another (one gzip stream can't be inflated in parallel).
struct Pipelined {
    chunks: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Pipelined {
    fn new<R: Read + Send + 'static>(mut inner: R) -> Pipelined {
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; 1 << 20];
            let mut filled = 0;
            // Fill the buffer (or reach the end) before handing it over.
            let result = loop {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == buf.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            buf.truncate(filled);
            let end = filled == 0;
            let message = match result {
                Ok(()) => Ok(buf),
                Err(e) => Err(e),
            };
            let failed = message.is_err();
            // A closed receiver means the reader was dropped: stop.
            if tx.send(message).is_err() || end || failed {
                return;
            }
        });
        Pipelined { chunks: rx, current: Vec::new(), pos: 0, done: false }
    }
}

impl Read for Pipelined {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(buf)) if buf.is_empty() => self.done = true,
                Ok(Ok(buf)) => {
                    self.current = buf;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => self.done = true,
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn new_report(source: &Source, map: &ColumnMap, basis: Basis) -> FileReport {
    FileReport {
        path: source.path.display().to_string(),
        input: source.input,
        format: source.format,
        layout: map.layout,
        variant: map.variant,
        basis,
        rows: 0,
        rejected: 0,
        superseded: 0,
    }
}

/// What every record of one CSV file is read with.
pub(super) struct CsvContext<'a> {
    source: &'a Source,
    index: u32,
    map: ColumnMap,
    names: Vec<String>,
    basis: Basis,
    terminator: Terminator,
}

/// How a CSV file ends its lines, sniffed from its first line. A file whose lines end in `\n` (LF, CRLF, or a mix of
/// both) is read with `\n` as the only record terminator: a record then starts right after a `\n`, so its byte offset
/// and line number are exact (the csv crate's CRLF mode places a record's start before the `\n` of the pair, which
/// made CRLF line numbers one too low and chunk starts never match), and the `\r` before it stays at the end of the
/// last field, where every value is trimmed anyway. A CR-only file is read with `\r` as the terminator and numbered
/// by records.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Terminator {
    /// Lines end in `\n` (LF, CRLF, or both).
    Lf,
    /// Lines end in `\r` alone.
    Cr,
}

impl Terminator {
    /// Reads the first line of the (decompressed) file: the first `\r` or `\n` outside quotes decides.
    fn sniff(source: &Source) -> Result<Terminator> {
        let mut head = Vec::with_capacity(64 << 10);
        let reader = open(source, false)?;
        // A read error (a truncated gzip) is the reader's to report, with its line: sniff what could be read.
        let _ = reader.take(256 << 10).read_to_end(&mut head);
        let mut quoted = false;
        for (i, &b) in head.iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b'\n' if !quoted => return Ok(Terminator::Lf),
                b'\r' if !quoted => {
                    return Ok(match head.get(i + 1) {
                        Some(b'\n') | None => Terminator::Lf,
                        Some(_) => Terminator::Cr,
                    })
                }
                _ => {}
            }
        }
        Ok(Terminator::Lf)
    }

    /// Where a record really starts (bytes from the reader's start) and its 1-based line relative to the reader,
    /// from the csv crate's position of it. A reader always starts at the start of a line.
    fn start(self, pos: &csv::Position) -> (u64, u64) {
        match self {
            Terminator::Lf => (pos.byte(), pos.line()),
            // No `\n` to count: a record is a line (a quoted field holding a line break is counted as one line).
            Terminator::Cr => (pos.byte(), pos.record() + 1),
        }
    }

    fn byte(self) -> u8 {
        match self {
            Terminator::Lf => b'\n',
            Terminator::Cr => b'\r',
        }
    }

    fn csv(self) -> csv::Terminator {
        csv::Terminator::Any(self.byte())
    }
}

/// The longest record (one row, all its fields) mlspend reads: 64 MiB. Real rows are a few KiB; past this bound a
/// file is corrupt or hostile, and the read stops with an error instead of growing memory with the record.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The record-length bound, as an I/O error's payload.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a record longer than {} MiB", MAX_RECORD_BYTES >> 20)
    }
}

impl std::error::Error for RecordTooLong {}

/// A reader that refuses to hand out more than [`MAX_RECORD_BYTES`] past the start of the record being read, so
/// that one endless field (a 3 MB gzip that inflates to a 3 GiB cell) can't grow the CSV reader's buffers.
pub(super) struct Bounded<R> {
    inner: R,
    delivered: u64,
    /// Where the record being read starts, in bytes from this reader's start (set before each record).
    record_start: u64,
}

impl<R> Bounded<R> {
    fn new(inner: R) -> Bounded<R> {
        Bounded { inner, delivered: 0, record_start: 0 }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.delivered.saturating_sub(self.record_start) > MAX_RECORD_BYTES {
            return Err(std::io::Error::other(RecordTooLong));
        }
        let n = self.inner.read(out)?;
        self.delivered += n as u64;
        Ok(n)
    }
}

fn read_error(source: &Source, line: u64, e: csv::Error) -> Error {
    let too_long = matches!(e.kind(), csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|i| i.is::<RecordTooLong>()));
    if too_long {
        return Error::Read {
            path: source.path.clone(),
            line,
            detail: format!(
                "a record longer than {} MiB (an unclosed quote, or a corrupt file); no real export row is this long: \
                 re-download the file",
                MAX_RECORD_BYTES >> 20
            ),
        };
    }
    let detail = match e.kind() {
        csv::ErrorKind::Io(io) if source.format == Format::CsvGz => {
            format!("the gzip stream is truncated or corrupt ({io}); re-download the file")
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    };
    Error::Read { path: source.path.clone(), line, detail }
}

/// A row whose value no row may hold: the run stops, naming the file, line and column.
fn fatal_row(source: &Source, line: u64, e: RowError) -> Error {
    Error::Read {
        path: source.path.clone(),
        line,
        detail: format!("column {}: {}; the export is corrupt, re-download it", e.column, e.reason),
    }
}

/// The CSV reader's buffer when reading a file's rows: 1 MiB (the file is read straight into it).
const READ_BUFFER: usize = 1 << 20;
/// The buffer when only the header is read, before the rows are.
const HEADER_BUFFER: usize = 64 << 10;

fn csv_builder(terminator: Terminator, buffer: usize) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false).flexible(true).buffer_capacity(buffer).terminator(terminator.csv());
    b
}

/// Where a run of records stopped: the byte offset (from the reader's start) and relative line of the first record
/// not read, and what was read.
struct Stop {
    byte: u64,
    line: u64,
}

/// Reads records until EOF or until a record starts at or after `stop_at` (bytes from the reader's start, which is
/// `base` in the file). Line numbers given to rows and rejects are the reader's own plus `line_offset`.
#[allow(clippy::too_many_arguments)]
fn read_records<R: Read>(
    ctx: &CsvContext,
    reader: &mut csv::Reader<Bounded<R>>,
    stop_at: u64,
    line_offset: u64,
    file: &mut FileReport,
    rejects: &mut Vec<Reject>,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<Stop> {
    let mut record = csv::ByteRecord::new();
    let mut caches = crate::layout::RowCaches::default();
    let mut unreported = 0u64;
    loop {
        if unreported == 8192 {
            crate::progress::add_rows(unreported);
            unreported = 0;
        }
        unreported += 1;
        let before = reader.position().clone();
        reader.get_mut().record_start = before.byte();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                crate::progress::add_rows(unreported - 1);
                let (byte, line) = ctx.terminator.start(&before);
                return Ok(Stop { byte, line });
            }
            // The line the failing record starts on.
            Err(e) => return Err(read_error(ctx.source, line_offset + ctx.terminator.start(&before).1, e)),
        }
        let pos = record.position().cloned().unwrap_or(before);
        let (start, relative_line) = ctx.terminator.start(&pos);
        if start >= stop_at {
            crate::progress::add_rows(unreported - 1);
            return Ok(Stop { byte: start, line: relative_line });
        }
        let line = relative_line + line_offset;
        // A blank line (`\r` alone, in a CRLF file) is no row, as an empty LF line is none.
        if record.len() == 1 && record[0].iter().all(|b| *b == b'\r' || *b == b' ') {
            continue;
        }
        file.rows += 1;
        let mut reject = |e: RowError| {
            file.rejected += 1;
            rejects.push(Reject { file: file.path.clone(), line, column: e.column, reason: e.reason });
        };
        if record.len() != ctx.map.width {
            reject(RowError {
                column: String::new(),
                reason: format!("expected {} fields, found {}", ctx.map.width, record.len()),
                fatal: false,
            });
            continue;
        }
        let text = match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
            Ok(t) => t,
            Err(e) => {
                let field = e.utf8_error().field();
                record = e.into_byte_record();
                let name = ctx.names.get(field).cloned().unwrap_or_default();
                reject(RowError { column: name, reason: "not valid UTF-8".into(), fatal: false });
                continue;
            }
        };
        let get = |i: usize| text.get(i).unwrap_or("");
        match ctx.map.map(&get, ctx.basis, ctx.index, line, &mut caches) {
            Ok(row) if ctx.source.is_superseded(row.run_day()) => file.superseded += 1,
            Ok(row) => sink(&row),
            Err(e) if e.fatal => return Err(fatal_row(ctx.source, line, e)),
            Err(e) => reject(e),
        }
        record = text.into_byte_record();
    }
}

/// A CSV reader over a whole file (plain or inflated), bounded per record.
type CsvReader = csv::Reader<Bounded<Box<dyn Read + Send>>>;

/// Opens a CSV file from its start and reads its header record; `rows`: the rows will be read next (a full buffer,
/// a `.csv.gz` inflated ahead when `pipelined`), else only the header is wanted.
fn csv_with_header(
    source: &Source,
    terminator: Terminator,
    rows: bool,
    pipelined: bool,
) -> Result<(CsvReader, csv::ByteRecord)> {
    let buffer = if rows { READ_BUFFER } else { HEADER_BUFFER };
    let mut reader = csv_builder(terminator, buffer).from_reader(Bounded::new(open(source, rows && pipelined)?));
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(|e| read_error(source, 1, e))? {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    Ok((reader, record))
}

/// Opens a CSV file, reads its header and detects its layout; `rows`: its rows will be read from the reader returned.
fn open_csv<'a>(
    source: &'a Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    rows: bool,
) -> Result<(CsvContext<'a>, CsvReader)> {
    let terminator = Terminator::sniff(source)?;
    let (reader, record) = csv_with_header(source, terminator, rows, true)?;
    let header = csv::StringRecord::from_byte_record(record).map_err(|_| Error::Read {
        path: source.path.clone(),
        line: 1,
        detail: "the header row is not valid UTF-8; save the export as UTF-8".into(),
    })?;
    // The `\r` of a CRLF header stays on its last name (records end at `\n`): trimmed here.
    let names: Vec<String> = header.iter().map(|n| n.trim_end_matches('\r').to_string()).collect();
    if names.iter().all(|n| n.trim_start_matches('\u{feff}').trim().is_empty()) {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let map = ColumnMap::detect(&refs).map_err(|e| Error::Header { path: source.path.clone(), source: e })?;
    let basis = basis_for(source, map.layout, options, report);
    duplicate_warning(source, &map, report);
    Ok((CsvContext { source, index, map, names, basis, terminator }, reader))
}

fn read_csv(
    source: &Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<FileReport> {
    let (ctx, mut reader) = open_csv(source, index, options, report, true)?;
    let mut file = new_report(source, &ctx.map, ctx.basis);
    let mut rejects = Vec::new();
    read_records(&ctx, &mut reader, u64::MAX, 0, &mut file, &mut rejects, sink)?;
    report.rejects.extend(rejects);
    Ok(file)
}

/// Uncompressed CSV files are read in chunks of 64 MiB, in parallel. Fixed, not derived from the number of cores,
/// so that every machine cuts a file alike and the outputs stay byte-identical. The tests set `MLSPEND_CHUNK_BYTES`
/// to cut small files into many chunks.
pub(super) fn chunk_bytes() -> u64 {
    std::env::var("MLSPEND_CHUNK_BYTES").ok().and_then(|v| v.parse::<u64>().ok()).filter(|&b| b > 0).unwrap_or(64 << 20)
}

/// What one task read: a chunk of a CSV file, a whole `.csv.gz` file, or a run of a Parquet file's row groups.
pub(super) struct Piece<S> {
    pub sink: S,
    /// Where the first record it did not read starts (bytes in the file).
    pub end: u64,
    /// Relative line of that first unread record: the piece covered `end_line - 1` lines.
    pub end_line: u64,
    pub rows: u64,
    pub rejected: u64,
    pub superseded: u64,
    /// Line numbers relative to the piece's start (chunks after a file's first), else the file's own.
    pub rejects: Vec<Reject>,
}

/// A file opened once before reading: its header read, its layout detected, its warnings given.
pub(super) enum Opened<'a> {
    Csv {
        ctx: CsvContext<'a>,
        /// Where the first record after the header starts, and the lines the header took.
        header_end: u64,
        header_lines: u64,
        len: u64,
    },
    Parquet(ParquetContext<'a>),
}

/// One unit of reading work.
pub(super) enum Task {
    /// Chunk `k` of an uncompressed CSV file: records starting in `lo..hi` (chunk 0 starts after the header).
    Chunk { file: usize, k: usize, lo: u64, hi: u64 },
    /// A whole `.csv.gz` file (one gzip stream can't be split).
    Whole { file: usize },
    /// Consecutive row groups of a Parquet file, whose first row is `first_row` + 1.
    Groups { file: usize, groups: Vec<usize>, first_row: u64 },
}

impl Task {
    pub fn file(&self) -> usize {
        match self {
            Task::Chunk { file, .. } | Task::Whole { file } | Task::Groups { file, .. } => *file,
        }
    }
}

impl<'a> Opened<'a> {
    /// Opens source `index`: reads its header (CSV) or footer (Parquet), detects the layout, decides the basis.
    pub fn open(source: &'a Source, index: u32, options: &Options, report: &mut LoadReport) -> Result<Opened<'a>> {
        if source.format == Format::Parquet {
            return Ok(Opened::Parquet(open_parquet(source, index, options, report)?));
        }
        let (ctx, reader) = open_csv(source, index, options, report, false)?;
        let (header_end, after_header) = ctx.terminator.start(reader.position());
        let len = std::fs::metadata(&source.path).map_err(|e| Error::io(&source.path, e))?.len();
        Ok(Opened::Csv { ctx, header_end, header_lines: after_header - 1, len })
    }

    /// The lines before the first record (the header's; none in Parquet).
    pub fn header_lines(&self) -> u64 {
        match self {
            Opened::Csv { header_lines, .. } => *header_lines,
            Opened::Parquet(_) => 0,
        }
    }

    pub fn source(&self) -> &'a Source {
        match self {
            Opened::Csv { ctx, .. } => ctx.source,
            Opened::Parquet(ctx) => ctx.source,
        }
    }

    /// An empty report of this file.
    pub fn report(&self) -> FileReport {
        match self {
            Opened::Csv { ctx, .. } => new_report(ctx.source, &ctx.map, ctx.basis),
            Opened::Parquet(ctx) => new_report(ctx.source, &ctx.map, ctx.basis),
        }
    }

    /// The file's tasks, in order: how a file is cut depends only on its size (CSV) or its metadata (Parquet).
    pub fn tasks(&self, file: usize, out: &mut Vec<Task>) {
        match self {
            Opened::Csv { ctx, .. } if ctx.source.format == Format::CsvGz => out.push(Task::Whole { file }),
            Opened::Csv { len, .. } => {
                let size = chunk_bytes();
                let chunks = len.div_ceil(size).max(1);
                out.extend((0..chunks).map(|k| Task::Chunk {
                    file,
                    k: k as usize,
                    lo: k * size,
                    hi: if k + 1 == chunks { u64::MAX } else { (k + 1) * size },
                }));
            }
            Opened::Parquet(ctx) => {
                // Consecutive row groups are read together until a part holds 64 Ki rows: a file of many tiny
                // groups becomes a few tasks, not thousands.
                let mut first_row = 0u64;
                let mut rows_in_last = u64::MAX;
                for (g, &n) in ctx.groups.iter().enumerate() {
                    if rows_in_last >= 64 * 1024 {
                        out.push(Task::Groups { file, groups: Vec::new(), first_row });
                        rows_in_last = 0;
                    }
                    if let Some(Task::Groups { groups, .. }) = out.last_mut() {
                        groups.push(g);
                    }
                    rows_in_last += n;
                    first_row += n;
                }
            }
        }
    }

    /// Runs one of this file's tasks into `sink`. Returns where the piece guessed it starts (chunks after the first
    /// guess it from the next line break, to be checked against the previous chunk's true end) and what it read.
    pub fn run<S: super::RowSink>(&self, task: &Task, sink: S, pipelined: bool) -> (u64, Result<Piece<S>>) {
        match (self, task) {
            (Opened::Csv { ctx, header_end, header_lines, .. }, Task::Chunk { k: 0, hi, .. }) => {
                (*header_end, parse_chunk(ctx, *header_end, *hi, Some(*header_lines), sink))
            }
            (Opened::Csv { ctx, .. }, Task::Chunk { lo, hi, .. }) => {
                match next_record_start(&ctx.source.path, *lo, ctx.terminator.byte()) {
                    Ok(start) => (start, parse_chunk(ctx, start, *hi, None, sink)),
                    Err(e) => (u64::MAX, Err(Error::io(&ctx.source.path, e))),
                }
            }
            (Opened::Csv { ctx, .. }, Task::Whole { .. }) => (0, read_whole(ctx, pipelined, sink)),
            (Opened::Parquet(ctx), Task::Groups { groups, first_row, .. }) => {
                let mut sink = sink;
                let mut file = new_report(ctx.source, &ctx.map, ctx.basis);
                let mut rejects = Vec::new();
                let read =
                    read_row_groups(ctx, Some(groups.clone()), *first_row, &mut file, &mut rejects, &mut |row| {
                        sink.row(row)
                    });
                // Progress in bytes: the row groups' share of the file.
                let meta = ctx.metadata.metadata();
                crate::progress::add_bytes(
                    groups.iter().map(|&g| meta.row_group(g).compressed_size().max(0) as u64).sum(),
                );
                let piece = read.map(|()| Piece {
                    sink,
                    end: 0,
                    end_line: 0,
                    rows: file.rows,
                    rejected: file.rejected,
                    superseded: file.superseded,
                    rejects,
                });
                (0, piece)
            }
            _ => (0, Err(Error::Read { path: self.source().path.clone(), line: 0, detail: "no such task".into() })),
        }
    }

    /// Reads chunk `task` again from `start`, the true end of the chunk before (a quoted field held the line break
    /// the chunk's guess started at).
    pub fn reread<S: super::RowSink>(&self, task: &Task, start: u64, sink: S) -> Result<Piece<S>> {
        match (self, task) {
            (Opened::Csv { ctx, .. }, Task::Chunk { hi, .. }) => parse_chunk(ctx, start, (*hi).max(start), None, sink),
            _ => Err(Error::Read { path: self.source().path.clone(), line: 0, detail: "no such chunk".into() }),
        }
    }
}

/// A whole `.csv.gz` file into one sink; its rows carry the file's line numbers.
fn read_whole<S: super::RowSink>(ctx: &CsvContext, pipelined: bool, mut sink: S) -> Result<Piece<S>> {
    let (mut reader, _) = csv_with_header(ctx.source, ctx.terminator, true, pipelined)?;
    let mut file = new_report(ctx.source, &ctx.map, ctx.basis);
    let mut rejects = Vec::new();
    let stop = read_records(ctx, &mut reader, u64::MAX, 0, &mut file, &mut rejects, &mut |row| sink.row(row))?;
    Ok(Piece {
        sink,
        end: stop.byte,
        end_line: stop.line,
        rows: file.rows,
        rejected: file.rejected,
        superseded: file.superseded,
        rejects,
    })
}

/// The first record boundary at or after `at`, assuming the line break before it (`terminator`) is not inside a
/// quoted field (the assumption is checked against the previous chunk's true end).
fn next_record_start(path: &std::path::Path, at: u64, terminator: u8) -> std::io::Result<u64> {
    use std::io::{BufRead, Seek, SeekFrom};
    if at == 0 {
        return Ok(0);
    }
    let mut f = BufReader::with_capacity(64 << 10, File::open(path)?);
    f.seek(SeekFrom::Start(at - 1))?;
    let mut skipped = Vec::new();
    let n = f.read_until(terminator, &mut skipped)?;
    Ok(at - 1 + n as u64)
}

fn parse_chunk<S: super::RowSink>(
    ctx: &CsvContext,
    start: u64,
    stop_at: u64,
    absolute_lines: Option<u64>,
    mut sink: S,
) -> Result<Piece<S>> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(&ctx.source.path).map_err(|e| Error::io(&ctx.source.path, e))?;
    f.seek(SeekFrom::Start(start)).map_err(|e| Error::io(&ctx.source.path, e))?;
    let mut reader =
        csv_builder(ctx.terminator, READ_BUFFER).from_reader(Bounded::new(crate::progress::Counting { inner: f }));
    let mut file = new_report(ctx.source, &ctx.map, ctx.basis);
    let mut rejects = Vec::new();
    let stop = read_records(
        ctx,
        &mut reader,
        stop_at.saturating_sub(start),
        absolute_lines.unwrap_or(0),
        &mut file,
        &mut rejects,
        &mut |row| sink.row(row),
    )?;
    Ok(Piece {
        sink,
        end: start + stop.byte,
        end_line: stop.line,
        rows: file.rows,
        rejected: file.rejected,
        superseded: file.superseded,
        rejects,
    })
}

/// A Parquet file's layout and the columns to read.
pub(super) struct ParquetContext<'a> {
    source: &'a Source,
    index: u32,
    map: ColumnMap,
    names: Vec<String>,
    used: Vec<usize>,
    basis: Basis,
    /// Rows in each row group.
    groups: Vec<u64>,
    /// The footer, parsed once: each part's reader reuses it (a file of thousands of row groups is read in time
    /// linear in their number, not re-parsing the footer per group).
    metadata: parquet::arrow::arrow_reader::ArrowReaderMetadata,
}

fn perr(source: &Source, detail: String) -> Error {
    Error::Parquet { path: source.path.clone(), detail }
}

fn open_parquet<'a>(
    source: &'a Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
) -> Result<ParquetContext<'a>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let f = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    let metadata = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(&f, Default::default())
        .map_err(|e| perr(source, format!("not a readable Parquet file ({e}); re-download it")))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone());
    let names: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let name_refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let map = ColumnMap::detect(&name_refs).map_err(|e| Error::Header { path: source.path.clone(), source: e })?;
    let used = map.used_columns();
    let groups = builder.metadata().row_groups().iter().map(|g| g.num_rows().max(0) as u64).collect();
    let basis = basis_for(source, map.layout, options, report);
    duplicate_warning(source, &map, report);
    Ok(ParquetContext { source, index, map, names, used, basis, groups, metadata })
}

/// Reads the given row groups (all when `None`); rows are numbered from `first_row` + 1.
fn read_row_groups(
    ctx: &ParquetContext,
    groups: Option<Vec<usize>>,
    first_row: u64,
    file: &mut FileReport,
    rejects: &mut Vec<Reject>,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<()> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let source = ctx.source;
    let f = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, ctx.metadata.clone());
    let mask = ProjectionMask::roots(builder.parquet_schema(), ctx.used.iter().copied());
    // Record batches of 4 Ki rows: the batch's text columns are most of the memory a Parquet read takes (batches of
    // 16 Ki rows peaked at 34 MiB of heap on 10M rows, of 4 Ki at 15 MiB, and ran no slower).
    builder = builder.with_projection(mask).with_batch_size(4 * 1024);
    if let Some(g) = groups {
        builder = builder.with_row_groups(g);
    }
    let reader = builder.build().map_err(|e| perr(source, e.to_string()))?;
    let mut row_number = first_row;
    let mut caches = crate::layout::RowCaches::default();
    for batch in reader {
        let batch = batch.map_err(|e| perr(source, format!("row {}: {e}", row_number + 1)))?;
        crate::progress::add_rows(batch.num_rows() as u64);
        let mut columns: Vec<Option<arrow_array::ArrayRef>> = vec![None; ctx.map.width];
        // A numeric quantity stays numeric: most rows never need its text (a measured 10% of a Parquet read).
        let mut quantity: Option<arrow_array::Float64Array> = None;
        for (j, &col) in ctx.used.iter().enumerate() {
            let numeric = batch.column(j).data_type().is_numeric();
            if Some(col) == ctx.map.quantity_column() && numeric {
                let cast = arrow_cast::cast(batch.column(j), &arrow_schema::DataType::Float64)
                    .map_err(|e| perr(source, format!("column `{}` can't be read as a number: {e}", ctx.names[col])))?;
                quantity = Some(cast.as_primitive::<arrow_array::types::Float64Type>().clone());
                continue;
            }
            let cast = arrow_cast::cast(batch.column(j), &arrow_schema::DataType::Utf8)
                .map_err(|e| perr(source, format!("column `{}` can't be read as text: {e}", ctx.names[col])))?;
            columns[col] = Some(cast);
        }
        let strings: Vec<Option<&arrow_array::StringArray>> =
            columns.iter().map(|c| c.as_ref().map(|a| a.as_string::<i32>())).collect();
        for r in 0..batch.num_rows() {
            row_number += 1;
            file.rows += 1;
            let get = |i: usize| match strings.get(i).copied().flatten() {
                Some(a) if !a.is_null(r) => a.value(r),
                _ => "",
            };
            match ctx.map.map(&get, ctx.basis, ctx.index, row_number, &mut caches) {
                Ok(row) if source.is_superseded(row.run_day()) => file.superseded += 1,
                Ok(mut row) => {
                    if let Some(q) = quantity.as_ref().filter(|q| !q.is_null(r)) {
                        row.quantity_value = Some(q.value(r));
                    }
                    sink(&row)
                }
                Err(e) if e.fatal => return Err(fatal_row(source, row_number, e)),
                Err(e) => {
                    file.rejected += 1;
                    rejects.push(Reject {
                        file: file.path.clone(),
                        line: row_number,
                        column: e.column,
                        reason: e.reason,
                    });
                }
            }
        }
    }
    Ok(())
}

fn read_parquet(
    source: &Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<FileReport> {
    let ctx = open_parquet(source, index, options, report)?;
    let mut file = new_report(source, &ctx.map, ctx.basis);
    let mut rejects = Vec::new();
    read_row_groups(&ctx, None, 0, &mut file, &mut rejects, sink)?;
    report.rejects.extend(rejects);
    crate::progress::add_bytes(std::fs::metadata(&source.path).map(|m| m.len()).unwrap_or(0));
    Ok(file)
}
