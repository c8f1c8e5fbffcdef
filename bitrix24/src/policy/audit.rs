//! The audit trail: one JSON line per call.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use super::PolicyError;

/// One audit row. It holds parameter *keys* only: never a parameter value, a token or a
/// webhook code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRow {
    /// Unix time, seconds.
    pub ts: u64,
    /// A random id of this call.
    pub request_id: String,
    /// The portal.
    pub tenant: String,
    /// The method.
    pub method: String,
    /// Its risk (`read`, `write`, `destructive`; empty when the name was invalid).
    pub risk: String,
    /// `allowed`, `refused` or `planned`.
    pub decision: String,
    /// `ok`, `error`, `idempotent_replay`, `refused` or `planned`.
    pub status: String,
    /// The portal's error code, or the refusal's code ([`PolicyError::code`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    /// Milliseconds from the start of the call.
    pub duration_ms: u64,
    /// The top-level parameter keys, sorted.
    pub param_keys: Vec<String>,
    /// The plan executed or created, if any.
    pub plan_id: String,
    /// The idempotency key (values only as hashes), if any.
    pub idempotency_key: String,
    /// Whether the allowlist listed the call.
    pub allowlisted: bool,
    /// The packs selected.
    pub packs: Vec<String>,
    /// The API generation asked for (`v2`, `v3`, `auto`).
    pub api: String,
}

/// An append-only JSONL audit file, safe for concurrent processes: each row is one `write`
/// on a file opened with `O_APPEND`, under an exclusive advisory lock.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// An audit file at `path` (created with its directory on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row.
    pub fn append(&self, row: &AuditRow) -> Result<(), PolicyError> {
        let err = |e: &dyn std::fmt::Display| PolicyError::store(&self.path, e);
        let mut line = serde_json::to_vec(row).map_err(|e| err(&e))?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| err(&e))?;
        FileExt::lock_exclusive(&file).map_err(|e| err(&e))?;
        let result = file.write_all(&line).and_then(|()| file.flush());
        let _ = FileExt::unlock(&file);
        result.map_err(|e| err(&e))
    }
}
