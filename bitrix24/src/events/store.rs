//! The stores the event machinery persists to, as traits, with an in-memory implementation of
//! each ([`MemoryStore`], for tests). The durable ones are in `sqlite` (feature `sqlite`).
//!
//! - [`TenantStore`]: installed portals keyed by `member_id`, their `application_token` and
//!   OAuth tokens, and a [`TokenStore`] per tenant.
//! - [`Inbox`]: every verified online event, before its handler runs.
//! - [`IdempotencyStore`]: key -> stored result with a TTL, claimed atomically with a lease,
//!   for idempotent handlers.
//! - [`DeadLetterQueue`]: events that exhausted their retry budget or cannot be read.
//! - [`OfflineStore`]: the offline worker's reserved batches, per-row outcomes and per-message
//!   retry counts.
//!
//! No store keeps a secret outside the tenant and token tables: payloads are scrubbed
//! ([`super::scrub`]) before they reach the inbox or the dead-letter queue.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::auth::OAuthTokens;
use crate::claim::{ClaimRecord, ClaimStatus, decide, still_held};
use crate::error::{AuthError, Error};
use crate::secret::Secret;
use crate::token_store::TokenStore;

/// A store's future.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// A store failure. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A stored row cannot be read back (a bad column, unparsable JSON): the row is left in
    /// place for an operator, and the caller carries on with the others.
    #[error("corrupt row in {table} ({key}): {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key (a `member_id`, a message id; never a secret).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The database failed (locked past the busy timeout, I/O, a failed migration).
    #[error("store backend: {0}")]
    Backend(String),
    /// An idempotency key is claimed by another holder whose lease is running.
    #[error("idempotency key {key} is in progress elsewhere")]
    InProgress {
        /// The key.
        key: String,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Auth(AuthError::TokenStore(e.to_string()))
    }
}

/// Unix time now, in seconds.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An installed portal.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Tenant {
    /// The stable portal id: the key of every store.
    pub member_id: String,
    /// The portal host.
    pub domain: Option<String>,
    /// The portal REST base.
    pub client_endpoint: Option<String>,
    /// The authorization server REST base the portal named.
    pub server_endpoint: Option<String>,
    /// The app's token on this portal, compared (in constant time) with every event's.
    /// `None` until `ONAPPINSTALL` or the install POST brought it.
    pub application_token: Option<Secret>,
    /// When the tenant was first stored (unix seconds).
    pub installed_at: u64,
}

impl Tenant {
    /// A tenant with only its `member_id`.
    pub fn new(member_id: impl Into<String>) -> Self {
        Tenant {
            member_id: member_id.into(),
            installed_at: unix_now(),
            ..Tenant::default()
        }
    }
}

/// Installed portals and their secrets.
pub trait TenantStore: Send + Sync + 'static {
    /// The tenant with this `member_id`.
    fn tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<Tenant>>;
    /// Stores (inserts or replaces) a tenant, and its tokens when given, in one transaction.
    fn save_tenant<'a>(
        &'a self,
        tenant: &'a Tenant,
        tokens: Option<&'a OAuthTokens>,
    ) -> StoreFuture<'a, ()>;
    /// The tenant's stored tokens.
    fn tokens<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<OAuthTokens>>;
    /// The `member_id`s of every stored tenant, in order.
    fn member_ids(&self) -> StoreFuture<'_, Vec<String>>;
    /// Deletes the tenant's secrets (tokens, `application_token`) and its worker state; whether
    /// a tenant was there. Inbox and dead letters (which hold no secrets) stay.
    fn purge_tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, bool>;
    /// A [`TokenStore`] for this tenant's client, bound to its `member_id` alone: it never
    /// loads or saves another tenant's tokens.
    fn token_store<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Arc<dyn TokenStore>>;
}

/// Whether [`Inbox::record`] saw the event for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now, under this id.
    New(i64),
    /// Already stored under this id (a replay).
    Duplicate(i64),
}

/// What became of an inbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboxStatus {
    /// Stored; the handler has not finished it.
    Pending,
    /// The handler succeeded.
    Done,
    /// The handler failed, with this message.
    Failed(String),
}

/// A received online event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InboxEntry {
    /// The entry's id.
    pub id: i64,
    /// The tenant.
    pub member_id: String,
    /// The event name.
    pub event: String,
    /// The replay-detection key (a digest of the whole body).
    pub dedup_key: String,
    /// The event (`event`, `event_handler_id`, `data`, `ts`, `auth`) with secrets scrubbed.
    pub payload: Value,
    /// When it was received (unix seconds).
    pub received_at: u64,
    /// Its status.
    pub status: InboxStatus,
}

/// Every verified online event, stored before its handler runs (the portal never re-sends).
pub trait Inbox: Send + Sync + 'static {
    /// Stores an event unless one with the same `dedup_key` is stored.
    fn record<'a>(&'a self, entry: &'a InboxEntry) -> StoreFuture<'a, Recorded>;
    /// Sets an entry's status.
    fn finish<'a>(&'a self, id: i64, status: &'a InboxStatus) -> StoreFuture<'a, ()>;
    /// Up to `limit` entries still pending (a crash between storing and handling), oldest
    /// first. An entry that cannot be read back is logged and skipped (left in place), and
    /// does not count toward `limit`.
    fn pending(&self, limit: usize) -> StoreFuture<'_, Vec<InboxEntry>>;
}

/// What [`IdempotencyStore::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claimed {
    /// The caller holds the key now: run the work, then [`IdempotencyStore::put`] its result
    /// or [`IdempotencyStore::release`] the key.
    Acquired {
        /// When the claim was made (unix seconds): what [`IdempotencyStore::release`] checks
        /// so that a late holder never releases the claim of the caller that took it over.
        claimed_at: u64,
    },
    /// The work ran before: its stored result.
    Done(String),
    /// Another holder's lease is running.
    Busy,
}

/// Key -> stored result, with a time to live: what makes a handler idempotent under
/// at-least-once delivery.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// The result stored under `key`, unless it expired.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Stores `result` under `key` until `expires_at` (unix seconds); a later put wins.
    fn put<'a>(&'a self, key: &'a str, result: &'a str, expires_at: u64) -> StoreFuture<'a, ()>;
    /// Deletes expired keys; how many.
    fn purge_expired(&self) -> StoreFuture<'_, u64>;
    /// Claims `key` atomically for `lease`: of concurrent callers (threads, or processes
    /// sharing a database) one gets [`Claimed::Acquired`]; a claim whose holder died is taken
    /// over once its lease ran out.
    fn claim<'a>(&'a self, key: &'a str, lease: std::time::Duration) -> StoreFuture<'a, Claimed>;
    /// Gives up the key claimed at `claimed_at` (the work failed), so that it may run again;
    /// nothing is done when another caller took the claim over since.
    fn release<'a>(&'a self, key: &'a str, claimed_at: u64) -> StoreFuture<'a, ()>;
}

/// The [`Claimed`] of a verdict (the events' keys carry no fingerprint and are never marked
/// unknown, so the other verdicts only mean "held elsewhere").
pub(crate) fn claimed(v: crate::claim::Verdict, now: u64) -> Claimed {
    use crate::claim::Verdict;
    match v {
        Verdict::Proceed => Claimed::Acquired { claimed_at: now },
        Verdict::Replay(r) => Claimed::Done(r),
        Verdict::InProgress | Verdict::Reused | Verdict::Unknown => Claimed::Busy,
    }
}

/// The times of an events' claim: the `in_progress` record lives as long as its lease.
pub(crate) fn claim_times(lease: std::time::Duration) -> crate::claim::ClaimTimes {
    let lease = lease.as_secs().max(1);
    crate::claim::ClaimTimes {
        now: unix_now(),
        lease,
        ttl: lease,
    }
}

/// An event that exhausted its retry budget or could not be read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The tenant.
    pub member_id: String,
    /// The event name.
    pub event: String,
    /// The queue's `MESSAGE_ID` (or the inbox dedup key for online events).
    pub message_id: String,
    /// The object the event is about, when known.
    pub object_id: Option<String>,
    /// The event data, secrets scrubbed.
    pub payload: Value,
    /// The last error's code (`HANDLER`, `MALFORMED`, `UNKNOWN_EVENT`, ...).
    pub error_code: String,
    /// The last error's message.
    pub error_message: String,
    /// How many times the handler was tried.
    pub retries: u32,
    /// When it was first seen (unix seconds).
    pub first_seen: u64,
    /// When it was last seen (unix seconds).
    pub last_seen: u64,
}

/// Events parked for an operator.
pub trait DeadLetterQueue: Send + Sync + 'static {
    /// Adds a dead letter, or updates the one with the same tenant and message id (keeping
    /// its `first_seen`).
    fn put<'a>(&'a self, letter: &'a DeadLetter) -> StoreFuture<'a, ()>;
    /// Dead letters, of one tenant or all, oldest first.
    fn list<'a>(
        &'a self,
        member_id: Option<&'a str>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeadLetter>>;
    /// Removes one (after an operator replayed it); whether it was there.
    fn remove<'a>(&'a self, member_id: &'a str, message_id: &'a str) -> StoreFuture<'a, bool>;
}

/// One offline queue: a tenant and an `auth_connector` (empty for none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueKey {
    /// The tenant.
    pub member_id: String,
    /// The `auth_connector` (empty: the connector-less queue).
    pub connector: String,
}

/// Where a reserved batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Reserved; its rows are being handled.
    Active,
    /// Every row has an outcome; `event.offline.error`/`clear` are still to be sent.
    Handled,
}

/// A batch the portal reserved for this worker (`event.offline.get` with `clear=0`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchRecord {
    /// The `process_id`.
    pub process_id: String,
    /// Whether it holds records marked erroneous (`error=1`).
    pub errors: bool,
    /// Where it stands.
    pub state: BatchState,
}

/// What handling one queue record came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler succeeded: clear it.
    Processed,
    /// The handler failed within the budget: report it with `event.offline.error`.
    Failed {
        /// Error code.
        code: String,
        /// Error message.
        message: String,
    },
    /// In the dead-letter queue: clear it.
    DeadLettered,
}

/// One record's outcome within a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutcomeRecord {
    /// The queue record's `ID`.
    pub row_id: u64,
    /// Its `MESSAGE_ID`.
    pub message_id: String,
    /// The outcome.
    pub outcome: Outcome,
}

impl OutcomeRecord {
    /// An outcome for a record.
    pub fn new(row_id: u64, message_id: impl Into<String>, outcome: Outcome) -> Self {
        OutcomeRecord {
            row_id,
            message_id: message_id.into(),
            outcome,
        }
    }
}

/// What handling one queue record changes in the store, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutcomeUpdate {
    /// The batch (`process_id`) the record was reserved in.
    pub process_id: String,
    /// The record's outcome.
    pub record: OutcomeRecord,
    /// The message's retry count after it (`0` forgets the count).
    pub retries: u32,
    /// For a dead-lettered record, its dead letter.
    pub letter: Option<DeadLetter>,
}

impl OutcomeUpdate {
    /// An update with no retry count and no dead letter.
    pub fn new(process_id: impl Into<String>, record: OutcomeRecord) -> Self {
        OutcomeUpdate {
            process_id: process_id.into(),
            record,
            retries: 0,
            letter: None,
        }
    }

    /// Sets the message's retry count.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets the dead letter.
    #[must_use]
    pub fn letter(mut self, letter: Option<DeadLetter>) -> Self {
        self.letter = letter;
        self
    }
}

/// The offline worker's durable state.
pub trait OfflineStore: Send + Sync + 'static {
    /// The batches of this queue not yet forgotten, oldest first.
    fn batches<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Vec<BatchRecord>>;
    /// Records a batch the portal reserved (and clears the fetch marker).
    fn open_batch<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
        errors: bool,
    ) -> StoreFuture<'a, ()>;
    /// Marks a batch handled.
    fn close_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()>;
    /// Deletes a batch and its outcomes (once the portal cleared it).
    fn forget_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()>;
    /// A batch's recorded outcomes.
    fn outcomes<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
    ) -> StoreFuture<'a, Vec<OutcomeRecord>>;
    /// Stores an [`OutcomeUpdate`] (the outcome, the message's retry count, the dead letter)
    /// in one transaction.
    fn record_outcome<'a>(
        &'a self,
        queue: &'a QueueKey,
        update: &'a OutcomeUpdate,
    ) -> StoreFuture<'a, ()>;
    /// How many times the handler failed on this message.
    fn retries<'a>(&'a self, queue: &'a QueueKey, message_id: &'a str) -> StoreFuture<'a, u32>;
    /// Sets (or clears) the marker of an `event.offline.get` in flight: when the worker finds
    /// it set on start, a batch may have been reserved without its `process_id` reaching the
    /// store.
    fn set_fetching<'a>(&'a self, queue: &'a QueueKey, since: Option<u64>) -> StoreFuture<'a, ()>;
    /// The marker, if set.
    fn fetching<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Option<u64>>;
}

#[derive(Default)]
struct MemoryState {
    tenants: HashMap<String, Tenant>,
    tokens: HashMap<String, OAuthTokens>,
    inbox: BTreeMap<i64, InboxEntry>,
    inbox_keys: HashMap<String, i64>,
    next_inbox: i64,
    idempotency: HashMap<String, ClaimRecord>,
    dead: BTreeMap<(String, String), DeadLetter>,
    batches: HashMap<QueueKey, Vec<BatchRecord>>,
    outcomes: HashMap<(QueueKey, String), BTreeMap<u64, OutcomeRecord>>,
    retries: HashMap<(QueueKey, String), u32>,
    fetching: HashMap<QueueKey, u64>,
}

/// Every store in memory (lost on restart): for tests and examples.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<MemoryState>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut MemoryState) -> T,
    ) -> Result<T, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Backend("lock poisoned".into()))?;
        Ok(f(&mut state))
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(async move { value })
}

impl TenantStore for MemoryStore {
    fn tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<Tenant>> {
        ready(self.with(|s| s.tenants.get(member_id).cloned()))
    }

    fn save_tenant<'a>(
        &'a self,
        tenant: &'a Tenant,
        tokens: Option<&'a OAuthTokens>,
    ) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            s.tenants.insert(tenant.member_id.clone(), tenant.clone());
            if let Some(t) = tokens {
                s.tokens.insert(tenant.member_id.clone(), t.clone());
            }
        }))
    }

    fn tokens<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<OAuthTokens>> {
        ready(self.with(|s| s.tokens.get(member_id).cloned()))
    }

    fn member_ids(&self) -> StoreFuture<'_, Vec<String>> {
        ready(self.with(|s| {
            let mut ids: Vec<String> = s.tenants.keys().cloned().collect();
            ids.sort();
            ids
        }))
    }

    fn purge_tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, bool> {
        ready(self.with(|s| {
            s.tokens.remove(member_id);
            s.batches.retain(|q, _| q.member_id != member_id);
            s.outcomes.retain(|(q, _), _| q.member_id != member_id);
            s.retries.retain(|(q, _), _| q.member_id != member_id);
            s.fetching.retain(|q, _| q.member_id != member_id);
            s.tenants.remove(member_id).is_some()
        }))
    }

    fn token_store<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Arc<dyn TokenStore>> {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryTenantTokens {
            store: self.clone(),
            member_id: member_id.to_owned(),
        });
        ready(Ok(store))
    }
}

/// One tenant's tokens inside a [`MemoryStore`].
struct MemoryTenantTokens {
    store: MemoryStore,
    member_id: String,
}

impl TokenStore for MemoryTenantTokens {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        Box::pin(async move {
            Ok(self
                .store
                .with(|s| s.tokens.get(&self.member_id).cloned())?)
        })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.store.with(|s| {
                if s.tenants.contains_key(&self.member_id) {
                    s.tokens.insert(self.member_id.clone(), tokens.clone());
                    Ok(())
                } else {
                    Err(StoreError::Backend(format!(
                        "tenant {} is not installed",
                        self.member_id
                    )))
                }
            })??;
            Ok(())
        })
    }
}

impl Inbox for MemoryStore {
    fn record<'a>(&'a self, entry: &'a InboxEntry) -> StoreFuture<'a, Recorded> {
        ready(self.with(|s| {
            if let Some(id) = s.inbox_keys.get(&entry.dedup_key) {
                return Recorded::Duplicate(*id);
            }
            s.next_inbox += 1;
            let id = s.next_inbox;
            let mut stored = entry.clone();
            stored.id = id;
            stored.status = InboxStatus::Pending;
            s.inbox.insert(id, stored);
            s.inbox_keys.insert(entry.dedup_key.clone(), id);
            Recorded::New(id)
        }))
    }

    fn finish<'a>(&'a self, id: i64, status: &'a InboxStatus) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            if let Some(e) = s.inbox.get_mut(&id) {
                e.status = status.clone();
            }
        }))
    }

    fn pending(&self, limit: usize) -> StoreFuture<'_, Vec<InboxEntry>> {
        ready(self.with(|s| {
            s.inbox
                .values()
                .filter(|e| e.status == InboxStatus::Pending)
                .take(limit)
                .cloned()
                .collect()
        }))
    }
}

impl IdempotencyStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let now = unix_now();
        ready(self.with(|s| {
            s.idempotency
                .get(key)
                .filter(|r| r.status == ClaimStatus::Done && r.expires_at > now)
                .and_then(|r| r.result.clone())
        }))
    }

    fn put<'a>(&'a self, key: &'a str, result: &'a str, expires_at: u64) -> StoreFuture<'a, ()> {
        let done = ClaimRecord::done_until(result, unix_now(), expires_at);
        ready(self.with(|s| {
            s.idempotency.insert(key.to_owned(), done);
        }))
    }

    fn purge_expired(&self) -> StoreFuture<'_, u64> {
        let now = unix_now();
        ready(self.with(|s| {
            let before = s.idempotency.len();
            s.idempotency
                .retain(|_, r| r.status == ClaimStatus::Unknown || r.expires_at > now);
            (before - s.idempotency.len()) as u64
        }))
    }

    fn claim<'a>(&'a self, key: &'a str, lease: std::time::Duration) -> StoreFuture<'a, Claimed> {
        let t = claim_times(lease);
        ready(self.with(|s| {
            let verdict = decide(s.idempotency.get(key), "", t);
            if verdict == crate::claim::Verdict::Proceed {
                let r = ClaimRecord::new(ClaimStatus::InProgress, "", None, t.now, t.ttl);
                s.idempotency.insert(key.to_owned(), r);
            }
            claimed(verdict, t.now)
        }))
    }

    fn release<'a>(&'a self, key: &'a str, claimed_at: u64) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            if still_held(s.idempotency.get(key), Some(claimed_at)) {
                s.idempotency.remove(key);
            }
        }))
    }
}

fn upsert_letter(dead: &mut BTreeMap<(String, String), DeadLetter>, letter: &DeadLetter) {
    let key = (letter.member_id.clone(), letter.message_id.clone());
    let first_seen = dead
        .get(&key)
        .map_or(letter.first_seen, |d| d.first_seen.min(letter.first_seen));
    let mut stored = letter.clone();
    stored.first_seen = first_seen;
    dead.insert(key, stored);
}

impl DeadLetterQueue for MemoryStore {
    fn put<'a>(&'a self, letter: &'a DeadLetter) -> StoreFuture<'a, ()> {
        ready(self.with(|s| upsert_letter(&mut s.dead, letter)))
    }

    fn list<'a>(
        &'a self,
        member_id: Option<&'a str>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeadLetter>> {
        ready(self.with(|s| {
            let mut all: Vec<DeadLetter> = s
                .dead
                .values()
                .filter(|d| member_id.is_none_or(|m| d.member_id == m))
                .cloned()
                .collect();
            all.sort_by_key(|d| d.first_seen);
            all.truncate(limit);
            all
        }))
    }

    fn remove<'a>(&'a self, member_id: &'a str, message_id: &'a str) -> StoreFuture<'a, bool> {
        ready(self.with(|s| {
            s.dead
                .remove(&(member_id.to_owned(), message_id.to_owned()))
                .is_some()
        }))
    }
}

impl OfflineStore for MemoryStore {
    fn batches<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Vec<BatchRecord>> {
        ready(self.with(|s| s.batches.get(queue).cloned().unwrap_or_default()))
    }

    fn open_batch<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
        errors: bool,
    ) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            let list = s.batches.entry(queue.clone()).or_default();
            if !list.iter().any(|b| b.process_id == process_id) {
                list.push(BatchRecord {
                    process_id: process_id.to_owned(),
                    errors,
                    state: BatchState::Active,
                });
            }
            s.fetching.remove(queue);
        }))
    }

    fn close_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            if let Some(b) = s
                .batches
                .get_mut(queue)
                .and_then(|l| l.iter_mut().find(|b| b.process_id == process_id))
            {
                b.state = BatchState::Handled;
            }
        }))
    }

    fn forget_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()> {
        ready(self.with(|s| {
            if let Some(l) = s.batches.get_mut(queue) {
                l.retain(|b| b.process_id != process_id);
            }
            s.outcomes.remove(&(queue.clone(), process_id.to_owned()));
        }))
    }

    fn outcomes<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
    ) -> StoreFuture<'a, Vec<OutcomeRecord>> {
        ready(self.with(|s| {
            s.outcomes
                .get(&(queue.clone(), process_id.to_owned()))
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        }))
    }

    fn record_outcome<'a>(
        &'a self,
        queue: &'a QueueKey,
        update: &'a OutcomeUpdate,
    ) -> StoreFuture<'a, ()> {
        let outcome = &update.record;
        ready(self.with(|s| {
            s.outcomes
                .entry((queue.clone(), update.process_id.clone()))
                .or_default()
                .insert(outcome.row_id, outcome.clone());
            let key = (queue.clone(), outcome.message_id.clone());
            if update.retries == 0 {
                s.retries.remove(&key);
            } else {
                s.retries.insert(key, update.retries);
            }
            if let Some(l) = &update.letter {
                upsert_letter(&mut s.dead, l);
            }
        }))
    }

    fn retries<'a>(&'a self, queue: &'a QueueKey, message_id: &'a str) -> StoreFuture<'a, u32> {
        ready(self.with(|s| {
            s.retries
                .get(&(queue.clone(), message_id.to_owned()))
                .copied()
                .unwrap_or(0)
        }))
    }

    fn set_fetching<'a>(&'a self, queue: &'a QueueKey, since: Option<u64>) -> StoreFuture<'a, ()> {
        ready(self.with(|s| match since {
            Some(t) => {
                s.fetching.insert(queue.clone(), t);
            }
            None => {
                s.fetching.remove(queue);
            }
        }))
    }

    fn fetching<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Option<u64>> {
        ready(self.with(|s| s.fetching.get(queue).copied()))
    }
}

/// Runs a handler at most once per key while its result is remembered: the dedup helper for
/// idempotent handlers under the worker's at-least-once delivery.
///
/// ```
/// # async fn demo() -> Result<(), bitrix24::events::StoreError> {
/// use bitrix24::events::{Dedup, MemoryStore};
/// use std::time::Duration;
/// let dedup = Dedup::new(MemoryStore::new(), Duration::from_secs(3600));
/// let first = dedup.once("deal:42:v7", || async { Ok::<_, String>("synced".to_owned()) }).await?;
/// let again = dedup.once("deal:42:v7", || async { Ok::<_, String>("ran twice".to_owned()) }).await?;
/// assert_eq!((first.as_deref(), again.as_deref()), (Ok("synced"), Ok("synced")));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Dedup<S> {
    store: S,
    ttl: std::time::Duration,
    lease: std::time::Duration,
}

impl<S: IdempotencyStore> Dedup<S> {
    /// Remembers results for `ttl`; a run holds its key for at most 10 minutes (or `ttl`,
    /// if shorter) before another caller may take it over.
    pub fn new(store: S, ttl: std::time::Duration) -> Self {
        let lease = ttl.min(std::time::Duration::from_secs(600));
        Dedup { store, ttl, lease }
    }

    /// How long a run holds its key: a holder that died is taken over after this.
    #[must_use]
    pub fn lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The stored result for `key`, or claims the key, runs `f` and stores its success. A
    /// failure is not stored and releases the key (the next delivery runs `f` again). Of
    /// concurrent first calls one runs `f`; the others get [`StoreError::InProgress`].
    pub async fn once<F, Fut, E>(&self, key: &str, f: F) -> Result<Result<String, E>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, E>>,
    {
        if let Some(done) = self.store.get(key).await? {
            return Ok(Ok(done));
        }
        let claimed_at = match self.store.claim(key, self.lease).await? {
            Claimed::Done(done) => return Ok(Ok(done)),
            Claimed::Busy => {
                return Err(StoreError::InProgress {
                    key: key.to_owned(),
                });
            }
            Claimed::Acquired { claimed_at } => claimed_at,
        };
        match f().await {
            Ok(result) => {
                let expires = unix_now().saturating_add(self.ttl.as_secs().max(1));
                self.store.put(key, &result, expires).await?;
                Ok(Ok(result))
            }
            Err(e) => {
                self.store.release(key, claimed_at).await?;
                Ok(Err(e))
            }
        }
    }
}
