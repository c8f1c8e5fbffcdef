//! Delivery services (`sale.delivery.add`, `sale.delivery.getlist`,
//! `sale/delivery/delivery/sale-delivery-*.md`): `sale_delivery_service` rows (`ID`,
//! `PARENT_ID`, `NAME`, `ACTIVE`, `DESCRIPTION`, `SORT`, `CURRENCY`, `LOGOTYPE`) in the side
//! table `sale.delivery`. The emulator has no delivery handlers, so a service is added with
//! no profiles.

use super::side::{self, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const TABLE: &str = "sale.delivery";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("sale");
    "sale.delivery." { "add" => add, "getlist" => list }
);

/// The documented validation error (`ERROR_CHECK_FAILURE`, 400).
fn check_failure(name: &str) -> ApiError {
    ApiError::new(
        400,
        "ERROR_CHECK_FAILURE",
        format!("Required fields: {name}"),
    )
}

/// `sale.delivery.add`: `REST_CODE`, `NAME` and `CURRENCY` required; answers
/// `{"parent": service, "profiles": []}`.
fn add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    for name in ["REST_CODE", "NAME", "CURRENCY"] {
        if text(p, name).is_none() {
            return Err(check_failure(name));
        }
    }
    let mut data = inner.write_data();
    let id = side::insert(&mut data, TABLE, |id| {
        json!({
            "NAME": text(p, "NAME"),
            "ACTIVE": text(p, "ACTIVE").unwrap_or_else(|| "Y".into()),
            "DESCRIPTION": text(p, "DESCRIPTION").unwrap_or_default(),
            "CURRENCY": text(p, "CURRENCY"),
            "ID": id,
            "PARENT_ID": null,
            "SORT": param(p, "SORT").and_then(as_i64).unwrap_or(100),
            "LOGOTYPE": null,
        })
    });
    let parent = side::get(&data, TABLE, id).cloned();
    Ok(Outcome::of(json!({ "parent": parent, "profiles": [] })))
}

/// `sale.delivery.getlist`: `FILTER`, `ORDER` and `SELECT` over the services; a plain array.
#[allow(clippy::unnecessary_wraps)]
fn list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let rows = side::listed(&data, TABLE, p, ["FILTER", "ORDER", "SELECT"]);
    Ok(Outcome::of(Value::Array(rows)))
}
