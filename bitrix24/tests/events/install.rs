//! The portal drives the app's lifecycle: it opens the install page (the install POST of an app
//! with UI), the app stores the tenant and answers a page that calls `BX24.installFinish()`,
//! events flow, then the portal uninstalls the app (`ONAPPUNINSTALL`): secrets purged, events
//! refused.

use bitrix24::events::{Payload, TenantStore};
use serde_json::json;

use crate::support::{app_server, deal_status, next_event};

#[tokio::test]
async fn install_page_post_then_events_then_uninstall() {
    let mut s = app_server("install-page").await;

    // The admin opens the app: the portal POSTs AUTH_ID, REFRESH_ID, member_id, ... to the
    // install URL. The app verifies the tokens (app.info), stores the tenant and answers the
    // page that finishes the install.
    let page = s
        .emu
        .control()
        .open_install_page(&s.url("/install"))
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("BX24.installFinish()"), "{}", page.body);
    let tenant = s.installed_tenant().await;
    assert_eq!(
        tenant.domain.as_deref(),
        Some(s.emu.addr().to_string().as_str())
    );
    assert_eq!(
        tenant.client_endpoint.as_deref(),
        Some(s.a.client_endpoint.as_str())
    );

    // Until installFinish the portal sends no events; then a bound event arrives typed.
    let c = s.bind_deal_add().await;
    c.call(
        "crm.deal.add",
        json!({"fields": {"TITLE": "before finish"}}),
    )
    .await
    .unwrap();
    s.emu.control().set_app_installed(true);
    c.call("crm.deal.add", json!({"fields": {"TITLE": "after finish"}}))
        .await
        .unwrap();
    let ev = next_event(&mut s.rx).await;
    let Payload::Crm(deal) = &ev.event.payload else {
        panic!("{ev:?}")
    };
    assert_eq!(
        deal.id, 2,
        "the deal added before installFinish sent nothing"
    );
    assert_eq!(ev.member_id(), s.a.member_id);

    // The admin removes the app: ONAPPUNINSTALL (no tokens, only application_token) purges
    // the tenant's secrets; its events are refused from then on.
    let status = s
        .emu
        .control()
        .uninstall_app(&s.url("/events"), true)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(s.store.tenant(&s.a.member_id).await.unwrap().is_none());
    assert!(s.store.tokens(&s.a.member_id).await.unwrap().is_none());
    assert_eq!(
        deal_status(s.addr, &s.a.member_id, &s.a.application_token, "3", "9").await,
        401
    );
    // The portal revoked the app's access at once.
    assert!(c.call("user.current", json!({})).await.is_err());
}

#[tokio::test]
async fn a_forged_install_page_post_is_refused() {
    let s = app_server("install-forged").await;
    let body = crate::support::form(&[
        ("AUTH_ID", "0123456789abcdef0123456789abcdef"),
        ("AUTH_EXPIRES", "3600"),
        ("REFRESH_ID", "fedcba9876543210fedcba9876543210"),
        ("APPLICATION_TOKEN", "forged"),
        ("member_id", &s.a.member_id),
        ("status", "L"),
        ("PLACEMENT", "DEFAULT"),
    ]);
    let query = format!("DOMAIN={}&PROTOCOL=0&LANG=en&APP_SID=x", s.emu.addr());
    let (status, _) = crate::support::post(s.addr, &format!("/install?{query}"), body).await;
    assert_eq!(status, 401, "tokens that app.info refuses store nothing");
    assert!(s.store.tenant(&s.a.member_id).await.unwrap().is_none());
}
