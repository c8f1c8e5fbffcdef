//! Wire-format tests: envelopes, errors, batch shapes, OAuth, limits, events, REST 3.0, faults.
#![allow(clippy::many_single_char_names)]

use bitrix24_emulator::{Emulator, Faults, Limits, RunningEmulator};
use serde_json::{Value, json};
use std::time::Duration;

async fn emu() -> RunningEmulator {
    Emulator::builder()
        .webhook(1, "SOMECODE")
        .webhook_with_scopes(2, "CRMONLY", &["crm"])
        .start()
        .await
        .expect("start")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let r = client().post(url).json(body).send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

async fn get(url: &str) -> (u16, Value) {
    let r = client().get(url).send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(body.get("time").is_none(), "errors carry no time: {body}");
}

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
    let r = client()
        .post(format!("{base}crm.deal.add"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("fields[TITLE]=Form%20deal&fields[OPPORTUNITY]=10.5")
        .send()
        .await
        .unwrap();
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
    let e = emu().await;
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
async fn legacy_crm_shapes_and_lists() {
    let e = Emulator::builder()
        .webhook(1, "C")
        .seed_deals(120)
        .start()
        .await
        .unwrap();
    let base = e.webhook_url();
    let (s, b) = post(&format!("{base}crm.deal.list"), &json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(keys(&b), ["result", "next", "total", "time"]);
    assert_eq!(b["next"], 50);
    assert_eq!(b["total"], 120);
    assert_eq!(b["result"].as_array().unwrap().len(), 50);
    assert_eq!(b["result"][0]["ID"], "1");
    let (_, b) = post(&format!("{base}crm.deal.list"), &json!({"start": 100})).await;
    assert_eq!(b["result"].as_array().unwrap().len(), 20);
    assert!(b.get("next").is_none());
    assert_eq!(b["total"], 120);
    // Keyset: start=-1, >ID, order, select.
    let (_, b) = post(
        &format!("{base}crm.deal.list"),
        &json!({"order": {"ID": "ASC"}, "filter": {">ID": 110}, "select": ["ID", "TITLE"], "start": -1}),
    )
    .await;
    assert_eq!(keys(&b), ["result", "time"]);
    assert_eq!(b["result"].as_array().unwrap().len(), 10);
    assert_eq!(b["result"][0], json!({"ID": "111", "TITLE": "Deal #111"}));
    // Form-encoded filter with percent-encoded operator and list syntax.
    let (_, b) = get(&format!(
        "{base}crm.deal.list?filter[%3C%3DID]=3&select[]=ID&order[ID]=DESC"
    ))
    .await;
    assert_eq!(b["result"], json!([{"ID": "3"}, {"ID": "2"}, {"ID": "1"}]));
    assert_eq!(b["total"], 3);
    let (_, b) = post(
        &format!("{base}crm.deal.list"),
        &json!({"FILTER": {"@ID": [5, "7"], "%TITLE": "deal #"}, "SELECT": ["ID"]}),
    )
    .await;
    assert_eq!(b["result"], json!([{"ID": "5"}, {"ID": "7"}]));
    let (_, b) = post(
        &format!("{base}crm.deal.list"),
        &json!({"filter": {"STAGE_ID": "WON", "<ID": 20}, "select": ["ID", "STAGE_ID"]}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!([{"ID": "5", "STAGE_ID": "WON"}, {"ID": "12", "STAGE_ID": "WON"}, {"ID": "19", "STAGE_ID": "WON"}])
    );
    let (_, b) = post(&format!("{base}crm.deal.list"), &json!({"filter": {">OPPORTUNITY": 4400}, "order": {"OPPORTUNITY": "DESC"}, "select": ["ID", "OPPORTUNITY"], "start": 0})).await;
    assert_eq!(
        b["result"][0],
        json!({"ID": "120", "OPPORTUNITY": "4440.00"})
    );
    // Add/update/delete/get.
    let (_, b) = post(
        &format!("{base}crm.deal.add"),
        &json!({"fields": {"TITLE": "New", "OPPORTUNITY": 1_000_000, "UF_CRM_1": "x"}}),
    )
    .await;
    assert_eq!(b["result"], 121);
    let (_, b) = post(
        &format!("{base}crm.deal.update"),
        &json!({"ID": 121, "fields": {"TITLE": "Renamed"}}),
    )
    .await;
    assert_eq!(b["result"], true);
    let (_, b) = post(&format!("{base}crm.deal.get"), &json!({"ID": 121})).await;
    assert_eq!(b["result"]["TITLE"], "Renamed");
    assert_eq!(b["result"]["OPPORTUNITY"], "1000000.00");
    assert_eq!(b["result"]["CATEGORY_ID"], "0");
    assert_eq!(b["result"]["LEAD_ID"], Value::Null);
    assert_eq!(b["result"]["UF_CRM_1"], "x");
    let (_, b) = post(
        &format!("{base}crm.deal.list"),
        &json!({"filter": {"ID": 121}, "select": ["UF_*"]}),
    )
    .await;
    assert_eq!(b["result"], json!([{"ID": "121", "UF_CRM_1": "x"}]));
    let (_, b) = post(&format!("{base}crm.deal.delete"), &json!({"id": 121})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{base}crm.deal.get"), &json!({"id": 121})).await;
    assert_eq!(s, 400);
    assert_eq!(b, json!({"error": "", "error_description": "Not found"}));
    let (s, b) = post(&format!("{base}crm.deal.add"), &json!({"fields": "x"})).await;
    assert_eq!(s, 400);
    assert_eq!(
        b,
        json!({"error": "", "error_description": "Parameter 'fields' must be array."})
    );
    let (_, b) = post(&format!("{base}crm.deal.fields"), &json!({})).await;
    assert_eq!(b["result"]["ID"]["type"], "integer");
    assert_eq!(b["result"]["STAGE_ID"]["statusType"], "DEAL_STAGE");
    // Contacts with multi-fields.
    let (_, b) = post(
        &format!("{base}crm.contact.add"),
        &json!({"fields": {"NAME": "Ann", "PHONE": [{"VALUE": "112233", "VALUE_TYPE": "WORK"}]}}),
    )
    .await;
    let cid = b["result"].as_i64().unwrap();
    let (_, b) = post(&format!("{base}crm.contact.get"), &json!({"id": cid})).await;
    assert_eq!(b["result"]["PHONE"][0]["VALUE"], "112233");
    assert_eq!(b["result"]["PHONE"][0]["TYPE_ID"], "PHONE");
}

#[tokio::test]
async fn crm_item_and_tasks_shapes() {
    let e = emu().await;
    let base = e.webhook_url();
    let (s, b) = post(
        &format!("{base}crm.item.add"),
        &json!({"entityTypeId": 2, "fields": {"title": "Item deal", "opportunity": 999.9}}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let id = b["result"]["item"]["id"].as_i64().expect("native id");
    assert_eq!(b["result"]["item"]["opportunity"], 999.9);
    assert_eq!(b["result"]["item"]["title"], "Item deal");
    let (_, b) = post(
        &format!("{base}crm.item.list"),
        &json!({"entityTypeId": 2, "select": ["id", "title"], "filter": {">=id": id}}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!({"items": [{"id": id, "title": "Item deal"}]})
    );
    assert_eq!(b["total"], 1);
    // The same deal through the legacy family.
    let (_, b) = post(&format!("{base}crm.deal.get"), &json!({"id": id})).await;
    assert_eq!(b["result"]["TITLE"], "Item deal");
    let (s, b) = post(
        &format!("{base}crm.item.list"),
        &json!({"entityTypeId": 2, "filter": {"FIELD": 1}}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(b["error"], "INVALID_ARG_VALUE");
    let (_, b) = post(
        &format!("{base}crm.item.delete"),
        &json!({"entityTypeId": 2, "id": id}),
    )
    .await;
    assert_eq!(b["result"], json!([]));
    let (s, b) = post(
        &format!("{base}crm.item.get"),
        &json!({"entityTypeId": 2, "id": id}),
    )
    .await;
    assert_error(s, &b, 400, "NOT_FOUND");
    let (s, b) = post(
        &format!("{base}crm.item.get"),
        &json!({"entityTypeId": 999, "id": 1}),
    )
    .await;
    assert_error(s, &b, 400, "NOT_FOUND");
    // Tasks.
    let (s, b) = post(&format!("{base}tasks.task.add"), &json!({"fields": {"TITLE": "Task", "RESPONSIBLE_ID": 1, "DEADLINE": "2025-12-31T23:59:59"}})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["result"]["task"]["id"], "1");
    assert_eq!(b["result"]["task"]["responsibleId"], "1");
    assert_eq!(b["result"]["task"]["status"], "2");
    assert_eq!(b["result"]["task"]["deadline"], "2025-12-31T23:59:59+00:00");
    let (s, b) = post(
        &format!("{base}tasks.task.add"),
        &json!({"fields": {"RESPONSIBLE_ID": 1}}),
    )
    .await;
    assert_error(s, &b, 400, "ERROR_CORE");
    assert_eq!(b["error_description"], "Task title is not specified<br>");
    let (_, b) = post(
        &format!("{base}tasks.task.list"),
        &json!({"select": ["ID", "TITLE"]}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!({"tasks": [{"id": "1", "title": "Task"}]})
    );
    assert_eq!(b["total"], 1);
    let (_, b) = post(&format!("{base}tasks.task.complete"), &json!({"taskId": 1})).await;
    assert_eq!(b["result"]["task"]["status"], "5");
    let (_, b) = post(&format!("{base}tasks.task.get"), &json!({"taskId": 77})).await;
    assert_eq!(b["result"], json!([]));
    let (_, b) = post(&format!("{base}tasks.task.delete"), &json!({"taskId": 1})).await;
    assert_eq!(b["result"], json!({"task": true}));
    // System methods.
    let (_, b) = post(&format!("{base}method.get"), &json!({"name": "user.get"})).await;
    assert_eq!(
        b["result"],
        json!({"isExisting": true, "isAvailable": true})
    );
    let (_, b) = post(
        &format!("{}/rest/2/CRMONLY/method.get", e.base_url()),
        &json!({"name": "user.get"}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!({"isExisting": true, "isAvailable": false})
    );
    let (_, b) = post(
        &format!("{}/rest/2/CRMONLY/scope", e.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(b["result"], json!(["crm"]));
    let (_, b) = post(&format!("{base}user.current"), &json!({})).await;
    assert_eq!(b["result"]["ID"], "1");
    assert_eq!(b["result"]["ACTIVE"], true);
    let (_, b) = post(&format!("{base}app.info"), &json!({})).await;
    assert!(b["result"]["SCOPE"].is_array());
}

#[tokio::test]
async fn batch_shapes() {
    let e = Emulator::builder()
        .webhook(1, "C")
        .seed_deals(60)
        .start()
        .await
        .unwrap();
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
    let r = client()
        .post(format!("{base}batch"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("cmd[a]=crm.deal.list%3Ffilter%255B%253EID%255D%3D58%26select%255B%255D%3DID&halt=0")
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["result"]["result"]["a"],
        json!([{"ID": "59"}, {"ID": "60"}, {"ID": "61"}])
    );
    assert_eq!(e.control().request_count(), before + 1);
    assert!(e.control().method_calls("crm.deal.list") >= 3);
}

#[tokio::test]
async fn request_rate_limit() {
    let e = Emulator::builder()
        .webhook(1, "C")
        .limits(Limits::Custom {
            drain_per_sec: 0.0001,
            burst: 3,
        })
        .start()
        .await
        .unwrap();
    let url = format!("{}server.time", e.webhook_url());
    for _ in 0..3 {
        assert_eq!(get(&url).await.0, 200);
    }
    let (s, b) = get(&url).await;
    assert_error(s, &b, 503, "QUERY_LIMIT_EXCEEDED");
    assert_eq!(b["error_description"], "Too many requests");
    e.control().advance_clock(Duration::from_secs(20_000));
    assert_eq!(get(&url).await.0, 200);
}

#[tokio::test]
async fn operating_time_limit() {
    let mut faults = Faults::default();
    faults
        .method_processing
        .insert("crm.deal.list".into(), Duration::from_secs(200));
    let e = Emulator::builder()
        .webhook(1, "C")
        .faults(faults)
        .start()
        .await
        .unwrap();
    let url = format!("{}crm.deal.list", e.webhook_url());
    let mut last = Value::Null;
    for _ in 0..3 {
        let (s, b) = get(&url).await;
        assert_eq!(s, 200);
        last = b;
    }
    assert!(last["time"]["operating"].as_f64().unwrap() >= 600.0);
    let (s, b) = get(&url).await;
    assert_error(s, &b, 429, "OPERATION_TIME_LIMIT");
    // Other methods are not blocked; in a batch the blocked command lands in result_error.
    assert_eq!(get(&format!("{}server.time", e.webhook_url())).await.0, 200);
    let (_, b) = post(
        &format!("{}batch", e.webhook_url()),
        &json!({"cmd": {"x": "crm.deal.list"}}),
    )
    .await;
    assert_eq!(
        b["result"]["result_error"]["x"]["error"],
        "OPERATION_TIME_LIMIT"
    );
    // The window expires.
    e.control().advance_clock(Duration::from_secs(601));
    assert_eq!(get(&url).await.0, 200);
}

/// A tiny HTTP sink collecting request bodies.
async fn sink() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    let n = s.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(pos) = text.find("\r\n\r\n") {
                        let len = text[..pos]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= pos + 4 + len {
                            let _ = tx.send(text[pos + 4..pos + 4 + len].to_string());
                            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}/hook"), rx)
}

fn decode_form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn online_event_delivery() {
    let e = emu().await;
    let app = e.oauth_app();
    let (hook, mut rx) = sink().await;
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
    let body = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let pairs = decode_form(&body);
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

#[tokio::test]
async fn rest_v3() {
    let e = emu().await;
    post(
        &format!("{}tasks.task.add", e.webhook_url()),
        &json!({"fields": {"TITLE": "T1", "RESPONSIBLE_ID": 1}}),
    )
    .await;
    let v3 = format!("{}/rest/api/1/SOMECODE/", e.base_url());
    let (s, b) = post(
        &format!("{v3}tasks.task.get"),
        &json!({"id": 1, "select": ["id", "title", "status", "responsible.name"]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(keys(&b), ["result", "time"]);
    assert_eq!(
        b["result"]["item"],
        json!({"id": 1, "title": "T1", "status": "pending", "responsible": {"name": "John Smith"}})
    );
    let (s, b) = post(
        &format!("{v3}tasks.task.list"),
        &json!({"filter": [["id", ">", 0]]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["result"], json!({"items": [{"id": 1}]}));
    let (s, b) = post(&format!("{v3}server.time"), &json!({})).await;
    assert_eq!(s, 404);
    assert_eq!(
        b,
        json!({"error": {"code": "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION", "message": "Method \"server.time\" was not found."}})
    );
    let (s, b) = post(&format!("{v3}tasks.task.get"), &json!({"id": 99})).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["error"]["code"],
        "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION"
    );
    let (s, b) = post(&format!("{v3}tasks.task.get"), &json!({})).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["validation"][0]["field"], "id");
    let (s, b) = post(
        &format!("{}/rest/api/tasks.task.get", e.base_url()),
        &json!({"auth": "bad", "id": 1}),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(
        b["error"]["code"],
        "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION"
    );
    let r = client()
        .post(format!("{v3}tasks.task.get"))
        .form(&[("id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A v3-only method on v2 is not found.
    let (s, _) = post(
        &format!("{}main.eventlog.list", e.webhook_url()),
        &json!({}),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn faults() {
    let e = emu().await;
    let c = e.control();
    let url = format!("{}crm.deal.add", e.webhook_url());
    c.set_faults(Faults {
        error_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let (s, b) = post(&url, &json!({"fields": {"TITLE": "x"}})).await;
    assert_error(s, &b, 500, "INTERNAL_SERVER_ERROR");
    assert_eq!(c.entity_count("crm.deal"), 0);
    c.set_faults(Faults {
        drop_connection_ratio: 1.0,
        ..Faults::default()
    });
    assert!(
        client()
            .post(&url)
            .json(&json!({"fields": {"TITLE": "x"}}))
            .send()
            .await
            .is_err()
    );
    assert_eq!(c.entity_count("crm.deal"), 0);
    c.set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
    assert!(
        client()
            .post(&url)
            .json(&json!({"fields": {"TITLE": "x"}}))
            .send()
            .await
            .is_err()
    );
    assert_eq!(c.entity_count("crm.deal"), 1, "the write was applied");
    c.set_faults(Faults {
        truncate_body_ratio: 1.0,
        ..Faults::default()
    });
    let r = client()
        .post(&url)
        .json(&json!({"fields": {"TITLE": "x"}}))
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(r) => r
            .bytes()
            .await
            .map_or(true, |b| serde_json::from_slice::<Value>(&b).is_err()),
    };
    assert!(broken);
    c.set_faults(Faults {
        latency: Duration::from_millis(50),
        ..Faults::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(get(&format!("{}server.time", e.webhook_url())).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(50));
    // Determinism: same seed, same sequence.
    let mut seqs = Vec::new();
    for _ in 0..2 {
        c.set_faults(Faults {
            error_5xx_ratio: 0.5,
            seed: 7,
            ..Faults::default()
        });
        let mut seq = Vec::new();
        for _ in 0..10 {
            seq.push(get(&format!("{}server.time", e.webhook_url())).await.0);
        }
        seqs.push(seq);
    }
    assert_eq!(seqs[0], seqs[1]);
    assert!(seqs[0].contains(&500) && seqs[0].contains(&200));
}
