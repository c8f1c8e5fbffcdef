//! REST 3.0 (`/rest/api/...`): the methods of the families in `data/rest_v3.toml` (read by
//! `v3_served`), each run by its family's handler in [`HANDLERS`] (`tasks.task.*` here, the
//! other task objects in `v3_task_more` and `v3_task_result`, `note.collection.*` in `v3_note`,
//! `note.document.*` in `v3_note_document`, `note.file.*` in `v3_note_file`, `main.eventlog.*`
//! in `v3_eventlog`, `timeman.record.*` in `v3_timeman`, `call.followup.*` in `v3_followup`, ...),
//! the OpenAPI document generated from that file, and `rest.scope.list`; every other method
//! answers 404 `METHODNOTFOUNDEXCEPTION`.

use crate::core::{ApiError, as_i64, as_str};
use crate::entity::{KeyStyle, NumberStyle, View};
use crate::events::{self, Origin};
use crate::http::{RestRequest, json_response, take_connector, take_token, webhook_path};
use crate::idempotency;
use crate::metering::{self, time_block};
use crate::state::{Inner, lock};
use crate::v3_call::{Call, Handler, not_found};
use crate::v3_common::{V3Error, err, validation};
use crate::v3_eventlog;
use crate::v3_followup;
use crate::v3_hr_employee;
use crate::v3_humanresources;
use crate::v3_mail;
use crate::v3_note;
use crate::v3_note_document;
use crate::v3_note_file;
use crate::v3_query;
use crate::v3_query::id_param;
use crate::v3_served::{self, Param};
use crate::v3_task_more;
use crate::v3_task_result;
use crate::v3_timeman;
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The OpenAPI document under both of its names (no params, no scope).
const DOCUMENTATION: &[&str] = &["rest.documentation.openapi", "documentation"];

/// The method-to-scope mapping of the served methods (REST 3.0 only, no scope).
const SCOPE_LIST: &str = "rest.scope.list";

/// The handler of each family of `data/rest_v3.toml`, by prefix.
const HANDLERS: &[(&str, Handler)] = &[
    ("tasks.task", tasks),
    ("tasks.task.access", v3_task_more::run),
    ("tasks.task.chat.message", v3_task_more::run),
    ("tasks.task.file", v3_task_more::run),
    ("tasks.task.result", v3_task_result::run),
    ("note.collection", v3_note::run),
    ("note.document", v3_note_document::run),
    ("note.document.tree", v3_note_document::run),
    ("note.document.search", v3_note_document::run),
    ("note.file", v3_note_file::run),
    ("main.eventlog", v3_eventlog::run),
    ("timeman.record", v3_timeman::run),
    ("call.followup", v3_followup::run),
    ("humanresources.node", v3_humanresources::run),
    ("humanresources.node.member", v3_humanresources::run),
    ("humanresources.node.communication", v3_humanresources::run),
    ("humanresources.employee", v3_hr_employee::run),
    ("mail.mailbox", v3_mail::run),
    ("mail.message", v3_mail::run),
    ("mail.recipient", v3_mail::run),
];

/// The scopes the served methods need (a full-access webhook gets them).
pub(crate) fn scopes() -> impl Iterator<Item = &'static str> {
    v3_served::families().iter().map(|f| f.scope.as_str())
}

/// The OpenAPI document of exactly the methods [`served`] (paths `/<method>`, each a POST
/// with its params as the JSON body, tagged by scope).
fn openapi() -> Value {
    let mut paths = Map::new();
    let mut tags: Vec<&str> = Vec::new();
    let served = v3_served::families()
        .iter()
        .flat_map(|f| f.methods.iter().map(move |m| (f.scope.as_str(), m)));
    for (scope, m) in served {
        if !tags.contains(&scope) {
            tags.push(scope);
        }
        let mut properties = Map::new();
        for Param(name, ty, _) in &m.params {
            properties.insert(name.clone(), json!({ "type": ty }));
        }
        let required: Vec<&str> = m
            .params
            .iter()
            .filter(|p| p.2)
            .map(|p| p.0.as_str())
            .collect();
        let mut schema = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        paths.insert(
            format!("/{}", m.name),
            json!({"post": {
                "tags": [scope],
                "operationId": m.name,
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "result and time"}},
            }}),
        );
    }
    let tags: Vec<Value> = tags
        .iter()
        .map(|t| json!({"name": t, "description": format!("{t} module methods")}))
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Bitrix24 REST V3 API", "version": "1.0.0"},
        "tags": tags,
        "paths": paths,
        "components": {"schemas": {}},
    })
}

/// `rest.scope.list`: module -> controller -> method -> `{scope, title, description, fields}`
/// (../shared/protocol/auth-events-v3.md 7.2), for every served method: the module is the first
/// part of the name, the method the last, the controller what lies between; `fields` are the
/// method's params.
fn scope_list() -> Value {
    let mut out = Map::new();
    for f in v3_served::families() {
        for m in &f.methods {
            let Some((module, rest)) = m.name.split_once('.') else {
                continue;
            };
            let Some((controller, method)) = rest.rsplit_once('.') else {
                continue;
            };
            let fields: Vec<&str> = m.params.iter().map(|p| p.0.as_str()).collect();
            let entry =
                json!({"scope": f.scope, "title": m.name, "description": null, "fields": fields});
            let module = out.entry(module).or_insert_with(|| json!({}));
            let controller = &mut module[controller];
            if controller.is_null() {
                *controller = json!({});
            }
            controller[method] = entry;
        }
    }
    Value::Object(out)
}

fn error_response(e: &V3Error) -> Response {
    let mut inner = Map::new();
    inner.insert("code".into(), json!(e.code));
    inner.insert("message".into(), json!(e.message));
    if let Some(v) = &e.validation {
        inner.insert("validation".into(), (**v).clone());
    }
    json_response(e.status, &json!({ "error": inner }))
}

/// Handles `/rest/api/{method}` and `/rest/api/{uid}/{code}/{method}`.
pub(crate) fn handle(inner: &Arc<Inner>, req: &RestRequest<'_>) -> Response {
    let Some((webhook, name)) = webhook_path(req.segs) else {
        return error_response(&not_found(""));
    };
    let family = v3_served::find(name).map(|(f, _)| f);
    let scope = family.map(|f| f.scope.as_str());
    let meta = DOCUMENTATION.contains(&name) || name == SCOPE_LIST;
    if !inner.rest_v3 || (scope.is_none() && !meta) {
        return error_response(&not_found(name));
    }
    let mut params: Map<String, Value> = if *req.method == Method::POST && !req.body.is_empty() {
        let ct = req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match serde_json::from_slice::<Value>(req.body) {
            Ok(Value::Object(m)) if ct.to_ascii_lowercase().starts_with("application/json") => m,
            _ => return error_response(&err(400, "INVALIDJSONEXCEPTION", "Invalid JSON.")),
        }
    } else {
        Map::new()
    };
    let mut q = crate::php::parse_str(req.query);
    let token = take_token(&mut params, req.headers).or_else(|| take_token(&mut q, req.headers));
    let connector = take_connector(&mut params);
    let start = inner.now();
    if !lock(&inner.limits).admit(start) {
        return json_response(503, &ApiError::query_limit().body());
    }
    let Ok(caller) = inner.authenticate(webhook, token.as_deref(), connector) else {
        return error_response(&err(401, "ACCESSDENIEDEXCEPTION", "Access denied."));
    };
    *lock(&inner.counters.methods)
        .entry(format!("api:{name}"))
        .or_insert(0) += 1;
    let allowed = match scope {
        Some("tasks") => caller.has_scope("task") || caller.has_scope("tasks"),
        Some(scope) => caller.has_scope(scope),
        None => true,
    };
    if !allowed {
        return error_response(&err(
            403,
            "INSUFFICIENTSCOPEEXCEPTION",
            "Insufficient scope for this method.",
        ));
    }
    if metering::over_limit(inner, &caller.limiter_key, name, start) {
        return error_response(&err(
            429,
            "RATELIMITEXCEPTION",
            "Request was blocked because the limit was exceeded.",
        ));
    }
    let pending = match idempotency::begin(
        &inner.idempotency,
        inner.now(),
        &caller,
        name,
        req.headers,
        &params,
    ) {
        Ok(pending) => pending,
        Err(answer) => return *answer,
    };
    let result = match family {
        Some(family) => run(&Call {
            inner,
            caller: &caller,
            name,
            p: &params,
            family,
        }),
        None if name == SCOPE_LIST => Ok(scope_list()),
        None => Ok(openapi()),
    };
    let finish = inner.now();
    let op = metering::record(inner, &caller.limiter_key, name, start, finish);
    let answer = match result {
        Ok(r) => {
            let body = json!({"result": r, "time": time_block(start, finish, finish - start, op)});
            pending.keep(&inner.idempotency, inner.now(), &params, &body);
            json_response(200, &body)
        }
        Err(e) => error_response(&e),
    };
    pending.echo(answer)
}

fn priority_name(n: i64) -> &'static str {
    match n {
        0 => "low",
        2 => "high",
        _ => "average",
    }
}

fn status_name(n: i64) -> &'static str {
    match n {
        3 => "in_progress",
        4 => "supposedly_completed",
        5 => "completed",
        6 => "deferred",
        7 => "declined",
        _ => "pending",
    }
}

fn priority_code(s: &str) -> i64 {
    match s {
        "low" => 0,
        "high" => 2,
        _ => 1,
    }
}

fn status_code(s: &str) -> i64 {
    match s {
        "in_progress" => 3,
        "supposedly_completed" => 4,
        "completed" => 5,
        "deferred" => 6,
        "declined" => 7,
        _ => 2,
    }
}

/// (v3 name, legacy UPPER name)
const MAP: &[(&str, &str)] = &[
    ("id", "ID"),
    ("title", "TITLE"),
    ("description", "DESCRIPTION"),
    ("creatorId", "CREATED_BY"),
    ("created", "CREATED_DATE"),
    ("responsibleId", "RESPONSIBLE_ID"),
    ("deadline", "DEADLINE"),
    ("startPlan", "START_DATE_PLAN"),
    ("endPlan", "END_DATE_PLAN"),
    ("groupId", "GROUP_ID"),
    ("stageId", "STAGE_ID"),
    ("priority", "PRIORITY"),
    ("status", "STATUS"),
    ("parentId", "PARENT_ID"),
    ("changed", "CHANGED_DATE"),
    ("closed", "CLOSED_DATE"),
    ("xmlId", "XML_ID"),
];

fn dto(row: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    for (v3, up) in MAP {
        let v = row.get(*up).cloned().unwrap_or(Value::Null);
        let v = match *v3 {
            "priority" => json!(priority_name(as_i64(&v).unwrap_or(1))),
            "status" => json!(status_name(as_i64(&v).unwrap_or(2))),
            "needsControl" => Value::Bool(false),
            _ => v,
        };
        m.insert((*v3).to_string(), v);
    }
    m
}

fn user_obj(inner: &Inner, id: Option<i64>, fields: &[&str]) -> Value {
    let data = inner.read_data();
    let Some(u) = id.and_then(|i| data.users.get(&(i as u64))) else {
        return Value::Null;
    };
    let mut m = Map::new();
    for f in fields {
        let v = match *f {
            "id" => json!(u.id),
            "name" => json!(format!("{} {}", u.name, u.last_name)),
            "email" => json!(u.email),
            _ => continue,
        };
        m.insert((*f).to_string(), v);
    }
    Value::Object(m)
}

fn apply_select(
    inner: &Inner,
    d: &Map<String, Value>,
    select: Option<&Value>,
    list: bool,
) -> Result<Value, V3Error> {
    let Some(items) = v3_query::select_names(select)? else {
        return Ok(if list {
            json!({"id": d.get("id").cloned().unwrap_or(Value::Null)})
        } else {
            Value::Object(d.clone())
        });
    };
    let mut out = Map::new();
    let mut related: Vec<(String, Vec<String>)> = Vec::new();
    for it in items {
        if let Some((rel, field)) = it.split_once('.') {
            if !matches!(rel, "creator" | "responsible") {
                return Err(err(
                    400,
                    "UNKNOWNDTOPROPERTYEXCEPTION",
                    format!("Unknown field \"{rel}\" found in entity \"TaskDto\"."),
                ));
            }
            match related.iter_mut().find(|(r, _)| r == rel) {
                Some((_, fs)) => fs.push(field.to_string()),
                None => related.push((rel.to_string(), vec![field.to_string()])),
            }
        } else if let Some(v) = d.get(&it) {
            out.insert(it, v.clone());
        }
    }
    for (rel, fs) in related {
        let idf = if rel == "creator" {
            "creatorId"
        } else {
            "responsibleId"
        };
        let fs: Vec<&str> = fs.iter().map(String::as_str).collect();
        out.insert(rel, user_obj(inner, d.get(idf).and_then(as_i64), &fs));
    }
    Ok(Value::Object(out))
}

fn to_legacy_fields(f: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in f {
        let Some((_, up)) = MAP.iter().find(|(n, _)| n == k) else {
            continue;
        };
        let v = match k.as_str() {
            "priority" => json!(priority_code(v.as_str().unwrap_or(""))),
            "status" => json!(status_code(v.as_str().unwrap_or(""))),
            _ => v.clone(),
        };
        out.insert((*up).to_string(), v);
    }
    out
}

/// How the tasks' store renders a task for [`dto`]: legacy UPPER keys, native numbers.
const TASK_VIEW: View = View {
    camel_in: false,
    keys: KeyStyle::Upper,
    numbers: NumberStyle::Native,
    crm_item: false,
};

/// Task `id` in its REST 3.0 form (the fields [`MAP`] names), when it exists.
pub(crate) fn task(inner: &Inner, id: i64) -> Option<Map<String, Value>> {
    let fam = inner.family("tasks.task")?;
    let view = TASK_VIEW;
    let data = inner.read_data();
    match data.stores.get("tasks.task")?.render_full(fam, view, id) {
        Some(Value::Object(row)) => Some(dto(&row)),
        _ => None,
    }
}

/// Runs one method of a family in [`HANDLERS`].
fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let handler = HANDLERS
        .iter()
        .find(|(prefix, _)| *prefix == c.family.prefix);
    handler.map_or_else(|| c.shared(), |(_, h)| h(c))
}

/// Runs one `tasks.task.*` method.
fn tasks(c: &Call<'_>) -> Result<Value, V3Error> {
    let (inner, p, name) = (c.inner, c.p, c.name);
    let Some(fam) = inner.family("tasks.task") else {
        return Err(not_found(name));
    };
    let view = TASK_VIEW;
    let now = inner.now();
    let not_found = |id: i64| {
        err(
            400,
            "ENTITYNOTFOUNDEXCEPTION",
            format!("Entity with ID {id} was not found."),
        )
    };
    match c.method() {
        "get" => {
            let id = id_param(p)?;
            let row = task(inner, id).ok_or_else(|| not_found(id))?;
            let item = apply_select(inner, &row, p.get("select"), false)?;
            Ok(json!({ "item": item }))
        }
        "list" => {
            let known = |f: &str| MAP.iter().any(|(n, _)| *n == f);
            let (limit, offset) =
                v3_query::pagination(p, 1000, "Unable to recognize the pagination parameter")?;
            let rows: Vec<Map<String, Value>> = {
                let data = inner.read_data();
                data.stores
                    .get("tasks.task")
                    .map(|s| {
                        s.rows
                            .keys()
                            .filter_map(|id| match s.render_full(fam, view, *id) {
                                Some(Value::Object(m)) => Some(dto(&m)),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut hits = Vec::new();
            for d in rows {
                if let Some(f) = p.get("filter")
                    && !v3_query::matches(&d, f, false, &known, "TaskDto")?
                {
                    continue;
                }
                hits.push(d);
            }
            v3_query::sort(&mut hits, p.get("order"), &known)?;
            let items = hits
                .iter()
                .skip(offset)
                .take(limit)
                .map(|d| apply_select(inner, d, p.get("select"), true))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "items": items }))
        }
        "add" => {
            let Some(Value::Object(f)) = p.get("fields") else {
                return Err(validation(
                    "fields",
                    "Required field `fields` is not specified",
                ));
            };
            if f.get("title")
                .and_then(as_str)
                .is_none_or(|t| t.trim().is_empty())
            {
                return Err(validation(
                    "title",
                    "Required field `title` is not specified",
                ));
            }
            let fields = to_legacy_fields(f);
            let id = {
                let mut data = inner.write_data();
                let store = data.stores.entry("tasks.task".into()).or_default();
                store
                    .add(fam, View::native(fam), &fields, c.caller.user_id, now, None)
                    .map_err(|e| err(400, "VALIDATION_DTOVALIDATIONEXCEPTION", e.desc))?
            };
            events::emit(
                inner,
                "ONTASKADD",
                &json!({"FIELDS_AFTER": {"ID": id.to_string()}}),
                &Origin::of(c.caller),
            );
            // The docs' answer is the new task (`result.item`), not its id alone.
            let row = {
                let data = inner.read_data();
                data.stores
                    .get("tasks.task")
                    .and_then(|s| s.render_full(fam, view, id))
            };
            let item = match row {
                Some(Value::Object(row)) => Value::Object(dto(&row)),
                _ => json!({ "id": id }),
            };
            Ok(json!({ "item": item }))
        }
        "update" => {
            let id = id_param(p)?;
            let fields = match p.get("fields") {
                Some(Value::Object(f)) => to_legacy_fields(f),
                _ => {
                    return Err(validation(
                        "fields",
                        "Required field `fields` is not specified",
                    ));
                }
            };
            let ok = {
                let mut data = inner.write_data();
                let store = data.stores.entry("tasks.task".into()).or_default();
                store.update(fam, View::native(fam), id, &fields, c.caller.user_id, now)
            };
            if !ok {
                return Err(not_found(id));
            }
            events::emit(
                inner,
                "ONTASKUPDATE",
                &json!({"FIELDS_BEFORE": {"ID": id.to_string()}, "FIELDS_AFTER": {"ID": id.to_string()}}),
                &Origin::of(c.caller),
            );
            Ok(json!({ "result": true }))
        }
        "delete" => {
            let id = id_param(p)?;
            let removed = {
                let mut data = inner.write_data();
                data.stores
                    .get_mut("tasks.task")
                    .and_then(|s| s.rows.remove(&id))
            };
            if removed.is_none() {
                return Err(not_found(id));
            }
            events::emit(
                inner,
                "ONTASKDELETE",
                &json!({"FIELDS_BEFORE": {"ID": id.to_string()}}),
                &Origin::of(c.caller),
            );
            Ok(json!({ "result": true }))
        }
        _ => c.shared(),
    }
}
