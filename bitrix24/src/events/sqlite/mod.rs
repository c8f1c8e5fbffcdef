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
//! - Idempotency keys are claimed with a lease in one `BEGIN IMMEDIATE` transaction
//!   (`claims`), the one claim the policy's SQLite store uses too; the same file may hold
//!   the policy's `plans`.
//! - The file carries `PRAGMA application_id`: a SQLite database of another application is
//!   refused, never migrated.
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

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::store::{StoreError, StoreFuture, Tenant, TenantStore, unix_now};
use crate::auth::OAuthTokens;
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
    // 2: idempotency keys claimed with a lease (status, fingerprint, updated_at) and the
    // policy's plans.
    "ALTER TABLE idempotency ADD COLUMN status TEXT NOT NULL DEFAULT 'done';
     ALTER TABLE idempotency ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
     ALTER TABLE idempotency ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE plans (
        plan_id TEXT PRIMARY KEY NOT NULL, tenant TEXT NOT NULL, method TEXT NOT NULL,
        plan TEXT NOT NULL, expires_at INTEGER NOT NULL, executed_at INTEGER
     );",
];

/// `PRAGMA application_id` of our databases ("B24S"): a file of another application is
/// refused instead of being migrated.
const APPLICATION_ID: i32 = 0x4232_3453;

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

/// A write transaction that takes the write lock at once, so two processes never deadlock
/// upgrading a read lock.
pub(crate) fn immediate(c: &mut Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)
}

/// Runs each statement with the same parameters (the deletes of a purge).
fn execute_each<P: rusqlite::Params + Copy>(
    conn: &Connection,
    statements: &[&str],
    params: P,
) -> Result<(), StoreError> {
    for sql in statements {
        conn.execute(sql, params).map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn backend(e: impl fmt::Display) -> StoreError {
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
pub(crate) fn read_error(table: &'static str, key: &str, e: rusqlite::Error) -> StoreError {
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

/// Opens the database at `path` (creating it owner-only), applies pending migrations and
/// refuses a file of another application or a newer schema.
pub(crate) fn open_blocking(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
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
    let tx = immediate(conn)?;
    let version: u32 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    let app: i32 = tx
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(backend)?;
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(backend)?;
    // Ours: our application id, or (files of builds before it) a schema version; a fresh
    // file has neither and no table.
    if (app != 0 && app != APPLICATION_ID) || (app == 0 && version == 0 && tables > 0) {
        return Err(StoreError::Backend(format!(
            "not a bitrix24 store (application_id {app:#x}, user_version {version}, \
             {tables} schema objects)"
        )));
    }
    if app == 0 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(backend)?;
    }
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
            let tx = immediate(c)?;
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

    fn member_ids(&self) -> StoreFuture<'_, Vec<String>> {
        self.boxed(|c| {
            let mut stmt = c
                .prepare("SELECT member_id FROM tenants ORDER BY member_id")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            let mut ids = Vec::new();
            for row in rows {
                match row.map_err(|e| read_error("tenants", "member_id", e)) {
                    Ok(id) => ids.push(id),
                    // One unreadable key does not hide the other tenants.
                    Err(e @ StoreError::Corrupt { .. }) => {
                        tracing::warn!(error = %e, "skipping a corrupt tenant row");
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(ids)
        })
    }

    fn purge_tenant<'a>(&'a self, member_id: &'a str) -> StoreFuture<'a, bool> {
        let member = member_id.to_owned();
        self.boxed(move |c| {
            let tx = immediate(c)?;
            execute_each(
                &tx,
                &[
                    "DELETE FROM tokens WHERE member_id = ?1",
                    "DELETE FROM token_leases WHERE member_id = ?1",
                    "DELETE FROM offline_batches WHERE member_id = ?1",
                    "DELETE FROM offline_outcomes WHERE member_id = ?1",
                    "DELETE FROM offline_retries WHERE member_id = ?1",
                    "DELETE FROM offline_fetching WHERE member_id = ?1",
                ],
                [&member],
            )?;
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

pub(crate) mod claims;
mod queues;
mod tokens;

pub use tokens::SqliteTokenStore;
