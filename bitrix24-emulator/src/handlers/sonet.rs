//! `sonet_group.*` and `socialnetwork.api.workgroup.list`: workgroups, stored in the spec's
//! `Workgroup` family (`sonet_group`).

use super::common::{fam, query, select_names, start_of, store, str_p, write};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param};
use crate::entity::View;
use crate::entity::camelize;
use crate::entity::meta::list_outcome;
use crate::family_events::fire;
use crate::routes::{Route, Scope, store_routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::{Arc, PoisonError};

/// The workgroup methods.
pub(crate) const ROUTES: &[Route] = store_routes![run;
    "sonet_group" => [
        "sonet_group.create",
        "sonet_group.get",
        "sonet_group.update",
        "sonet_group.delete",
        "sonet_group.setowner",
    ],
];

/// The D7 workgroup list (`sonet-group/socialnetwork-api-workgroup-list.md`).
pub(crate) const API_ROUTES: &[Route] = &[Route::new(
    "socialnetwork.api.workgroup.list",
    Scope::Fixed("socialnetwork"),
    workgroup_list,
)];

/// `socialnetwork.api.workgroup.list`: `{"workgroups": [...]}` of the selected fields in
/// camelCase (only `id` without a `select`), `AVATAR` answering `imageId`, `avatarType` and
/// `avatar`, `type` `group` or `project`; `params.mode = mobile` adds `additionalData` (the
/// caller's `role`, `A` for the owner) and `shouldSelectDialogId = Y` a `dialogId` (`""`: no
/// group chat). A full page has `next` even when nothing remains (a portal answered `next: 50`
/// with `total: 50`).
fn workgroup_list(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = fam(inner, "sonet_group")?;
    // `start=-1`: no count (and no `next`).
    let counted = start_of(p) != -1;
    let start = start_of(p).max(0) / 50 * 50;
    let page = {
        let data = inner.data.read().unwrap_or_else(PoisonError::into_inner);
        query(&data, f, p, &[], if counted { start } else { -1 }, 50)?
    };
    let mut select = select_names(param(p, "select"));
    if select.is_empty() {
        select.push("ID".into());
    }
    let opts = param(p, "params");
    let opt = |k: &str| opts.and_then(|o| param_str(o, k));
    let mobile = opt("mode").is_some_and(|m| m.eq_ignore_ascii_case("mobile"));
    let dialog = opt("shouldSelectDialogId").is_some_and(|m| m.eq_ignore_ascii_case("Y"));
    let full = counted && page.rows.len() == 50;
    let rows: Vec<Value> = (page.rows.iter())
        .map(|r| {
            let mut m = Map::new();
            for k in &select {
                match k.as_str() {
                    "TYPE" => {
                        let project = r.get("PROJECT").and_then(Value::as_str) == Some("Y");
                        m.insert(
                            "type".into(),
                            json!(if project { "project" } else { "group" }),
                        );
                    }
                    "AVATAR" => {
                        m.insert("imageId".into(), Value::Null);
                        m.insert("avatarType".into(), Value::Null);
                        m.insert("avatar".into(), json!(""));
                    }
                    _ => {
                        m.insert(camelize(k), r.get(k).cloned().unwrap_or(Value::Null));
                    }
                }
            }
            if mobile {
                let owner = r.get("OWNER_ID").and_then(as_i64) == i64::try_from(c.user_id).ok();
                let role = if owner { "A" } else { "" };
                m.insert(
                    "additionalData".into(),
                    json!({"role": role, "initiatedByType": ""}),
                );
            }
            if dialog {
                m.insert("dialogId".into(), json!(""));
            }
            Value::Object(m)
        })
        .collect();
    Ok(Outcome {
        result: json!({ "workgroups": rows }),
        total: page.total,
        next: full.then_some(start + 50),
    })
}

/// A string parameter of a nested object (`params.mode`).
fn param_str(o: &Value, k: &str) -> Option<String> {
    o.as_object().and_then(|m| param(m, k)).and_then(as_str)
}

// ---------------------------------------------------------------- sonet_group

const GROUP_KEYS: [&str; 12] = [
    "NAME",
    "DESCRIPTION",
    "VISIBLE",
    "OPENED",
    "CLOSED",
    "KEYWORDS",
    "PROJECT",
    "OWNER_ID",
    "SUBJECT_ID",
    "PROJECT_DATE_START",
    "PROJECT_DATE_FINISH",
    "SCRUM_MASTER_ID",
];

/// The workgroup fields a request sets.
fn group_fields(p: &Map<String, Value>) -> Map<String, Value> {
    GROUP_KEYS
        .iter()
        .filter_map(|k| param(p, k).map(|v| ((*k).to_string(), v.clone())))
        .collect()
}

fn run(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let f = fam(inner, "sonet_group")?;
    let view = View::native(f);
    let now = inner.now();
    let group_id = || param(p, "GROUP_ID").and_then(as_i64).filter(|n| *n > 0);
    match method {
        "sonet_group.get" => {
            let data = inner.data.read().unwrap_or_else(PoisonError::into_inner);
            let mut fixed = Vec::new();
            if let Some(id) = group_id() {
                fixed.push(("ID", json!(id)));
            }
            let page = query(&data, f, p, &fixed, start_of(p), 50)?;
            Ok(list_outcome(page, None))
        }
        "sonet_group.create" => {
            let name = str_p(p, "NAME");
            if name.trim().is_empty() {
                return Err(ApiError::crm("Incorrect input data"));
            }
            let mut fields = group_fields(p);
            let site = param(p, "SITE_ID")
                .and_then(|v| match v {
                    Value::Array(_) | Value::Object(_) => {
                        list_items(v).first().and_then(|x| as_str(x))
                    }
                    other => as_str(other),
                })
                .unwrap_or_else(|| "s1".into());
            let defaults = [
                ("SITE_ID", json!(site)),
                ("ACTIVE", json!("Y")),
                ("VISIBLE", json!("Y")),
                ("OPENED", json!("N")),
                ("CLOSED", json!("N")),
                ("PROJECT", json!("N")),
                ("IS_EXTRANET", json!("N")),
                ("SUBJECT_ID", json!(1)),
                ("SUBJECT_NAME", json!("Workgroups")),
                ("OWNER_ID", json!(c.user_id)),
                ("NUMBER_OF_MEMBERS", json!(1)),
                ("DATE_CREATE", json!(now as i64)),
                ("DATE_UPDATE", json!(now as i64)),
                ("DATE_ACTIVITY", json!(now as i64)),
            ];
            for (k, v) in defaults {
                fields.entry(k).or_insert(v);
            }
            let id = {
                let mut data = write(inner);
                store(&mut data, "sonet_group").add(f, view, &fields, c.user_id, now, None)?
            };
            fire(inner, c, f, "ADD", id);
            Ok(Outcome::of(json!(id)))
        }
        "sonet_group.update" | "sonet_group.setowner" => {
            let wrong = || ApiError::crm("Wrong group ID");
            let id = group_id().ok_or_else(wrong)?;
            let mut fields = if method == "sonet_group.setowner" {
                let uid = param(p, "USER_ID").and_then(as_i64).filter(|n| *n > 0);
                let Some(uid) = uid else {
                    return Err(ApiError::crm("Wrong user ID"));
                };
                Map::from_iter([("OWNER_ID".to_string(), json!(uid))])
            } else {
                group_fields(p)
            };
            fields.insert("DATE_UPDATE".into(), json!(now as i64));
            {
                let mut data = write(inner);
                if !store(&mut data, "sonet_group").update(f, view, id, &fields, c.user_id, now) {
                    return Err(wrong());
                }
            }
            fire(inner, c, f, "UPDATE", id);
            Ok(Outcome::of(if method == "sonet_group.update" {
                json!(id)
            } else {
                json!(true)
            }))
        }
        _ => {
            let id = group_id().ok_or_else(|| ApiError::crm("Wrong group ID"))?;
            let removed = store(&mut write(inner), "sonet_group").rows.remove(&id);
            if removed.is_none() {
                return Err(ApiError::crm("Socialnetwork group not found"));
            }
            fire(inner, c, f, "DELETE", id);
            Ok(Outcome::of(json!(true)))
        }
    }
}
