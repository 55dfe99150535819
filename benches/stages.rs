//! One criterion group per pipeline stage, on a generated EA export, with throughput in rows.
//!
//!     cargo bench --bench stages
//!
//! `ingest` reads and maps every row (of wide LF rows, and of narrow CRLF rows); `attribute` adds the workspace and owner rules; `rollup` adds summing,
//! splitting and rounding; `report` writes a month's pack (CSV, HTML, JSON, charts) from a computed chargeback.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mlspend::attribute::Attributor;
use mlspend::config::Config;
use mlspend::dates::Month;
use mlspend::generate::{self, FileFormat, Spec};
use mlspend::ingest;
use mlspend::layout::Layout;
use mlspend::rollup::Rollup;
use mlspend::schema::CostBasis;
use std::hint::black_box;
use std::path::{Path, PathBuf};

const ROWS: u64 = 50_000;

/// A generated export: wide LF rows (~800 B), or narrow CRLF rows (~400 B), where per-row cost shows most.
fn export(dir: &Path, narrow: bool) -> PathBuf {
    let path = dir.join(if narrow { "narrow-crlf-amortized.csv" } else { "ea-amortized.csv" });
    let spec = Spec {
        seed: 42,
        rows: ROWS,
        months: 1,
        start: Month::parse("2026-09").expect("a month"),
        layout: Layout::Ea,
        format: FileFormat::Csv,
        manifest: false,
        export_type: CostBasis::Amortized,
        crlf: narrow,
        parts: 0,
        narrow,
        late_fraction: 0.0,
        usage_file: None,
        unused_capacity: true,
        estate: None,
    };
    generate::write(&spec, &path).expect("the export is written");
    path
}

fn config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample.toml");
    Config::load(&path).expect("the sample configuration is valid")
}

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = export(dir.path(), false);
    let plan = ingest::plan(std::slice::from_ref(&path), false).expect("a plan");
    let narrow = export(dir.path(), true);
    let narrow_plan = ingest::plan(std::slice::from_ref(&narrow), false).expect("a plan");
    let options = ingest::Options::default();
    let config = config();

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("ea-csv", |b| {
        b.iter(|| {
            let mut n = 0u64;
            ingest::load(&plan, &options, &mut |row| n += u64::from(row.is_ml)).expect("readable");
            black_box(n)
        })
    });
    group.bench_function("narrow-crlf-csv", |b| {
        b.iter(|| {
            let mut n = 0u64;
            ingest::load(&narrow_plan, &options, &mut |row| n += u64::from(row.is_ml)).expect("readable");
            black_box(n)
        })
    });
    group.finish();

    let attributor = Attributor::new(&config);
    let mut group = c.benchmark_group("attribute");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("ingest+attribute", |b| {
        b.iter(|| {
            let mut n = 0usize;
            ingest::load(&plan, &options, &mut |row| n += attributor.apply(row).workspace.unwrap_or(0))
                .expect("readable");
            black_box(n)
        })
    });
    group.finish();

    let rollup_of = || {
        let mut rollup = Rollup::new();
        ingest::load(&plan, &options, &mut |row| {
            let a = attributor.apply(row);
            let cost = row.cost(CostBasis::Amortized).unwrap_or_default();
            rollup.add(row.month(config.month_by), row, cost, mlspend::rollup::category(row), &a, &config);
        })
        .expect("readable");
        rollup.compute(&config, config.basis)
    };
    let mut group = c.benchmark_group("rollup");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("ingest+attribute+rollup", |b| b.iter(|| black_box(rollup_of().months.len())));
    group.finish();

    let chargeback = rollup_of();
    let month = &chargeback.months[0];
    let info = mlspend::report::RunInfo {
        basis: CostBasis::Amortized,
        config_path: Path::new("data/sample.toml"),
        config: &config,
        inputs: std::slice::from_ref(&path),
        rejects: &[],
        warnings: &[],
        timestamp: None,
        restated: None,
        formats: mlspend::report::allocated::Formats { csv: true, parquet: true, json: true },
    };
    let charts = mlspend::report::charts::build(&config, &chargeback, &[], CostBasis::Amortized);
    let team_files = mlspend::report::safe_file_names(mlspend::report::run_teams(&config, &chargeback));
    let mut group = c.benchmark_group("report");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("month-pack", |b| {
        b.iter(|| {
            black_box(
                mlspend::report::month_files(month, None, (&[], &[]), &charts, &team_files, &info)
                    .expect("written")
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
