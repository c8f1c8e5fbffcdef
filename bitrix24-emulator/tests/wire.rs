//! Wire-format tests: envelopes, routing and request forms, auth errors, the OAuth token
//! endpoint, batch shapes.
#![allow(clippy::many_single_char_names)]

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{assert_error, client, emu, get, keys, post, post_form, seeded};

#[tokio::test]
async fn success_envelope_and_time_block() {
    let e = emu().await;
    let (s, b) = post(&format!("{}server.time", e.webhook_url()), &json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(keys(&b), ["result", "time"]);
    assert!(b["result"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(
        keys(&b["time"]),
        [
            "start",
            "finish",
            "duration",
            "processing",
            "date_start",
            "date_finish",
            "operating_reset_at",
            "operating"
        ]
    );
    assert!(b["time"]["operating_reset_at"].is_i64());
}

#[tokio::test]
async fn routing_forms() {
    let e = emu().await;
    let base = e.webhook_url();
    for path in [
        "server.time",
        "server.time.json",
        "server.time/",
        "SERVER.TIME.json/",
    ] {
        let (s, b) = get(&format!("{base}{path}")).await;
        assert_eq!(s, 200, "{path}: {b}");
        assert!(b["result"].is_string());
    }
    // Form body with PHP brackets, JSON body overriding the query string.
    let r = post_form(
        &format!("{base}crm.deal.add"),
        "fields[TITLE]=Form%20deal&fields[OPPORTUNITY]=10.5",
    )
    .await;
    let b: Value = r.json().await.unwrap();
    let id = b["result"].as_i64().expect("bare id");
    let (_, g) = post(&format!("{base}crm.deal.get?id=999999"), &json!({"id": id})).await;
    assert_eq!(g["result"]["TITLE"], "Form deal");
    assert_eq!(g["result"]["OPPORTUNITY"], "10.50");
    assert_eq!(g["result"]["ID"], id.to_string());
    // Invalid JSON is an empty parameter set.
    let r = client()
        .post(format!("{base}crm.deal.get"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b,
        json!({"error": "", "error_description": "ID is not defined or invalid."})
    );
}

#[tokio::test]
async fn auth_errors() {
    let e = support::start(support::portal().webhook_with_scopes(2, "CRMONLY", &["crm"])).await;
    let base = e.base_url();
    let (s, b) = get(&format!("{base}/rest/server.time")).await;
    assert_error(s, &b, 401, "NO_AUTH_FOUND");
    let (s, b) = get(&format!("{base}/rest/1/WRONG/server.time")).await;
    assert_error(s, &b, 401, "INVALID_CREDENTIALS");
    let (s, b) = get(&format!("{base}/rest/server.time?auth=deadbeef")).await;
    assert_error(s, &b, 401, "invalid_token");
    let (s, b) = get(&format!("{}no.such.method", e.webhook_url())).await;
    assert_error(s, &b, 404, "ERROR_METHOD_NOT_FOUND");
    assert_eq!(b["error_description"], "Method not found!");
    let (s, b) = get(&format!("{base}/rest/2/CRMONLY/tasks.task.list")).await;
    assert_error(s, &b, 401, "insufficient_scope");
    let (s, b) = post(
        &format!("{}event.bind", e.webhook_url()),
        &json!({"event":"ONCRMDEALADD","handler":"http://127.0.0.1/x"}),
    )
    .await;
    assert_error(s, &b, 403, "WRONG_AUTH_TYPE");
    // OAuth: auth param, access_token param and Bearer all work.
    let app = e.oauth_app();
    let (s, _) = get(&format!(
        "{base}/rest/server.time?auth={}",
        app.access_token
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = get(&format!(
        "{base}/rest/server.time?access_token={}",
        app.access_token
    ))
    .await;
    assert_eq!(s, 200);
    let r = client()
        .get(format!("{base}/rest/profile"))
        .bearer_auth(&app.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["result"]["ID"], "1");
    assert_eq!(b["result"]["ADMIN"], true);
    // Expiry through the control handle and through the clock.
    e.control().expire_access_tokens();
    let (s, b) = get(&format!(
        "{base}/rest/server.time?auth={}",
        app.access_token
    ))
    .await;
    assert_error(s, &b, 401, "expired_token");
    let app2 = e.oauth_app();
    e.control().advance_clock(Duration::from_secs(3601));
    let (s, b) = get(&format!(
        "{base}/rest/server.time?auth={}",
        app2.access_token
    ))
    .await;
    assert_error(s, &b, 401, "expired_token");
}

#[tokio::test]
async fn oauth_token_endpoint() {
    let e = emu().await;
    let app = e.oauth_app();
    let url = format!(
        "{}?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        app.token_url, app.client_id, app.client_secret, app.refresh_token
    );
    let (s, b) = get(&url).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        keys(&b),
        [
            "access_token",
            "expires",
            "expires_in",
            "scope",
            "domain",
            "server_endpoint",
            "status",
            "client_endpoint",
            "member_id",
            "user_id",
            "refresh_token"
        ]
    );
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["user_id"], 1);
    let tok = b["access_token"].as_str().unwrap();
    assert_eq!(tok.len(), 70);
    assert!(
        tok.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(b["client_endpoint"], app.client_endpoint);
    // Rotation: the old refresh token and the old access token stop working.
    let (s, b2) = get(&url).await;
    assert_eq!(s, 400);
    assert_eq!(b2["error"], "invalid_grant");
    let (s, b3) = get(&format!(
        "{}/rest/server.time?auth={}",
        e.base_url(),
        app.access_token
    ))
    .await;
    assert_error(s, &b3, 401, "invalid_token");
    // POST form refresh with the new token.
    let r = client()
        .post(&app.token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("refresh_token", b["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Wrong client secret.
    let (s, b) = get(&format!(
        "{}?grant_type=refresh_token&client_id={}&client_secret=nope&refresh_token=x",
        app.token_url, app.client_id
    ))
    .await;
    assert_eq!(s, 401);
    assert_eq!(b["error"], "invalid_client");
    // authorization_code grant.
    let code = e.control().issue_authorization_code(1);
    let (s, b) = get(&format!(
        "{}?grant_type=authorization_code&client_id={}&client_secret={}&code={code}",
        app.token_url, app.client_id, app.client_secret
    ))
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = get(&format!(
        "{}?grant_type=authorization_code&client_id={}&client_secret={}&code={code}",
        app.token_url, app.client_id, app.client_secret
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(e.control().token_requests(), 6);
}

#[tokio::test]
async fn batch_shapes() {
    let e = seeded(60).await;
    let base = e.webhook_url();
    let (s, b) = post(
        &format!("{base}batch"),
        &json!({"halt": 0, "cmd": {
            "get_user": "user.current",
            "get_department": "department.get?ID=$result[get_user][UF_DEPARTMENT][0]",
            "page": "crm.deal.list?select[]=ID&start=0",
            "next": "crm.deal.list?select[]=ID&filter[%3EID]=$result[page][49][ID]&start=-1",
        }}),
    )
    .await;
    assert_eq!(s, 200);
    let r = &b["result"];
    assert_eq!(
        keys(r),
        [
            "result",
            "result_error",
            "result_total",
            "result_next",
            "result_time"
        ]
    );
    assert_eq!(r["result"]["get_department"][0]["ID"], "1");
    assert_eq!(r["result_error"], json!([]));
    assert_eq!(r["result_total"], json!({"get_department": 1, "page": 60}));
    assert_eq!(r["result_next"], json!({"page": 50}));
    assert_eq!(r["result"]["next"].as_array().unwrap().len(), 10);
    assert_eq!(r["result"]["next"][0]["ID"], "51");
    assert!(r["result_time"]["get_user"]["start"].is_number());
    // A list of commands: maps keyed 0..n-1 come back as JSON lists; errors keep their keys.
    let (_, b) = post(
        &format!("{base}batch"),
        &json!({"cmd": ["crm.deal.get?id=1", "crm.deal.get?id=99999", "batch?cmd[0]=server.time", "no.such"]}),
    )
    .await;
    let r = &b["result"];
    assert_eq!(
        r["result"].as_array().unwrap().len(),
        1,
        "keys exactly 0..n-1 become a list"
    );
    assert_eq!(r["result"][0]["ID"], "1");
    assert_eq!(
        r["result_error"]["1"],
        json!({"error": "", "error_description": "Not found"})
    );
    assert_eq!(
        r["result_error"]["2"]["error"],
        "ERROR_BATCH_METHOD_NOT_ALLOWED"
    );
    assert_eq!(r["result_error"]["3"]["error"], "ERROR_METHOD_NOT_FOUND");
    assert_eq!(r["result_total"], json!([]));
    assert_eq!(r["result_next"], json!([]));
    let (_, b) = post(
        &format!("{base}batch"),
        &json!({"cmd": ["server.time", "server.time"]}),
    )
    .await;
    assert!(b["result"]["result"].is_array());
    assert!(b["result"]["result_time"].is_array());
    // halt stops after the first failure.
    let (_, b) = post(
        &format!("{base}batch"),
        &json!({"halt": 1, "cmd": {"a": "crm.deal.get?id=99999", "b": "server.time"}}),
    )
    .await;
    assert_eq!(b["result"]["result"], json!([]));
    assert_eq!(keys(&b["result"]["result_error"]), ["a"]);
    // 51 commands: the extra one gets ERROR_BATCH_LENGTH_EXCEEDED, the batch is still 200.
    let cmds: Vec<String> = (0..51).map(|_| "server.time".to_string()).collect();
    let (s, b) = post(&format!("{base}batch"), &json!({"cmd": cmds})).await;
    assert_eq!(s, 200);
    assert_eq!(b["result"]["result"].as_array().unwrap().len(), 50);
    assert_eq!(
        b["result"]["result_error"]["50"]["error"],
        "ERROR_BATCH_LENGTH_EXCEEDED"
    );
    // Whole-value references keep the type; embedded ones substitute strings only.
    let (_, b) = post(
        &format!("{base}batch"),
        &json!({"cmd": {"u": "user.current", "d": "crm.deal.add?fields[TITLE]=For%20$result[u][NAME]&fields[ASSIGNED_BY_ID]=$result[u][ID]"}}),
    )
    .await;
    let id = b["result"]["result"]["d"].as_i64().unwrap();
    let (_, g) = post(&format!("{base}crm.deal.get"), &json!({"id": id})).await;
    assert_eq!(g["result"]["TITLE"], "For John");
    // Form-encoded batch with double encoding; one batch = one request, sub-calls metered.
    let before = e.control().request_count();
    let r = post_form(
        &format!("{base}batch"),
        "cmd[a]=crm.deal.list%3Ffilter%255B%253EID%255D%3D58%26select%255B%255D%3DID&halt=0",
    )
    .await;
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["result"]["result"]["a"],
        json!([{"ID": "59"}, {"ID": "60"}, {"ID": "61"}])
    );
    assert_eq!(e.control().request_count(), before + 1);
    assert!(e.control().method_calls("crm.deal.list") >= 3);
}
