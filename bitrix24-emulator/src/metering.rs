//! Operating-time metering shared by v2 and 3.0 calls: the per-method limit check, the record of
//! a call's duration and the `time` block of a response.

use crate::clock;
use crate::state::{Inner, lock};
use serde_json::{Map, Value, json};

/// Whether `method` is over the operating-time limit for the caller `key` at `start`.
pub(crate) fn over_limit(inner: &Inner, key: &str, method: &str, start: f64) -> bool {
    let limit = *lock(&inner.operating_limit);
    lock(&inner.limits).operating(key, method, start) > limit
}

/// Records a call from `start` to `finish`; returns (operating incl. this call, reset time).
pub(crate) fn record(
    inner: &Inner,
    key: &str,
    method: &str,
    start: f64,
    finish: f64,
) -> (f64, i64) {
    lock(&inner.limits).record(key, method, start, finish - start, finish)
}

/// The `time` block in the portal's key order.
pub(crate) fn time_block(start: f64, finish: f64, processing: f64, op: (f64, i64)) -> Value {
    let mut m = Map::new();
    m.insert("start".into(), json!(start));
    m.insert("finish".into(), json!(finish));
    m.insert("duration".into(), json!(finish - start));
    m.insert("processing".into(), json!(processing));
    m.insert("date_start".into(), json!(clock::iso(start)));
    m.insert("date_finish".into(), json!(clock::iso(finish)));
    m.insert("operating_reset_at".into(), json!(op.1));
    m.insert("operating".into(), json!(op.0));
    Value::Object(m)
}
