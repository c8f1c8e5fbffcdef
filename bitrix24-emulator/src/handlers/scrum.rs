//! Scrum (`tasks.api.scrum.*`, `sonet-group/scrum/**`): sprints in the side table
//! `scrum.sprint` (answered as the docs' sprint object: `entityType`, `goal`, `status`
//! planned -> active -> completed), the kanban stages of each sprint (New, In Progress, Done,
//! made with the sprint) in `scrum.stage`, task placements in `scrum.item`, epics in
//! `scrum.epic`. A group's backlog is made on first read. Errors have the documented code `0`
//! (or `100` for a missing parameter). These routes take the place of the generic family the
//! sprint entity of the spec would give.

use super::common::{fam, row};
use super::side::{self, id_p, obj, text};
use crate::clock::{iso, parse_datetime};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_str, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const SPRINTS: &str = "scrum.sprint";
const STAGES: &str = "scrum.stage";
const ITEMS: &str = "scrum.item";
const EPICS: &str = "scrum.epic";
const BACKLOGS: &str = "scrum.backlog";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("task");
    "tasks.api.scrum.sprint." {
        "add" => sprint_add, "get" => sprint_get, "list" => sprint_list, "update" => sprint_update,
        "delete" => sprint_delete, "start" => sprint_start, "complete" => sprint_complete,
    }
    "tasks.api.scrum.kanban." { "getstages" => stages, "addtask" => add_task }
    "tasks.api.scrum.backlog." { "get" => backlog_get }
    "tasks.api.scrum.task." { "update" => task_update }
    "tasks.api.scrum.epic." { "add" => epic_add, "list" => epic_list }
);

fn err(desc: &str) -> ApiError {
    ApiError::new(400, "0", desc)
}

fn need_id(p: &Map<String, Value>) -> Result<i64, ApiError> {
    id_p(p, "id").ok_or_else(|| ApiError::no_value("id"))
}

fn group_exists(data: &Data, group: i64) -> bool {
    data.stores
        .get("sonet_group")
        .is_some_and(|s| s.rows.contains_key(&group))
}

/// A date field as the docs print it (ISO 8601), `Err` naming the field when unreadable.
fn date(f: &Map<String, Value>, name: &str, default: f64) -> Result<String, ApiError> {
    match text(f, name) {
        None => Ok(iso(default)),
        Some(s) => parse_datetime(&s)
            .map(|t| iso(t as f64))
            .ok_or_else(|| err(&format!("Incorrect {name} format"))),
    }
}

/// `sprint.add`: `groupId` and `name`; three kanban stages come with it; the sprint object.
fn sprint_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = obj(p, "fields");
    let group = id_p(&f, "groupId").ok_or_else(|| err("Sprint not created"))?;
    let name = text(&f, "name").ok_or_else(|| err("Sprint not created"))?;
    let now = inner.now();
    let (start, end) = (
        date(&f, "dateStart", now)?,
        date(&f, "dateEnd", now + 14.0 * 86_400.0)?,
    );
    let mut data = inner.write_data();
    if !group_exists(&data, group) {
        return Err(err("Access denied"));
    }
    let user = c.user_id;
    let id = side::insert(&mut data, SPRINTS, |id| {
        json!({
            "id": id, "groupId": group, "entityType": "sprint", "name": name,
            "goal": text(&f, "goal").unwrap_or_default(),
            "sort": param(&f, "sort").and_then(crate::core::as_i64).unwrap_or(1),
            "createdBy": user, "modifiedBy": user, "dateStart": start, "dateEnd": end,
            "status": text(&f, "status").unwrap_or_else(|| "planned".into()),
        })
    });
    for (sort, (stage, ty, color)) in [
        ("New", "NEW", "00C4FB"),
        ("In Progress", "WORK", "47D1E2"),
        ("Done", "FINISH", "75D900"),
    ]
    .into_iter()
    .enumerate()
    {
        side::insert(&mut data, STAGES, |sid| {
            json!({
                "id": sid.to_string(), "name": stage, "sort": ((sort + 1) * 100).to_string(),
                "type": ty, "sprintId": id.to_string(), "color": color,
            })
        });
    }
    Ok(Outcome::of(
        side::get(&data, SPRINTS, id).cloned().unwrap_or_default(),
    ))
}

fn sprint_get(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = need_id(p)?;
    let data = inner.read_data();
    side::get(&data, SPRINTS, id)
        .cloned()
        .map(Outcome::of)
        .ok_or_else(|| err("Sprint not found"))
}

/// `groupId` -> `GROUP_ID`: the key a sprint list filter names a field by.
fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for ch in camel.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// `sprint.list`: the sprints, `filter` by the upper-case field names (`GROUP_ID`, ...).
#[allow(clippy::unnecessary_wraps)]
fn sprint_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let filter = obj(p, "filter");
    let data = inner.read_data();
    let upper: Vec<Value> = side::rows(&data, SPRINTS)
        .filter_map(Value::as_object)
        .map(|r| Value::Object(r.iter().map(|(k, v)| (upper_snake(k), v.clone())).collect()))
        .collect();
    let ids: Vec<Value> = super::common::matching(upper.iter(), &filter)
        .into_iter()
        .filter_map(|r| r.get("ID").cloned())
        .collect();
    let rows = side::rows(&data, SPRINTS)
        .filter(|r| ids.contains(&r["id"]))
        .cloned()
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// `sprint.update`: the given fields; the sprint object.
fn sprint_update(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = need_id(p)?;
    let f = obj(p, "fields");
    let now = inner.now();
    let dates = [
        ("dateStart", date(&f, "dateStart", now)?),
        ("dateEnd", date(&f, "dateEnd", now)?),
    ];
    let mut data = inner.write_data();
    let s = side::get_mut(&mut data, SPRINTS, id).ok_or_else(|| err("Sprint not found"))?;
    for (k, v) in &f {
        if matches!(k.as_str(), "groupId" | "name" | "sort" | "status" | "goal") {
            s[k.as_str()] = v.clone();
        }
    }
    for (k, v) in dates {
        if f.contains_key(k) {
            s[k] = json!(v);
        }
    }
    s["modifiedBy"] = json!(c.user_id);
    Ok(Outcome::of(s.clone()))
}

/// `sprint.delete`: a sprint with no tasks on it; `[]`.
fn sprint_delete(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = need_id(p)?;
    let mut data = inner.write_data();
    if side::get(&data, SPRINTS, id).is_none() {
        return Err(err("Sprint not found"));
    }
    if side::rows(&data, ITEMS).any(|i| i["entityId"] == json!(id)) {
        return Err(err("It is forbidden remove a sprint with items"));
    }
    side::table(&mut data, SPRINTS).remove(&id);
    Ok(Outcome::of(json!([])))
}

/// Moves a sprint from status `from` to `to` (start: planned -> active, complete: active ->
/// completed).
fn move_sprint(
    inner: &Inner,
    p: &Map<String, Value>,
    from: &str,
    to: &str,
    wrong: &str,
) -> MethodResult {
    let id = need_id(p)?;
    let mut data = inner.write_data();
    let s = side::get_mut(&mut data, SPRINTS, id).ok_or_else(|| err("Sprint not found"))?;
    if s["status"] != from {
        return Err(err(wrong));
    }
    s["status"] = json!(to);
    Ok(Outcome::of(s.clone()))
}

fn sprint_start(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    move_sprint(inner, p, "planned", "active", "Sprint must be planned")
}

fn sprint_complete(
    inner: &Arc<Inner>,
    _: &Caller,
    _: &str,
    p: &Map<String, Value>,
) -> MethodResult {
    move_sprint(inner, p, "active", "completed", "Sprint not found")
}

fn sprint_of(data: &Data, p: &Map<String, Value>) -> Result<i64, ApiError> {
    let id = id_p(p, "sprintId").ok_or_else(|| err("Sprint id not found"))?;
    side::get(data, SPRINTS, id)
        .map(|_| id)
        .ok_or_else(|| err("Sprint not found"))
}

/// `kanban.getStages`: the stages of a sprint, by sort.
fn stages(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let sprint = json!(sprint_of(&data, p)?.to_string());
    let rows = side::rows(&data, STAGES)
        .filter(|s| s["sprintId"] == sprint)
        .cloned()
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// The group of task `id` (`None`: no such task).
fn task_group(inner: &Inner, data: &Data, id: i64) -> Option<String> {
    let tasks = fam(inner, "tasks.task").ok()?;
    let t = row(data, tasks, id)?;
    Some(t.get("groupId").and_then(as_str).unwrap_or_default())
}

/// `kanban.addTask`: a task of the sprint's group onto one of its stages; `true`.
fn add_task(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let mut data = inner.write_data();
    let sprint = sprint_of(&data, p)?;
    let task = id_p(p, "taskId").ok_or_else(|| err("TaskId id not found"))?;
    let stage = id_p(p, "stageId").ok_or_else(|| err("StageId id not found"))?;
    if side::get(&data, STAGES, stage).is_none_or(|s| s["sprintId"] != json!(sprint.to_string())) {
        return Err(err("Stage not found"));
    }
    let group = side::get(&data, SPRINTS, sprint)
        .map(|s| s["groupId"].to_string())
        .unwrap_or_default();
    if task_group(inner, &data, task).is_none_or(|g| g != group) {
        return Err(err("Task not found. The task must be with GROUP_ID"));
    }
    side::table(&mut data, ITEMS).insert(
        task,
        json!({"taskId": task, "entityId": sprint, "stageId": stage}),
    );
    Ok(Outcome::of(json!(true)))
}

/// `backlog.get`: the backlog of group `id`, made on first read.
fn backlog_get(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let group = id_p(p, "id").ok_or_else(|| err("Group id not found"))?;
    let mut data = inner.write_data();
    if !group_exists(&data, group) {
        return Err(err("Backlog not found"));
    }
    if let Some(b) = side::rows(&data, BACKLOGS).find(|b| b["groupId"] == json!(group)) {
        return Ok(Outcome::of(b.clone()));
    }
    let user = c.user_id;
    let id = side::insert(
        &mut data,
        BACKLOGS,
        |id| json!({"id": id, "groupId": group, "createdBy": user, "modifiedBy": user}),
    );
    Ok(Outcome::of(
        side::get(&data, BACKLOGS, id).cloned().unwrap_or_default(),
    ))
}

/// `task.update`: a task's scrum fields (`entityId`, `storyPoints`, `epicId`, `sort`).
fn task_update(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = need_id(p)?;
    let f = obj(p, "fields");
    let mut data = inner.write_data();
    if task_group(inner, &data, id).is_none() {
        return Err(err("Task not found"));
    }
    if let Some(epic) = id_p(&f, "epicId")
        && side::get(&data, EPICS, epic).is_none()
    {
        return Err(err("Epic not found"));
    }
    let item = side::table(&mut data, ITEMS)
        .entry(id)
        .or_insert_with(|| json!({"taskId": id}));
    for (k, v) in f {
        item[k] = v;
    }
    Ok(Outcome::of(
        json!({"status": "success", "data": true, "errors": []}),
    ))
}

/// `epic.add`: `name` and an existing `groupId`; the epic object.
fn epic_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = obj(p, "fields");
    let name = text(&f, "name").ok_or_else(|| err("Name is not found"))?;
    let group = id_p(&f, "groupId").unwrap_or_default();
    let mut data = inner.write_data();
    if !group_exists(&data, group) {
        return Err(err("Group is not found"));
    }
    let user = c.user_id;
    let id = side::insert(&mut data, EPICS, |id| {
        json!({
            "id": id, "groupId": group, "name": name,
            "description": text(&f, "description").unwrap_or_default(),
            "createdBy": user, "modifiedBy": user,
            "color": text(&f, "color").unwrap_or_else(|| "#69dafc".into()),
        })
    });
    Ok(Outcome::of(
        side::get(&data, EPICS, id).cloned().unwrap_or_default(),
    ))
}

/// `epic.list`: the epics, `filter` by their fields.
#[allow(clippy::unnecessary_wraps)]
fn epic_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let filter = obj(p, "filter");
    let data = inner.read_data();
    let rows = side::rows(&data, EPICS)
        .filter(|e| {
            filter.iter().all(|(k, v)| {
                e[k.as_str()].to_string().trim_matches('"') == v.to_string().trim_matches('"')
            })
        })
        .cloned()
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}
