//! Row details the conformance test cannot see from one example: empty values, multi-fields and
//! the flags computed from them, fields returned only on request, user-field names through
//! `crm.item.*`, categories. Each fact is quoted from the docs page it comes from.

mod support;

use serde_json::{Value, json};
use support::hook;

/// `crm.lead.get` (docs example): a lead without e-mail has no `EMAIL` key, dates with no value
/// are `""`, `HAS_PHONE` is `"Y"` once a phone is set (`crm.lead.list`: "Indicator of whether
/// the phone field is filled"), and `filter: {"PHONE": "555888"}` finds the lead ("Searching for
/// a Lead by Phone").
#[tokio::test]
async fn legacy_multifields_flags_and_empty_dates() {
    let p = hook().await;
    let add = |fields: Value| p.call("crm.lead.add", json!({ "fields": fields }));
    let bare = add(json!({"TITLE": "No contacts"})).await["result"].clone();
    let phoned =
        add(json!({"TITLE": "Phoned", "PHONE": [{"VALUE": "555888", "VALUE_TYPE": "WORK"}]})).await
            ["result"]
            .clone();
    let b = p.call("crm.lead.get", json!({"id": bare})).await;
    let row = b["result"].as_object().unwrap();
    for k in ["PHONE", "EMAIL", "WEB", "IM", "LINK", "CONTACT_IDS"] {
        assert!(!row.contains_key(k), "{k} in {b}");
    }
    assert_eq!(
        (&row["BIRTHDATE"], &row["DATE_CLOSED"]),
        (&json!(""), &json!(""))
    );
    assert_eq!(row["HAS_PHONE"], "N");
    assert_eq!(row["HONORIFIC"], Value::Null);
    let b = p.call("crm.lead.get", json!({"id": phoned})).await;
    assert_eq!(b["result"]["HAS_PHONE"], "Y", "{b}");
    assert_eq!(b["result"]["HAS_EMAIL"], "N", "{b}");
    assert_eq!(b["result"]["PHONE"][0]["VALUE"], "555888", "{b}");
    assert!(b["result"].get("EMAIL").is_none(), "{b}");
    let b = p
        .call(
            "crm.lead.list",
            json!({"filter": {"PHONE": "555888"}, "select": ["ID", "TITLE"]}),
        )
        .await;
    assert_eq!(
        b["result"],
        json!([{"ID": phoned.to_string(), "TITLE": "Phoned"}]),
        "{b}"
    );
    // Removing the phone (an item with its ID and an empty VALUE) clears the flag.
    let id = b["result"][0]["ID"].clone();
    let item = p.call("crm.lead.get", json!({"id": id})).await["result"]["PHONE"][0]["ID"].clone();
    p.call(
        "crm.lead.update",
        json!({"id": id, "fields": {"PHONE": [{"ID": item, "VALUE": ""}]}}),
    )
    .await;
    let b = p.call("crm.lead.get", json!({"id": id})).await;
    assert_eq!(b["result"]["HAS_PHONE"], "N", "{b}");
    assert!(b["result"].get("PHONE").is_none(), "{b}");
}

/// `crm.deal.get` (docs example) has `CONTACT_ID` and no `CONTACT_IDS`; `crm.deal.list` gives
/// `CONTACT_IDS` when selected by name, and `crm.item.get` always (`contactIds`).
#[tokio::test]
async fn relation_lists_only_on_request() {
    let p = hook().await;
    let id = p
        .call(
            "crm.deal.add",
            json!({"fields": {"TITLE": "D", "CONTACT_IDS": [84, 83]}}),
        )
        .await["result"]
        .clone();
    let b = p.call("crm.deal.get", json!({"id": id})).await;
    assert!(b["result"].get("CONTACT_IDS").is_none(), "{b}");
    assert!(b["result"].get("CONTACT_ID").is_some(), "{b}");
    let b = p
        .call(
            "crm.deal.list",
            json!({"filter": {"ID": id}, "select": ["ID", "CONTACT_IDS"]}),
        )
        .await;
    assert_eq!(b["result"][0]["CONTACT_IDS"], json!([84, 83]), "{b}");
    let b = p
        .call("crm.item.get", json!({"entityTypeId": 2, "id": id}))
        .await;
    assert!(b["result"]["item"]["contactIds"].is_array(), "{b}");
    assert_eq!(b["result"]["item"]["entityTypeId"], 2, "{b}");
}

/// `crm/universal/index.md` ("Field Naming Conventions"): through `crm.item.*` a smart-process
/// field `UF_CRM_<type>_<digits>` is `ufCrm<type>_<digits>`, whichever of the two names wrote
/// it; a deal's `UF_CRM_<digits>` is `ufCrm_<digits>`, and the legacy methods keep the UPPER name.
#[tokio::test]
async fn crm_item_user_field_names() {
    let p = hook().await;
    let ty = p
        .call(
            "crm.type.add",
            json!({"fields": {"title": "Projects", "entityTypeId": 1036}}),
        )
        .await;
    assert_eq!(ty["result"]["type"]["entityTypeId"], 1036, "{ty}");
    // The field, defined for the type as the portal's was (userfieldconfig-add.md).
    let t = &ty["result"]["type"]["id"];
    p.call(
        "userfieldconfig.add",
        json!({"moduleId": "crm", "field": {"entityId": format!("CRM_{t}"),
            "fieldName": format!("UF_CRM_{t}_1712074666"), "userTypeId": "string"}}),
    )
    .await;
    let add = |entity_type: u32, fields: Value| {
        p.call(
            "crm.item.add",
            json!({"entityTypeId": entity_type, "fields": fields}),
        )
    };
    let camel = format!("ufCrm{t}_1712074666");
    for written in [camel.clone(), format!("UF_CRM_{t}_1712074666")] {
        let answer = add(1036, json!({"title": "A", written.clone(): written})).await;
        let item = &answer["result"]["item"];
        assert_eq!(item[&camel], written.as_str(), "{answer}");
        assert!(
            item.get(format!("ufCrm_{t}_1712074666")).is_none(),
            "{answer}"
        );
    }
    p.call(
        "crm.deal.userfield.add",
        json!({"fields": {"FIELD_NAME": "1721244707107", "USER_TYPE_ID": "double"}}),
    )
    .await;
    let fields = json!({"title": "D", "ufCrm_1721244707107": 1111.1, "parentId1220": 2});
    let answer = add(2, fields).await;
    let item = &answer["result"]["item"];
    assert_eq!(item["ufCrm_1721244707107"], 1111.1, "{answer}");
    assert_eq!(item["parentId1220"], 2, "{answer}");
    let legacy = p.call("crm.deal.get", json!({"id": item["id"]})).await;
    assert_eq!(legacy["result"]["UF_CRM_1721244707107"], 1111.1, "{legacy}");
    assert_eq!(legacy["result"]["PARENT_ID_1220"], "2", "{legacy}");
}

/// `crm.category.list` (docs example): the default pipeline `{"id":0,"name":"General",
/// "sort":300,"entityTypeId":2,"isDefault":"Y"}` is listed with the others, by `sort`; a
/// category keeps the `entityTypeId` it was made for, `isDefault` is `"Y"`/`"N"`, `originId`
/// and `originatorId` are `""` on a deal pipeline and absent elsewhere; all categories come in
/// one page without `next`.
#[tokio::test]
async fn categories_per_entity_type() {
    let p = hook().await;
    let add = |entity_type: u32, name: String| {
        p.call(
            "crm.category.add",
            json!({"entityTypeId": entity_type, "fields": {"name": name, "sort": 200}}),
        )
    };
    for i in 0..60 {
        add(2, format!("Deal funnel {i}")).await;
    }
    let b = add(1152, "Projects".into()).await;
    let made = &b["result"]["category"];
    assert_eq!(made["entityTypeId"], 1152, "{b}");
    assert_eq!(made["isDefault"], "N", "{b}");
    // `originId`/`originatorId` "exist only in deals" (crm-category-add.md).
    assert!(made.get("originId").is_none(), "{b}");
    let b = p
        .call("crm.category.list", json!({"entityTypeId": 2}))
        .await;
    let rows = b["result"]["categories"].as_array().unwrap();
    assert_eq!((rows.len(), b["total"].as_i64()), (61, Some(61)), "{b}");
    assert!(b.get("next").is_none(), "{b}");
    let first = &rows[0];
    assert_eq!(first["entityTypeId"], 2, "{b}");
    assert_eq!(
        (&first["originId"], &first["originatorId"]),
        (&json!(""), &json!(""))
    );
    let default = rows.last().unwrap();
    assert_eq!(
        (&default["id"], &default["name"], &default["isDefault"]),
        (&json!(0), &json!("General"), &json!("Y")),
        "{b}"
    );
    // The default deal pipeline has neither (crm-category-list.md).
    assert!(default.get("originatorId").is_none(), "{b}");
    let b = p
        .call("crm.category.get", json!({"entityTypeId": 2, "id": 0}))
        .await;
    assert_eq!(b["result"]["category"]["isDefault"], "Y", "{b}");
    let b = p
        .call("crm.category.list", json!({"entityTypeId": 1152}))
        .await;
    let names: Vec<&Value> = b["result"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("Projects"), &json!("General")], "{b}");
}

/// `crm/companies/crm-company-add.md`: "An incorrect field in `fields` will be ignored"; a deal
/// keeps a `UF_*` value only for a field created with `crm.deal.userfield.add` (whose
/// `FIELD_NAME` gets the `UF_CRM_` prefix), on add and update, legacy and `crm.item.*` alike.
#[tokio::test]
async fn undefined_user_fields_are_ignored() {
    let p = hook().await;
    let fields = json!({"TITLE": "D", "UF_CRM_BUDGET": 5, "UF_CRM_NOPE": "x"});
    let before = p.call("crm.deal.add", json!({ "fields": fields })).await;
    let id = before["result"].clone();
    let g = p.call("crm.deal.get", json!({"id": id})).await;
    assert!(g["result"].get("UF_CRM_BUDGET").is_none(), "{g}");
    p.call(
        "crm.deal.userfield.add",
        json!({"fields": {"FIELD_NAME": "BUDGET", "USER_TYPE_ID": "integer"}}),
    )
    .await;
    let upd = json!({"id": id, "fields": {"UF_CRM_BUDGET": 7, "UF_CRM_NOPE": "x"}});
    p.call("crm.deal.update", upd).await;
    let g = p.call("crm.deal.get", json!({"id": id})).await;
    assert_eq!(g["result"]["UF_CRM_BUDGET"], 7, "{g}");
    assert!(g["result"].get("UF_CRM_NOPE").is_none(), "{g}");
    let item = json!({"entityTypeId": 2, "id": id, "fields": {"ufCrm_NOPE": "x"}});
    let u = p.call("crm.item.update", item).await;
    assert!(u["result"]["item"].get("ufCrm_NOPE").is_none(), "{u}");
}

/// `tasks.task.add` (docs example): `"description":""`, `"favorite":"N"`,
/// `"descriptionInBbcode":"Y"`, `"group":[]`, `"checklist":[]`, `"newCommentsCount":0` (a
/// native number among string ones); a task bound to no CRM object has `"ufCrmTask": false`;
/// `deadline` is ISO 8601 with an offset whatever date form was written.
#[tokio::test]
async fn task_empty_values() {
    let p = hook().await;
    let b = p
        .call(
            "tasks.task.add",
            json!({"fields": {"TITLE": "T", "RESPONSIBLE_ID": 1, "DEADLINE": "2022/07/30"}}),
        )
        .await;
    let task = &b["result"]["task"];
    assert_eq!(task["description"], "", "{b}");
    assert_eq!(task["favorite"], "N", "{b}");
    assert_eq!(task["descriptionInBbcode"], "Y", "{b}");
    assert_eq!(
        (&task["group"], &task["checklist"]),
        (&json!([]), &json!([])),
        "{b}"
    );
    assert_eq!(task["newCommentsCount"], 0, "{b}");
    assert_eq!(task["priority"], "1", "{b}");
    assert_eq!(task["ufCrmTask"], false, "{b}");
    // A deadline written `2022/07/30` is answered in ISO 8601 with an offset.
    let deadline = task["deadline"].as_str().unwrap_or_default();
    assert!(deadline.starts_with("2022-07-30T00:00:00"), "{b}");
    assert!(deadline.len() == 25, "{b}");
}
