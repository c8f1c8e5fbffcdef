//! Requests that once crashed or stalled the emulator (found in review): each must get an
//! ordinary answer.

mod support;

use serde_json::{Value, json};
use support::{emu, post, post_form};

#[tokio::test]
async fn many_list_appends_parse_like_php() {
    let emu = emu().await;
    // 20,000 appends (`select[]=`) plus explicit indexes: PHP appends after the highest one.
    let mut body = String::from("filter[ID][5]=7&filter[ID][]=8");
    for _ in 0..20_000 {
        body.push_str("&select[]=ID");
    }
    let r = post_form(&format!("{}crm.deal.list", emu.webhook_url()), body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["result"].is_array(), "{v}");
}

#[tokio::test]
async fn non_ascii_filter_keys_and_huge_pages_get_answers() {
    let emu = emu().await;
    let token = emu.oauth_app().access_token;
    let http = reqwest::Client::new();
    for method in ["event.offline.get", "event.offline.list"] {
        let r = http
            .post(format!("{}/rest/{method}", emu.base_url()))
            .json(&json!({"auth": token, "clear": 0, "filter": {"€ID": 1, ">€": 2}}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(
            v.get("result").is_some() || v.get("error").is_some(),
            "{method}: {status} {v}"
        );
    }
    let r = http
        .post(format!("{}/rest/api/tasks.task.list", emu.base_url()))
        .bearer_auth(&token)
        .json(&json!({"pagination": {"page": i64::MAX, "limit": 1000}}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v.get("result").is_some() || v.get("error").is_some(), "{v}");
}

#[tokio::test]
async fn an_oversize_body_is_refused_without_running_the_method() {
    let emu = emu().await;
    let id: Value = post(
        &format!("{}crm.deal.add", emu.webhook_url()),
        &json!({"fields": {"TITLE": "keep me"}}),
    )
    .await
    .1;
    let id = id["result"].as_u64().unwrap();
    let padding = "x".repeat(33 * 1024 * 1024);
    let r = post_form(
        &format!("{}crm.deal.delete?id={id}", emu.webhook_url()),
        format!("pad={padding}"),
    )
    .await;
    assert_eq!(r.status(), 413);
    let still: Value = post(
        &format!("{}crm.deal.get", emu.webhook_url()),
        &json!({"id": id}),
    )
    .await
    .1;
    assert_eq!(
        still["result"]["TITLE"], "keep me",
        "the delete did not run"
    );
}
