//! Behaviours pinned after review: redirects, refresh failures, shared stores, pagination edges.

use std::sync::Arc;

// pagination edges of the legacy crm.deal.list (flat pages)
#[allow(deprecated)]
use bitrix24::packs::core::CrmDealList;
use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{AuthError, Client, Error, MemoryTokenStore, OAuthTokens, Strategy, TokenStore};
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::canned::{Canned, json, redirect};
use crate::support::{canned_app, hook_client};

const TIME_OK: &str = r#"{"result":"2024-08-05T09:02:13+00:00","time":{}}"#;
const EXPIRED: &str =
    r#"{"error":"expired_token","error_description":"The access token provided has expired"}"#;

#[tokio::test]
async fn redirects_off_https_or_off_rest_are_not_followed() {
    for location in [
        "http://portal.example.com/rest/1/abc123secret/server.time",
        "https://portal.example.com/login/?back=1",
    ] {
        let server = Canned::start(vec![redirect(location)]).await;
        let err = hook_client(&server.webhook())
            .send(&ServerTime::new())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("not following")),
            "{err:?}"
        );
        assert!(!err.to_string().contains("abc123secret"), "{err}");
    }
}

#[tokio::test]
async fn a_refused_refresh_token_is_not_sent_again() {
    let server = Canned::start(vec![
        json(401, EXPIRED),
        json(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid grant"}"#,
        ),
        json(401, EXPIRED),
    ])
    .await;
    let c = canned_app(&server, Some(Arc::new(MemoryTokenStore::new())));
    for _ in 0..2 {
        let err = c.send(&ServerTime::new()).await.unwrap_err();
        assert!(
            matches!(err, Error::Auth(AuthError::RefreshRejected { .. })),
            "{err:?}"
        );
    }
    let token_calls = server
        .paths()
        .iter()
        .filter(|p| p.starts_with("/oauth"))
        .count();
    assert_eq!(
        token_calls, 1,
        "the dead refresh token went to the endpoint once"
    );
}

#[tokio::test]
async fn tokens_another_process_saved_are_adopted_instead_of_refreshing() {
    let server = Canned::start(vec![json(401, EXPIRED), json(200, TIME_OK)]).await;
    let store = Arc::new(MemoryTokenStore::new());
    let c = canned_app(&server, Some(store.clone()));
    // Another process refreshed meanwhile and saved the new pair.
    store
        .save(&OAuthTokens::new(
            "n3waccess",
            "n3wrefresh",
            format!("{}/rest/", server.base),
        ))
        .await
        .unwrap();
    c.send(&ServerTime::new()).await.unwrap();
    assert_eq!(
        server.paths(),
        vec!["/rest/server.time", "/rest/server.time"]
    );
    assert_eq!(server.seen()[1].body, r#"{"auth":"n3waccess"}"#);
    assert_eq!(c.token_refreshes(), 0);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn lists_with_next_but_no_total_are_followed_page_by_page() {
    let page = |from: u64, n: u64, next: Option<u64>| {
        let rows: Vec<Value> = (from..from + n)
            .map(|i| json!({"ID": i.to_string()}))
            .collect();
        let mut v = json!({"result": rows});
        if let Some(n) = next {
            v["next"] = json!(n);
        }
        v.to_string()
    };
    let server = Canned::start(vec![
        json(200, &page(1, 50, Some(50))),
        json(200, &page(51, 50, Some(100))),
        json(200, &page(101, 3, None)),
    ])
    .await;
    let rows: Vec<_> = hook_client(&server.webhook())
        .stream_with(&CrmDealList::new(), Strategy::Offset)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 103);
    let starts: Vec<Value> = server
        .seen()
        .iter()
        .map(|s| serde_json::from_str::<Value>(&s.body).unwrap()["start"].clone())
        .collect();
    assert_eq!(starts, vec![json!(0), json!(50), json!(100)]);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn keyset_guards_its_own_order_and_id() {
    // The answer to a split walk's first request: its first page is command `f`.
    let server = Canned::start(vec![json(
        200,
        r#"{"result":{"result":{"f":[{"ID":"1","TITLE":"a"}]},"result_error":[]},"time":{}}"#,
    )])
    .await;
    let c = hook_client(&server.webhook());
    let err = c
        .stream_with(
            &CrmDealList::new().order(crate::support::object(json!({"TITLE": "ASC"}))),
            Strategy::Keyset,
        )
        .try_next()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("remove `order`"), "{err}");
    // A select without the id gets it added, so the walk can continue.
    let rows = c
        .list_all(&CrmDealList::new().select(["TITLE"]))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let body: Value = serde_json::from_str(&server.seen()[0].body).unwrap();
    let page = body["cmd"]["f"].as_str().unwrap();
    assert!(
        page.starts_with("crm.deal.list?select[0]=TITLE&select[1]=ID&"),
        "{page}"
    );
}

#[test]
fn only_real_loopback_addresses_may_use_http() {
    assert!(Client::webhook("http://127.0.0.1:8080/rest/1/x/").is_ok());
    assert!(Client::webhook("http://localhost:8080/rest/1/x/").is_ok());
    assert!(Client::webhook("http://[::1]:8080/rest/1/x/").is_ok());
    assert!(Client::webhook("http://127.evil.example/rest/1/x/").is_err());
    assert!(Client::webhook("http://localhost.evil.example/rest/1/x/").is_err());
}

/// A store whose first save fails (a full disk, a lost database connection).
#[derive(Default)]
struct FlakyStore {
    inner: MemoryTokenStore,
    fails_left: std::sync::atomic::AtomicU32,
}

impl TokenStore for FlakyStore {
    fn load(&self) -> futures::future::BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        self.inner.load()
    }

    fn save<'a>(
        &'a self,
        tokens: &'a OAuthTokens,
    ) -> futures::future::BoxFuture<'a, Result<(), Error>> {
        let failing = self
            .fails_left
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok();
        if failing {
            return Box::pin(async { Err(Error::Auth(AuthError::TokenStore("disk full".into()))) });
        }
        self.inner.save(tokens)
    }
}

#[tokio::test]
async fn rotated_tokens_that_could_not_be_saved_are_saved_later_not_lost() {
    let refreshed = r#"{"access_token":"n3waccess","refresh_token":"n3wrefresh","expires_in":3600,"client_endpoint":"{BASE}/rest/"}"#;
    let server = Canned::start(vec![
        json(401, EXPIRED),
        json(200, refreshed),
        json(401, EXPIRED),
        json(200, TIME_OK),
    ])
    .await;
    let store = Arc::new(FlakyStore {
        fails_left: 1.into(),
        ..FlakyStore::default()
    });
    let c = server
        .oauth_builder()
        .token_store(store.clone())
        .build()
        .unwrap();
    // The save fails: the call fails, and the unsaved pair is not used.
    let err = c.send(&ServerTime::new()).await.unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(c.oauth_tokens().unwrap().access_token.expose(), "old4ccess");
    // Next call: the kept pair is saved (no second token request) and used.
    c.send(&ServerTime::new()).await.unwrap();
    assert_eq!(
        server.paths(),
        vec![
            "/rest/server.time",
            "/oauth/token/",
            "/rest/server.time",
            "/rest/server.time"
        ]
    );
    assert_eq!(server.seen()[3].body, r#"{"auth":"n3waccess"}"#);
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.refresh_token.expose(), "n3wrefresh");
}
