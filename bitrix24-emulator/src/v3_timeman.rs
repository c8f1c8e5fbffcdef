//! REST 3.0 time tracking records: `timeman.record.*` (api-reference/timeman/record/), read
//! from the side table `timeman.record` (id -> the record as answered), which tests load with
//! `Control::seed_records("timeman.record", ..)`. A list needs one `userId` condition; a user
//! who is not an administrator reads only their own records. The errors are the documented
//! ones.

use crate::core::Caller;
use crate::state::Inner;
use crate::v3_common::{FIELD_GET, FIELD_LIST, Served, V3Error, err, validation};
use crate::v3_query::{self, FieldTable, Fields};
use serde_json::{Map, Value};

/// The side table of the records.
pub(crate) const TABLE: &str = "timeman.record";

/// The methods served here, with the params each takes (name, OpenAPI type, required).
pub(crate) const SERVED: &[Served] = &[
    Served::new(
        "timeman.record.list",
        "timeman",
        &[
            ("filter", "array", true),
            ("select", "array", false),
            ("order", "object", false),
            ("pagination", "object", false),
        ],
    ),
    Served::new("timeman.record.field.list", "timeman", FIELD_LIST),
    Served::new("timeman.record.field.get", "timeman", FIELD_GET),
];

/// The fields of a record as `timeman.record.field.list` documents them (name, type,
/// filterable, sortable).
const FIELDS: Fields = &FieldTable(&[
    ("id", "int", false, true),
    ("userId", "int", true, true),
    ("startTime", "object", true, true),
    ("endTime", "object", false, true),
    ("duration", "int", false, true),
    ("breakLength", "int", false, false),
    ("state", "object", false, false),
    ("isApproved", "bool", false, false),
]);

const ENTITY: &str = "RecordDto";

/// Runs one `timeman.record.*` method.
pub(crate) fn run(
    inner: &Inner,
    caller: &Caller,
    name: &str,
    p: &Map<String, Value>,
) -> Result<Value, V3Error> {
    match name {
        "timeman.record.list" => {
            let user = the_user(p)?;
            let admin = v3_query::is_admin(inner, caller);
            if !admin && user != Some(caller.user_id) {
                return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
            }
            let (limit, offset) =
                v3_query::pagination(p, 1000, "Unable to recognize pagination parameter")?;
            let mut hits = v3_query::filtered(inner, TABLE, p, &|f| FIELDS.filterable(f), ENTITY)?;
            v3_query::sort(&mut hits, p.get("order"), &|f| FIELDS.sortable(f))?;
            v3_query::items(
                hits.iter().skip(offset).take(limit),
                p,
                &|f| FIELDS.known(f),
                ENTITY,
            )
        }
        "timeman.record.field.list" => Ok(v3_query::field_list(FIELDS)),
        "timeman.record.field.get" => v3_query::field_get(FIELDS, p),
        _ => Err(err(
            404,
            "METHODNOTFOUNDEXCEPTION",
            format!("Method \"{name}\" was not found."),
        )),
    }
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
