//! Several tenants in one store, drained side by side by `TenantWorkers`: each queue with its own
//! tokens, one tenant's failing portal (breaker open) or revoked tokens (fatal) holding up no
//! other tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitrix24::events::{
    HandlerError, OfflineDelivery, SqliteStore, StoreError, TenantResults, TenantStore,
    TenantWorkers, WorkerConfig, WorkerError,
};
use bitrix24::packs::core::{CrmItemAdd, Item};
use bitrix24::{Client, RetryPolicy};
use bitrix24_emulator::{Faults, RunningEmulator};

use crate::support::{app_of, client, install, portal, temp_db};
use crate::worker::fill;

type Seen = Arc<Mutex<HashMap<String, u64>>>;

fn seen_of(seen: &Seen, member_id: &str) -> u64 {
    seen.lock().unwrap().get(member_id).copied().unwrap_or(0)
}

/// Waits up to 20 s for `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A portal installed as a tenant of `store`, its offline queue filled with `n` records.
async fn tenant_with_queue(
    store: &SqliteStore,
    n: u64,
) -> (RunningEmulator, bitrix24_emulator::OAuthApp) {
    let emu = portal().await;
    let a = install(store, &emu).await;
    let c: Client = client(store, &a).await;
    fill(&c, &emu, n).await;
    (emu, a)
}

/// `N` portals installed as tenants of a fresh store (`name`), each queue filled with `n`.
async fn tenants<const N: usize>(
    name: &str,
    n: u64,
) -> (
    SqliteStore,
    [(RunningEmulator, bitrix24_emulator::OAuthApp); N],
) {
    let store = SqliteStore::open(temp_db(name)).await.unwrap();
    let mut all = Vec::new();
    for _ in 0..N {
        all.push(tenant_with_queue(&store, n).await);
    }
    let Ok(all) = all.try_into() else {
        unreachable!("N tenants")
    };
    (store, all)
}

/// Each portal's app (a local app: its own client id and secret per portal) by `member_id`.
fn apps_of(apps: &[&bitrix24_emulator::OAuthApp]) -> HashMap<String, bitrix24::OAuthApp> {
    apps.iter()
        .map(|x| (x.member_id.clone(), app_of(x)))
        .collect()
}

/// Sends the shutdown and waits (20 s at most) for what every tenant's worker came to.
async fn stop(
    stop_tx: tokio::sync::oneshot::Sender<()>,
    run: tokio::task::JoinHandle<Result<TenantResults, StoreError>>,
) -> TenantResults {
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the workers stopped")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn each_tenant_is_drained_with_its_own_tokens_and_failures_stay_with_their_tenant() {
    let n = 40;
    let (store, [(emu_a, a), (emu_b, b), (emu_c, c)]) = tenants("tenants-workers", n).await;
    // A's portal fails every request (its breaker opens); C's tokens are revoked (fatal).
    emu_a.control().set_faults(Faults {
        error_5xx_ratio: 1.0,
        ..Faults::default()
    });
    emu_c.control().expire_access_tokens();
    emu_c.control().revoke_refresh_tokens();

    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    // Each record writes back to its portal with the delivery's client (its tenant's tokens).
    let handler = move |d: OfflineDelivery| {
        let sink = Arc::clone(&sink);
        async move {
            let deal = Item::new().title(format!("synced {}", d.message_id));
            d.client
                .send(&CrmItemAdd::new(2, deal))
                .await
                .map_err(|e| HandlerError::retry(e.to_string()))?;
            *sink.lock().unwrap().entry(d.member_id).or_default() += 1;
            Ok(())
        }
    };
    let mut cfg = WorkerConfig::default();
    cfg.idle_poll = Duration::from_millis(50);
    cfg.breaker_threshold = 2;
    cfg.breaker_cooldown = Duration::from_millis(50);
    let apps = apps_of(&[&a, &b, &c]);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let workers = TenantWorkers::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        app_of(&a),
        handler,
    )
    .apps(move |member| apps[member].clone())
    // No client-side retries: A's failures reach its worker (and its breaker) at once.
    .clients(|_member| Client::builder().no_rate_limit().retry(RetryPolicy::none()))
    .config(cfg)
    .rescan(Duration::from_secs(3600));
    let run = tokio::spawn(workers.run(async {
        let _ = stop_rx.await;
    }));

    // B drains in full while A's portal is down.
    until("B's queue", || {
        seen_of(&seen, &b.member_id) == n && emu_b.control().offline_queue_len() == 0
    })
    .await;
    assert_eq!(seen_of(&seen, &a.member_id), 0);
    assert_eq!(emu_a.control().offline_queue_len() as u64, n);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A's portal recovers: its worker, still running, drains it.
    emu_a.control().set_faults(Faults::default());
    until("A's queue", || {
        seen_of(&seen, &a.member_id) == n && emu_a.control().offline_queue_len() == 0
    })
    .await;
    let results = stop(stop_tx, run).await;

    assert_eq!(results.len(), 3, "{results:?}");
    let stats_a = results[&a.member_id].as_ref().unwrap();
    let stats_b = results[&b.member_id].as_ref().unwrap();
    assert_eq!((stats_a.processed, stats_b.processed), (n, n));
    assert!(stats_a.breaker_opened >= 1, "{stats_a:?}");
    assert_eq!(stats_b.breaker_opened, 0, "A's failures opened B's breaker");
    assert!(
        matches!(results[&c.member_id], Err(WorkerError::Fatal(_))),
        "{:?}",
        results[&c.member_id]
    );
    assert_eq!(seen_of(&seen, &c.member_id), 0);
    let deals = [&emu_a, &emu_b, &emu_c].map(|e| e.control().entity_count("crm.deal") as u64);
    assert_eq!(
        deals,
        [n, n, 0],
        "a handler's write reached another tenant's portal"
    );
    assert_eq!(
        emu_c.control().offline_queue_len() as u64,
        n,
        "C's queue is untouched"
    );
    println!(
        "tenants: A {} records ({} requests, breaker opened {}), B {} records ({} requests), C fatal",
        stats_a.processed,
        stats_a.requests,
        stats_a.breaker_opened,
        stats_b.processed,
        stats_b.requests
    );
}

#[tokio::test]
async fn a_tenant_installed_while_running_gets_a_worker_and_an_uninstalled_one_is_stopped() {
    let (store, [(_emu_a, a)]) = tenants("tenants-rescan", 0).await;
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = move |d: OfflineDelivery| {
        let sink = Arc::clone(&sink);
        async move {
            *sink.lock().unwrap().entry(d.member_id).or_default() += 1;
            Ok(())
        }
    };
    let mut cfg = WorkerConfig::default();
    cfg.idle_poll = Duration::from_millis(50);
    let apps: Arc<Mutex<HashMap<String, bitrix24::OAuthApp>>> = Arc::default();
    apps.lock().unwrap().insert(a.member_id.clone(), app_of(&a));
    let lookup = Arc::clone(&apps);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        TenantWorkers::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            app_of(&a),
            handler,
        )
        .apps(move |member| lookup.lock().unwrap()[member].clone())
        .clients(|_member| Client::builder().no_rate_limit())
        .config(cfg)
        .rescan(Duration::from_millis(100))
        .run(async {
            let _ = stop_rx.await;
        }),
    );
    // B is installed after the workers started: the next rescan gives it a worker.
    let emu_b = portal().await;
    let b_app = emu_b.oauth_app();
    apps.lock()
        .unwrap()
        .insert(b_app.member_id.clone(), app_of(&b_app));
    let b = install(&store, &emu_b).await;
    fill(&client(&store, &b).await, &emu_b, 10).await;
    until("B's queue", || {
        seen_of(&seen, &b.member_id) == 10 && emu_b.control().offline_queue_len() == 0
    })
    .await;
    // B is uninstalled: its worker is stopped at the next rescan and reports how it ended.
    assert!(store.purge_tenant(&b.member_id).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after_stop = emu_b.control().request_count();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        emu_b.control().request_count(),
        after_stop,
        "the uninstalled tenant's worker still polls its portal"
    );
    let results = stop(stop_tx, run).await;
    assert_eq!(results[&b.member_id].as_ref().unwrap().processed, 10);
    assert_eq!(results[&a.member_id].as_ref().unwrap().processed, 0);
}

#[tokio::test]
async fn a_corrupt_row_stops_its_tenants_worker_only_and_loses_nothing() {
    let n = 15;
    let (store, [(emu_a, a), (emu_b, b)]) = tenants("tenants-corrupt", n).await;
    // A's worker state holds an unreadable row (a get-in-flight marker that is not a time).
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    raw.execute(
        "INSERT INTO offline_fetching (member_id, connector, since) VALUES (?1, '', 'garbage')",
        [&a.member_id],
    )
    .unwrap();
    let apps = apps_of(&[&a, &b]);
    let mut cfg = WorkerConfig::default();
    cfg.stop_when_idle = true;
    let results = tokio::time::timeout(
        Duration::from_secs(20),
        TenantWorkers::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            app_of(&a),
            |_d: OfflineDelivery| async { Ok(()) },
        )
        .apps(move |member| apps[member].clone())
        .clients(|_member| Client::builder().no_rate_limit())
        .config(cfg)
        .run(std::future::pending()),
    )
    .await
    .expect("every tenant went idle or stopped")
    .unwrap();
    assert!(
        matches!(
            &results[&a.member_id],
            Err(WorkerError::Store(StoreError::Corrupt {
                table: "offline_fetching",
                ..
            }))
        ),
        "{:?}",
        results[&a.member_id]
    );
    assert_eq!(
        emu_a.control().offline_queue_len() as u64,
        n,
        "A lost records"
    );
    assert_eq!(results[&b.member_id].as_ref().unwrap().processed, n);
    assert_eq!(emu_b.control().offline_queue_len(), 0);
}
