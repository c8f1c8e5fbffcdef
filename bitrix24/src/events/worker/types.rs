//! The worker's configuration, handler trait, statistics and errors.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::events::payload::TypedEvent;
use crate::events::service::{HandlerError, handler_trait};
use crate::events::store::StoreError;

/// How the worker behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// The `auth_connector` of the queue (`None`: the connector-less queue).
    pub connector: Option<String>,
    /// `limit` of each `event.offline.get` (default 50, the portal's default).
    pub batch_size: u32,
    /// Failures of one message before it goes to the dead-letter queue (default 5).
    pub retry_budget: u32,
    /// How long one handler call may take before it counts as failed (default 60 s).
    pub handler_timeout: Duration,
    /// How long to wait on an empty queue before reading it again (default 30 s; a
    /// `ONOFFLINEEVENT` wake-up ends the wait early).
    pub idle_poll: Duration,
    /// Least time between two passes over the records set aside by `event.offline.error`
    /// (default 10 s).
    pub error_retry_interval: Duration,
    /// Also make an error pass after this many batches while the queue is busy (default 20).
    pub error_pass_every: u32,
    /// Consecutive failed portal calls that open the circuit breaker (default 5).
    pub breaker_threshold: u32,
    /// How long the breaker stays open first (default 30 s; doubles while failures continue,
    /// up to 8x).
    pub breaker_cooldown: Duration,
    /// Return once the queue and the set-aside records are empty, instead of waiting for more
    /// (batch jobs, tests).
    pub stop_when_idle: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            connector: None,
            batch_size: 50,
            retry_budget: 5,
            handler_timeout: Duration::from_secs(60),
            idle_poll: Duration::from_secs(30),
            error_retry_interval: Duration::from_secs(10),
            error_pass_every: 20,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            stop_when_idle: false,
        }
    }
}

/// One queue record handed to the handler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OfflineDelivery {
    /// The tenant.
    pub member_id: String,
    /// The queue's `auth_connector` (empty for none): pass it on the handler's own writes.
    pub connector: String,
    /// The record's `ID`.
    pub row_id: u64,
    /// The record's `MESSAGE_ID` (stable for the same event and data: a dedup key).
    pub message_id: String,
    /// The typed event.
    pub event: TypedEvent,
    /// `TIMESTAMP_X`.
    pub timestamp: Option<String>,
    /// `EVENT_ADDITIONAL.user_id`: who made the change.
    pub user_id: Option<u64>,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
    /// The worker's client: the tenant's own tokens. Make the handler's portal calls (re-read
    /// the object, write back with [`with_connector`]) with it, so that they reach this
    /// record's portal and no other.
    pub client: crate::client::Client,
}

handler_trait!(
    /// The user's handler of offline records.
    OfflineHandler(OfflineDelivery),
    /// Handles one record. An error is retried up to the budget (unless permanent).
);

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Records the handler processed.
    pub processed: u64,
    /// Handler failures within the budget (reported with `event.offline.error`).
    pub failed: u64,
    /// Records sent to the dead-letter queue.
    pub dead_lettered: u64,
    /// Records skipped because their outcome was already stored (re-read after a restart).
    pub already_handled: u64,
    /// Batches reserved.
    pub batches: u64,
    /// HTTP requests sent to the portal (a batch request counts once).
    pub requests: u64,
    /// Orphaned reservations adopted after a crash during `event.offline.get`.
    pub orphans_adopted: u64,
    /// Times the circuit breaker opened.
    pub breaker_opened: u64,
}

/// Why the worker stopped before its shutdown signal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The portal answered something no retry fixes (the queue is untouched).
    #[error("fatal portal answer: {0}")]
    Fatal(Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker's task panicked or was cancelled ([`super::TenantWorkers`]).
    #[error("worker task failed: {0}")]
    Task(String),
}

/// `params` with `auth_connector` set: for the handler's own writes, so the portal does not
/// queue them back to this worker's queue.
///
/// ```
/// let p = bitrix24::events::with_connector(serde_json::json!({"id": 1}), "sync");
/// assert_eq!(p["auth_connector"], "sync");
/// ```
pub fn with_connector(params: Value, connector: &str) -> Value {
    let mut map = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if !connector.is_empty() {
        map.insert("auth_connector".into(), Value::String(connector.to_owned()));
    }
    Value::Object(map)
}

/// Resolves on SIGTERM or ctrl-c (SIGINT): pass it to [`super::OfflineWorker::run`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
