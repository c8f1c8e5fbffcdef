//! An application's data storages (`entity.add`, `entity.item.add`, `entity.item.get`,
//! `entity/entities/entity-add.md`, `entity/items/entity-item-*.md`): storages in the side
//! table `entity`, items in `entity.item`, both per application (`ACCESS_DENIED` without an
//! application context). Items print as the docs' example: ids and numbers as strings.

use super::common::{matching, order_of, page_of, sort_by_order};
use super::side::{self, obj, text};
use crate::clock::iso;
use crate::core::{ApiError, Caller, MethodResult, Outcome, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const ENTITY: Scope = Scope::Fixed("entity");
const STORAGES: &str = "entity";
const ITEMS: &str = "entity.item";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(ENTITY;
    "entity." { "add" => add }
    "entity.item." { "add" => add_item, "get" => get_items }
);

/// The calling application and the `ENTITY` it names, with the documented errors.
fn target(c: &Caller, p: &Map<String, Value>) -> Result<(String, String), ApiError> {
    let app = c
        .client_id
        .clone()
        .ok_or_else(|| ApiError::access_denied(" Application context required"))?;
    let entity = text(p, "ENTITY")
        .ok_or_else(|| ApiError::argument("ENTITY", "Argument 'ENTITY' is null or empty"))?;
    Ok((app, entity))
}

fn exists(data: &Data, app: &str, entity: &str) -> bool {
    side::rows(data, STORAGES).any(|s| s["APP"] == json!(app) && s["ENTITY"] == json!(entity))
}

fn not_found() -> ApiError {
    ApiError::new(400, "ERROR_ENTITY_NOT_FOUND", "Entity not found")
}

/// `entity.add`: a storage `ENTITY` named `NAME`; `true`.
fn add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let (app, entity) = target(c, p)?;
    let name = text(p, "NAME")
        .ok_or_else(|| ApiError::argument("NAME", "Argument 'NAME' is null or empty"))?;
    let mut data = inner.write_data();
    if exists(&data, &app, &entity) {
        return Err(ApiError::new(
            400,
            "ERROR_ENTITY_ALREADY_EXISTS",
            "Entity already exists",
        ));
    }
    side::insert(
        &mut data,
        STORAGES,
        |id| json!({"ID": id, "APP": app, "ENTITY": entity, "NAME": name}),
    );
    Ok(Outcome::of(json!(true)))
}

/// `entity.item.add`: an item of a storage; answers its id.
fn add_item(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let (app, entity) = target(c, p)?;
    let now = iso(inner.now());
    let user = c.user_id.to_string();
    let mut data = inner.write_data();
    if !exists(&data, &app, &entity) {
        return Err(not_found());
    }
    let date = |k: &str| text(p, k).unwrap_or_default();
    let id = side::insert(&mut data, ITEMS, |id| {
        json!({
            "ID": id.to_string(), "TIMESTAMP_X": now, "MODIFIED_BY": user,
            "DATE_CREATE": now, "CREATED_BY": user, "ACTIVE": "Y",
            "DATE_ACTIVE_FROM": date("DATE_ACTIVE_FROM"), "DATE_ACTIVE_TO": date("DATE_ACTIVE_TO"),
            "SORT": "500", "NAME": text(p, "NAME").unwrap_or_default(),
            "PREVIEW_PICTURE": null, "PREVIEW_TEXT": null, "DETAIL_PICTURE": null,
            "DETAIL_TEXT": null, "CODE": null, "ENTITY": entity,
            "SECTION": param(p, "SECTION").cloned().unwrap_or(Value::Null),
            "APP": app,
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `entity.item.get`: the items of a storage with `FILTER` and `SORT` (default `ID` ASC), 50
/// a page with `total`/`next`.
fn get_items(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let (app, entity) = target(c, p)?;
    let data = inner.read_data();
    if !exists(&data, &app, &entity) {
        return Err(not_found());
    }
    let mine =
        side::rows(&data, ITEMS).filter(|i| i["APP"] == json!(app) && i["ENTITY"] == json!(entity));
    let mut rows = matching(mine, &obj(p, "FILTER"));
    let order = order_of(param(p, "SORT"), true);
    if !order.is_empty() {
        sort_by_order(&mut rows, &order);
    }
    let rows = rows
        .into_iter()
        .map(|mut r| {
            r.remove("APP");
            Value::Object(r)
        })
        .collect();
    Ok(page_of(rows, p))
}
