//! What the integration tests share: the emulated portal, clients with no client-side limiter
//! and millisecond retries, and small request helpers.

use std::sync::Arc;
use std::time::Duration;

use bitrix24::packs::core::{CrmItemAdd, Item};
use bitrix24::{Client, ClientBuilder, RetryPolicy, TokenStore};
use bitrix24_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use serde_json::{Map, Value};

use crate::canned::Canned;

#[path = "../../../examples/app.rs"]
mod app;

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

/// An emulator with webhook `1/itcode`, to configure further.
pub fn emulator() -> EmulatorBuilder {
    Emulator::builder().webhook(1, "itcode")
}

/// A running emulator with webhook `1/itcode`.
pub async fn portal() -> RunningEmulator {
    emulator().start().await.unwrap()
}

/// A running emulator holding `deals` deals, and a webhook client of it.
pub async fn seeded_portal(deals: u64) -> (RunningEmulator, Client) {
    let emu = emulator().seed_deals(deals).start().await.unwrap();
    let c = hook_client(&emu.webhook_url());
    (emu, c)
}

/// An OAuth client of a canned server (see [`Canned::oauth_builder`]), fast retries, with an
/// optional token store.
pub fn canned_app(server: &Canned, store: Option<Arc<dyn TokenStore>>) -> Client {
    with_store(server.oauth_builder().retry(fast_retry()), store)
}

/// An OAuth client of the emulator's application (offline events need one), fast retries,
/// with an optional token store.
pub fn emulator_app(emu: &RunningEmulator, store: Option<Arc<dyn TokenStore>>) -> Client {
    let builder = app::app_builder(emu).no_rate_limit().retry(fast_retry());
    with_store(builder, store)
}

fn with_store(builder: ClientBuilder, store: Option<Arc<dyn TokenStore>>) -> Client {
    match store {
        Some(store) => builder.token_store(store),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Adds a deal (`crm.item.add`, `entityTypeId` 2) titled `title` and returns its id.
pub async fn add_deal(c: &Client, title: &str) -> u64 {
    let request = CrmItemAdd::new(2, Item::new().title(title));
    let added = c.send(&request).await.unwrap();
    added.item.id.expect("the added deal's id")
}

/// The JSON object of `value` (`filter`, `order` and `params` take objects): panics on anything
/// else, which is a bug in the test.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not a JSON object: {other}"),
    }
}

/// What a refused call answered: the error code and the REST 3.0 `validation` pairs
/// (`(field, message)`). Panics when the call succeeded or failed without an API answer, which
/// the test did not expect.
pub fn refusal<T: std::fmt::Debug>(
    outcome: Result<T, bitrix24::Error>,
) -> (String, Vec<(Option<String>, String)>) {
    let err = outcome.expect_err("the call must be refused");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err}"));
    (api.code.as_str().to_owned(), api.validation.clone())
}

/// [`refusal`] of the raw REST 3.0 call `method` with `params`.
pub async fn v3_refusal(
    c: &Client,
    method: &str,
    params: Value,
) -> (String, Vec<(Option<String>, String)>) {
    let v3 = c.with_api_version(bitrix24::ApiVersion::V3);
    refusal(v3.call(method, params).await)
}

/// One `validation` pair, as [`refusal`] answers them.
pub fn invalid(field: &str, message: &str) -> Vec<(Option<String>, String)> {
    vec![(Some(field.to_owned()), message.to_owned())]
}
