//! Consent agreements (`userconsent.agreement.list`, `userconsent.agreement.text`,
//! `userconsent.consent.add`, `user-consent/user-consent-*.md`). Agreements are made in the
//! portal's settings, not over REST, so tests load them with `Control::seed_records`
//! (`"userconsent.agreement"`: `NAME`, `ACTIVE`, `LANGUAGE_ID`, `LABEL`, `TEXT`); consents go
//! to the side table `userconsent.consent`.

use super::side::{self, id_p, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The agreements table (seeded).
pub(crate) const AGREEMENTS: &str = "userconsent.agreement";
const CONSENTS: &str = "userconsent.consent";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("userconsent");
    "userconsent.agreement." { "list" => list, "text" => agreement_text }
    "userconsent.consent." { "add" => consent_add }
);

/// The agreement `name` names (`id`, `AGREEMENT_ID`), with the documented errors.
fn agreement<'a>(
    data: &'a Data,
    p: &Map<String, Value>,
    name: &str,
) -> Result<&'a Value, ApiError> {
    let id = id_p(p, name)
        .ok_or_else(|| ApiError::new(400, "400", "Parameter `Agreement ID` required"))?;
    side::get(data, AGREEMENTS, id)
        .ok_or_else(|| ApiError::new(400, "400", format!("Agreement with id `{id}` not found")))
}

/// `userconsent.agreement.list`: `ID`, `NAME`, `ACTIVE`, `LANGUAGE_ID`, newest first.
#[allow(clippy::unnecessary_wraps)]
fn list(inner: &Arc<Inner>, _: &Caller, _: &str, _: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let rows: Vec<Value> = side::rows(&data, AGREEMENTS)
        .rev()
        .map(|a| {
            json!({
                "ID": a["ID"], "NAME": a["NAME"], "ACTIVE": a["ACTIVE"],
                "LANGUAGE_ID": a["LANGUAGE_ID"],
            })
        })
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// `userconsent.agreement.text`: `{LABEL, TEXT}`; `replace` substitutes `#KEY#` marks.
fn agreement_text(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let a = agreement(&data, p, "id")?;
    let replace = side::obj(p, "replace");
    let fill = |k: &str| {
        let mut s = a[k].as_str().unwrap_or_default().to_string();
        for (key, v) in &replace {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            s = s.replace(&format!("#{}#", key.to_ascii_uppercase()), &v);
        }
        s
    };
    Ok(Outcome::of(
        json!({ "LABEL": fill("LABEL"), "TEXT": fill("TEXT") }),
    ))
}

/// Whether `ip` is a dotted IPv4 or an IPv6 address.
fn is_ip(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok()
}

/// `userconsent.consent.add`: `AGREEMENT_ID` and `IP` required; answers the consent's id.
fn consent_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let now = inner.now() as i64;
    let mut data = inner.write_data();
    agreement(&data, p, "AGREEMENT_ID")?;
    let ip = text(p, "IP").unwrap_or_default();
    if !is_ip(&ip) {
        return Err(ApiError::new(400, "400", "Invalid IP address format"));
    }
    let id = side::insert(&mut data, CONSENTS, |id| {
        json!({
            "ID": id, "AGREEMENT_ID": id_p(p, "AGREEMENT_ID"), "IP": ip,
            "USER_ID": id_p(p, "USER_ID").unwrap_or(c.user_id as i64),
            "URL": text(p, "URL"), "ORIGIN_ID": text(p, "ORIGIN_ID"),
            "ORIGINATOR_ID": text(p, "ORIGINATOR_ID"), "DATE_INSERT": now,
        })
    });
    Ok(Outcome::of(json!(id)))
}
