//! The policy's stores of plans and idempotency records, over one of three backends: a JSON
//! file shared by several processes ([`PlanStore::new`], [`IdempotencyStore::new`]), memory
//! ([`PlanStore::in_memory`]) or, with the feature `sqlite`, a SQLite database
//! ([`PlanStore::sqlite`]). [`PlanStore::open`] picks the backend from the file name.
//!
//! Each backend changes its state under one lock (an advisory file lock, a mutex, a
//! `BEGIN IMMEDIATE` transaction): of two processes executing one plan or claiming one key,
//! exactly one gets it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::backend::{ClaimBackend, Plan, PlanBackend};
use super::file_store::LockedJson;
use super::memory_store::Memory;
use super::{Decision, PolicyError};
use crate::claim::{ClaimRecord, ClaimStatus, ClaimTimes, Settlement, Verdict};

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

/// Whether `path` names a SQLite database: it ends in `.db`, `.sqlite` or `.sqlite3`.
pub fn is_sqlite_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["db", "sqlite", "sqlite3"].contains(&e.to_ascii_lowercase().as_str()))
}

/// A SQLite path in a build without the feature `sqlite`: every call says so.
#[cfg(not(feature = "sqlite"))]
#[derive(Debug)]
struct Unavailable(PathBuf);

#[cfg(not(feature = "sqlite"))]
impl Unavailable {
    fn err(&self) -> PolicyError {
        PolicyError::store(
            &self.0,
            "a SQLite store needs the feature `sqlite` of bitrix24",
        )
    }
}

#[cfg(not(feature = "sqlite"))]
impl PlanBackend for Unavailable {
    fn insert(&self, _: &Plan, _: u64) -> Result<(), PolicyError> {
        Err(self.err())
    }

    fn with_plan(
        &self,
        _: &str,
        _: &mut super::backend::PlanEdit<'_>,
    ) -> Result<Plan, PolicyError> {
        Err(self.err())
    }
}

#[cfg(not(feature = "sqlite"))]
impl ClaimBackend for Unavailable {
    fn claim(&self, _: &str, _: &str, _: ClaimTimes) -> Result<Verdict, PolicyError> {
        Err(self.err())
    }

    fn settle(&self, _: Settlement<'_>) -> Result<bool, PolicyError> {
        Err(self.err())
    }
}

/// Both backends of one location.
#[derive(Debug, Clone)]
struct Backend {
    plans: Arc<dyn PlanBackend>,
    claims: Arc<dyn ClaimBackend>,
}

impl Backend {
    fn of<B: PlanBackend + ClaimBackend + 'static>(b: B) -> Self {
        let b = Arc::new(b);
        Backend {
            plans: b.clone(),
            claims: b,
        }
    }

    fn json(path: &Path) -> Self {
        Self::of(LockedJson::new(path.to_path_buf()))
    }

    #[cfg(feature = "sqlite")]
    fn sqlite(path: &Path) -> Result<Self, PolicyError> {
        super::sqlite_store::Sqlite::open(path).map(Self::of)
    }

    /// By name; a SQLite database is opened on first use.
    fn open(path: &Path) -> Self {
        if !is_sqlite_path(path) {
            return Self::json(path);
        }
        #[cfg(feature = "sqlite")]
        return Self::of(super::sqlite_store::Sqlite::lazy(path));
        #[cfg(not(feature = "sqlite"))]
        Self::of(Unavailable(path.to_path_buf()))
    }
}

/// What both stores are made of: the backend, its location, how long entries live and the
/// clock.
#[derive(Clone)]
struct Timed {
    backend: Backend,
    path: PathBuf,
    ttl_secs: u64,
    clock: Clock,
}

impl Timed {
    /// `ttl_secs` is at least 60.
    fn new(backend: Backend, path: PathBuf, ttl_secs: u64) -> Self {
        Timed {
            backend,
            path,
            ttl_secs: ttl_secs.max(60),
            clock: Arc::new(unix_now),
        }
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }
}

/// The constructors, `with_clock` and `path` of a store made of a [`Timed`] field `t` (and
/// whatever `$rest` adds).
macro_rules! timed_store {
    ($what:literal, $make:expr) => {
        /// A store in the JSON file at `path` (created on the first change); entries live
        /// `ttl_secs` (at least 60).
        pub fn new(path: impl Into<PathBuf>, ttl_secs: u64) -> Self {
            let path = path.into();
            $make(Timed::new(Backend::json(&path), path, ttl_secs))
        }

        #[doc = concat!("A store of ", $what, " in memory (lost when the process exits).")]
        pub fn in_memory(ttl_secs: u64) -> Self {
            $make(Timed::new(
                Backend::of(Memory::default()),
                PathBuf::new(),
                ttl_secs,
            ))
        }

        /// A store in the SQLite database at `path` (created and migrated when needed),
        /// shared safely by the processes and threads that open it.
        #[cfg(feature = "sqlite")]
        #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
        pub fn sqlite(path: impl Into<PathBuf>, ttl_secs: u64) -> Result<Self, PolicyError> {
            let path = path.into();
            Ok($make(Timed::new(Backend::sqlite(&path)?, path, ttl_secs)))
        }

        /// A store at `path`: a SQLite database when the name ends in `.db`, `.sqlite` or
        /// `.sqlite3` (see [`is_sqlite_path`]), else a JSON file. The file is opened on first
        /// use; a bad file (or a database without the feature `sqlite`) makes each call fail
        /// with [`PolicyError::Store`] naming it.
        pub fn open(path: impl Into<PathBuf>, ttl_secs: u64) -> Self {
            let path = path.into();
            $make(Timed::new(Backend::open(&path), path, ttl_secs))
        }

        /// Uses another clock (Unix seconds), for tests.
        #[must_use]
        pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
            self.t.clock = Arc::new(clock);
            self
        }

        /// The file (empty in memory).
        pub fn path(&self) -> &Path {
            &self.t.path
        }
    };
}

crate::debug_fields::debug_fields!(Timed { path, ttl_secs });

/// How long an expired or executed plan is kept, to say "expired"/"already executed" rather
/// than "not found".
const PLAN_RETENTION_SECS: u64 = 7 * 24 * 3600;

/// Plans (in a JSON file `{"plans": {id: plan}}`, in memory or in SQLite); a plan expires
/// `ttl_secs` after planning.
#[derive(Clone, Debug)]
pub struct PlanStore {
    t: Timed,
}

impl PlanStore {
    timed_store!("plans", |t| PlanStore { t });

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
        let drop_before = now.saturating_sub(PLAN_RETENTION_SECS);
        self.t.backend.plans.insert(&plan, drop_before)?;
        Ok(plan)
    }

    fn checked(
        found: Option<Plan>,
        id: &str,
        tenant: &str,
        method: Option<&str>,
        now: u64,
    ) -> Result<Plan, PolicyError> {
        let plan = found.ok_or_else(|| PolicyError::PlanNotFound { id: id.to_owned() })?;
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
        let id = id.trim();
        self.t.backend.plans.with_plan(id, &mut |found| {
            Ok((Self::checked(found, id, tenant, method, now)?, false))
        })
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
        let id = id.trim();
        self.t.backend.plans.with_plan(id, &mut |found| {
            let mut plan = Self::checked(found, id, tenant, method, now)?;
            plan.executed = true;
            plan.executed_at = Some(now);
            Ok((plan, true))
        })
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

/// Idempotency records (in a JSON file `{"entries": {key: record}}`, in memory or in
/// SQLite); a result is replayed for `ttl_secs`. A call left in progress by a process that
/// died holds its key for a lease of 10 minutes (or the TTL, if shorter), then the key may
/// be claimed again; the late holder's [`complete`](IdempotencyStore::complete) or
/// [`clear`](IdempotencyStore::clear) then leaves the new holder's claim alone.
#[derive(Clone, Debug)]
pub struct IdempotencyStore {
    t: Timed,
    lease_secs: u64,
    /// When this store (and its clones) claimed each key it still holds.
    held: Arc<Mutex<HashMap<String, u64>>>,
}

impl IdempotencyStore {
    timed_store!("idempotency records", |t: Timed| {
        let lease_secs = t.ttl_secs.min(600);
        IdempotencyStore {
            t,
            lease_secs,
            held: Arc::default(),
        }
    });

    /// Another holder on the same backend (its own claims), for tests.
    #[cfg(test)]
    pub(crate) fn other_holder(&self) -> Self {
        IdempotencyStore {
            held: Arc::default(),
            ..self.clone()
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn times(&self) -> ClaimTimes {
        ClaimTimes {
            now: self.t.now(),
            lease: self.lease_secs,
            ttl: self.t.ttl_secs,
        }
    }

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

    /// Claims `key` for a call with params hash `hash`, atomically: [`Begin::Replay`] when a
    /// call with the same params completed within the TTL,
    /// [`PolicyError::IdempotencyInProgress`] while another call holds its lease,
    /// [`PolicyError::IdempotencyKeyReused`] when it was used with other params,
    /// [`PolicyError::OutcomeUnknown`] after a lost answer; else marks it in progress.
    pub fn begin(&self, key: &str, hash: &str) -> Result<Begin, PolicyError> {
        let key_err = || key.to_owned();
        let t = self.times();
        match self.t.backend.claims.claim(key, hash, t)? {
            Verdict::Proceed => {
                self.held().insert(key.to_owned(), t.now);
                Ok(Begin::Proceed)
            }
            Verdict::Replay(text) => Ok(Begin::Replay(
                serde_json::from_str(&text).unwrap_or(Value::Null),
            )),
            Verdict::InProgress => Err(PolicyError::IdempotencyInProgress { key: key_err() }),
            Verdict::Reused => Err(PolicyError::IdempotencyKeyReused { key: key_err() }),
            Verdict::Unknown => Err(PolicyError::OutcomeUnknown { key: key_err() }),
        }
    }

    /// Stores the response of a call that succeeded, for replays within the TTL.
    pub fn complete(&self, key: &str, hash: &str, response: &Value) -> Result<(), PolicyError> {
        self.settle(key, hash, ClaimStatus::Done, Some(response.to_string()))
    }

    /// Records that the call's answer was lost (it may have been applied): until [`clear`]
    /// (after checking the portal), [`begin`] refuses the key with
    /// [`PolicyError::OutcomeUnknown`], whatever the TTL.
    ///
    /// [`clear`]: IdempotencyStore::clear
    /// [`begin`]: IdempotencyStore::begin
    pub fn mark_unknown(&self, key: &str, hash: &str) -> Result<(), PolicyError> {
        self.settle(key, hash, ClaimStatus::Unknown, None)
    }

    fn settle(
        &self,
        key: &str,
        hash: &str,
        status: ClaimStatus,
        response: Option<String>,
    ) -> Result<(), PolicyError> {
        let t = self.times();
        let record = ClaimRecord::new(status, hash, response, t.now, t.ttl);
        self.release_as_holder(key, Some(&record))
    }

    /// Forgets `key` (after a failed call, so that it may be tried again; or, from any
    /// process, after checking the portal for an unknown outcome).
    pub fn clear(&self, key: &str) -> Result<(), PolicyError> {
        self.release_as_holder(key, None)
    }

    /// Writes `record` (or forgets the key) unless this store claimed the key and another
    /// holder took the claim over since.
    fn release_as_holder(
        &self,
        key: &str,
        record: Option<&ClaimRecord>,
    ) -> Result<(), PolicyError> {
        let claimed_at = self.held().get(key).copied();
        let settlement = Settlement {
            key,
            record,
            claimed_at,
        };
        if self.t.backend.claims.settle(settlement)? {
            self.held().remove(key);
        } else {
            // The token stays: a later call of this holder is refused the same way.
            tracing::warn!(
                key,
                "idempotency claim was taken over by another holder after its lease; left as is"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
