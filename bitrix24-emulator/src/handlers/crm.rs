//! `crm.item.*` (any CRM type by `entityTypeId`, through its family) and the smart-process
//! types `crm.type.add|update|delete` (`get`, `list` and `fields` are the generic family's).

use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, param};
use crate::crud::{family_call, fields_param};
use crate::entity::meta::fields_meta;
use crate::entity::{Family, Store, View};
use crate::routes::{Route, Scope};
use crate::specs;
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const CRM: Scope = Scope::Fixed("crm");

/// The `crm.item.*` and `crm.type.*` methods served here.
pub(crate) const ROUTES: &[Route] = &[
    Route::new("crm.item.add", CRM, crm_item),
    Route::new("crm.item.get", CRM, crm_item),
    Route::new("crm.item.list", CRM, crm_item),
    Route::new("crm.item.update", CRM, crm_item),
    Route::new("crm.item.delete", CRM, crm_item),
    Route::new("crm.item.fields", CRM, crm_item),
    Route::new("crm.type.add", CRM, |i, c, _, p| crm_type_add(i, c, p)),
    Route::new("crm.type.update", CRM, |i, c, _, p| {
        crm_type_update(i, c, p)
    }),
    Route::new("crm.type.delete", CRM, |i, _, _, p| crm_type_delete(i, p)),
];

fn crm_item(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let action = method.strip_prefix("crm.item.").unwrap_or(method);
    let etid = param(p, "entityTypeId").and_then(as_i64);
    let Some(etid) = etid else {
        return Err(ApiError::no_value("entityTypeId"));
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
            json!({"fields": fields_meta(fam, View::crm_item())}),
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
    let mut data = inner.write_data();
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
    let id = store.add(fam, view, &fields, c.user_id, now, None)?;
    let row = store.render_full(fam, view, id).unwrap_or(Value::Null);
    let title = row.get("title").and_then(as_str).unwrap_or_default();
    let etid32 = u32::try_from(etid).map_err(|_| out_of_range())?;
    data.stores
        .insert(format!("crm.dynamic.{etid}"), Store::default());
    inner
        .dynamic
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Arc::new(stages_of(specs::dynamic_family(
            &inner.item_template,
            etid32,
            &title,
        ))));
    Ok(Outcome::of(json!({ "type": row })))
}

/// Names the stage directory of a new type in its stage fields (`crm.item.fields`:
/// `"statusType": "DYNAMIC_1268_STAGE_52"`): the type's id and its first pipeline, which is
/// the first row of the type's `crm.category` store (id 1).
fn stages_of(mut fam: Family) -> Family {
    let etid = fam.spec.entity_type_id.unwrap_or_default().to_string();
    for st in fam
        .spec
        .fields
        .iter_mut()
        .filter_map(|f| f.status_type.as_mut())
    {
        *st = st.replace("{type}", &etid).replace("{category}", "1");
    }
    fam
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
    let mut data = inner.write_data();
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
