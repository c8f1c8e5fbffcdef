//! The JSON file backend of the policy's stores, shared by several processes.
//!
//! Every change takes an exclusive advisory lock on `<file>.lock`, reads the file, writes the
//! new state to a temporary file in the same directory, fsyncs it, renames it over the file
//! and fsyncs the directory: a reader never sees half a state, and a crash leaves either the
//! old state or the new one. Plans live under `"plans"`, idempotency records under
//! `"entries"`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde_json::{Map, Value, json};

use super::PolicyError;
use super::backend::{ClaimBackend, Plan, PlanBackend, PlanEdit};
use crate::claim::{ClaimRecord, ClaimStatus, ClaimTimes, Settlement, Verdict, decide};

/// A JSON object in a file, changed under a lock.
#[derive(Debug, Clone)]
pub(crate) struct LockedJson {
    path: PathBuf,
}

impl LockedJson {
    /// The file at `path` (created on the first change).
    pub(crate) fn new(path: PathBuf) -> Self {
        LockedJson { path }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Runs `f` on the state under the lock; writes the state back when `f` says it changed.
    fn update<T>(
        &self,
        f: impl FnOnce(&mut Map<String, Value>) -> Result<(T, bool), PolicyError>,
    ) -> Result<T, PolicyError> {
        let err = |e: std::io::Error| PolicyError::store(&self.path, e);
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.lock_path())
            .map_err(err)?;
        FileExt::lock_exclusive(&lock).map_err(err)?;
        let result = self.update_locked(f);
        let _ = FileExt::unlock(&lock);
        result
    }

    fn update_locked<T>(
        &self,
        f: impl FnOnce(&mut Map<String, Value>) -> Result<(T, bool), PolicyError>,
    ) -> Result<T, PolicyError> {
        let mut state = match fs::read(&self.path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(PolicyError::store(&self.path, "not a JSON object"));
                }
                Err(e) => return Err(PolicyError::store(&self.path, format!("corrupt: {e}"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(PolicyError::store(&self.path, e)),
        };
        let (out, changed) = f(&mut state)?;
        if changed {
            self.write_atomic(&Value::Object(state))
                .map_err(|e| PolicyError::store(&self.path, e))?;
        }
        Ok(out)
    }

    fn write_atomic(&self, state: &Value) -> std::io::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(
            ".tmp-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let tmp = dir.join(name);
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(state.to_string().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            #[cfg(unix)]
            File::open(dir)?.sync_all()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

impl PlanBackend for LockedJson {
    fn insert(&self, plan: &Plan, drop_before: u64) -> Result<(), PolicyError> {
        let stored = serde_json::to_value(plan).map_err(|e| PolicyError::store(&self.path, e))?;
        self.update(|state| {
            let plans = section(state, "plans");
            plans.retain(|_, p| {
                p.get("expires_at")
                    .and_then(Value::as_u64)
                    .is_some_and(|e| e >= drop_before)
            });
            plans.insert(plan.plan_id.clone(), stored);
            Ok(((), true))
        })
    }

    fn with_plan(&self, id: &str, f: &mut PlanEdit<'_>) -> Result<Plan, PolicyError> {
        self.update(|state| {
            let plans = section(state, "plans");
            let found = plans
                .get(id)
                .cloned()
                .and_then(|raw| serde_json::from_value::<Plan>(raw).ok());
            let (plan, changed) = f(found)?;
            if changed {
                let stored =
                    serde_json::to_value(&plan).map_err(|e| PolicyError::store(&self.path, e))?;
                plans.insert(plan.plan_id.clone(), stored);
            }
            Ok((plan, changed))
        })
    }
}

/// A record as the file keeps it: the response as JSON, not as text.
fn record_to_json(r: &ClaimRecord) -> Value {
    let mut v = json!({
        "status": r.status.as_str(),
        "params_hash": r.fingerprint,
        "updated_at": r.updated_at,
        "expires_at": r.expires_at,
    });
    if let Some(text) = &r.result {
        v["response"] = serde_json::from_str(text).unwrap_or(Value::Null);
    }
    v
}

/// The record of a stored entry; `None` when it is not one.
fn record_of_json(v: &Value) -> Option<ClaimRecord> {
    let status = ClaimStatus::parse(v.get("status")?.as_str()?)?;
    Some(ClaimRecord {
        status,
        fingerprint: v.get("params_hash")?.as_str()?.to_owned(),
        updated_at: v.get("updated_at").and_then(Value::as_u64).unwrap_or(0),
        expires_at: v.get("expires_at").and_then(Value::as_u64).unwrap_or(0),
        result: v.get("response").map(Value::to_string),
    })
}

impl ClaimBackend for LockedJson {
    fn claim(&self, key: &str, fingerprint: &str, t: ClaimTimes) -> Result<Verdict, PolicyError> {
        self.update(|state| {
            let entries = section(state, "entries");
            entries.retain(|_, e| record_of_json(e).is_some_and(|r| r.live(t.now)));
            let existing = entries.get(key).and_then(record_of_json);
            let verdict = decide(existing.as_ref(), fingerprint, t);
            if verdict == Verdict::Proceed {
                let claimed =
                    ClaimRecord::new(ClaimStatus::InProgress, fingerprint, None, t.now, t.ttl);
                entries.insert(key.to_owned(), record_to_json(&claimed));
            }
            Ok((verdict, true))
        })
    }

    fn settle(&self, s: Settlement<'_>) -> Result<bool, PolicyError> {
        self.update(|state| {
            let entries = section(state, "entries");
            if !s.holds(entries.get(s.key).and_then(record_of_json).as_ref()) {
                return Ok((false, false));
            }
            let changed = match s.record {
                Some(r) => {
                    entries.insert(s.key.to_owned(), record_to_json(r));
                    true
                }
                None => entries.remove(s.key).is_some(),
            };
            Ok((true, changed))
        })
    }
}

fn section<'a>(state: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let entry = state
        .entry(name.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}
