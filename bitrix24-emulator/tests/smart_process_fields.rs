//! User fields of a smart process (`crm/universal/userfieldconfig/*.md`): defined with
//! `userfieldconfig.add` for `entityId` `CRM_<type id>`, kept by `crm.item.*` under the
//! portal's names (`UF_CRM_7_1712074666` is `ufCrm7_1712074666`), and an undefined one
//! ignored ("An incorrect field in `fields` will be ignored", `crm-item-add.md`).

mod support;

use serde_json::{Value, json};
use support::{Hook, assert_error, hook, post};

/// A smart process; answers its `crm.type` id.
async fn smart_process(p: &Hook, entity_type_id: u32) -> i64 {
    let b = p
        .call(
            "crm.type.add",
            json!({"fields": {"title": "Equipment", "entityTypeId": entity_type_id}}),
        )
        .await;
    b["result"]["type"]["id"].as_i64().expect("a type id")
}

/// The error description of a failed call, which must be a 400 with an empty code.
async fn refused(p: &Hook, method: &str, body: Value) -> String {
    let (status, b) = post(&format!("{}{method}", p.emu.webhook_url()), &body).await;
    assert_error(status, &b, 400, "");
    b["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `userfieldconfig-add.md`: the new field as the docs' answer shows it (string id and sort,
/// `Y`/`N` flags, label maps per language with `null` where unset, no `enum` but for a list);
/// `crm.item.*` keeps its value on add and update, by either name, and drops an undefined one.
#[tokio::test]
async fn a_defined_field_is_kept_and_an_undefined_one_ignored() {
    let p = hook().await;
    let t = smart_process(&p, 1038).await;
    let name = format!("UF_CRM_{t}_1712074666");
    let b = p
        .call(
            "userfieldconfig.add",
            json!({"moduleId": "crm", "field": {"entityId": format!("CRM_{t}"),
                "fieldName": name, "userTypeId": "string", "editFormLabel": {"en": "Budget"}}}),
        )
        .await;
    let f = &b["result"]["field"];
    assert!(
        f["id"].as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
        "{b}"
    );
    assert_eq!(
        (&f["sort"], &f["multiple"], &f["mandatory"], &f["xmlId"]),
        (&json!("100"), &json!("N"), &json!("N"), &Value::Null),
        "{b}"
    );
    assert_eq!(f["editFormLabel"], json!({"en": "Budget"}), "{b}");
    assert_eq!(f["listColumnLabel"], json!({"en": null}), "{b}");
    assert!(f.get("enum").is_none(), "{b}");

    let camel = format!("ufCrm{t}_1712074666");
    let fields = json!({"title": "Drill", camel.clone(): "5 000", format!("ufCrm{t}_999"): "x"});
    let b = p
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1038, "fields": fields}),
        )
        .await;
    let item = &b["result"]["item"];
    assert_eq!(item[&camel], "5 000", "{b}");
    assert!(item.get(format!("ufCrm{t}_999")).is_none(), "{b}");
    let id = item["id"].clone();
    let b = p
        .call(
            "crm.item.update",
            json!({"entityTypeId": 1038, "id": id, "fields": {name.clone(): "7 000"}}),
        )
        .await;
    assert_eq!(b["result"]["item"][&camel], "7 000", "{b}");
    assert!(b["result"]["item"].get(&name).is_none(), "{b}");
}

/// `userfieldconfig-add.md` errors: the code must start with `UF_<entityId>_`, be unique in
/// the object, name its type; a module without user field access is refused.
#[tokio::test]
async fn malformed_and_duplicate_fields_are_refused() {
    let p = hook().await;
    let t = smart_process(&p, 1040).await;
    let field = |name: &str| {
        json!({"moduleId": "crm", "field": {"entityId": format!("CRM_{t}"), "fieldName": name,
            "userTypeId": "string"}})
    };
    let name = format!("UF_CRM_{t}_SIZE");
    p.call("userfieldconfig.add", field(&name)).await;
    let dup = refused(&p, "userfieldconfig.add", field(&name)).await;
    assert!(
        dup.contains(&name) && dup.ends_with("already exists"),
        "{dup}"
    );
    assert_eq!(
        refused(&p, "userfieldconfig.add", field("UF_CRM_99_SIZE")).await,
        "You cannot create custom fields"
    );
    assert_eq!(
        refused(
            &p,
            "userfieldconfig.add",
            field(&format!("UF_CRM_{t}_size"))
        )
        .await,
        "You cannot create custom fields"
    );
    let mut untyped = field(&format!("UF_CRM_{t}_OTHER"));
    untyped["field"]["userTypeId"] = Value::Null;
    assert_eq!(
        refused(&p, "userfieldconfig.add", untyped).await,
        "The 'USER_TYPE_ID' field is not found."
    );
    let mut elsewhere = field(&format!("UF_CRM_{t}_OTHER"));
    elsewhere["moduleId"] = json!("tasks");
    assert_eq!(
        refused(&p, "userfieldconfig.add", elsewhere).await,
        "No settings for UserFieldAccess"
    );
}

/// A list field's `enum` items are numbered strings; `list` filters, wraps in `fields` and
/// counts; `update` changes what the page lists; after `delete` (`null`) the field is gone
/// and an item's value for it is ignored again.
#[tokio::test]
async fn list_fields_are_listed_updated_and_deleted() {
    let p = hook().await;
    let t = smart_process(&p, 1042).await;
    let entity = format!("CRM_{t}");
    let list_name = format!("UF_CRM_{t}_KINDS");
    let b = p
        .call(
            "userfieldconfig.add",
            json!({"moduleId": "crm", "field": {"entityId": entity, "fieldName": list_name,
                "userTypeId": "enumeration", "multiple": "Y",
                "enum": [{"value": "A", "sort": 100}, {"value": "B", "def": "Y", "sort": 200}]}}),
        )
        .await;
    let f = b["result"]["field"].clone();
    let items = f["enum"].as_array().expect("enum items");
    assert_eq!(items.len(), 2, "{b}");
    assert_eq!(
        (
            &items[1]["value"],
            &items[1]["def"],
            &items[1]["sort"],
            &items[1]["userFieldId"]
        ),
        (&json!("B"), &json!("Y"), &json!("200"), &f["id"]),
        "{b}"
    );
    p.call(
        "userfieldconfig.add",
        json!({"moduleId": "crm", "field": {"entityId": entity,
            "fieldName": format!("UF_CRM_{t}_NOTE"), "userTypeId": "string"}}),
    )
    .await;
    let b = p
        .call(
            "userfieldconfig.list",
            json!({"moduleId": "crm", "filter": {"multiple": "Y"}}),
        )
        .await;
    assert_eq!(b["total"], 1, "{b}");
    assert_eq!(
        b["result"]["fields"][0]["fieldName"],
        list_name.as_str(),
        "{b}"
    );
    let id = f["id"].clone();
    let b = p
        .call(
            "userfieldconfig.update",
            json!({"moduleId": "crm", "id": id, "field": {"mandatory": "Y",
                "editFormLabel": {"en": "Kinds"}}}),
        )
        .await;
    let got = p
        .call("userfieldconfig.get", json!({"moduleId": "crm", "id": id}))
        .await;
    assert_eq!(got["result"], b["result"], "{got}");
    assert_eq!(
        (
            &got["result"]["field"]["mandatory"],
            &got["result"]["field"]["editFormLabel"]
        ),
        (&json!("Y"), &json!({"en": "Kinds"})),
        "{got}"
    );
    let b = p
        .call(
            "userfieldconfig.delete",
            json!({"moduleId": "crm", "id": id}),
        )
        .await;
    assert_eq!(b["result"], Value::Null, "{b}");
    assert_eq!(
        refused(
            &p,
            "userfieldconfig.get",
            json!({"moduleId": "crm", "id": id})
        )
        .await,
        "You do not have permission to view user field settings"
    );
    let camel = format!("ufCrm{t}Kinds");
    let b = p
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1042, "fields": {"title": "T", camel.clone(): [1]}}),
        )
        .await;
    assert!(b["result"]["item"].get(&camel).is_none(), "{b}");
}
