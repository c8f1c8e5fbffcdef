//! Durable stores on SQLite (feature `sqlite`): [`SqliteStore`] implements every store trait
//! of [`super::store`] over one database file in WAL mode, with versioned migrations
//! (`PRAGMA user_version`), and [`SqliteTokenStore`] is a per-tenant [`TokenStore`] whose
//! refresh is single-flight **across processes** sharing the file.
//!
//! - Secrets (tokens, `application_token`) live only in the `tenants` and `tokens` tables; the
//!   file is created readable by its owner only (Unix). Inbox and dead letters hold scrubbed
//!   payloads.
//! - A row that cannot be read back is a [`StoreError::Corrupt`] naming the table and key: a
//!   single read fails with it, a list skips the row (logged) and returns the others.
//! - Every write is one transaction; `synchronous=FULL` by default (a commit survives power
//!   loss), or `NORMAL` with [`SqliteStore::open_with`] (survives a process crash).
//!
//! ## Refresh across processes
//!
//! The client's refresh (single-flight within one process) calls [`TokenStore::load`] first and
//! [`TokenStore::save`] with the rotated pair. [`SqliteTokenStore::load`] runs in a
//! `BEGIN IMMEDIATE` transaction: if the stored pair is not the one this store last handed
//! out, another process refreshed and the caller adopts it (no request); otherwise it takes a
//! lease row (`token_leases`) and returns, and the caller asks the token endpoint. A second
//! process arriving meanwhile waits for the lease to be released by the leader's `save` (or to
//! expire, [`SqliteStore::lease_ttl`]) and then adopts the saved pair. So one refresh request
//! per expiry reaches the token endpoint whatever the number of processes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::store::{
    BatchRecord, BatchState, DeadLetter, DeadLetterQueue, IdempotencyStore, Inbox, InboxEntry,
    InboxStatus, OfflineStore, Outcome, OutcomeRecord, QueueKey, Recorded, StoreError, StoreFuture,
    Tenant, TenantStore, unix_now,
};
use crate::auth::OAuthTokens;
use crate::error::Error;
use crate::secret::Secret;
use crate::token_store::TokenStore;

/// The schema, one migration per version (`PRAGMA user_version` counts those applied).
const MIGRATIONS: &[&str] = &[
    // 1: tenants, tokens, leases, inbox, idempotency, dead letters, offline worker state.
    "CREATE TABLE tenants (
        member_id TEXT PRIMARY KEY NOT NULL,
        domain TEXT, client_endpoint TEXT, server_endpoint TEXT,
        application_token TEXT,
        installed_at INTEGER NOT NULL
     );
     CREATE TABLE tokens (
        member_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants(member_id) ON DELETE CASCADE,
        access_token TEXT NOT NULL, refresh_token TEXT NOT NULL,
        expires_at INTEGER, client_endpoint TEXT, server_endpoint TEXT, user_id INTEGER,
        updated_at INTEGER NOT NULL
     );
     CREATE TABLE token_leases (
        member_id TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL, until_ms INTEGER NOT NULL
     );
     CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL, event TEXT NOT NULL, dedup_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL, received_at INTEGER NOT NULL,
        status TEXT NOT NULL, error TEXT
     );
     CREATE INDEX inbox_status ON inbox (status, id);
     CREATE TABLE idempotency (
        key TEXT PRIMARY KEY NOT NULL, result TEXT NOT NULL, expires_at INTEGER NOT NULL
     );
     CREATE TABLE dead_letters (
        member_id TEXT NOT NULL, message_id TEXT NOT NULL, event TEXT NOT NULL,
        object_id TEXT, payload TEXT NOT NULL,
        error_code TEXT NOT NULL, error_message TEXT NOT NULL, retries INTEGER NOT NULL,
        first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
        PRIMARY KEY (member_id, message_id)
     );
     CREATE TABLE offline_batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL, connector TEXT NOT NULL, process_id TEXT NOT NULL,
        errors INTEGER NOT NULL, state TEXT NOT NULL, opened_at INTEGER NOT NULL,
        UNIQUE (member_id, connector, process_id)
     );
     CREATE TABLE offline_outcomes (
        member_id TEXT NOT NULL, connector TEXT NOT NULL, process_id TEXT NOT NULL,
        row_id INTEGER NOT NULL, message_id TEXT NOT NULL,
        outcome TEXT NOT NULL, code TEXT, message TEXT,
        PRIMARY KEY (member_id, connector, process_id, row_id)
     );
     CREATE TABLE offline_retries (
        member_id TEXT NOT NULL, connector TEXT NOT NULL, message_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (member_id, connector, message_id)
     );
     CREATE TABLE offline_fetching (
        member_id TEXT NOT NULL, connector TEXT NOT NULL, since INTEGER NOT NULL,
        PRIMARY KEY (member_id, connector)
     );",
];

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a process crash; the last ones may be lost on
    /// power loss. Faster.
    Normal,
}

struct Shared {
    conn: Mutex<Connection>,
    path: PathBuf,
    lease_ttl: Duration,
}

/// Every store over one SQLite database (WAL). Cheap to clone; one connection per value,
/// shared by its clones (open one per process).
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(table: &'static str, key: &str, e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        key: key.to_owned(),
        reason: e.to_string(),
    }
}

/// A read error as [`StoreError::Corrupt`] when the row was there but a column could not be
/// read, else as a backend error.
fn read_error(table: &'static str, key: &str, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => corrupt(table, key, e),
        other => backend(other),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, durably ([`Durability::Full`]).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::Full).await
    }

    /// Opens the database with the given durability, applies pending migrations and turns on
    /// WAL, foreign keys and a 10 s busy timeout.
    pub async fn open_with(
        path: impl AsRef<Path>,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_blocking(&opened, durability))
            .await
            .map_err(backend)??;
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
                path,
                lease_ttl: Duration::from_secs(30),
            }),
        })
    }

    /// How long a refresh lease holds when its owner neither saves nor comes back (a crashed
    /// process): other processes wait at most this long before refreshing themselves.
    pub fn lease_ttl(&self) -> Duration {
        self.shared.lease_ttl
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The schema version (number of migrations applied).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        self.run(|c| {
            c.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
                .map_err(backend)
        })
        .await
    }

    /// Runs `f` on the connection, off the async threads.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut conn = shared
                .conn
                .lock()
                .map_err(|_| StoreError::Backend("connection lock poisoned".into()))?;
            f(&mut conn)
        })
        .await
        .map_err(backend)?
    }

    fn boxed<T, F>(&self, f: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        Box::pin(self.run(f))
    }

    /// A per-tenant token store: bound to `member_id` alone, single-flight across processes.
    pub async fn tenant_token_store(
        &self,
        member_id: &str,
    ) -> Result<SqliteTokenStore, StoreError> {
        let member = member_id.to_owned();
        let current = self
            .run(move |c| read_tokens(c, &member))
            .await?
            .map(|t| t.access_token);
        Ok(SqliteTokenStore {
            store: self.clone(),
            member_id: member_id.to_owned(),
            owner: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            last_seen: Mutex::new(current),
        })
    }
}

fn open_blocking(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    #[cfg(unix)]
    if !path.exists() {
        // Created owner-only before SQLite opens it: the file holds tokens.
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
    }
    let mut conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(backend)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(backend)?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        },
    )
    .map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(backend)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let version: u32 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {version}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", i + 1)))?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn read_tokens(conn: &Connection, member_id: &str) -> Result<Option<OAuthTokens>, StoreError> {
    conn.query_row(
        "SELECT access_token, refresh_token, expires_at, client_endpoint, server_endpoint, user_id
         FROM tokens WHERE member_id = ?1",
        [member_id],
        |r| {
            let mut t = OAuthTokens::new(
                Secret::new(r.get::<_, String>(0)?),
                Secret::new(r.get::<_, String>(1)?),
                String::new(),
            );
            t.expires_at = r.get::<_, Option<i64>>(2)?.map(|v| v.max(0) as u64);
            t.client_endpoint = r.get(3)?;
            t.server_endpoint = r.get(4)?;
            t.user_id = r.get::<_, Option<i64>>(5)?.map(|v| v.max(0) as u64);
            t.member_id = Some(member_id.to_owned());
            Ok(t)
        },
    )
    .optional()
    .map_err(|e| read_error("tokens", member_id, e))
}

fn write_tokens(conn: &Connection, member_id: &str, t: &OAuthTokens) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO tokens (member_id, access_token, refresh_token, expires_at, client_endpoint,
                             server_endpoint, user_id, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (member_id) DO UPDATE SET access_token = ?2, refresh_token = ?3,
             expires_at = ?4, client_endpoint = ?5, server_endpoint = ?6, user_id = ?7,
             updated_at = ?8",
        params![
            member_id,
            t.access_token.expose(),
            t.refresh_token.expose(),
            t.expires_at.map(|v| v as i64),
            t.client_endpoint,
            t.server_endpoint,
            t.user_id.map(|v| v as i64),
            unix_now() as i64,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

impl TenantStore for SqliteStore {
    fn tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<Tenant>> {
        let member = member_id.to_owned();
        self.boxed(move |c| {
            c.query_row(
                "SELECT domain, client_endpoint, server_endpoint, application_token, installed_at
                 FROM tenants WHERE member_id = ?1",
                [&member],
                |r| {
                    let mut t = Tenant::new(member.clone());
                    t.domain = r.get(0)?;
                    t.client_endpoint = r.get(1)?;
                    t.server_endpoint = r.get(2)?;
                    t.application_token = r.get::<_, Option<String>>(3)?.map(Secret::new);
                    t.installed_at = r.get::<_, i64>(4)?.max(0) as u64;
                    Ok(t)
                },
            )
            .optional()
            .map_err(|e| read_error("tenants", &member, e))
        })
    }

    fn save_tenant<'a>(
        &'a self,
        tenant: &'a Tenant,
        tokens: Option<&'a OAuthTokens>,
    ) -> StoreFuture<'a, ()> {
        let tenant = tenant.clone();
        let tokens = tokens.cloned();
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            tx.execute(
                "INSERT INTO tenants (member_id, domain, client_endpoint, server_endpoint,
                                      application_token, installed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (member_id) DO UPDATE SET domain = ?2, client_endpoint = ?3,
                     server_endpoint = ?4, application_token = ?5",
                params![
                    tenant.member_id,
                    tenant.domain,
                    tenant.client_endpoint,
                    tenant.server_endpoint,
                    tenant.application_token.as_ref().map(Secret::expose),
                    tenant.installed_at as i64,
                ],
            )
            .map_err(backend)?;
            if let Some(t) = &tokens {
                write_tokens(&tx, &tenant.member_id, t)?;
            }
            tx.commit().map_err(backend)
        })
    }

    fn tokens<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Option<OAuthTokens>> {
        let member = member_id.to_owned();
        self.boxed(move |c| read_tokens(c, &member))
    }

    fn purge_tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, bool> {
        let member = member_id.to_owned();
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            for sql in [
                "DELETE FROM tokens WHERE member_id = ?1",
                "DELETE FROM token_leases WHERE member_id = ?1",
                "DELETE FROM offline_batches WHERE member_id = ?1",
                "DELETE FROM offline_outcomes WHERE member_id = ?1",
                "DELETE FROM offline_retries WHERE member_id = ?1",
                "DELETE FROM offline_fetching WHERE member_id = ?1",
            ] {
                tx.execute(sql, [&member]).map_err(backend)?;
            }
            let gone = tx
                .execute("DELETE FROM tenants WHERE member_id = ?1", [&member])
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(gone > 0)
        })
    }

    fn token_store<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, Arc<dyn TokenStore>> {
        Box::pin(async move {
            let store: Arc<dyn TokenStore> = Arc::new(self.tenant_token_store(member_id).await?);
            Ok(store)
        })
    }
}

/// One tenant's tokens in a [`SqliteStore`], refreshed once across every process sharing the
/// database (see the module docs). Loads and saves only its own `member_id`'s row, and refuses
/// to save for a tenant that is not installed (an uninstall in between).
pub struct SqliteTokenStore {
    store: SqliteStore,
    member_id: String,
    owner: String,
    /// The access token this store last loaded or saved: a stored pair that differs was
    /// refreshed by another process.
    last_seen: Mutex<Option<Secret>>,
}

impl fmt::Debug for SqliteTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTokenStore")
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

enum LoadStep {
    Ready(Option<OAuthTokens>),
    Wait,
}

impl SqliteTokenStore {
    /// The tenant.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    fn seen(&self) -> Option<Secret> {
        self.last_seen.lock().ok().and_then(|s| s.clone())
    }

    fn remember(&self, access: &Secret) {
        if let Ok(mut s) = self.last_seen.lock() {
            *s = Some(access.clone());
        }
    }
}

impl TokenStore for SqliteTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        Box::pin(async move {
            let ttl_ms = self.store.lease_ttl().as_millis() as i64;
            let started = std::time::Instant::now();
            loop {
                let member = self.member_id.clone();
                let owner = self.owner.clone();
                let seen = self.seen();
                let waited_out = started.elapsed() > self.store.lease_ttl() * 2;
                let step = self
                    .store
                    .run(move |c| {
                        let tx = c
                            .transaction_with_behavior(TransactionBehavior::Immediate)
                            .map_err(backend)?;
                        let tokens = read_tokens(&tx, &member)?;
                        let Some(tokens) = tokens else {
                            return Ok(LoadStep::Ready(None));
                        };
                        if seen.as_ref().is_some_and(|s| *s != tokens.access_token) {
                            // Refreshed elsewhere: adopt, no lease needed.
                            return Ok(LoadStep::Ready(Some(tokens)));
                        }
                        let lease: Option<(String, i64)> = tx
                            .query_row(
                                "SELECT owner, until_ms FROM token_leases WHERE member_id = ?1",
                                [&member],
                                |r| Ok((r.get(0)?, r.get(1)?)),
                            )
                            .optional()
                            .map_err(|e| read_error("token_leases", &member, e))?;
                        let now = now_ms();
                        let free = lease
                            .as_ref()
                            .is_none_or(|(o, until)| *o == owner || *until <= now);
                        if !free && !waited_out {
                            return Ok(LoadStep::Wait);
                        }
                        tx.execute(
                            "INSERT INTO token_leases (member_id, owner, until_ms) VALUES (?1, ?2, ?3)
                             ON CONFLICT (member_id) DO UPDATE SET owner = ?2, until_ms = ?3",
                            params![member, owner, now + ttl_ms],
                        )
                        .map_err(backend)?;
                        tx.commit().map_err(backend)?;
                        Ok(LoadStep::Ready(Some(tokens)))
                    })
                    .await?;
                match step {
                    LoadStep::Ready(tokens) => {
                        if let Some(t) = &tokens {
                            self.remember(&t.access_token);
                        }
                        return Ok(tokens);
                    }
                    LoadStep::Wait => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let member = self.member_id.clone();
            let owner = self.owner.clone();
            let next = tokens.clone();
            self.store
                .run(move |c| {
                    let tx = c
                        .transaction_with_behavior(TransactionBehavior::Immediate)
                        .map_err(backend)?;
                    let installed: bool = tx
                        .query_row(
                            "SELECT EXISTS (SELECT 1 FROM tenants WHERE member_id = ?1)",
                            [&member],
                            |r| r.get(0),
                        )
                        .map_err(backend)?;
                    if !installed {
                        return Err(StoreError::Backend(format!(
                            "tenant {member} is not installed: tokens not saved"
                        )));
                    }
                    write_tokens(&tx, &member, &next)?;
                    tx.execute(
                        "DELETE FROM token_leases WHERE member_id = ?1 AND owner = ?2",
                        [&member, &owner],
                    )
                    .map_err(backend)?;
                    tx.commit().map_err(backend)
                })
                .await?;
            self.remember(&tokens.access_token);
            Ok(())
        })
    }
}

fn status_text(status: &InboxStatus) -> (&'static str, Option<String>) {
    match status {
        InboxStatus::Pending => ("pending", None),
        InboxStatus::Done => ("done", None),
        InboxStatus::Failed(m) => ("failed", Some(m.clone())),
    }
}

impl Inbox for SqliteStore {
    fn record<'a>(&'a self, entry: &'a InboxEntry) -> StoreFuture<'a, Recorded> {
        let entry = entry.clone();
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM inbox WHERE dedup_key = ?1",
                    [&entry.dedup_key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| read_error("inbox", &entry.dedup_key, e))?;
            if let Some(id) = existing {
                return Ok(Recorded::Duplicate(id));
            }
            tx.execute(
                "INSERT INTO inbox (member_id, event, dedup_key, payload, received_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
                params![
                    entry.member_id,
                    entry.event,
                    entry.dedup_key,
                    entry.payload.to_string(),
                    entry.received_at as i64
                ],
            )
            .map_err(backend)?;
            let id = tx.last_insert_rowid();
            tx.commit().map_err(backend)?;
            Ok(Recorded::New(id))
        })
    }

    fn finish<'a>(&'a self, id: i64, status: &'a InboxStatus) -> StoreFuture<'a, ()> {
        let (text, error) = status_text(status);
        self.boxed(move |c| {
            c.execute(
                "UPDATE inbox SET status = ?2, error = ?3 WHERE id = ?1",
                params![id, text, error],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn pending(&self, limit: usize) -> StoreFuture<'_, Vec<InboxEntry>> {
        self.boxed(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT id, member_id, event, dedup_key, payload, received_at FROM inbox
                     WHERE status = 'pending' ORDER BY id LIMIT ?1",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        r.get::<_, String>(3),
                        r.get::<_, String>(4),
                        r.get::<_, i64>(5),
                    ))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, member, event, key, payload, at) = row.map_err(backend)?;
                let parsed = (|| -> Result<InboxEntry, String> {
                    let payload = payload.map_err(|e| e.to_string())?;
                    Ok(InboxEntry {
                        id,
                        member_id: member.map_err(|e| e.to_string())?,
                        event: event.map_err(|e| e.to_string())?,
                        dedup_key: key.map_err(|e| e.to_string())?,
                        payload: serde_json::from_str(&payload).map_err(|e| e.to_string())?,
                        received_at: at.map_err(|e| e.to_string())?.max(0) as u64,
                        status: InboxStatus::Pending,
                    })
                })();
                match parsed {
                    Ok(e) => out.push(e),
                    Err(reason) => tracing::warn!(
                        error = %corrupt("inbox", &id.to_string(), reason),
                        "skipping a corrupt inbox row"
                    ),
                }
            }
            Ok(out)
        })
    }
}

impl IdempotencyStore for SqliteStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let key = key.to_owned();
        self.boxed(move |c| {
            c.query_row(
                "SELECT result FROM idempotency WHERE key = ?1 AND expires_at > ?2",
                params![key, unix_now() as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| read_error("idempotency", &key, e))
        })
    }

    fn put<'a>(&'a self, key: &'a str, result: &'a str, expires_at: u64) -> StoreFuture<'a, ()> {
        let (key, result) = (key.to_owned(), result.to_owned());
        self.boxed(move |c| {
            c.execute(
                "INSERT INTO idempotency (key, result, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET result = ?2, expires_at = ?3",
                params![key, result, expires_at as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn purge_expired(&self) -> StoreFuture<'_, u64> {
        self.boxed(move |c| {
            c.execute(
                "DELETE FROM idempotency WHERE expires_at <= ?1",
                [unix_now() as i64],
            )
            .map(|n| n as u64)
            .map_err(backend)
        })
    }
}

fn put_letter(conn: &Connection, l: &DeadLetter) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO dead_letters (member_id, message_id, event, object_id, payload, error_code,
                                   error_message, retries, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (member_id, message_id) DO UPDATE SET event = ?3, object_id = ?4,
             payload = ?5, error_code = ?6, error_message = ?7, retries = ?8, last_seen = ?10",
        params![
            l.member_id,
            l.message_id,
            l.event,
            l.object_id,
            l.payload.to_string(),
            l.error_code,
            l.error_message,
            i64::from(l.retries),
            l.first_seen as i64,
            l.last_seen as i64
        ],
    )
    .map_err(backend)?;
    Ok(())
}

impl DeadLetterQueue for SqliteStore {
    fn put<'a>(&'a self, letter: &'a DeadLetter) -> StoreFuture<'a, ()> {
        let letter = letter.clone();
        self.boxed(move |c| put_letter(c, &letter))
    }

    fn list<'a>(
        &'a self,
        member_id: Option<&'a str>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<DeadLetter>> {
        let member = member_id.map(str::to_owned);
        self.boxed(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT member_id, message_id, event, object_id, payload, error_code,
                            error_message, retries, first_seen, last_seen
                     FROM dead_letters WHERE ?1 IS NULL OR member_id = ?1
                     ORDER BY first_seen, message_id LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![member, limit as i64], |r| {
                    let key: String = r.get::<_, String>(1).unwrap_or_default();
                    let read = || -> rusqlite::Result<(DeadLetter, String)> {
                        Ok((
                            DeadLetter {
                                member_id: r.get(0)?,
                                message_id: r.get(1)?,
                                event: r.get(2)?,
                                object_id: r.get(3)?,
                                payload: Value::Null,
                                error_code: r.get(5)?,
                                error_message: r.get(6)?,
                                retries: r.get::<_, i64>(7)?.clamp(0, i64::from(u32::MAX)) as u32,
                                first_seen: r.get::<_, i64>(8)?.max(0) as u64,
                                last_seen: r.get::<_, i64>(9)?.max(0) as u64,
                            },
                            r.get::<_, String>(4)?,
                        ))
                    };
                    Ok(read().map_err(|e| corrupt("dead_letters", &key, e)))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                match row.map_err(backend)?.and_then(|(mut l, payload)| {
                    l.payload = serde_json::from_str(&payload)
                        .map_err(|e| corrupt("dead_letters", &l.message_id, e))?;
                    Ok(l)
                }) {
                    Ok(l) => out.push(l),
                    Err(e) => tracing::warn!(error = %e, "skipping a corrupt dead letter"),
                }
            }
            Ok(out)
        })
    }

    fn remove<'a>(&'a self, member_id: &'a str, message_id: &'a str) -> StoreFuture<'a, bool> {
        let (member, message) = (member_id.to_owned(), message_id.to_owned());
        self.boxed(move |c| {
            c.execute(
                "DELETE FROM dead_letters WHERE member_id = ?1 AND message_id = ?2",
                [&member, &message],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
    }
}

fn outcome_columns(o: &Outcome) -> (&'static str, Option<String>, Option<String>) {
    match o {
        Outcome::Processed => ("processed", None, None),
        Outcome::Failed { code, message } => ("failed", Some(code.clone()), Some(message.clone())),
        Outcome::DeadLettered => ("dead", None, None),
    }
}

impl OfflineStore for SqliteStore {
    fn batches<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Vec<BatchRecord>> {
        let q = queue.clone();
        self.boxed(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT process_id, errors, state FROM offline_batches
                     WHERE member_id = ?1 AND connector = ?2 ORDER BY seq",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([&q.member_id, &q.connector], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(|e| read_error("offline_batches", &q.member_id, e))?;
            let mut out = Vec::new();
            for row in rows {
                let (pid, errors, state) =
                    row.map_err(|e| read_error("offline_batches", &q.member_id, e))?;
                let state = match state.as_str() {
                    "active" => BatchState::Active,
                    "handled" => BatchState::Handled,
                    other => {
                        return Err(corrupt(
                            "offline_batches",
                            &pid,
                            format!("unknown state `{other}`"),
                        ));
                    }
                };
                out.push(BatchRecord {
                    process_id: pid,
                    errors: errors != 0,
                    state,
                });
            }
            Ok(out)
        })
    }

    fn open_batch<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
        errors: bool,
    ) -> StoreFuture<'a, ()> {
        let (q, pid) = (queue.clone(), process_id.to_owned());
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            tx.execute(
                "INSERT OR IGNORE INTO offline_batches (member_id, connector, process_id, errors,
                                                        state, opened_at)
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
                params![
                    q.member_id,
                    q.connector,
                    pid,
                    i64::from(errors),
                    unix_now() as i64
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM offline_fetching WHERE member_id = ?1 AND connector = ?2",
                [&q.member_id, &q.connector],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    fn close_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()> {
        let (q, pid) = (queue.clone(), process_id.to_owned());
        self.boxed(move |c| {
            c.execute(
                "UPDATE offline_batches SET state = 'handled'
                 WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3",
                [&q.member_id, &q.connector, &pid],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn forget_batch<'a>(&'a self, queue: &'a QueueKey, process_id: &'a str) -> StoreFuture<'a, ()> {
        let (q, pid) = (queue.clone(), process_id.to_owned());
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            for sql in [
                "DELETE FROM offline_outcomes WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3",
                "DELETE FROM offline_batches WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3",
            ] {
                tx.execute(sql, [&q.member_id, &q.connector, &pid])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    fn outcomes<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
    ) -> StoreFuture<'a, Vec<OutcomeRecord>> {
        let (q, pid) = (queue.clone(), process_id.to_owned());
        self.boxed(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT row_id, message_id, outcome, code, message FROM offline_outcomes
                     WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3 ORDER BY row_id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([&q.member_id, &q.connector, &pid], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .map_err(|e| read_error("offline_outcomes", &pid, e))?;
            let mut out = Vec::new();
            for row in rows {
                let (row_id, mid, kind, code, message) =
                    row.map_err(|e| read_error("offline_outcomes", &pid, e))?;
                let outcome = match kind.as_str() {
                    "processed" => Outcome::Processed,
                    "dead" => Outcome::DeadLettered,
                    "failed" => Outcome::Failed {
                        code: code.unwrap_or_default(),
                        message: message.unwrap_or_default(),
                    },
                    other => {
                        return Err(corrupt(
                            "offline_outcomes",
                            &mid,
                            format!("unknown outcome `{other}`"),
                        ));
                    }
                };
                out.push(OutcomeRecord::new(row_id.max(0) as u64, mid, outcome));
            }
            Ok(out)
        })
    }

    fn record_outcome<'a>(
        &'a self,
        queue: &'a QueueKey,
        process_id: &'a str,
        outcome: &'a OutcomeRecord,
        retries: u32,
        letter: Option<&'a DeadLetter>,
    ) -> StoreFuture<'a, ()> {
        let (q, pid, rec, letter) = (
            queue.clone(),
            process_id.to_owned(),
            outcome.clone(),
            letter.cloned(),
        );
        self.boxed(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let (kind, code, message) = outcome_columns(&rec.outcome);
            tx.execute(
                "INSERT INTO offline_outcomes (member_id, connector, process_id, row_id, message_id,
                                               outcome, code, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (member_id, connector, process_id, row_id)
                 DO UPDATE SET outcome = ?6, code = ?7, message = ?8",
                params![
                    q.member_id,
                    q.connector,
                    pid,
                    rec.row_id as i64,
                    rec.message_id,
                    kind,
                    code,
                    message
                ],
            )
            .map_err(backend)?;
            if retries == 0 {
                tx.execute(
                    "DELETE FROM offline_retries WHERE member_id = ?1 AND connector = ?2 AND message_id = ?3",
                    [&q.member_id, &q.connector, &rec.message_id],
                )
                .map_err(backend)?;
            } else {
                tx.execute(
                    "INSERT INTO offline_retries (member_id, connector, message_id, count)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (member_id, connector, message_id) DO UPDATE SET count = ?4",
                    params![q.member_id, q.connector, rec.message_id, i64::from(retries)],
                )
                .map_err(backend)?;
            }
            if let Some(l) = &letter {
                put_letter(&tx, l)?;
            }
            tx.commit().map_err(backend)
        })
    }

    fn retries<'a>(&'a self, queue: &'a QueueKey, message_id: &'a str) -> StoreFuture<'a, u32> {
        let (q, mid) = (queue.clone(), message_id.to_owned());
        self.boxed(move |c| {
            c.query_row(
                "SELECT count FROM offline_retries
                 WHERE member_id = ?1 AND connector = ?2 AND message_id = ?3",
                [&q.member_id, &q.connector, &mid],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.map_or(0, |n| n.clamp(0, i64::from(u32::MAX)) as u32))
            .map_err(|e| read_error("offline_retries", &mid, e))
        })
    }

    fn set_fetching<'a>(&'a self, queue: &'a QueueKey, since: Option<u64>) -> StoreFuture<'a, ()> {
        let q = queue.clone();
        self.boxed(move |c| {
            match since {
                Some(t) => c.execute(
                    "INSERT INTO offline_fetching (member_id, connector, since) VALUES (?1, ?2, ?3)
                     ON CONFLICT (member_id, connector) DO UPDATE SET since = ?3",
                    params![q.member_id, q.connector, t as i64],
                ),
                None => c.execute(
                    "DELETE FROM offline_fetching WHERE member_id = ?1 AND connector = ?2",
                    [&q.member_id, &q.connector],
                ),
            }
            .map_err(backend)?;
            Ok(())
        })
    }

    fn fetching<'a>(&'a self, queue: &'a QueueKey) -> StoreFuture<'a, Option<u64>> {
        let q = queue.clone();
        self.boxed(move |c| {
            c.query_row(
                "SELECT since FROM offline_fetching WHERE member_id = ?1 AND connector = ?2",
                [&q.member_id, &q.connector],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.map(|v| v.max(0) as u64))
            .map_err(|e| read_error("offline_fetching", &q.member_id, e))
        })
    }
}
