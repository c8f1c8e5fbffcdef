//! Inbound events, app install/uninstall, durable stores and the no-loss offline worker
//! (feature `events`; the router needs `axum`, the SQLite stores `sqlite`).
//!
//! Online events (form POSTs from the portal's queue) are **not guaranteed**: the portal never
//! re-sends one that failed or timed out. Use them for latency, and the offline queue
//! ([`OfflineWorker`]) for completeness.
//!
//! - [`verify`] / [`EventService::accept`]: a bounded parse ([`FormLimits`]), the tenant's
//!   `application_token` compared in constant time **before anything else**, then a
//!   [`TypedEvent`] ([`EventName`] from the specs' catalog, [`Payload`] per event family).
//!   Each event is stored in the [`Inbox`] before its handler runs;
//!   [`EventService::replay_pending`], called on start, hands the entries a crash left
//!   unhandled to the handler.
//! - [`Installer`]: `ONAPPINSTALL`, the install POST of apps with UI, the authorization-code
//!   grant, `ONAPPUNINSTALL` (verified, then the tenant's secrets purged); `installFinish` is
//!   explained there.
//! - [`router`] (feature `axum`): the callbacks as an `axum::Router`.
//! - Stores: [`TenantStore`], [`Inbox`], [`IdempotencyStore`], [`DeadLetterQueue`],
//!   [`OfflineStore`]; [`MemoryStore`] implements them all in memory, `SqliteStore` (feature
//!   `sqlite`) durably, with a token store shared safely across processes.
//! - [`OfflineWorker`]: `event.offline.get` (`clear=0`) -> handler -> persisted outcome ->
//!   `event.offline.error` / `event.offline.clear`, at least once, with retries, a dead-letter
//!   queue, a circuit breaker and graceful shutdown.
//! - [`TenantWorkers`]: one [`OfflineWorker`] per stored tenant, each with its own tokens;
//!   one tenant's failure or open breaker does not hold up the others.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bitrix24::events::{self, FormLimits, MemoryStore, Payload, Tenant, TenantStore};
//! use bitrix24::Secret;
//! let store = MemoryStore::new();
//! let mut tenant = Tenant::new("a223c6b3710f85df22e9377d6c4f7553");
//! tenant.application_token = Some(Secret::new("51856fefc120afa4b628cc82d3935cce"));
//! store.save_tenant(&tenant, None).await?;
//! let body = "event=ONCRMDEALUPDATE&event_handler_id=201&data%5BFIELDS%5D%5BID%5D=759&ts=1736405807\
//!     &auth%5Bmember_id%5D=a223c6b3710f85df22e9377d6c4f7553\
//!     &auth%5Bapplication_token%5D=51856fefc120afa4b628cc82d3935cce";
//! let event = events::verify(&store, body.as_bytes(), &FormLimits::default()).await?;
//! let Payload::Crm(deal) = &event.event.payload else { unreachable!() };
//! assert_eq!(deal.id, 759);
//! let forged = body.replace("51856fefc120", "00000000000");
//! assert!(events::verify(&store, forged.as_bytes(), &FormLimits::default()).await.is_err());
//! # Ok(()) }
//! ```

pub mod form;
mod inbound;
mod install;
mod name;
mod payload;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
mod router;
mod service;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub(crate) mod sqlite;
mod store;
mod worker;

pub use form::{FormError, FormLimits};
pub use inbound::{InboundEvent, verify};
pub use install::{InstallCheck, InstallError, Installer, install_finish_page};
pub use name::EventName;
pub use payload::{
    AppLifecycle, AppUninstall, BotBlock, CrmEntityEvent, EventAuth, EventError, ImBotEvent,
    Payload, SECRET_KEYS, TaskEvent, TypedEvent, scrub,
};
#[cfg(feature = "axum")]
pub use router::router;
pub use service::{Accepted, EventHandler, EventService, HandlerError, Rejected, WakeupHub};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteStore, SqliteTokenStore};
pub use store::{
    BatchRecord, BatchState, Claimed, DeadLetter, DeadLetterQueue, Dedup, IdempotencyStore, Inbox,
    InboxEntry, InboxStatus, MemoryStore, OfflineStore, Outcome, OutcomeRecord, OutcomeUpdate,
    QueueKey, Recorded, StoreError, StoreFuture, Tenant, TenantStore,
};
pub use worker::{
    OfflineDelivery, OfflineHandler, OfflineWorker, TenantResults, TenantWorkers, WorkerConfig,
    WorkerError, WorkerStats, shutdown_signal, with_connector,
};

/// A client for a stored tenant: its tokens, and a token store bound to its `member_id`, so
/// refreshed tokens are saved for that tenant only (and, with `SqliteStore`, refreshed once
/// across processes).
pub async fn tenant_client(
    tenants: &dyn TenantStore,
    app: crate::auth::OAuthApp,
    member_id: &str,
    builder: crate::client::ClientBuilder,
) -> Result<crate::client::Client, crate::error::Error> {
    let tokens = tenants
        .tokens(member_id)
        .await?
        .ok_or_else(|| crate::error::Error::Config(format!("tenant {member_id} has no tokens")))?;
    let store = tenants.token_store(member_id).await?;
    builder.oauth(app, tokens).token_store(store).build()
}
