//! Azure export manifests (`manifest.json`), both versions: `2021-01-01` (with `dataFormat` and per-blob
//! `headerRowCount`) and `2024-04-01` (with `exportConfig`, `deliveryConfig` and `runInfo`). Every field is optional
//! here except the blob list; what a manifest declares is checked against what was read.

use crate::error::{Error, Result};
use crate::schema::Basis;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub manifest_version: Option<String>,
    pub data_row_count: Option<u64>,
    pub blob_count: Option<u64>,
    #[serde(default)]
    pub export_config: Option<ExportConfig>,
    #[serde(default)]
    pub run_info: Option<RunInfo>,
    #[serde(default)]
    pub blobs: Vec<Blob>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportConfig {
    pub export_name: Option<String>,
    #[serde(rename = "type")]
    pub export_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    pub submitted_time: Option<String>,
    pub run_id: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    pub blob_name: String,
    pub data_row_count: Option<u64>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            detail: format!("not a valid export manifest: {e}"),
        })?;
        if let (Some(count), n) = (manifest.blob_count, manifest.blobs.len()) {
            if count != n as u64 {
                return Err(Error::Manifest {
                    path: path.to_path_buf(),
                    detail: format!(
                        "declares blobCount {count} but lists {n} blobs; the export run is incomplete, re-run it"
                    ),
                });
            }
        }
        Ok(manifest)
    }

    /// The cost basis the export type names (`ActualCost`, `AmortizedCost`, `FocusCost`).
    pub fn basis(&self) -> Option<Basis> {
        let t = self.export_config.as_ref()?.export_type.as_ref()?.to_ascii_lowercase();
        if t.contains("focus") {
            Some(Basis::Both)
        } else if t.contains("amortized") {
            Some(Basis::Amortized)
        } else if t.contains("actual") {
            Some(Basis::Actual)
        } else {
            None
        }
    }

    pub fn submitted_time(&self) -> Option<&str> {
        self.run_info.as_ref()?.submitted_time.as_deref()
    }

    /// Finds a blob on disk below the manifest's folder: the longest tail of its container path that exists.
    /// `Err` for a blob name that could reach outside the folder: a `..` or `.` segment, a backslash, a drive or a
    /// NUL, or a file that resolves (through a link) to somewhere outside it.
    pub fn locate(dir: &Path, blob: &str) -> std::result::Result<Option<PathBuf>, String> {
        let parts: Vec<&str> = blob.split('/').filter(|p| !p.is_empty()).collect();
        let hostile = |p: &&str| *p == ".." || *p == "." || p.contains(['\\', ':', '\0']);
        if parts.iter().any(hostile) {
            return Err(format!(
                "blob {blob:?} names a path outside the export folder; a manifest lists blobs inside its own container"
            ));
        }
        let found = (0..parts.len())
            .map(|skip| parts[skip..].iter().fold(dir.to_path_buf(), |p, s| p.join(s)))
            .find(|p| p.is_file());
        if let Some(f) = &found {
            let inside = match (std::fs::canonicalize(f), std::fs::canonicalize(dir)) {
                (Ok(f), Ok(d)) => f.starts_with(d),
                _ => false,
            };
            if !inside {
                return Err(format!(
                    "blob {blob:?} resolves to {}, outside the export folder {} (a link out); copy the file in instead",
                    f.display(),
                    dir.display()
                ));
            }
        }
        Ok(found)
    }
}
