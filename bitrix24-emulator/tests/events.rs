//! Event tests: delivery form, ONOFFLINEEVENT wake-ups, app install, auth_connector queues,
//! offline reservation, clearing and error marking; event.bind/get/unbind and the offline
//! methods' wire shapes.
#![allow(clippy::many_single_char_names)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{assert_error, emu, field, get, handler, keys, next, nothing, post};

#[tokio::test]
async fn online_delivery_form_keys_in_wire_order() {
    let e = emu().await;
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let (url, mut rx) = handler().await;
    let b = rest_call(
        &rest,
        "event.bind",
        &json!({"auth": app.access_token, "event": "ONCRMLEADADD", "handler": url}),
    )
    .await;
    assert_eq!(b["result"], true, "{b}");
    let b = post(
        &format!("{}crm.lead.add", e.webhook_url()),
        &json!({"fields": {"TITLE": "L"}}),
    )
    .await
    .1;
    let id = b["result"].as_i64().unwrap();
    let (ct, pairs) = next(&mut rx).await;
    assert_eq!(ct, "application/x-www-form-urlencoded");
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "event",
            "event_handler_id",
            "data[FIELDS][ID]",
            "ts",
            "auth[access_token]",
            "auth[expires]",
            "auth[expires_in]",
            "auth[scope]",
            "auth[domain]",
            "auth[server_endpoint]",
            "auth[status]",
            "auth[client_endpoint]",
            "auth[member_id]",
            "auth[user_id]",
            "auth[application_token]",
        ]
    );
    assert_eq!(field(&pairs, "event"), Some("ONCRMLEADADD"));
    assert_eq!(field(&pairs, "event_handler_id"), Some("1"));
    assert_eq!(
        field(&pairs, "data[FIELDS][ID]"),
        Some(id.to_string().as_str())
    );
    assert_eq!(field(&pairs, "auth[expires_in]"), Some("3600"));
    assert_eq!(field(&pairs, "auth[user_id]"), Some("1"));
    assert_from_app(&pairs, &app);
    assert!(field(&pairs, "ts").unwrap().parse::<i64>().is_ok());
}

#[tokio::test]
async fn onofflineevent_wakeups() {
    let e = emu().await;
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let auth = app.access_token.clone();
    let (url, mut rx) = handler().await;
    post(
        &format!("{rest}event.bind"),
        &json!({"auth": auth, "event": "ONCRMDEALADD", "event_type": "offline"}),
    )
    .await;
    let b = rest_call(&rest, "event.bind", &json!({"auth": auth, "event": "ONOFFLINEEVENT", "handler": url, "options": {"minTimeout": 30}})).await;
    assert_eq!(b["result"], true, "{b}");
    // ONOFFLINEEVENT itself cannot be offline.
    let b = rest_call(
        &rest,
        "event.bind",
        &json!({"auth": auth, "event": "ONOFFLINEEVENT", "event_type": "offline"}),
    )
    .await;
    assert_eq!(b["error"], "ERROR_ARGUMENT", "{b}");
    let wh = e.webhook_url();
    post(
        &format!("{wh}crm.deal.add"),
        &json!({"fields": {"TITLE": "a"}}),
    )
    .await;
    let (_, pairs) = next(&mut rx).await;
    assert_eq!(field(&pairs, "event"), Some("ONOFFLINEEVENT"));
    assert!(field(&pairs, "auth[refresh_token]").is_some(), "{pairs:?}");
    assert!(
        !pairs.iter().any(|(k, _)| k.starts_with("data")),
        "empty data is not sent: {pairs:?}"
    );
    // Within minTimeout: no second ping.
    post(
        &format!("{wh}crm.deal.add"),
        &json!({"fields": {"TITLE": "b"}}),
    )
    .await;
    nothing(&mut rx).await;
    // After it: a ping again.
    e.control().advance_clock(Duration::from_secs(31));
    post(
        &format!("{wh}crm.deal.add"),
        &json!({"fields": {"TITLE": "c"}}),
    )
    .await;
    let (_, pairs) = next(&mut rx).await;
    assert_eq!(field(&pairs, "event"), Some("ONOFFLINEEVENT"));
    // The queue holds the three adds.
    let b = rest_call(&rest, "event.offline.list", &json!({"auth": auth})).await;
    assert_eq!(b["total"], 3, "{b}");
}

#[tokio::test]
async fn install_app_posts_onappinstall() {
    let e = emu().await;
    let (url, mut rx) = handler().await;
    let status = e.control().install_app(&url).await.expect("delivered");
    assert_eq!(status, 200);
    let (ct, pairs) = next(&mut rx).await;
    assert_eq!(ct, "application/x-www-form-urlencoded");
    assert_eq!(field(&pairs, "event"), Some("ONAPPINSTALL"));
    assert!(field(&pairs, "data[VERSION]").is_some());
    assert!(field(&pairs, "data[LANGUAGE_ID]").is_some());
    let app = e.oauth_app();
    assert_from_app(&pairs, &app);
    // The auth block in the order of the docs' example (on-app-install.md): domain first.
    let auth: Vec<&str> = pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("auth["))
        .collect();
    assert_eq!(
        auth,
        [
            "domain]",
            "scope]",
            "access_token]",
            "refresh_token]",
            "expires]",
            "expires_in]",
            "server_endpoint]",
            "status]",
            "client_endpoint]",
            "member_id]",
            "user_id]",
            "application_token]",
        ]
    );
    assert_eq!(
        field(&pairs, "auth[client_endpoint]"),
        Some(format!("{}/rest/", e.base_url()).as_str())
    );
    // The installer's tokens work: the access token calls REST, the refresh token refreshes.
    let access = field(&pairs, "auth[access_token]").unwrap();
    let refresh = field(&pairs, "auth[refresh_token]").unwrap();
    let b = post(
        &format!("{}/rest/app.info", e.base_url()),
        &json!({"auth": access}),
    )
    .await
    .1;
    assert_eq!(b["result"]["CODE"], app.client_id, "{b}");
    let r = reqwest::Client::new()
        .get(format!(
            "{}?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh}",
            app.token_url, app.client_id, app.client_secret
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A handler that is down is an error, not a hang.
    assert!(
        e.control()
            .install_app("http://127.0.0.1:9/none")
            .await
            .is_err()
    );
}

/// Checks that a delivery's auth block names the emulator's application: its member id and
/// its application token (what a handler verifies first).
fn assert_from_app(pairs: &[(String, String)], app: &bitrix24_emulator::OAuthApp) {
    assert_eq!(
        field(pairs, "auth[member_id]"),
        Some(app.member_id.as_str())
    );
    assert_eq!(
        field(pairs, "auth[application_token]"),
        Some(app.application_token.as_str())
    );
}

/// `method` on the REST base `rest`: the answer's JSON.
async fn rest_call(rest: &str, method: &str, body: &Value) -> Value {
    post(&format!("{rest}{method}"), body).await.1
}

/// A page server that records the query and the form body of each POST.
async fn page_handler() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    use axum::extract::{RawQuery, State};
    type Tx = tokio::sync::mpsc::UnboundedSender<(String, String)>;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let app = axum::Router::new()
        .fallback(
            |State(tx): State<Tx>, RawQuery(q): RawQuery, body: String| async move {
                let _ = tx.send((q.unwrap_or_default(), body));
                "<script>BX24.installFinish()</script>"
            },
        )
        .with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (format!("http://{addr}/install"), rx)
}

fn pairs_of(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn sorted_keys(pairs: &[(String, String)]) -> Vec<&str> {
    let mut k: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn install_page_and_uninstall_post_the_documented_fields() {
    let e = emu().await;
    let app = e.oauth_app();
    let (url, mut rx) = page_handler().await;
    // The install page of an app with UI: query DOMAIN/PROTOCOL/LANG/APP_SID, body AUTH_ID...
    let page = e.control().open_install_page(&url).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("installFinish"));
    let (query, body) = rx.recv().await.unwrap();
    let (query, body) = (pairs_of(&query), pairs_of(&body));
    assert_eq!(field(&query, "DOMAIN"), Some(e.addr().to_string().as_str()));
    assert_eq!(field(&query, "PROTOCOL"), Some("0"));
    assert_eq!(field(&query, "LANG"), Some("en"));
    assert!(field(&query, "APP_SID").is_some_and(|s| !s.is_empty()));
    assert_eq!(
        sorted_keys(&body),
        [
            "APPLICATION_SCOPE",
            "APPLICATION_TOKEN",
            "AUTH_EXPIRES",
            "AUTH_ID",
            "PLACEMENT",
            "REFRESH_ID",
            "SERVER_ENDPOINT",
            "member_id",
            "status"
        ]
    );
    assert_eq!(field(&body, "member_id"), Some(app.member_id.as_str()));
    assert_eq!(
        field(&body, "APPLICATION_TOKEN"),
        Some(app.application_token.as_str())
    );
    assert_eq!(field(&body, "AUTH_EXPIRES"), Some("3600"));
    assert_eq!(field(&body, "PLACEMENT"), Some("DEFAULT"));
    // Its AUTH_ID works, and the app is not installed until installFinish.
    let access = field(&body, "AUTH_ID").unwrap().to_owned();
    let info = |token: String| {
        let url = format!("{}/rest/app.info", e.base_url());
        async move { post(&url, &json!({"auth": token})).await }
    };
    let (status, b) = info(access.clone()).await;
    assert_eq!(
        (status, b["result"]["INSTALLED"].clone()),
        (200, json!(false)),
        "{b}"
    );
    e.control().set_app_installed(true);
    assert_eq!(info(access.clone()).await.1["result"]["INSTALLED"], true);

    // Uninstall: ONAPPUNINSTALL with LANGUAGE_ID and CLEAN, and no tokens; access revoked.
    let status = e.control().uninstall_app(&url, true).await.unwrap();
    assert_eq!(status, 200);
    let (_, body) = rx.recv().await.unwrap();
    let body = pairs_of(&body);
    assert_eq!(field(&body, "event"), Some("ONAPPUNINSTALL"));
    assert_eq!(field(&body, "data[CLEAN]"), Some("1"));
    // In wire order, the auth block as on-app-uninstall.md shows it.
    let names: Vec<&str> = body.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "event",
            "event_handler_id",
            "data[LANGUAGE_ID]",
            "data[CLEAN]",
            "ts",
            "auth[domain]",
            "auth[server_endpoint]",
            "auth[client_endpoint]",
            "auth[member_id]",
            "auth[application_token]",
        ]
    );
    assert_eq!(
        field(&body, "auth[application_token]"),
        Some(app.application_token.as_str())
    );
    assert_ne!(info(access).await.0, 200, "the app's tokens are revoked");
    assert_eq!(e.control().offline_queue_len(), 0);
}

#[tokio::test]
async fn auth_connector_queues_and_self_change_suppression() {
    let e = emu().await;
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let auth = app.access_token.clone();
    for conn in ["", "crm1"] {
        let b = rest_call(&rest, "event.bind", &json!({"auth": auth, "event": "ONCRMCONTACTADD", "event_type": "offline", "auth_connector": conn})).await;
        assert_eq!(b["result"], true, "{b}");
    }
    let b = rest_call(&rest, "event.get", &json!({"auth": auth})).await;
    let rows = b["result"].as_array().unwrap();
    assert!(
        rows.contains(&json!({"event": "ONCRMCONTACTADD", "connector_id": "crm1", "offline": 1}))
    );
    // A change by the app through connector crm1 skips the crm1 queue only.
    post(
        &format!("{rest}crm.contact.add"),
        &json!({"auth": auth, "auth_connector": "crm1", "fields": {"NAME": "A"}}),
    )
    .await;
    // A change by the app without a connector skips the connector-less queue only.
    post(
        &format!("{rest}crm.contact.add"),
        &json!({"auth": auth, "fields": {"NAME": "B"}}),
    )
    .await;
    // A webhook change reaches both.
    post(
        &format!("{}crm.contact.add", e.webhook_url()),
        &json!({"fields": {"NAME": "C"}}),
    )
    .await;
    let plain = rest_call(&rest, "event.offline.list", &json!({"auth": auth})).await;
    let crm1 = rest_call(
        &rest,
        "event.offline.list",
        &json!({"auth": auth, "auth_connector": "crm1"}),
    )
    .await;
    let ids = |b: &Value| -> Vec<String> {
        b["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["EVENT_DATA"]["FIELDS"]["ID"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&plain), ["1", "3"], "{plain}");
    assert_eq!(ids(&crm1), ["2", "3"], "{crm1}");
    // Reading one queue leaves the other alone.
    let b = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "auth_connector": "crm1"}),
    )
    .await;
    assert_eq!(b["result"]["events"].as_array().unwrap().len(), 2);
    assert_eq!(e.control().offline_queue_len(), 2);
    // Webhooks cannot read offline events.
    let b = post(&format!("{}event.offline.get", e.webhook_url()), &json!({}))
        .await
        .1;
    assert_eq!(b["error"], "WRONG_AUTH_TYPE");
}

#[tokio::test]
async fn offline_reservation_clear_and_error() {
    let e = emu().await;
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let auth = app.access_token.clone();
    post(
        &format!("{rest}event.bind"),
        &json!({"auth": auth, "event": "ONCRMCOMPANYADD", "event_type": "offline"}),
    )
    .await;
    for n in 0..4 {
        post(
            &format!("{}crm.company.add", e.webhook_url()),
            &json!({"fields": {"TITLE": format!("C{n}")}}),
        )
        .await;
    }
    // Two readers with clear=0 get disjoint batches.
    let a = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "clear": 0, "limit": 2}),
    )
    .await;
    let b = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "clear": 0, "limit": 2}),
    )
    .await;
    let pa = a["result"]["process_id"].as_str().unwrap().to_string();
    let pb = b["result"]["process_id"].as_str().unwrap().to_string();
    assert_ne!(pa, pb);
    let mids = |v: &Value| -> Vec<String> {
        v["result"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["MESSAGE_ID"].as_str().unwrap().to_string())
            .collect()
    };
    let (ma, mb) = (mids(&a), mids(&b));
    assert_eq!(ma.len(), 2);
    assert!(ma.iter().all(|m| !mb.contains(m)));
    // Re-read by process id (clear=0 keeps them).
    let again = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "clear": 0, "process_id": pa}),
    )
    .await;
    assert_eq!(mids(&again), ma);
    // The list shows the reservation.
    let l = rest_call(&rest, "event.offline.list", &json!({"auth": auth})).await;
    assert_eq!(l["result"][0]["PROCESS_ID"], pa.as_str());
    assert_eq!(l["result"][0]["ERROR"], "0");
    // Mark one of A's rows as an error, clear one of them by message id, then the rest; a
    // malformed message id or a call naming no rows is refused. Each step: method, params, the
    // answer's key and its expected value.
    let steps = [
        (
            "event.offline.error",
            json!({"auth": auth, "process_id": pa, "message_id": [ma[0]]}),
            ("result", json!(true)),
        ),
        (
            "event.offline.clear",
            json!({"auth": auth, "process_id": pa, "message_id": [ma[1]]}),
            ("result", json!(true)),
        ),
        (
            "event.offline.clear",
            json!({"auth": auth, "process_id": pb}),
            ("result", json!(true)),
        ),
        (
            "event.offline.clear",
            json!({"auth": auth, "process_id": pb, "message_id": ["short"]}),
            ("error", json!("ERROR_ARGUMENT")),
        ),
        (
            "event.offline.clear",
            json!({"auth": auth}),
            ("error", json!("ERROR_ARGUMENT")),
        ),
    ];
    for (method, params, (key, want)) in steps {
        let answer = rest_call(&rest, method, &params).await;
        assert_eq!(answer[key], want, "{method} {params}: {answer}");
    }
    // Only the errored row remains, visible with error=1 only.
    assert_eq!(e.control().offline_queue_len(), 1);
    let normal = rest_call(&rest, "event.offline.get", &json!({"auth": auth})).await;
    assert_eq!(normal["result"]["events"], json!([]));
    let errs = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "error": 1, "clear": 0}),
    )
    .await;
    assert_eq!(mids(&errs), [ma[0].clone()]);
}

#[tokio::test]
async fn offline_error_deletes_duplicates_held_by_other_processes() {
    let e = emu().await;
    let rest = format!("{}/rest/", e.base_url());
    let auth = e.oauth_app().access_token;
    post(
        &format!("{rest}event.bind"),
        &json!({"auth": auth, "event": "ONCRMCOMPANYUPDATE", "event_type": "offline"}),
    )
    .await;
    let id = post(
        &format!("{}crm.company.add", e.webhook_url()),
        &json!({"fields": {"TITLE": "C"}}),
    )
    .await
    .1["result"]
        .clone();
    let update = json!({"id": id, "fields": {"TITLE": "D"}});
    let url = format!("{}crm.company.update", e.webhook_url());
    // Process A reserves the row; a second change to the same object makes a new row (same
    // MESSAGE_ID), which process B reserves.
    post(&url, &update).await;
    let a = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "clear": 0}),
    )
    .await;
    post(&url, &update).await;
    let b = rest_call(
        &rest,
        "event.offline.get",
        &json!({"auth": auth, "clear": 0}),
    )
    .await;
    let (pa, pb) = (
        a["result"]["process_id"].clone(),
        b["result"]["process_id"].clone(),
    );
    let mid = a["result"]["events"][0]["MESSAGE_ID"].clone();
    assert_eq!(
        b["result"]["events"][0]["MESSAGE_ID"], mid,
        "the same object, the same MESSAGE_ID"
    );
    assert_ne!(pa, pb);
    post(
        &format!("{rest}event.offline.error"),
        &json!({"auth": auth, "process_id": pa, "message_id": [mid]}),
    )
    .await;
    let list = rest_call(&rest, "event.offline.list", &json!({"auth": auth})).await;
    let rows = list["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "B's duplicate was deleted: {list}");
    assert_eq!(rows[0]["ERROR"], "1");
    assert_eq!(rows[0]["PROCESS_ID"], "");
}

#[tokio::test]
async fn online_event_delivery() {
    let e = emu().await;
    let app = e.oauth_app();
    let (hook, mut rx) = handler().await;
    let rest = format!("{}/rest/", e.base_url());
    let (s, b) = post(
        &format!("{rest}event.bind"),
        &json!({"auth": app.access_token, "event": "onCrmDealAdd", "handler": hook}),
    )
    .await;
    assert_eq!((s, b["result"].clone()), (200, json!(true)), "{b}");
    let (s, b) = post(
        &format!("{rest}event.bind"),
        &json!({"auth": app.access_token, "event": "ONCRMDEALADD", "handler": hook}),
    )
    .await;
    assert_error(s, &b, 400, "ERROR_CORE");
    let (s, b) = post(
        &format!("{rest}event.bind"),
        &json!({"auth": app.access_token, "event": "ONNOPE", "handler": hook}),
    )
    .await;
    assert_error(s, &b, 400, "ERROR_EVENT_NOT_FOUND");
    let (_, b) = post(
        &format!("{rest}event.get"),
        &json!({"auth": app.access_token}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!([{"event": "ONCRMDEALADD", "handler": hook, "auth_type": "0", "offline": 0}])
    );
    let (_, b) = post(
        &format!("{}crm.deal.add", e.webhook_url()),
        &json!({"fields": {"TITLE": "x"}}),
    )
    .await;
    let id = b["result"].as_i64().unwrap();
    let (_, pairs) = next(&mut rx).await;
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        &names[..4],
        ["event", "event_handler_id", "data[FIELDS][ID]", "ts"]
    );
    assert_eq!(pairs[0].1, "ONCRMDEALADD");
    assert_eq!(pairs[2].1, id.to_string());
    assert!(names.contains(&"auth[access_token]"));
    assert_eq!(names.last(), Some(&"auth[application_token]"));
    assert_eq!(pairs.last().unwrap().1, app.application_token);
    assert!(!names.contains(&"auth[refresh_token]"));
    // The event token works.
    let tok = pairs
        .iter()
        .find(|(k, _)| k == "auth[access_token]")
        .unwrap()
        .1
        .clone();
    assert_eq!(get(&format!("{rest}server.time?auth={tok}")).await.0, 200);
    let (_, b) = post(
        &format!("{rest}event.unbind"),
        &json!({"auth": app.access_token, "event": "ONCRMDEALADD", "handler": hook}),
    )
    .await;
    assert_eq!(b["result"], json!({"count": 1}));
}

#[tokio::test]
async fn offline_events() {
    let e = emu().await;
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let auth = app.access_token.clone();
    let (_, b) = post(
        &format!("{rest}event.bind"),
        &json!({"auth": auth, "event": "ONCRMDEALUPDATE", "event_type": "offline"}),
    )
    .await;
    assert_eq!(b["result"], true, "{b}");
    let (_, b) = post(
        &format!("{rest}event.bind"),
        &json!({"auth": auth, "event": "ONCRMDEALADD", "event_type": "offline"}),
    )
    .await;
    assert_eq!(b["result"], true, "{b}");
    let wh = e.webhook_url();
    let (_, b) = post(
        &format!("{wh}crm.deal.add"),
        &json!({"fields": {"TITLE": "a"}}),
    )
    .await;
    let id = b["result"].as_i64().unwrap();
    for t in ["b", "c"] {
        post(
            &format!("{wh}crm.deal.update"),
            &json!({"id": id, "fields": {"TITLE": t}}),
        )
        .await;
    }
    // Changes by the app itself (no auth_connector) are suppressed for its connector-less queue.
    post(
        &format!("{rest}crm.deal.update"),
        &json!({"auth": auth, "id": id, "fields": {"TITLE": "self"}}),
    )
    .await;
    let (_, b) = post(&format!("{rest}event.offline.list"), &json!({"auth": auth})).await;
    assert_eq!(b["total"], 2, "one record per object and event: {b}");
    let (_, b) = post(
        &format!("{rest}event.offline.get"),
        &json!({"auth": auth, "clear": 0, "limit": 1}),
    )
    .await;
    let pid = b["result"]["process_id"].as_str().unwrap().to_string();
    assert_eq!(pid.len(), 32);
    let ev = &b["result"]["events"][0];
    assert_eq!(
        keys(ev),
        [
            "ID",
            "TIMESTAMP_X",
            "EVENT_NAME",
            "EVENT_DATA",
            "EVENT_ADDITIONAL",
            "MESSAGE_ID"
        ]
    );
    assert_eq!(ev["EVENT_DATA"], json!({"FIELDS": {"ID": id.to_string()}}));
    assert_eq!(ev["MESSAGE_ID"].as_str().unwrap().len(), 32);
    // Re-read by process id, then clear.
    let (_, b2) = post(
        &format!("{rest}event.offline.get"),
        &json!({"auth": auth, "clear": 0, "process_id": pid}),
    )
    .await;
    assert_eq!(b2["result"]["events"], b["result"]["events"]);
    let (_, b3) = post(
        &format!("{rest}event.offline.clear"),
        &json!({"auth": auth, "process_id": pid}),
    )
    .await;
    assert_eq!(b3["result"], true);
    // Default clear=1 reads and deletes.
    let (_, b) = post(&format!("{rest}event.offline.get"), &json!({"auth": auth})).await;
    assert_eq!(b["result"]["process_id"], Value::Null);
    assert_eq!(b["result"]["events"].as_array().unwrap().len(), 1);
    assert_eq!(e.control().offline_queue_len(), 0);
    let (s, b) = post(
        &format!("{rest}event.offline.get"),
        &json!({"auth": auth, "limit": 0}),
    )
    .await;
    assert_error(s, &b, 400, "ERROR_ARGUMENT");
    // error marking.
    e.control()
        .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": "5"}}));
    let (_, b) = post(
        &format!("{rest}event.offline.get"),
        &json!({"auth": auth, "clear": 0}),
    )
    .await;
    let pid = b["result"]["process_id"].as_str().unwrap().to_string();
    let mid = b["result"]["events"][0]["MESSAGE_ID"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, b) = post(
        &format!("{rest}event.offline.error"),
        &json!({"auth": auth, "process_id": pid, "message_id": [mid]}),
    )
    .await;
    assert_eq!(b["result"], true);
    let (_, b) = post(
        &format!("{rest}event.offline.get"),
        &json!({"auth": auth, "error": 1}),
    )
    .await;
    assert_eq!(b["result"]["events"].as_array().unwrap().len(), 1);
}
