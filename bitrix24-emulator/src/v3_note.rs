//! REST 3.0 Knowledge Base 2.0: `note.collection.*` (api-reference/note/collection/), kept in
//! the side table `note.collection` (id -> the knowledge base as answered). Validation errors
//! and their codes are the ones each method's page documents.

use crate::clock;
use crate::core::{Caller, as_i64};
use crate::state::Inner;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, bad_pagination, dto, err, fields, validation};
use crate::v3_query::{self, id_param};
use serde_json::{Map, Value, json};

const TABLE: &str = "note.collection";

/// Runs one `note.collection.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let (inner, p) = (c.inner, c.p);
    match c.method() {
        "add" => add(inner, c.caller, p),
        "get" => {
            let id = id_param(p)?;
            let row = v3_query::side_row(inner, TABLE, id);
            row.map(|item| json!({ "item": item })).ok_or_else(|| {
                err(
                    400,
                    "ENTITYNOTFOUNDEXCEPTION",
                    format!("Record with ID = `{id}` not found"),
                )
            })
        }
        "list" => list(inner, p),
        "update" => update(inner, c.caller, p),
        "archive" | "delete" => {
            let id = id_param(p)?;
            let removed = inner
                .write_data()
                .side
                .get_mut(TABLE)
                .and_then(|t| t.remove(&id));
            match removed {
                Some(_) => Ok(json!({ "result": true })),
                None => Err(err(
                    400,
                    "ENTITYNOTFOUNDEXCEPTION",
                    "Knowledge base not found",
                )),
            }
        }
        _ => c.shared(),
    }
}

/// `fields.name` when given: a string, not empty, at most 255 characters.
fn checked_name(f: &Map<String, Value>) -> Result<Option<String>, V3Error> {
    let wrong = "Field `name` requires data type `string` for such a request";
    bounded(f, "name", "Knowledge base name", wrong)
}

/// The string `fields.<key>` when given: not empty, at most 255 characters (`what` names it
/// in those errors), `wrong` when it is not a string.
pub(crate) fn bounded(
    f: &Map<String, Value>,
    key: &str,
    what: &str,
    wrong: &str,
) -> Result<Option<String>, V3Error> {
    match f.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(dto(key, &format!("{what} cannot be empty")))
        }
        Some(Value::String(s)) if s.chars().count() > 255 => {
            Err(dto(key, &format!("{what} must not exceed 255 characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(dto(key, wrong)),
    }
}

/// The time now as the note pages print it (UTC, `Z`).
pub(crate) fn now_text(inner: &Inner) -> String {
    let t = clock::iso(inner.now());
    t.strip_suffix("+00:00")
        .map_or(t.clone(), |s| format!("{s}Z"))
}

fn add(inner: &Inner, caller: &Caller, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let f = fields(p, "Mandatory field `fields` is not specified")?;
    let Some(name) = checked_name(f)? else {
        return Err(dto("name", "Mandatory field \"name\" is not filled"));
    };
    let position = match f.get("position") {
        None => 0,
        Some(v) => as_i64(v).filter(|_| v.is_number()).ok_or_else(|| {
            dto(
                "position",
                "Field `position` requires data type `int` for such a request",
            )
        })?,
    };
    let at = now_text(inner);
    let mut data = inner.write_data();
    let table = data.side.entry(TABLE.into()).or_default();
    let id = table.keys().next_back().map_or(1, |last| last + 1);
    let item = json!({
        "id": id, "name": name, "position": position, "policyLevel": "view",
        "createdBy": caller.user_id, "createdAt": at, "updatedBy": caller.user_id, "updatedAt": at,
    });
    table.insert(id, item.clone());
    Ok(json!({ "item": item }))
}

fn update(inner: &Inner, caller: &Caller, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = id_param(p)?;
    let name = checked_name(fields(p, "Mandatory field `fields` is not specified")?)?;
    let at = now_text(inner);
    let mut data = inner.write_data();
    let Some(Value::Object(row)) = data.side.get_mut(TABLE).and_then(|t| t.get_mut(&id)) else {
        return Err(err(
            400,
            "ENTITYNOTFOUNDEXCEPTION",
            "Knowledge base not found.",
        ));
    };
    if let Some(name) = name {
        row.insert("name".into(), json!(name));
    }
    row.insert("updatedBy".into(), json!(caller.user_id));
    row.insert("updatedAt".into(), json!(at));
    Ok(json!({ "item": row.clone() }))
}

/// Ordered by (position, id); `afterCursor` {position, id} starts after that pair, and
/// `nextCursor` is the last row's pair while rows remain (`null` at the end).
fn list(inner: &Inner, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let bad = |what: &str| bad_pagination(format!("Invalid pagination parameter \"{what}\"."));
    let pagination = match p.get("pagination") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad("pagination")),
    };
    let limit = match pagination.get("limit") {
        None => 50,
        Some(v) => match as_i64(v) {
            Some(n) if (1..=200).contains(&n) => n as usize,
            _ => return Err(bad("limit")),
        },
    };
    let after = match pagination.get("afterCursor") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => match (
            c.get("position").and_then(as_i64),
            c.get("id").and_then(as_i64),
        ) {
            (Some(pos), Some(id)) => Some((pos, id)),
            (None, _) => {
                return Err(validation(
                    "position",
                    "Required field `position` is not specified",
                ));
            }
            (_, None) => return Err(validation("id", "Required field `id` is not specified")),
        },
        Some(_) => return Err(bad("afterCursor")),
    };
    let key = |v: &Value| {
        (
            v["position"].as_i64().unwrap_or(0),
            v["id"].as_i64().unwrap_or(0),
        )
    };
    let mut rows: Vec<Value> = inner
        .read_data()
        .side
        .get(TABLE)
        .map(|t| t.values().cloned().collect())
        .unwrap_or_default();
    rows.sort_by_key(key);
    let rest: Vec<Value> = rows
        .into_iter()
        .filter(|r| after.is_none_or(|a| key(r) > a))
        .collect();
    let more = rest.len() > limit;
    let items: Vec<Value> = rest.into_iter().take(limit).collect();
    let next = match items.last() {
        Some(last) if more => json!({"position": key(last).0, "id": key(last).1}),
        _ => Value::Null,
    };
    Ok(json!({ "items": items, "nextCursor": next }))
}
