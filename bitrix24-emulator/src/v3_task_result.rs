//! REST 3.0 task results: `tasks.task.result.*` (api-reference/tasks/result/), kept in the
//! side table `tasks.task.result` (id -> `{id, taskId, text, authorId, createdAt, updatedAt,
//! status, fileIds, messageId}`); an answer adds the caller's `rights` (edit and remove: the
//! author or an administrator) and, when selected, the `author`. A result is made on a task the
//! caller has (see `v3_task_more`), from text or from a message of the task's chat. The errors
//! are the pages'.

use crate::clock;
use crate::handlers::side;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, dto, err, fields, record_not_found, validation};
use crate::v3_query;
use crate::v3_task_more::{me, message, own_task};
use serde_json::{Map, Value, json};

const TABLE: &str = "tasks.task.result";

/// What `select` may name.
const SELECTABLE: &[&str] = &[
    "id",
    "taskId",
    "text",
    "authorId",
    "author",
    "createdAt",
    "updatedAt",
    "status",
    "fileIds",
    "rights",
    "messageId",
];

/// What a list answers without `select`.
const DEFAULT: &[&str] = &[
    "id",
    "taskId",
    "text",
    "authorId",
    "createdAt",
    "status",
    "messageId",
];

const FILTERABLE: &[&str] = &["taskId", "id", "authorId", "status", "messageId"];
const SORTABLE: &[&str] = &[
    "id",
    "authorId",
    "createdAt",
    "updatedAt",
    "status",
    "messageId",
];

/// Runs one `tasks.task.result.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    match c.method() {
        "add" => {
            let f = fields(c.p, "Required field `fields` is not specified")?;
            no_files(f)?;
            let task = required_int(f, "taskId")?;
            let text = match f.get("text") {
                Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
                _ => return Err(not_filled("text")),
            };
            add(c, task, &json!(text), &Value::Null)
        }
        "addfromchatmessage" => {
            let f = fields(c.p, "Required field `fields` is missing")?;
            only(f, "messageId")?;
            let id = required_int(f, "messageId")?;
            let Some(m) = message(c.inner, id) else {
                return Err(validation("messageId", "Message is not from task chat"));
            };
            let task = m["taskId"].as_i64().unwrap_or_default();
            add(c, task, &m["text"], &json!(id))
        }
        "update" => {
            let id = one_id(c.p)?;
            let f = fields(c.p, "Required field `fields` is missing")?;
            only(f, "text")?;
            let Some(Value::String(text)) = f.get("text") else {
                return Err(dto("text", "Required field `text` is missing"));
            };
            let at = clock::iso(c.inner.now());
            mine(c, id)?;
            let mut data = c.inner.write_data();
            let Some(Value::Object(row)) = side::get_mut(&mut data, TABLE, id) else {
                return Err(record_not_found());
            };
            row.insert("text".into(), json!(text));
            row.insert("updatedAt".into(), json!(at));
            let row = row.clone();
            drop(data);
            Ok(json!({ "item": shown(c, &row, SELECTABLE) }))
        }
        "delete" => {
            let id = one_id(c.p)?;
            mine(c, id)?;
            side::table(&mut c.inner.write_data(), TABLE).remove(&id);
            Ok(json!({ "result": true }))
        }
        "list" => list(c),
        _ => c.shared(),
    }
}

fn not_filled(key: &str) -> V3Error {
    dto(key, &format!("The required field \"{key}\" is not filled"))
}

/// `fields.fileIds` may not be sent.
fn no_files(f: &Map<String, Value>) -> Result<(), V3Error> {
    if f.contains_key("fileIds") {
        return Err(dto(
            "fileIds",
            "Field `fileIds` is not available for filling",
        ));
    }
    Ok(())
}

/// `fields` may hold `key` only.
fn only(f: &Map<String, Value>, key: &str) -> Result<(), V3Error> {
    no_files(f)?;
    if f.keys().any(|k| k != key) {
        return Err(err(
            400,
            "UNKNOWNDTOPROPERTYEXCEPTION",
            "Unknown field for entity `ResultDto`",
        ));
    }
    Ok(())
}

/// A required, positive integer of `fields`.
fn required_int(f: &Map<String, Value>, key: &str) -> Result<i64, V3Error> {
    match f.get(key) {
        None | Some(Value::Null) => Err(not_filled(key)),
        Some(v) => match v.as_i64() {
            None => Err(validation(
                key,
                &format!("Field `{key}` requires data type `int` for this request"),
            )),
            Some(n) if n <= 0 => Err(validation(key, "Task id must be positive")),
            Some(n) => Ok(n),
        },
    }
}

/// The `id` of an update or delete: given, and not with `filter`.
fn one_id(p: &Map<String, Value>) -> Result<i64, V3Error> {
    let refused = |message: &str| {
        let mut e = validation("id", message);
        e.validation = Some(Box::new(json!([{ "message": message }])));
        e
    };
    if p.contains_key("filter") {
        return Err(refused(
            "Only one of the values must be provided: id, filter",
        ));
    }
    if !p.contains_key("id") {
        return Err(refused(
            "At least one required field must be filled: id, filter",
        ));
    }
    v3_query::id_param(p)
}

/// Result `id` when the caller wrote it or is an administrator; else not found or 403.
fn mine(c: &Call<'_>, id: i64) -> Result<Map<String, Value>, V3Error> {
    let row = v3_query::side_row(c.inner, TABLE, id)
        .and_then(|r| r.as_object().cloned())
        .ok_or_else(record_not_found)?;
    if row["authorId"].as_i64() != Some(me(c.caller)) && !c.is_admin() {
        return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
    }
    Ok(row)
}

fn add(c: &Call<'_>, task: i64, text: &Value, message: &Value) -> Result<Value, V3Error> {
    if crate::v3::task(c.inner, task).is_none() {
        return Err(validation("taskId", "Task not found"));
    }
    own_task(c, task)?;
    let at = clock::iso(c.inner.now());
    let author = me(c.caller);
    let mut row = Value::Null;
    side::insert(&mut c.inner.write_data(), TABLE, |id| {
        row = json!({
            "id": id, "taskId": task, "text": text, "authorId": author, "createdAt": at,
            "updatedAt": null, "status": "open", "fileIds": [], "messageId": message,
        });
        row.clone()
    });
    let row = row.as_object().cloned().unwrap_or_default();
    let mut item = shown(c, &row, SELECTABLE);
    item.remove("author");
    Ok(json!({ "item": item }))
}

/// `row` with the fields `names`, `rights` and `author` made for the caller.
fn shown(c: &Call<'_>, row: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    let mine = row["authorId"].as_i64() == Some(me(c.caller)) || c.is_admin();
    for n in names {
        let v = match *n {
            "rights" => json!({ "edit": mine, "remove": mine }),
            "author" => author(c, row["authorId"].as_i64()),
            _ => row.get(*n).cloned().unwrap_or(Value::Null),
        };
        out.insert((*n).to_owned(), v);
    }
    out
}

/// The author as `{id, name}`, when the user exists.
fn author(c: &Call<'_>, id: Option<i64>) -> Value {
    let data = c.inner.read_data();
    id.and_then(|i| u64::try_from(i).ok())
        .and_then(|i| data.users.get(&i))
        .map_or(
            Value::Null,
            |u| json!({ "id": u.id, "name": format!("{} {}", u.name, u.last_name) }),
        )
}

/// The results of the task the filter names (a `taskId` condition is required), filtered,
/// sorted and paged.
fn list(c: &Call<'_>) -> Result<Value, V3Error> {
    let p = c.p;
    let filter = match p.get("filter") {
        Some(Value::Array(f)) if !f.is_empty() => Value::Array(f.clone()),
        _ => return Err(validation("filter", "The field value cannot be empty")),
    };
    let names_task = |cond: &Value| cond.get(0).and_then(Value::as_str) == Some("taskId");
    let task = filter
        .as_array()
        .and_then(|f| f.iter().find(|x| names_task(x)));
    let Some(task) = task else {
        let mut e = validation(
            "filter.taskId",
            "A filter for the required field `taskId` must be specified",
        );
        e.code = "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTFILTERVALIDATIONEXCEPTION".into();
        return Err(e);
    };
    if task
        .as_array()
        .and_then(|a| a.last())
        .is_some_and(Value::is_string)
    {
        return Err(validation(
            "taskId",
            "The `taskId` field requires an `int` data type for this request",
        ));
    }
    let names: Vec<String> = match v3_query::select_names(p.get("select"))? {
        Some(names) => names,
        None => DEFAULT.iter().map(|s| (*s).to_owned()).collect(),
    };
    if let Some(n) = names.iter().find(|n| !SELECTABLE.contains(&n.as_str())) {
        return Err(err(
            400,
            "UNKNOWNDTOPROPERTYEXCEPTION",
            format!("Unknown field `{n}` for entity `ResultDto`"),
        ));
    }
    let (limit, offset) =
        v3_query::pagination(p, 1000, "Unable to recognize the pagination parameter")?;
    let data = c.inner.read_data();
    let mut hits = Vec::new();
    for r in v3_query::rows(&data, TABLE, |_| true) {
        if v3_query::matches(
            &r,
            &filter,
            false,
            &|f| FILTERABLE.contains(&f),
            "ResultDto",
        )? {
            hits.push(r);
        }
    }
    drop(data);
    v3_query::sort(&mut hits, p.get("order"), &|f| SORTABLE.contains(&f))?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let items: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| Value::Object(shown(c, r, &names)))
        .collect();
    Ok(json!({ "items": items }))
}
