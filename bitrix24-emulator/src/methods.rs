//! v2 method dispatch: the method table, system methods, entity families and `batch`.

use crate::clock;
use crate::core::{
    ApiError, AuthKind, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param,
};
use crate::entities::{self, Family, Flavor, ListQuery, View};
use crate::events::{self, Origin};
use crate::php;
use crate::state::{ALL_SCOPES, Inner, lock};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const GLOBAL: &[&str] = &[
    "batch",
    "scope",
    "methods",
    "method.get",
    "server.time",
    "profile",
    "app.info",
    "feature.get",
    "events",
    "event.bind",
    "event.unbind",
    "event.get",
    "event.test",
    "event.offline.get",
    "event.offline.clear",
    "event.offline.error",
    "event.offline.list",
];

/// Builds the method -> scope table.
pub(crate) fn method_table(families: &[Family]) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    for m in GLOBAL {
        t.insert((*m).to_string(), String::new());
    }
    for m in ["user.current", "user.get"] {
        t.insert(m.to_string(), "user".to_string());
    }
    t.insert("department.get".to_string(), "department".to_string());
    for f in families {
        let mut actions = vec!["add", "get", "list", "update", "delete"];
        match f.spec.flavor {
            Flavor::LegacyCrm => actions.push("fields"),
            Flavor::Tasks => actions.extend(["complete", "getfields"]),
        }
        for a in actions {
            t.insert(format!("{}.{a}", f.spec.prefix), f.spec.scope.clone());
        }
    }
    for a in ["add", "get", "list", "update", "delete", "fields"] {
        t.insert(format!("crm.item.{a}"), "crm".to_string());
    }
    t
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

/// A completed call: outcome and its `time` block.
pub(crate) struct Done {
    pub outcome: Outcome,
    pub time: Value,
}

fn insufficient_scope(c: &Caller) -> ApiError {
    let who = if c.kind == AuthKind::Webhook {
        "webhook token"
    } else {
        "access token"
    };
    ApiError::new(
        401,
        "insufficient_scope",
        format!("The request requires higher privileges than provided by the {who}"),
    )
}

/// Runs one v2 method with scope check, operating-limit check and metering.
pub(crate) fn call(
    inner: &Arc<Inner>,
    c: &Caller,
    method: &str,
    params: &Map<String, Value>,
    in_batch: bool,
) -> Result<Done, ApiError> {
    *lock(&inner.counters.methods)
        .entry(method.to_string())
        .or_insert(0) += 1;
    if in_batch && matches!(method, "batch" | "upload" | "download") {
        return Err(ApiError::new(
            405,
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "Method is not allowed for batch usage",
        ));
    }
    let Some(scope) = inner.methods.get(method) else {
        return Err(ApiError::method_not_found());
    };
    if !c.has_scope(scope) {
        return Err(insufficient_scope(c));
    }
    let metered = method != "batch";
    let start = inner.now();
    if metered {
        let limit = *lock(&inner.operating_limit);
        let op = lock(&inner.limits).operating(&c.limiter_key, method, start);
        if op > limit {
            return Err(ApiError::new(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            ));
        }
    }
    let result = dispatch(inner, c, method, params);
    let extra = {
        let f = lock(&inner.faults);
        f.cfg
            .method_processing
            .get(method)
            .or_else(|| f.cfg.method_processing.get("*"))
            .map_or(0.0, std::time::Duration::as_secs_f64)
    };
    let finish = inner.now() + extra;
    let processing = finish - start;
    let op = if metered {
        lock(&inner.limits).record(&c.limiter_key, method, start, processing, finish)
    } else {
        (0.0, (start + 600.0) as i64)
    };
    let outcome = result?;
    Ok(Done {
        outcome,
        time: time_block(start, finish, processing, op),
    })
}

fn dispatch(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    match method {
        "batch" => batch(inner, c, p),
        "server.time" => Ok(Outcome::of(json!(clock::iso(inner.now())))),
        "scope" => {
            let full = param(p, "full").is_some_and(php::truthy);
            let list: Vec<String> = if full {
                ALL_SCOPES.iter().map(|s| (*s).to_string()).collect()
            } else {
                c.scopes.clone()
            };
            Ok(Outcome::of(json!(list)))
        }
        "methods" => Ok(Outcome::of(methods_list(inner, c, p))),
        "method.get" => {
            let name = p.get("name").and_then(as_str).unwrap_or_default();
            let scope = inner.methods.get(&name);
            Ok(Outcome::of(json!({
                "isExisting": scope.is_some(),
                "isAvailable": scope.is_some_and(|s| c.has_scope(s)),
            })))
        }
        "profile" => profile(inner, c),
        "app.info" => Ok(Outcome::of(app_info(inner, c))),
        "feature.get" => {
            let code = param(p, "code").and_then(as_str).unwrap_or_default();
            let v = if matches!(
                code.as_str(),
                "rest_offline_extended" | "rest_auth_connector"
            ) {
                "Y"
            } else {
                "N"
            };
            Ok(Outcome::of(json!({ "value": v })))
        }
        "events" => events::list_events(inner, c),
        "event.bind" => events::bind(inner, c, p),
        "event.unbind" => events::unbind(inner, c, p),
        "event.get" => events::get(inner, c),
        "event.test" => events::test(inner, c, p),
        "event.offline.get" => events::offline_get(inner, c, p),
        "event.offline.clear" => events::offline_clear(inner, c, p),
        "event.offline.error" => events::offline_error(inner, c, p),
        "event.offline.list" => events::offline_list(inner, c, p),
        "user.current" => {
            let data = inner
                .data
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let u = data
                .users
                .get(&c.user_id)
                .map_or(Value::Null, |u| user_json(inner, u));
            Ok(Outcome::of(u))
        }
        "user.get" => user_get(inner, p),
        "department.get" => {
            let id = param(p, "id").and_then(as_i64);
            let rows: Vec<Value> = if id.is_none_or(|i| i == 1) {
                vec![json!({"ID": "1", "NAME": "Company", "SORT": 500, "UF_HEAD": "1"})]
            } else {
                Vec::new()
            };
            let n = rows.len() as i64;
            Ok(Outcome {
                result: Value::Array(rows),
                total: Some(n),
                next: None,
            })
        }
        _ => {
            if let Some(action) = method.strip_prefix("crm.item.") {
                return crm_item(inner, c, action, p);
            }
            let (prefix, action) = method.rsplit_once('.').unwrap_or((method, ""));
            match inner.family(prefix) {
                Some(f) => family_call(inner, c, f, View::native(f), action, p, false),
                None => Err(ApiError::method_not_found()),
            }
        }
    }
}

fn methods_list(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> Value {
    let scope = param(p, "scope").and_then(as_str);
    let full = param(p, "full").is_some_and(php::truthy);
    let names: Vec<&String> = inner
        .methods
        .iter()
        .filter(|(name, _)| !name.starts_with("event") && !name.starts_with("crm.item."))
        .filter(|(_, s)| match &scope {
            Some(sc) if sc.is_empty() => s.is_empty(),
            Some(sc) => *s == sc,
            None if full => true,
            None => s.is_empty() || c.has_scope(s),
        })
        .map(|(n, _)| n)
        .collect();
    json!(names)
}

#[allow(clippy::unnecessary_wraps)]
fn profile(inner: &Inner, c: &Caller) -> MethodResult {
    let data = inner
        .data
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(u) = data.users.get(&c.user_id) else {
        return Ok(Outcome::of(json!({})));
    };
    Ok(Outcome::of(json!({
        "ID": u.id.to_string(),
        "ADMIN": u.admin,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
        "TIME_ZONE_OFFSET": 0,
    })))
}

fn app_info(inner: &Inner, c: &Caller) -> Value {
    if c.kind == AuthKind::Webhook {
        return json!({"SCOPE": c.scopes, "LICENSE": "en_project"});
    }
    let auth = lock(&inner.auth);
    json!({
        "ID": "1",
        "CODE": auth.client_id,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": true,
        "PAYMENT_EXPIRED": "N",
        "DAYS": null,
        "LANGUAGE_ID": "en",
        "LICENSE": "en_project",
        "LICENSE_TYPE": "project",
        "LICENSE_FAMILY": "project",
    })
}

fn user_json(inner: &Inner, u: &crate::state::User) -> Value {
    let login = clock::iso(inner.now() - 3600.0);
    json!({
        "ID": u.id.to_string(),
        "XML_ID": null,
        "ACTIVE": true,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "SECOND_NAME": "",
        "EMAIL": u.email,
        "LAST_LOGIN": login,
        "DATE_REGISTER": "2024-01-01T00:00:00+00:00",
        "IS_ONLINE": "Y",
        "TIME_ZONE_OFFSET": "0",
        "LAST_ACTIVITY_DATE": clock::plain_datetime(inner.now() as i64 - 60),
        "PERSONAL_GENDER": "",
        "UF_DEPARTMENT": [u.department],
        "USER_TYPE": "employee",
    })
}

#[allow(clippy::unnecessary_wraps)]
fn user_get(inner: &Inner, p: &Map<String, Value>) -> MethodResult {
    let data = inner
        .data
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut filter: Vec<(String, Value)> = Vec::new();
    if let Some(Value::Object(f)) = param(p, "filter") {
        filter.extend(f.iter().map(|(k, v)| (k.to_ascii_uppercase(), v.clone())));
    }
    for (k, v) in p {
        let ku = k.to_ascii_uppercase();
        if !matches!(
            ku.as_str(),
            "FILTER" | "SORT" | "ORDER" | "START" | "ADMIN_MODE"
        ) {
            filter.push((ku, v.clone()));
        }
    }
    let start = p.get("start").and_then(as_i64).unwrap_or(0).max(0) as usize / 50 * 50;
    let rows: Vec<Value> = data
        .users
        .values()
        .map(|u| user_json(inner, u))
        .filter(|row| {
            filter.iter().all(|(k, v)| {
                let key = k.trim_start_matches(['=', '!', '%', '@']);
                let Some(have) = row.get(key) else {
                    return true;
                };
                let want: Vec<String> = match v {
                    Value::Array(_) | Value::Object(_) => {
                        list_items(v).into_iter().filter_map(as_str).collect()
                    }
                    other => as_str(other).into_iter().collect(),
                };
                let have_s: Vec<String> = match have {
                    Value::Array(a) => a.iter().filter_map(as_str).collect(),
                    Value::Bool(b) => vec![
                        if *b { "Y".into() } else { "N".into() },
                        if *b { "1".into() } else { String::new() },
                        b.to_string(),
                    ],
                    other => as_str(other).into_iter().collect(),
                };
                want.iter()
                    .any(|w| have_s.iter().any(|h| h.eq_ignore_ascii_case(w)))
            })
        })
        .collect();
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start).take(50).collect();
    let next = (start + page.len() < total).then_some((start + 50) as i64);
    Ok(Outcome {
        result: Value::Array(page),
        total: Some(total as i64),
        next,
    })
}

fn crm_item(inner: &Arc<Inner>, c: &Caller, action: &str, p: &Map<String, Value>) -> MethodResult {
    let etid = param(p, "entityTypeId").and_then(as_i64);
    let Some(etid) = etid else {
        return Err(ApiError::new(
            400,
            "100",
            "Could not find value for parameter {entityTypeId}",
        ));
    };
    let Some(fam) = u32::try_from(etid)
        .ok()
        .and_then(|e| inner.family_by_type(e))
    else {
        return Err(ApiError::new(400, "NOT_FOUND", "Smart process not found"));
    };
    if action == "fields" {
        return Ok(Outcome::of(
            json!({"fields": entities::fields_meta(fam, View::crm_item())}),
        ));
    }
    family_call(inner, c, fam, View::crm_item(), action, p, true)
}

fn event_data(fam: &Family, action: &str, id: i64) -> Value {
    match fam.spec.flavor {
        Flavor::LegacyCrm => json!({"FIELDS": {"ID": id.to_string()}}),
        Flavor::Tasks => match action {
            "ADD" => json!({"FIELDS_AFTER": {"ID": id.to_string()}}),
            "DELETE" => json!({"FIELDS_BEFORE": {"ID": id.to_string()}}),
            _ => {
                json!({"FIELDS_BEFORE": {"ID": id.to_string()}, "FIELDS_AFTER": {"ID": id.to_string()}})
            }
        },
    }
}

fn fire(inner: &Arc<Inner>, c: &Caller, fam: &Family, action: &str, id: i64) {
    if let Some(prefix) = &fam.spec.event_prefix {
        let name = format!("{prefix}{action}");
        events::emit(inner, &name, &event_data(fam, action, id), &Origin::of(c));
    }
}

fn missing_id(fam: &Family, d7: bool, name: &str) -> ApiError {
    if d7 {
        ApiError::new(
            400,
            "100",
            format!("Could not find value for parameter {{{name}}}"),
        )
    } else {
        match fam.spec.flavor {
            Flavor::LegacyCrm => ApiError::crm("ID is not defined or invalid."),
            Flavor::Tasks => ApiError::new(
                400,
                "100",
                "CTaskItem All parameters in the constructor must have real class type (internal error)",
            ),
        }
    }
}

fn not_found(fam: &Family, d7: bool, action: &str) -> ApiError {
    if d7 {
        return ApiError::new(400, "NOT_FOUND", "Element not found");
    }
    match (fam.spec.flavor, action) {
        (Flavor::LegacyCrm, _) => ApiError::crm("Not found"),
        (Flavor::Tasks, "delete") => ApiError::new(400, "1048582", "No access to delete the task"),
        (Flavor::Tasks, _) => ApiError::new(400, "0", "Action on the task is not allowed"),
    }
}

fn fields_param<'a>(
    fam: &Family,
    d7: bool,
    p: &'a Map<String, Value>,
) -> Result<&'a Map<String, Value>, ApiError> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match param(p, "fields") {
        Some(Value::Object(m)) => Ok(m),
        Some(Value::Array(a)) if a.is_empty() && fam.spec.flavor == Flavor::LegacyCrm && !d7 => {
            Ok(EMPTY.get_or_init(Map::new))
        }
        None if d7 || fam.spec.flavor == Flavor::Tasks => Err(ApiError::new(
            400,
            "100",
            "Could not find value for parameter {fields} (internal error)",
        )),
        _ => Err(match fam.spec.flavor {
            Flavor::LegacyCrm if !d7 => ApiError::crm("Parameter 'fields' must be array."),
            _ => ApiError::new(
                400,
                "100",
                "Invalid value to match with parameter {fields}. Should be value of type array.",
            ),
        }),
    }
}

fn family_call(
    inner: &Arc<Inner>,
    c: &Caller,
    fam: &Family,
    view: View,
    action: &str,
    p: &Map<String, Value>,
    d7: bool,
) -> MethodResult {
    let store_key = fam.spec.prefix.as_str();
    let id_name = if d7 { "id" } else { fam.spec.id_param.as_str() };
    let (add_s, get_s, upd_s, del_s, wrapper) = if d7 {
        let item = entities::Shape::Wrapped("item".into(), Box::new(entities::Shape::Row));
        (
            item.clone(),
            item.clone(),
            item,
            entities::Shape::EmptyArray,
            Some("items"),
        )
    } else {
        (
            fam.spec.add.clone(),
            fam.spec.get.clone(),
            fam.spec.update.clone(),
            fam.spec.delete.clone(),
            fam.spec.list_wrapper.as_deref(),
        )
    };
    let id_of = || param(p, id_name).and_then(as_i64).filter(|n| *n > 0);
    let now = inner.now();
    match action {
        "add" => {
            let fields = fields_param(fam, d7, p)?;
            let (id, result) = {
                let mut data = inner
                    .data
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let store = data.stores.entry(store_key.to_string()).or_default();
                let id = store.add(fam, view, fields, c.user_id, now)?;
                let r = entities::shape(&add_s, id, || {
                    store.render_full(fam, view, id).unwrap_or(Value::Null)
                });
                (id, r)
            };
            fire(inner, c, fam, "ADD", id);
            Ok(Outcome::of(result))
        }
        "get" => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            let data = inner
                .data
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let row = data
                .stores
                .get(store_key)
                .and_then(|s| s.render_sel(fam, view, id, param(p, "select")));
            match row {
                Some(r) => Ok(Outcome::of(entities::shape(&get_s, id, || r))),
                None if fam.spec.flavor == Flavor::Tasks && !d7 => Ok(Outcome::of(json!([]))),
                None => Err(not_found(fam, d7, "get")),
            }
        }
        "list" => {
            let q = ListQuery::parse(fam, view, p, d7)?;
            let start = p.get("start").and_then(as_i64).unwrap_or(0);
            let data = inner
                .data
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let page = match data.stores.get(store_key) {
                Some(s) => s.list(fam, view, &q, start, 50),
                None => entities::Page {
                    rows: Vec::new(),
                    total: (start != -1).then_some(0),
                    next: None,
                },
            };
            Ok(entities::list_outcome(page, wrapper))
        }
        "update" | "complete" => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            let empty = Map::new();
            let fields = if action == "complete" {
                &empty
            } else {
                fields_param(fam, d7, p)?
            };
            let result = {
                let mut data = inner
                    .data
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let store = data.stores.entry(store_key.to_string()).or_default();
                if !store.update(fam, view, id, fields, c.user_id, now) {
                    return Err(not_found(fam, d7, action));
                }
                if action == "complete" {
                    store.set(fam, id, "STATUS", &json!(5));
                    store.set(fam, id, "CLOSED_BY", &json!(c.user_id));
                    store.set(fam, id, "CLOSED_DATE", &json!(clock::iso(now)));
                }
                entities::shape(&upd_s, id, || {
                    store.render_full(fam, view, id).unwrap_or(Value::Null)
                })
            };
            fire(inner, c, fam, "UPDATE", id);
            Ok(Outcome::of(result))
        }
        "delete" => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            {
                let mut data = inner
                    .data
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let removed = data
                    .stores
                    .get_mut(store_key)
                    .and_then(|s| s.rows.remove(&id));
                if removed.is_none() {
                    return Err(not_found(fam, d7, "delete"));
                }
            }
            fire(inner, c, fam, "DELETE", id);
            Ok(Outcome::of(entities::shape(&del_s, id, || Value::Null)))
        }
        "fields" => Ok(Outcome::of(entities::fields_meta(fam, view))),
        "getfields" => Ok(Outcome::of(
            json!({"fields": entities::fields_meta(fam, view)}),
        )),
        _ => Err(ApiError::method_not_found()),
    }
}

// ---------------------------------------------------------------- batch

const MAX_BATCH: usize = 50;

#[allow(clippy::unnecessary_wraps)]
fn batch(inner: &Arc<Inner>, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let halt = param(p, "halt").is_some_and(php::php_bool);
    let cmds: Vec<(String, String)> = match param(p, "cmd") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (i.to_string(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let mut result = Map::new();
    let mut result_error = Map::new();
    let mut result_total = Map::new();
    let mut result_next = Map::new();
    let mut result_time = Map::new();
    for (i, (key, cmd)) in cmds.iter().enumerate() {
        if i >= MAX_BATCH {
            result_error.insert(
                key.clone(),
                ApiError::new(
                    400,
                    "ERROR_BATCH_LENGTH_EXCEEDED",
                    "Max batch length exceeded",
                )
                .body(),
            );
            continue;
        }
        let (method, query) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
        let method = method.trim().to_ascii_lowercase();
        let mut sub = php::parse_str(query);
        for v in sub.values_mut() {
            resolve_refs(
                v,
                &result,
                &result_error,
                &result_total,
                &result_next,
                &result_time,
            );
        }
        for k in ["auth", "access_token"] {
            sub.remove(k);
        }
        match call(inner, c, &method, &sub, true) {
            Ok(done) => {
                result.insert(key.clone(), done.outcome.result);
                if let Some(t) = done.outcome.total {
                    result_total.insert(key.clone(), json!(t));
                }
                if let Some(n) = done.outcome.next {
                    result_next.insert(key.clone(), json!(n));
                }
                result_time.insert(key.clone(), done.time);
            }
            Err(e) => {
                result_error.insert(key.clone(), e.body());
                if halt {
                    break;
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("result".into(), php::php_array(result));
    out.insert("result_error".into(), php::php_array(result_error));
    out.insert("result_total".into(), php::php_array(result_total));
    out.insert("result_next".into(), php::php_array(result_next));
    out.insert("result_time".into(), php::php_array(result_time));
    Ok(Outcome::of(Value::Object(out)))
}

#[allow(clippy::many_single_char_names)]
fn resolve_refs(
    v: &mut Value,
    result: &Map<String, Value>,
    error: &Map<String, Value>,
    total: &Map<String, Value>,
    next: &Map<String, Value>,
    time: &Map<String, Value>,
) {
    match v {
        Value::String(s) => {
            if !s.contains('$') {
                return;
            }
            let lookup = |token: &str| -> Option<Value> {
                let rest = token.strip_prefix('$')?;
                let b = rest.find('[')?;
                let src = match &rest[..b] {
                    "result" => result,
                    "error" => error,
                    "total" => total,
                    "next" => next,
                    "time" => time,
                    _ => return None,
                };
                let mut segs = Vec::new();
                let mut r = &rest[b..];
                while let Some(x) = r.strip_prefix('[') {
                    let end = x.find(']')?;
                    segs.push(&x[..end]);
                    r = &x[end + 1..];
                }
                let (first, path) = segs.split_first()?;
                let mut cur = src.get(*first)?;
                for seg in path {
                    let next = match cur {
                        Value::Object(m) => m.get(*seg),
                        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                        _ => None,
                    };
                    match next {
                        Some(n) => cur = n,
                        None => break,
                    }
                }
                Some(cur.clone())
            };
            // Whole-value reference keeps the type.
            if s.starts_with('$')
                && !s.contains(char::is_whitespace)
                && let Some(val) = lookup(s)
            {
                *v = val;
                return;
            }
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(pos) = rest.find('$') {
                out.push_str(&rest[..pos]);
                let tail = &rest[pos..];
                let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
                let token = &tail[..end];
                match lookup(token) {
                    Some(Value::String(r)) => out.push_str(&r),
                    _ => out.push_str(token),
                }
                rest = &tail[end..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => {
            for x in a {
                resolve_refs(x, result, error, total, next, time);
            }
        }
        Value::Object(m) => {
            for x in m.values_mut() {
                resolve_refs(x, result, error, total, next, time);
            }
        }
        _ => {}
    }
}
