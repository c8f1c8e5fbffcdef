//! REST 3.0 (`/rest/api/...`): `tasks.task.*` items, select, filter, errors.

mod support;

use serde_json::json;
use support::{client, emu, keys, post};

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

/// The methods `data/rest_v3.toml` lists, with `<prefix>.field.list` and `<prefix>.field.get`
/// after those of a family with fields: what the OpenAPI document must describe.
fn listed_in_the_data_file() -> Vec<String> {
    let text = include_str!("../data/rest_v3.toml");
    let file: toml::Value = toml::from_str(text).unwrap();
    let mut names = Vec::new();
    for f in file["family"].as_array().unwrap() {
        for m in f["methods"].as_array().unwrap() {
            names.push(m["name"].as_str().unwrap().to_owned());
        }
        if f.get("fields").is_some() {
            let prefix = f["prefix"].as_str().unwrap();
            names.push(format!("{prefix}.field.list"));
            names.push(format!("{prefix}.field.get"));
        }
    }
    names
}

#[tokio::test]
async fn every_method_of_the_data_file_is_described_and_answered() {
    let e = emu().await;
    let v3 = format!("{}/rest/api/1/SOMECODE/", e.base_url());
    let (s, doc) = post(&format!("{v3}rest.documentation.openapi"), &json!({})).await;
    assert_eq!(s, 200, "{doc}");
    let described: Vec<String> = doc["result"]["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| p.trim_start_matches('/').to_owned())
        .collect();
    let listed = listed_in_the_data_file();
    assert!(listed.len() >= 25, "{listed:?}");
    assert_eq!(described, listed);
    for name in &listed {
        let (s, b) = post(&format!("{v3}{name}"), &json!({})).await;
        assert_ne!(s, 404, "{name}: {b}");
        let code = b["error"]["code"].as_str().unwrap_or_default();
        assert!(!code.ends_with("METHODNOTFOUNDEXCEPTION"), "{name}: {b}");
    }
    // A field method of a family without fields is not served.
    let (s, b) = post(
        &format!("{v3}humanresources.node.communication.field.list"),
        &json!({}),
    )
    .await;
    assert_eq!(s, 404, "{b}");
}
