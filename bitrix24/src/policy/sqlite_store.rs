//! The SQLite backend of the policy's stores (feature `sqlite`): the database of
//! [`crate::events::SqliteStore`] (same file format, same versioned migrations), its `plans`
//! table, and its `idempotency` table claimed through the events' one claim implementation.
//!
//! Every change is one `BEGIN IMMEDIATE` transaction, so processes sharing the file never
//! both execute a plan nor both claim a key. A file that is not SQLite, or a SQLite database
//! of another application, is refused with [`PolicyError::Store`] naming it. Only what the
//! JSON store keeps is written: plans (method, params, hashes) and idempotency records
//! (key, params hash, response); never a token or a webhook code.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use super::PolicyError;
use super::backend::{ClaimBackend, Plan, PlanBackend, PlanEdit};
use crate::claim::{ClaimTimes, Settlement, Verdict};
use crate::events::sqlite::{Durability, claims, immediate, open_blocking};

/// One connection to the database, opened on first use.
#[derive(Debug)]
pub(crate) struct Sqlite {
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Sqlite {
    /// The database at `path`, opened (created if needed, migrated) on first use: a bad
    /// file is reported by the first call that needs it.
    pub(crate) fn lazy(path: &Path) -> Self {
        Sqlite {
            conn: Mutex::new(None),
            path: path.to_path_buf(),
        }
    }

    /// The database at `path`, opened now.
    pub(crate) fn open(path: &Path) -> Result<Self, PolicyError> {
        let db = Self::lazy(path);
        db.with(|_| Ok(()))?;
        Ok(db)
    }

    /// Runs `f` on the connection, opening it first if needed.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, PolicyError>,
    ) -> Result<T, PolicyError> {
        // A panic in another holder leaves the connection usable: every change is a
        // transaction, rolled back when it was dropped unfinished.
        let mut slot: MutexGuard<'_, Option<Connection>> = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = match &mut *slot {
            Some(c) => c,
            empty => {
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
                }
                let c = open_blocking(&self.path, Durability::Full).map_err(|e| self.err(e))?;
                empty.insert(c)
            }
        };
        f(conn)
    }

    fn err(&self, e: impl std::fmt::Display) -> PolicyError {
        PolicyError::store(&self.path, e)
    }
}

impl PlanBackend for Sqlite {
    fn insert(&self, plan: &Plan, drop_before: u64) -> Result<(), PolicyError> {
        let text = serde_json::to_string(plan).map_err(|e| self.err(e))?;
        self.with(|conn| {
            let tx = immediate(conn).map_err(|e| self.err(e))?;
            tx.execute(
                "DELETE FROM plans WHERE expires_at < ?1",
                [to_i64(drop_before)],
            )
            .map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT INTO plans (plan_id, tenant, method, plan, expires_at, executed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                params![
                    plan.plan_id,
                    plan.tenant,
                    plan.method,
                    text,
                    to_i64(plan.expires_at)
                ],
            )
            .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))
        })
    }

    fn with_plan(&self, id: &str, f: &mut PlanEdit<'_>) -> Result<Plan, PolicyError> {
        self.with(|conn| {
            let tx = immediate(conn).map_err(|e| self.err(e))?;
            let text: Option<String> = tx
                .query_row("SELECT plan FROM plans WHERE plan_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| self.err(format!("plans ({id}): {e}")))?;
            // A row that does not read back as a plan is "not found", as in the JSON store.
            let found = text.and_then(|t| serde_json::from_str::<Plan>(&t).ok());
            let (plan, changed) = f(found)?;
            if changed {
                let text = serde_json::to_string(&plan).map_err(|e| self.err(e))?;
                tx.execute(
                    "UPDATE plans SET plan = ?2, executed_at = ?3 WHERE plan_id = ?1",
                    params![plan.plan_id, text, plan.executed_at.map(to_i64)],
                )
                .map_err(|e| self.err(e))?;
            }
            tx.commit().map_err(|e| self.err(e))?;
            Ok(plan)
        })
    }
}

impl ClaimBackend for Sqlite {
    fn claim(&self, key: &str, fingerprint: &str, t: ClaimTimes) -> Result<Verdict, PolicyError> {
        self.with(|c| {
            claims::purge_expired(c, t.now).map_err(|e| self.err(e))?;
            claims::claim(c, key, fingerprint, t).map_err(|e| self.err(e))
        })
    }

    fn settle(&self, s: Settlement<'_>) -> Result<bool, PolicyError> {
        self.with(|c| claims::settle(c, s).map_err(|e| self.err(e)))
    }
}
