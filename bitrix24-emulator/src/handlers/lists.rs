//! Universal lists: `lists.add` (a list, an information block) and `lists.element.add` (an
//! element of one), kept in the side tables `lists.iblock` and `lists.element` by id, with the
//! documented errors of `lists/lists/lists-add.md` and `lists/elements/lists-element-add.md`.

use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const IBLOCKS: &str = "lists.iblock";
const ELEMENTS: &str = "lists.element";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("lists");
    "lists." { "add" => add_list }
    "lists.element." { "add" => add_element }
);

/// The information block types a list may have.
const TYPES: [&str; 3] = ["lists", "bitrix_processes", "lists_socnet"];

fn required(name: &str) -> ApiError {
    ApiError::new(
        400,
        "ERROR_REQUIRED_PARAMETERS_MISSING",
        format!("Required parameter \"{name}\" is missing"),
    )
}

/// A non-empty string parameter.
fn text(p: &Map<String, Value>, name: &str) -> Option<String> {
    param(p, name)
        .and_then(as_str)
        .filter(|s| !s.trim().is_empty())
}

fn iblock_type(p: &Map<String, Value>) -> Result<String, ApiError> {
    text(p, "IBLOCK_TYPE_ID")
        .filter(|t| TYPES.contains(&t.as_str()))
        .ok_or_else(|| required("IBLOCK_TYPE_ID"))
}

/// The next id of a side table.
fn next_id(t: &BTreeMap<i64, Value>) -> i64 {
    t.keys().next_back().map_or(1, |k| k + 1)
}

/// `lists.add`: `IBLOCK_TYPE_ID`, a unique `IBLOCK_CODE` and `FIELDS.NAME`; answers the id.
fn add_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let ty = iblock_type(p)?;
    let code = text(p, "IBLOCK_CODE").ok_or_else(|| required("IBLOCK_CODE"))?;
    let name = match param(p, "FIELDS") {
        Some(Value::Object(f)) => text(f, "NAME"),
        _ => None,
    }
    .ok_or_else(|| required("NAME"))?;
    let mut data = inner.write_data();
    let table = data.side.entry(IBLOCKS.to_string()).or_default();
    if table.values().any(|l| l["CODE"] == json!(code)) {
        return Err(ApiError::new(
            400,
            "ERROR_IBLOCK_ALREADY_EXISTS",
            "Iblock already exists",
        ));
    }
    let id = next_id(table);
    table.insert(
        id,
        json!({"ID": id, "IBLOCK_TYPE_ID": ty, "CODE": code, "NAME": name}),
    );
    Ok(Outcome::of(json!(id)))
}

/// The list a call names by `IBLOCK_ID` or `IBLOCK_CODE`, of its `IBLOCK_TYPE_ID`.
fn iblock_of(data: &Data, ty: &str, p: &Map<String, Value>) -> Result<i64, ApiError> {
    let by_id = param(p, "IBLOCK_ID").and_then(as_i64);
    let by_code = text(p, "IBLOCK_CODE");
    if by_id.is_none() && by_code.is_none() {
        return Err(required("IBLOCK_ID"));
    }
    data.side
        .get(IBLOCKS)
        .into_iter()
        .flatten()
        .find(|(id, l)| {
            l["IBLOCK_TYPE_ID"] == json!(ty)
                && (by_id == Some(**id) || by_code.as_ref().is_some_and(|c| l["CODE"] == json!(c)))
        })
        .map(|(id, _)| *id)
        .ok_or_else(|| ApiError::new(400, "ERROR_IBLOCK_NOT_FOUND", "Iblock not found"))
}

/// `lists.element.add`: an element with a code unique in its list and `FIELDS.NAME`
/// (`PROPERTY_<id>` values kept as given); answers the element's id.
fn add_element(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let ty = iblock_type(p)?;
    let code = text(p, "ELEMENT_CODE").ok_or_else(|| required("ELEMENT_CODE"))?;
    let Some(Value::Object(fields)) = param(p, "FIELDS") else {
        return Err(required("FIELDS"));
    };
    let name = text(fields, "NAME").ok_or_else(|| required("NAME"))?;
    let mut data = inner.write_data();
    let iblock = iblock_of(&data, &ty, p)?;
    let table = data.side.entry(ELEMENTS.to_string()).or_default();
    if (table.values()).any(|e| e["IBLOCK_ID"] == json!(iblock) && e["CODE"] == json!(code)) {
        return Err(ApiError::new(
            400,
            "ERROR_ELEMENT_ALREADY_EXISTS",
            "Element already exists",
        ));
    }
    let id = next_id(table);
    let section = param(p, "IBLOCK_SECTION_ID").and_then(as_i64).unwrap_or(0);
    let mut row = fields.clone();
    for (k, v) in [
        ("ID", json!(id)),
        ("IBLOCK_ID", json!(iblock)),
        ("IBLOCK_SECTION_ID", json!(section)),
        ("CODE", json!(code)),
        ("NAME", json!(name)),
        ("CREATED_BY", json!(c.user_id)),
    ] {
        row.insert(k.into(), v);
    }
    table.insert(id, Value::Object(row));
    Ok(Outcome::of(json!(id)))
}
