//! System methods: `server.time`, `scope`, `methods`, `method.get`, `profile`, `app.info`,
//! `feature.get`.

use crate::clock;
use crate::core::{AuthKind, Caller, MethodResult, Outcome, as_str, param};
use crate::php;
use crate::routes::{Route, Scope};
use crate::state::{Inner, lock};
use serde_json::{Map, Value, json};

/// The system methods (every caller may call them).
pub(crate) const ROUTES: &[Route] = &[
    Route::new("server.time", Scope::Global, |i, _, _, _| {
        Ok(Outcome::of(json!(clock::iso(i.now()))))
    }),
    Route::new("scope", Scope::Global, |i, c, _, p| Ok(scope(i, c, p))),
    Route::new("methods", Scope::Global, |i, c, _, p| {
        Ok(Outcome::of(methods_list(i, c, p)))
    }),
    Route::new("method.get", Scope::Global, |i, c, _, p| {
        Ok(method_get(i, c, p))
    }),
    Route::new("profile", Scope::Global, |i, c, _, _| profile(i, c)),
    Route::new("app.info", Scope::Global, |i, c, _, _| {
        Ok(Outcome::of(app_info(i, c)))
    }),
    Route::new("feature.get", Scope::Global, |_, _, _, p| {
        Ok(feature_get(p))
    }),
];

fn scope(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> Outcome {
    let full = param(p, "full").is_some_and(php::truthy);
    let list: Vec<String> = if full {
        inner.all_scopes.clone()
    } else {
        c.scopes.clone()
    };
    Outcome::of(json!(list))
}

fn method_get(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> Outcome {
    let name = p.get("name").and_then(as_str).unwrap_or_default();
    let scope = inner.methods.get(&name);
    Outcome::of(json!({
        "isExisting": scope.is_some(),
        "isAvailable": scope.is_some_and(|s| c.has_scope(s)),
    }))
}

fn feature_get(p: &Map<String, Value>) -> Outcome {
    let code = param(p, "code").and_then(as_str).unwrap_or_default();
    let v = if matches!(
        code.as_str(),
        "rest_offline_extended" | "rest_auth_connector"
    ) {
        "Y"
    } else {
        "N"
    };
    Outcome::of(json!({ "value": v }))
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
    let data = inner.read_data();
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
