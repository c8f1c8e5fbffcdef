//! [`TenantWorkers`]: the offline queues of every installed tenant, drained side by side from
//! one store.
//!
//! Each tenant gets its own [`OfflineWorker`] on its own task, with a client built from that
//! tenant's stored tokens ([`crate::events::tenant_client`]), so a call is always made with
//! the tokens of the queue it serves. A worker that stops (a fatal portal answer, a store
//! failure, tokens that cannot be read) stops for its tenant alone; a tenant's circuit breaker
//! delays only its own queue.
//!
//! Run one `TenantWorkers` per store: like [`OfflineWorker`], it assumes no other process
//! drains the same queues.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

use super::{OfflineHandler, OfflineWorker, WorkerConfig, WorkerError, WorkerStats};
use crate::auth::OAuthApp;
use crate::client::{Client, ClientBuilder};
use crate::events::service::WakeupHub;
use crate::events::store::{OfflineStore, StoreError, TenantStore};

/// Something built per tenant from its `member_id`.
type PerTenant<T> = Arc<dyn Fn(&str) -> T + Send + Sync>;

/// A tenant task's end: its `member_id` and what its worker came to.
type Ended = (String, Result<WorkerStats, WorkerError>);

/// What each tenant's last worker came to, by `member_id`.
pub type TenantResults = BTreeMap<String, Result<WorkerStats, WorkerError>>;

/// One [`OfflineWorker`] per stored tenant (see the module docs).
///
/// The tenant list is read on start and every [`TenantWorkers::rescan`]: a tenant installed
/// since gets a worker, an uninstalled one has its worker stopped, and a worker that stopped on
/// an error is started again (it finds its reserved batches in the store). With
/// [`WorkerConfig::stop_when_idle`] each tenant is drained once and [`TenantWorkers::run`]
/// returns when every queue is empty or its worker stopped.
///
/// ```no_run
/// # use std::sync::Arc;
/// # async fn demo(store: bitrix24::events::MemoryStore, app: bitrix24::OAuthApp)
/// # -> Result<(), bitrix24::events::StoreError> {
/// use bitrix24::events::{OfflineDelivery, TenantWorkers, shutdown_signal};
/// let results = TenantWorkers::new(
///     Arc::new(store.clone()),
///     Arc::new(store),
///     app,
///     |d: OfflineDelivery| async move {
///         println!("{}: {} {}", d.member_id, d.event.name, d.message_id);
///         Ok(())
///     },
/// )
/// .run(shutdown_signal())
/// .await?;
/// for (member_id, outcome) in &results {
///     println!("{member_id}: {outcome:?}");
/// }
/// # Ok(()) }
/// ```
pub struct TenantWorkers {
    tenants: Arc<dyn TenantStore>,
    store: Arc<dyn OfflineStore>,
    apps: PerTenant<OAuthApp>,
    handler: Arc<dyn OfflineHandler>,
    clients: PerTenant<ClientBuilder>,
    config: WorkerConfig,
    wakeups: Option<WakeupHub>,
    rescan: Duration,
}

crate::debug_fields::debug_fields!(TenantWorkers { config, rescan });

/// A running tenant worker: its stop signal and its task.
struct Running {
    stop: watch::Sender<bool>,
    task: Id,
}

impl TenantWorkers {
    /// Workers for every tenant of `tenants`, keeping their queue state in `store`, calling
    /// the portals as `app` and handing every record to `handler`.
    pub fn new(
        tenants: Arc<dyn TenantStore>,
        store: Arc<dyn OfflineStore>,
        app: OAuthApp,
        handler: impl OfflineHandler,
    ) -> Self {
        TenantWorkers {
            tenants,
            store,
            apps: Arc::new(move |_| app.clone()),
            handler: Arc::new(handler),
            clients: Arc::new(|_| Client::builder()),
            config: WorkerConfig::default(),
            wakeups: None,
            rescan: Duration::from_secs(30),
        }
    }

    /// Builds each tenant's client from `factory` (default: [`Client::builder`]).
    #[must_use]
    pub fn clients(
        mut self,
        factory: impl Fn(&str) -> ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.clients = Arc::new(factory);
        self
    }

    /// Calls each tenant's portal as the app `apps` returns for its `member_id`, instead of the
    /// one app given to [`TenantWorkers::new`]: a local app has its own `client_id` and secret
    /// on each portal it is installed on.
    #[must_use]
    pub fn apps(mut self, apps: impl Fn(&str) -> OAuthApp + Send + Sync + 'static) -> Self {
        self.apps = Arc::new(apps);
        self
    }

    /// The configuration of every tenant's worker.
    #[must_use]
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Wakes each tenant's worker on its `ONOFFLINEEVENT` through this hub (share it with the
    /// [`crate::events::EventService`]).
    #[must_use]
    pub fn wakeups(mut self, hub: WakeupHub) -> Self {
        self.wakeups = Some(hub);
        self
    }

    /// How often the tenant list is read again (default 30 s).
    #[must_use]
    pub fn rescan(mut self, every: Duration) -> Self {
        self.rescan = every;
        self
    }

    /// Runs until `shutdown` resolves (every worker then finishes its record in hand and
    /// reports what it handled), or, with [`WorkerConfig::stop_when_idle`], until every
    /// tenant's worker returned. Fails only when the tenant list cannot be read on start.
    pub async fn run<F>(self, shutdown: F) -> Result<TenantResults, StoreError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let this = Arc::new(self);
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut set: JoinSet<Ended> = JoinSet::new();
        let mut results = TenantResults::new();
        let mut first = true;
        tokio::pin!(shutdown);
        'scan: loop {
            match this.tenants.member_ids().await {
                Ok(ids) => this.reconcile(&ids, &mut running, &mut set, &results),
                Err(e) if first => return Err(e),
                Err(e) => tracing::warn!(error = %e, "tenant workers: tenant list not read"),
            }
            first = false;
            if set.is_empty() && this.config.stop_when_idle {
                break;
            }
            let rescan = tokio::time::sleep(this.rescan);
            tokio::pin!(rescan);
            loop {
                tokio::select! {
                    joined = set.join_next_with_id(), if !set.is_empty() => {
                        let Some(joined) = joined else { continue };
                        finished(joined, &mut running, &mut results);
                        if set.is_empty() && this.config.stop_when_idle {
                            continue 'scan;
                        }
                    }
                    () = &mut rescan => continue 'scan,
                    () = &mut shutdown => break 'scan,
                }
            }
        }
        for r in running.values() {
            let _ = r.stop.send(true);
        }
        while let Some(joined) = set.join_next_with_id().await {
            finished(joined, &mut running, &mut results);
        }
        Ok(results)
    }

    /// Stops the workers of tenants no longer stored and starts one for each stored tenant
    /// without one (in `stop_when_idle` mode, only for tenants not drained yet).
    fn reconcile(
        self: &Arc<Self>,
        ids: &[String],
        running: &mut HashMap<String, Running>,
        set: &mut JoinSet<Ended>,
        results: &TenantResults,
    ) {
        for (member_id, r) in running.iter() {
            if !ids.contains(member_id) {
                tracing::info!(member_id = %member_id, "tenant workers: tenant gone, its worker stops");
                let _ = r.stop.send(true);
            }
        }
        for member_id in ids {
            let drained = self.config.stop_when_idle && results.contains_key(member_id);
            if running.contains_key(member_id) || drained {
                continue;
            }
            let (stop, stopped) = watch::channel(false);
            let this = Arc::clone(self);
            let id = member_id.clone();
            let task = set.spawn(async move {
                let outcome = this.drain(&id, stopped).await;
                (id, outcome)
            });
            running.insert(
                member_id.clone(),
                Running {
                    stop,
                    task: task.id(),
                },
            );
        }
    }

    /// One tenant's worker, with a client of its own tokens, until `stopped` turns true.
    async fn drain(
        &self,
        member_id: &str,
        mut stopped: watch::Receiver<bool>,
    ) -> Result<WorkerStats, WorkerError> {
        let builder = (self.clients)(member_id);
        let client = crate::events::tenant_client(
            self.tenants.as_ref(),
            (self.apps)(member_id),
            member_id,
            builder,
        )
        .await
        .map_err(WorkerError::Fatal)?;
        let mut worker = OfflineWorker::shared(
            client,
            Arc::clone(&self.store),
            member_id,
            Arc::clone(&self.handler),
        )
        .config(self.config.clone());
        if let Some(hub) = &self.wakeups {
            worker = worker.wakeup(hub.signal(member_id));
        }
        worker
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    }
}

/// Records a joined tenant task.
fn finished(
    joined: Result<(Id, Ended), tokio::task::JoinError>,
    running: &mut HashMap<String, Running>,
    results: &mut TenantResults,
) {
    let (member_id, outcome) = match joined {
        Ok((_, done)) => done,
        Err(e) => {
            let id = e.id();
            let Some(member_id) = running
                .iter()
                .find(|(_, r)| r.task == id)
                .map(|(m, _)| m.clone())
            else {
                return;
            };
            (member_id, Err(WorkerError::Task(e.to_string())))
        }
    };
    match &outcome {
        Ok(stats) => {
            tracing::info!(member_id = %member_id, processed = stats.processed, "tenant workers: worker returned");
        }
        Err(e) => {
            tracing::warn!(member_id = %member_id, error = %e, "tenant workers: worker stopped");
        }
    }
    running.remove(&member_id);
    results.insert(member_id, outcome);
}
