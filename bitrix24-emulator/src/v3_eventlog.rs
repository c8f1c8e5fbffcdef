//! REST 3.0 event log: `main.eventlog.*` (api-reference/event-log/), read from the side table
//! `main.eventlog` (id -> the entry as answered). The portal writes its log itself, so tests
//! load entries with `Control::seed_records("main.eventlog", ..)`. Only administrators read it;
//! the errors are the ones each method's page documents.

use crate::core::{Caller, as_i64, as_str};
use crate::state::Inner;
use crate::v3_common::{FIELD_GET, FIELD_LIST, GET, LIST, Served, V3Error, err};
use crate::v3_query::{self, FieldTable, Fields, id_param};
use serde_json::{Map, Value, json};

/// The side table of the entries.
pub(crate) const TABLE: &str = "main.eventlog";

/// The methods served here, with the params each takes (name, OpenAPI type, required).
pub(crate) const SERVED: &[Served] = &[
    Served::new("main.eventlog.get", "main", GET),
    Served::new("main.eventlog.list", "main", LIST),
    Served::new(
        "main.eventlog.tail",
        "main",
        &[
            ("select", "array", false),
            ("filter", "array", false),
            ("cursor", "object", false),
        ],
    ),
    Served::new("main.eventlog.field.list", "main", FIELD_LIST),
    Served::new("main.eventlog.field.get", "main", FIELD_GET),
];

/// The fields of an entry as `main.eventlog.field.list` documents them (name, type,
/// filterable, sortable).
const FIELDS: Fields = &FieldTable(&[
    ("id", "int", true, true),
    ("timestampX", "object", true, true),
    ("severity", "string", false, false),
    ("auditTypeId", "string", true, true),
    ("moduleId", "string", false, false),
    ("itemId", "string", false, false),
    ("remoteAddr", "string", false, false),
    ("userAgent", "string", false, false),
    ("requestUri", "string", false, false),
    ("siteId", "string", false, false),
    ("userId", "int", true, true),
    ("guestId", "int", true, true),
    ("description", "string", false, false),
]);

const ENTITY: &str = "EventLogDto";

/// Runs one `main.eventlog.*` method.
pub(crate) fn run(
    inner: &Inner,
    caller: &Caller,
    name: &str,
    p: &Map<String, Value>,
) -> Result<Value, V3Error> {
    let admin = v3_query::is_admin(inner, caller);
    if !admin {
        return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
    }
    match name {
        "main.eventlog.get" => {
            let id = id_param(p)?;
            let row = v3_query::side_row(inner, TABLE, id);
            match row {
                Some(Value::Object(row)) => {
                    let item =
                        v3_query::select(&row, p.get("select"), &|f| FIELDS.known(f), ENTITY)?;
                    Ok(json!({ "item": item }))
                }
                _ => Err(err(
                    400,
                    "ENTITYNOTFOUNDEXCEPTION",
                    format!("Entry with ID = `{id}` not found"),
                )),
            }
        }
        "main.eventlog.list" => {
            let (limit, offset) =
                v3_query::pagination(p, 1000, "Cannot recognize pagination parameter")?;
            let mut hits = filtered(inner, p)?;
            v3_query::sort(&mut hits, p.get("order"), &|f| FIELDS.sortable(f))?;
            items(hits.iter().skip(offset).take(limit), p)
        }
        "main.eventlog.tail" => tail(inner, p),
        "main.eventlog.field.list" => Ok(v3_query::field_list(FIELDS)),
        "main.eventlog.field.get" => v3_query::field_get(FIELDS, p),
        _ => Err(err(
            404,
            "METHODNOTFOUNDEXCEPTION",
            format!("Method \"{name}\" was not found."),
        )),
    }
}

/// The entries that pass `filter`, by id.
fn filtered(inner: &Inner, p: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, V3Error> {
    v3_query::filtered(inner, TABLE, p, &|f| FIELDS.filterable(f), ENTITY)
}

fn items<'a>(
    rows: impl Iterator<Item = &'a Map<String, Value>>,
    p: &Map<String, Value>,
) -> Result<Value, V3Error> {
    v3_query::items(rows, p, &|f| FIELDS.known(f), ENTITY)
}

/// `main.eventlog.tail`: the entries after `cursor.value` by `cursor.field` (`id` unless
/// set), in `cursor.order`, at most `cursor.limit` (50 unless set). The cursor field may not
/// also be filtered on.
fn tail(inner: &Inner, p: &Map<String, Value>) -> Result<Value, V3Error> {
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
    if !FIELDS.sortable(&field) {
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
    let mut hits: Vec<Map<String, Value>> = filtered(inner, p)?
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
    v3_query::sort(&mut hits, Some(&order), &|f| FIELDS.sortable(f))?;
    items(hits.iter().take(limit), p)
}

fn bad_limit(v: &Value) -> V3Error {
    err(
        400,
        "INVALIDPAGINATIONEXCEPTION",
        format!("Unable to recognize pagination parameter `{v}`"),
    )
}
