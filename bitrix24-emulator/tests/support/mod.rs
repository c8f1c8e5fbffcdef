//! Helpers shared by the emulator's integration tests (`mod support;` in each): the usual
//! portal, JSON calls, the checks every wire test makes, and an HTTP handler that collects
//! event deliveries.
// Each test crate uses a part of this module.
#![allow(dead_code)]

use bitrix24_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// The usual portal: webhooks `1/SOMECODE` and `7/SEVEN` with every scope, company `Acme`.
pub fn portal() -> EmulatorBuilder {
    Emulator::builder()
        .webhook(1, "SOMECODE")
        .webhook(7, "SEVEN")
        .company_name("Acme")
}

/// Starts `b`.
pub async fn start(b: EmulatorBuilder) -> RunningEmulator {
    b.start().await.expect("start")
}

/// The usual portal, started.
pub async fn emu() -> RunningEmulator {
    start(portal()).await
}

/// A portal with webhook `1/C` and `n` seeded deals, started.
pub async fn seeded(n: u64) -> RunningEmulator {
    start(Emulator::builder().webhook(1, "C").seed_deals(n)).await
}

/// A started portal called by method name through its first webhook.
pub struct Hook {
    /// The portal.
    pub emu: RunningEmulator,
    url: String,
}

impl Hook {
    /// Calls `method` with `body` (JSON) and expects 200: the whole answer.
    pub async fn call(&self, method: &str, body: Value) -> Value {
        ok(format!("{}{method}", self.url), body).await
    }
}

/// The usual portal, started, as a [`Hook`].
pub async fn hook() -> Hook {
    let emu = emu().await;
    let url = emu.webhook_url();
    Hook { emu, url }
}

/// A plain HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The status and JSON body of a response (panics on a body that is not JSON).
pub async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

/// POSTs `body` as JSON.
pub async fn post(url: &str, body: &Value) -> (u16, Value) {
    read(client().post(url).json(body).send().await.expect("send")).await
}

/// POSTs `body` form-encoded (`application/x-www-form-urlencoded`); panics when no answer
/// comes.
pub async fn post_form(url: &str, body: impl Into<String>) -> reqwest::Response {
    client()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.into())
        .send()
        .await
        .expect("an answer")
}

/// GETs `url`.
pub async fn get(url: &str) -> (u16, Value) {
    read(client().get(url).send().await.expect("send")).await
}

/// POSTs `body` as JSON and expects 200.
pub async fn ok(url: String, body: Value) -> Value {
    let (s, b) = post(&url, &body).await;
    assert_eq!(s, 200, "{url}: {b}");
    b
}

/// The keys of an object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A v2 error: status, `error` code, a description and no `time`.
pub fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(body.get("time").is_none(), "errors carry no time: {body}");
}

/// Deliveries: (content type, body) of each request a [`handler`] received.
pub type Deliveries = UnboundedReceiver<(String, String)>;

/// A tiny HTTP handler that forwards each request's content type and body to a channel.
pub async fn handler() -> (String, Deliveries) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let app = axum::Router::new()
        .fallback(
            |State(tx): State<tokio::sync::mpsc::UnboundedSender<(String, String)>>,
             headers: HeaderMap,
             body: String| async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send((ct, body));
                "ok"
            },
        )
        .with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (format!("http://{addr}/handler"), rx)
}

/// The next delivery (within 5 s): content type and decoded form pairs in wire order.
pub async fn next(rx: &mut Deliveries) -> (String, Vec<(String, String)>) {
    let (ct, body) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a delivery")
        .expect("open");
    let pairs = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (ct, pairs)
}

/// No delivery within 300 ms.
pub async fn nothing(rx: &mut Deliveries) {
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "no delivery expected"
    );
}

/// The value of form key `k`.
pub fn field<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}
