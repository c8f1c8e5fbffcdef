//! What a new portal's CRM holds before anyone writes to it, and how its reference values and
//! pipelines answer: the default reference books (`crm.status.*`: deal stages, lead stages,
//! sources) and the default pipeline of `crm.category.*`, as the docs' example answers show.

mod support;

use bitrix24_codegen::spec;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::hook;

/// The documented example answer of `method` (`example` in `specs/*.toml`).
fn example(method: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let specs = spec::load_dir(&dir, "specs").expect("specs");
    let m = specs
        .iter()
        .find_map(|s| s.methods.values().find(|m| m.name == method))
        .expect("specced");
    serde_json::from_str(m.example.as_deref().expect("an example")).expect("JSON")
}

/// The `STATUS_ID`s of book `entity`, by `SORT`.
async fn book(p: &support::Hook, entity: &str) -> Vec<String> {
    let b = p
        .call("crm.status.entity.items", json!({"entityId": entity}))
        .await;
    b["result"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["STATUS_ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `crm-status-entity-items.md` and `crm-status-list.md`: a new portal's `DEAL_STAGE` book is
/// the docs' example, item by item; a listed stage carries `EXTRA` (`apology` for the failure
/// stage before the final one), `null` `CATEGORY_ID` and `SEMANTICS` of a stage in progress.
#[tokio::test]
async fn a_new_portal_has_the_documented_deal_stages() {
    let p = hook().await;
    let items = p
        .call("crm.status.entity.items", json!({"entityId": "DEAL_STAGE"}))
        .await;
    assert_eq!(
        items["result"],
        example("crm.status.entity.items"),
        "{items}"
    );
    let list = p
        .call(
            "crm.status.list",
            json!({"order": {"SORT": "ASC"}, "filter": {"ENTITY_ID": "DEAL_STAGE"}}),
        )
        .await;
    assert_eq!(list["total"], 8, "{list}");
    let doc = example("crm.status.list");
    let rows = list["result"].as_array().expect("rows");
    for (got, want) in rows.iter().zip(doc.as_array().expect("rows")) {
        let mut got = got.clone();
        let mut want = want.clone();
        // Ids are the portal's own.
        assert!(got["ID"].as_str().is_some_and(|s| s.parse::<u64>().is_ok()));
        got["ID"] = Value::Null;
        want["ID"] = Value::Null;
        assert_eq!(got, want);
    }
}

/// `crm/leads/crm-lead-add.md`: the default lead stages and sources, in the tables' order;
/// the start and final lead stages are system values.
#[tokio::test]
async fn a_new_portal_has_the_documented_lead_stages_and_sources() {
    let p = hook().await;
    assert_eq!(
        book(&p, "STATUS").await,
        ["NEW", "IN_PROCESS", "PROCESSED", "JUNK", "CONVERTED"]
    );
    let sources = book(&p, "SOURCE").await;
    assert_eq!(sources.len(), 12, "{sources:?}");
    assert_eq!(
        (sources[0].as_str(), sources[11].as_str()),
        ("CALL", "OTHER")
    );
    let list = p
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "STATUS", "SYSTEM": "Y"}, "order": {"SORT": "ASC"}}),
        )
        .await;
    let system: Vec<&Value> = list["result"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| &r["STATUS_ID"])
        .collect();
    assert_eq!(system, ["NEW", "JUNK", "CONVERTED"], "{list}");
    assert_eq!(list["result"][2]["EXTRA"]["SEMANTICS"], "success");
    assert_eq!(list["result"][0]["NAME_INIT"], "Unprocessed");
}

/// `crm/status/index.md`: `crm.status.add` always saves `SYSTEM` `N`; a value that is not a
/// system one has `NAME_INIT` `""`; `crm.status.get` answers no `EXTRA` (`crm-status-get.md`),
/// nor does a listed value of a book that holds no stages.
#[tokio::test]
async fn an_added_value_is_no_system_value() {
    let p = hook().await;
    let add = |entity: &str, id: &str| {
        json!({"fields": {"ENTITY_ID": entity, "STATUS_ID": id, "NAME": id, "SORT": 15,
            "SYSTEM": "Y", "COLOR": "#00ff00"}})
    };
    let id = p.call("crm.status.add", add("DEAL_STAGE", "REVIEW")).await["result"].clone();
    let got = p.call("crm.status.get", json!({"id": id})).await["result"].clone();
    assert_eq!(
        (&got["SYSTEM"], &got["NAME_INIT"], got.get("EXTRA")),
        (&json!("N"), &json!(""), None),
        "{got}"
    );
    let list = p
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "REVIEW"}}),
        )
        .await;
    assert_eq!(
        list["result"][0]["EXTRA"],
        json!({"SEMANTICS": "process", "COLOR": "#00ff00"}),
        "{list}"
    );
    p.call("crm.status.add", add("SOURCE", "FAIR")).await;
    let list = p
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "SOURCE", "STATUS_ID": "FAIR"}}),
        )
        .await;
    assert_eq!(list["result"][0].get("EXTRA"), None, "{list}");
    assert_eq!(list["result"][0]["SYSTEM"], "N", "{list}");
}
