//! Helpers every hand-written handler uses: family and store lookup, one rendered row, a
//! filtered page of a store, plain-row sorting and paging.

use crate::core::{ApiError, Outcome, as_i64, as_str, param};
use crate::entity::value::fmt_float;
use crate::entity::{Family, ListQuery, Page, Store, View};
use crate::filter::{self, Collation, JsonCond};
use crate::state::{Data, Inner};
use serde_json::{Map, Value};
use std::sync::{PoisonError, RwLockWriteGuard};

pub(crate) fn fam<'a>(inner: &'a Inner, key: &str) -> Result<&'a Family, ApiError> {
    inner.family(key).ok_or_else(ApiError::method_not_found)
}

pub(crate) fn write(inner: &Inner) -> RwLockWriteGuard<'_, Data> {
    inner.data.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn store<'a>(data: &'a mut Data, key: &str) -> &'a mut Store {
    data.stores.entry(key.to_string()).or_default()
}

pub(crate) fn row(data: &Data, fam: &Family, id: i64) -> Option<Value> {
    data.stores
        .get(&fam.spec.prefix)
        .and_then(|s| s.render_full(fam, View::native(fam), id))
}

pub(crate) fn int_of(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(as_i64)
}

/// Lists `fam` rows with the caller's `filter`/`order` plus fixed conditions.
pub(crate) fn query(
    data: &Data,
    fam: &Family,
    p: &Map<String, Value>,
    fixed: &[(&str, Value)],
    start: i64,
    page: usize,
) -> Result<Page, ApiError> {
    let mut filter = match param(p, "filter") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in fixed {
        filter.insert((*k).to_string(), v.clone());
    }
    let mut q = Map::new();
    q.insert("filter".into(), Value::Object(filter));
    if let Some(o) = param(p, "order") {
        q.insert("order".into(), o.clone());
    }
    let view = View::native(fam);
    let lq = ListQuery::parse(fam, view, &q, true)?;
    Ok(match data.stores.get(&fam.spec.prefix) {
        Some(s) => s.list(fam, view, &lq, start, page),
        None => Page {
            rows: Vec::new(),
            total: Some(0),
            next: None,
        },
    })
}

pub(crate) fn start_of(p: &Map<String, Value>) -> i64 {
    p.get("start").and_then(as_i64).unwrap_or(0)
}

pub(crate) fn str_p(p: &Map<String, Value>, k: &str) -> String {
    param(p, k).and_then(as_str).unwrap_or_default()
}

pub(crate) fn now_i(inner: &Inner) -> i64 {
    inner.now() as i64
}

/// Sorts plain rows by the `sort` field and the `order` direction (legacy `user.get` style).
pub(crate) fn sort_rows(rows: &mut [Value], p: &Map<String, Value>, default: &str, exact: bool) {
    let get = |k: &str| if exact { p.get(k) } else { param(p, k) };
    let field = get("sort")
        .and_then(as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
        .to_ascii_uppercase();
    let desc = get("order")
        .and_then(as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("desc"));
    rows.sort_by(|a, b| {
        let (x, y) = (
            a.get(&field).unwrap_or(&Value::Null),
            b.get(&field).unwrap_or(&Value::Null),
        );
        let o = filter::compare(x, y, Collation::Loose).unwrap_or(std::cmp::Ordering::Equal);
        if desc { o.reverse() } else { o }
    });
}

/// A page of 50 from `start` (rounded down to a page) with `total`/`next` when `count`.
pub(crate) fn page(rows: Vec<Value>, start: i64, count: bool) -> Outcome {
    let start = start.max(0) as usize / 50 * 50;
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start).take(50).collect();
    let next = (count && start + page.len() < total).then_some((start + 50) as i64);
    Outcome {
        result: Value::Array(page),
        total: count.then_some(total as i64),
        next,
    }
}

/// A page of 50 at the `start` parameter (`start=-1`: no count).
pub(crate) fn page_of(rows: Vec<Value>, p: &Map<String, Value>) -> Outcome {
    let start = start_of(p);
    page(rows, start, start != -1)
}

/// The field names of a `select` value, upper case (`[]` without one).
pub(crate) fn select_names(v: Option<&Value>) -> Vec<String> {
    v.map(crate::core::list_items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(as_str)
        .map(|s| s.to_ascii_uppercase())
        .collect()
}

/// Keeps only the `select`ed keys of plain rows (all of them for no select or `*`).
pub(crate) fn keep_selected(rows: &mut [Map<String, Value>], select: &[String]) {
    if !select.is_empty() && !select.iter().any(|s| s == "*") {
        for r in rows {
            r.retain(|k, _| select.contains(k));
        }
    }
}

/// The `order` object of a plain-row list as `(field, descending)` pairs, field names upper
/// case when `upper`.
pub(crate) fn order_of(v: Option<&Value>, upper: bool) -> Vec<(String, bool)> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, d)| {
            let desc = as_str(d).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            let k = if upper {
                k.to_ascii_uppercase()
            } else {
                k.clone()
            };
            (k, desc)
        })
        .collect()
}

/// Sorts plain rows by `order` (stable: ties keep their order).
pub(crate) fn sort_by_order(rows: &mut [Map<String, Value>], order: &[(String, bool)]) {
    rows.sort_by(|a, b| {
        for (k, desc) in order {
            let (x, y) = (
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
            );
            let o = filter::compare(x, y, Collation::Loose).unwrap_or(std::cmp::Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

/// A page of 50 plain rows from the `start` parameter with `total` and `next`, the rows
/// wrapped in `{"<key>": [...]}` (`productRows`, `items`).
pub(crate) fn wrapped_page(
    rows: Vec<Map<String, Value>>,
    p: &Map<String, Value>,
    key: &str,
) -> Outcome {
    let rows = rows.into_iter().map(Value::Object).collect();
    let mut out = page(rows, start_of(p), true);
    out.result = serde_json::json!({ key: out.result });
    out
}

/// The rows that satisfy every condition of `filter` (`[op]field => value`; fields matched
/// whatever their case, as a condition names them in upper case).
pub(crate) fn matching<'a>(
    rows: impl Iterator<Item = &'a Value>,
    filter: &Map<String, Value>,
) -> Vec<Map<String, Value>> {
    let conds: Vec<JsonCond> = filter.iter().map(|(k, v)| JsonCond::new(k, v)).collect();
    let upper = |r: &Map<String, Value>| -> Map<String, Value> {
        r.iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
            .collect()
    };
    rows.filter_map(Value::as_object)
        .filter(|r| {
            let u = upper(r);
            conds
                .iter()
                .all(|c| u.get(&c.field).is_some_and(|h| c.matches(h)))
        })
        .cloned()
        .collect()
}

/// A number as the portal prints it: an integer when whole (`"quantity":3`), else a float.
pub(crate) fn num(x: f64) -> Value {
    serde_json::from_str(&fmt_float(x)).unwrap_or(Value::Null)
}
