//! Issue 9's token, answer and address defects, each pinned against a small programmable
//! portal: cancellation-safe refresh (4), durable file saves (5), applied-but-undecodable
//! writes (6), `invalid_token` (7), the refusal cache (8), shared refresh failures (9), where
//! secrets may go (14) and the response-size cap (15).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{
    AuthError, Client, Error, FileTokenStore, MemoryTokenStore, OAuthApp, OAuthTokens, TokenStore,
};
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::canned::{Answer, Canned, Seen, json as answer_json, redirect};
use crate::support::{fast_retry, hook_client};

const TIME_OK: &str = r#"{"result":"2024-08-05T09:02:13+00:00","time":{}}"#;

/// How the token endpoint behaves.
#[derive(Clone)]
enum TokenMode {
    /// Rotate the pair after `delay` when the refresh token is the valid one.
    Rotate(Duration),
    /// Never answer.
    Hang,
    /// Answer this, once; then rotate.
    Once(Answer),
}

/// A portal plus token endpoint: accepts only its current access token, rotates on refresh.
struct MiniPortal {
    access: Mutex<String>,
    refresh: Mutex<String>,
    generation: AtomicU64,
    token_calls: AtomicU64,
    rest_calls: AtomicU64,
    mode: Mutex<TokenMode>,
    /// The code a stale access token gets: `expired_token` or `invalid_token`.
    stale_code: &'static str,
}

impl MiniPortal {
    fn new(mode: TokenMode, stale_code: &'static str) -> Arc<MiniPortal> {
        Arc::new(MiniPortal {
            // The clients' `old4ccess` is already stale; `oldrefresh` is valid.
            access: Mutex::new("current0".into()),
            refresh: Mutex::new("oldrefresh".into()),
            generation: AtomicU64::new(0),
            token_calls: AtomicU64::new(0),
            rest_calls: AtomicU64::new(0),
            mode: Mutex::new(mode),
            stale_code,
        })
    }

    async fn start(self: &Arc<Self>) -> Canned {
        let me = self.clone();
        Canned::serve(Arc::new(move |seen: Seen| {
            let me = me.clone();
            Box::pin(async move { me.answer(&seen).await }) as BoxFuture<'static, Option<Answer>>
        }))
        .await
    }

    async fn answer(&self, seen: &Seen) -> Option<Answer> {
        if seen.path.starts_with("/oauth/token") {
            self.token_calls.fetch_add(1, Ordering::SeqCst);
            let mode = self.mode.lock().unwrap().clone();
            match mode {
                TokenMode::Hang => return None,
                TokenMode::Once(answer) => {
                    *self.mode.lock().unwrap() = TokenMode::Rotate(Duration::ZERO);
                    return Some(answer);
                }
                TokenMode::Rotate(delay) => tokio::time::sleep(delay).await,
            }
            let sent = form_value(&seen.body, "refresh_token");
            let mut refresh = self.refresh.lock().unwrap();
            if sent != *refresh {
                return Some(answer_json(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid grant"}"#,
                ));
            }
            let n = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            *refresh = format!("refresh{n}");
            *self.access.lock().unwrap() = format!("access{n}");
            return Some(answer_json(
                200,
                &json!({
                    "access_token": format!("access{n}"),
                    "refresh_token": format!("refresh{n}"),
                    "expires_in": 3600,
                    "member_id": "a223c6b3710f85df22e9377d6c4f7553",
                })
                .to_string(),
            ));
        }
        self.rest_calls.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_str(&seen.body).unwrap_or(Value::Null);
        if body["auth"].as_str() == Some(self.access.lock().unwrap().as_str()) {
            Some(answer_json(200, TIME_OK))
        } else {
            Some(answer_json(
                401,
                &json!({"error": self.stale_code, "error_description": "stale token"}).to_string(),
            ))
        }
    }

    fn tokens(&self) -> u64 {
        self.token_calls.load(Ordering::SeqCst)
    }
}

fn form_value(body: &str, key: &str) -> String {
    body.split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .unwrap_or_default()
        .to_owned()
}

/// An OAuth client of `server` with `store`, fast retries and a 5 s timeout (a guard: no
/// test here waits that long).
fn app_client(server: &Canned, store: Arc<dyn TokenStore>) -> Client {
    server
        .oauth_builder()
        .token_store(store)
        .retry(fast_retry())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A mini portal whose token endpoint rotates the pair at once, where a stale token gets
/// `stale_code`, and its server.
async fn rotating_portal(stale_code: &'static str) -> (Arc<MiniPortal>, Canned) {
    let portal = MiniPortal::new(TokenMode::Rotate(Duration::ZERO), stale_code);
    let server = portal.start().await;
    (portal, server)
}

async fn server_time(c: &Client) -> Result<String, Error> {
    c.send(&ServerTime::new()).await
}

// --- 4: cancellation ---

#[tokio::test]
async fn a_cancelled_caller_does_not_lose_the_rotated_tokens() {
    let portal = MiniPortal::new(
        TokenMode::Rotate(Duration::from_millis(300)),
        "expired_token",
    );
    let server = portal.start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let c = app_client(&server, store.clone());
    // The caller gives up while the token endpoint is rotating the pair.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), server_time(&c)).await;
    assert!(gave_up.is_err(), "the call should still be waiting");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let saved = store
        .load()
        .await
        .unwrap()
        .expect("the rotated pair was saved");
    assert_eq!(saved.refresh_token.expose(), "refresh1");
    assert_eq!(c.oauth_tokens().unwrap().access_token.expose(), "access1");
    server_time(&c).await.unwrap();
    assert_eq!(portal.tokens(), 1, "no second refresh");
}

// --- 9: one failure for every waiter ---

#[tokio::test]
async fn one_refresh_failure_answers_every_waiter() {
    let portal = MiniPortal::new(TokenMode::Hang, "expired_token");
    let server = portal.start().await;
    let c = server
        .oauth_builder()
        .retry(fast_retry())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let calls = (0..100).map(|_| server_time(&c));
    let results = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(calls))
        .await
        .expect("waiters were answered by the one failed refresh, not one by one");
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert!(
            matches!(err, Error::Auth(AuthError::RefreshUnavailable(_))),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }
    assert_eq!(portal.tokens(), 1, "one refresh request for 100 waiters");
    // The failure was not remembered: the next call refreshes again and succeeds.
    *portal.mode.lock().unwrap() = TokenMode::Rotate(Duration::ZERO);
    server_time(&c).await.unwrap();
    assert_eq!(portal.tokens(), 2);
}

/// How a [`FirstLoadStore`]'s first `load` misbehaves.
#[derive(Clone, Copy)]
enum FirstLoad {
    /// It panics, as a buggy user store might.
    Panics,
    /// It finds nothing: the process loaded before its peer saved.
    Misses,
}

/// A store over `inner` whose first `load` misbehaves as `first` says; later loads and every
/// save go to `inner`.
struct FirstLoadStore {
    inner: Arc<dyn TokenStore>,
    first: FirstLoad,
    loaded: std::sync::atomic::AtomicBool,
}

impl FirstLoadStore {
    fn new(inner: Arc<dyn TokenStore>, first: FirstLoad) -> Arc<Self> {
        Arc::new(FirstLoadStore {
            inner,
            first,
            loaded: false.into(),
        })
    }
}

impl TokenStore for FirstLoadStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        if self.loaded.swap(true, Ordering::SeqCst) {
            return self.inner.load();
        }
        match self.first {
            FirstLoad::Panics => panic!("the store fails once"),
            FirstLoad::Misses => Box::pin(async { Ok(None) }),
        }
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.save(tokens)
    }
}

#[tokio::test]
async fn a_refresh_task_that_died_does_not_block_the_next_refresh() {
    let (portal, server) = rotating_portal("expired_token").await;
    let store = FirstLoadStore::new(Arc::new(MemoryTokenStore::new()), FirstLoad::Panics);
    let c = app_client(&server, store);
    let err = server_time(&c).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth(AuthError::RefreshUnavailable(_))),
        "{err:?}"
    );
    server_time(&c).await.unwrap();
    assert_eq!(portal.tokens(), 1);
}

// --- 7: invalid_token ---

#[tokio::test]
async fn invalid_token_adopts_what_another_process_saved() {
    let (portal, server) = rotating_portal("invalid_token").await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let a = app_client(&server, store.clone());
    let b = app_client(&server, store.clone());
    server_time(&a).await.unwrap();
    assert_eq!(portal.tokens(), 1);
    // B still holds the pair A rotated away; the portal calls its token invalid.
    server_time(&b).await.unwrap();
    assert_eq!(portal.tokens(), 1, "B reloaded A's tokens from the store");
    assert_eq!(b.oauth_tokens().unwrap().access_token.expose(), "access1");
}

#[tokio::test]
async fn invalid_token_refreshes_once_when_the_store_has_nothing_newer() {
    let (portal, server) = rotating_portal("invalid_token").await;
    let c = app_client(&server, Arc::new(MemoryTokenStore::new()));
    server_time(&c).await.unwrap();
    assert_eq!(portal.tokens(), 1);
}

// --- 8: the refusal cache ---

#[tokio::test]
async fn a_cached_refusal_yields_to_tokens_a_peer_saved() {
    let (portal, server) = rotating_portal("expired_token").await;
    let shared: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let winner = app_client(&server, shared.clone());
    let loser = app_client(
        &server,
        FirstLoadStore::new(shared.clone(), FirstLoad::Misses),
    );
    server_time(&winner).await.unwrap();
    // The loser refreshed with the same, now dead, refresh token.
    let err = server_time(&loser).await.unwrap_err();
    assert!(
        matches!(err, Error::Auth(AuthError::RefreshRejected { .. })),
        "{err:?}"
    );
    // Its next call finds the winner's pair in the store instead of the cached refusal.
    server_time(&loser).await.unwrap();
    assert_eq!(portal.tokens(), 2);
}

#[tokio::test]
async fn refusals_that_may_pass_are_not_cached() {
    for first in [
        answer_json(
            400,
            r#"{"error":"PAYMENT_REQUIRED","error_description":"Subscription has been ended"}"#,
        ),
        answer_json(
            503,
            r#"{"error":"invalid_grant","error_description":"busy"}"#,
        ),
    ] {
        let status = first.status;
        let portal = MiniPortal::new(TokenMode::Once(first), "expired_token");
        let server = portal.start().await;
        let c = app_client(&server, Arc::new(MemoryTokenStore::new()));
        let err = server_time(&c).await.unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{status}: {err:?}");
        server_time(&c).await.unwrap();
        assert_eq!(
            portal.tokens(),
            2,
            "HTTP {status}: asked the endpoint again"
        );
    }
}

// --- 6: applied writes whose answer does not decode ---

#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(method = "crm.deal.add", risk = "write", scopes = ["crm"], response = u64)]
struct AddSomething {
    fields: Value,
}

#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(method = "crm.deal.get", risk = "read", scopes = ["crm"], response = u64)]
struct GetSomething {
    id: u64,
}

#[tokio::test]
async fn a_write_whose_success_does_not_decode_is_reported_applied() {
    let odd = r#"{"result":{"ID":"41","note":"not an id"},"time":{}}"#;
    let server = Canned::start(vec![answer_json(200, odd)]).await;
    let c = hook_client(&server.webhook());
    let err = c
        .send(&AddSomething {
            fields: json!({"TITLE": "x"}),
        })
        .await
        .unwrap_err();
    let Error::AppliedUndecoded {
        method, path, raw, ..
    } = &err
    else {
        panic!("expected AppliedUndecoded, got {err:?}");
    };
    assert_eq!(method, "crm.deal.add");
    assert_eq!(path, "result");
    assert_eq!(raw.json().unwrap()["result"]["ID"], "41");
    assert!(!err.is_retryable());
    assert!(
        !format!("{err:?}").contains("not an id"),
        "Debug hides the body"
    );
    assert_eq!(server.seen().len(), 1);

    // The same answer to a read stays a decode error.
    let server = Canned::start(vec![answer_json(200, odd)]).await;
    let err = hook_client(&server.webhook())
        .send(&GetSomething { id: 41 })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

// --- 14: where secrets may go ---

#[test]
fn oauth_addresses_must_be_https_off_loopback() {
    let build = |app: OAuthApp, endpoint: &str| {
        Client::builder()
            .oauth(app, OAuthTokens::new("a", "r", endpoint))
            .build()
    };
    let app = || OAuthApp::new("local.1", "s3cret");
    let err = build(app(), "http://portal.example.com/rest/").unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("client_endpoint")),
        "{err:?}"
    );
    assert!(build(app(), "http://127.0.0.1:9/rest/").is_ok());
    assert!(build(app(), "https://portal.example.com/rest/").is_ok());
    let err = build(
        app().token_url("http://oauth.example.com/oauth/token/"),
        "https://portal.example.com/rest/",
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("token URL")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn an_untrusted_server_endpoint_gets_no_secret() {
    let (portal, server) = rotating_portal("expired_token").await;
    let mut tokens = OAuthTokens::new("old4ccess", "oldrefresh", format!("{}/rest/", server.base));
    tokens.server_endpoint = Some("https://collector.example.net/rest/".into());
    let c = Client::builder()
        .oauth(OAuthApp::new("local.1", "s3cret"), tokens)
        .no_rate_limit()
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = server_time(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth(AuthError::UntrustedTokenEndpoint { host }) if host == "collector.example.net"),
        "{err:?}"
    );
    assert_eq!(portal.tokens(), 0);
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    let server = Canned::start(vec![
        redirect("https://collector.example.net/rest/1/abc123secret/server.time"),
        answer_json(200, TIME_OK),
    ])
    .await;
    let c = hook_client(&server.webhook());
    let err = server_time(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::PortalMoved { to, .. } if to == "https://collector.example.net"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("abc123secret"), "{err}");
    assert_eq!(server.seen().len(), 1);
    // Nothing was adopted: the next call goes to the configured portal again.
    server_time(&c).await.unwrap();
    assert_eq!(server.seen().len(), 2);
}

// --- 15: the response cap ---

#[tokio::test]
async fn an_oversized_answer_is_a_typed_error() {
    let big = format!(
        r#"{{"result":"{}","time":{{}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let server = Canned::start(vec![answer_json(200, &big)]).await;
    let c = Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap();
    let err = server_time(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::ResponseTooLarge { limit, .. } if *limit == 1024 * 1024),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 1, "not sent again");
}

// --- 5: durable file saves ---

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_file_saves_never_collide() {
    let dir = std::env::temp_dir().join(format!(
        "b24-concurrent-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(FileTokenStore::new(dir.join("tokens.json")));
    let saves = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let tokens = OAuthTokens::new(
                format!("access{i}"),
                format!("refresh{i}"),
                "https://acme.bitrix24.com/rest/",
            );
            store.save(&tokens).await
        })
    });
    for done in futures::future::join_all(saves).await {
        done.unwrap().unwrap();
    }
    let kept = store.load().await.unwrap().unwrap();
    let n = kept
        .access_token
        .expose()
        .strip_prefix("access")
        .unwrap()
        .to_owned();
    assert_eq!(
        kept.refresh_token.expose(),
        format!("refresh{n}"),
        "one whole pair"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "tokens.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
