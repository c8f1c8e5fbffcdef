//! REST 3.0 event log: `main.eventlog.*` (api-reference/event-log/), read from the side table
//! `main.eventlog` (id -> the entry as answered). The portal writes its log itself, so tests
//! load entries with `Control::seed_records("main.eventlog", ..)`. Only administrators read it;
//! the errors are the ones each method's page documents.

use crate::core::{as_i64, as_str};
use crate::v3_call::Call;
use crate::v3_common::{V3Error, bad_pagination, err};
use crate::v3_query::{self, id_param};
use serde_json::{Map, Value, json};

/// The side table of the entries.
pub(crate) const TABLE: &str = "main.eventlog";

/// Runs one `main.eventlog.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    if !c.is_admin() {
        return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
    }
    match c.method() {
        "get" => {
            let id = id_param(c.p)?;
            match v3_query::side_row(c.inner, TABLE, id) {
                Some(Value::Object(row)) => Ok(json!({ "item": c.select(&row)? })),
                _ => Err(err(
                    400,
                    "ENTITYNOTFOUNDEXCEPTION",
                    format!("Entry with ID = `{id}` not found"),
                )),
            }
        }
        "list" => {
            let (limit, offset) =
                v3_query::pagination(c.p, 1000, "Cannot recognize pagination parameter")?;
            let mut hits = c.filtered()?;
            c.sort(&mut hits, c.p.get("order"))?;
            c.items(hits.iter().skip(offset).take(limit))
        }
        "tail" => tail(c),
        _ => c.shared(),
    }
}

/// `main.eventlog.tail`: the entries after `cursor.value` by `cursor.field` (`id` unless
/// set), in `cursor.order`, at most `cursor.limit` (50 unless set). The cursor field may not
/// also be filtered on.
fn tail(c: &Call<'_>) -> Result<Value, V3Error> {
    let p = c.p;
    let empty = Map::new();
    let cursor = match p.get("cursor") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(c)) => c,
        Some(other) => return Err(bad_limit(other)),
    };
    let field = cursor
        .get("field")
        .and_then(as_str)
        .unwrap_or_else(|| "id".to_owned());
    if !c.family.sortable(&field) {
        return Err(err(
            400,
            "INVALIDORDEREXCEPTION",
            format!("Invalid sort order \"{field}\"."),
        ));
    }
    let desc = cursor
        .get("order")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
    let limit = match cursor.get("limit") {
        None => 50,
        Some(v) => match as_i64(v) {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(bad_limit(v)),
        },
    };
    if let Some(Value::Array(conds)) = p.get("filter")
        && conds
            .iter()
            .any(|c| c.get(0).and_then(Value::as_str) == Some(field.as_str()))
    {
        return Err(err(
            400,
            "INVALIDFILTEREXCEPTION",
            format!(
                "Unable to recognize filter expression `Cursor field {field} cannot be used at filter.`"
            ),
        ));
    }
    let value = cursor.get("value").cloned().unwrap_or(json!(0));
    let mut hits: Vec<Map<String, Value>> = c
        .filtered()?
        .into_iter()
        .filter(|r| {
            let o = v3_query::cmp_json(r.get(&field).unwrap_or(&Value::Null), &value);
            o == Some(if desc {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            })
        })
        .collect();
    let order = json!({ field.clone(): if desc { "DESC" } else { "ASC" } });
    c.sort(&mut hits, Some(&order))?;
    c.items(hits.iter().take(limit))
}

fn bad_limit(v: &Value) -> V3Error {
    bad_pagination(format!("Unable to recognize pagination parameter `{v}`"))
}
