//! Data tests: spec-driven families, departments, users, smart processes, profile and app.info.

mod support;

use bitrix24_emulator::Emulator;
use serde_json::json;
use support::{emu, post};

#[tokio::test]
async fn spec_driven_family_end_to_end() {
    let e = emu().await;
    let fams = e.control().families();
    assert!(
        fams.iter()
            .any(|(p, o)| p == "sale.order" && o == "specs/commerce.toml"),
        "{fams:?}"
    );
    // The portal's own families come from the core pack too (with the emulator's overlay).
    for p in [
        "crm.deal",
        "crm.lead",
        "crm.contact",
        "crm.company",
        "tasks.task",
    ] {
        assert!(
            fams.iter().any(|(x, o)| x == p && o == "specs/core.toml"),
            "{p}: {fams:?}"
        );
    }
    let wh = e.webhook_url();
    // add: wrapped:order:Order, camelCase keys, native numbers.
    let mut ids = Vec::new();
    for i in 0..120 {
        let (s, b) = post(
            &format!("{wh}sale.order.add"),
            &json!({"fields": {"lid": "s1", "currency": if i % 2 == 0 {"USD"} else {"EUR"},
                               "price": 10 + i, "personTypeId": 1, "canceled": "N"}}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert!(b["result"]["order"]["currency"].is_string(), "{b}");
        ids.push(b["result"]["order"]["id"].as_i64().unwrap());
    }
    let id = ids[0];
    let (_, b) = post(&format!("{wh}sale.order.get"), &json!({"id": id})).await;
    assert_eq!(b["result"]["order"]["id"], id);
    assert_eq!(b["result"]["order"]["price"], 10);
    assert_eq!(b["result"]["order"]["canceled"], "N");
    // list: wrapped_list:orders, filter, pagination.
    let (_, b) = post(
        &format!("{wh}sale.order.list"),
        &json!({"filter": {"currency": "USD", ">=price": 20}, "select": ["id", "price"], "order": {"id": "ASC"}}),
    )
    .await;
    assert_eq!(b["total"], 55, "{b}");
    assert_eq!(b["next"], 50);
    let rows = b["result"]["orders"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0], json!({"id": ids[10], "price": 20}));
    let (_, b) = post(
        &format!("{wh}sale.order.list"),
        &json!({"filter": {"currency": "USD", ">=price": 20}, "start": 50}),
    )
    .await;
    assert_eq!(b["result"]["orders"].as_array().unwrap().len(), 5);
    assert!(b.get("next").is_none());
    // update and delete.
    let (_, b) = post(
        &format!("{wh}sale.order.update"),
        &json!({"id": id, "fields": {"comments": "paid"}}),
    )
    .await;
    assert_eq!(b["result"]["order"]["comments"], "paid", "{b}");
    let (_, b) = post(&format!("{wh}sale.order.delete"), &json!({"id": id})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{wh}sale.order.get"), &json!({"id": id})).await;
    assert_eq!((s, b["error"].clone()), (400, json!("201240400001")), "{b}");
    let (s, b) = post(&format!("{wh}sale.order.get"), &json!({})).await;
    assert_eq!((s, b["error"].clone()), (400, json!("100")), "{b}");
    // fields (the spec's getFields alias): {"order": {field: meta}}.
    let (_, b) = post(&format!("{wh}sale.order.getFields"), &json!({})).await;
    assert_eq!(b["result"]["order"]["price"]["type"], "double", "{b}");
    let (_, b2) = post(&format!("{wh}sale.order.fields"), &json!({})).await;
    assert_eq!(b["result"], b2["result"]);
    // A collab/platform entity too: biconnector sources (list is a bare list).
    let (_, b) = post(
        &format!("{wh}biconnector.source.add"),
        &json!({"fields": {"title": "S"}}),
    )
    .await;
    let sid = b["result"]["id"]
        .as_i64()
        .expect("{\"id\": n}, as biconnector-source-add.md shows");
    let (_, b) = post(&format!("{wh}biconnector.source.get"), &json!({"id": sid})).await;
    assert_eq!(b["result"]["item"]["title"], "S", "{b}");
    // The scope comes from the spec: a crm-only webhook cannot call it.
    let scoped = Emulator::builder()
        .webhook_with_scopes(1, "C", &["crm"])
        .start()
        .await
        .unwrap();
    let (s, b) = post(
        &format!("{}sale.order.list", scoped.webhook_url()),
        &json!({}),
    )
    .await;
    assert_eq!((s, b["error"].clone()), (401, json!("insufficient_scope")));
}

#[tokio::test]
async fn departments() {
    let e = emu().await;
    let wh = e.webhook_url();
    let (_, b) = post(&format!("{wh}department.get"), &json!({})).await;
    assert_eq!(
        b["result"],
        json!([{"ID": "1", "NAME": "Acme", "SORT": 500}])
    );
    assert_eq!(b["total"], 1);
    let (_, b) = post(
        &format!("{wh}department.add"),
        &json!({"NAME": "Sales", "PARENT": 1, "UF_HEAD": 7}),
    )
    .await;
    let sales = b["result"].as_i64().unwrap();
    let (s, b) = post(&format!("{wh}department.add"), &json!({"NAME": "Top"})).await;
    assert_eq!((s, b["error"].clone()), (400, json!("ERROR_CORE")));
    let (s, b) = post(&format!("{wh}department.add"), &json!({"PARENT": 1})).await;
    assert_eq!((s, b["error"].clone()), (400, json!("ERROR_CORE")));
    let (_, b) = post(
        &format!("{wh}department.update"),
        &json!({"ID": sales, "NAME": "Sales EU"}),
    )
    .await;
    assert_eq!(b["result"], true);
    let (_, b) = post(&format!("{wh}department.get"), &json!({"PARENT": 1})).await;
    assert_eq!(
        b["result"],
        json!([{"ID": sales.to_string(), "NAME": "Sales EU", "SORT": 500, "PARENT": "1", "UF_HEAD": "7"}])
    );
    let (_, b) = post(
        &format!("{wh}department.get"),
        &json!({"sort": "NAME", "order": "DESC"}),
    )
    .await;
    assert_eq!(b["result"][0]["NAME"], "Sales EU");
    // A batch reference into user.current, as in the docs example.
    let (_, b) = post(
        &format!("{wh}batch"),
        &json!({"cmd": {"u": "user.current", "d": "department.get?ID=$result[u][UF_DEPARTMENT][0]"}}),
    )
    .await;
    assert_eq!(b["result"]["result"]["d"][0]["NAME"], "Acme", "{b}");
    let (_, b) = post(&format!("{wh}department.delete"), &json!({"ID": sales})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{wh}department.delete"), &json!({"ID": sales})).await;
    assert_eq!(
        (s, b["error_description"].clone()),
        (400, json!("Department not found"))
    );
    // Non-admins cannot change the structure.
    let (s, b) = post(
        &format!("{}/rest/7/SEVEN/department.add", e.base_url()),
        &json!({"NAME": "X", "PARENT": 1}),
    )
    .await;
    assert_eq!((s, b["error"].clone()), (400, json!("ERROR_CORE")));
    let (_, b) = post(&format!("{wh}department.fields"), &json!({})).await;
    assert_eq!(b["result"]["UF_HEAD"], "Manager");
}

#[tokio::test]
async fn users_profile_and_app_info() {
    let e = emu().await;
    let wh = e.webhook_url();
    let (_, b) = post(&format!("{wh}user.get"), &json!({})).await;
    assert_eq!(b["total"], 2, "admin plus the webhook user: {b}");
    let (_, b) = post(&format!("{wh}user.get"), &json!({"FILTER": {">ID": 1}})).await;
    assert_eq!(b["result"][0]["ID"], "7");
    let (_, b) = post(&format!("{wh}user.get"), &json!({"%EMAIL": "USER7"})).await;
    assert_eq!(b["total"], 1, "{b}");
    let (_, b) = post(
        &format!("{wh}user.get"),
        &json!({"filter": {"@ID": [1, 7]}, "sort": "ID", "order": "DESC"}),
    )
    .await;
    assert_eq!(b["result"][0]["ID"], "7");
    assert_eq!(b["result"][1]["ID"], "1");
    let (_, b) = post(
        &format!("{wh}user.get"),
        &json!({"ACTIVE": true, "UF_DEPARTMENT": 1, "select": ["ID", "NAME"]}),
    )
    .await;
    assert_eq!(b["result"][0], json!({"ID": "1", "NAME": "John"}));
    let (_, b) = post(&format!("{wh}user.get"), &json!({"!ID": 1})).await;
    assert_eq!(b["total"], 1);
    let (_, b) = post(&format!("{wh}user.get"), &json!({"NAME_SEARCH": "smi"})).await;
    assert_eq!(b["result"][0]["ID"], "1");
    // LAST_LOGIN comes from the caller's last request (user 1 has called; user 7 has not).
    let (_, b) = post(&format!("{wh}user.get"), &json!({})).await;
    assert!(b["result"][0]["LAST_LOGIN"].is_string());
    assert!(b["result"][1].get("LAST_LOGIN").is_none());
    // profile is the caller.
    let (_, b) = post(
        &format!("{}/rest/7/SEVEN/profile", e.base_url()),
        &json!({}),
    )
    .await;
    assert_eq!(b["result"]["ID"], "7");
    assert_eq!(b["result"]["ADMIN"], false);
    // app.info: webhook vs app.
    let (_, b) = post(&format!("{wh}app.info"), &json!({})).await;
    assert_eq!(b["result"]["LICENSE"], "en_project");
    assert!(
        b["result"]["SCOPE"]
            .as_array()
            .unwrap()
            .contains(&json!("sale"))
    );
    let app = e.oauth_app();
    let rest = format!("{}/rest/", e.base_url());
    let (_, b) = post(
        &format!("{rest}app.info"),
        &json!({"auth": app.access_token}),
    )
    .await;
    assert_eq!(b["result"]["CODE"], app.client_id);
    assert_eq!(b["result"]["INSTALLED"], true);
    assert_eq!(b["result"]["LICENSE_TYPE"], "project");
    e.control().set_app_installed(false);
    let (_, b) = post(
        &format!("{rest}app.info"),
        &json!({"auth": app.access_token}),
    )
    .await;
    assert_eq!(b["result"]["INSTALLED"], false);
}

#[tokio::test]
async fn smart_processes() {
    let e = emu().await;
    let wh = e.webhook_url();
    let (s, b) = post(&format!("{wh}crm.item.list"), &json!({"entityTypeId": 128})).await;
    assert_eq!((s, b["error"].clone()), (400, json!("NOT_FOUND")));
    let (_, b) = post(
        &format!("{wh}crm.type.add"),
        &json!({"fields": {"title": "Projects", "isStagesEnabled": "Y"}}),
    )
    .await;
    let t = &b["result"]["type"];
    assert_eq!(t["entityTypeId"], 128, "{b}");
    assert_eq!(t["isStagesEnabled"], "Y");
    assert_eq!(t["isSetOpenPermissions"], "Y");
    let type_id = t["id"].as_i64().unwrap();
    let (s, b) = post(
        &format!("{wh}crm.type.add"),
        &json!({"fields": {"title": "Bad", "entityTypeId": 1031}}),
    )
    .await;
    assert_eq!((s, b["error"].clone()), (400, json!("INVALID_ARG_VALUE")));
    let (_, b) = post(
        &format!("{wh}crm.type.add"),
        &json!({"fields": {"title": "Big", "entityTypeId": 2024}}),
    )
    .await;
    assert_eq!(b["result"]["type"]["entityTypeId"], 2024);
    let (_, b) = post(&format!("{wh}crm.type.get"), &json!({"id": type_id})).await;
    assert_eq!(b["result"]["type"]["title"], "Projects");
    let (_, b) = post(
        &format!("{wh}crm.type.list"),
        &json!({"filter": {">entityTypeId": 1000}}),
    )
    .await;
    assert_eq!(b["result"]["types"].as_array().unwrap().len(), 1);
    assert_eq!(b["total"], 1);
    // Items of the new type.
    let (_, b) = post(
        &format!("{wh}crm.item.add"),
        &json!({"entityTypeId": 128, "fields": {"title": "P1", "opportunity": 5.5}}),
    )
    .await;
    let item = &b["result"]["item"];
    assert_eq!(item["entityTypeId"], 128, "{b}");
    assert_eq!(item["opportunity"], 5.5);
    let iid = item["id"].as_i64().unwrap();
    post(
        &format!("{wh}crm.item.add"),
        &json!({"entityTypeId": 128, "fields": {"title": "P2"}}),
    )
    .await;
    let (_, b) = post(
        &format!("{wh}crm.item.update"),
        &json!({"entityTypeId": 128, "id": iid, "fields": {"title": "P1b"}}),
    )
    .await;
    assert_eq!(b["result"]["item"]["title"], "P1b");
    let (_, b) = post(
        &format!("{wh}crm.item.list"),
        &json!({"entityTypeId": 128, "filter": {"%title": "P1"}, "select": ["id", "title"]}),
    )
    .await;
    assert_eq!(b["result"]["items"], json!([{"id": iid, "title": "P1b"}]));
    let (_, b) = post(
        &format!("{wh}crm.item.get"),
        &json!({"entityTypeId": 128, "id": iid}),
    )
    .await;
    assert_eq!(b["result"]["item"]["id"], iid);
    let (_, b) = post(
        &format!("{wh}crm.item.delete"),
        &json!({"entityTypeId": 128, "id": iid}),
    )
    .await;
    assert_eq!(b["result"], json!([]));
    let (_, b) = post(&format!("{wh}crm.item.list"), &json!({"entityTypeId": 128})).await;
    assert_eq!(b["total"], 1);
    // The other type is separate.
    let (_, b) = post(
        &format!("{wh}crm.item.list"),
        &json!({"entityTypeId": 2024}),
    )
    .await;
    assert_eq!(b["total"], 0);
}

#[tokio::test]
async fn xml_output_and_domain_move() {
    let e = emu().await;
    let wh = e.webhook_url();
    let r = reqwest::get(format!("{wh}department.get.xml"))
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/xml; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with(
            "<response><result><item><ID>1</ID><NAME>Acme</NAME><SORT>500</SORT></item></result><total>1</total><time><start>"
        ),
        "{text}"
    );
    assert!(text.ends_with("</time></response>"), "{text}");
    let r = reqwest::get(format!("{wh}crm.deal.get.xml?id=999"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().await.unwrap(),
        "<response><error></error><error_description>Not found</error_description></response>"
    );
    // Domain change: 302 with Location on the new base; the client re-sends.
    let other = emu().await;
    e.control().move_portal(&other.base_url());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{wh}server.time?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        loc,
        format!("{}/rest/1/SOMECODE/server.time?x=1", other.base_url())
    );
    let (s, _) = post(&loc, &json!({})).await;
    assert_eq!(s, 200);
    e.control().move_portal("");
    let (s, _) = post(&format!("{wh}server.time"), &json!({})).await;
    assert_eq!(s, 200);
}
