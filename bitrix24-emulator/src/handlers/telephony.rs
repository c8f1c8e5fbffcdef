//! External calls (`telephony.externalCall.register`, `telephony.externalCall.finish`,
//! `telephony/telephony-external-call-*.md`), application context only: calls in the side
//! table `telephony.call` under their `CALL_ID`, registered, then finished into the call
//! statistics row the docs show. No CRM entity is created or looked up (`CRM_CREATE` is not
//! served): the call keeps the `CRM_ENTITY_TYPE`/`CRM_ENTITY_ID` it was given.

use super::side::{self, id_p, text};
use crate::clock::parse_datetime;
use crate::core::{ApiError, AuthKind, Caller, MethodResult, Outcome, as_f64, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const CALLS: &str = "telephony.call";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("telephony");
    "telephony.externalcall." { "register" => register, "finish" => finish }
);

fn core_err(desc: &str) -> ApiError {
    ApiError::new(400, "ERROR_CORE", desc)
}

/// The application context the methods need, and the user the call is for.
fn check(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> Result<i64, ApiError> {
    if c.kind != AuthKind::OAuth {
        return Err(ApiError::new(
            401,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method.",
        ));
    }
    let user = id_p(p, "USER_ID");
    if user.is_none() && text(p, "USER_PHONE_INNER").is_none() {
        return Err(core_err("USER_ID or USER_PHONE_INNER should be set."));
    }
    let user = user.unwrap_or(c.user_id as i64);
    if !inner.read_data().users.contains_key(&(user as u64)) {
        return Err(core_err("User is not found or is not active."));
    }
    Ok(user)
}

/// `telephony.externalCall.register`: `TYPE` 1 (outgoing) to 4 (callback); answers the call id.
fn register(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let user = check(inner, c, p)?;
    let ty = id_p(p, "TYPE")
        .filter(|t| (1..=4).contains(t))
        .ok_or_else(|| core_err("Unknown TYPE."))?;
    let start = match text(p, "CALL_START_DATE") {
        Some(d) => parse_datetime(&d)
            .ok_or_else(|| core_err("CALL_START_DATE should be in the ISO-8601 format."))?,
        None => inner.now() as i64,
    };
    let phone: String = text(p, "PHONE_NUMBER")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if phone.is_empty() {
        return Err(core_err("Unsupported phone number format."));
    }
    let call_id = format!(
        "externalCall.{:032x}.{start}",
        inner.now().to_bits() ^ (user as u64)
    );
    let entity_type = text(p, "CRM_ENTITY_TYPE");
    let entity_id = id_p(p, "CRM_ENTITY_ID");
    let mut data = inner.write_data();
    side::insert(&mut data, CALLS, |_| {
        json!({
            "CALL_ID": call_id, "EXTERNAL_CALL_ID": text(p, "EXTERNAL_CALL_ID"),
            "PORTAL_USER_ID": user, "PHONE_NUMBER": phone,
            "PORTAL_NUMBER": text(p, "LINE_NUMBER").unwrap_or_default(), "INCOMING": ty.to_string(),
            "START": start, "CRM_ENTITY_TYPE": entity_type, "CRM_ENTITY_ID": entity_id,
            "REST_APP_ID": c.client_id, "FINISHED": false,
        })
    });
    Ok(Outcome::of(json!({
        "CALL_ID": call_id, "CRM_CREATED_LEAD": null, "CRM_CREATED_ENTITIES": [],
        "CRM_ENTITY_TYPE": entity_type, "CRM_ENTITY_ID": entity_id,
    })))
}

/// `telephony.externalCall.finish`: the registered call's statistics row.
fn finish(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let call_id = match param(p, "CALL_ID") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::new(
                400,
                "INVALID_ARGUMENT",
                "CALL_ID must be a string",
            ));
        }
    };
    check(inner, c, p)?;
    let mut data = inner.write_data();
    let (key, row) = side::table(&mut data, CALLS)
        .iter_mut()
        .find(|(_, r)| r["CALL_ID"] == json!(call_id))
        .map(|(k, r)| (*k, r))
        .ok_or_else(|| {
            core_err("Call is not found (call should be registered prior to finishing)")
        })?;
    let duration = id_p(p, "DURATION").unwrap_or(0);
    let status = text(p, "STATUS_CODE").unwrap_or_else(|| "200".into());
    let out = json!({
        "CALL_ID": call_id, "EXTERNAL_CALL_ID": row["EXTERNAL_CALL_ID"],
        "PORTAL_USER_ID": row["PORTAL_USER_ID"], "PHONE_NUMBER": row["PHONE_NUMBER"],
        "PORTAL_NUMBER": row["PORTAL_NUMBER"], "INCOMING": row["INCOMING"],
        "CALL_DURATION": duration, "CALL_START_DATE": {},
        "CALL_STATUS": i64::from(status == "200"), "CALL_VOTE": id_p(p, "VOTE"),
        "COST": param(p, "COST").and_then(as_f64).unwrap_or(0.0),
        "COST_CURRENCY": text(p, "COST_CURRENCY").unwrap_or_default(),
        "CALL_FAILED_CODE": status, "CALL_FAILED_REASON": text(p, "FAILED_REASON").unwrap_or_default(),
        "REST_APP_ID": row["REST_APP_ID"], "REST_APP_NAME": "", "CRM_ACTIVITY_ID": null,
        "COMMENT": null, "CRM_ENTITY_TYPE": row["CRM_ENTITY_TYPE"],
        "CRM_ENTITY_ID": row["CRM_ENTITY_ID"], "ID": key,
        "RECORD_URL": text(p, "RECORD_URL"),
    });
    *row = out.clone();
    row["FINISHED"] = json!(true);
    Ok(Outcome::of(out))
}
