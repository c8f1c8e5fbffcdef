//! `userfieldconfig.add|get|list|update|delete` (`crm/universal/userfieldconfig/*.md`): the
//! user fields of a module's objects, a smart process's among them (`entityId` `CRM_7`,
//! `fieldName` `UF_CRM_7_...`). Kept in the side table `userfieldconfig.field` with the module
//! they belong to; `crm.item.*` keeps a value of a smart-process item only for a field defined
//! here (`crud::user_fields`).
//!
//! The answers are the docs' rows: string ids and sorts, `Y`/`N` flags, labels as maps language
//! -> text (`null` where none is set), `enum` items for a list field. Errors have an empty code
//! and status 400, with the descriptions the pages list.

use super::side::{self, id_p, obj, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, param};
use crate::php;
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The side table of the fields.
pub(crate) const FIELDS: &str = "userfieldconfig.field";
/// The side table that numbers the `enum` items.
const ENUMS: &str = "userfieldconfig.enum";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("userfieldconfig");
    "userfieldconfig." {
        "add" => add,
        "get" => get,
        "list" => list,
        "update" => update,
        "delete" => delete,
    }
);

/// The modules with user field access settings (`userfieldconfig-add.md`: `crm`, `rpa`).
const MODULES: [&str; 2] = ["crm", "rpa"];

/// The portal's language: the labels of a new field are keyed by it.
const LANGUAGE: &str = "en";

/// The label maps of a field; `add` and `update` set the first two (`userfieldconfig-add.md`:
/// `listColumnLabel`, `listFilterLabel`, `errorMessage` are not processed).
const LABELS: [&str; 5] = [
    "editFormLabel",
    "helpMessage",
    "listColumnLabel",
    "listFilterLabel",
    "errorMessage",
];

fn fail(desc: impl Into<String>) -> ApiError {
    ApiError::new(400, "", desc)
}

/// The `moduleId` of the call, when the module has user field access settings.
fn module(p: &Map<String, Value>) -> Result<String, ApiError> {
    text(p, "moduleId")
        .filter(|m| MODULES.contains(&m.as_str()))
        .ok_or_else(|| fail("No settings for UserFieldAccess"))
}

/// A `Y`/`N` flag as given (`true`/`1` read as `Y`), else `default`.
fn flag(f: &Map<String, Value>, key: &str, default: &str) -> Value {
    let yes = match f.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(v) => as_str(v).is_some_and(|s| s == "Y" || s == "1"),
        None => return json!(default),
    };
    json!(if yes { "Y" } else { "N" })
}

/// Sets the label maps `keys` of `row` from `f`: a text for every language, or a map language
/// -> text; the languages of the row grow by those a map names.
fn set_labels(row: &mut Map<String, Value>, f: &Map<String, Value>, keys: &[&str]) {
    let mut langs: Vec<String> = row
        .get("languageId")
        .and_then(Value::as_object)
        .map_or_else(
            || vec![LANGUAGE.to_string()],
            |m| m.keys().cloned().collect(),
        );
    for k in keys {
        if let Some(Value::Object(m)) = f.get(*k) {
            langs.extend(
                m.keys()
                    .filter(|l| !langs.contains(l))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
    }
    row.insert(
        "languageId".into(),
        Value::Object(langs.iter().map(|l| (l.clone(), json!(l))).collect()),
    );
    for k in LABELS {
        let old = row
            .get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let given = f.get(k).filter(|_| keys.contains(&k));
        let map = langs
            .iter()
            .map(|l| {
                let v = match given {
                    Some(Value::Object(m)) => m.get(l).cloned(),
                    Some(Value::String(s)) => Some(json!(s)),
                    _ => None,
                };
                (
                    l.clone(),
                    v.or_else(|| old.get(l).cloned()).unwrap_or(Value::Null),
                )
            })
            .collect();
        row.insert(k.into(), Value::Object(map));
    }
}

/// The `enum` items of a list field, numbered in the `enum` table (`userfieldconfig-add.md`:
/// `{"id", "userFieldId", "value", "def", "sort", "xmlId"}`, all strings).
fn enum_items(data: &mut Data, field_id: i64, items: &Value) -> Value {
    let items = crate::core::list_items(items);
    let mut out = Vec::new();
    for (i, it) in items.into_iter().filter_map(Value::as_object).enumerate() {
        let sort = it
            .get("sort")
            .and_then(as_i64)
            .unwrap_or((i as i64 + 1) * 100);
        let xml = it
            .get("xmlId")
            .and_then(as_str)
            .unwrap_or_else(|| php::secret_hex(32));
        let item = |id: i64| {
            json!({"id": id.to_string(), "userFieldId": field_id.to_string(),
                "value": it.get("value").and_then(as_str).unwrap_or_default(),
                "def": flag(it, "def", "N"), "sort": sort.to_string(), "xmlId": xml})
        };
        let id = side::insert(data, ENUMS, item);
        out.extend(side::get(data, ENUMS, id).cloned());
    }
    Value::Array(out)
}

/// Applies the keys `update` takes (`userfieldconfig-update.md`) to a stored row.
fn apply(data: &mut Data, id: i64, row: &mut Map<String, Value>, f: &Map<String, Value>) {
    if let Some(x) = f.get("xmlId") {
        row.insert("xmlId".into(), x.clone());
    }
    if let Some(s) = f.get("sort").and_then(as_i64) {
        row.insert("sort".into(), json!(s.to_string()));
    }
    for k in ["mandatory", "showFilter", "isSearchable", "editInList"] {
        if f.contains_key(k) {
            row.insert(k.into(), flag(f, k, "N"));
        }
    }
    if let Some(Value::Object(s)) = f.get("settings") {
        row.insert("settings".into(), Value::Object(s.clone()));
    }
    set_labels(row, f, &["editFormLabel", "helpMessage"]);
    let list = row.get("userTypeId").and_then(Value::as_str) == Some("enumeration");
    if let (true, Some(items)) = (list, f.get("enum")) {
        row.insert("enum".into(), enum_items(data, id, items));
    }
}

/// `userfieldconfig.add`: `entityId`, `fieldName` (`UF_<entityId>_...`: `A-Z`, `0-9`, `_`, at
/// most 50 characters, unique in the object) and `userTypeId`; answers `{"field": row}`.
fn add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let module = module(p)?;
    let f = obj(p, "field");
    let name = text(&f, "fieldName").ok_or_else(|| fail("The 'FIELD_NAME' field is not found."))?;
    let ty =
        text(&f, "userTypeId").ok_or_else(|| fail("The 'USER_TYPE_ID' field is not found."))?;
    let entity = text(&f, "entityId").unwrap_or_default();
    let well_formed = name.len() <= 50
        && name.starts_with(&format!("UF_{entity}_"))
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if entity.is_empty() || !well_formed {
        return Err(fail("You cannot create custom fields"));
    }
    let mut data = inner.write_data();
    if side::rows(&data, FIELDS)
        .any(|r| r["entityId"] == entity.as_str() && r["fieldName"] == name.as_str())
    {
        return Err(fail(format!("Field {name} already exists")));
    }
    let id = side::insert(&mut data, FIELDS, |_| Value::Null);
    let mut row: Map<String, Value> = json!({
        "id": id.to_string(), "entityId": entity, "fieldName": name, "userTypeId": ty,
        "xmlId": null, "sort": "100", "multiple": flag(&f, "multiple", "N"),
        "mandatory": "N", "showFilter": "N", "showInList": "Y", "editInList": "Y",
        "isSearchable": "N", "settings": {},
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    apply(&mut data, id, &mut row, &f);
    if ty != "enumeration" {
        row.shift_remove("enum");
    } else if !row.contains_key("enum") {
        row.insert("enum".into(), json!([]));
    }
    let answer = json!({ "field": row });
    row.insert("moduleId".into(), json!(module));
    *side::get_mut(&mut data, FIELDS, id).expect("inserted") = Value::Object(row);
    Ok(Outcome::of(answer))
}

/// A stored field as answered (without the module it belongs to).
fn shown(row: &Value) -> Value {
    let mut r = row.as_object().cloned().unwrap_or_default();
    r.shift_remove("moduleId");
    Value::Object(r)
}

/// The stored field `id` of the call's module.
fn found<'a>(data: &'a Data, p: &Map<String, Value>, module: &str) -> Option<&'a Value> {
    let id = id_p(p, "id")?;
    side::get(data, FIELDS, id).filter(|r| r["moduleId"] == module)
}

/// `userfieldconfig.get`: `{"field": row}`.
fn get(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let module = module(p)?;
    let data = inner.read_data();
    let row = found(&data, p, &module)
        .ok_or_else(|| fail("You do not have permission to view user field settings"))?;
    Ok(Outcome::of(json!({ "field": shown(row) })))
}

/// `userfieldconfig.update`: the keys the page lists; answers `{"field": row}`.
fn update(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let module = module(p)?;
    let mut data = inner.write_data();
    let denied = || fail("You cannot change the settings of the user field");
    let mut row = found(&data, p, &module)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(denied)?;
    let id = id_p(p, "id").ok_or_else(denied)?;
    apply(&mut data, id, &mut row, &obj(p, "field"));
    let row = Value::Object(row);
    let answer = json!({ "field": shown(&row) });
    *side::get_mut(&mut data, FIELDS, id).ok_or_else(denied)? = row;
    Ok(Outcome::of(answer))
}

/// `userfieldconfig.delete`: `null` on success.
fn delete(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let module = module(p)?;
    let mut data = inner.write_data();
    if found(&data, p, &module).is_none() {
        return Err(fail("You cannot delete the user field"));
    }
    if let Some(id) = id_p(p, "id") {
        side::table(&mut data, FIELDS).remove(&id);
    }
    Ok(Outcome::of(Value::Null))
}

/// `userfieldconfig.list`: the module's fields matching `filter`, by `order` (`sort`, then
/// `id`, by default), 50 a page, as `{"fields": [...]}` with `total` and `next`. A `select`
/// with `language` keeps the labels of that language, a label map with no text is `null`
/// (`userfieldconfig-list.md`).
fn list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let module = module(p)?;
    let data = inner.read_data();
    let own = side::rows(&data, FIELDS).filter(|r| r["moduleId"] == module.as_str());
    let mut rows = super::common::matching(own, &obj(p, "filter"));
    let mut order = super::common::order_of(param(p, "order"), false);
    if order.is_empty() {
        order = vec![("sort".into(), false), ("id".into(), false)];
    }
    super::common::sort_by_order(&mut rows, &order);
    let language = param(p, "select")
        .and_then(|s| s.get("language"))
        .and_then(as_str);
    for r in &mut rows {
        r.shift_remove("moduleId");
        if let Some(l) = &language {
            for k in LABELS.iter().chain(&["languageId"]) {
                let kept: Map<String, Value> = r
                    .get(*k)
                    .and_then(Value::as_object)
                    .and_then(|m| m.get(l))
                    .map(|v| (l.clone(), v.clone()))
                    .into_iter()
                    .collect();
                let any = kept.values().any(|v| !v.is_null());
                r.insert(
                    (*k).into(),
                    if any {
                        Value::Object(kept)
                    } else {
                        Value::Null
                    },
                );
            }
        }
    }
    Ok(super::common::wrapped_page(rows, p, "fields"))
}

/// The field names defined for object `entity_id` of the `crm` module (`CRM_7`).
pub(crate) fn crm_fields(data: &Data, entity_id: &str) -> Vec<String> {
    side::rows(data, FIELDS)
        .filter(|r| r["moduleId"] == "crm" && r["entityId"] == entity_id)
        .filter_map(|r| r["fieldName"].as_str().map(str::to_string))
        .collect()
}
