//! The answers of the specced v2 methods that no entity family and no hand-written handler
//! serves: the `example` result their docs page shows, else a typed placeholder.
//!
//! Such a method goes through the same scope check, operating-time metering and error envelope
//! as every other ([`crate::dispatch::call`]); a call without one of the method's required
//! parameters answers the documented `100` error ("Could not find value for parameter {id}").
//! A documented answer is the page's example `result` with what the request names filled in:
//! a key of the example equal to a request parameter (`ID` for `id`) takes the request's value
//! in the example's type, every date-time takes the portal's clock, and a bare id a write
//! returns is a fresh one.
//!
//! A method whose spec has no `example` answers a **typed placeholder** built from its
//! `response` alone: an empty list for lists, `true` for boolean results, the requested (or a
//! fresh) id for ids, an entity holding only its id for entities, a wrapper around those. It
//! has the documented shape and decodes, but carries no data the docs show.

use crate::clock;
use crate::core::{ApiError, MethodResult, Outcome, param};
use bitrix24_codegen::spec::{MethodSpec, Pagination, Response, Risk, Spec, Ty};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};

/// Where a documented answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentedAnswer {
    /// The example response of the method's docs page.
    Example,
    /// A placeholder built from the method's response type (its spec has no example).
    TypeOnly,
}

/// One answered method.
#[derive(Debug)]
struct Entry {
    scope: String,
    required: Vec<String>,
    /// The example's `result` and `total`, or `None` for a typed placeholder.
    example: Option<(Value, Option<i64>)>,
    response: Response,
    /// The id field of the entity the response holds (`ID`, `id`, `taskId`).
    id_key: String,
    paginated: bool,
    /// A write answering a bare id: it answers a fresh one.
    creates: bool,
}

/// The documented answers of the methods nobody else serves, by lower-case name.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: BTreeMap<String, Entry>,
    next_id: AtomicI64,
}

impl Table {
    /// Every v2 method of `specs` that `served` (the method table) does not name.
    pub(crate) fn new(specs: &[Spec], served: &BTreeMap<String, String>) -> Self {
        let ids: HashMap<String, String> = specs
            .iter()
            .flat_map(|s| &s.entities)
            .map(|(n, e)| (n.clone(), e.id.clone().unwrap_or_else(|| "ID".to_owned())))
            .collect();
        let mut entries = BTreeMap::new();
        for m in specs.iter().flat_map(|s| s.methods.values()) {
            let key = m.name.to_ascii_lowercase();
            if served.contains_key(&key) || entries.contains_key(&key) {
                continue;
            }
            entries.insert(key, entry(m, &ids));
        }
        Self {
            entries,
            next_id: AtomicI64::new(1000),
        }
    }

    /// The method -> scope pairs to add to the method table.
    pub(crate) fn scopes(&self) -> impl Iterator<Item = (&String, &String)> {
        self.entries.iter().map(|(n, e)| (n, &e.scope))
    }

    /// Whether `method` is answered here, and from what.
    pub(crate) fn kind(&self, method: &str) -> Option<DocumentedAnswer> {
        self.entries
            .get(&method.to_ascii_lowercase())
            .map(|e| match e.example {
                Some(_) => DocumentedAnswer::Example,
                None => DocumentedAnswer::TypeOnly,
            })
    }

    /// The answer of `method` to `params` at time `now`, or `None` when it is not answered here.
    pub(crate) fn answer(
        &self,
        method: &str,
        params: &Map<String, Value>,
        now: f64,
    ) -> Option<MethodResult> {
        let e = self.entries.get(method)?;
        if let Some(missing) = e.required.iter().find(|r| param(params, r).is_none()) {
            return Some(Err(ApiError::no_value(missing)));
        }
        let fresh = || self.next_id.fetch_add(1, Ordering::Relaxed);
        let (result, total) = match &e.example {
            Some((v, _)) if e.creates && is_id(v) => (same_kind(v, &json!(fresh())), None),
            Some((v, total)) => {
                let mut v = v.clone();
                echo(&mut v, params, 0);
                dates(&mut v, &clock::iso(now));
                (v, *total)
            }
            None => {
                let id = requested_id(params).unwrap_or_else(|| json!(fresh()));
                (placeholder(e, &id, now), None)
            }
        };
        let total = match &result {
            _ if !e.paginated => None,
            Value::Array(rows) => Some(total.unwrap_or(rows.len() as i64)),
            Value::Object(m) if m.len() == 1 => m
                .values()
                .next()
                .and_then(Value::as_array)
                .map(|rows| total.unwrap_or(rows.len() as i64)),
            _ => total,
        };
        Some(Ok(Outcome {
            result,
            total,
            next: None,
        }))
    }
}

fn entry(m: &MethodSpec, ids: &HashMap<String, String>) -> Entry {
    let example = m.example.as_deref().and_then(|t| {
        let body: Value = serde_json::from_str(t).ok()?;
        Some(example_result(body))
    });
    Entry {
        scope: m.scopes.first().cloned().unwrap_or_default(),
        required: m
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.clone())
            .collect(),
        example,
        response: m.response.clone(),
        id_key: response_entity(&m.response)
            .and_then(|n| ids.get(n))
            .cloned()
            .unwrap_or_else(|| "ID".to_owned()),
        paginated: m.pagination != Pagination::None,
        creates: m.risk == Risk::Write && matches!(m.response, Response::Plain(Ty::Id | Ty::Int)),
    }
}

/// The entity a response holds, if any.
fn response_entity(r: &Response) -> Option<&str> {
    match r {
        Response::Plain(t)
        | Response::List(t)
        | Response::Wrapped(_, t)
        | Response::WrappedList(_, t)
        | Response::Map(t) => match t {
            Ty::Entity(n) => Some(n),
            _ => None,
        },
    }
}

/// The `result` (and `total`) of a documented example: the whole body or the result alone.
fn example_result(body: Value) -> (Value, Option<i64>) {
    match body {
        Value::Object(mut m)
            if m.contains_key("result")
                && m.keys()
                    .all(|k| matches!(k.as_str(), "result" | "time" | "total" | "next")) =>
        {
            let total = m.get("total").and_then(Value::as_i64);
            (m.remove("result").unwrap_or(Value::Null), total)
        }
        other => (other, None),
    }
}

fn is_id(v: &Value) -> bool {
    v.is_i64() || v.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
}

/// `value` in the JSON kind of `like` (a string id stays a string).
fn same_kind(like: &Value, value: &Value) -> Value {
    match (like, value) {
        (Value::String(_), Value::Number(n)) => Value::String(n.to_string()),
        (Value::Number(_), Value::String(s)) => {
            s.parse::<i64>().map_or_else(|_| value.clone(), Value::from)
        }
        _ => value.clone(),
    }
}

/// The request's scalar parameter named like `key` (`ID` for `id`).
fn request_scalar<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    params
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(key) && (v.is_number() || v.is_string()))
        .map(|(_, v)| v)
}

/// Fills the example's keys the request names with the request's values, in the example
/// object and in the object of a one-key wrapper (`{"task": {...}}`).
fn echo(v: &mut Value, params: &Map<String, Value>, depth: usize) {
    let Value::Object(m) = v else { return };
    let one = m.len() == 1;
    for (k, x) in m.iter_mut() {
        match x {
            Value::String(_) | Value::Number(_) => {
                if let Some(sent) = request_scalar(params, k) {
                    *x = same_kind(x, sent);
                }
            }
            Value::Object(_) if one && depth == 0 => echo(x, params, 1),
            _ => {}
        }
    }
}

/// Replaces every ISO date-time (`2024-08-30T14:29:00+02:00`) with `now`.
fn dates(v: &mut Value, now: &str) {
    match v {
        Value::String(s) if is_datetime(s) => now.clone_into(s),
        Value::Array(a) => a.iter_mut().for_each(|x| dates(x, now)),
        Value::Object(m) => m.values_mut().for_each(|x| dates(x, now)),
        _ => {}
    }
}

fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 25
        && digits(0..4)
        && b[4] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && matches!(b[19], b'+' | b'-')
        && digits(11..13)
        && digits(20..22)
}

/// The id the request names (`id`, `ID`, or a parameter ending in `Id`), if any.
fn requested_id(params: &Map<String, Value>) -> Option<Value> {
    request_scalar(params, "id")
        .or_else(|| {
            params
                .iter()
                .find(|(k, v)| k.ends_with("Id") && is_id(v))
                .map(|(_, v)| v)
        })
        .cloned()
}

/// The typed placeholder of `e`'s response (see the module docs).
fn placeholder(e: &Entry, id: &Value, now: f64) -> Value {
    match &e.response {
        Response::Plain(t) => typed(e, t, id, now),
        Response::List(_) => json!([]),
        Response::Map(_) => json!({}),
        Response::Wrapped(k, t) => json!({ k.clone(): typed(e, t, id, now) }),
        Response::WrappedList(k, _) => json!({ k.clone(): [] }),
    }
}

fn typed(e: &Entry, t: &Ty, id: &Value, now: f64) -> Value {
    match t {
        Ty::Bool | Ty::Flag => json!(true),
        Ty::Id | Ty::Int => id.clone(),
        Ty::Float | Ty::Decimal => json!(0),
        Ty::String | Ty::Secret | Ty::Enum(_) => json!(""),
        Ty::Date | Ty::Datetime => json!(clock::iso(now)),
        Ty::List(_) => json!([]),
        Ty::Object | Ty::Value | Ty::Map(_) => json!({}),
        Ty::Entity(_) => json!({ e.id_key.clone(): id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_keys_the_request_names_take_its_values_and_dates_the_clock() {
        let mut v =
            json!({"task": {"id": "12", "title": "T", "createdDate": "2024-08-30T14:29:00+02:00"}});
        let p = json!({"taskId": 5, "id": 77}).as_object().unwrap().clone();
        echo(&mut v, &p, 0);
        dates(&mut v, "2026-01-01T00:00:00+00:00");
        assert_eq!(
            v,
            json!({"task": {"id": "77", "title": "T", "createdDate": "2026-01-01T00:00:00+00:00"}})
        );
        assert!(!is_datetime("2024-08-30"));
        assert_eq!(same_kind(&json!(1), &json!("9")), json!(9));
        assert_eq!(
            example_result(json!({"result": [1], "total": 1, "time": {}})),
            (json!([1]), Some(1))
        );
    }
}
