//! REST 3.0 time tracking records: `timeman.record.*` (api-reference/timeman/record/), read
//! from the side table `timeman.record` (id -> the record as answered), which tests load with
//! `Control::seed_records("timeman.record", ..)`. A list needs one `userId` condition; a user
//! who is not an administrator reads only their own records. The errors are the documented
//! ones.

use crate::v3_call::Call;
use crate::v3_common::{V3Error, err, validation};
use crate::v3_query;
use serde_json::{Map, Value};

/// The side table of the records.
pub(crate) const TABLE: &str = "timeman.record";

/// Runs one `timeman.record.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    if c.method() != "list" {
        return c.shared();
    }
    let user = the_user(c.p)?;
    if !c.is_admin() && user != Some(c.caller.user_id) {
        return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
    }
    let (limit, offset) =
        v3_query::pagination(c.p, 1000, "Unable to recognize pagination parameter")?;
    let mut hits = c.filtered()?;
    c.sort(&mut hits, c.p.get("order"))?;
    c.items(hits.iter().skip(offset).take(limit))
}

/// The one employee of the `filter` (`["userId", id]` or `["userId", "=", id]`): required, and
/// a filter naming two employees is refused. `None` for an id that is not a whole number.
fn the_user(p: &Map<String, Value>) -> Result<Option<u64>, V3Error> {
    let missing = || {
        validation(
            "filter.userId",
            "Required field `filter.userId` is not specified",
        )
    };
    let Some(Value::Array(conds)) = p.get("filter") else {
        return Err(missing());
    };
    let mut users: Vec<&Value> = conds
        .iter()
        .filter_map(Value::as_array)
        .filter(|c| c.first().and_then(Value::as_str) == Some("userId"))
        .filter_map(|c| c.last())
        .collect();
    users.dedup();
    match users.as_slice() {
        [] => Err(missing()),
        [one] => Ok(crate::core::as_i64(one).and_then(|n| u64::try_from(n).ok())),
        _ => Err(err(
            400,
            "INVALIDFILTEREXCEPTION",
            "Multiple different `userId` values were provided in one request",
        )),
    }
}
