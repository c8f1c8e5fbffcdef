//! `crm.<entity>.fields` against the docs' example answers (`tests/field_meta/*.json`, the
//! `result` of the example on each method's page): every documented field is answered with the
//! documented description (type, flags, `statusType`, title, `settings`), key for key.

mod support;

use serde_json::{Value, json};
use support::{assert_error, emu, ok, post};

/// The documented answer of `method`.
fn documented(method: &str) -> Value {
    let path = format!(
        "{}/tests/field_meta/{method}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text).expect("documented JSON")["result"].take()
}

/// Whether a documented field is one of the docs' portal's own user fields or links to its
/// smart processes (`PARENT_ID_156`), which a fresh portal does not have.
fn portal_specific(name: &str) -> bool {
    name.starts_with("UF_") || name.starts_with("PARENT_ID_")
}

/// The documented fields `method` answers differently (or not at all): `(field, documented,
/// answered)`.
async fn differences(method: &str) -> Vec<(String, Value, Value)> {
    let e = emu().await;
    let got = ok(format!("{}{method}", e.webhook_url()), json!({})).await;
    let docs = documented(method);
    let docs = docs.as_object().expect("a map of fields");
    assert!(
        docs.len() > 40,
        "{method}: the documented example lists every field"
    );
    docs.iter()
        .filter(|(k, _)| !portal_specific(k))
        .filter(|(k, d)| got["result"].get(k.as_str()) != Some(d))
        .map(|(k, d)| (k.clone(), d.clone(), got["result"][k.as_str()].clone()))
        .collect()
}

#[tokio::test]
async fn legacy_crm_fields_answer_the_documented_descriptions() {
    for method in [
        "crm.deal.fields",
        "crm.lead.fields",
        "crm.contact.fields",
        "crm.company.fields",
    ] {
        let diff = differences(method).await;
        assert!(
            diff.is_empty(),
            "{method}: {} fields differ: {:#?}",
            diff.len(),
            diff.iter().take(5).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn user_fields_are_described_with_their_labels_and_settings() {
    let e = emu().await;
    let base = e.webhook_url();
    let docs = documented("crm.company.fields");
    // The docs' portal's two company user fields, defined as `crm.company.userfield.add` takes
    // them (one label as a text, one as a map language -> text).
    for (name, ty, labels, settings) in [
        (
            "64A29A1CD5CC2",
            "string",
            json!({"LIST_COLUMN_LABEL": "New Field", "EDIT_FORM_LABEL": {"en": "New Field", "de": "Neues Feld"}, "LIST_FILTER_LABEL": "New Field"}),
            docs["UF_CRM_64A29A1CD5CC2"]["settings"].clone(),
        ),
        (
            "UF_CRM_1687188367",
            "crm",
            json!({"LABEL": "Subsidiary"}),
            docs["UF_CRM_1687188367"]["settings"].clone(),
        ),
    ] {
        let mut fields = json!({"FIELD_NAME": name, "USER_TYPE_ID": ty, "SETTINGS": settings});
        fields
            .as_object_mut()
            .expect("object")
            .extend(labels.as_object().expect("labels").clone());
        ok(
            format!("{base}crm.company.userfield.add"),
            json!({ "fields": fields }),
        )
        .await;
    }
    let got = ok(format!("{base}crm.company.fields"), json!({})).await;
    for name in ["UF_CRM_64A29A1CD5CC2", "UF_CRM_1687188367"] {
        assert_eq!(got["result"][name], docs[name], "{name}");
    }
    // A company's user fields are not a deal's.
    let deal = ok(format!("{base}crm.deal.fields"), json!({})).await;
    assert!(deal["result"].get("UF_CRM_64A29A1CD5CC2").is_none());
}

/// A field `crm.<entity>.fields` lists as required (`crm.company.fields`: `TITLE` with
/// `"isRequired": true`) is required on `add`: `crm.item.add` answers the item factory's
/// documented error (`crm/universal/import/crm-item-batch-import.md`:
/// `"CRM_FIELD_ERROR_REQUIRED"`, `The "Name" field is required`), the legacy method its own.
#[tokio::test]
async fn required_fields_are_required_on_add() {
    let e = emu().await;
    let base = e.webhook_url();
    let docs = documented("crm.company.fields");
    assert_eq!(docs["TITLE"]["isRequired"], json!(true));
    let item = json!({"entityTypeId": 4, "fields": {"comments": "no title"}});
    let (status, b) = post(&format!("{base}crm.item.add"), &item).await;
    assert_error(status, &b, 400, "CRM_FIELD_ERROR_REQUIRED");
    assert_eq!(
        b["error_description"],
        json!("The \"Company Name\" field is required")
    );
    let legacy = json!({"fields": {"COMMENTS": "no title"}});
    let (status, b) = post(&format!("{base}crm.company.add"), &legacy).await;
    assert_eq!(status, 400, "{b}");
    // Given, the field is accepted; a deal's `TITLE` is not required.
    ok(
        format!("{base}crm.company.add"),
        json!({"fields": {"TITLE": "Acme"}}),
    )
    .await;
    ok(format!("{base}crm.deal.add"), json!({"fields": {}})).await;
}

/// `crm.item.fields` of a smart process answers the docs' example descriptions
/// (`crm/universal/crm-item-fields.md`, type 1268) key for key, with `upperName`; the stages'
/// `statusType` names the type and its first pipeline as `crm.category.list` lists it (the
/// docs' portal's pipeline is 52).
#[tokio::test]
async fn smart_process_fields_answer_the_documented_descriptions() {
    let e = emu().await;
    let base = e.webhook_url();
    let ty = json!({"fields": {"title": "Smart Process #16", "entityTypeId": 1268}});
    ok(format!("{base}crm.type.add"), ty).await;
    let got = ok(
        format!("{base}crm.item.fields"),
        json!({"entityTypeId": 1268, "useOriginalUfNames": "N"}),
    )
    .await;
    let cats = ok(
        format!("{base}crm.category.list"),
        json!({"entityTypeId": 1268}),
    )
    .await;
    let first = &cats["result"]["categories"][0]["id"];
    let docs = documented("crm.item.fields");
    let text = docs.to_string().replace(
        "DYNAMIC_1268_STAGE_52",
        &format!("DYNAMIC_1268_STAGE_{first}"),
    );
    let docs: Value = serde_json::from_str(&text).expect("JSON");
    let fields = docs["fields"].as_object().expect("fields");
    assert!(fields.len() > 30);
    let diff: Vec<(&String, &Value, &Value)> = fields
        .iter()
        .filter(|(k, _)| !k.starts_with("parentId"))
        .filter(|(k, d)| got["result"]["fields"].get(k.as_str()) != Some(d))
        .map(|(k, d)| (k, d, &got["result"]["fields"][k.as_str()]))
        .collect();
    assert!(
        diff.is_empty(),
        "{} fields differ: {:#?}",
        diff.len(),
        diff.iter().take(5).collect::<Vec<_>>()
    );
    // A legacy type through `crm.item.fields`: camelCase keys with `upperName`, its `Y`/`N`
    // fields typed `boolean` (`crm/universal/object-fields.md`), and the fields only
    // `crm.item.*` carries.
    let deal = ok(format!("{base}crm.item.fields"), json!({"entityTypeId": 2})).await;
    let f = &deal["result"]["fields"];
    assert_eq!(
        (&f["isNew"]["type"], &f["isNew"]["upperName"]),
        (&json!("boolean"), &json!("IS_NEW")),
        "{deal}"
    );
    assert_eq!(f["observers"]["isMultiple"], json!(true), "{deal}");
    let lead = ok(format!("{base}crm.item.fields"), json!({"entityTypeId": 1})).await;
    assert!(
        lead["result"]["fields"].get("addressCity").is_none(),
        "{lead}"
    );
}
