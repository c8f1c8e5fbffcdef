//! Sites and pages (`landing.site.add|delete`, `landing.landing.add|getList|update|delete`,
//! `landing.block.getlist`, `landing/**`): sites in the side table `landing.site`, pages in
//! `landing.page`, printed with the documented upper-case keys (ids as strings, dates in the
//! portal's `MM/DD/YYYY hh:mm:ss am` form). A page made without a template has no blocks, so
//! `landing.block.getlist` of a page answers `[]`. Errors carry the documented codes.

use super::common::{keep_selected, matching, order_of, sort_by_order};
use super::side::{self, id_p, obj, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const SITES: &str = "landing.site";
const PAGES: &str = "landing.page";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("landing");
    "landing.site." { "add" => site_add, "delete" => site_delete }
    "landing.landing." {
        "add" => page_add, "getlist" => page_list, "update" => page_update, "delete" => page_delete,
    }
    "landing.block." { "getlist" => block_list }
);

fn missing(name: &str) -> ApiError {
    ApiError::bad(
        "MISSING_PARAMS",
        format!("Not enough call parameters, missing: {name}"),
    )
}

fn now_text(inner: &Inner) -> String {
    super::calendar::us_date(inner.now() as i64)
}

/// The page `CODE` checks of add and update.
fn check_code(f: &Map<String, Value>) -> Result<(), ApiError> {
    match param(f, "CODE").and_then(Value::as_str) {
        Some(c) if c.contains('/') => Err(ApiError::bad(
            "SLASH_IS_NOT_ALLOWED",
            "Slash is not allowed in the landing address.",
        )),
        Some("") if param(f, "FOLDER").is_none() => Err(ApiError::bad(
            "CANT_BE_EMPTY",
            "The page address cannot be empty.",
        )),
        _ => Ok(()),
    }
}

fn site_exists(data: &Data, id: i64) -> bool {
    side::get(data, SITES, id).is_some()
}

/// `landing.site.add`: `TITLE` and a `CODE` of `a-z`, `0-9`, `-`, `.`; answers the id.
fn site_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = side::given(p, "fields", missing)?;
    let title = text(&f, "TITLE").ok_or_else(|| missing("TITLE"))?;
    let code = text(&f, "CODE").ok_or_else(|| missing("CODE"))?;
    let ok = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.';
    if !code.chars().all(ok) {
        return Err(ApiError::bad(
            "DOMAIN_IS_INCORRECT",
            "The site address is entered incorrectly. You can only use the following characters: \"a-z\", \"0-9\", \"-\", \".\".",
        ));
    }
    let now = now_text(inner);
    let mut data = inner.write_data();
    let id = side::insert(&mut data, SITES, |id| {
        json!({
            "ID": id.to_string(), "CODE": format!("/{code}/"), "ACTIVE": "Y", "TITLE": title,
            "TYPE": text(&f, "TYPE").unwrap_or_else(|| "PAGE".into()), "DELETED": "N",
            "DESCRIPTION": text(&f, "DESCRIPTION"), "XML_ID": text(&f, "XML_ID"),
            "DOMAIN_ID": "0", "CREATED_BY_ID": c.user_id.to_string(), "DATE_CREATE": now,
            "DATE_MODIFY": now,
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `landing.site.delete`: only a site without pages (`SITE_IS_NOT_EMPTY`); `true`.
fn site_delete(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = id_p(p, "id").ok_or_else(|| missing("id"))?;
    let mut data = inner.write_data();
    let key = json!(id.to_string());
    if side::rows(&data, PAGES).any(|pg| pg["SITE_ID"] == key) {
        return Err(ApiError::bad(
            "SITE_IS_NOT_EMPTY",
            "The site contains pages.",
        ));
    }
    side::table(&mut data, SITES).remove(&id);
    Ok(Outcome::of(json!(true)))
}

/// `landing.landing.add`: `TITLE` and an existing `SITE_ID`; answers the page id.
fn page_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let f = side::given(p, "fields", missing)?;
    let title = text(&f, "TITLE").ok_or_else(|| missing("TITLE"))?;
    let site = id_p(&f, "SITE_ID").unwrap_or_default();
    check_code(&f)?;
    let now = now_text(inner);
    let mut data = inner.write_data();
    if !site_exists(&data, site) {
        return Err(ApiError::bad("SITE_NOT_FOUND", "Site not found."));
    }
    let id = side::insert(&mut data, PAGES, |id| {
        json!({
            "ID": id.to_string(), "CODE": text(&f, "CODE").unwrap_or_else(|| format!("page{id}")),
            "ACTIVE": "N", "PUBLIC": "N", "DELETED": "N", "TITLE": title,
            "XML_ID": text(&f, "XML_ID"), "DESCRIPTION": text(&f, "DESCRIPTION"),
            "TPL_ID": "0", "SITE_ID": site.to_string(), "SITEMAP": "N", "FOLDER": "N",
            "FOLDER_ID": null, "CREATED_BY_ID": c.user_id.to_string(),
            "MODIFIED_BY_ID": c.user_id.to_string(), "DATE_CREATE": now, "DATE_MODIFY": now,
            "DOMAIN_ID": "0",
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `landing.landing.getList`: `params.select|filter|order|limit|offset` over the pages.
#[allow(clippy::unnecessary_wraps)]
fn page_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let q = obj(p, "params");
    let data = inner.read_data();
    let mut rows = matching(side::rows(&data, PAGES), &obj(&q, "filter"));
    sort_by_order(&mut rows, &order_of(param(&q, "order"), true));
    let select = super::common::select_names(param(&q, "select"));
    keep_selected(&mut rows, &select);
    let offset = param(&q, "offset").and_then(as_i64).unwrap_or(0).max(0) as usize;
    let limit = param(&q, "limit")
        .and_then(as_i64)
        .map_or(usize::MAX, |l| l.max(0) as usize);
    let rows = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Value::Object)
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// `landing.landing.update`: the given `fields` of page `lid`; `true`.
fn page_update(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let lid = id_p(p, "lid").ok_or_else(|| missing("lid"))?;
    let f = side::given(p, "fields", missing)?;
    check_code(&f)?;
    let now = now_text(inner);
    let mut data = inner.write_data();
    if let Some(site) = id_p(&f, "SITE_ID")
        && !site_exists(&data, site)
    {
        return Err(ApiError::bad("SITE_NOT_FOUND", "Site not found."));
    }
    let page = side::get_mut(&mut data, PAGES, lid)
        .ok_or_else(|| ApiError::bad("LANDING_NOT_EXIST", "Landing not found"))?;
    for (k, v) in f {
        let v = match v {
            Value::Number(n) => Value::String(n.to_string()),
            other => other,
        };
        page[k.to_ascii_uppercase()] = v;
    }
    page["DATE_MODIFY"] = json!(now);
    page["MODIFIED_BY_ID"] = json!(c.user_id.to_string());
    Ok(Outcome::of(json!(true)))
}

/// `landing.landing.delete`: page `lid`; `true`.
fn page_delete(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let lid = id_p(p, "lid").ok_or_else(|| missing("lid"))?;
    let mut data = inner.write_data();
    side::table(&mut data, PAGES)
        .remove(&lid)
        .ok_or_else(|| ApiError::bad("LANDING_NOT_EXIST", "Landing not found"))?;
    Ok(Outcome::of(json!(true)))
}

/// `landing.block.getlist`: the blocks of page `lid` (none for a page without a template).
fn block_list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let lid = param(p, "lid").ok_or_else(|| missing("lid"))?;
    let ids: Vec<i64> = match lid {
        Value::Array(_) | Value::Object(_) => crate::core::list_items(lid),
        one => vec![one],
    }
    .into_iter()
    .filter_map(as_i64)
    .collect();
    let data = inner.read_data();
    if ids.is_empty() || ids.iter().any(|id| side::get(&data, PAGES, *id).is_none()) {
        return Err(ApiError::bad("LANDING_NOT_EXIST", "Landing not found"));
    }
    Ok(Outcome::of(json!([])))
}
