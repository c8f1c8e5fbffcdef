//! Online booking (`booking.v1.resourceType.add`, `booking.v1.resource.add|list`,
//! `booking.v1.booking.add|update|get`, `booking/**`): resource types, resources and bookings
//! in the side tables `booking.resourcetype`, `booking.resource` and `booking.booking`, with
//! the documented camelCase rows, `{"id": n}` answers and numeric error codes. A booking's
//! resources must exist and its `datePeriod` must end after it starts.

use super::common::{order_of, sort_by_order};
use super::side::{self, id_p, obj, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, list_items, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const TYPES: &str = "booking.resourcetype";
const RESOURCES: &str = "booking.resource";
const BOOKINGS: &str = "booking.booking";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("booking");
    "booking.v1.resourcetype." { "add" => type_add }
    "booking.v1.resource." { "add" => resource_add, "list" => resource_list }
    "booking.v1.booking." { "add" => booking_add, "update" => booking_update, "get" => booking_get }
);

fn required(f: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    text(f, name).ok_or_else(|| ApiError::bad("0", format!("Required fields: {name}")))
}

/// `booking.v1.resourceType.add`: `name` and a unique `code`; `{"id": n}`.
fn type_add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = side::given(p, "fields", ApiError::no_value)?;
    let name = required(&f, "name")?;
    let code = required(&f, "code")?;
    let mut data = inner.write_data();
    if side::rows(&data, TYPES).any(|t| t["code"] == json!(code)) {
        return Err(ApiError::bad(
            "1010",
            "Resource type with code already exists'",
        ));
    }
    let id = side::insert(
        &mut data,
        TYPES,
        |id| json!({"id": id, "name": name, "code": code}),
    );
    Ok(Outcome::of(json!({ "id": id })))
}

/// `booking.v1.resource.add`: `name` and an existing `typeId`; `{"id": n}`.
fn resource_add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = side::given(p, "fields", ApiError::no_value)?;
    let name = required(&f, "name")?;
    let ty = id_p(&f, "typeId").ok_or_else(|| ApiError::bad("1006", "ResourceType not found"))?;
    let mut data = inner.write_data();
    if side::get(&data, TYPES, ty).is_none() {
        return Err(ApiError::bad(
            "1013",
            "Resource type with id does not exist",
        ));
    }
    let flag = |k: &str, d: &str| text(&f, k).unwrap_or_else(|| d.into());
    let id = side::insert(&mut data, RESOURCES, |id| {
        json!({
            "id": id, "typeId": ty, "name": name, "description": text(&f, "description"),
            "isMain": flag("isMain", "Y"),
            "isInfoNotificationOn": flag("isInfoNotificationOn", "Y"),
            "isConfirmationNotificationOn": flag("isConfirmationNotificationOn", "Y"),
            "isReminderNotificationOn": flag("isReminderNotificationOn", "Y"),
            "isFeedbackNotificationOn": flag("isFeedbackNotificationOn", "N"),
            "isDelayedNotificationOn": flag("isDelayedNotificationOn", "Y"),
        })
    });
    Ok(Outcome::of(json!({ "id": id })))
}

/// `booking.v1.resource.list`: `filter` by `typeId`, `isMain`, `name`, `searchQuery`; `order`
/// by `id`/`name`; `{"resource": [...]}`.
fn resource_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    for name in ["filter", "order"] {
        if param(p, name).is_some_and(|v| !v.is_object()) {
            return Err(ApiError::bad(
                "100",
                format!(
                    "Invalid value to match with parameter {{{name}}}. Should be value of type array"
                ),
            ));
        }
    }
    let filter = obj(p, "filter");
    let wanted = |row: &Value| {
        filter.iter().all(|(k, v)| match k.as_str() {
            "searchQuery" => {
                let q = v.as_str().unwrap_or_default().to_lowercase();
                row["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains(&q)
            }
            "typeId" => list_items(v)
                .iter()
                .filter_map(|x| as_i64(x))
                .any(|t| row["typeId"] == json!(t)),
            _ => &row[k] == v,
        })
    };
    let data = inner.read_data();
    let mut rows: Vec<Map<String, Value>> = side::rows(&data, RESOURCES)
        .filter(|r| wanted(r))
        .filter_map(|r| r.as_object().cloned())
        .collect();
    sort_by_order(&mut rows, &order_of(param(p, "order"), false));
    let rows: Vec<Value> = rows.into_iter().map(Value::Object).collect();
    Ok(Outcome::of(json!({ "resource": rows })))
}

/// The resources and period of a booking's fields, checked (`needed`: both must be there).
fn period_and_resources(
    data: &crate::state::Data,
    f: &Map<String, Value>,
    needed: bool,
) -> Result<(Option<Vec<i64>>, Option<Value>), ApiError> {
    let resources = param(f, "resourceIds").map(|v| {
        list_items(v)
            .into_iter()
            .filter_map(as_i64)
            .collect::<Vec<_>>()
    });
    if needed && resources.is_none() {
        return Err(ApiError::bad("0", "Required fields: resourceIds"));
    }
    if let Some(r) = &resources
        && (r.is_empty() || r.iter().any(|id| side::get(data, RESOURCES, *id).is_none()))
    {
        return Err(ApiError::bad("1018", "Empty resource collection"));
    }
    let period = param(f, "datePeriod").cloned();
    if needed && period.is_none() {
        return Err(ApiError::bad("0", "Required fields: datePeriod"));
    }
    if let Some(dp) = &period {
        let ts = |k: &str| dp[k]["timestamp"].as_i64();
        match (ts("from"), ts("to")) {
            (Some(a), Some(b)) if a < b => {}
            _ => return Err(ApiError::bad("422", "Invalid date period")),
        }
    }
    Ok((resources, period))
}

/// `booking.v1.booking.add`: `resourceIds` and `datePeriod` required; `{"id": n}`.
fn booking_add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = side::given(p, "fields", ApiError::no_value)?;
    let mut data = inner.write_data();
    let (resources, period) = period_and_resources(&data, &f, true)?;
    let id = side::insert(&mut data, BOOKINGS, |id| {
        json!({
            "datePeriod": period, "description": text(&f, "description"), "id": id,
            "name": text(&f, "name"), "resourceIds": resources,
        })
    });
    Ok(Outcome::of(json!({ "id": id })))
}

/// `booking.v1.booking.update`: the given fields of booking `id`; `true`.
fn booking_update(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = id_p(p, "id").ok_or_else(|| ApiError::no_value("id"))?;
    let f = side::given(p, "fields", ApiError::no_value)?;
    let mut data = inner.write_data();
    let (resources, period) = period_and_resources(&data, &f, false)?;
    let row = side::get_mut(&mut data, BOOKINGS, id)
        .ok_or_else(|| ApiError::bad("1019", "Booking not found"))?;
    if let Some(r) = resources {
        row["resourceIds"] = json!(r);
    }
    if let Some(dp) = period {
        row["datePeriod"] = dp;
    }
    for k in ["name", "description"] {
        if let Some(v) = text(&f, k) {
            row[k] = json!(v);
        }
    }
    Ok(Outcome::of(json!(true)))
}

/// `booking.v1.booking.get`: `{"booking": {...}}`.
fn booking_get(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = id_p(p, "id").ok_or_else(|| ApiError::no_value("id"))?;
    let data = inner.read_data();
    let row =
        side::get(&data, BOOKINGS, id).ok_or_else(|| ApiError::bad("1021", "Booking not found"))?;
    Ok(Outcome::of(json!({ "booking": row })))
}
