//! `b24` with its plans and idempotency records in one SQLite database (`B24_PLAN_FILE` and
//! `B24_IDEMPOTENCY_FILE` ending in `.db`): a plan made by one process is executed by
//! another, once; concurrent processes claiming one key send one write.

mod common;

use std::time::Duration;

use bitrix24::policy::{IdempotencyStore, PlanStore, Policy, params_hash};
use bitrix24_emulator::{Emulator, Faults};
use common::{Portal, portal, portal_with, refused_by, secret_free, stderr, stdout_json};
use serde_json::json;

const TENANT: &str = "127.0.0.1";

/// The binary with both stores in `state.db`.
fn db_cmd(p: &Portal) -> assert_cmd::Command {
    let mut c = p.cmd();
    c.env("B24_PLAN_FILE", p.path("state.db"))
        .env("B24_IDEMPOTENCY_FILE", p.path("state.db"));
    c
}

fn b24_db(p: &Portal, args: &[&str]) -> std::process::Output {
    common::run(db_cmd(p), args)
}

/// [`common::refused`] with the SQLite stores.
fn refused_db(p: &Portal, args: &[&str], words: &[&str]) {
    refused_by(p, db_cmd(p), args, words);
}

/// `crm.deal.add` of `params`, confirmed, with the idempotency key `key`.
fn keyed_add<'a>(params: &'a str, key: &'a str) -> [&'a str; 6] {
    [
        "crm.deal.add",
        "--params",
        params,
        "--confirm-write",
        "--idempotency-key",
        key,
    ]
}

#[test]
fn a_plan_made_by_one_process_is_executed_by_another_once() {
    let p = portal(0);
    let params = r#"{"fields":{"TITLE":"planned in sqlite"}}"#;
    let before = p.requests();
    let o = b24_db(&p, &["crm.deal.add", "--params", params, "--plan-only"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.requests(), before, "planning sends nothing");
    let id = stdout_json(&o)["plan"]["plan_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !p.path("plans.json").exists(),
        "the plan went to the database"
    );

    refused_db(
        &p,
        &["crm.deal.update", "--execute-plan", &id, "--confirm-write"],
        &["does not match planned method 'crm.deal.add'"],
    );
    refused_db(
        &p,
        &["--execute-plan", "0123456789abcdef0123", "--confirm-write"],
        &["not found"],
    );
    // The same plan asked for by another portal.
    let mut other_portal = db_cmd(&p);
    other_portal.env(
        "B24_WEBHOOK_URL",
        p.emu.webhook_url().replace("127.0.0.1", "localhost"),
    );
    refused_by(
        &p,
        other_portal,
        &["--execute-plan", &id, "--confirm-write"],
        &["another tenant"],
    );

    let before = p.requests();
    let o = b24_db(&p, &["--execute-plan", &id, "--confirm-write"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        p.requests() - before,
        1,
        "executing sends the planned write once"
    );
    assert!(stdout_json(&o)["result"].as_u64().is_some());
    assert_eq!(p.emu.control().entity_count("crm.deal"), 1);

    refused_db(
        &p,
        &["--execute-plan", &id, "--confirm-write"],
        &["already executed"],
    );

    // A plan that expired, as another process left it.
    let past = bitrix24::policy::unix_now() - 3600;
    let plans = PlanStore::sqlite(p.path("state.db"), 60)
        .unwrap()
        .with_clock(move || past);
    let planned = json!({"fields": {"TITLE": "late"}});
    let decision = Policy::default()
        .evaluate("crm.deal.add", &planned)
        .unwrap();
    let expired = plans.create(TENANT, &decision, &planned, &[]).unwrap();
    refused_db(
        &p,
        &["--execute-plan", &expired.plan_id, "--confirm-write"],
        &["expired"],
    );
    assert_eq!(p.emu.control().entity_count("crm.deal"), 1);
    secret_free(&p.dir);
}

/// 8 processes send one keyed write at once through one database while the portal is slow:
/// one request reaches the portal; the others are refused as in progress (exit 2) or, when
/// they come after it finished, answered from the stored result.
#[test]
fn concurrent_processes_claiming_one_key_send_one_write() {
    let faults = Faults {
        latency: Duration::from_millis(400),
        ..Faults::default()
    };
    let p = portal_with(Emulator::builder().faults(faults));
    let args = keyed_add(r#"{"fields":{"TITLE":"once"}}"#, "job-7");
    let before = p.requests();
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = p.std_cmd();
            c.env("B24_IDEMPOTENCY_FILE", p.path("state.db"))
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert_eq!(p.requests() - before, 1, "exactly one write was sent");
    assert_eq!(p.emu.control().entity_count("crm.deal"), 1);
    let (mut sent, mut busy) = (0, 0);
    for o in &outs {
        match o.status.code() {
            Some(0) => sent += 1,
            Some(2) => {
                assert!(stderr(o).contains("in progress"), "{}", stderr(o));
                busy += 1;
            }
            other => panic!("exit {other:?}: {}", stderr(o)),
        }
    }
    assert!(sent >= 1 && busy >= 1, "sent {sent}, in progress {busy}");
    // Now done: a repeat is answered from the store, with no request.
    let before = p.requests();
    let o = b24_db(&p, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.requests(), before, "the replay sent nothing");
}

/// A key whose holder died holds until its lease runs out; the refusal sends nothing.
#[test]
fn a_held_key_in_the_database_is_refused_as_in_progress() {
    let p = portal(0);
    let params = json!({"fields": {"TITLE": "busy"}});
    let store = IdempotencyStore::sqlite(p.path("state.db"), 3600).unwrap();
    let key = format!("{TENANT}|crm.deal.add|job-1");
    store
        .begin(&key, &params_hash("crm.deal.add", &params))
        .unwrap();
    refused_db(
        &p,
        &keyed_add(&params.to_string(), "job-1"),
        &["in progress"],
    );
}

/// A database file that is not one, or is another application's, is refused naming it,
/// before anything is sent.
#[test]
fn a_corrupt_database_is_refused_naming_the_file() {
    let p = portal(0);
    std::fs::write(p.path("state.db"), "not a database at all, just text").unwrap();
    refused_db(
        &p,
        &[
            "crm.deal.add",
            "--params",
            r#"{"fields":{"TITLE":"x"}}"#,
            "--confirm-write",
        ],
        &["state.db"],
    );
    refused_db(
        &p,
        &["crm.deal.add", "--params", "{}", "--plan-only"],
        &["state.db"],
    );
    // A read needs neither store.
    let o = b24_db(&p, &["crm.deal.list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
