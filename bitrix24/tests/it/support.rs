//! Clients the integration tests share: no client-side limiter, millisecond retries.

use std::sync::Arc;
use std::time::Duration;

use bitrix24::{Client, OAuthApp, OAuthTokens, RetryPolicy, TokenStore};
use serde_json::{Map, Value};

use crate::canned::Canned;

/// Retries after 2 ms, at most 10 ms apart.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(2))
        .max_delay(Duration::from_millis(10))
}

/// A webhook client for a canned server's or the emulator's webhook URL.
pub fn hook_client(webhook_url: &str) -> Client {
    Client::builder()
        .webhook(webhook_url)
        .no_rate_limit()
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// An OAuth client of a canned server (client secret `s3cret`, access token `old4ccess`,
/// refresh token `oldrefresh`), with an optional token store.
pub fn canned_app(server: &Canned, store: Option<Arc<dyn TokenStore>>) -> Client {
    let builder = Client::builder()
        .oauth(
            OAuthApp::new("local.6537665f598492.98090704", "s3cret")
                .token_url(format!("{}/oauth/token/", server.base)),
            OAuthTokens::new("old4ccess", "oldrefresh", format!("{}/rest/", server.base)),
        )
        .no_rate_limit()
        .retry(fast_retry());
    match store {
        Some(store) => builder.token_store(store),
        None => builder,
    }
    .build()
    .unwrap()
}

/// The JSON object of `value` (`filter`, `order` and `params` take objects): panics on anything
/// else, which is a bug in the test.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not a JSON object: {other}"),
    }
}
