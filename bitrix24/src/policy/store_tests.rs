//! One conformance suite for every backend of the policy's stores (memory, JSON file,
//! SQLite), and the backend-specific checks (tampering, corrupt and foreign files).

use super::*;
use crate::policy::Policy;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "b24-policy-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Memory,
    Json,
    #[cfg(feature = "sqlite")]
    Sqlite,
}

const KINDS: &[Kind] = &[
    Kind::Memory,
    Kind::Json,
    #[cfg(feature = "sqlite")]
    Kind::Sqlite,
];

/// A plan store and an idempotency store of `kind` (the JSON and SQLite ones at a fresh
/// path).
fn stores(kind: Kind, plan_ttl: u64, idem_ttl: u64) -> (PlanStore, IdempotencyStore) {
    match kind {
        Kind::Memory => (
            PlanStore::in_memory(plan_ttl),
            IdempotencyStore::in_memory(idem_ttl),
        ),
        Kind::Json => (
            PlanStore::new(tmp("plans.json"), plan_ttl),
            IdempotencyStore::new(tmp("idem.json"), idem_ttl),
        ),
        #[cfg(feature = "sqlite")]
        Kind::Sqlite => {
            let db = tmp("state.db");
            (
                PlanStore::sqlite(&db, plan_ttl).unwrap(),
                IdempotencyStore::sqlite(&db, idem_ttl).unwrap(),
            )
        }
    }
}

fn clock(start: u64) -> (Arc<AtomicU64>, impl Fn() -> u64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicU64::new(start));
    let read = now.clone();
    (now, move || read.load(Ordering::SeqCst))
}

fn code<T: std::fmt::Debug>(r: Result<T, PolicyError>) -> &'static str {
    r.unwrap_err().code()
}

#[test]
fn canonical_json_sorts_keys() {
    let a = json!({"b": 1, "a": {"y": [1, {"d": 1, "c": 2}], "x": null}});
    let b = json!({"a": {"x": null, "y": [1, {"c": 2, "d": 1}]}, "b": 1});
    assert_eq!(canonical_json(&a), canonical_json(&b));
    assert_eq!(params_hash("m", &a), params_hash("m", &b));
    assert_ne!(params_hash("m", &a), params_hash("n", &a));
}

#[test]
fn plan_states_on_every_backend() {
    for &kind in KINDS {
        let (now, read) = clock(1_000_000);
        let store = stores(kind, 120, 3600).0.with_clock(read);
        let params = json!({"fields": {"TITLE": "x"}});
        let d = Policy::default().evaluate("crm.deal.add", &params).unwrap();
        let plan = store
            .create("a.example", &d, &params, &["core".into()])
            .unwrap();
        assert_eq!(plan.plan_id.len(), 20, "{kind:?}");
        assert_eq!(plan.expires_at - plan.created_at, 120, "{kind:?}");
        assert_eq!(code(store.get("nope", "a.example", None)), "PLAN_NOT_FOUND");
        assert_eq!(
            code(store.get(&plan.plan_id, "b.example", None)),
            "PLAN_FOREIGN_TENANT",
            "{kind:?}"
        );
        assert_eq!(
            code(store.get(&plan.plan_id, "a.example", Some("crm.deal.update"))),
            "PLAN_METHOD_MISMATCH",
            "{kind:?}"
        );
        let got = store
            .consume(
                &format!(" {} ", plan.plan_id),
                "a.example",
                Some("CRM.DEAL.ADD"),
            )
            .unwrap();
        assert_eq!(got.params, params, "{kind:?}");
        assert!(got.executed && got.executed_at.is_some(), "{kind:?}");
        assert_eq!(
            code(store.consume(&plan.plan_id, "a.example", None)),
            "PLAN_ALREADY_EXECUTED",
            "{kind:?}"
        );
        let later = store.create("a.example", &d, &params, &[]).unwrap();
        now.fetch_add(121, Ordering::SeqCst);
        assert_eq!(
            code(store.get(&later.plan_id, "a.example", None)),
            "PLAN_EXPIRED",
            "{kind:?}"
        );
        // Kept for a week after expiry to say why, then forgotten.
        now.fetch_add(8 * 24 * 3600, Ordering::SeqCst);
        store.create("a.example", &d, &params, &[]).unwrap();
        assert_eq!(
            code(store.get(&later.plan_id, "a.example", None)),
            "PLAN_NOT_FOUND",
            "{kind:?}"
        );
    }
}

#[test]
fn idempotency_lifecycle_on_every_backend() {
    for &kind in KINDS {
        let (now, read) = clock(5_000);
        let store = stores(kind, 600, 3600).1.with_clock(read);
        let begin = |k: &str, h: &str| store.begin(k, h);
        assert_eq!(begin("k", "h1").unwrap(), Begin::Proceed, "{kind:?}");
        assert_eq!(
            code(begin("k", "h1")),
            "IDEMPOTENCY_IN_PROGRESS",
            "{kind:?}"
        );
        assert_eq!(code(begin("k", "h2")), "IDEMPOTENCY_KEY_REUSED", "{kind:?}");
        store.complete("k", "h1", &json!({"result": 7})).unwrap();
        assert_eq!(
            begin("k", "h1").unwrap(),
            Begin::Replay(json!({"result": 7})),
            "{kind:?}"
        );
        assert_eq!(code(begin("k", "h2")), "IDEMPOTENCY_KEY_REUSED", "{kind:?}");
        // A failed call clears its key.
        assert_eq!(begin("f", "h").unwrap(), Begin::Proceed);
        store.clear("f").unwrap();
        assert_eq!(begin("f", "h").unwrap(), Begin::Proceed, "{kind:?}");
        // A claim whose holder died holds until its lease runs out, then is taken over.
        now.fetch_add(600, Ordering::SeqCst);
        assert_eq!(code(begin("f", "h")), "IDEMPOTENCY_IN_PROGRESS", "{kind:?}");
        now.fetch_add(1, Ordering::SeqCst);
        assert_eq!(begin("f", "h").unwrap(), Begin::Proceed, "{kind:?}");
        // After the TTL the result is no longer replayed.
        now.fetch_add(3600, Ordering::SeqCst);
        assert_eq!(begin("k", "h1").unwrap(), Begin::Proceed, "{kind:?}");
        // A lost answer keeps the key taken past the lease and the TTL, until cleared.
        assert_eq!(begin("u", "h").unwrap(), Begin::Proceed);
        store.mark_unknown("u", "h").unwrap();
        for _ in 0..2 {
            assert_eq!(code(begin("u", "h")), "OUTCOME_UNKNOWN", "{kind:?}");
            now.fetch_add(10_000, Ordering::SeqCst);
        }
        store.clear("u").unwrap();
        assert_eq!(begin("u", "h").unwrap(), Begin::Proceed, "{kind:?}");
    }
}

/// A holder whose lease ran out and whose claim was taken over neither clears nor
/// overwrites the new holder's claim when it finally finishes.
#[test]
fn a_late_holder_leaves_the_new_claim_alone_on_every_backend() {
    for &kind in KINDS {
        let (now, read) = clock(5_000);
        let late = stores(kind, 600, 3600).1.with_clock(read);
        let new = if matches!(kind, Kind::Memory) {
            late.other_holder()
        } else {
            let clock = late.t.clock.clone();
            IdempotencyStore::open(late.path(), 3600).with_clock(move || clock())
        };
        assert_eq!(late.begin("k", "h").unwrap(), Begin::Proceed);
        now.fetch_add(601, Ordering::SeqCst);
        assert_eq!(new.begin("k", "h").unwrap(), Begin::Proceed, "{kind:?}");
        late.clear("k").unwrap();
        assert_eq!(
            code(new.other_holder().begin("k", "h")),
            "IDEMPOTENCY_IN_PROGRESS",
            "{kind:?}"
        );
        late.complete("k", "h", &json!("late")).unwrap();
        assert_eq!(
            code(new.other_holder().begin("k", "h")),
            "IDEMPOTENCY_IN_PROGRESS",
            "{kind:?}"
        );
        new.complete("k", "h", &json!("new")).unwrap();
        assert_eq!(
            late.begin("k", "h").unwrap(),
            Begin::Replay(json!("new")),
            "{kind:?}"
        );
        // An operator's clear from a store that never claimed the key still works.
        new.other_holder().clear("k").unwrap();
        assert_eq!(late.begin("k", "h").unwrap(), Begin::Proceed, "{kind:?}");
    }
}

#[test]
fn idempotency_keys() {
    let p = json!({"fields": {"TITLE": "x"}, "origin_id": "ext-42"});
    let k = IdempotencyStore::key_for("t", "crm.deal.add", &p, None);
    assert!(k.starts_with("t|crm.deal.add|origin_id:"), "{k}");
    assert!(
        !k.contains("ext-42"),
        "a param value never appears in a key"
    );
    assert_eq!(
        IdempotencyStore::key_for("t", "crm.deal.add", &p, Some(" mine ")),
        "t|crm.deal.add|mine"
    );
    let q = json!({"fields": {"TITLE": "x"}});
    let auto = IdempotencyStore::key_for("t", "crm.deal.add", &q, None);
    assert!(auto.starts_with("t|crm.deal.add|auto:"));
    let r = json!({"fields": {"TITLE": "y"}});
    assert_ne!(
        auto,
        IdempotencyStore::key_for("t", "crm.deal.add", &r, None)
    );
}

/// 8 threads claim one key at once, each through its own store value (its own file handle
/// or connection; the memory store is shared): exactly one proceeds.
#[test]
fn concurrent_claims_let_one_through_on_every_backend() {
    for &kind in KINDS {
        let first = stores(kind, 600, 3600).1;
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = match kind {
                    Kind::Memory => first.clone(),
                    _ => IdempotencyStore::open(first.path(), 3600),
                };
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    store.begin("same", "h").map_err(|e| e.code())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{kind:?}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || *r == Err("IDEMPOTENCY_IN_PROGRESS")),
            "{kind:?}: {results:?}"
        );
    }
}

#[test]
fn open_picks_the_backend_by_name() {
    assert!(is_sqlite_path(Path::new("a/b.db")));
    assert!(is_sqlite_path(Path::new("b.SQLITE3")));
    assert!(!is_sqlite_path(Path::new("b.json")));
    assert!(!is_sqlite_path(Path::new("db")));
    let json = tmp("plans.json");
    let store = PlanStore::open(&json, 600);
    let params = json!({"id": 1});
    let d = Policy::default().evaluate("crm.deal.get", &params).unwrap();
    store.create("t", &d, &params, &[]).unwrap();
    assert!(std::fs::read_to_string(&json).unwrap().starts_with('{'));
}

#[test]
fn tampered_and_corrupt_json_files_are_refused() {
    let path = tmp("plans.json");
    let store = PlanStore::new(&path, 600);
    let params = json!({"id": 1});
    let d = Policy::default()
        .evaluate("crm.deal.delete", &params)
        .unwrap();
    let plan = store.create("t", &d, &params, &[]).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"id\":1", "\"id\":2");
    std::fs::write(&path, text).unwrap();
    assert_eq!(code(store.get(&plan.plan_id, "t", None)), "PLAN_TAMPERED");
    std::fs::write(&path, "{not json").unwrap();
    assert_eq!(
        code(store.get(&plan.plan_id, "t", None)),
        "STATE_FILE_ERROR"
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    fn plan_in(db: &Path) -> Plan {
        let params = json!({"id": 1});
        let d = Policy::default()
            .evaluate("crm.deal.delete", &params)
            .unwrap();
        PlanStore::sqlite(db, 600)
            .unwrap()
            .create("t", &d, &params, &[])
            .unwrap()
    }

    /// A plan made through one connection is executed once through another.
    #[test]
    fn a_plan_is_executed_once_across_connections() {
        let db = tmp("state.db");
        let plan = plan_in(&db);
        let other = PlanStore::sqlite(&db, 600).unwrap();
        other.consume(&plan.plan_id, "t", None).unwrap();
        let third = PlanStore::open(&db, 600);
        assert_eq!(
            code(third.consume(&plan.plan_id, "t", None)),
            "PLAN_ALREADY_EXECUTED"
        );
        let conn = rusqlite::Connection::open(&db).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2, "schema versioned");
    }

    #[test]
    fn a_tampered_plan_row_is_refused() {
        let db = tmp("state.db");
        let plan = plan_in(&db);
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE plans SET plan = replace(plan, '\"id\":1', '\"id\":2')",
            [],
        )
        .unwrap();
        let store = PlanStore::sqlite(&db, 600).unwrap();
        assert_eq!(code(store.get(&plan.plan_id, "t", None)), "PLAN_TAMPERED");
    }

    #[test]
    fn a_corrupt_or_foreign_database_names_the_file() {
        let garbage = tmp("garbage.db");
        std::fs::write(&garbage, b"this is not a database, just some text").unwrap();
        let foreign = tmp("foreign.db");
        rusqlite::Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');")
            .unwrap();
        let other_app = tmp("other.db");
        rusqlite::Connection::open(&other_app)
            .unwrap()
            .execute_batch("PRAGMA application_id = 42;")
            .unwrap();
        for path in [&garbage, &foreign, &other_app] {
            let err = PlanStore::sqlite(path, 600).unwrap_err();
            assert_eq!(err.code(), "STATE_FILE_ERROR", "{err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            // Opened by name on first use: the call is refused, naming the file.
            let err = IdempotencyStore::open(path, 600)
                .begin("k", "h")
                .unwrap_err();
            assert_eq!(err.code(), "STATE_FILE_ERROR", "{err}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
        // The foreign database is left as it was.
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 1);
    }

    /// What the store writes: hashes and the response, never the params of a keyed write.
    #[test]
    fn only_hashes_and_results_are_stored_for_keys() {
        let db = tmp("state.db");
        let store = IdempotencyStore::sqlite(&db, 600).unwrap();
        let params = json!({"fields": {"TITLE": "secret-title"}, "origin_id": "ext-secret"});
        let key = IdempotencyStore::key_for("t", "crm.deal.add", &params, None);
        let hash = params_hash("crm.deal.add", &params);
        assert_eq!(store.begin(&key, &hash).unwrap(), Begin::Proceed);
        store.complete(&key, &hash, &json!({"result": 5})).unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let dump: String = conn
            .query_row(
                "SELECT group_concat(key || result || fingerprint) FROM idempotency",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!dump.contains("secret"), "{dump}");
        assert!(dump.contains("{\"result\":5}"), "{dump}");
    }
}

/// A database name in a build without SQLite: each call is refused, naming the file.
#[cfg(not(feature = "sqlite"))]
#[test]
fn a_database_name_without_the_sqlite_feature_is_refused() {
    let db = tmp("state.db");
    let err = IdempotencyStore::open(&db, 600)
        .begin("k", "h")
        .unwrap_err();
    assert_eq!(err.code(), "STATE_FILE_ERROR");
    assert!(err.to_string().contains("feature `sqlite`"), "{err}");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
    assert!(!db.exists(), "nothing was written");
}
