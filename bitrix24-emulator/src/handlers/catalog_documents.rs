//! `catalog.document.add` and `catalog.document.element.add|list`: inventory documents and
//! their product positions (`catalog/document/*.md`), kept in the side tables
//! `catalog.document` and `catalog.document.element` by id, camelCase keys with native numbers.

use super::common::{matching, num, order_of, select_names, sort_by_order, wrapped_page};
use crate::clock::iso;
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_f64, as_i64, as_str, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const DOCUMENTS: &str = "catalog.document";
const ELEMENTS: &str = "catalog.document.element";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("catalog");
    "catalog.document." { "add" => add_document }
    "catalog.document.element." { "add" => add_element, "list" => list_elements }
);

/// The document types of `catalog.document.add` (receipt, write-off, transfer, return,
/// disposal).
const DOC_TYPES: &[&str] = &["A", "S", "M", "R", "D"];

/// Code `0`: "Other internal errors when adding the document" (`catalog-document-add.md`).
fn rejected(what: &str) -> ApiError {
    ApiError::new(400, "0", what)
}

fn fields_of(p: &Map<String, Value>) -> Result<&Map<String, Value>, ApiError> {
    match param(p, "fields") {
        Some(Value::Object(f)) => Ok(f),
        _ => Err(ApiError::no_value("fields")),
    }
}

/// The next id of a side table.
fn next_id(table: &std::collections::BTreeMap<i64, Value>) -> i64 {
    table.keys().next_back().map_or(1, |k| k + 1)
}

/// `catalog.document.add`: a draft (`status: "N"`) in `{"document": {...}}`; `docType`,
/// `currency` and `responsibleId` are required, a `docType` outside `A S M R D` answers the
/// documented `DOC_TYPE isn't available`.
fn add_document(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = fields_of(p)?;
    let text = |k: &str| param(f, k).and_then(as_str);
    let doc_type = text("docType").unwrap_or_default();
    if !DOC_TYPES.contains(&doc_type.as_str()) {
        return Err(rejected("DOC_TYPE isn't available"));
    }
    let currency = text("currency").ok_or_else(|| rejected("Required field: currency"))?;
    let responsible = param(f, "responsibleId")
        .and_then(as_i64)
        .ok_or_else(|| rejected("Required field: responsibleId"))?;
    let now = iso(inner.now());
    let user = json!(c.user_id);
    let created_by = param(f, "createdBy")
        .and_then(as_i64)
        .map_or(user.clone(), |u| json!(u));
    let mut data = inner.write_data();
    let table = data.side.entry(DOCUMENTS.to_string()).or_default();
    let id = next_id(table);
    let row = json!({
        "commentary": text("commentary"),
        "createdBy": created_by,
        "currency": currency,
        "dateCreate": now,
        "dateDocument": text("dateDocument"),
        "dateModify": now,
        "dateStatus": now,
        // "If not provided, it is generated automatically": the portal's format is not
        // documented, the emulator numbers documents by id.
        "docNumber": text("docNumber").unwrap_or_else(|| id.to_string()),
        "docType": doc_type,
        "id": id,
        "modifiedBy": user,
        "responsibleId": responsible,
        "siteId": text("siteId").unwrap_or_else(|| "s1".into()),
        "status": "N",
        "statusBy": null,
        "title": text("title"),
        "total": param(f, "total").and_then(as_f64).map(num),
    });
    table.insert(id, row.clone());
    Ok(Outcome::of(json!({ "document": row })))
}

/// `catalog.document.element.add`: a product position of a draft document in
/// `{"documentElement": {...}}`; a missing or conducted document answers the documented
/// `ERROR_DOCUMENT_STATUS`.
fn add_element(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = fields_of(p)?;
    let int = |k: &str| param(f, k).and_then(as_i64);
    let doc_id = int("docId").ok_or_else(|| ApiError::no_value("docId"))?;
    let element_id = int("elementId").ok_or_else(|| ApiError::no_value("elementId"))?;
    let mut data = inner.write_data();
    let status = data
        .side
        .get(DOCUMENTS)
        .and_then(|t| t.get(&doc_id))
        .map(|d| d["status"].clone());
    match status.as_ref().and_then(Value::as_str) {
        Some("N") => {}
        Some(_) => {
            return Err(ApiError::new(
                400,
                "ERROR_DOCUMENT_STATUS",
                "Conducted document",
            ));
        }
        None => {
            return Err(ApiError::new(
                400,
                "ERROR_DOCUMENT_STATUS",
                "Document not found",
            ));
        }
    }
    let table = data.side.entry(ELEMENTS.to_string()).or_default();
    let id = next_id(table);
    let number = |k: &str| param(f, k).and_then(as_f64).map(num);
    let row = json!({
        "amount": number("amount"),
        "docId": doc_id,
        "elementId": element_id,
        "id": id,
        "purchasingPrice": number("purchasingPrice"),
        "storeFrom": int("storeFrom"),
        "storeTo": int("storeTo"),
    });
    table.insert(id, row.clone());
    Ok(Outcome::of(json!({ "documentElement": row })))
}

/// `catalog.document.element.list`: `select`, `filter` (with the `>=`, `@`, `!` ... prefixes),
/// `order` (by id otherwise) and pages of 50, in `{"documentElements": [...]}` with `total`.
// A route handler: the signature is the route table's.
#[allow(clippy::unnecessary_wraps)]
fn list_elements(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let empty = Map::new();
    let filter = match param(p, "filter") {
        Some(Value::Object(f)) => f,
        _ => &empty,
    };
    let data = inner.read_data();
    let mut rows = matching(
        data.side.get(ELEMENTS).into_iter().flat_map(|t| t.values()),
        filter,
    );
    let mut order = order_of(param(p, "order"), false);
    order.push(("id".into(), false));
    sort_by_order(&mut rows, &order);
    // `select` names camelCase keys; `select_names` gives them in upper case.
    let select = select_names(param(p, "select"));
    if !select.is_empty() && !select.iter().any(|s| s == "*") {
        for r in &mut rows {
            r.retain(|k, _| select.contains(&k.to_ascii_uppercase()));
        }
    }
    Ok(wrapped_page(rows, p, "documentElements"))
}
