//! Helpers shared by the integration tests.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The built `mlspend` binary, run from the repository root. `MLSPEND_BIN` names another binary instead (an older
/// build, to see which tests fail on it).
pub fn mlspend() -> Command {
    let mut cmd = match std::env::var_os("MLSPEND_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::cargo_bin("mlspend").expect("the mlspend binary is built"),
    };
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// A real Azure export sample from `../shared/data/real/`.
pub fn real(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real").join(name);
    assert!(p.is_file(), "missing real sample {}", p.display());
    p
}

/// Runs `mlspend check --json` and parses its output; panics with stderr when it fails.
pub fn check_json(args: &[&Path]) -> Value {
    let mut cmd = mlspend();
    cmd.arg("check").arg("--json").args(args);
    let out = cmd.output().expect("mlspend runs");
    assert!(out.status.success(), "check failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("check --json prints JSON")
}

/// Runs `mlspend generate` with the given extra arguments.
pub fn generate(out: &Path, extra: &[&str]) {
    let mut cmd = mlspend();
    cmd.arg("generate").arg("--out").arg(out).args(extra);
    cmd.assert().success();
}

/// Stdout, stderr and exit code of a command.
pub fn run(cmd: &mut Command) -> (String, String, i32) {
    let out = cmd.output().expect("mlspend runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Every file below `root`, as paths relative to it, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The `x_SourceLine` column of an `allocated.parquet`, row by row.
pub fn source_lines(parquet_file: &Path) -> Vec<u64> {
    use arrow_array::cast::AsArray;
    let file = std::fs::File::open(parquet_file).unwrap();
    let mut lines = Vec::new();
    for batch in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap()
    {
        let batch = batch.unwrap();
        let col = batch.column(batch.schema().index_of("x_SourceLine").unwrap()).clone();
        lines.extend(col.as_primitive::<arrow_array::types::UInt64Type>().values().iter().copied());
    }
    lines
}

/// The given text columns of a Parquet file, row by row.
pub fn string_columns<const N: usize>(parquet_file: &Path, names: &[&str; N]) -> Vec<[String; N]> {
    use arrow_array::cast::AsArray;
    let file = std::fs::File::open(parquet_file).unwrap();
    let mut rows = Vec::new();
    for batch in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap()
    {
        let batch = batch.unwrap();
        for r in 0..batch.num_rows() {
            rows.push(
                names
                    .map(|n| batch.column(batch.schema().index_of(n).unwrap()).as_string::<i32>().value(r).to_string()),
            );
        }
    }
    rows
}

/// The bundled sample's configuration as text, with its usage file's path made absolute: to write it elsewhere.
pub fn sample_config() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let usage = root.join("data/aml-usage.csv");
    std::fs::read_to_string(root.join("data/sample.toml"))
        .unwrap()
        .replace("usage = \"aml-usage.csv\"", &format!("usage = \"{}\"", usage.display()))
}
