//! [`SqliteTokenStore`]: a per-tenant token store whose refresh is single-flight across
//! processes (a lease row under `BEGIN IMMEDIATE`).

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, backend, immediate, now_ms, read_error, read_tokens, write_tokens};
use crate::auth::OAuthTokens;
use crate::error::Error;
use crate::events::store::StoreError;
use crate::secret::Secret;
use crate::token_store::TokenStore;

/// One tenant's tokens in a [`SqliteStore`], refreshed once across every process sharing the
/// database (see the module docs). Loads and saves only its own `member_id`'s row, and refuses
/// to save for a tenant that is not installed (an uninstall in between).
pub struct SqliteTokenStore {
    pub(super) store: SqliteStore,
    pub(super) member_id: String,
    pub(super) owner: String,
    /// The access token this store last loaded or saved: a stored pair that differs was
    /// refreshed by another process.
    pub(super) last_seen: Mutex<Option<Secret>>,
}

crate::debug_fields::debug_fields!(SqliteTokenStore { member_id });

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
                        let tx = immediate(c)?;
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
                    let tx = immediate(c)?;
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
