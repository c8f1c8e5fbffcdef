//! The `diagnostics` chains of references/chains-diagnostics.md, each a function run against
//! the embedded emulator by `cargo test -p bitrix24-examples --test chains_diagnostics`.
//!
//! Chain 1 also reads `methods`, which the docs mark deprecated for `method.get`: the seed's
//! chain compares the portal's own list with `method.get`'s answer, and portals still answer it.
#![allow(deprecated)]

use bitrix24::packs::core::{EventBind, UserCurrent};
use bitrix24::packs::diagnostics::{Events, FeatureGet, MethodGet, Methods, Scope, ServerTime};
use bitrix24::{Client, Error, catalog};
use bitrix24_examples::{app_client, webhook_portal};

/// What the compatibility check found for one method.
#[derive(Debug, PartialEq, Eq)]
struct Compat {
    available: bool,
    /// Scopes the specs ask for that the portal did not grant (empty when any one is there).
    missing_scopes: Vec<&'static str>,
    listed: bool,
}

/// Chain 1, method compatibility check: method.get, then the granted scopes against the ones
/// the specs give the method, then the portal's method list.
async fn method_compatibility(client: &Client, method: &str) -> Result<Compat, Error> {
    // 1. method.get: does it exist, may this auth call it?
    let got = client.send(&MethodGet::new().name(method)).await?;
    let available = got["isAvailable"].as_bool().unwrap_or(false);
    // 2. scope: what was granted, against what the specs ask for
    let granted = client.send(&Scope::new()).await?;
    let has = |s: &str| granted.as_array().is_some_and(|a| a.iter().any(|g| g == s));
    let wanted = catalog::method_info(method).map_or(&[][..], |m| m.scopes);
    let missing_scopes = if wanted.iter().any(|s| has(s)) {
        Vec::new()
    } else {
        wanted.to_vec()
    };
    // 3. methods: the portal's own list of what this auth can call
    let methods = client.send(&Methods::new()).await?;
    let listed = methods
        .as_array()
        .is_some_and(|a| a.iter().any(|m| m.as_str() == Some(method)));
    Ok(Compat {
        available,
        missing_scopes,
        listed,
    })
}

/// Chain 2, event capability check (an OAuth application: `events` is app-only): offline
/// events available, and the event in the portal's list; bound only when both hold.
async fn event_capability(client: &Client, event: &str) -> Result<bool, Error> {
    // 1. feature.get: are offline events available here?
    let feature = client
        .send(&FeatureGet::new("rest_offline_extended"))
        .await?;
    let offline = feature["value"] == "Y";
    // 2. events: may this app subscribe to the event?
    let events = client.send(&Events::new()).await?;
    let known = events.as_array().is_some_and(|a| {
        a.iter()
            .any(|e| e.as_str().is_some_and(|n| n.eq_ignore_ascii_case(event)))
    });
    // 3. event.bind, offline, only when both hold (then drain it: chains-core.md, chain 3)
    if offline && known {
        let bind = EventBind::new(event).event_type("offline");
        client.send(&bind).await?;
    }
    Ok(offline && known)
}

/// Chain 3, runtime sanity check: the portal answers and the auth acts as someone.
async fn runtime_sanity(client: &Client) -> Result<(String, u64), Error> {
    // 1. server.time: reachable, and its clock
    let now = client.send(&ServerTime::new()).await?;
    // 2. user.current: the auth works, and as whom
    let me = client.send(&UserCurrent::new()).await?;
    Ok((now, me.id.unwrap_or_default()))
}

#[tokio::test]
async fn chain_1_method_compatibility_check() {
    let (_emu, client) = webhook_portal().await;
    let c = method_compatibility(&client, "crm.deal.list")
        .await
        .unwrap();
    assert!(c.available, "{c:?}");
    assert!(c.missing_scopes.is_empty(), "{c:?}");
    assert!(c.listed, "{c:?}");
}

#[tokio::test]
async fn chain_2_event_capability_check() {
    let (emu, _) = webhook_portal().await;
    let app = app_client(&emu).unwrap();
    assert!(event_capability(&app, "ONCRMDEALADD").await.unwrap());
    assert!(!event_capability(&app, "ONNOSUCHEVENT").await.unwrap());
    assert_eq!(
        emu.control().method_calls("event.bind"),
        1,
        "bound once: the known event"
    );
}

#[tokio::test]
async fn chain_3_runtime_sanity_check() {
    let (_emu, client) = webhook_portal().await;
    let (now, me) = runtime_sanity(&client).await.unwrap();
    assert!(!now.is_empty());
    assert_eq!(me, 1);
}

#[test]
fn the_reference_names_these_steps() {
    let md = include_str!("../../references/chains-diagnostics.md");
    let code = include_str!("diagnostics.rs");
    // Every snippet of the reference is this file's code, one per chain.
    bitrix24_examples::assert_snippets_in(md, code, 3);
    // Every method a chain of the reference names is sent by this file.
    for line in md
        .lines()
        .filter(|l| l.starts_with("1. ") || l.starts_with("2. ") || l.starts_with("3. "))
    {
        let m = line.split('`').nth(1).unwrap_or_default();
        let ty: String = m
            .split('.')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        assert!(
            code.contains(&format!("{ty}::new(")),
            "{m} ({ty}) is not sent here"
        );
    }
}
