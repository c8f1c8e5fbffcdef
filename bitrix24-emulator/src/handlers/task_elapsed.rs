//! `task.elapseditem.add` and `task.elapseditem.getlist`: the time records of tasks
//! (`tasks/elapsed-item/*.md`), kept in the side table `task.elapsed` by record id.
//!
//! Both take their arguments by name (`TASKID`, `ARFIELDS`; `ORDER`, `FILTER`, `SELECT`,
//! `PARAMS`) or, as the docs' examples send them, by position (a JSON array body, whose
//! order matters: "It is mandatory to follow the specified order of parameters").

use super::common::{keep_selected, order_of, select_names, sort_by_order};
use crate::clock;
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, param};
use crate::filter::JsonCond;
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const TABLE: &str = "task.elapsed";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("task");
    "task.elapseditem." { "add" => add, "getlist" => get_list }
);

/// The argument `name`, or the one at `pos` of a positional call.
fn arg<'a>(p: &'a Map<String, Value>, name: &str, pos: usize) -> Option<&'a Value> {
    param(p, name).or_else(|| p.get(&pos.to_string()))
}

/// The documented error body of the legacy task methods, naming what was wrong.
fn core_error(desc: &str) -> ApiError {
    ApiError::new(400, "ERROR_CORE", desc)
}

fn task_exists(inner: &Inner, id: i64) -> bool {
    inner
        .read_data()
        .stores
        .get("tasks.task")
        .is_some_and(|s| s.rows.contains_key(&id))
}

/// `task.elapseditem.add`: `TASKID`, `ARFIELDS` (`SECONDS` required, `COMMENT_TEXT`,
/// `USER_ID` the caller by default); answers the new record's id.
fn add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let task = arg(p, "TASKID", 0)
        .and_then(as_i64)
        .ok_or_else(|| core_error("TASKID is not defined or invalid"))?;
    let Some(Value::Object(fields)) = arg(p, "ARFIELDS", 1) else {
        return Err(core_error("ARFIELDS is not defined or invalid"));
    };
    let seconds = param(fields, "SECONDS")
        .and_then(as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| core_error("ARFIELDS[SECONDS] is not defined or invalid"))?;
    if !task_exists(inner, task) {
        return Err(core_error("ACTION_NOT_ALLOWED"));
    }
    let user = param(fields, "USER_ID")
        .and_then(as_i64)
        .unwrap_or(i64::try_from(c.user_id).unwrap_or(0));
    let comment = param(fields, "COMMENT_TEXT")
        .and_then(as_str)
        .unwrap_or_default();
    let now = inner.now() as i64;
    let mut data = inner.write_data();
    let table = data.side.entry(TABLE.to_string()).or_default();
    let id = table.keys().next_back().map_or(1, |k| k + 1);
    // A record written through the REST method is a manual one: `"SOURCE":"2"` in the docs.
    let row = json!({
        "ID": id, "TASK_ID": task, "USER_ID": user, "COMMENT_TEXT": comment,
        "SECONDS": seconds, "MINUTES": (seconds + 30) / 60, "SOURCE": 2,
        "CREATED_DATE": now, "DATE_START": now, "DATE_STOP": now,
    });
    table.insert(id, row);
    Ok(Outcome::of(json!(id)))
}

/// A stored record as the methods print it: numbers as strings, dates in ISO 8601.
fn render(row: &Value) -> Map<String, Value> {
    let mut m = row.as_object().cloned().unwrap_or_default();
    for (k, v) in &mut m {
        if let Some(n) = v.as_i64() {
            *v = if k.ends_with("_DATE") || k.starts_with("DATE_") {
                json!(clock::iso(n as f64))
            } else {
                json!(n.to_string())
            };
        }
    }
    m
}

/// `task.elapseditem.getlist`: the records of `TASKID` (of every task without it) that match
/// `FILTER`, sorted by `ORDER`, with the `SELECT`ed fields, a page of
/// `PARAMS.NAV_PARAMS.nPageSize` (at most 50) records; `total` counts them all.
fn get_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    // Positional: `[TASKID, ORDER, FILTER, SELECT, PARAMS]`, or without the task id.
    let first = p.get("0");
    let shift = usize::from(first.is_some_and(|v| as_i64(v).is_some()));
    let task = param(p, "TASKID")
        .or(if shift == 1 { first } else { None })
        .and_then(as_i64);
    if task.is_some_and(|t| !task_exists(inner, t)) {
        return Err(core_error("ACTION_NOT_ALLOWED"));
    }
    let at = |name: &str, pos: usize| arg(p, name, pos + shift).cloned();
    let conds: Vec<JsonCond> = at("FILTER", 1)
        .and_then(|f| f.as_object().cloned())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| JsonCond::new(k, v))
        .collect();
    let mut rows: Vec<Map<String, Value>> = {
        let data = inner.read_data();
        data.side
            .get(TABLE)
            .into_iter()
            .flat_map(|t| t.values())
            .filter(|r| task.is_none_or(|t| r["TASK_ID"].as_i64() == Some(t)))
            .map(render)
            .filter(|r| {
                conds
                    .iter()
                    .all(|c| r.get(&c.field).is_none_or(|h| c.matches(h)))
            })
            .collect()
    };
    sort_by_order(&mut rows, &order_of(at("ORDER", 0).as_ref(), true));
    keep_selected(&mut rows, &select_names(at("SELECT", 2).as_ref()));
    let nav = at("PARAMS", 3).and_then(|v| v.get("NAV_PARAMS").cloned());
    let size = nav
        .as_ref()
        .and_then(|n| n.get("nPageSize"))
        .and_then(as_i64)
        .map_or(50, |n| n.clamp(1, 50)) as usize;
    let number = nav
        .as_ref()
        .and_then(|n| n.get("iNumPage"))
        .and_then(as_i64)
        .map_or(1, |n| n.max(1)) as usize;
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .map(Value::Object)
        .collect();
    Ok(Outcome {
        result: Value::Array(page),
        total: Some(total as i64),
        next: None,
    })
}
