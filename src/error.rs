//! Errors, each naming what failed and what would fix it, and the exit code each one gives.

use std::path::PathBuf;

/// Exit codes: 0 success, 1 bad data or I/O, 2 usage or configuration, 3 books that don't balance, 4 a team over
/// its budget (`history --fail-if-over`, after the history is written).
pub const EXIT_DATA: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_UNBALANCED: i32 = 3;
pub const EXIT_OVER_BUDGET: i32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: the file is empty; an export file starts with a header row (re-download or remove it)", .0.display())]
    EmptyFile(PathBuf),
    #[error("{}: holds no .csv, .csv.gz or .parquet export files", .0.display())]
    NoExportFiles(PathBuf),
    #[error("{}: line 1: {source}", path.display())]
    Header { path: PathBuf, source: crate::layout::HeaderError },
    #[error("{}: line {line}: {detail}", path.display())]
    Read { path: PathBuf, line: u64, detail: String },
    #[error("{}: {detail}", path.display())]
    Parquet { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Manifest { path: PathBuf, detail: String },
    #[error("{}: {count} row{} rejected under --strict; the first: {first}", path_or_inputs(.path), if *.count == 1 { " was" } else { "s were" })]
    Strict { path: Option<PathBuf>, count: u64, first: String },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("{0}")]
    Busy(String),
    #[error("the books don't balance: {0}")]
    Unbalanced(String),
    #[error("over budget: {0}")]
    OverBudget(String),
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

fn path_or_inputs(p: &Option<PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "input".into())
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Usage(_) => EXIT_USAGE,
            Error::Unbalanced(_) => EXIT_UNBALANCED,
            Error::OverBudget(_) => EXIT_OVER_BUDGET,
            _ => EXIT_DATA,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(path)
        } else {
            Error::Io { path, source }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
