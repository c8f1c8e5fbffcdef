//! REST 3.0 task objects besides the task itself: `tasks.task.access.get`
//! (tasks/tasks-task-access-get.md), `tasks.task.chat.message.send`
//! (tasks/tasks-task-chat-message-send.md: the messages kept in the side table
//! `tasks.task.chat.message`, id -> `{id, taskId, text, authorId}`) and `tasks.task.file.attach`
//! (tasks/tasks-task-file-attach.md: the Drive file ids of a task in the side table
//! `tasks.task.file`, task id -> `{taskId, fileIds}`), with their field descriptions. A caller
//! has a task when an administrator, its creator or its responsible person. The errors are the
//! pages'.

use crate::core::Caller;
use crate::handlers::side;
use crate::state::Inner;
use crate::v3::task;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, dto, err, fields, validation};
use crate::v3_query::{self, id_param};
use serde_json::{Map, Value, json};

/// The side table of the task chat messages.
pub(crate) const MESSAGES: &str = "tasks.task.chat.message";

const FILES: &str = "tasks.task.file";

/// The actions `tasks.task.access.get` answers, each with what the page's example shows for an
/// administrator who has the task (`admin` is true for administrators only).
const ACTIONS: &[(&str, bool)] = &[
    ("read", true),
    ("watch", true),
    ("mute", true),
    ("createSubtask", true),
    ("createResult", true),
    ("edit", true),
    ("remove", true),
    ("complete", true),
    ("approve", false),
    ("disapprove", false),
    ("start", false),
    ("take", false),
    ("delegate", true),
    ("defer", false),
    ("renew", false),
    ("deadline", true),
    ("datePlan", true),
    ("changeDirector", false),
    ("changeResponsible", true),
    ("changeAccomplices", true),
    ("pause", false),
    ("timeTracking", false),
    ("mark", true),
    ("changeStatus", true),
    ("reminder", true),
    ("addAuditors", true),
    ("elapsedTime", true),
    ("favorite", true),
    ("checklistAdd", true),
    ("checklistEdit", true),
    ("checklistSave", true),
    ("checklistToggle", true),
    ("automate", true),
    ("resultEdit", false),
    ("completeResult", true),
    ("removeResult", false),
    ("resultRead", false),
    ("admin", true),
    ("copy", true),
    ("saveAsTemplate", true),
    ("attachFile", true),
    ("detachFile", true),
    ("detachParent", true),
    ("createGanttDependence", true),
    ("sort", false),
];

/// Runs the access, chat message and file methods.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    match c.name {
        "tasks.task.access.get" => {
            let id = id_param(c.p)?;
            let has = task(c.inner, id).is_some_and(|t| has_task(c, &t));
            let admin = c.is_admin();
            let flags: Map<String, Value> = ACTIONS
                .iter()
                .map(|(k, v)| {
                    let v = has && *v && (*k != "admin" || admin);
                    ((*k).to_owned(), json!(v))
                })
                .collect();
            Ok(Value::Object(flags))
        }
        "tasks.task.chat.message.send" => send(c),
        "tasks.task.file.attach" => attach(c),
        _ => c.shared(),
    }
}

/// Whether the caller may work with task `t` (its REST 3.0 form).
pub(crate) fn has_task(c: &Call<'_>, t: &Map<String, Value>) -> bool {
    let who = Some(me(c.caller));
    c.is_admin() || t["creatorId"].as_i64() == who || t["responsibleId"].as_i64() == who
}

/// Task `id` when the caller has it, else `ACCESSDENIEDEXCEPTION` (403).
pub(crate) fn own_task(c: &Call<'_>, id: i64) -> Result<Map<String, Value>, V3Error> {
    task(c.inner, id)
        .filter(|t| has_task(c, t))
        .ok_or_else(|| err(403, "ACCESSDENIEDEXCEPTION", "Access denied"))
}

/// A required integer or string of `fields`; absent or `null` is "not filled".
fn field<'a>(f: &'a Map<String, Value>, key: &str, ty: &str) -> Result<&'a Value, V3Error> {
    let v = f
        .get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| dto(key, &format!("The required field \"{key}\" is not filled")))?;
    let fits = if ty == "int" {
        v.as_i64().is_some()
    } else {
        v.is_string()
    };
    if !fits {
        return Err(validation(
            key,
            &format!("The field `{key}` requires data type `{ty}` for this request"),
        ));
    }
    Ok(v)
}

fn send(c: &Call<'_>) -> Result<Value, V3Error> {
    let f = fields(c.p, "The required field `fields` is not specified")?;
    let task_id = field(f, "taskId", "int")?.as_i64().unwrap_or_default();
    let text = field(f, "text", "string")?.clone();
    own_task(c, task_id)?;
    let author = c.caller.user_id;
    let mut data = c.inner.write_data();
    side::insert(
        &mut data,
        MESSAGES,
        |id| json!({ "id": id, "taskId": task_id, "text": text, "authorId": author }),
    );
    Ok(json!({ "result": true }))
}

fn attach(c: &Call<'_>) -> Result<Value, V3Error> {
    let missing = |k: &str| validation(k, &format!("The required field `{k}` is missing"));
    let wrong = |k: &str, ty: &str| {
        validation(
            k,
            &format!("The field `{k}` requires data type `{ty}` for this request"),
        )
    };
    let task_id = match c.p.get("taskId") {
        None => return Err(missing("taskId")),
        Some(v) => v.as_i64().ok_or_else(|| wrong("taskId", "int"))?,
    };
    let ids: Vec<i64> = match c.p.get("fileIds") {
        None => return Err(missing("fileIds")),
        Some(Value::Array(a)) => a
            .iter()
            .map(Value::as_i64)
            .collect::<Option<_>>()
            .ok_or_else(|| wrong("fileIds", "array"))?,
        Some(_) => return Err(wrong("fileIds", "array")),
    };
    let on_drive = |inner: &Inner, id: i64| {
        let data = inner.read_data();
        data.stores
            .get("disk.file")
            .is_some_and(|s| s.rows.contains_key(&id))
    };
    let has = task(c.inner, task_id).is_some_and(|t| has_task(c, &t));
    if !has || !ids.iter().all(|id| on_drive(c.inner, *id)) {
        return Err(insufficient());
    }
    let mut data = c.inner.write_data();
    let row = side::table(&mut data, FILES)
        .entry(task_id)
        .or_insert_with(|| json!({ "taskId": task_id, "fileIds": [] }));
    if let Some(list) = row["fileIds"].as_array_mut() {
        for id in ids {
            if !list.contains(&json!(id)) {
                list.push(json!(id));
            }
        }
    }
    Ok(json!({ "result": true }))
}

/// "Insufficient permissions": a request validation error that names no field.
fn insufficient() -> V3Error {
    let mut e = validation("", "Insufficient permissions");
    e.validation = Some(Box::new(json!([{ "message": "Insufficient permissions" }])));
    e
}

/// The message `id` of a task chat, when it exists.
pub(crate) fn message(inner: &Inner, id: i64) -> Option<Value> {
    v3_query::side_row(inner, MESSAGES, id)
}

/// The caller's user id, as a task's ids are.
pub(crate) fn me(caller: &Caller) -> i64 {
    i64::try_from(caller.user_id).unwrap_or(i64::MAX)
}
