//! `department.get|add|update|delete|fields`.

use super::common::{page_of, sort_rows};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, param};
use crate::filter::JsonCond;
use crate::routes::{Route, Scope};
use crate::state::{Department, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const SCOPE: Scope = Scope::Fixed("department");

/// The department methods.
pub(crate) const ROUTES: &[Route] = &[
    Route::new("department.get", SCOPE, |i, _, _, p| department_get(i, p)),
    Route::new("department.add", SCOPE, department_write),
    Route::new("department.update", SCOPE, department_write),
    Route::new("department.delete", SCOPE, department_write),
    Route::new("department.fields", SCOPE, |_, _, _, _| {
        Ok(Outcome::of(json!({
            "ID": "ID",
            "NAME": "Department Name",
            "SORT": "Sort Order",
            "PARENT": "Parent Department",
            "UF_HEAD": "Manager",
        })))
    }),
];

fn department_json(d: &Department) -> Value {
    let mut m = Map::new();
    m.insert("ID".into(), json!(d.id.to_string()));
    m.insert("NAME".into(), json!(d.name));
    m.insert("SORT".into(), json!(d.sort));
    if let Some(p) = d.parent {
        m.insert("PARENT".into(), json!(p.to_string()));
    }
    if let Some(h) = d.head {
        m.insert("UF_HEAD".into(), json!(h.to_string()));
    }
    Value::Object(m)
}

/// `department.get`: filter by `ID`, `NAME`, `SORT`, `PARENT`, `UF_HEAD`; `sort` + `order`.
#[allow(clippy::unnecessary_wraps)]
fn department_get(inner: &Inner, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let conds: Vec<JsonCond> = p
        .iter()
        .filter(|(k, _)| {
            // Upper-case keys filter; lower-case `sort` / `order` sort.
            let bare = k.trim_start_matches(['=', '!', '%', '@', '<', '>']);
            matches!(bare, "ID" | "NAME" | "SORT" | "PARENT" | "UF_HEAD")
        })
        .map(|(k, v)| JsonCond::new(k, v))
        .collect();
    let mut rows: Vec<Value> = data
        .departments
        .values()
        .map(department_json)
        .filter(|row| {
            conds
                .iter()
                .all(|c| c.matches(row.get(&c.field).unwrap_or(&Value::Null)))
        })
        .collect();
    sort_rows(&mut rows, p, "ID", true);
    Ok(page_of(rows, p))
}

fn department_write(
    inner: &Arc<Inner>,
    c: &Caller,
    method: &str,
    p: &Map<String, Value>,
) -> MethodResult {
    if !c.admin {
        return Err(ApiError::new(400, "ERROR_CORE", "Access denied"));
    }
    let mut data = inner.write_data();
    let get_u = |k: &str| {
        param(p, k)
            .and_then(as_i64)
            .and_then(|n| u64::try_from(n).ok())
    };
    let not_found = || ApiError::new(400, "ERROR_CORE", "Department not found");
    match method {
        "department.add" => {
            let name = param(p, "NAME").and_then(as_str).unwrap_or_default();
            if name.trim().is_empty() {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "Department name not provided.<br>",
                ));
            }
            let parent = get_u("PARENT").filter(|id| data.departments.contains_key(id));
            let Some(parent) = parent else {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "There can only be one top-level department in the company structure",
                ));
            };
            let id = data.departments.keys().next_back().copied().unwrap_or(0) + 1;
            data.departments.insert(
                id,
                Department {
                    id,
                    name,
                    sort: param(p, "SORT").and_then(as_i64).unwrap_or(500),
                    parent: Some(parent),
                    head: get_u("UF_HEAD").filter(|h| *h > 0),
                },
            );
            Ok(Outcome::of(json!(id)))
        }
        "department.update" => {
            let id = get_u("ID").ok_or_else(not_found)?;
            let parent = get_u("PARENT");
            if parent.is_some_and(|p| p == id || !data.departments.contains_key(&p)) {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "There can only be one top-level department in the company structure",
                ));
            }
            let d = data.departments.get_mut(&id).ok_or_else(not_found)?;
            if let Some(n) = param(p, "NAME").and_then(as_str).filter(|n| !n.is_empty()) {
                d.name = n;
            }
            if let Some(sv) = param(p, "SORT").and_then(as_i64) {
                d.sort = sv;
            }
            if let Some(pa) = parent {
                d.parent = Some(pa);
            }
            if let Some(h) = param(p, "UF_HEAD") {
                d.head = as_i64(h)
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|h| *h > 0);
            }
            Ok(Outcome::of(json!(true)))
        }
        _ => {
            let id = get_u("ID").ok_or_else(not_found)?;
            data.departments.remove(&id).ok_or_else(not_found)?;
            Ok(Outcome::of(json!(true)))
        }
    }
}
