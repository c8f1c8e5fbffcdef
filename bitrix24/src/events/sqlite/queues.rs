//! The inbox, idempotency, dead-letter and offline-worker tables of [`super::SqliteStore`].

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{SqliteStore, backend, claims, corrupt, execute_each, immediate, read_error};
use crate::claim::{ClaimRecord, Settlement};
use crate::events::store::{
    BatchRecord, BatchState, Claimed, DeadLetter, DeadLetterQueue, IdempotencyStore, Inbox,
    InboxEntry, InboxStatus, OfflineStore, Outcome, OutcomeRecord, OutcomeUpdate, QueueKey,
    Recorded, StoreError, StoreFuture, claim_times, claimed, unix_now,
};

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
            let tx = immediate(c)?;
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
                     WHERE status = 'pending' ORDER BY id",
                    // No LIMIT: corrupt rows are skipped and must not use up the page, or
                    // enough of them would hide every pending event behind them.
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
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
                if out.len() >= limit {
                    break;
                }
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
                "SELECT result FROM idempotency
                 WHERE key = ?1 AND status = 'done' AND expires_at > ?2",
                params![key, unix_now() as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| read_error("idempotency", &key, e))
        })
    }

    fn put<'a>(&'a self, key: &'a str, result: &'a str, expires_at: u64) -> StoreFuture<'a, ()> {
        let done = ClaimRecord::done_until(result, unix_now(), expires_at);
        let key = key.to_owned();
        self.boxed(move |c| claims::store(c, &key, &done))
    }

    fn purge_expired(&self) -> StoreFuture<'_, u64> {
        // Expired: `expires_at <= now`, as `get` reads it.
        self.boxed(move |c| claims::purge_expired(c, unix_now().saturating_add(1)))
    }

    fn claim<'a>(&'a self, key: &'a str, lease: std::time::Duration) -> StoreFuture<'a, Claimed> {
        let key = key.to_owned();
        let t = claim_times(lease);
        self.boxed(move |c| claims::claim(c, &key, "", t).map(|v| claimed(v, t.now)))
    }

    fn release<'a>(&'a self, key: &'a str, claimed_at: u64) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        self.boxed(move |c| {
            let s = Settlement {
                key: &key,
                record: None,
                claimed_at: Some(claimed_at),
            };
            claims::settle(c, s).map(|_| ())
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
            let tx = immediate(c)?;
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
            let tx = immediate(c)?;
            execute_each(
                &tx,
                &[
                    "DELETE FROM offline_outcomes WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3",
                    "DELETE FROM offline_batches WHERE member_id = ?1 AND connector = ?2 AND process_id = ?3",
                ],
                [&q.member_id, &q.connector, &pid],
            )?;
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
        update: &'a OutcomeUpdate,
    ) -> StoreFuture<'a, ()> {
        let (q, pid, rec, retries, letter) = (
            queue.clone(),
            update.process_id.clone(),
            update.record.clone(),
            update.retries,
            update.letter.clone(),
        );
        self.boxed(move |c| {
            let tx = immediate(c)?;
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
