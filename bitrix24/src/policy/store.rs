//! File stores for plans and idempotency records, shared by several processes.
//!
//! Every change takes an exclusive advisory lock on `<file>.lock`, reads the file, writes the
//! new state to a temporary file in the same directory, fsyncs it, renames it over the file
//! and fsyncs the directory: a reader never sees half a state, and a crash leaves either the
//! old state or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Decision, PolicyError};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// JSON with object keys sorted at every level, without spaces: the same params always give
/// the same text, whatever their key order.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in Sha256::digest(data) {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// The SHA-256 (hex) of a method and its canonical params.
pub fn params_hash(method: &str, params: &Value) -> String {
    sha256_hex(format!("{method}|{}", canonical_json(params)).as_bytes())
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What both stores are made of: the locked file, how long its entries live and the clock.
#[derive(Clone)]
struct Timed {
    file: LockedJson,
    ttl_secs: u64,
    clock: Clock,
}

impl Timed {
    /// `ttl_secs` is at least 60.
    fn new(path: PathBuf, ttl_secs: u64) -> Self {
        Timed {
            file: LockedJson { path },
            ttl_secs: ttl_secs.max(60),
            clock: Arc::new(unix_now),
        }
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }
}

/// `with_clock` and `path` of a store made of a [`Timed`] field `t`.
macro_rules! timed_accessors {
    () => {
        /// Uses another clock (Unix seconds), for tests.
        #[must_use]
        pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
            self.t.clock = Arc::new(clock);
            self
        }

        /// The file.
        pub fn path(&self) -> &Path {
            &self.t.file.path
        }
    };
}

impl std::fmt::Debug for Timed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timed")
            .field("path", &self.file.path)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// A JSON object in a file, changed under a lock.
#[derive(Clone)]
struct LockedJson {
    path: PathBuf,
}

impl LockedJson {
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

/// A planned call: what `--execute-plan <plan_id>` will send, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The id to execute it by.
    pub plan_id: String,
    /// The portal it was planned for.
    pub tenant: String,
    /// The method (lower-case).
    pub method: String,
    /// The params, exactly as they will be sent.
    pub params: Value,
    /// [`params_hash`] of the method and params.
    #[serde(default)]
    pub params_hash: String,
    /// The risk found when planning.
    pub risk: String,
    /// Whether the allowlist listed the call when planning.
    #[serde(default)]
    pub allowlisted: bool,
    /// The packs selected when planning.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Unix time of planning.
    pub created_at: u64,
    /// Unix time after which the plan is refused.
    pub expires_at: u64,
    /// Whether it ran.
    #[serde(default)]
    pub executed: bool,
    /// Unix time it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<u64>,
}

/// How long an expired or executed plan is kept, to say "expired"/"already executed" rather
/// than "not found".
const PLAN_RETENTION_SECS: u64 = 7 * 24 * 3600;

/// Plans in a JSON file (`{"plans": {id: plan}}`).
#[derive(Clone, Debug)]
pub struct PlanStore {
    t: Timed,
}

impl PlanStore {
    /// A store at `path`; plans expire `ttl_secs` after planning (at least 60).
    pub fn new(path: impl Into<PathBuf>, ttl_secs: u64) -> Self {
        PlanStore {
            t: Timed::new(path.into(), ttl_secs),
        }
    }

    timed_accessors!();

    /// Stores a plan for an evaluated call.
    pub fn create(
        &self,
        tenant: &str,
        decision: &Decision,
        params: &Value,
        packs: &[String],
    ) -> Result<Plan, PolicyError> {
        let now = self.t.now();
        let hash = params_hash(&decision.method, params);
        let seed = format!(
            "{tenant}|{hash}|{now}|{:x}{:x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let plan = Plan {
            plan_id: sha256_hex(seed.as_bytes())[..20].to_owned(),
            tenant: tenant.to_owned(),
            method: decision.method.clone(),
            params: params.clone(),
            params_hash: hash,
            risk: decision.risk.as_str().to_owned(),
            allowlisted: decision.allowlisted,
            packs: packs.to_vec(),
            created_at: now,
            expires_at: now + self.t.ttl_secs,
            executed: false,
            executed_at: None,
        };
        let stored = serde_json::to_value(&plan).map_err(|e| PolicyError::store(self.path(), e))?;
        self.t.file.update(|state| {
            let plans = plans_of(state);
            plans.retain(|_, p| {
                p.get("expires_at")
                    .and_then(Value::as_u64)
                    .is_some_and(|e| e + PLAN_RETENTION_SECS >= now)
            });
            plans.insert(plan.plan_id.clone(), stored);
            Ok(((), true))
        })?;
        Ok(plan)
    }

    fn checked(
        state: &mut Map<String, Value>,
        id: &str,
        tenant: &str,
        method: Option<&str>,
        now: u64,
    ) -> Result<Plan, PolicyError> {
        let id = id.trim();
        let not_found = || PolicyError::PlanNotFound { id: id.to_owned() };
        let raw = plans_of(state).get(id).cloned().ok_or_else(not_found)?;
        let plan: Plan = serde_json::from_value(raw).map_err(|_| not_found())?;
        if plan.tenant != tenant {
            return Err(PolicyError::PlanForeignTenant { id: id.to_owned() });
        }
        if plan.executed {
            return Err(PolicyError::PlanAlreadyExecuted { id: id.to_owned() });
        }
        if plan.expires_at < now {
            return Err(PolicyError::PlanExpired { id: id.to_owned() });
        }
        if let Some(given) = method.filter(|m| !m.is_empty())
            && !given.eq_ignore_ascii_case(&plan.method)
        {
            return Err(PolicyError::PlanMethodMismatch {
                id: id.to_owned(),
                planned: plan.method.clone(),
                given: given.to_owned(),
            });
        }
        if !plan.params_hash.is_empty()
            && plan.params_hash != params_hash(&plan.method, &plan.params)
        {
            return Err(PolicyError::PlanTampered { id: id.to_owned() });
        }
        Ok(plan)
    }

    /// The plan `id`, if it may run now for `tenant` (and `method`, when given); nothing is
    /// changed.
    pub fn get(&self, id: &str, tenant: &str, method: Option<&str>) -> Result<Plan, PolicyError> {
        let now = self.t.now();
        self.t
            .file
            .update(|state| Ok((Self::checked(state, id, tenant, method, now)?, false)))
    }

    /// Marks the plan executed, with the same checks as [`PlanStore::get`] under the lock: of
    /// two processes executing one plan, one gets it and the other
    /// [`PolicyError::PlanAlreadyExecuted`].
    pub fn consume(
        &self,
        id: &str,
        tenant: &str,
        method: Option<&str>,
    ) -> Result<Plan, PolicyError> {
        let now = self.t.now();
        self.t.file.update(|state| {
            let mut plan = Self::checked(state, id, tenant, method, now)?;
            plan.executed = true;
            plan.executed_at = Some(now);
            let stored =
                serde_json::to_value(&plan).map_err(|e| PolicyError::store(self.path(), e))?;
            plans_of(state).insert(plan.plan_id.clone(), stored);
            Ok((plan, true))
        })
    }
}

fn plans_of(state: &mut Map<String, Value>) -> &mut Map<String, Value> {
    section(state, "plans")
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

/// What [`IdempotencyStore::begin`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// The key is now in progress: send the call, then [`IdempotencyStore::complete`] or
    /// [`IdempotencyStore::clear`].
    Proceed,
    /// The call ran before: its stored response.
    Replay(Value),
}

/// Idempotency records in a JSON file (`{"entries": {key: record}}`).
#[derive(Clone, Debug)]
pub struct IdempotencyStore {
    t: Timed,
    lease_secs: u64,
}

impl IdempotencyStore {
    /// A store at `path`; results are replayed for `ttl_secs` (at least 60). A call left in
    /// progress by a process that died is given up after 10 minutes.
    pub fn new(path: impl Into<PathBuf>, ttl_secs: u64) -> Self {
        let t = Timed::new(path.into(), ttl_secs);
        let lease_secs = t.ttl_secs.min(600);
        IdempotencyStore { t, lease_secs }
    }

    timed_accessors!();

    /// The key of a call: `tenant|method|` then the explicit key, else
    /// `<field>:<sha256 of its value>` for the first of `idempotency_key`, `origin_id`,
    /// `external_id` (either case) in the params, else `auto:<hash of method and params>`.
    /// Param values never appear in a key, only their hashes.
    pub fn key_for(tenant: &str, method: &str, params: &Value, explicit: Option<&str>) -> String {
        if let Some(k) = explicit.map(str::trim).filter(|k| !k.is_empty()) {
            return format!("{tenant}|{method}|{k}");
        }
        for field in [
            "idempotency_key",
            "IDEMPOTENCY_KEY",
            "origin_id",
            "ORIGIN_ID",
            "external_id",
            "EXTERNAL_ID",
        ] {
            let value = match params.get(field) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            let digest = &sha256_hex(value.as_bytes())[..24];
            return format!("{tenant}|{method}|{}:{digest}", field.to_ascii_lowercase());
        }
        let digest = &params_hash(method, params)[..24];
        format!("{tenant}|{method}|auto:{digest}")
    }

    /// Claims `key` for a call with params hash `hash`: [`Begin::Replay`] when a call with
    /// the same params completed within the TTL, [`PolicyError::IdempotencyInProgress`] while
    /// another call holds it, [`PolicyError::IdempotencyKeyReused`] when it was used with
    /// other params; else marks it in progress.
    pub fn begin(&self, key: &str, hash: &str) -> Result<Begin, PolicyError> {
        let now = self.t.now();
        let (ttl, lease) = (self.t.ttl_secs, self.lease_secs);
        self.t.file.update(|state| {
            let entries = section(state, "entries");
            // An unknown outcome is kept until someone checks the portal: it never expires.
            entries.retain(|_, e| {
                e.get("status").and_then(Value::as_str) == Some("unknown")
                    || e.get("expires_at")
                        .and_then(Value::as_u64)
                        .is_some_and(|x| x >= now)
            });
            if let Some(e) = entries.get(key) {
                let same = e.get("params_hash").and_then(Value::as_str) == Some(hash);
                let status = e.get("status").and_then(Value::as_str).unwrap_or("");
                let updated = e.get("updated_at").and_then(Value::as_u64).unwrap_or(0);
                if !same && (status == "done" || updated + lease >= now) {
                    return Err(PolicyError::IdempotencyKeyReused {
                        key: key.to_owned(),
                    });
                }
                if status == "unknown" {
                    return Err(PolicyError::OutcomeUnknown {
                        key: key.to_owned(),
                    });
                }
                if status == "done" {
                    let response = e.get("response").cloned().unwrap_or(Value::Null);
                    return Ok((Begin::Replay(response), true));
                }
                if status == "in_progress" && updated + lease >= now {
                    return Err(PolicyError::IdempotencyInProgress {
                        key: key.to_owned(),
                    });
                }
            }
            entries.insert(
                key.to_owned(),
                serde_json::json!({
                    "status": "in_progress",
                    "params_hash": hash,
                    "updated_at": now,
                    "expires_at": now + ttl,
                }),
            );
            Ok((Begin::Proceed, true))
        })
    }

    /// Stores the response of a call that succeeded, for replays within the TTL.
    pub fn complete(&self, key: &str, hash: &str, response: &Value) -> Result<(), PolicyError> {
        self.settle(key, hash, "done", Some(response))
    }

    /// Records that the call's answer was lost (it may have been applied): until [`clear`]
    /// (after checking the portal), [`begin`] refuses the key with
    /// [`PolicyError::OutcomeUnknown`], whatever the TTL.
    ///
    /// [`clear`]: IdempotencyStore::clear
    /// [`begin`]: IdempotencyStore::begin
    pub fn mark_unknown(&self, key: &str, hash: &str) -> Result<(), PolicyError> {
        self.settle(key, hash, "unknown", None)
    }

    fn settle(
        &self,
        key: &str,
        hash: &str,
        status: &str,
        response: Option<&Value>,
    ) -> Result<(), PolicyError> {
        let now = self.t.now();
        let ttl = self.t.ttl_secs;
        self.t.file.update(|state| {
            let mut entry = serde_json::json!({
                "status": status,
                "params_hash": hash,
                "updated_at": now,
                "expires_at": now + ttl,
            });
            if let Some(r) = response {
                entry["response"] = r.clone();
            }
            section(state, "entries").insert(key.to_owned(), entry);
            Ok(((), true))
        })
    }

    /// Forgets `key` (after a failed call, so that it may be tried again).
    pub fn clear(&self, key: &str) -> Result<(), PolicyError> {
        self.t.file.update(|state| {
            let removed = section(state, "entries").remove(key).is_some();
            Ok(((), removed))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use serde_json::json;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "b24-policy-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 1, "c": 2}], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, {"c": 2, "d": 1}]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(params_hash("m", &a), params_hash("m", &b));
        assert_ne!(params_hash("m", &a), params_hash("n", &a));
    }

    #[test]
    fn plan_states() {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = {
            let now = now.clone();
            move || now.load(Ordering::SeqCst)
        };
        let store = PlanStore::new(tmp("plans.json"), 120).with_clock(clock);
        let params = json!({"fields": {"TITLE": "x"}});
        let d = Policy::default().evaluate("crm.deal.add", &params).unwrap();
        let plan = store
            .create("a.example", &d, &params, &["core".into()])
            .unwrap();
        assert_eq!(plan.plan_id.len(), 20);
        assert_eq!(plan.expires_at - plan.created_at, 120);
        let code = |r: Result<Plan, PolicyError>| r.unwrap_err().code();
        assert_eq!(code(store.get("nope", "a.example", None)), "PLAN_NOT_FOUND");
        assert_eq!(
            code(store.get(&plan.plan_id, "b.example", None)),
            "PLAN_FOREIGN_TENANT"
        );
        assert_eq!(
            code(store.get(&plan.plan_id, "a.example", Some("crm.deal.update"))),
            "PLAN_METHOD_MISMATCH"
        );
        let got = store
            .consume(&plan.plan_id, "a.example", Some("CRM.DEAL.ADD"))
            .unwrap();
        assert_eq!(got.params, params);
        assert_eq!(
            code(store.consume(&plan.plan_id, "a.example", None)),
            "PLAN_ALREADY_EXECUTED"
        );
        let later = store.create("a.example", &d, &params, &[]).unwrap();
        now.fetch_add(121, Ordering::SeqCst);
        assert_eq!(
            code(store.get(&later.plan_id, "a.example", None)),
            "PLAN_EXPIRED"
        );
    }

    #[test]
    fn tampered_and_corrupt_files_are_refused() {
        let path = tmp("plans.json");
        let store = PlanStore::new(&path, 600);
        let params = json!({"id": 1});
        let d = Policy::default()
            .evaluate("crm.deal.delete", &params)
            .unwrap();
        let plan = store.create("t", &d, &params, &[]).unwrap();
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("\"id\":1", "\"id\":2");
        fs::write(&path, text).unwrap();
        assert_eq!(
            store.get(&plan.plan_id, "t", None).unwrap_err().code(),
            "PLAN_TAMPERED"
        );
        fs::write(&path, "{not json").unwrap();
        assert_eq!(
            store.get(&plan.plan_id, "t", None).unwrap_err().code(),
            "STATE_FILE_ERROR"
        );
    }

    #[test]
    fn idempotency_keys() {
        let p = json!({"fields": {"TITLE": "x"}, "origin_id": "ext-42"});
        let k = IdempotencyStore::key_for("t", "crm.deal.add", &p, None);
        assert!(k.starts_with("t|crm.deal.add|origin_id:"), "{k}");
        assert!(
            !k.contains("ext-42"),
            "a param value never appears in a key"
        );
        assert_eq!(
            IdempotencyStore::key_for("t", "crm.deal.add", &p, Some(" mine ")),
            "t|crm.deal.add|mine"
        );
        let q = json!({"fields": {"TITLE": "x"}});
        let auto = IdempotencyStore::key_for("t", "crm.deal.add", &q, None);
        assert!(auto.starts_with("t|crm.deal.add|auto:"));
        let r = json!({"fields": {"TITLE": "y"}});
        assert_ne!(
            auto,
            IdempotencyStore::key_for("t", "crm.deal.add", &r, None)
        );
    }

    #[test]
    fn idempotency_lifecycle() {
        let now = Arc::new(AtomicU64::new(5_000));
        let clock = {
            let now = now.clone();
            move || now.load(Ordering::SeqCst)
        };
        let store = IdempotencyStore::new(tmp("idem.json"), 3600).with_clock(clock);
        assert_eq!(store.begin("k", "h1").unwrap(), Begin::Proceed);
        assert_eq!(
            store.begin("k", "h1").unwrap_err().code(),
            "IDEMPOTENCY_IN_PROGRESS"
        );
        assert_eq!(
            store.begin("k", "h2").unwrap_err().code(),
            "IDEMPOTENCY_KEY_REUSED"
        );
        store.complete("k", "h1", &json!({"result": 7})).unwrap();
        assert_eq!(
            store.begin("k", "h1").unwrap(),
            Begin::Replay(json!({"result": 7}))
        );
        assert_eq!(
            store.begin("k", "h2").unwrap_err().code(),
            "IDEMPOTENCY_KEY_REUSED"
        );
        // A failed call clears its key.
        assert_eq!(store.begin("f", "h").unwrap(), Begin::Proceed);
        store.clear("f").unwrap();
        assert_eq!(store.begin("f", "h").unwrap(), Begin::Proceed);
        // An abandoned in-progress claim is given up after the lease.
        now.fetch_add(601, Ordering::SeqCst);
        assert_eq!(store.begin("f", "h").unwrap(), Begin::Proceed);
        // After the TTL the result is no longer replayed.
        now.fetch_add(3600, Ordering::SeqCst);
        assert_eq!(store.begin("k", "h1").unwrap(), Begin::Proceed);
        // A lost answer keeps the key taken past the lease and the TTL, until cleared.
        assert_eq!(store.begin("u", "h").unwrap(), Begin::Proceed);
        store.mark_unknown("u", "h").unwrap();
        for _ in 0..2 {
            assert_eq!(store.begin("u", "h").unwrap_err().code(), "OUTCOME_UNKNOWN");
            now.fetch_add(10_000, Ordering::SeqCst);
        }
        store.clear("u").unwrap();
        assert_eq!(store.begin("u", "h").unwrap(), Begin::Proceed);
    }

    #[test]
    fn concurrent_claims_let_one_through() {
        let path = tmp("idem.json");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = IdempotencyStore::new(&path, 3600);
                std::thread::spawn(move || store.begin("same", "h").is_ok())
            })
            .collect();
        let won = handles
            .into_iter()
            .filter(|_| true)
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(won, 1);
    }
}
