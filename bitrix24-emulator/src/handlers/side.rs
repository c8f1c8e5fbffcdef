//! Plain-row families kept in side tables (`Data::side`, table -> id -> JSON row): the id
//! allocation, lookups, parameter reading and the `select`/`filter`/`order` of a list, shared
//! by the hand-served families that no spec entity describes as a generic family (delivery
//! services, bots, calls, workflows, time records, ...).

use super::common::{keep_selected, matching, order_of, select_names, sort_by_order};
use crate::core::{ApiError, as_i64, as_str, param};
use crate::state::Data;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The rows of side table `key`, created empty on first use.
pub(crate) fn table<'a>(data: &'a mut Data, key: &str) -> &'a mut BTreeMap<i64, Value> {
    data.side.entry(key.to_string()).or_default()
}

/// Adds the row `make(id)` under the next id of table `key`; answers the id.
pub(crate) fn insert(data: &mut Data, key: &str, make: impl FnOnce(i64) -> Value) -> i64 {
    let t = table(data, key);
    let id = t.keys().next_back().map_or(1, |k| k + 1);
    t.insert(id, make(id));
    id
}

/// Row `id` of table `key`.
pub(crate) fn get<'a>(data: &'a Data, key: &str, id: i64) -> Option<&'a Value> {
    data.side.get(key).and_then(|t| t.get(&id))
}

/// Row `id` of table `key`, to change in place.
pub(crate) fn get_mut<'a>(data: &'a mut Data, key: &str, id: i64) -> Option<&'a mut Value> {
    data.side.get_mut(key).and_then(|t| t.get_mut(&id))
}

/// Every row of table `key`, in id order.
pub(crate) fn rows<'a>(data: &'a Data, key: &str) -> impl DoubleEndedIterator<Item = &'a Value> {
    data.side.get(key).into_iter().flat_map(BTreeMap::values)
}

/// A non-empty string parameter (name matched whatever its case).
pub(crate) fn text(p: &Map<String, Value>, name: &str) -> Option<String> {
    param(p, name)
        .and_then(as_str)
        .filter(|s| !s.trim().is_empty())
}

/// A positive integer parameter (`"42"` too).
pub(crate) fn id_p(p: &Map<String, Value>, name: &str) -> Option<i64> {
    param(p, name).and_then(as_i64).filter(|n| *n > 0)
}

/// An object parameter (`{}` when absent or not an object).
pub(crate) fn obj(p: &Map<String, Value>, name: &str) -> Map<String, Value> {
    match param(p, name) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// The object parameter `name`; `missing(name)` when it is absent or not an object.
pub(crate) fn given(
    p: &Map<String, Value>,
    name: &str,
    missing: impl FnOnce(&str) -> ApiError,
) -> Result<Map<String, Value>, ApiError> {
    match param(p, name) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(missing(name)),
    }
}

/// The rows of `key` a list call asks for: its `filter`, `order` and `select` (parameter
/// names as `names` gives them: `["filter", "order", "select"]` or the upper-case trio),
/// row keys upper case as the portal prints them.
pub(crate) fn listed(
    data: &Data,
    key: &str,
    p: &Map<String, Value>,
    names: [&str; 3],
) -> Vec<Value> {
    let [f, o, s] = names;
    let mut out = matching(rows(data, key), &obj(p, f));
    sort_by_order(&mut out, &order_of(param(p, o), true));
    keep_selected(&mut out, &select_names(param(p, s)));
    out.into_iter().map(Value::Object).collect()
}
