//! [`OfflineWorker`]: drains one tenant's offline event queue with no loss.
//!
//! ## The loop
//!
//! 1. `event.offline.get` with `clear=0` (and `auth_connector`): the portal **reserves** a
//!    batch under a new `process_id`, which is stored before any record is handled. A marker
//!    stored before the call says "a get is in flight": a worker that finds it on start (it
//!    died after the portal reserved a batch but before the `process_id` reached the store)
//!    looks for orphaned reservations with `event.offline.list` and adopts them.
//! 2. Each record goes to the user's handler, one at a time in queue order; its outcome
//!    (processed, failed, dead-lettered) and the message's retry count are stored in one
//!    transaction before the next record.
//! 3. `event.offline.error` for the failed `MESSAGE_ID`s (the portal sets them aside, so they
//!    do not block the queue) and `event.offline.clear` for the processed and dead-lettered
//!    `ID`s only: both in the **same batch request as the next `event.offline.get`**, so a
//!    steady drain costs about one request per batch. (A queue with an `auth_connector` sends
//!    the three calls separately: whether the portal honours `auth_connector` inside a batch's
//!    commands is unconfirmed.)
//! 4. A restart re-reads its reserved batches with `process_id` (and `clear=0`) and skips the
//!    records that already have an outcome.
//! 5. Records set aside by `event.offline.error` are fetched again with `error=1` when the main
//!    queue is empty (or every [`WorkerConfig::error_pass_every`] batches), no more often than
//!    [`WorkerConfig::error_retry_interval`]. A message that failed
//!    [`WorkerConfig::retry_budget`] times, a record that cannot be typed (unknown event,
//!    malformed data) and a [`HandlerError::permanent`] failure go to the dead-letter queue and
//!    are cleared.
//!
//! ## Delivery guarantee: at least once
//!
//! A record is cleared only after its outcome is stored, so none is lost: not on a crash, a
//! `SIGKILL`, a lost response or a shutdown. A record can reach the handler **twice** only in
//! one window: the process dies after the handler returned and before its outcome was stored
//! (one record per crash at most, since records are handled one at a time). Make the handler
//! idempotent (an upsert keyed by the object id, or [`super::Dedup`] keyed by the message id)
//! and this window does no harm. The portal itself keeps the *latest state per object* (a
//! record is merged with a newer change of the same object while unreserved), so handlers
//! should re-read the object rather than trust the record's data.
//!
//! One worker per queue (tenant + connector) at a time: orphan recovery adopts any reservation
//! this store does not know. [`TenantWorkers`] runs one per stored tenant.
//!
//! ## Stopping
//!
//! [`OfflineWorker::run`] takes a shutdown future ([`shutdown_signal`] waits for SIGTERM or
//! ctrl-c): the worker finishes the record in hand, reports what is handled and returns. A
//! fatal portal answer (`WRONG_AUTH_TYPE`, `ACCESS_DENIED`, `WRONG_LICENSE`,
//! `PAYMENT_REQUIRED`, a refused refresh token...) stops it with [`WorkerError::Fatal`];
//! [`WorkerConfig::breaker_threshold`] consecutive failures open the circuit breaker for
//! [`WorkerConfig::breaker_cooldown`] (doubling up to 8x) before it tries again.
//!
//! ## Own writes
//!
//! The portal does not queue a change an app made with the same `auth_connector` as the queue
//! (auth-events-v3 §5.1). Give the worker a [`WorkerConfig::connector`], bind the offline
//! event with the same `auth_connector`, and pass it on the handler's own writes
//! ([`with_connector`]) so they do not come back as events.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;

use super::payload::{TypedEvent, scrub};
use super::service::HandlerError;
use super::store::{
    BatchState, DeadLetter, OfflineStore, Outcome, OutcomeRecord, OutcomeUpdate, QueueKey,
    StoreError, unix_now,
};
use crate::client::Client;
use crate::error::{AuthError, Error, ErrorCode};
use crate::method::Method;
use crate::packs::core::{
    EventOfflineClear, EventOfflineError, EventOfflineGet, EventOfflineList, OfflineEventBatch,
};

mod tenants;
mod types;

pub use tenants::{TenantResults, TenantWorkers};
pub use types::{
    OfflineDelivery, OfflineHandler, WorkerConfig, WorkerError, WorkerStats, shutdown_signal,
    with_connector,
};

/// Whether an error is an answer no retry fixes.
fn is_fatal(e: &Error) -> bool {
    match e {
        Error::Config(_)
        | Error::Auth(
            AuthError::RefreshRejected { .. } | AuthError::UntrustedTokenEndpoint { .. },
        ) => true,
        _ => e.code().is_some_and(|c| {
            matches!(
                c,
                ErrorCode::WrongAuthType
                    | ErrorCode::AccessDenied
                    | ErrorCode::WrongLicense
                    | ErrorCode::PaymentRequired
                    | ErrorCode::ApplicationNotFound
                    | ErrorCode::ErrorOauth
                    | ErrorCode::PortalDeleted
                    | ErrorCode::UserAccessError
                    | ErrorCode::AuthorizationError
                    | ErrorCode::InsufficientScope
                    | ErrorCode::NoAuthFound
                    | ErrorCode::InvalidCredentials
                    | ErrorCode::InvalidClient
                    | ErrorCode::InvalidGrant
                    | ErrorCode::OverloadLimit
                    | ErrorCode::MethodConfirmDenied
            )
        }),
    }
}

/// A queue record as `event.offline.get` returns it.
struct Row {
    id: u64,
    message_id: String,
    name: String,
    data: Value,
    timestamp: Option<String>,
    user_id: Option<u64>,
}

/// The records of an `event.offline.get` answer (a record without `ID` or `MESSAGE_ID` is
/// an `Err`: it cannot be cleared or reported).
fn parse_rows(batch: OfflineEventBatch) -> Vec<Result<Row, String>> {
    batch
        .events
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let id =
                e.id.filter(|id| *id > 0)
                    .ok_or_else(|| "a queue record without a numeric ID".to_owned())?;
            let message_id = e
                .message_id
                .filter(|m| !m.is_empty())
                .ok_or_else(|| format!("record {id} has no MESSAGE_ID"))?;
            Ok(Row {
                id,
                message_id,
                name: e.event_name.unwrap_or_default(),
                data: e.event_data.unwrap_or(Value::Null),
                timestamp: e.timestamp_x.map(crate::DateTime::into_string),
                user_id: e
                    .event_additional
                    .as_ref()
                    .and_then(|a| a.get("user_id"))
                    .and_then(|u| match u {
                        Value::String(s) => s.parse().ok(),
                        Value::Number(n) => n.as_u64(),
                        _ => None,
                    }),
            })
        })
        .collect()
}

/// A shutdown future turned into a flag and a notification.
struct Stop {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Stop {
    fn new<F: Future<Output = ()> + Send + 'static>(signal: F) -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let notify = Arc::new(Notify::new());
        let (f, n) = (Arc::clone(&flag), Arc::clone(&notify));
        tokio::spawn(async move {
            signal.await;
            f.store(true, Ordering::SeqCst);
            n.notify_waiters();
        });
        Stop { flag, notify }
    }

    fn stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, or less if the stop or the wake-up comes first.
    async fn sleep(&self, d: Duration, wakeup: Option<&Arc<Notify>>) {
        if self.stopped() {
            return;
        }
        let stop = self.notify.notified();
        tokio::pin!(stop);
        stop.as_mut().enable();
        if self.stopped() {
            return;
        }
        match wakeup {
            Some(w) => {
                tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    () = &mut stop => {}
                    () = w.notified() => {}
                }
            }
            None => {
                tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    () = &mut stop => {}
                }
            }
        }
    }
}

/// Drains one tenant's offline queue (see the module docs).
pub struct OfflineWorker {
    client: Client,
    store: Arc<dyn OfflineStore>,
    handler: Arc<dyn OfflineHandler>,
    queue: QueueKey,
    config: WorkerConfig,
    wakeup: Option<Arc<Notify>>,
    stats: WorkerStats,
    /// The answer of the `event.offline.get` just sent, until its batch is handled.
    pending: Option<OfflineEventBatch>,
}

crate::debug_fields::debug_fields!(OfflineWorker {
    queue,
    config,
    stats
});

/// The re-read limit for a reserved batch (larger than any batch size in use).
const REREAD_LIMIT: i64 = 5000;
/// The most reserved batches reported in one request.
const REPORT_BATCHES: usize = 20;

impl OfflineWorker {
    /// A worker for `member_id`'s queue, calling the portal with `client` (an OAuth client of
    /// that tenant: `event.offline.*` refuse webhooks) and storing its state in `store`.
    pub fn new(
        client: Client,
        store: Arc<dyn OfflineStore>,
        member_id: impl Into<String>,
        handler: impl OfflineHandler,
    ) -> Self {
        Self::shared(client, store, member_id, Arc::new(handler))
    }

    /// [`OfflineWorker::new`] with a handler shared by several workers.
    pub(crate) fn shared(
        client: Client,
        store: Arc<dyn OfflineStore>,
        member_id: impl Into<String>,
        handler: Arc<dyn OfflineHandler>,
    ) -> Self {
        OfflineWorker {
            client,
            store,
            handler,
            queue: QueueKey {
                member_id: member_id.into(),
                connector: String::new(),
            },
            config: WorkerConfig::default(),
            wakeup: None,
            stats: WorkerStats::default(),
            pending: None,
        }
    }

    /// A worker for one portal and no tenant store: the queue of the app `client` is
    /// authorized for (a local app installed on a single portal). The queue's state in `store`
    /// is keyed by the tokens' `member_id`, or the portal host when they carry none.
    ///
    /// The offline queue belongs to an app: its methods refuse an incoming webhook with
    /// `WRONG_AUTH_TYPE`, so a worker on a webhook client returns [`WorkerError::Fatal`] from
    /// its first request, with the queue untouched.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use bitrix24::events::OfflineStore;
    /// # async fn demo(client: bitrix24::Client, store: Arc<dyn OfflineStore>)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use bitrix24::events::{OfflineDelivery, OfflineWorker, shutdown_signal};
    /// // `store`: a `SqliteStore` (feature `sqlite`) for no loss across restarts.
    /// let stats = OfflineWorker::single(client, store, |d: OfflineDelivery| async move {
    ///     println!("{} {}", d.event.name, d.message_id);
    ///     Ok(())
    /// })
    /// .run(shutdown_signal())
    /// .await?;
    /// # let _ = stats; Ok(()) }
    /// ```
    pub fn single(
        client: Client,
        store: Arc<dyn OfflineStore>,
        handler: impl OfflineHandler,
    ) -> Self {
        let member_id = client
            .oauth_tokens()
            .and_then(|t| t.member_id)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| client.portal().to_owned());
        Self::new(client, store, member_id, handler)
    }

    /// Replaces the configuration.
    #[must_use]
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.queue.connector = config.connector.clone().unwrap_or_default();
        self.config = config;
        self
    }

    /// Wakes on this signal (an `ONOFFLINEEVENT` through [`super::WakeupHub`]) instead of
    /// polling blindly.
    #[must_use]
    pub fn wakeup(mut self, signal: Arc<Notify>) -> Self {
        self.wakeup = Some(signal);
        self
    }

    /// `request` with the queue's `auth_connector` set through `set` (unchanged for the
    /// connector-less queue).
    fn on_queue<M>(&self, request: M, set: impl FnOnce(M, String) -> M) -> M {
        if self.queue.connector.is_empty() {
            request
        } else {
            set(request, self.queue.connector.clone())
        }
    }

    /// `event.offline.get` with `clear=0` on this queue.
    fn get_request(&self) -> EventOfflineGet {
        self.on_queue(EventOfflineGet::new(0), EventOfflineGet::auth_connector)
    }

    /// Runs until `shutdown` resolves (or, with [`WorkerConfig::stop_when_idle`], until the
    /// queue is empty), a fatal portal answer, or a store failure.
    pub async fn run<F>(mut self, shutdown: F) -> Result<WorkerStats, WorkerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = Stop::new(shutdown);
        let mut recover = self.store.fetching(&self.queue).await?.is_some();
        let mut errors_dirty = true;
        let mut last_error_pass: Option<Instant> = None;
        let mut since_error_pass = 0u32;
        let mut main_empty = false;
        let mut consecutive = 0u32;
        let mut cooldown = self.config.breaker_cooldown;
        loop {
            if stop.stopped() {
                break;
            }
            let step = async {
                if recover {
                    self.recover_orphans().await?;
                    recover = false;
                }
                self.resume_active(&stop).await
            }
            .await;
            if let Err(e) = step {
                match e {
                    Failure::Portal(e) if is_fatal(&e) => return Err(WorkerError::Fatal(e)),
                    Failure::Portal(e) => {
                        tracing::warn!(error = %e, "offline worker: portal call failed");
                        consecutive += 1;
                        self.breaker(&stop, &mut consecutive, &mut cooldown).await;
                        continue;
                    }
                    Failure::Store(e) => return Err(e.into()),
                }
            }
            if stop.stopped() {
                break;
            }
            let error_due = errors_dirty
                && last_error_pass.is_none_or(|t| t.elapsed() >= self.config.error_retry_interval)
                && (main_empty || since_error_pass >= self.config.error_pass_every);
            match self.fetch(error_due).await {
                Ok(Some(pid)) => {
                    consecutive = 0;
                    cooldown = self.config.breaker_cooldown;
                    if error_due {
                        last_error_pass = Some(Instant::now());
                        since_error_pass = 0;
                    } else {
                        main_empty = false;
                        since_error_pass += 1;
                    }
                    let failed_before = self.stats.failed;
                    match self.handle_batch(&pid, None, &stop).await {
                        Ok(()) => {}
                        Err(Failure::Store(e)) => return Err(e.into()),
                        Err(Failure::Portal(e)) if is_fatal(&e) => {
                            return Err(WorkerError::Fatal(e));
                        }
                        Err(Failure::Portal(e)) => {
                            tracing::warn!(error = %e, "offline worker: re-read failed");
                        }
                    }
                    if self.stats.failed > failed_before {
                        errors_dirty = true;
                    }
                }
                Ok(None) => {
                    consecutive = 0;
                    cooldown = self.config.breaker_cooldown;
                    if error_due {
                        last_error_pass = Some(Instant::now());
                        since_error_pass = 0;
                        errors_dirty = false;
                    } else {
                        main_empty = true;
                    }
                    if main_empty && !errors_dirty {
                        if self.config.stop_when_idle && self.pending_reports().await? == 0 {
                            break;
                        }
                        stop.sleep(self.config.idle_poll, self.wakeup.as_ref())
                            .await;
                        main_empty = false;
                    } else if main_empty && errors_dirty {
                        let wait = last_error_pass.map_or(Duration::ZERO, |t| {
                            self.config.error_retry_interval.saturating_sub(t.elapsed())
                        });
                        if !wait.is_zero() {
                            stop.sleep(wait.min(self.config.idle_poll), self.wakeup.as_ref())
                                .await;
                        }
                    }
                }
                Err(Failure::Store(e)) => return Err(e.into()),
                Err(Failure::Portal(e)) if is_fatal(&e) => return Err(WorkerError::Fatal(e)),
                Err(Failure::Portal(e)) => {
                    tracing::warn!(error = %e, "offline worker: event.offline.get failed");
                    if self.store.fetching(&self.queue).await?.is_some() {
                        recover = true;
                    }
                    consecutive += 1;
                    self.breaker(&stop, &mut consecutive, &mut cooldown).await;
                }
            }
        }
        // Report what is handled before leaving (best effort: a restart reports it otherwise).
        if let Err(Failure::Store(e)) = self.report_only().await {
            return Err(e.into());
        }
        Ok(self.stats)
    }

    /// Backs off after a failure; opens the breaker at the threshold.
    async fn breaker(&mut self, stop: &Stop, consecutive: &mut u32, cooldown: &mut Duration) {
        if *consecutive >= self.config.breaker_threshold.max(1) {
            self.stats.breaker_opened += 1;
            tracing::warn!(
                failures = *consecutive,
                cooldown_ms = cooldown.as_millis() as u64,
                "offline worker: circuit breaker open"
            );
            stop.sleep(*cooldown, None).await;
            *cooldown = (*cooldown * 2).min(self.config.breaker_cooldown * 8);
            *consecutive = self.config.breaker_threshold.saturating_sub(1);
        } else {
            let backoff = Duration::from_millis(100u64 << (*consecutive).min(6));
            stop.sleep(backoff, None).await;
        }
    }

    async fn pending_reports(&self) -> Result<usize, StoreError> {
        Ok(self.store.batches(&self.queue).await?.len())
    }

    /// Re-handles reserved batches that are still active (a restart, or an interrupted one).
    async fn resume_active(&mut self, stop: &Stop) -> Result<(), Failure> {
        let active: Vec<_> = self
            .store
            .batches(&self.queue)
            .await?
            .into_iter()
            .filter(|b| b.state == BatchState::Active)
            .collect();
        for b in active {
            if stop.stopped() {
                return Ok(());
            }
            let reread = self
                .get_request()
                .process_id(b.process_id.clone())
                .error(i64::from(b.errors))
                .limit(REREAD_LIMIT);
            let reread = self.send(&reread).await?;
            self.handle_batch(&b.process_id, Some(reread), stop).await?;
        }
        Ok(())
    }

    async fn send<M: Method>(&mut self, request: &M) -> Result<M::Response, Error> {
        self.stats.requests += 1;
        self.client.send(request).await
    }

    /// Reports handled batches (without fetching).
    async fn report_only(&mut self) -> Result<(), Failure> {
        let handled = self.handled_batches().await?;
        if handled.is_empty() {
            return Ok(());
        }
        if !self.queue.connector.is_empty() {
            return self.report_separately(&handled).await;
        }
        let mut batch = self.client.batch();
        let keys = self.add_reports(&mut batch, &handled).await?;
        self.stats.requests += 1;
        let results = batch.send().await?;
        self.settle_reports(&results, &keys).await
    }

    /// Reports handled batches with one `event.offline.error` and one `event.offline.clear`
    /// call each (connector queues).
    async fn report_separately(&mut self, handled: &[String]) -> Result<(), Failure> {
        for pid in handled {
            let (error, clear) = self.reports(pid).await?;
            if let Some(r) = error {
                self.send(&r).await?;
            }
            if let Some(r) = clear {
                self.send(&r).await?;
            }
            self.store.forget_batch(&self.queue, pid).await?;
        }
        Ok(())
    }

    /// The params of a handled batch's reports: `event.offline.error` for the failed message
    /// ids and `event.offline.clear` for the processed and dead-lettered row ids (each `None`
    /// when it has nothing to say).
    async fn reports(
        &self,
        pid: &str,
    ) -> Result<(Option<EventOfflineError>, Option<EventOfflineClear>), Failure> {
        let outcomes = self.store.outcomes(&self.queue, pid).await?;
        let failed: BTreeSet<String> = outcomes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Failed { .. }))
            .map(|o| o.message_id.clone())
            .collect();
        let cleared: Vec<u64> = outcomes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Processed | Outcome::DeadLettered))
            .map(|o| o.row_id)
            .filter(|id| *id > 0)
            .collect();
        let error = (!failed.is_empty()).then(|| {
            self.on_queue(
                EventOfflineError::new(pid).message_id(failed.into_iter().collect::<Vec<_>>()),
                EventOfflineError::auth_connector,
            )
        });
        let clear = (!cleared.is_empty()).then(|| {
            self.on_queue(
                EventOfflineClear::new(pid).id(cleared),
                EventOfflineClear::auth_connector,
            )
        });
        Ok((error, clear))
    }

    async fn handled_batches(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .batches(&self.queue)
            .await?
            .into_iter()
            .filter(|b| b.state == BatchState::Handled)
            .take(REPORT_BATCHES)
            .map(|b| b.process_id)
            .collect())
    }

    /// Adds `event.offline.error` (failed message ids) and `event.offline.clear` (processed and
    /// dead-lettered ids) per handled batch; returns `(process_id, error key, clear key)`.
    async fn add_reports(
        &self,
        batch: &mut crate::batch::Batch<'_>,
        handled: &[String],
    ) -> Result<Vec<(String, Option<String>, Option<String>)>, Failure> {
        let mut keys = Vec::new();
        for (i, pid) in handled.iter().enumerate() {
            let (error, clear) = self.reports(pid).await?;
            let error_key = match error {
                Some(r) => Some(batch.add_named(&format!("e{i}"), &r)?.key().to_owned()),
                None => None,
            };
            let clear_key = match clear {
                Some(r) => Some(batch.add_named(&format!("c{i}"), &r)?.key().to_owned()),
                None => None,
            };
            keys.push((pid.clone(), error_key, clear_key));
        }
        Ok(keys)
    }

    async fn settle_reports(
        &self,
        results: &crate::batch::BatchResults,
        keys: &[(String, Option<String>, Option<String>)],
    ) -> Result<(), Failure> {
        for (pid, error_key, clear_key) in keys {
            let ok = |k: &Option<String>| k.as_ref().is_none_or(|k| results.raw(k).is_some());
            if ok(error_key) && ok(clear_key) {
                self.store.forget_batch(&self.queue, pid).await?;
            } else {
                tracing::warn!(process_id = %pid, "offline worker: clear/error not confirmed; retried with the next request");
            }
        }
        Ok(())
    }

    /// One request: the reports of handled batches plus the next `event.offline.get`.
    /// `Some(process_id)` when a batch was reserved (and stored).
    async fn fetch(&mut self, errors: bool) -> Result<Option<String>, Failure> {
        let handled = self.handled_batches().await?;
        let mut request = self
            .get_request()
            .limit(i64::from(self.config.batch_size.max(1)));
        if errors {
            request = request.error(1);
        }
        let answer = if self.queue.connector.is_empty() {
            let mut batch = self.client.batch();
            let keys = self.add_reports(&mut batch, &handled).await?;
            let get = batch.add_named("get", &request)?;
            self.store
                .set_fetching(&self.queue, Some(unix_now()))
                .await?;
            self.stats.requests += 1;
            let results = batch.send().await?;
            self.settle_reports(&results, &keys).await?;
            results.get(&get)
        } else {
            // `auth_connector` is an auth-level parameter: whether the portal honours it on a
            // batch's commands is unconfirmed (the emulator reads it per request only), so a
            // connector queue sends its calls one by one.
            self.report_separately(&handled).await?;
            self.store
                .set_fetching(&self.queue, Some(unix_now()))
                .await?;
            self.send(&request).await
        };
        let result = match answer {
            Ok(v) => v,
            Err(e) => {
                // The command itself failed: nothing was reserved.
                if matches!(e, Error::Api(_)) {
                    self.store.set_fetching(&self.queue, None).await?;
                }
                return Err(e.into());
            }
        };
        let pid = result.process_id.clone().filter(|s| !s.is_empty());
        let empty = result.events.as_ref().is_none_or(Vec::is_empty);
        match pid {
            Some(pid) if !empty => {
                self.store.open_batch(&self.queue, &pid, errors).await?;
                self.stats.batches += 1;
                self.pending = Some(result);
                Ok(Some(pid))
            }
            _ => {
                self.store.set_fetching(&self.queue, None).await?;
                Ok(None)
            }
        }
    }

    /// Handles a reserved batch: `rows` is its `event.offline.get` answer (the one just
    /// fetched when `None`).
    async fn handle_batch(
        &mut self,
        pid: &str,
        rows: Option<OfflineEventBatch>,
        stop: &Stop,
    ) -> Result<(), Failure> {
        let result = match rows {
            Some(r) => r,
            None => self.pending.take().unwrap_or_default(),
        };
        let known: BTreeMap<u64, OutcomeRecord> = self
            .store
            .outcomes(&self.queue, pid)
            .await?
            .into_iter()
            .map(|o| (o.row_id, o))
            .collect();
        for row in parse_rows(result) {
            if stop.stopped() {
                return Ok(());
            }
            let row = match row {
                Ok(r) => r,
                Err(reason) => {
                    // Without an ID the record cannot be cleared by id; it stays reserved and
                    // the portal's clean-up removes it.
                    tracing::warn!(process_id = %pid, %reason, "offline worker: unreadable queue record skipped");
                    continue;
                }
            };
            if known.contains_key(&row.id) {
                self.stats.already_handled += 1;
                continue;
            }
            self.handle_row(pid, row).await?;
        }
        self.store.close_batch(&self.queue, pid).await?;
        Ok(())
    }

    async fn handle_row(&mut self, pid: &str, row: Row) -> Result<(), Failure> {
        let retries = self.store.retries(&self.queue, &row.message_id).await?;
        let now = unix_now();
        let letter =
            |code: &str, message: String, tries: u32, event: Option<&TypedEvent>| DeadLetter {
                member_id: self.queue.member_id.clone(),
                event: row.name.clone(),
                message_id: row.message_id.clone(),
                object_id: event.and_then(TypedEvent::object_id),
                payload: scrub(&row.data),
                error_code: code.to_owned(),
                error_message: message,
                retries: tries,
                first_seen: now,
                last_seen: now,
            };
        let typed = match TypedEvent::parse(&row.name, &row.data) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(message_id = %row.message_id, code = e.code(), error = %e, "offline worker: record dead-lettered");
                let dl = letter(e.code(), e.to_string(), retries, None);
                let rec = OutcomeRecord::new(row.id, row.message_id.clone(), Outcome::DeadLettered);
                let update = OutcomeUpdate::new(pid, rec).letter(Some(dl));
                self.store.record_outcome(&self.queue, &update).await?;
                self.stats.dead_lettered += 1;
                return Ok(());
            }
        };
        let delivery = OfflineDelivery {
            member_id: self.queue.member_id.clone(),
            connector: self.queue.connector.clone(),
            row_id: row.id,
            message_id: row.message_id.clone(),
            event: typed.clone(),
            timestamp: row.timestamp.clone(),
            user_id: row.user_id,
            attempt: retries + 1,
            client: self.client.clone(),
        };
        let handler = Arc::clone(&self.handler);
        let task = tokio::spawn(async move { handler.handle(delivery).await });
        let failure = match tokio::time::timeout(self.config.handler_timeout, task).await {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => Some(e),
            Ok(Err(join)) => Some(
                HandlerError::retry(format!("the handler panicked: {join}"))
                    .with_code("HANDLER_PANIC"),
            ),
            Err(_) => {
                Some(HandlerError::retry("the handler timed out").with_code("HANDLER_TIMEOUT"))
            }
        };
        let (outcome, count, dl) = match failure {
            None => {
                self.stats.processed += 1;
                (Outcome::Processed, 0, None)
            }
            Some(e) => {
                let tries = retries + 1;
                if e.permanent || tries >= self.config.retry_budget.max(1) {
                    tracing::warn!(message_id = %row.message_id, tries, error = %e, "offline worker: message dead-lettered");
                    self.stats.dead_lettered += 1;
                    (
                        Outcome::DeadLettered,
                        0,
                        Some(letter(&e.code, e.message.clone(), tries, Some(&typed))),
                    )
                } else {
                    tracing::info!(message_id = %row.message_id, tries, error = %e, "offline worker: handler failed; retried later");
                    self.stats.failed += 1;
                    (
                        Outcome::Failed {
                            code: e.code.clone(),
                            message: e.message.clone(),
                        },
                        tries,
                        None,
                    )
                }
            }
        };
        let rec = OutcomeRecord::new(row.id, row.message_id.clone(), outcome);
        let update = OutcomeUpdate::new(pid, rec).retries(count).letter(dl);
        self.store.record_outcome(&self.queue, &update).await?;
        Ok(())
    }

    /// Finds reservations this store does not know (a crash between the portal reserving a
    /// batch and its `process_id` being stored) with `event.offline.list` and adopts them.
    async fn recover_orphans(&mut self) -> Result<(), Failure> {
        let known: HashSet<String> = self
            .store
            .batches(&self.queue)
            .await?
            .into_iter()
            .map(|b| b.process_id)
            .collect();
        let mut orphans: BTreeMap<String, bool> = BTreeMap::new();
        let mut start = 0u64;
        loop {
            let request = self.on_queue(
                EventOfflineList::new().start(start as i64),
                EventOfflineList::auth_connector,
            );
            self.stats.requests += 1;
            let page = self.client.send_full(&request).await?;
            let rows = page.result;
            for r in &rows {
                let pid = r.process_id.as_deref().unwrap_or("");
                if !pid.is_empty() && !known.contains(pid) {
                    orphans
                        .entry(pid.to_owned())
                        .or_insert(r.error.unwrap_or(false));
                }
            }
            match page.next {
                Some(next) if next > start && !rows.is_empty() => start = next,
                _ => break,
            }
        }
        for (pid, errors) in &orphans {
            tracing::warn!(process_id = %pid, "offline worker: adopting an orphaned reservation");
            self.store.open_batch(&self.queue, pid, *errors).await?;
            self.stats.orphans_adopted += 1;
        }
        self.store.set_fetching(&self.queue, None).await?;
        Ok(())
    }
}

/// A failed step: the portal (maybe retried later) or the store (stops the worker).
enum Failure {
    Portal(Error),
    Store(StoreError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Portal(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}
