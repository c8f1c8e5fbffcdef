//! Entity result shapes: legacy CRM lists and items, `crm.item.*`, `tasks.task.*`, system
//! methods.
#![allow(clippy::many_single_char_names)]

mod support;

use serde_json::{Value, json};
use support::{assert_error, get, keys, post, seeded};

#[tokio::test]
async fn legacy_crm_shapes_and_lists() {
    let e = seeded(120).await;
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
    // Add/update/delete/get (a user field keeps a value once defined).
    let (s, _) = post(
        &format!("{base}crm.deal.userfield.add"),
        &json!({"fields": {"FIELD_NAME": "1", "USER_TYPE_ID": "string"}}),
    )
    .await;
    assert_eq!(s, 200);
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
    let e = support::start(support::portal().webhook_with_scopes(2, "CRMONLY", &["crm"])).await;
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
