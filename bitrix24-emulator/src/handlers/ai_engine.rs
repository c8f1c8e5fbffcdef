//! Copilot AI services (`ai.engine.register`, `ai.engine.list`, `ai.engine.unregister`,
//! `ai/ai-engine-*.md`) in the side table `ai.engine`, each owned by the application that
//! registered it (`app_code`: the caller's client id, `null` for a webhook). The emulator does
//! not call `completions_url`: it checks that it is an http(s) URL.

use super::common::matching;
use super::side::{self, obj, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const AI: Scope = Scope::Fixed("ai_admin");
const ENGINES: &str = "ai.engine";
const CATEGORIES: [&str; 4] = ["text", "image", "audio", "call"];

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(AI;
    "ai.engine." { "register" => register, "list" => list, "unregister" => unregister }
);

fn reg_err(suffix: &str, desc: &str) -> ApiError {
    ApiError::new(400, &format!("ENGINE_REGISTER_ERROR_{suffix}"), desc)
}

fn owner(c: &Caller) -> Value {
    c.client_id.clone().map_or(Value::Null, Value::String)
}

/// The documented checks of `ai.engine.register`, in the documented order.
fn checked(p: &Map<String, Value>) -> Result<(String, String, String, String), ApiError> {
    let name = text(p, "name")
        .ok_or_else(|| reg_err("NAME", "The `name` key with a string value is required"))?;
    let code = text(p, "code")
        .ok_or_else(|| reg_err("CODE", "The `code` key with a string value is required"))?;
    if !code
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        return Err(reg_err(
            "CODE_FORMAT",
            "The `code` key must contain only characters `A-Za-z0-9-_`",
        ));
    }
    let category =
        text(p, "category").ok_or_else(|| reg_err("CATEGORY", "The `category` key is required"))?;
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(reg_err(
            "CATEGORY_FORMAT",
            "The `category` key can contain one of the values: `text, image, audio, call`",
        ));
    }
    let url = text(p, "completions_url").ok_or_else(|| {
        reg_err(
            "COMPLETIONS_URL",
            "The `completions_url` key with a string value is required",
        )
    })?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(reg_err(
            "COMPLETIONS_URL_FAIL",
            "The value of the `completions_url` key must be a valid URL that returns status `200` upon verification",
        ));
    }
    if param(p, "settings").is_some_and(|s| !s.is_object()) {
        return Err(reg_err(
            "SETTINGS_FORMAT",
            "The value of the `settings` key must be valid JSON",
        ));
    }
    Ok((name, code, category, url))
}

/// `ai.engine.register`: answers the new service's id; a code is unique per category.
fn register(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let (name, code, category, url) = checked(p)?;
    let now = inner.now() as i64;
    let mut data = inner.write_data();
    if side::rows(&data, ENGINES)
        .any(|e| e["code"] == json!(code) && e["category"] == json!(category))
    {
        return Err(reg_err(
            "CODE_UNIQUE",
            "A record with this `code` already exists.",
        ));
    }
    let settings = obj(p, "settings");
    let id = side::insert(&mut data, ENGINES, |id| {
        json!({
            "id": id, "app_code": owner(c), "name": name, "code": code,
            "category": category, "completions_url": url, "settings": settings,
            "date_create": now,
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `ai.engine.list`: the caller's services, `filter` and `limit` applied.
#[allow(clippy::unnecessary_wraps)]
fn list(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let me = owner(c);
    let mine = side::rows(&data, ENGINES).filter(|e| e["app_code"] == me);
    let mut rows = matching(mine, &obj(p, "filter"));
    if let Some(n) = param(p, "limit").and_then(as_i64) {
        rows.truncate(usize::try_from(n.max(0)).unwrap_or(0));
    }
    Ok(Outcome::of(Value::Array(
        rows.into_iter().map(Value::Object).collect(),
    )))
}

/// `ai.engine.unregister`: `true` when the caller's service of that `code` was removed.
#[allow(clippy::unnecessary_wraps)]
fn unregister(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let code = json!(text(p, "code").unwrap_or_default());
    let me = owner(c);
    let mut data = inner.write_data();
    let t = side::table(&mut data, ENGINES);
    let before = t.len();
    t.retain(|_, e| !(e["code"] == code && e["app_code"] == me));
    Ok(Outcome::of(json!(t.len() < before)))
}
