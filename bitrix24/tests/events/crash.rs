//! Crash safety: a worker process killed with SIGKILL at random points while draining the
//! offline queue, restarted each time: no event lost, duplicates only in the documented window
//! (handler done, outcome not yet stored: at most one per kill), counted.
//!
//! CI default: 2,000 events, 20 kills (`B24_CRASH_EVENTS`, `B24_CRASH_KILLS`); the full figure
//! (10,000 events, 100 kills) runs with `--ignored`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitrix24::events::{Durability, HandlerError, OfflineDelivery, OfflineWorker, SqliteStore};

use crate::support::{child, env_num, install, is_child, portal, temp_db};
use crate::worker::fill;

const CHILD_NAME: &str = "crash::crash_child";

/// The child: drains the queue into the `sink` table until it is empty (or it is killed).
#[tokio::test]
async fn crash_child() {
    if !is_child(CHILD_NAME) {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap();
    let store = SqliteStore::open_with(var("B24_DB"), Durability::Normal)
        .await
        .unwrap();
    let app = bitrix24::OAuthApp::new(var("B24_CLIENT_ID"), var("B24_CLIENT_SECRET"))
        .token_url(format!("{}/oauth/token/", var("B24_URL")));
    let member = var("B24_MEMBER");
    let client = bitrix24::events::tenant_client(
        &store,
        app,
        &member,
        bitrix24::Client::builder().no_rate_limit(),
    )
    .await
    .unwrap();
    let sink = Arc::new(Mutex::new(
        rusqlite::Connection::open(var("B24_DB")).unwrap(),
    ));
    sink.lock()
        .unwrap()
        .busy_timeout(Duration::from_secs(10))
        .unwrap();
    let handler = move |d: OfflineDelivery| {
        let sink = Arc::clone(&sink);
        async move {
            tokio::task::spawn_blocking(move || {
                sink.lock()
                    .unwrap()
                    .execute(
                        "INSERT INTO sink (message_id, hits) VALUES (?1, 1)
                         ON CONFLICT (message_id) DO UPDATE SET hits = hits + 1",
                        [&d.message_id],
                    )
                    .map(|_| ())
                    .map_err(|e| HandlerError::retry(e.to_string()))
            })
            .await
            .map_err(|e| HandlerError::retry(e.to_string()))?
        }
    };
    let mut cfg = bitrix24::events::WorkerConfig::default();
    cfg.stop_when_idle = true;
    cfg.error_retry_interval = Duration::from_millis(20);
    let stats = OfflineWorker::new(client, Arc::new(store), member, handler)
        .config(cfg)
        .run(std::future::pending())
        .await
        .unwrap();
    println!("CHILD-STATS {stats:?}");
}

async fn run(n: u64, kills: u64) {
    let emu = portal().await;
    let db = temp_db("crash");
    let store = SqliteStore::open_with(&db, Durability::Normal)
        .await
        .unwrap();
    let a = install(&store, &emu).await;
    let c = crate::support::client(&store, &a).await;
    fill(&c, &emu, n).await;
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch("CREATE TABLE sink (message_id TEXT PRIMARY KEY, hits INTEGER NOT NULL)")
        .unwrap();
    let envs = crate::support::child_envs(&db, &emu, &a);
    let started = Instant::now();
    let mut killed_while_draining = 0;
    for _ in 0..kills {
        let mut proc = child(CHILD_NAME, &envs)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = fastrand::u64(20..=300);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if proc.try_wait().unwrap().is_none() {
            killed_while_draining += 1;
        }
        proc.kill().unwrap(); // SIGKILL
        proc.wait().unwrap();
    }
    let out = child(CHILD_NAME, &envs)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (distinct, hits): (u64, u64) = raw
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(hits), 0) FROM sink",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )
        .unwrap();
    let duplicates = hits - distinct;
    let dead = raw
        .query_row("SELECT COUNT(*) FROM dead_letters", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    println!(
        "crash: {n} events, {kills} SIGKILLs ({killed_while_draining} while the child ran), \
         {distinct} delivered, 0 lost, {duplicates} duplicates, {dead} dead letters, \
         queue left {}, {:.1} s",
        emu.control().offline_queue_len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(distinct, n, "events lost");
    assert_eq!(
        emu.control().offline_queue_len(),
        0,
        "records left in the queue"
    );
    assert_eq!(dead, 0);
    assert!(
        duplicates <= kills,
        "{duplicates} duplicates for {kills} kills: more than one per crash"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_nothing() {
    if std::env::var(crate::support::CHILD).is_ok() {
        return;
    }
    run(
        env_num("B24_CRASH_EVENTS", 2_000),
        env_num("B24_CRASH_KILLS", 20),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full figure: 10,000 events, 100 SIGKILLs (about a minute)"]
async fn sigkill_full_figure() {
    run(10_000, 100).await;
}
