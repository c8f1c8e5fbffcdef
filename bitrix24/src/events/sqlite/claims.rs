//! Idempotency keys claimed with a lease in the `idempotency` table: the one SQLite
//! implementation of [`crate::claim`], used by [`super::SqliteStore`]'s
//! [`IdempotencyStore`](crate::events::IdempotencyStore) and by the policy's SQLite store.
//!
//! [`claim`] reads the key's row, applies [`decide`] and writes the claim inside one
//! `BEGIN IMMEDIATE` transaction: SQLite's write lock makes it atomic across the threads and
//! processes sharing the file.

use rusqlite::{Connection, OptionalExtension, params};

use super::{backend, immediate, read_error};
use crate::claim::{ClaimRecord, ClaimStatus, ClaimTimes, Settlement, Verdict, decide};
use crate::events::StoreError;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The stored record of `key`, if any.
pub(crate) fn record(conn: &Connection, key: &str) -> Result<Option<ClaimRecord>, StoreError> {
    let row = conn
        .query_row(
            "SELECT status, fingerprint, updated_at, expires_at, result
             FROM idempotency WHERE key = ?1",
            [key],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()
        .map_err(|e| read_error("idempotency", key, e))?;
    let Some((status, fingerprint, updated_at, expires_at, result)) = row else {
        return Ok(None);
    };
    let status = ClaimStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
        table: "idempotency",
        key: key.to_owned(),
        reason: format!("unknown status {status:?}"),
    })?;
    Ok(Some(ClaimRecord {
        status,
        fingerprint,
        updated_at: to_u64(updated_at),
        expires_at: to_u64(expires_at),
        result: (status == ClaimStatus::Done).then_some(result),
    }))
}

/// Writes the record of `key` (replacing any).
pub(crate) fn store(conn: &Connection, key: &str, r: &ClaimRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO idempotency (key, result, expires_at, status, fingerprint, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key) DO UPDATE SET result = ?2, expires_at = ?3, status = ?4,
             fingerprint = ?5, updated_at = ?6",
        params![
            key,
            r.result.as_deref().unwrap_or_default(),
            to_i64(r.expires_at),
            r.status.as_str(),
            r.fingerprint,
            to_i64(r.updated_at),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// Deletes the records that expired before `now` (an unknown outcome never expires); how
/// many.
pub(crate) fn purge_expired(conn: &Connection, now: u64) -> Result<u64, StoreError> {
    conn.execute(
        "DELETE FROM idempotency WHERE status <> 'unknown' AND expires_at < ?1",
        [to_i64(now)],
    )
    .map(|n| n as u64)
    .map_err(backend)
}

/// Claims `key` for work with `fingerprint`, atomically: reads its record, [`decide`]s and,
/// on [`Verdict::Proceed`], stores the `in_progress` claim, in one transaction (an expired
/// record counts as absent).
pub(crate) fn claim(
    conn: &mut Connection,
    key: &str,
    fingerprint: &str,
    t: ClaimTimes,
) -> Result<Verdict, StoreError> {
    let tx = immediate(conn)?;
    let verdict = decide(record(&tx, key)?.as_ref(), fingerprint, t);
    if verdict == Verdict::Proceed {
        let claimed = ClaimRecord::new(ClaimStatus::InProgress, fingerprint, None, t.now, t.ttl);
        store(&tx, key, &claimed)?;
    }
    tx.commit().map_err(backend)?;
    Ok(verdict)
}

/// Applies the settlement `s` (see [`Settlement::holds`]) in one transaction; `false` (nothing written)
/// when the claim was taken over.
pub(crate) fn settle(conn: &mut Connection, s: Settlement<'_>) -> Result<bool, StoreError> {
    let tx = immediate(conn)?;
    if !s.holds(record(&tx, s.key)?.as_ref()) {
        return Ok(false);
    }
    match s.record {
        Some(r) => store(&tx, s.key, r)?,
        None => {
            release(&tx, s.key)?;
        }
    }
    tx.commit().map_err(backend)?;
    Ok(true)
}

/// Forgets `key`; whether it was there.
pub(crate) fn release(conn: &Connection, key: &str) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM idempotency WHERE key = ?1", [key])
        .map(|n| n > 0)
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use crate::events::{Dedup, IdempotencyStore, MemoryStore, SqliteStore, StoreError};

    fn temp_db() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("b24-claims-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("events.db")
    }

    /// Concurrent first deliveries of one key through `stores`: the work runs once; every
    /// other caller gets its result or `InProgress`.
    async fn runs_once<S: IdempotencyStore + Clone>(stores: Vec<S>) {
        let ran = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = stores
            .into_iter()
            .cycle()
            .take(8)
            .map(|store| {
                let ran = Arc::clone(&ran);
                tokio::spawn(async move {
                    let dedup = Dedup::new(store, Duration::from_secs(3600));
                    dedup
                        .once("msg-1", || async move {
                            ran.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Ok::<_, String>("done".to_owned())
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => assert_eq!(r.as_deref(), Ok("done")),
                Err(e) => assert!(matches!(e, StoreError::InProgress { .. }), "{e}"),
            }
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dedup_runs_once_across_connections_and_in_memory() {
        let db = temp_db();
        let a = SqliteStore::open(&db).await.unwrap();
        let b = SqliteStore::open(&db).await.unwrap();
        runs_once(vec![a.clone(), b]).await;
        runs_once(vec![MemoryStore::new()]).await;
        // A failed run releases its key: the next delivery runs again.
        let dedup = Dedup::new(a.clone(), Duration::from_secs(3600));
        let failed = dedup
            .once("msg-2", || async { Err::<String, _>("portal down") })
            .await
            .unwrap();
        assert_eq!(failed, Err("portal down"));
        let retried = dedup
            .once("msg-2", || async { Ok::<_, String>("ok".to_owned()) })
            .await
            .unwrap();
        assert_eq!(retried.as_deref(), Ok("ok"));
    }

    /// A claim whose lease ran out is taken over; the late holder's release leaves the new
    /// claim alone.
    #[tokio::test]
    async fn a_late_release_leaves_the_new_claim_alone() {
        use crate::events::Claimed;
        let sqlite = SqliteStore::open(temp_db()).await.unwrap();
        let memory = MemoryStore::new();
        let stores: [&dyn IdempotencyStore; 2] = [&sqlite, &memory];
        let lease = Duration::from_secs(1);
        let mut first = Vec::new();
        for s in stores {
            match s.claim("k", lease).await.unwrap() {
                Claimed::Acquired { claimed_at } => first.push(claimed_at),
                other => panic!("{other:?}"),
            }
            assert_eq!(s.claim("k", lease).await.unwrap(), Claimed::Busy);
        }
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        for (s, late) in stores.into_iter().zip(first) {
            let Claimed::Acquired { claimed_at } = s.claim("k", lease).await.unwrap() else {
                panic!("not taken over");
            };
            s.release("k", late).await.unwrap();
            assert_eq!(s.claim("k", lease).await.unwrap(), Claimed::Busy);
            s.release("k", claimed_at).await.unwrap();
            assert!(matches!(
                s.claim("k", lease).await.unwrap(),
                Claimed::Acquired { .. }
            ));
        }
    }

    /// A version-1 database (before claims) migrates; its stored results still answer.
    #[tokio::test]
    async fn a_version_one_database_migrates() {
        let db = temp_db();
        {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch(super::super::MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO idempotency (key, result, expires_at) VALUES ('k', 'r', 9999999999);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&db).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 2);
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some("r"));
        let claimed = store.claim("k", Duration::from_secs(60)).await.unwrap();
        assert_eq!(claimed, crate::events::Claimed::Done("r".into()));
    }
}
