//! `crm.status.*`: the reference books a new portal starts with (`data/crm_status.toml`: the
//! deal stages, lead stages and sources of the docs) and what a value answers beyond its stored
//! fields. `crm.status.add` saves a value with `SYSTEM` `N` (`crm/status/index.md`: "a system
//! value cannot be created via REST"), and `NAME_INIT`, the default name of a system value, is
//! `""` for the others. A `crm.status.list` row of a stage book carries
//! `"EXTRA":{"SEMANTICS":"process","COLOR":"#39A8EF"}` (`crm-status-list.md`); `crm.status.get`
//! answers no `EXTRA` (`crm-status-get.md`).

use super::{Overlay, val};
use crate::entity::{Family, FieldSpec, FieldType, RowCtx, RowView, Store, View};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The overlay of `crm.status`.
pub(super) const STATUS: Overlay = Overlay {
    entity: "Status",
    prefix: "crm.status",
    entity_type_id: None,
    family: |_| {},
    fields: &[&[
        ("SYSTEM", |f| f.default(val("N")).read_only()),
        ("NAME_INIT", |f| f.empty(json!("")).read_only()),
    ]],
    // The stage group of a seeded value whose `SEMANTICS` does not name it (`apology`).
    extra: || vec![FieldSpec::new("EXTRA", FieldType::String).read_only()],
    row_view: Some(VIEW),
    initial: Some(seed),
};

/// The `EXTRA` object of a listed stage.
const VIEW: RowView = RowView {
    select: |_, _| None,
    row,
};

/// The books whose values are stages: leads (`STATUS`), quotes, deal pipelines and the
/// `..._STAGE_<n>` books of invoices, documents and smart processes (`crm/status/index.md`).
fn is_stage_book(entity_id: &str) -> bool {
    matches!(entity_id, "STATUS" | "QUOTE_STATUS") || entity_id.contains("STAGE")
}

/// Replaces the stored stage group by the `EXTRA` object on a list row of a stage book, and
/// leaves it out everywhere else.
fn row(m: &mut Map<String, Value>, cx: &RowCtx<'_>) {
    let Some(stored) = m.shift_remove("EXTRA") else {
        return;
    };
    let book = m.get("ENTITY_ID").and_then(Value::as_str).unwrap_or("");
    if !cx.list || !is_stage_book(book) {
        return;
    }
    let group =
        stored
            .as_str()
            .unwrap_or_else(|| match m.get("SEMANTICS").and_then(Value::as_str) {
                Some("S") => "success",
                Some("F") => "failure",
                _ => "process",
            });
    let extra =
        json!({"SEMANTICS": group, "COLOR": m.get("COLOR").cloned().unwrap_or(Value::Null)});
    m.insert("EXTRA".into(), extra);
}

/// One book of the data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Book {
    entity_id: String,
    rows: Vec<Map<String, Value>>,
}

/// The data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Books {
    book: Vec<Book>,
}

/// Fills the store of a new portal's `crm.status` with the default books.
fn seed(fam: &Family, store: &mut Store, now: f64) {
    let books: Books = toml::from_str(include_str!("../../data/crm_status.toml"))
        .expect("data/crm_status.toml is valid");
    let view = View::native(fam);
    for b in books.book {
        for mut r in b.rows {
            r.insert("ENTITY_ID".into(), json!(b.entity_id));
            if r.get("SYSTEM").and_then(Value::as_str) == Some("Y") {
                let name = r.get("NAME").cloned().unwrap_or(Value::Null);
                r.insert("NAME_INIT".into(), name);
            }
            let Ok(id) = store.add(fam, view, &r, 1, now, None) else {
                continue;
            };
            // The read-only fields a request cannot set.
            for (k, v) in &r {
                store.set(fam, id, k, v);
            }
        }
    }
}
