//! v2 method dispatch: the method table, system methods, entity families and `batch`.

use crate::clock;
use crate::core::{
    ApiError, AuthKind, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param,
};
use crate::entity::{self, Family, Flavor, ListQuery, View};
use crate::events::{self, Origin};
use crate::filter;
use crate::metering;
use crate::php;
use crate::state::{Inner, lock};
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
    for a in ["get", "add", "update", "delete", "fields"] {
        t.insert(format!("department.{a}"), "department".to_string());
    }
    for f in families {
        if f.custom {
            for (m, key) in crate::documented::METHODS {
                if *key == f.spec.prefix {
                    t.insert((*m).to_string(), f.spec.scope.clone());
                }
            }
            continue;
        }
        let actions: Vec<String> = if f.origin.starts_with("specs/") {
            crate::specs::served_actions(f)
        } else {
            let mut v = vec!["add", "get", "list", "update", "delete"];
            match f.spec.flavor {
                Flavor::LegacyCrm | Flavor::D7 => v.push("fields"),
                Flavor::Tasks => v.extend(["complete", "getfields"]),
            }
            v.into_iter().map(str::to_string).collect()
        };
        for a in actions {
            t.insert(
                format!("{}.{a}", f.spec.prefix).to_ascii_lowercase(),
                f.spec.scope.clone(),
            );
        }
    }
    for a in ["add", "get", "list", "update", "delete", "fields"] {
        t.insert(format!("crm.item.{a}"), "crm".to_string());
    }
    for a in ["add", "get", "list", "update", "delete", "fields"] {
        t.insert(format!("crm.type.{a}"), "crm".to_string());
    }
    t
}

/// A completed call: outcome and its `time` block.
pub(crate) struct Done {
    pub outcome: Outcome,
    pub time: Value,
}

fn insufficient_scope(c: &Caller, in_batch: bool) -> ApiError {
    // Inside a batch the documented result_error carries an empty description (batch.md).
    if in_batch {
        return ApiError::new(401, "insufficient_scope", "");
    }
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
    // Counted only for methods that exist, so random names cannot grow the table.
    *lock(&inner.counters.methods)
        .entry(method.to_string())
        .or_insert(0) += 1;
    if !c.has_scope(scope) {
        return Err(insufficient_scope(c, in_batch));
    }
    let metered = method != "batch";
    let start = inner.now();
    if metered {
        if metering::over_limit(inner, &c.limiter_key, method, start) {
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
        metering::record(inner, &c.limiter_key, method, start, finish)
    } else {
        (0.0, (start + 600.0) as i64)
    };
    let outcome = result?;
    Ok(Done {
        outcome,
        time: metering::time_block(start, finish, processing, op),
    })
}

fn dispatch(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    match method {
        "batch" => batch(inner, c, p),
        "server.time" => Ok(Outcome::of(json!(clock::iso(inner.now())))),
        "scope" => {
            let full = param(p, "full").is_some_and(php::truthy);
            let list: Vec<String> = if full {
                inner.all_scopes.clone()
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
        "department.get" => department_get(inner, p),
        "department.add" | "department.update" | "department.delete" => {
            department_write(inner, c, method, p)
        }
        "department.fields" => Ok(Outcome::of(json!({
            "ID": "ID",
            "NAME": "Department Name",
            "SORT": "Sort Order",
            "PARENT": "Parent Department",
            "UF_HEAD": "Manager",
        }))),
        "crm.type.add" => crm_type_add(inner, c, p),
        "crm.type.update" => crm_type_update(inner, c, p),
        "crm.type.delete" => crm_type_delete(inner, p),
        _ => {
            if let Some(r) = crate::documented::dispatch(inner, c, method, p) {
                return r;
            }
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
    let Some(u) = data.users.get(&c.user_id).filter(|u| u.active) else {
        return Ok(Outcome::of(json!({})));
    };
    // The emulator's server time is UTC and users keep the server zone: TIME_ZONE is empty and
    // the offset 0.
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
    let auth = lock(&inner.auth);
    if c.kind == AuthKind::Webhook {
        return json!({"SCOPE": c.scopes, "LICENSE": auth.license});
    }
    // LICENSE_TYPE / LICENSE_FAMILY are derived from the plan code (`en_ent250` -> `ent250`,
    // `ent`); a local app has no paid period, so `DAYS` is null.
    let ltype = auth
        .license
        .split_once('_')
        .map_or(auth.license.as_str(), |(_, t)| t)
        .to_string();
    let family: String = ltype
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    json!({
        "ID": 1,
        "CODE": auth.client_id,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": auth.app_installed,
        "PAYMENT_EXPIRED": "N",
        "DAYS": null,
        "LANGUAGE_ID": "en",
        "LICENSE": auth.license,
        "LICENSE_TYPE": ltype,
        "LICENSE_FAMILY": family,
    })
}

fn user_json(inner: &Inner, u: &crate::state::User) -> Value {
    let seen = lock(&inner.auth).last_seen.get(&u.id).copied();
    let mut m = Map::new();
    m.insert("ID".into(), json!(u.id.to_string()));
    m.insert("ACTIVE".into(), json!(u.active));
    m.insert("NAME".into(), json!(u.name));
    m.insert("LAST_NAME".into(), json!(u.last_name));
    m.insert("EMAIL".into(), json!(u.email));
    if let Some(t) = seen {
        m.insert("LAST_LOGIN".into(), json!(clock::iso(t)));
    }
    m.insert(
        "DATE_REGISTER".into(),
        json!(clock::iso(u.date_register as f64)),
    );
    m.insert("TIME_ZONE_OFFSET".into(), json!("0"));
    if let Some(t) = seen {
        m.insert(
            "LAST_ACTIVITY_DATE".into(),
            json!(clock::plain_datetime(t as i64)),
        );
    }
    m.insert("PERSONAL_GENDER".into(), json!(""));
    m.insert("UF_DEPARTMENT".into(), json!([u.department]));
    m.insert("USER_TYPE".into(), json!("employee"));
    Value::Object(m)
}

/// `user.get`: filter (top-level keys or `FILTER`) with the documented operators, `sort` +
/// `order`, `select`, pages of 50.
#[allow(clippy::unnecessary_wraps)]
fn user_get(inner: &Inner, p: &Map<String, Value>) -> MethodResult {
    let users: Vec<crate::state::User> = inner
        .data
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .users
        .values()
        .cloned()
        .collect();
    let mut conds: Vec<filter::JsonCond> = Vec::new();
    if let Some(Value::Object(f)) = param(p, "filter") {
        conds.extend(f.iter().map(|(k, v)| filter::JsonCond::new(k, v)));
    }
    for (k, v) in p {
        let ku = k.to_ascii_uppercase();
        if !matches!(
            ku.as_str(),
            "FILTER" | "SORT" | "ORDER" | "START" | "ADMIN_MODE" | "SELECT" | "IMAGE_RESIZE"
        ) {
            conds.push(filter::JsonCond::new(k, v));
        }
    }
    let mut rows: Vec<Value> = users
        .iter()
        .map(|u| user_json(inner, u))
        .filter(|row| {
            conds.iter().all(|c| {
                if c.field == "NAME_SEARCH" {
                    let want = c.wanted().cloned().unwrap_or(Value::Null);
                    return ["NAME", "LAST_NAME", "EMAIL"].iter().any(|f| {
                        row.get(*f).is_some_and(|h| {
                            filter::JsonCond::new(&format!("%{f}"), &want).matches(h)
                        })
                    });
                }
                // Unknown fields are ignored, as the portal ignores filters it cannot apply.
                row.get(&c.field).is_none_or(|h| c.matches(h))
            })
        })
        .collect();
    sort_rows(&mut rows, p, "ID", false);
    let select: Vec<String> = param(p, "select")
        .map(list_items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(as_str)
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if !select.is_empty() && !select.iter().any(|s| s == "*") {
        for r in &mut rows {
            if let Value::Object(m) = r {
                m.retain(|k, _| {
                    select.contains(k)
                        || (k.starts_with("UF_") && select.iter().any(|s| s == "UF_*"))
                });
            }
        }
    }
    Ok(page_of(rows, p))
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
    let etid = u32::try_from(etid).ok();
    let dynamic = etid.and_then(|e| inner.dynamic_family(e));
    let Some(fam) = etid
        .and_then(|e| inner.family_by_type(e))
        .or(dynamic.as_deref())
    else {
        return Err(ApiError::new(400, "NOT_FOUND", "Smart process not found"));
    };
    if action == "fields" {
        return Ok(Outcome::of(
            json!({"fields": entity::meta::fields_meta(fam, View::crm_item())}),
        ));
    }
    family_call(inner, c, fam, View::crm_item(), action, p, true)
}

/// `crm.type.add`: stores the type and opens `crm.item.*` for its `entityTypeId`.
fn crm_type_add(inner: &Arc<Inner>, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let Some(fam) = inner.family("crm.type") else {
        return Err(ApiError::method_not_found());
    };
    let mut fields = fields_param(fam, true, p)?.clone();
    let out_of_range = || {
        ApiError::new(
            400,
            "INVALID_ARG_VALUE",
            "entityTypeId is out of allowed range",
        )
    };
    let allowed = |n: i64| (128..=192).contains(&n) || (n >= 1030 && n % 2 == 0);
    let mut data = inner
        .data
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let used: Vec<i64> = {
        let dynamic = inner
            .dynamic
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        dynamic
            .iter()
            .filter_map(|f| f.spec.entity_type_id.map(i64::from))
            .collect()
    };
    let etid = match fields.get("entityTypeId").filter(|v| !v.is_null()) {
        Some(v) => {
            let n = as_i64(v).ok_or_else(out_of_range)?;
            // A taken id is reported with the same documented code (the text is ours).
            if !allowed(n) || used.contains(&n) {
                return Err(out_of_range());
            }
            n
        }
        None => (128..=192)
            .chain((1030..).step_by(2))
            .find(|n| !used.contains(n))
            .unwrap_or(1030),
    };
    fields.insert("entityTypeId".into(), json!(etid));
    let now = inner.now();
    let store = data.stores.entry("crm.type".to_string()).or_default();
    let view = View::native(fam);
    let id = store.add(fam, view, &fields, c.user_id, now)?;
    let row = store.render_full(fam, view, id).unwrap_or(Value::Null);
    let title = row.get("title").and_then(as_str).unwrap_or_default();
    let etid32 = u32::try_from(etid).map_err(|_| out_of_range())?;
    data.stores
        .insert(format!("crm.dynamic.{etid}"), entity::Store::default());
    inner
        .dynamic
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Arc::new(entity::builtin::dynamic_family(etid32, &title)));
    Ok(Outcome::of(json!({ "type": row })))
}

/// `crm.type.update`: only the passed fields change; `entityTypeId` is immutable.
fn crm_type_update(inner: &Arc<Inner>, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let Some(fam) = inner.family("crm.type") else {
        return Err(ApiError::method_not_found());
    };
    let mut p = p.clone();
    if let Some(Value::Object(f)) = p.get_mut("fields") {
        f.remove("entityTypeId");
    }
    family_call(inner, c, fam, View::native(fam), "update", &p, false)
}

/// `crm.type.delete`: `[]` on success, `null` without `id`, `BX_ERROR` while items exist; the
/// type's `crm.item.*` family goes away with it.
fn crm_type_delete(inner: &Arc<Inner>, p: &Map<String, Value>) -> MethodResult {
    let Some(fam) = inner.family("crm.type") else {
        return Err(ApiError::method_not_found());
    };
    let Some(id) = param(p, "id").and_then(as_i64).filter(|n| *n > 0) else {
        return Ok(Outcome::of(Value::Null));
    };
    let mut data = inner
        .data
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let etid = data
        .stores
        .get("crm.type")
        .and_then(|s| s.render_full(fam, View::native(fam), id))
        .and_then(|r| r.get("entityTypeId").and_then(as_i64))
        .ok_or_else(|| ApiError::new(400, "0", "Smart process not found"))?;
    let key = format!("crm.dynamic.{etid}");
    if data.stores.get(&key).is_some_and(|s| !s.rows.is_empty()) {
        return Err(ApiError::new(
            400,
            "BX_ERROR",
            "You cannot delete an entity type that has elements",
        ));
    }
    if let Some(s) = data.stores.get_mut("crm.type") {
        s.rows.remove(&id);
    }
    data.stores.remove(&key);
    inner
        .dynamic
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|f| f.spec.entity_type_id.map(i64::from) != Some(etid));
    Ok(Outcome::of(json!([])))
}

fn department_json(d: &crate::state::Department) -> Value {
    let mut m = Map::new();
    m.insert("ID".into(), json!(d.id.to_string()));
    m.insert("NAME".into(), json!(d.name));
    m.insert("SORT".into(), json!(d.sort));
    if let Some(p) = d.parent {
        m.insert("PARENT".into(), json!(p.to_string()));
    }
    if let Some(h) = d.head {
        m.insert("UF_HEAD".into(), json!(h.to_string()));
    }
    Value::Object(m)
}

/// `department.get`: filter by `ID`, `NAME`, `SORT`, `PARENT`, `UF_HEAD`; `sort` + `order`.
#[allow(clippy::unnecessary_wraps)]
fn department_get(inner: &Inner, p: &Map<String, Value>) -> MethodResult {
    let data = inner
        .data
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let conds: Vec<filter::JsonCond> = p
        .iter()
        .filter(|(k, _)| {
            // Upper-case keys filter; lower-case `sort` / `order` sort.
            let bare = k.trim_start_matches(['=', '!', '%', '@', '<', '>']);
            matches!(bare, "ID" | "NAME" | "SORT" | "PARENT" | "UF_HEAD")
        })
        .map(|(k, v)| filter::JsonCond::new(k, v))
        .collect();
    let mut rows: Vec<Value> = data
        .departments
        .values()
        .map(department_json)
        .filter(|row| {
            conds
                .iter()
                .all(|c| c.matches(row.get(&c.field).unwrap_or(&Value::Null)))
        })
        .collect();
    sort_rows(&mut rows, p, "ID", true);
    Ok(page_of(rows, p))
}

/// Sorts plain rows by the `sort` field and the `order` direction (legacy `user.get` style).
fn sort_rows(rows: &mut [Value], p: &Map<String, Value>, default: &str, exact: bool) {
    let get = |k: &str| if exact { p.get(k) } else { param(p, k) };
    let field = get("sort")
        .and_then(as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
        .to_ascii_uppercase();
    let desc = get("order")
        .and_then(as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("desc"));
    rows.sort_by(|a, b| {
        let (x, y) = (
            a.get(&field).unwrap_or(&Value::Null),
            b.get(&field).unwrap_or(&Value::Null),
        );
        let o =
            filter::compare(x, y, filter::Collation::Loose).unwrap_or(std::cmp::Ordering::Equal);
        if desc { o.reverse() } else { o }
    });
}

/// A page of 50 with `total`/`next` (`start=-1`: no count).
fn page_of(rows: Vec<Value>, p: &Map<String, Value>) -> Outcome {
    let start = p.get("start").and_then(as_i64).unwrap_or(0);
    let count = start != -1;
    let start = start.max(0) as usize / 50 * 50;
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start).take(50).collect();
    let next = (count && start + page.len() < total).then_some((start + 50) as i64);
    Outcome {
        result: Value::Array(page),
        total: count.then_some(total as i64),
        next,
    }
}

fn department_write(
    inner: &Arc<Inner>,
    c: &Caller,
    method: &str,
    p: &Map<String, Value>,
) -> MethodResult {
    if !c.admin {
        return Err(ApiError::new(400, "ERROR_CORE", "Access denied"));
    }
    let mut data = inner
        .data
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let get_u = |k: &str| {
        param(p, k)
            .and_then(as_i64)
            .and_then(|n| u64::try_from(n).ok())
    };
    let not_found = || ApiError::new(400, "ERROR_CORE", "Department not found");
    match method {
        "department.add" => {
            let name = param(p, "NAME").and_then(as_str).unwrap_or_default();
            if name.trim().is_empty() {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "Department name not provided.<br>",
                ));
            }
            let parent = get_u("PARENT").filter(|id| data.departments.contains_key(id));
            let Some(parent) = parent else {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "There can only be one top-level department in the company structure",
                ));
            };
            let id = data.departments.keys().next_back().copied().unwrap_or(0) + 1;
            data.departments.insert(
                id,
                crate::state::Department {
                    id,
                    name,
                    sort: param(p, "SORT").and_then(as_i64).unwrap_or(500),
                    parent: Some(parent),
                    head: get_u("UF_HEAD").filter(|h| *h > 0),
                },
            );
            Ok(Outcome::of(json!(id)))
        }
        "department.update" => {
            let id = get_u("ID").ok_or_else(not_found)?;
            let parent = get_u("PARENT");
            if parent.is_some_and(|p| p == id || !data.departments.contains_key(&p)) {
                return Err(ApiError::new(
                    400,
                    "ERROR_CORE",
                    "There can only be one top-level department in the company structure",
                ));
            }
            let d = data.departments.get_mut(&id).ok_or_else(not_found)?;
            if let Some(n) = param(p, "NAME").and_then(as_str).filter(|n| !n.is_empty()) {
                d.name = n;
            }
            if let Some(sv) = param(p, "SORT").and_then(as_i64) {
                d.sort = sv;
            }
            if let Some(pa) = parent {
                d.parent = Some(pa);
            }
            if let Some(h) = param(p, "UF_HEAD") {
                d.head = as_i64(h)
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|h| *h > 0);
            }
            Ok(Outcome::of(json!(true)))
        }
        _ => {
            let id = get_u("ID").ok_or_else(not_found)?;
            data.departments.remove(&id).ok_or_else(not_found)?;
            Ok(Outcome::of(json!(true)))
        }
    }
}

fn event_data(fam: &Family, action: &str, id: i64) -> Value {
    match fam.spec.flavor {
        Flavor::LegacyCrm | Flavor::D7 => json!({"FIELDS": {"ID": id.to_string()}}),
        Flavor::Tasks => match action {
            "ADD" => json!({"FIELDS_AFTER": {"ID": id.to_string()}}),
            "DELETE" => json!({"FIELDS_BEFORE": {"ID": id.to_string()}}),
            _ => {
                json!({"FIELDS_BEFORE": {"ID": id.to_string()}, "FIELDS_AFTER": {"ID": id.to_string()}})
            }
        },
    }
}

/// Fires the family's events for `action` (`ADD`/`UPDATE`/`DELETE`).
pub(crate) fn fire(inner: &Arc<Inner>, c: &Caller, fam: &Family, action: &str, id: i64) {
    if let Some(names) = fam.events.get(action) {
        for name in names {
            let mut fields = Map::new();
            fields.insert("ID".into(), json!(id.to_string()));
            if name == "ONSALEORDERSAVED" {
                // on-sale-order-saved.md: XML_ID and the constant ACTION `save`.
                let xml = inner
                    .data
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .stores
                    .get(&fam.spec.prefix)
                    .and_then(|s| s.render_full(fam, View::native(fam), id))
                    .and_then(|r| r.get("xmlId").and_then(as_str))
                    .unwrap_or_default();
                fields.insert("XML_ID".into(), json!(xml));
                fields.insert("ACTION".into(), json!("save"));
            }
            events::emit(inner, name, &json!({ "FIELDS": fields }), &Origin::of(c));
        }
        return;
    }
    if let Some(prefix) = &fam.spec.event_prefix {
        let name = format!("{prefix}{action}");
        events::emit(inner, &name, &event_data(fam, action, id), &Origin::of(c));
    }
}

fn missing_id(fam: &Family, d7: bool, name: &str) -> ApiError {
    if d7 || fam.spec.flavor == Flavor::D7 {
        ApiError::new(
            400,
            "100",
            format!("Could not find value for parameter {{{name}}}"),
        )
    } else {
        match fam.spec.flavor {
            Flavor::LegacyCrm | Flavor::D7 => ApiError::crm("ID is not defined or invalid."),
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
    if let Some((code, desc)) = &fam.not_found {
        return ApiError::new(400, code, desc.clone());
    }
    match (fam.spec.flavor, action) {
        (Flavor::LegacyCrm, _) => ApiError::crm("Not found"),
        // D7 controllers answer `0` for "other errors"; the text is ours.
        (Flavor::D7, _) => ApiError::new(400, "0", "Not found"),
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
        None if d7 || matches!(fam.spec.flavor, Flavor::Tasks | Flavor::D7) => Err(ApiError::new(
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
    let action = if d7 {
        action
    } else {
        fam.aliases.get(action).map_or(action, String::as_str)
    };
    let store_key = fam.spec.prefix.as_str();
    let id_name = if d7 { "id" } else { fam.spec.id_param.as_str() };
    let (add_s, get_s, upd_s, del_s, wrapper) = if d7 {
        let item = entity::Shape::Wrapped("item".into(), Box::new(entity::Shape::Row));
        (
            item.clone(),
            item.clone(),
            item,
            entity::Shape::EmptyArray,
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
                let r = entity::meta::shape(&add_s, id, || {
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
                Some(r) => Ok(Outcome::of(entity::meta::shape(&get_s, id, || r))),
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
                None => entity::Page {
                    rows: Vec::new(),
                    total: (start != -1).then_some(0),
                    next: None,
                },
            };
            Ok(entity::meta::list_outcome(page, wrapper))
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
                entity::meta::shape(&upd_s, id, || {
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
            Ok(Outcome::of(entity::meta::shape(&del_s, id, || Value::Null)))
        }
        "fields" => {
            let meta = entity::meta::fields_meta(fam, view);
            Ok(Outcome::of(match &fam.fields_wrapper {
                Some(k) if !d7 => json!({ k.as_str(): meta }),
                _ => meta,
            }))
        }
        "getfields" => Ok(Outcome::of(
            json!({"fields": entity::meta::fields_meta(fam, view)}),
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
