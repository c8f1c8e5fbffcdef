//! REST 3.0 call follow-ups: `call.followup.*` (api-reference/telephony/follow-up/), read from
//! the side table `call.followup` (call id -> the follow-up as answered), which tests load with
//! `Control::seed_records("call.followup", ..)` (the portal makes them after a call). The list
//! pages by `pagination.afterCursor` (`{startDate, id}` of the last row) until `hasMore` is
//! false. The errors are the documented ones; the pages show HTTP 400 for them.

use crate::core::{as_i64, as_str};
use crate::v3_call::Call;
use crate::v3_common::{V3Error, err, validation};
use crate::v3_query;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

/// The side table of the follow-ups.
pub(crate) const TABLE: &str = "call.followup";

/// What an empty `select` (or none, in a list) returns.
const BASIC: &[&str] = &[
    "callId",
    "callType",
    "initiatorId",
    "startDate",
    "endDate",
    "durationSeconds",
];

/// An error with the method's own code (no `BITRIX_REST_V3_EXCEPTION_` prefix).
fn own(code: &str, message: &str) -> V3Error {
    V3Error {
        status: 400,
        code: code.to_owned(),
        message: message.to_owned(),
        validation: None,
    }
}

/// Runs one `call.followup.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    if let Some(f) = c.p.get("mentionFormat")
        && !matches!(f.as_str(), Some("bb" | "html" | "none"))
    {
        return Err(validation(
            "mentionFormat",
            "The provided value is not from the list of allowed formats",
        ));
    }
    match c.method() {
        "get" => {
            let id = match c.p.get("callId") {
                Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
                _ => {
                    return Err(validation(
                        "callId",
                        "A required parameter was not provided or an incorrect type was provided",
                    ));
                }
            };
            let row = v3_query::side_row(c.inner, TABLE, id);
            let Some(Value::Object(row)) = row else {
                return Err(err(400, "ENTITYNOTFOUNDEXCEPTION", "Call not found"));
            };
            Ok(json!({ "item": pick(c, &row, c.p.get("select"), false)? }))
        }
        "list" => list(c),
        _ => c.shared(),
    }
}

/// The `select`ed root fields (always with `callId`); all of them for `get` without `select`,
/// the basic metadata for an empty one (and for a list without `select`).
fn pick(
    c: &Call<'_>,
    row: &Map<String, Value>,
    select: Option<&Value>,
    list: bool,
) -> Result<Value, V3Error> {
    let names: Vec<String> = match select {
        None | Some(Value::Null) if !list => c.family.fields.iter().map(|f| f.0.clone()).collect(),
        None | Some(Value::Null) => BASIC.iter().map(|f| (*f).to_owned()).collect(),
        Some(Value::Array(a)) if a.is_empty() => BASIC.iter().map(|f| (*f).to_owned()).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(as_str).collect(),
        Some(_) => return Err(own("invalid_select_field", "Invalid field in `select`")),
    };
    let mut out = Map::new();
    out.insert(
        "callId".into(),
        row.get("callId").cloned().unwrap_or(Value::Null),
    );
    for n in names {
        let root = n.split('.').next().unwrap_or_default();
        if !c.family.known(root) {
            return Err(own("invalid_select_field", "Invalid field in `select`"));
        }
        out.insert(
            root.to_owned(),
            row.get(root).cloned().unwrap_or(Value::Null),
        );
    }
    Ok(Value::Object(out))
}

/// The (startDate, callId) key a row is ordered and paged by.
fn key(row: &Map<String, Value>) -> (Value, Value) {
    (
        row.get("startDate").cloned().unwrap_or(Value::Null),
        row.get("callId").cloned().unwrap_or(Value::Null),
    )
}

fn cmp_key(a: &(Value, Value), b: &(Value, Value)) -> Ordering {
    v3_query::cmp_json(&a.0, &b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| v3_query::cmp_json(&a.1, &b.1).unwrap_or(Ordering::Equal))
}

/// `call.followup.list`: the calls started in `filter.startDate` (`from` and `to` required,
/// `from` <= `to`) with `filter.participantId` (a regular user only ever sees their own),
/// newest first unless `order.startDate` is `asc`, `pagination.limit` (1 to 200, default 50)
/// after `pagination.afterCursor`.
fn list(c: &Call<'_>) -> Result<Value, V3Error> {
    let p = c.p;
    let range_err = || {
        own(
            "invalid_date_range",
            "Incorrect date range: both from and to are required",
        )
    };
    let filter = p.get("filter").and_then(Value::as_object);
    let range = filter
        .and_then(|f| f.get("startDate"))
        .and_then(Value::as_object);
    let (Some(from), Some(to)) = (
        range.and_then(|r| r.get("from")).and_then(Value::as_str),
        range.and_then(|r| r.get("to")).and_then(Value::as_str),
    ) else {
        return Err(range_err());
    };
    if from > to {
        return Err(own("invalid_date_range", "Incorrect date range"));
    }
    let participant = match filter.and_then(|f| f.get("participantId")) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(_) => {
            return Err(validation(
                "filter.participantId",
                "An invalid participant identifier type was passed",
            ));
        }
    };
    let participant = if c.is_admin() {
        participant
    } else {
        i64::try_from(c.caller.user_id).ok()
    };
    let asc = match p.get("order") {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) if o.len() == 1 => match o.get("startDate").and_then(as_str) {
            Some(d) if d.eq_ignore_ascii_case("asc") => true,
            Some(d) if d.eq_ignore_ascii_case("desc") => false,
            _ => return Err(own("invalid_order", "Incorrect parameter `order`")),
        },
        Some(_) => return Err(own("invalid_order", "Incorrect parameter `order`")),
    };
    let bad_page = || own("invalid_pagination", "Incorrect parameter `pagination`");
    let pagination = match p.get("pagination") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(pg)) => pg.clone(),
        Some(_) => return Err(bad_page()),
    };
    let limit = match pagination.get("limit") {
        None => 50,
        Some(v) => match as_i64(v) {
            Some(n) if n > 0 => usize::try_from(n.min(200)).unwrap_or(200),
            _ => return Err(bad_page()),
        },
    };
    let after = match pagination.get("afterCursor") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) if c.contains_key("startDate") && c.contains_key("id") => Some((
            c.get("startDate").cloned().unwrap_or(Value::Null),
            c.get("id").cloned().unwrap_or(Value::Null),
        )),
        Some(_) => return Err(bad_page()),
    };
    let mut rows: Vec<Map<String, Value>> = c
        .inner
        .read_data()
        .side
        .get(TABLE)
        .map(|t| t.values().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default();
    rows.retain(|r| {
        let start = r.get("startDate").and_then(Value::as_str).unwrap_or("");
        let joined = participant.is_none_or(|id| {
            r.get("participants")
                .and_then(Value::as_array)
                .is_some_and(|ps| {
                    ps.iter()
                        .any(|x| x.get("userId").and_then(as_i64) == Some(id))
                })
        });
        start >= from && start <= to && joined
    });
    rows.sort_by(|a, b| {
        let o = cmp_key(&key(a), &key(b));
        if asc { o } else { o.reverse() }
    });
    if let Some(after) = &after {
        let beyond = if asc {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        rows.retain(|r| cmp_key(&key(r), after) == beyond);
    }
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let cursor = rows.last().map_or(
        Value::Null,
        |r| json!({"startDate": key(r).0, "id": key(r).1}),
    );
    let items = rows
        .iter()
        .map(|r| pick(c, r, p.get("select"), true))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "items": items, "hasMore": has_more, "afterCursor": cursor }))
}
