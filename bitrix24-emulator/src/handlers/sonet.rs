//! `sonet_group.*`: workgroups, stored in the spec's `Workgroup` family (`sonet_group`).

use super::common::{fam, query, start_of, store, str_p, write};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param};
use crate::entity::View;
use crate::entity::meta::list_outcome;
use crate::family_events::fire;
use crate::routes::{Route, store_routes};
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
