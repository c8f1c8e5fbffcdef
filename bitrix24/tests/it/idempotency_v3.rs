//! REST 3.0 `Idempotency-Key` (api-reference/rest-v3.md, "Repeated calls without duplicates"):
//! the emulator keeps and replays a write's answer; the client sends a key with every v3 write
//! and re-sends a lost write with the same key instead of reporting `OutcomeUnknown`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

// crm.deal.add has no REST 3.0 form: the v2-only write a key is refused for
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, Deal};
use bitrix24::{ApiVersion, Client, Error, IdempotencyKey, Method};
use bitrix24_emulator::{Faults, RunningEmulator};
use serde_json::{Value, json};

use crate::canned::{self, Answer, Canned, Seen};
use crate::support::{hook_client, portal};

/// The documented example key and body of `tasks.task.add`.
const DOC_KEY: &str = "9f1c1a7e-5f1b-4a1e-9a2c-2f5f2b6c7d80";

fn doc_body() -> Value {
    json!({"fields": {"title": "Prepare a report", "responsibleId": 1, "creatorId": 1}})
}

/// What a raw v3 request got back: status, the two idempotency headers, the body.
struct Got {
    status: u16,
    echoed: Option<String>,
    replayed: Option<String>,
    body: Value,
}

/// POSTs `body` to `/rest/api/1/itcode/<method>` with `key` as `Idempotency-Key`.
async fn v3(emu: &RunningEmulator, method: &str, key: Option<&str>, body: &Value) -> Got {
    v3_as(emu, "1/itcode/", method, key, body).await
}

/// [`v3`] with the credentials path `hook` (`<user>/<code>/`, or `""` for the app's token,
/// which goes into the body as `auth`).
async fn v3_as(
    emu: &RunningEmulator,
    hook: &str,
    method: &str,
    key: Option<&str>,
    body: &Value,
) -> Got {
    let mut body = body.clone();
    if hook.is_empty() {
        body["auth"] = json!(emu.oauth_app().access_token);
    }
    let mut req = reqwest::Client::new()
        .post(format!("{}/rest/api/{hook}{method}", emu.base_url()))
        .json(&body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let r = req.send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Got {
        status: r.status().as_u16(),
        echoed: header("idempotency-key"),
        replayed: header("idempotent-replayed"),
        body: r.json().await.unwrap(),
    }
}

fn tasks(emu: &RunningEmulator) -> usize {
    emu.control().entity_count("tasks.task")
}

fn v3_error(got: &Got) -> (u16, &str) {
    (got.status, got.body["error"]["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn emulator_replays_a_kept_answer_once_per_key_and_refuses_a_reused_one() {
    let emu = portal().await;
    let first = v3(&emu, "tasks.task.add", Some(DOC_KEY), &doc_body()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.echoed.as_deref(), Some(DOC_KEY));
    assert_eq!(first.replayed, None, "only a repeat is marked");
    let id = first.body["result"]["item"]["id"].as_u64().unwrap();

    let again = v3(&emu, "tasks.task.add", Some(DOC_KEY), &doc_body()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(again.echoed.as_deref(), Some(DOC_KEY));
    assert_eq!(
        again.body, first.body,
        "the stored answer, time block included"
    );
    assert_eq!(tasks(&emu), 1, "the method did not run again");
    assert_eq!(emu.control().idempotent_replays(), 1);

    let other = json!({"fields": {"title": "Another task", "responsibleId": 1}});
    let reused = v3(&emu, "tasks.task.add", Some(DOC_KEY), &other).await;
    assert_eq!(
        v3_error(&reused),
        (
            422,
            "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION"
        )
    );
    assert_eq!(
        reused.body["error"].as_object().unwrap().len(),
        2,
        "code and message: {}",
        reused.body
    );
    assert_eq!(tasks(&emu), 1);

    // The same key on another method is another call.
    let update = json!({"id": id, "fields": {"title": "Renamed"}});
    let updated = v3(&emu, "tasks.task.update", Some(DOC_KEY), &update).await;
    assert_eq!(
        (updated.status, updated.replayed),
        (200, None),
        "{}",
        updated.body
    );
    assert_eq!(updated.body["result"], json!({"result": true}));

    // Reads ignore the header, even an invalid one.
    let get = v3(&emu, "tasks.task.get", Some(""), &json!({"id": id})).await;
    assert_eq!(get.status, 200, "{}", get.body);

    // The answer is kept 24 hours.
    emu.control()
        .advance_clock(Duration::from_secs(24 * 3600 + 1));
    let later = v3(&emu, "tasks.task.add", Some(DOC_KEY), &doc_body()).await;
    assert_eq!((later.status, later.replayed), (200, None));
    assert_eq!(tasks(&emu), 2, "after 24 h the key runs the method again");
}

#[tokio::test]
async fn emulator_scopes_a_key_to_the_webhook_or_app_and_the_user() {
    let emu = crate::support::emulator()
        .webhook(1, "second")
        .webhook(7, "seventh")
        .start()
        .await
        .unwrap();
    for hook in ["1/itcode/", "1/second/", "7/seventh/", ""] {
        let got = v3_as(&emu, hook, "tasks.task.add", Some(DOC_KEY), &doc_body()).await;
        assert_eq!(
            (got.status, got.replayed),
            (200, None),
            "{hook:?}: {}",
            got.body
        );
    }
    assert_eq!(tasks(&emu), 4, "four callers, four calls");
    // The app's repeat is a replay even though its body holds the token: `auth` is not a
    // parameter of the method.
    let again = v3_as(&emu, "", "tasks.task.add", Some(DOC_KEY), &doc_body()).await;
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(tasks(&emu), 4);
}

#[tokio::test]
async fn emulator_keeps_no_errors_and_refuses_invalid_keys() {
    let emu = portal().await;
    let untitled = json!({"fields": {"responsibleId": 1}});
    for _ in 0..2 {
        let got = v3(&emu, "tasks.task.add", Some("k-error"), &untitled).await;
        assert_eq!(
            v3_error(&got),
            (
                400,
                "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION"
            )
        );
        assert_eq!(got.replayed, None, "an error is not kept");
    }
    assert_eq!(emu.control().idempotent_replays(), 0);
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let got = v3(&emu, "tasks.task.add", Some(key), &doc_body()).await;
        assert_eq!(
            v3_error(&got),
            (
                400,
                "BITRIX_REST_V3_EXCEPTION_INVALIDIDEMPOTENCYKEYEXCEPTION"
            ),
            "key of {} characters",
            key.len()
        );
    }
    let max = "k".repeat(255);
    assert_eq!(
        v3(&emu, "tasks.task.add", Some(&max), &doc_body())
            .await
            .status,
        200
    );
    assert_eq!(tasks(&emu), 1, "refused keys ran nothing");
}

/// Declares a `tasks.task.*` method that has the same name on REST 3.0 (no spec has a v3 name
/// yet, so the tests declare them).
macro_rules! task_method {
    ($(#[doc = $doc:tt])* $ty:ident = $name:tt, $risk:tt, { $field:ident: $field_ty:ty }) => {
        $(#[doc = $doc])*
        #[derive(serde::Serialize, bitrix24::Method)]
        #[bitrix24(
            method = $name,
            risk = $risk,
            scopes = ["task"],
            v3 = $name,
            response = serde_json::Value
        )]
        struct $ty {
            $field: $field_ty,
        }
    };
}

task_method!(
    /// `tasks.task.add`: a write, sent with a key on REST 3.0.
    TaskAddV3 = "tasks.task.add", "write", { fields: Value }
);
task_method!(
    /// `tasks.task.get`: a read, sent without a key.
    TaskGetV3 = "tasks.task.get", "read", { id: u64 }
);

fn task_v3(title: &str) -> TaskAddV3 {
    TaskAddV3 {
        fields: json!({"title": title, "responsibleId": 1}),
    }
}

/// The same method with v2's upper-case fields, for a client on [`ApiVersion::V2`].
fn task_v2(title: &str) -> TaskAddV3 {
    TaskAddV3 {
        fields: json!({"TITLE": title, "RESPONSIBLE_ID": 1}),
    }
}

/// Sends a v2 `tasks.task.add` whose answer the portal loses: `OutcomeUnknown`, with no key
/// to name.
async fn assert_lost_v2_add(c: &Client) {
    let err = c
        .with_api_version(ApiVersion::V2)
        .send(&task_v2("T"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                idempotency_key: None,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The `Idempotency-Key` of each request the canned server saw.
fn keys_sent(server: &Canned) -> Vec<Option<String>> {
    server
        .seen()
        .iter()
        .map(|s| {
            s.headers
                .iter()
                .find(|(n, _)| n == "idempotency-key")
                .map(|(_, v)| v.clone())
        })
        .collect()
}

const ADDED: &str = r#"{"result":{"id":7},"time":{"start":1787219542,"finish":1787219542.1,"duration":0.1,"processing":0,"date_start":"2026-08-20T11:52:22+02:00","date_finish":"2026-08-20T11:52:22+02:00","operating_reset_at":1787220142,"operating":0.1}}"#;

fn replayed(body: &str) -> Answer {
    let mut a = canned::json(200, body);
    a.headers
        .push(("Idempotent-Replayed".into(), "true".into()));
    a
}

#[tokio::test]
async fn a_lost_v3_write_is_re_sent_with_its_key_and_the_replay_is_reported() {
    let internal = r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_INTERNAL_INTERNALEXCEPTION","message":"Something's gone wrong."}}"#;
    let server = Canned::start(vec![
        canned::cut(ADDED),
        canned::json(500, internal),
        replayed(ADDED),
        canned::json(200, ADDED),
    ])
    .await;
    let c = hook_client(&server.webhook());
    let resp = c.send_full(&task_v3("Prepare a report")).await.unwrap();
    assert_eq!(resp.result, json!({"id": 7}));
    assert!(resp.replayed);
    let keys = keys_sent(&server);
    assert_eq!(keys.len(), 3, "cut, 5xx, replay");
    let key = keys[0].clone().expect("a v3 write carries a key");
    assert_eq!(key.len(), 36, "{key}");
    assert!(keys.iter().all(|k| k.as_deref() == Some(&key)), "{keys:?}");
    assert!(
        server.paths().iter().all(|p| p.starts_with("/rest/api/")),
        "{:?}",
        server.paths()
    );
    // The next logical call gets a fresh key; an answer without the header is not a replay.
    let resp = c.send_full(&task_v3("Another")).await.unwrap();
    assert!(!resp.replayed);
    let next = keys_sent(&server)[3].clone().unwrap();
    assert_ne!(next, key);
}

#[tokio::test]
async fn a_timed_out_v3_write_is_re_sent_with_its_key_a_v2_one_is_outcome_unknown() {
    // Every odd request hangs past the client's timeout; every even one is the replay.
    let count = Arc::new(AtomicUsize::new(0));
    let server = Canned::serve(Arc::new(move |_seen: Seen| {
        let hang = count.fetch_add(1, Ordering::SeqCst).is_multiple_of(2);
        Box::pin(async move { (!hang).then(|| replayed(ADDED)) })
            as BoxFuture<'static, Option<Answer>>
    }))
    .await;
    let c = Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .retry(crate::support::fast_retry())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let resp = c.send_full(&task_v3("T")).await.unwrap();
    assert!(resp.replayed);
    let keys = keys_sent(&server);
    assert_eq!(keys.len(), 2, "the timed-out send, then one re-send");
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
    assert_lost_v2_add(&c).await;
    assert_eq!(server.seen().len(), 3, "the v2 write was sent once");
}

#[tokio::test]
async fn v2_writes_and_v3_reads_carry_no_key_and_a_lost_v2_write_is_outcome_unknown() {
    let server = Canned::start(vec![
        canned::cut(r#"{"result":{"task":{"id":"7"}}}"#),
        canned::json(200, r#"{"result":{"item":{"id":7}}}"#),
    ])
    .await;
    let c = hook_client(&server.webhook());
    assert_lost_v2_add(&c).await;
    c.send(&TaskGetV3 { id: 7 }).await.unwrap();
    assert_eq!(keys_sent(&server), [None, None]);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_caller_key_is_sent_as_given_and_bad_keys_never_leave() {
    let server = Canned::start(vec![canned::json(200, ADDED)]).await;
    let c = hook_client(&server.webhook());
    let key = IdempotencyKey::new("order-2041/task").unwrap();
    let resp = c.send_with_key(&task_v3("T"), &key).await.unwrap();
    assert_eq!(resp.result, json!({"id": 7}));
    assert_eq!(keys_sent(&server), [Some("order-2041/task".to_owned())]);

    for bad in ["k".repeat(256), "new\nline".to_owned(), String::new()] {
        let err = IdempotencyKey::new(bad.clone()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}: {err}");
    }
    // v2 ignores the header: a key for a call that goes to v2 is refused, nothing is sent.
    let v2_only = CrmDealAdd::new(Deal::default());
    let err = c.send_with_key(&v2_only, &key).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = c
        .with_api_version(ApiVersion::V2)
        .send_with_key(&task_v3("T"), &key)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert_eq!(server.seen().len(), 1);
}

/// What a workload of `n` task adds ended in.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    ok: usize,
    replayed: usize,
    outcome_unknown: usize,
    other: Vec<String>,
}

/// An emulator losing 20% of the answers after the write, and a client of it.
async fn lossy_portal() -> (RunningEmulator, Client) {
    let emu = faulty_portal(Faults {
        lose_response_after_write_ratio: 0.2,
        seed: 15,
        ..Faults::default()
    })
    .await;
    let c = hook_client(&emu.webhook_url());
    (emu, c)
}

async fn faulty_portal(faults: Faults) -> RunningEmulator {
    crate::support::emulator()
        .faults(faults)
        .start()
        .await
        .unwrap()
}

async fn add_tasks<M: Method>(c: &Client, n: usize, task: impl Fn(usize) -> M) -> Tally {
    let mut tally = Tally::default();
    for i in 0..n {
        match c.send_full(&task(i)).await {
            Ok(r) => {
                tally.ok += 1;
                tally.replayed += usize::from(r.replayed);
            }
            Err(Error::OutcomeUnknown { .. }) => tally.outcome_unknown += 1,
            Err(e) => tally.other.push(e.to_string()),
        }
    }
    tally
}

const WORKLOAD: usize = 1000;

#[tokio::test]
async fn v3_writes_with_lost_answers_land_exactly_once() {
    let (emu, c) = lossy_portal().await;
    let started = std::time::Instant::now();
    let tally = add_tasks(&c, WORKLOAD, |i| task_v3(&format!("task {i}"))).await;
    eprintln!(
        "v3: {WORKLOAD} adds with 20% lost answers in {:?}: {tally:?}, emulator replays {}",
        started.elapsed(),
        emu.control().idempotent_replays()
    );
    assert_eq!(tally.ok, WORKLOAD, "{tally:?}");
    assert_eq!(tally.outcome_unknown, 0);
    assert_eq!(tasks(&emu), WORKLOAD, "exactly one task per call");
    assert!(tally.replayed > 0, "some answers were lost and replayed");
    // A replay whose answer was lost again is counted by the portal, not by the client.
    assert!(emu.control().idempotent_replays() as usize >= tally.replayed);
}

#[tokio::test]
async fn v2_writes_with_lost_answers_are_outcome_unknown_never_duplicated() {
    let (emu, c) = lossy_portal().await;
    let v2 = c.with_api_version(ApiVersion::V2);
    let tally = add_tasks(&v2, WORKLOAD, |i| task_v2(&format!("task {i}"))).await;
    eprintln!("v2: {WORKLOAD} adds with 20% lost answers: {tally:?}");
    assert!(tally.outcome_unknown > 0, "{tally:?}");
    assert_eq!(tally.ok + tally.outcome_unknown, WORKLOAD, "{tally:?}");
    assert_eq!((tally.replayed, tally.other.len()), (0, 0));
    assert_eq!(tasks(&emu), WORKLOAD, "each write ran once, none twice");
}

#[tokio::test]
async fn a_v3_write_out_of_attempts_names_its_key_and_that_key_settles_it() {
    let emu = crate::support::emulator()
        .faults(Faults {
            lose_response_after_write_ratio: 1.0,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let c = hook_client(&emu.webhook_url());
    let err = c.send_full(&task_v3("T")).await.unwrap_err();
    let Error::OutcomeUnknown {
        idempotency_key: Some(key),
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        tasks(&emu),
        1,
        "the first send ran, the re-sends were replays"
    );
    assert_eq!(emu.control().idempotent_replays(), 5, "six attempts in all");
    emu.control().set_faults(Faults::default());
    let settled = c.send_with_key(&task_v3("T"), &key).await.unwrap();
    assert!(settled.replayed);
    assert_eq!(tasks(&emu), 1);
    // On v2 there is no key to name.
    emu.control().set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
    assert_lost_v2_add(&c).await;
}

#[tokio::test]
async fn v3_writes_through_5xx_cut_bodies_and_lost_answers_land_exactly_once() {
    let emu = faulty_portal(Faults {
        error_5xx_ratio: 0.1,
        truncate_body_ratio: 0.1,
        lose_response_after_write_ratio: 0.1,
        seed: 16,
        ..Faults::default()
    })
    .await;
    // About 27% of the attempts fail: six attempts run out now and then (0.27^6 per call),
    // ten do not.
    let c = Client::builder()
        .webhook(&emu.webhook_url())
        .no_rate_limit()
        .retry(crate::support::fast_retry().max_attempts(10))
        .build()
        .unwrap();
    let n = 300;
    let tally = add_tasks(&c, n, |i| task_v3(&format!("task {i}"))).await;
    eprintln!("v3: {n} adds with 10% 5xx, 10% cut bodies, 10% lost answers: {tally:?}");
    assert_eq!((tally.ok, tally.outcome_unknown), (n, 0), "{tally:?}");
    assert_eq!(tasks(&emu), n);
    assert!(tally.replayed > 0, "{tally:?}");
}
