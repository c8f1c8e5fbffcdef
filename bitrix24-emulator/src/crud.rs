//! The generic methods of an entity family (`add`, `get`, `list`, `update`, `delete`, `fields`
//! and the flavor's extra actions), for its own prefix and for `crm.item.*`.

use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, param};
use crate::entity::meta::{fields_meta, list_outcome, shape};
use crate::entity::model::uf_in;
use crate::entity::{Family, Flavor, ListQuery, Page, RowCtx, Shape, Store, View};
use crate::family_events::fire;
use crate::stage_history;
use crate::state::{Inner, User};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

mod user_fields;

fn missing_id(fam: &Family, d7: bool, name: &str) -> ApiError {
    if d7 || fam.spec.flavor == Flavor::D7 {
        ApiError::no_value(name)
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

pub(crate) fn fields_param<'a>(
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

/// The store of the call: the family's, or for a partitioned family (`crm.category.*`) that of
/// the partition parameter's value, created with its first row on first use. Returns the
/// store key and the value.
fn store_of(
    inner: &Arc<Inner>,
    c: &Caller,
    fam: &Family,
    view: View,
    p: &Map<String, Value>,
) -> Result<(String, Option<i64>), ApiError> {
    let Some(pt) = &fam.spec.partition else {
        return Ok((fam.spec.prefix.clone(), None));
    };
    let value = param(p, &pt.param)
        .and_then(as_i64)
        .ok_or_else(|| missing_id(fam, true, &pt.param))?;
    let key = format!("{}:{value}", fam.spec.prefix);
    let mut data = inner.write_data();
    if !data.stores.contains_key(&key) {
        let mut store = Store::default();
        let (at, first) = (pt.first_row)(value);
        let fields = first.as_object().cloned().unwrap_or_default();
        let id = store.add(fam, view, &fields, c.user_id, inner.now(), at)?;
        mark_partition(&mut store, fam, id, value);
        data.stores.insert(key.clone(), store);
    }
    Ok((key, Some(value)))
}

/// Stores the partition value in a row (the field is read-only to requests).
fn mark_partition(store: &mut Store, fam: &Family, id: i64, value: i64) {
    if let Some(pt) = &fam.spec.partition
        && let Some(slot) = fam.slot(&pt.param, true)
    {
        store.set(fam, id, &fam.spec.fields[slot].name, &json!(value));
    }
}

/// The fields of a write less the user fields a portal would ignore. For a family whose user
/// fields are defined through `<prefix>.userfield.add` (deals, leads, contacts, companies), a
/// `UF_*` key naming no defined field is dropped: "An incorrect field in `fields` will be
/// ignored" (`crm/companies/crm-company-add.md`), and a value is kept only for a field created
/// first. A definition's `FIELD_NAME` may omit the `UF_CRM_` prefix the portal adds
/// (`crm-deal-userfield-add.md`).
fn defined_fields_only(
    inner: &Inner,
    fam: &Family,
    view: View,
    fields: &Map<String, Value>,
) -> Map<String, Value> {
    // A `crm.item.*` write of a legacy type may name its multi-fields in `fm`.
    let fm = view
        .crm_item
        .then(|| crate::overlay::fm_in(&fam.spec.prefix, fields))
        .flatten();
    let fields = fm.as_ref().unwrap_or(fields);
    let Some(defined) = user_fields::defined(inner, fam) else {
        return fields.clone();
    };
    fields
        .iter()
        .filter(|(k, _)| {
            fam.slot(k, view.camel_in).is_some()
                || uf_in(k, view).is_none_or(|uf| !uf.starts_with("UF_") || defined.contains(&uf))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The parameters a `get` or `list` renders with: the family's row view may widen the
/// `select` (tasks answer `descriptionInBbcode` whatever is selected).
fn view_params<'a>(
    fam: &Family,
    p: &'a Map<String, Value>,
    d7: bool,
    list: bool,
) -> Cow<'a, Map<String, Value>> {
    let Some(rv) = fam.row_view.filter(|_| !d7) else {
        return Cow::Borrowed(p);
    };
    let key = p
        .keys()
        .find(|k| k.eq_ignore_ascii_case("select"))
        .map_or("select", String::as_str);
    match (rv.select)(param(p, "select"), list) {
        Some(sel) => {
            let mut p = p.clone();
            p.insert(key.to_string(), sel);
            Cow::Owned(p)
        }
        None => Cow::Borrowed(p),
    }
}

/// A rendered row with the keys the family's row view computes, and a `crm.item.*` row of a
/// legacy type finished as the portal answers it (`full`: rendered without a
/// `select`; `list`: a row of a list answer).
fn with_view(
    (fam, view): (&Family, View),
    users: &BTreeMap<u64, User>,
    caller: u64,
    mut row: Value,
    (full, list): (bool, bool),
) -> Value {
    if let (true, Value::Object(m)) = (view.crm_item, &mut row) {
        crate::overlay::finish_item_row(&fam.spec.prefix, m, full);
    }
    if let (Some(rv), Value::Object(m)) = (fam.row_view, &mut row) {
        let user_name = |id: u64| {
            users
                .get(&id)
                .map(|u| format!("{} {}", u.name, u.last_name).trim().to_string())
        };
        let cx = RowCtx {
            full,
            list,
            caller,
            user_name: &user_name,
        };
        (rv.row)(m, &cx);
    }
    row
}

pub(crate) fn family_call(
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
    // A flavor's extra action: an update of fixed fields (`complete`).
    let sets = fam.actions.get(action).filter(|_| !d7);
    let (store_key, partition) = store_of(inner, c, fam, view, p)?;
    let store_key = store_key.as_str();
    // A partition's rows come in one page.
    let page_size = if partition.is_some() { usize::MAX } else { 50 };
    let id_name = if d7 { "id" } else { fam.spec.id_param.as_str() };
    let (add_s, get_s, upd_s, del_s, wrapper) = if d7 {
        let item = Shape::Wrapped("item".into(), Box::new(Shape::Row));
        (
            item.clone(),
            item.clone(),
            item,
            Shape::EmptyArray,
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
    // Ids start at 1; a partition's default row may be 0 (the deal pipeline "General").
    let id_of = || {
        param(p, id_name)
            .and_then(as_i64)
            .filter(|n| *n > 0 || (*n == 0 && partition.is_some()))
    };
    let now = inner.now();
    match action {
        "add" => {
            let fields = &defined_fields_only(inner, fam, view, fields_param(fam, d7, p)?);
            let (id, result) = {
                let mut guard = inner.write_data();
                let data = &mut *guard;
                let store = data.stores.entry(store_key.to_string()).or_default();
                let id = store.add(fam, view, fields, c.user_id, now, None)?;
                if let Some(value) = partition {
                    mark_partition(store, fam, id, value);
                }
                let after = stage_history::standing(fam, store, id);
                stage_history::record(&mut data.side, fam, id, None, after, now);
                let r = shape(&add_s, id, || {
                    let row = store.render_full(fam, view, id).unwrap_or(Value::Null);
                    with_view((fam, view), &data.users, c.user_id, row, (true, false))
                });
                (id, r)
            };
            fire(inner, c, fam, "ADD", id);
            Ok(Outcome::of(result))
        }
        "get" => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            let full = param(p, "select").is_none_or(|s| crate::core::list_items(s).is_empty());
            let vp = view_params(fam, p, d7, false);
            let data = inner.read_data();
            let row = data
                .stores
                .get(store_key)
                .and_then(|s| s.render_sel(fam, view, id, param(&vp, "select")));
            match row {
                Some(r) => {
                    let r = with_view((fam, view), &data.users, c.user_id, r, (full, false));
                    Ok(Outcome::of(shape(&get_s, id, || r)))
                }
                None if fam.spec.flavor == Flavor::Tasks && !d7 => Ok(Outcome::of(json!([]))),
                None => Err(not_found(fam, d7, "get")),
            }
        }
        "list" => {
            let q = ListQuery::parse(fam, view, &view_params(fam, p, d7, true), d7)?;
            let start = p.get("start").and_then(as_i64).unwrap_or(0);
            let data = inner.read_data();
            let page = match data.stores.get(store_key) {
                Some(s) => {
                    let mut page = s.list(fam, view, &q, start, page_size);
                    page.rows = (page.rows.into_iter())
                        .map(|r| with_view((fam, view), &data.users, c.user_id, r, (false, true)))
                        .collect();
                    page
                }
                None => Page {
                    rows: Vec::new(),
                    total: (start != -1).then_some(0),
                    next: None,
                },
            };
            Ok(list_outcome(page, wrapper))
        }
        _ if action == "update" || sets.is_some() => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            let empty = Map::new();
            let given;
            let fields = if sets.is_some() {
                &empty
            } else {
                given = defined_fields_only(inner, fam, view, fields_param(fam, d7, p)?);
                &given
            };
            let result = {
                let mut guard = inner.write_data();
                let data = &mut *guard;
                let store = data.stores.entry(store_key.to_string()).or_default();
                let before = stage_history::standing(fam, store, id);
                if !store.update(fam, view, id, fields, c.user_id, now) {
                    return Err(not_found(fam, d7, action));
                }
                for (name, value) in sets.into_iter().flatten() {
                    store.set_default(fam, id, name, value, c.user_id, now);
                }
                let after = stage_history::standing(fam, store, id);
                stage_history::record(&mut data.side, fam, id, before.as_ref(), after, now);
                shape(&upd_s, id, || {
                    let row = store.render_full(fam, view, id).unwrap_or(Value::Null);
                    with_view((fam, view), &data.users, c.user_id, row, (true, false))
                })
            };
            fire(inner, c, fam, "UPDATE", id);
            Ok(Outcome::of(result))
        }
        "delete" => {
            let id = id_of().ok_or_else(|| missing_id(fam, d7, id_name))?;
            {
                let mut data = inner.write_data();
                let removed = data
                    .stores
                    .get_mut(store_key)
                    .and_then(|s| s.rows.remove(&id));
                if removed.is_none() {
                    return Err(not_found(fam, d7, "delete"));
                }
            }
            fire(inner, c, fam, "DELETE", id);
            Ok(Outcome::of(shape(&del_s, id, || Value::Null)))
        }
        "fields" => {
            let mut meta = fields_meta(fam, view);
            if !view.crm_item
                && !d7
                && let Value::Object(m) = &mut meta
            {
                m.extend(user_fields::described(inner, fam));
            }
            Ok(Outcome::of(match &fam.fields_wrapper {
                Some(k) if !d7 => json!({ k.as_str(): meta }),
                _ => meta,
            }))
        }
        _ => Err(ApiError::method_not_found()),
    }
}
