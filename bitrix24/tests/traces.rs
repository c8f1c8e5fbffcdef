//! Secrets never reach the logs. Its own test binary: a thread-local tracing subscriber races
//! with other test threads over tracing's per-callsite cache, so nothing else runs here.

#[path = "it/canned.rs"]
#[allow(dead_code)]
mod canned;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{Client, RetryPolicy};

use crate::canned::json;

const TIME_OK: &str = r#"{"result":"2024-08-05T09:02:13+00:00","time":{}}"#;
const REFRESHED: &str = r#"{"access_token":"fresh4ccess","expires":1780319382,"expires_in":3600,"scope":"app","domain":"oauth.bitrix.info","server_endpoint":"https://oauth.bitrix.info/rest/","status":"L","client_endpoint":"{BASE}/rest/","member_id":"a223c6b3710f85df22e9377d6c4f7553","user_id":1,"refresh_token":"fr3shrefresh"}"#;

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn traces_never_contain_secrets() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let server = canned::Canned::start(vec![
                json(
                    503,
                    r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
                ),
                json(
                    401,
                    r#"{"error":"expired_token","error_description":"expired"}"#,
                ),
                json(200, REFRESHED),
                json(200, TIME_OK),
            ])
            .await;
            let client = server
                .oauth_builder()
                .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
                .build()
                .unwrap();
            client.send(&ServerTime::new()).await.unwrap();
            let hook = Client::builder()
                .webhook(&format!("{}/rest/1/h00kcode/", server.base))
                .no_rate_limit()
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            let _ = hook.send(&ServerTime::new()).await;
        });
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("bitrix24.call"), "spans are emitted: {text}");
    assert!(
        text.contains("QUERY_LIMIT_EXCEEDED") || text.contains("backing off"),
        "{text}"
    );
    for secret in [
        "s3cret",
        "old4ccess",
        "oldrefresh",
        "fresh4ccess",
        "fr3shrefresh",
        "h00kcode",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} appeared in the logs:\n{text}"
        );
    }
}
