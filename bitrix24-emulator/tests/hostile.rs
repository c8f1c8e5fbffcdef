//! The emulator under hostile input (form bodies and batch command strings that made the old
//! form parser quadratic), and the secrets it hands out (never derived from the fault seed).

#[path = "support/hostile_body.rs"]
mod hostile_body;
mod support;

use bitrix24_emulator::{Emulator, Faults};
use hostile_body::hostile_body;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a hostile request may take before the test fails: the old parser needed about an
/// hour for these bodies, the linear one a few seconds unoptimised.
const GUARD: Duration = Duration::from_secs(20);

/// Starts an emulator on a thread and runtime of its own (never shut down), so that a request
/// it cannot finish leaves the test's runtime free to time out; the process ends it.
fn background_emulator() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let emu = support::start(Emulator::builder().webhook(1, "C")).await;
            let _ = tx.send(emu.webhook_url());
            std::future::pending::<()>().await;
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the emulator started")
}

fn guarded_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(GUARD)
        .build()
        .expect("a client")
}

#[tokio::test]
async fn a_hostile_form_body_is_answered_in_linear_time() {
    let url = background_emulator();
    let r = guarded_client()
        .post(format!("{url}server.time"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(hostile_body())
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer within {GUARD:?}: {e}"));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("JSON");
    assert!(v["result"].is_string(), "{v}");
}

#[tokio::test]
async fn a_hostile_batch_command_is_answered_in_linear_time() {
    let url = background_emulator();
    let r = guarded_client()
        .post(format!("{url}batch"))
        .json(&json!({"halt": 0, "cmd": {"t": format!("server.time?{}", hostile_body())}}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer within {GUARD:?}: {e}"));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("JSON");
    assert!(v["result"]["result"]["t"].is_string(), "{v}");
}

/// The code shown by `/oauth/authorize/` (an app without a redirect URI).
async fn authorize_code(base: &str, client_id: &str) -> String {
    let page = reqwest::get(format!("{base}/oauth/authorize/?client_id={client_id}"))
        .await
        .expect("the authorize page")
        .text()
        .await
        .expect("its text");
    page.split("<code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("a code on the page")
        .to_string()
}

#[tokio::test]
async fn two_emulators_with_one_seed_hand_out_different_secrets() {
    let faults = Faults {
        seed: 42,
        ..Faults::default()
    };
    let mut seen = Vec::new();
    for _ in 0..2 {
        let emu = support::start(Emulator::builder().faults(faults.clone())).await;
        let app = emu.oauth_app();
        let code = emu.control().issue_authorization_code(1);
        let shown = authorize_code(&emu.base_url(), &app.client_id).await;
        assert_eq!(app.access_token.len(), 70);
        assert_eq!(app.client_secret.len(), 50);
        assert!(app.client_secret.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            [&app.member_id, &app.application_token, &code, &shown]
                .iter()
                .all(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        seen.push((app, code, shown));
    }
    let ((a, a_code, a_shown), (b, b_code, b_shown)) = (&seen[0], &seen[1]);
    // The client id is an identifier, not a secret: it may repeat with the seed.
    assert_eq!(a.client_id, b.client_id);
    for (what, x, y) in [
        ("client_secret", &a.client_secret, &b.client_secret),
        ("access_token", &a.access_token, &b.access_token),
        ("refresh_token", &a.refresh_token, &b.refresh_token),
        ("member_id", &a.member_id, &b.member_id),
        (
            "application_token",
            &a.application_token,
            &b.application_token,
        ),
        ("authorization code", a_code, b_code),
        ("authorize page code", a_shown, b_shown),
    ] {
        assert_ne!(x, y, "{what} repeats with the fault seed");
    }
}

#[tokio::test]
async fn fault_sequences_still_repeat_with_the_seed() {
    let faults = Faults {
        error_5xx_ratio: 0.5,
        seed: 7,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let emu = support::start(Emulator::builder().webhook(1, "C").faults(faults.clone())).await;
        // Tokens and codes drawn in between must not shift the fault sequence.
        let _ = emu.oauth_app();
        let _ = emu.control().issue_authorization_code(1);
        let mut statuses = Vec::new();
        for _ in 0..24 {
            let r = reqwest::get(format!("{}server.time", emu.webhook_url()))
                .await
                .expect("an answer");
            statuses.push(r.status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&500) && runs[0].contains(&200), "{runs:?}");
}
