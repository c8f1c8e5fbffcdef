//! The offline worker in one process against the emulator: the poison event, throughput at
//! the portal's limit, the ONOFFLINEEVENT wake-up (and a forged one), the fatal breaker.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bitrix24::events::{
    DeadLetterQueue, Durability, EventService, HandlerError, OfflineDelivery, OfflineHandler,
    OfflineWorker, Payload, SqliteStore, WakeupHub, WorkerConfig, WorkerError, WorkerStats, router,
};
use bitrix24::packs::core::EventBind;
use bitrix24_emulator::{Emulator, Limits};
use serde_json::json;

use crate::support::{client, env_num, install, portal, serve, temp_db};

/// Binds the offline queue and fills it with `n` deal updates (one record each).
pub async fn fill(c: &bitrix24::Client, emu: &bitrix24_emulator::RunningEmulator, n: u64) {
    c.call(
        "event.bind",
        json!({"event": "ONCRMDEALUPDATE", "event_type": "offline"}),
    )
    .await
    .unwrap();
    let control = emu.control();
    for i in 1..=n {
        control.emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": i.to_string()}}));
    }
    assert_eq!(control.offline_queue_len() as u64, n);
}

fn deal_id(d: &OfflineDelivery) -> u64 {
    match &d.event.payload {
        Payload::Crm(c) => c.id,
        other => panic!("{other:?}"),
    }
}

/// A portal's app installed as a tenant of a fresh SQLite store (`name`), and its client.
async fn tenant(
    emu: &bitrix24_emulator::RunningEmulator,
    name: &str,
) -> (SqliteStore, bitrix24_emulator::OAuthApp, bitrix24::Client) {
    let store = SqliteStore::open_with(temp_db(name), Durability::Normal)
        .await
        .unwrap();
    let a = install(&store, emu).await;
    let c = client(&store, &a).await;
    (store, a, c)
}

/// Runs a worker on the tenant's queue until `cfg` stops it.
async fn drain(
    c: bitrix24::Client,
    store: &SqliteStore,
    member_id: &str,
    cfg: WorkerConfig,
    handler: impl OfflineHandler,
) -> Result<WorkerStats, WorkerError> {
    OfflineWorker::new(c, Arc::new(store.clone()), member_id, handler)
        .config(cfg)
        .run(std::future::pending())
        .await
}

/// A handler that counts the records it got.
fn counting() -> (Arc<AtomicU64>, impl OfflineHandler) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let handler = move |_d: OfflineDelivery| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    };
    (count, handler)
}

fn drain_config() -> WorkerConfig {
    let mut cfg = WorkerConfig::default();
    cfg.retry_budget = 3;
    cfg.error_retry_interval = Duration::from_millis(20);
    cfg.stop_when_idle = true;
    cfg
}

#[tokio::test]
async fn poison_event_lands_in_the_dlq_and_the_rest_are_processed() {
    let n = env_num("B24_POISON_EVENTS", 2_000);
    let poison = n / 2;
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "poison").await;
    fill(&c, &emu, n).await;
    let handled = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&handled);
    let handler = move |d: OfflineDelivery| {
        let seen = Arc::clone(&seen);
        async move {
            if deal_id(&d) == poison {
                return Err(HandlerError::retry(format!("cannot sync deal {poison}")));
            }
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    };
    let stats = drain(c, &store, &a.member_id, drain_config(), handler)
        .await
        .unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), n - 1);
    assert_eq!(stats.processed, n - 1);
    assert_eq!(stats.dead_lettered, 1);
    assert_eq!(stats.failed, 2, "budget 3: two set-asides, then the DLQ");
    assert_eq!(emu.control().offline_queue_len(), 0, "everything cleared");
    let dead = store.list(Some(&a.member_id), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!((d.event.as_str(), d.retries), ("ONCRMDEALUPDATE", 3));
    assert_eq!(d.object_id.as_deref(), Some(poison.to_string().as_str()));
    assert_eq!(d.error_code, "HANDLER");
    assert_eq!(d.message_id.len(), 32);
    println!(
        "poison: {n} events, {} processed, 1 dead letter after {} tries, {} requests",
        stats.processed, d.retries, stats.requests
    );
}

#[tokio::test]
async fn malformed_records_go_straight_to_the_dlq() {
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "malformed").await;
    fill(&c, &emu, 3).await;
    emu.control()
        .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": "not-a-number"}}));
    emu.control().register_event("ONUNKNOWNTHING");
    c.call(
        "event.bind",
        json!({"event": "ONUNKNOWNTHING", "event_type": "offline"}),
    )
    .await
    .unwrap();
    emu.control()
        .emit_event("ONUNKNOWNTHING", json!({"X": "1"}));
    let stats = drain(c, &store, &a.member_id, drain_config(), |_d| async {
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(
        (stats.processed, stats.dead_lettered, stats.failed),
        (3, 2, 0)
    );
    let codes: Vec<String> = store
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.error_code)
        .collect();
    assert!(codes.contains(&"MALFORMED".into()) && codes.contains(&"UNKNOWN_EVENT".into()));
    assert_eq!(emu.control().offline_queue_len(), 0);
}

/// Throughput at the Standard plan's limit (2 requests/s, bucket of 50), in emulator time
/// sped up 20x so the test stays short; the number that matters is requests per event.
#[tokio::test]
async fn throughput_at_the_portal_limit() {
    let n = env_num("B24_THROUGHPUT_EVENTS", 10_000);
    let batch = env_num("B24_THROUGHPUT_BATCH", 50) as u32;
    let emu = Emulator::builder()
        .limits(Limits::Standard)
        .time_scale(20.0)
        .start()
        .await
        .unwrap();
    let (store, a, c) = tenant(&emu, "throughput").await;
    fill(&c, &emu, n).await;
    let before = emu.control().request_count();
    let started = Instant::now();
    let mut cfg = drain_config();
    cfg.batch_size = batch;
    let stats = drain(c, &store, &a.member_id, cfg, |_d| async { Ok(()) })
        .await
        .unwrap();
    let requests = emu.control().request_count() - before;
    assert_eq!(stats.processed, n);
    assert_eq!(emu.control().offline_queue_len(), 0);
    println!(
        "throughput: {n} events, batch {batch}, {requests} portal requests ({:.4} per event), \
         worker counted {}, {:.1} s wall at 20x emulator time",
        requests as f64 / n as f64,
        stats.requests,
        started.elapsed().as_secs_f64()
    );
    assert!(requests <= n / u64::from(batch) + 10, "{requests} requests");
}

#[tokio::test]
async fn offline_wakeup_and_forged_wakeup() {
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "wakeup").await;
    let hub = WakeupHub::new();
    let svc = EventService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        |_e| async { Ok(()) },
    )
    .wakeups(hub.clone());
    let addr = serve(router(svc)).await;
    // A forged ping (wrong token) is refused and wakes nothing.
    let forged = format!(
        "event=ONOFFLINEEVENT&ts=1&auth%5Bmember_id%5D={}&auth%5Bapplication_token%5D=forged",
        a.member_id
    );
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/events"))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The worker waits on the signal (a 1-hour poll): only the portal's ping wakes it.
    c.call(
        "event.bind",
        json!({"event": "ONOFFLINEEVENT", "handler": format!("http://{addr}/events"), "options": {"minTimeout": 0}}),
    )
    .await
    .unwrap();
    let (got, counter) = counting();
    let mut cfg = WorkerConfig::default();
    cfg.idle_poll = Duration::from_secs(3600);
    cfg.error_retry_interval = Duration::from_millis(10);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = OfflineWorker::new(
        c.clone(),
        Arc::new(store.clone()),
        a.member_id.clone(),
        counter,
    )
    .config(cfg)
    .wakeup(hub.signal(&a.member_id))
    .run(async {
        let _ = stop_rx.await;
    });
    let task = tokio::spawn(worker);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(got.load(Ordering::SeqCst), 0);
    fill(&c, &emu, 5).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.load(Ordering::SeqCst) < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.load(Ordering::SeqCst), 5, "woken by ONOFFLINEEVENT");
    // Graceful shutdown: the handled batch is reported before the worker returns.
    stop_tx.send(()).unwrap();
    let stats = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stats.processed, 5);
    assert_eq!(emu.control().offline_queue_len(), 0);
}

#[tokio::test]
async fn fatal_answers_stop_the_worker_untouched() {
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "fatal").await;
    fill(&c, &emu, 3).await;
    emu.control().expire_access_tokens();
    emu.control().revoke_refresh_tokens();
    let err = drain(c, &store, &a.member_id, drain_config(), |_d| async {
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(matches!(err, WorkerError::Fatal(_)), "{err:?}");
    assert_eq!(emu.control().offline_queue_len(), 3, "nothing lost");
}

#[tokio::test]
async fn connector_queue_does_not_echo_the_workers_own_writes() {
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "connector").await;
    c.call(
        "event.bind",
        json!({"event": "ONCRMDEALUPDATE", "event_type": "offline", "auth_connector": "sync"}),
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = c
            .call(
                "crm.deal.add",
                json!({"fields": {"TITLE": format!("d{i}")}}),
            )
            .await
            .unwrap();
        c.call(
            "crm.deal.update",
            json!({"id": id, "fields": {"TITLE": "changed"}}),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    assert_eq!(emu.control().offline_queue_len(), 5);
    let writer = c.clone();
    let handler = move |d: OfflineDelivery| {
        let writer = writer.clone();
        async move {
            // The handler's own write, with the queue's connector: not queued back.
            writer
                .call(
                    "crm.deal.update",
                    bitrix24::events::with_connector(
                        json!({"id": deal_id(&d), "fields": {"COMMENTS": "synced"}}),
                        &d.connector,
                    ),
                )
                .await
                .map_err(|e| HandlerError::retry(e.to_string()))?;
            Ok(())
        }
    };
    let mut cfg = drain_config();
    cfg.connector = Some("sync".into());
    let stats = drain(c, &store, &a.member_id, cfg, handler).await.unwrap();
    assert_eq!(
        stats.processed, 5,
        "each change once, no echo of the handler's writes"
    );
    assert_eq!(emu.control().offline_queue_len(), 0);
}

/// An OAuth client of the emulator's app on its one portal, with no tenant store.
fn local_app_client(emu: &bitrix24_emulator::RunningEmulator) -> bitrix24::Client {
    crate::support::app_builder(emu)
        .no_rate_limit()
        .build()
        .unwrap()
}

/// A single-portal worker on `c` until idle (database `name`); its result and how many records
/// its handler got.
async fn drain_single(c: bitrix24::Client, name: &str) -> (Result<WorkerStats, WorkerError>, u64) {
    let store = SqliteStore::open(temp_db(name)).await.unwrap();
    let (got, handler) = counting();
    let stats = OfflineWorker::single(c, Arc::new(store), handler)
        .config(drain_config())
        .run(std::future::pending())
        .await;
    (stats, got.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_single_portal_worker_needs_only_a_client() {
    let emu = portal().await;
    let c = local_app_client(&emu);
    fill(&c, &emu, 20).await;
    let (stats, got) = drain_single(c, "single").await;
    assert_eq!((got, stats.unwrap().processed), (20, 20));
    assert_eq!(emu.control().offline_queue_len(), 0);
}

#[tokio::test]
async fn a_single_portal_worker_on_a_webhook_stops_at_once() {
    let emu = Emulator::builder()
        .webhook(1, "w3bh00kc0de1234567")
        .start()
        .await
        .unwrap();
    fill(&local_app_client(&emu), &emu, 3).await;
    let hook = bitrix24::Client::webhook(&emu.webhook_url()).unwrap();
    let (stats, got) = drain_single(hook, "single-hook").await;
    let err = stats.unwrap_err();
    assert!(
        matches!(&err, WorkerError::Fatal(e) if e.code() == Some(&bitrix24::ErrorCode::WrongAuthType)),
        "{err:?}"
    );
    assert_eq!(got, 0);
    assert_eq!(
        emu.control().offline_queue_len(),
        3,
        "the queue is untouched"
    );
}

#[tokio::test]
async fn a_connector_queue_retries_and_dead_letters_on_its_own_queue() {
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "connector-poison").await;
    c.send(
        &EventBind::new("ONCRMDEALUPDATE")
            .event_type("offline")
            .auth_connector("sync"),
    )
    .await
    .unwrap();
    for id in 1..=4 {
        emu.control()
            .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": id.to_string()}}));
    }
    let handler = |d: OfflineDelivery| async move {
        if deal_id(&d) == 3 {
            return Err(HandlerError::retry("deal 3 cannot be synced"));
        }
        Ok(())
    };
    let mut cfg = drain_config();
    cfg.connector = Some("sync".into());
    // event.offline.error must name the connector's queue, or the failed record stays
    // reserved there and is never retried nor cleared.
    let stats = tokio::time::timeout(
        Duration::from_secs(20),
        drain(c, &store, &a.member_id, cfg, handler),
    )
    .await
    .expect("the worker went idle")
    .unwrap();
    assert_eq!(
        (stats.processed, stats.failed, stats.dead_lettered),
        (3, 2, 1)
    );
    assert_eq!(emu.control().offline_queue_len(), 0);
}

#[tokio::test]
async fn a_failing_portal_opens_the_breaker_and_a_flaky_one_loses_nothing() {
    let n = 300;
    let emu = portal().await;
    let (store, a, c) = tenant(&emu, "breaker").await;
    fill(&c, &emu, n).await;
    let seen: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = move |d: OfflineDelivery| {
        let sink = Arc::clone(&sink);
        async move {
            *sink.lock().unwrap().entry(d.message_id).or_default() += 1;
            Ok(())
        }
    };
    // Every request fails first; then answers are lost after the portal applied them, or
    // fail before it did, at random.
    emu.control().set_faults(bitrix24_emulator::Faults {
        error_5xx_ratio: 1.0,
        ..bitrix24_emulator::Faults::default()
    });
    let control = emu.control();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        control.set_faults(bitrix24_emulator::Faults {
            error_5xx_ratio: 0.1,
            lose_response_after_write_ratio: 0.2,
            seed: 7,
            ..bitrix24_emulator::Faults::default()
        });
    });
    let mut cfg = drain_config();
    cfg.breaker_threshold = 2;
    cfg.breaker_cooldown = Duration::from_millis(50);
    let stats = tokio::time::timeout(
        Duration::from_secs(60),
        drain(c, &store, &a.member_id, cfg, handler),
    )
    .await
    .expect("the worker went idle")
    .unwrap();
    assert!(stats.breaker_opened >= 1, "{stats:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, n, "lost records");
    assert!(seen.values().all(|h| *h == 1), "a record handled twice");
    assert_eq!(emu.control().offline_queue_len(), 0);
    println!(
        "breaker: opened {} times; {n} records, each once, {} requests, {} orphans adopted",
        stats.breaker_opened, stats.requests, stats.orphans_adopted
    );
}
