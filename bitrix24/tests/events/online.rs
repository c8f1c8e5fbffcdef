//! The axum callbacks against the emulator: install, typed online events, bad input, replay,
//! corrupt rows, tenant isolation and uninstall.

use std::time::Duration;

use bitrix24::events::{DeadLetterQueue, Payload, SqliteStore, StoreError, TenantStore};
use serde_json::json;

use crate::support::{
    Logs, app_of, app_server, client, deal_event, deal_status, form, install, next_event, portal,
    post, service, temp_db,
};

#[tokio::test]
async fn install_then_typed_online_events() {
    let mut s = app_server("install").await;
    // The portal's ONAPPINSTALL (API-only app) stores the tenant after app.info verified it.
    let status = s
        .emu
        .control()
        .install_app(&s.url("/install"))
        .await
        .unwrap();
    let logs = crate::support::Logs::install().text();
    assert_eq!(
        status,
        200,
        "{}",
        logs.lines()
            .filter(|l| l.contains("install"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    s.installed_tenant().await;
    assert_eq!(s.store.schema_version().await.unwrap(), 2);
    // A bound online event arrives typed.
    let c = s.bind_deal_add().await;
    let id = c
        .call("crm.deal.add", json!({"fields": {"TITLE": "online"}}))
        .await
        .unwrap();
    let ev = next_event(&mut s.rx).await;
    assert_eq!(ev.event.name.as_str(), "ONCRMDEALADD");
    let Payload::Crm(deal) = &ev.event.payload else {
        panic!("{ev:?}")
    };
    let id = id
        .as_u64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()));
    assert_eq!(Some(deal.id), id);
    assert_eq!(ev.member_id(), s.a.member_id);
    assert!(!format!("{ev:?}").contains(&s.a.application_token));
}

#[tokio::test]
async fn bad_input_is_typed_and_nothing_is_lost() {
    let logs = Logs::install();
    let emu = portal().await;
    let store = SqliteStore::open(temp_db("bad")).await.unwrap();
    let a = install(&store, &emu).await;
    let (addr, mut rx) = service(&store, app_of(&a)).await;
    let (m, t) = (a.member_id.as_str(), a.application_token.as_str());

    // Malformed form body, missing auth block, oversize body.
    assert_eq!(post(addr, "/events", "a[b=1&event=X".into()).await.0, 400);
    assert_eq!(
        post(
            addr,
            "/events",
            "event=ONCRMDEALADD&data[FIELDS][ID]=1".into()
        )
        .await
        .0,
        401
    );
    let huge = deal_event(m, t, &"9".repeat(20_000), "1");
    assert_eq!(post(addr, "/events", huge).await.0, 413);
    // Unknown tenant, wrong token.
    assert_eq!(deal_status(addr, "0badc0de", t, "1", "1").await, 401);
    let (status, text) = post(addr, "/events", deal_event(m, "not-the-token", "1", "1")).await;
    assert_eq!(status, 403, "{text}");
    // Unknown event name and malformed payload (after a good token): dead-lettered, 200.
    let unknown = deal_event(m, t, "5", "2").replace("ONCRMDEALUPDATE", "ONSOMETHINGNEW");
    assert_eq!(
        post(addr, "/events", unknown).await,
        (200, "dead-lettered".into())
    );
    let bad_id = deal_event(m, t, "not-a-number", "3");
    assert_eq!(
        post(addr, "/events", bad_id).await,
        (200, "dead-lettered".into())
    );
    let dead = store.list(Some(m), 10).await.unwrap();
    let codes: Vec<&str> = dead.iter().map(|d| d.error_code.as_str()).collect();
    assert!(
        codes.contains(&"UNKNOWN_EVENT") && codes.contains(&"MALFORMED"),
        "{codes:?}"
    );
    assert!(
        !serde_json::to_string(&dead[0].payload)
            .unwrap()
            .contains("SECRET-ACCESS")
    );
    // A good event, then its replay: handled once.
    let good = deal_event(m, t, "42", "4");
    assert_eq!(
        post(addr, "/events", good.clone()).await,
        (200, "stored".into())
    );
    assert_eq!(post(addr, "/events", good).await, (200, "duplicate".into()));
    let ev = next_event(&mut rx).await;
    assert!(matches!(ev.event.payload, Payload::Crm(ref c) if c.id == 42));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.try_recv().is_err(), "the replay reached the handler");
    // A corrupt row: a typed error, the server keeps serving the other tenant.
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    raw.execute(
        "UPDATE tokens SET access_token = x'ff00' WHERE member_id = ?1",
        [m],
    )
    .unwrap();
    assert!(matches!(
        store.tokens(m).await,
        Err(StoreError::Corrupt {
            table: "tokens",
            ..
        })
    ));
    raw.execute(
        "UPDATE tenants SET installed_at = 'garbage' WHERE member_id = ?1",
        [m],
    )
    .unwrap();
    assert_eq!(deal_status(addr, m, t, "43", "5").await, 503);
    let emu_b = portal().await;
    let b = install(&store, &emu_b).await;
    assert_eq!(
        deal_status(addr, &b.member_id, &b.application_token, "44", "6").await,
        200
    );
    // Logged, with secrets masked.
    let text = logs.text();
    assert!(text.contains("WRONG_APPLICATION_TOKEN"), "{text}");
    for secret in [
        t,
        "SECRET-ACCESS",
        a.access_token.as_str(),
        b.application_token.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret in the logs");
    }
}

#[tokio::test]
async fn tenant_isolation_and_uninstall() {
    let (emu_a, emu_b) = (portal().await, portal().await);
    let store = SqliteStore::open(temp_db("tenants")).await.unwrap();
    let a = install(&store, &emu_a).await;
    let b = install(&store, &emu_b).await;
    assert_ne!(a.member_id, b.member_id);
    let (addr, _rx) = service(&store, app_of(&a)).await;
    // Portal A's member_id with portal B's application_token: rejected.
    assert_eq!(
        deal_status(addr, &a.member_id, &b.application_token, "1", "1").await,
        403
    );
    // Each tenant's client uses its own tokens; a refresh of A leaves B's row alone.
    let (ca, cb) = (client(&store, &a).await, client(&store, &b).await);
    let b_before = store.tokens(&b.member_id).await.unwrap().unwrap();
    emu_a.control().expire_access_tokens();
    ca.call("user.current", json!({})).await.unwrap();
    cb.call("user.current", json!({})).await.unwrap();
    assert_eq!(emu_a.control().token_requests(), 1);
    assert_eq!(emu_b.control().token_requests(), 0);
    assert_eq!(store.tokens(&b.member_id).await.unwrap().unwrap(), b_before);
    let a_after = store.tokens(&a.member_id).await.unwrap().unwrap();
    assert_ne!(a_after.access_token, b_before.access_token);
    assert_eq!(
        ca.oauth_tokens().unwrap().access_token,
        a_after.access_token
    );
    // A forged uninstall (B's token) is refused; A's real one purges A only.
    let uninstall = |member: &str, token: &str| {
        form(&[
            ("event", "ONAPPUNINSTALL"),
            ("data[LANGUAGE_ID]", "en"),
            ("data[CLEAN]", "1"),
            ("ts", "1"),
            ("auth[member_id]", member),
            ("auth[application_token]", token),
        ])
    };
    assert_eq!(
        post(
            addr,
            "/events",
            uninstall(&a.member_id, &b.application_token)
        )
        .await
        .0,
        403
    );
    assert!(store.tenant(&a.member_id).await.unwrap().is_some());
    assert_eq!(
        post(
            addr,
            "/events",
            uninstall(&a.member_id, &a.application_token)
        )
        .await,
        (200, "uninstalled".into())
    );
    assert!(store.tenant(&a.member_id).await.unwrap().is_none());
    assert!(store.tokens(&a.member_id).await.unwrap().is_none());
    assert_eq!(
        deal_status(addr, &a.member_id, &a.application_token, "2", "2").await,
        401
    );
    // B untouched: its tokens, its events, its calls.
    assert_eq!(store.tokens(&b.member_id).await.unwrap().unwrap(), b_before);
    assert_eq!(
        deal_status(addr, &b.member_id, &b.application_token, "3", "3").await,
        200
    );
    cb.call("user.current", json!({})).await.unwrap();
    // A's client cannot save refreshed tokens for an uninstalled tenant.
    emu_a.control().expire_access_tokens();
    assert!(ca.call("user.current", json!({})).await.is_err());
    assert!(store.tokens(&a.member_id).await.unwrap().is_none());
}

#[tokio::test]
async fn authorization_code_grant_stores_the_tenant() {
    let s = app_server("code").await;
    let code = s.emu.control().issue_authorization_code(1);
    let r = reqwest::get(s.url(&format!(
        "/oauth/callback?code={code}&server_domain=evil.example.com&member_id=x"
    )))
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    let tokens = s.store.tokens(&s.a.member_id).await.unwrap().unwrap();
    assert!(!tokens.access_token.is_empty());
    // A used code is refused, typed.
    let r = reqwest::get(s.url(&format!("/oauth/callback?code={code}")))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
