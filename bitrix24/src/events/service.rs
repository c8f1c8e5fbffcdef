//! [`EventService`]: what the HTTP callback does with one POST, independent of the web
//! framework: verify, persist, answer, then hand the event to the user's handler.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::Notify;

use super::form::FormLimits;
use super::inbound::{self, InboundEvent};
use super::install::{InstallError, Installer};
use super::payload::{EventError, Payload};
use super::store::{
    DeadLetter, DeadLetterQueue, Inbox, InboxEntry, InboxStatus, Recorded, StoreError, TenantStore,
    unix_now,
};

/// A handler's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
#[non_exhaustive]
pub struct HandlerError {
    /// A short code (stored as the dead letter's `error_code`).
    pub code: String,
    /// What happened (never put a secret here: it is stored and logged).
    pub message: String,
    /// Whether trying again cannot help: the offline worker dead-letters it at once.
    pub permanent: bool,
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn retry(message: impl Into<String>) -> Self {
        HandlerError {
            code: "HANDLER".into(),
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure no retry can fix (straight to the dead-letter queue).
    pub fn permanent(message: impl Into<String>) -> Self {
        HandlerError {
            code: "HANDLER_PERMANENT".into(),
            message: message.into(),
            permanent: true,
        }
    }

    /// Sets the code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = code.into();
        self
    }
}

/// A user's handler trait of one input (`Trait(Input)`, doc attributes first, then those of
/// `handle`), implemented for every async closure of that input.
macro_rules! handler_trait {
    ($(#[$attr:meta])* $name:ident($input:ty), $(#[$handle:meta])*) => {
        $(#[$attr])*
        pub trait $name: Send + Sync + 'static {
            $(#[$handle])*
            fn handle(&self, input: $input) -> BoxFuture<'static, Result<(), HandlerError>>;
        }

        impl<F, Fut> $name for F
        where
            F: Fn($input) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
        {
            fn handle(&self, input: $input) -> BoxFuture<'static, Result<(), HandlerError>> {
                Box::pin(self(input))
            }
        }
    };
}
pub(super) use handler_trait;

handler_trait!(
    /// The user's handler of verified online events (called after the event is persisted).
    EventHandler(InboundEvent),
    /// Handles one event.
);

/// Wake-up signals per tenant: a verified `ONOFFLINEEVENT` notifies the tenant's offline
/// worker, which then reads the queue instead of waiting for its next poll.
#[derive(Debug, Clone, Default)]
pub struct WakeupHub {
    map: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl WakeupHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// The signal of a tenant (created on first use).
    pub fn signal(&self, member_id: &str) -> Arc<Notify> {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(member_id.to_owned()).or_default())
    }

    /// Wakes a tenant's worker (remembered if it is not waiting yet).
    pub fn notify(&self, member_id: &str) {
        self.signal(member_id).notify_one();
    }
}

/// What became of an accepted POST.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// Stored in the inbox under this id; the handler runs next.
    Stored(i64),
    /// Already in the inbox (a replay): not handled again.
    Duplicate(i64),
    /// Verified but unreadable (unknown name, malformed payload): stored in the dead-letter
    /// queue, not handled.
    DeadLettered(String),
    /// A tenant was installed.
    Installed(String),
    /// A tenant was uninstalled and its secrets purged.
    Uninstalled(String),
    /// An `ONOFFLINEEVENT` woke the tenant's worker.
    Woken(String),
}

/// A refused POST, with the HTTP status to answer.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Rejected {
    /// 400, 401, 403, 413 or 503.
    pub status: u16,
    /// Why.
    pub error: InstallError,
}

impl From<InstallError> for Rejected {
    fn from(error: InstallError) -> Self {
        Rejected {
            status: error.status(),
            error,
        }
    }
}

impl From<EventError> for Rejected {
    fn from(e: EventError) -> Self {
        InstallError::Event(e).into()
    }
}

/// Verifies, persists and dispatches online events and install callbacks.
#[derive(Clone)]
pub struct EventService {
    tenants: Arc<dyn TenantStore>,
    inbox: Arc<dyn Inbox>,
    dead: Arc<dyn DeadLetterQueue>,
    handler: Arc<dyn EventHandler>,
    installer: Option<Installer>,
    wakeups: WakeupHub,
    limits: FormLimits,
    /// Inbox ids whose handler is running, so a replay never hands one over twice.
    in_flight: Arc<Mutex<HashSet<i64>>>,
}

crate::debug_fields::debug_fields!(EventService { installer, limits });

impl EventService {
    /// A service over the given stores and handler. Without an [`Installer`]
    /// ([`EventService::installer`]) `ONAPPINSTALL` is refused.
    pub fn new(
        tenants: Arc<dyn TenantStore>,
        inbox: Arc<dyn Inbox>,
        dead: Arc<dyn DeadLetterQueue>,
        handler: impl EventHandler,
    ) -> Self {
        EventService {
            tenants,
            inbox,
            dead,
            handler: Arc::new(handler),
            installer: None,
            wakeups: WakeupHub::new(),
            limits: FormLimits::default(),
            in_flight: Arc::default(),
        }
    }

    /// Handles install callbacks with `installer`.
    #[must_use]
    pub fn installer(mut self, installer: Installer) -> Self {
        self.installer = Some(installer.limits(self.limits));
        self
    }

    /// Wakes workers through this hub (share it with them).
    #[must_use]
    pub fn wakeups(mut self, hub: WakeupHub) -> Self {
        self.wakeups = hub;
        self
    }

    /// Changes the form bounds (body size, keys, depth).
    #[must_use]
    pub fn limits(mut self, limits: FormLimits) -> Self {
        self.limits = limits;
        if let Some(i) = self.installer.take() {
            self.installer = Some(i.limits(limits));
        }
        self
    }

    /// The form bounds.
    pub fn form_limits(&self) -> FormLimits {
        self.limits
    }

    /// The wake-up hub.
    pub fn wakeup_hub(&self) -> &WakeupHub {
        &self.wakeups
    }

    /// The installer, if any.
    pub fn get_installer(&self) -> Option<&Installer> {
        self.installer.as_ref()
    }

    /// Handles one event POST body: bounded parse, `application_token` check (constant time,
    /// before anything else), then by event: install, uninstall, wake-up, or inbox + handler.
    /// The handler runs on its own task after the event is stored, so the caller can answer
    /// at once.
    pub async fn accept(&self, body: &[u8]) -> Result<Accepted, Rejected> {
        let u = inbound::read(body, &self.limits).inspect_err(log_rejection)?;
        let name = u.name.to_ascii_uppercase();
        if name == "ONAPPINSTALL" {
            let Some(installer) = &self.installer else {
                return Err(InstallError::Unverified("no installer configured".into()).into());
            };
            let tenant = installer.on_app_install(body).await.inspect_err(|e| {
                tracing::warn!(error = %e, "install refused");
            })?;
            return Ok(Accepted::Installed(tenant.member_id));
        }
        let tenant = self
            .tenants
            .tenant(&u.auth.member_id)
            .await
            .map_err(|e| EventError::Store(e.to_string()))?;
        inbound::check_token(tenant.as_ref(), &u.auth).inspect_err(log_rejection)?;
        let member_id = u.auth.member_id.clone();
        if name == "ONAPPUNINSTALL" {
            self.tenants
                .purge_tenant(&member_id)
                .await
                .map_err(InstallError::from)?;
            tracing::info!(member_id = %member_id, "tenant uninstalled: secrets purged");
            return Ok(Accepted::Uninstalled(member_id));
        }
        if name == "ONOFFLINEEVENT" {
            self.wakeups.notify(&member_id);
            return Ok(Accepted::Woken(member_id));
        }
        let event = match inbound::type_event(&u) {
            Ok(event) => event,
            Err(
                e @ (EventError::UnknownEvent(_)
                | EventError::Malformed { .. }
                | EventError::MissingName),
            ) => {
                log_rejection(&e);
                let data = u.form.get("data").cloned().unwrap_or_default();
                let key = inbound::dedup_key(&member_id, &u.name, None, None, &data);
                let now = unix_now();
                let letter = DeadLetter {
                    member_id,
                    event: u.name.clone(),
                    message_id: key.clone(),
                    object_id: None,
                    payload: super::payload::scrub(&serde_json::Value::Object(u.form.clone())),
                    error_code: e.code().to_owned(),
                    error_message: e.to_string(),
                    retries: 0,
                    first_seen: now,
                    last_seen: now,
                };
                self.dead
                    .put(&letter)
                    .await
                    .map_err(|e| EventError::Store(e.to_string()))?;
                return Ok(Accepted::DeadLettered(key));
            }
            Err(e) => return Err(e.into()),
        };
        let entry = InboxEntry {
            id: 0,
            member_id,
            event: event.event.name.as_str().to_owned(),
            dedup_key: event.dedup_key.clone(),
            payload: event.scrubbed.clone(),
            received_at: unix_now(),
            status: InboxStatus::Pending,
        };
        match self
            .inbox
            .record(&entry)
            .await
            .map_err(|e| EventError::Store(e.to_string()))?
        {
            Recorded::Duplicate(id) => {
                let e = EventError::Replay {
                    event: entry.event.clone(),
                };
                log_rejection(&e);
                Ok(Accepted::Duplicate(id))
            }
            Recorded::New(id) => {
                self.dispatch(id, event);
                Ok(Accepted::Stored(id))
            }
        }
    }

    fn dispatch(&self, id: i64, event: InboundEvent) {
        if matches!(event.event.payload, Payload::OfflineWakeup) || !self.claim(id) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move { this.run_handler(id, event).await });
    }

    /// Marks an inbox entry as being handled; `false` when it already is.
    fn claim(&self, id: i64) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id)
    }

    /// Runs the handler on a claimed entry and stores its status.
    async fn run_handler(&self, id: i64, event: InboundEvent) {
        let status = match self.handler.handle(event).await {
            Ok(()) => InboxStatus::Done,
            Err(e) => {
                tracing::warn!(inbox_id = id, error = %e, "event handler failed");
                InboxStatus::Failed(e.to_string())
            }
        };
        self.finish(id, &status).await;
    }

    async fn finish(&self, id: i64, status: &InboxStatus) {
        if let Err(e) = self.inbox.finish(id, status).await {
            tracing::warn!(inbox_id = id, error = %e, "inbox status not saved");
        }
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    /// Hands the inbox entries still pending to the handler, oldest first, one at a time:
    /// events stored before the process stopped (a crash, a kill, a deploy) whose handler had
    /// not finished. Call it on start, before or while serving: an entry whose handler is
    /// running in this service is skipped. Returns how many were handed over.
    ///
    /// Delivery stays at least once: an entry whose handler ran but whose status was not saved
    /// (the process died in between) is handed over again. The replayed event is the stored
    /// one, secrets scrubbed: its auth block carries no tokens. An entry that cannot be rebuilt
    /// is marked failed with the reason, not retried forever.
    pub async fn replay_pending(&self) -> Result<usize, StoreError> {
        const PAGE: usize = 100;
        let mut seen = HashSet::new();
        let mut replayed = 0;
        loop {
            let page = self.inbox.pending(PAGE).await?;
            let fresh: Vec<InboxEntry> = page.into_iter().filter(|e| seen.insert(e.id)).collect();
            if fresh.is_empty() {
                return Ok(replayed);
            }
            for entry in fresh {
                if !self.claim(entry.id) {
                    continue;
                }
                match inbound::from_stored(&entry) {
                    Ok(event) => {
                        tracing::info!(inbox_id = entry.id, event = %entry.event, "replaying a pending event");
                        self.run_handler(entry.id, event).await;
                        replayed += 1;
                    }
                    Err(e) => {
                        log_rejection(&e);
                        self.finish(entry.id, &InboxStatus::Failed(e.to_string()))
                            .await;
                    }
                }
            }
        }
    }
}

fn log_rejection(e: &EventError) {
    tracing::warn!(code = e.code(), error = %e, "inbound event refused");
}
