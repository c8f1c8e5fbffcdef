//! Replay after a restart: online events stored in the inbox whose handler had not finished
//! when the process died (a serving process killed with SIGKILL, or a dropped runtime) are
//! handled after the restart, each exactly once, unreadable rows skipped; the idempotency
//! table keeps results across a restart until they expire.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24::Secret;
use bitrix24::events::{
    Accepted, Dedup, EventService, IdempotencyStore, InboundEvent, Inbox, Payload, SqliteStore,
    Tenant, TenantStore, router,
};

use crate::support::{child, deal_event, is_child, post, temp_db};

const MEMBER: &str = "a223c6b3710f85df22e9377d6c4f7553";
const TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

fn deal_of(ev: &InboundEvent) -> u64 {
    match &ev.event.payload {
        Payload::Crm(c) => c.id,
        other => panic!("{other:?}"),
    }
}

fn service(store: &SqliteStore, handler: impl bitrix24::events::EventHandler) -> EventService {
    EventService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        handler,
    )
}

/// The store at `db`, with the test tenant saved.
async fn with_tenant(db: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(db).await.unwrap();
    let mut tenant = Tenant::new(MEMBER);
    tenant.application_token = Some(Secret::new(TOKEN));
    store.save_tenant(&tenant, None).await.unwrap();
    store
}

const SERVER_CHILD: &str = "replay::server_child";

/// The child: the router over `B24_DB`, its handler never finishing; prints its address.
#[tokio::test]
async fn server_child() {
    if !is_child(SERVER_CHILD) {
        return;
    }
    let store = SqliteStore::open(std::env::var("B24_DB").unwrap())
        .await
        .unwrap();
    let svc = service(&store, |_ev: InboundEvent| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTEN {}", listener.local_addr().unwrap());
    axum::serve(listener, router(svc)).await.unwrap();
}

#[tokio::test]
async fn events_a_killed_server_stored_are_handled_once_after_the_restart() {
    let db = temp_db("replay-kill");
    drop(with_tenant(&db).await);
    let mut proc = child(SERVER_CHILD, &[("B24_DB", db.display().to_string())])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let addr: std::net::SocketAddr = lines
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("LISTEN ").map(|a| a.parse().unwrap()))
        .expect("the child's address");
    // The portal got its 200 for each: the events are stored, their handler still running.
    for id in 1..=5 {
        let body = deal_event(MEMBER, TOKEN, &id.to_string(), &id.to_string());
        assert_eq!(post(addr, "/events", body).await, (200, "stored".into()));
    }
    proc.kill().unwrap();
    proc.wait().unwrap();
    // The restart replays them: each handled once.
    let store = SqliteStore::open(&db).await.unwrap();
    let (n, seen) = replayed(&store).await;
    assert_eq!((n, seen), (5, (1..=5).map(|id| (id, 1)).collect()));
    assert_eq!(replayed(&store).await.0, 0, "nothing left to replay");
}

/// A first life of the app on `db`: the events of `ids` are stored; the handler finishes only
/// deal `done`, the others are in flight when the process "dies" (its runtime is dropped).
fn first_life(db: &std::path::Path, ids: &[&str], done: u64) {
    let first = tokio::runtime::Runtime::new().unwrap();
    first.block_on(async {
        let store = with_tenant(db).await;
        let svc = service(&store, move |ev: InboundEvent| async move {
            if deal_of(&ev) != done {
                std::future::pending::<()>().await;
            }
            Ok(())
        });
        for id in ids {
            let body = deal_event(MEMBER, TOKEN, id, id);
            assert!(matches!(
                svc.accept(body.as_bytes()).await,
                Ok(Accepted::Stored(_))
            ));
        }
        let unhandled = ids.iter().filter(|id| **id != done.to_string()).count();
        for _ in 0..100 {
            if store.pending(1000).await.unwrap().len() == unhandled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(store.pending(1000).await.unwrap().len(), unhandled);
    });
}

/// The deals a replay on `store` hands to the handler, with how many times each.
async fn replayed(store: &SqliteStore) -> (usize, BTreeMap<u64, u32>) {
    let seen: Arc<Mutex<BTreeMap<u64, u32>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let svc = service(store, move |ev: InboundEvent| {
        let sink = Arc::clone(&sink);
        async move {
            assert_eq!(ev.member_id(), MEMBER);
            assert!(ev.auth.access_token.is_none(), "a replay carries no tokens");
            *sink.lock().unwrap().entry(deal_of(&ev)).or_default() += 1;
            Ok(())
        }
    });
    let n = svc.replay_pending().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    (n, seen)
}

#[test]
fn pending_inbox_entries_are_handled_once_after_a_restart() {
    let db = temp_db("replay");
    first_life(&db, &["1", "2", "3"], 1);

    // Second life: the same database reopened; the two pending entries are handled once each.
    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let (n, seen) = replayed(&store).await;
        assert_eq!((n, seen), (2, BTreeMap::from([(2, 1), (3, 1)])));
        assert_eq!(replayed(&store).await.0, 0, "nothing left to replay");
        assert!(store.pending(10).await.unwrap().is_empty());
        let svc = service(&store, |_ev: InboundEvent| async { Ok(()) });
        // A replayed POST of deal 2 is still a duplicate, not a third delivery.
        let body = deal_event(MEMBER, TOKEN, "2", "2");
        assert!(matches!(
            svc.accept(body.as_bytes()).await,
            Ok(Accepted::Duplicate(_))
        ));
    });
}

#[test]
fn corrupt_inbox_rows_do_not_hide_the_pending_events_behind_them() {
    let db = temp_db("replay-corrupt");
    // More unreadable pending rows than a replay reads in one page, stored first.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let raw = rusqlite::Connection::open(store.path()).unwrap();
        for i in 0..250 {
            raw.execute(
                "INSERT INTO inbox (member_id, event, dedup_key, payload, received_at, status)
                 VALUES (?1, 'ONCRMDEALUPDATE', ?2, 'not json {', 0, 'pending')",
                [MEMBER, &format!("corrupt-{i}")],
            )
            .unwrap();
        }
    });
    first_life(&db, &["7", "8"], 0);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let (n, seen) = replayed(&store).await;
        assert_eq!((n, seen), (2, BTreeMap::from([(7, 1), (8, 1)])));
        assert!(store.pending(1000).await.unwrap().is_empty());
        // The corrupt rows stay in place for an operator.
        let raw = rusqlite::Connection::open(store.path()).unwrap();
        let left: i64 = raw
            .query_row(
                "SELECT COUNT(*) FROM inbox WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 250);
    });
}

#[tokio::test]
async fn the_idempotency_table_survives_a_restart_and_expires() {
    let db = temp_db("idempotency");
    let ran = Arc::new(Mutex::new(0u32));
    let work = |ran: Arc<Mutex<u32>>| async move {
        *ran.lock().unwrap() += 1;
        Ok::<_, String>("synced deal 42".to_owned())
    };
    {
        let store = SqliteStore::open(&db).await.unwrap();
        let dedup = Dedup::new(store.clone(), Duration::from_secs(3600));
        let first = dedup
            .once("msg-1", || work(Arc::clone(&ran)))
            .await
            .unwrap();
        assert_eq!(first.as_deref(), Ok("synced deal 42"));
        // A key that expired long ago.
        store.put("stale", "old result", 1).await.unwrap();
    }
    // Reopened: the stored result answers, the work does not run again.
    let store = SqliteStore::open(&db).await.unwrap();
    let dedup = Dedup::new(store.clone(), Duration::from_secs(3600));
    let again = dedup
        .once("msg-1", || work(Arc::clone(&ran)))
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Ok("synced deal 42"));
    assert_eq!(*ran.lock().unwrap(), 1);
    // A failure is not stored: the next delivery runs again.
    let failed = dedup
        .once("msg-2", || async { Err::<String, _>("portal down") })
        .await
        .unwrap();
    assert_eq!(failed, Err("portal down"));
    assert_eq!(store.get("msg-2").await.unwrap(), None);
    // The expired key reads as absent and is purged.
    assert_eq!(store.get("stale").await.unwrap(), None);
    assert_eq!(store.purge_expired().await.unwrap(), 1);
    assert_eq!(
        store.get("msg-1").await.unwrap().as_deref(),
        Some("synced deal 42")
    );
}
