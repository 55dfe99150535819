//! Readers for one file: CSV (plain or gzip) and Parquet, each record mapped through the file's [`ColumnMap`].

use super::{FileReport, Format, LoadReport, Options, Reject, Source};
use crate::error::{Error, Result};
use crate::layout::{ColumnMap, Layout, RowError};
use crate::schema::{Basis, CostBasis, CostRow};
use std::fs::File;
use std::io::{BufReader, Read};

/// Decides what a file's single cost column holds.
fn basis_for(source: &Source, layout: Layout, options: &Options, report: &mut LoadReport) -> Basis {
    if layout == Layout::Focus {
        return Basis::Both;
    }
    match (source.basis_hint, options.export_type) {
        (Some(b), _) => b,
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

fn open(source: &Source) -> Result<Box<dyn Read>> {
    let file = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    let buffered = BufReader::with_capacity(1 << 20, file);
    Ok(match source.format {
        Format::CsvGz => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        _ => Box::new(buffered),
    })
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
    }
}

fn reject(report: &mut LoadReport, file: &mut FileReport, line: u64, e: RowError) {
    file.rejected += 1;
    report.rejects.push(Reject { file: file.path.clone(), line, column: e.column, reason: e.reason });
}

fn read_csv(
    source: &Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<FileReport> {
    let gz = source.format == Format::CsvGz;
    let read_error = |line: u64, e: csv::Error| {
        let detail = match e.kind() {
            csv::ErrorKind::Io(io) if gz => {
                format!("the gzip stream is truncated or corrupt ({io}); re-download the file")
            }
            csv::ErrorKind::Io(io) => io.to_string(),
            _ => e.to_string(),
        };
        Error::Read { path: source.path.clone(), line, detail }
    };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(1 << 18).from_reader(open(source)?);
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(|e| read_error(1, e))? {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    let header = csv::StringRecord::from_byte_record(record.clone()).map_err(|_| Error::Read {
        path: source.path.clone(),
        line: 1,
        detail: "the header row is not valid UTF-8; save the export as UTF-8".into(),
    })?;
    let names: Vec<&str> = header.iter().collect();
    if names.iter().all(|n| n.trim_start_matches('\u{feff}').trim().is_empty()) {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    let map = ColumnMap::detect(&names).map_err(|e| Error::Header { path: source.path.clone(), source: e })?;
    let basis = basis_for(source, map.layout, options, report);
    let mut file = new_report(source, &map, basis);
    let mut last_line = 1;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(last_line + 1, e)),
        }
        let line = record.position().map(|p| p.line()).unwrap_or(last_line + 1);
        last_line = line;
        file.rows += 1;
        if record.len() != map.width {
            let e = RowError {
                column: String::new(),
                reason: format!("expected {} fields, found {}", map.width, record.len()),
            };
            reject(report, &mut file, line, e);
            continue;
        }
        let text = match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
            Ok(t) => t,
            Err(e) => {
                let field = e.utf8_error().field();
                record = e.into_byte_record();
                let name = names.get(field).map(|n| n.to_string()).unwrap_or_default();
                reject(report, &mut file, line, RowError { column: name, reason: "not valid UTF-8".into() });
                continue;
            }
        };
        let get = |i: usize| text.get(i).unwrap_or("");
        match map.map(&get, basis, index, line) {
            Ok(row) => sink(&row),
            Err(e) => reject(report, &mut file, line, e),
        }
        record = text.into_byte_record();
    }
    Ok(file)
}

fn read_parquet(
    source: &Source,
    index: u32,
    options: &Options,
    report: &mut LoadReport,
    sink: &mut dyn FnMut(&CostRow),
) -> Result<FileReport> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let perr = |detail: String| Error::Parquet { path: source.path.clone(), detail };
    let f = File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(Error::EmptyFile(source.path.clone()));
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| perr(format!("not a readable Parquet file ({e}); re-download it")))?;
    let names: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let name_refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let map = ColumnMap::detect(&name_refs).map_err(|e| Error::Header { path: source.path.clone(), source: e })?;
    let used = map.used_columns();
    let mask = ProjectionMask::roots(builder.parquet_schema(), used.iter().copied());
    let reader = builder.with_projection(mask).with_batch_size(16 * 1024).build().map_err(|e| perr(e.to_string()))?;
    let basis = basis_for(source, map.layout, options, report);
    let mut file = new_report(source, &map, basis);
    let mut row_number = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| perr(format!("row {}: {e}", row_number + 1)))?;
        let mut columns: Vec<Option<arrow_array::ArrayRef>> = vec![None; map.width];
        for (j, &col) in used.iter().enumerate() {
            let cast = arrow_cast::cast(batch.column(j), &arrow_schema::DataType::Utf8)
                .map_err(|e| perr(format!("column `{}` can't be read as text: {e}", names[col])))?;
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
            match map.map(&get, basis, index, row_number) {
                Ok(row) => sink(&row),
                Err(e) => reject(report, &mut file, row_number, e),
            }
        }
    }
    Ok(file)
}
