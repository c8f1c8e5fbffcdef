//! `crm.item.productrow.add|get|list|delete`: the product rows of CRM objects
//! (`crm/universal/product-rows/*.md`), kept in the side table `crm.productrow` by row id,
//! with the prices the portal derives from `price`, `discount*` and `tax*`.

use super::common::{matching, num, order_of, sort_by_order, wrapped_page};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_f64, as_i64, as_str, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const CRM: Scope = Scope::Fixed("crm");
const TABLE: &str = "crm.productrow";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(CRM;
    "crm.item.productrow." { "add" => add, "get" => get, "list" => list, "delete" => delete }
);

fn not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Item not found")
}

/// The store of the CRM object a short type code names (`D` deals, `L` leads, `T<hex>` a
/// smart process; `crm/data-types.md#object_type`).
fn owner_store(code: &str) -> Option<String> {
    match code {
        "D" => Some("crm.deal".into()),
        "L" => Some("crm.lead".into()),
        _ => {
            let etid = i64::from_str_radix(code.strip_prefix('T')?, 16).ok()?;
            Some(format!("crm.dynamic.{etid}"))
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A new row from `fields`: `price` is per unit after discount and with tax; without tax
/// (`priceExclusive`) it is `price / (1 + taxRate/100)`; before the discount (`priceNetto`)
/// `priceExclusive` plus the discount (a percentage of `priceNetto` for `discountTypeId` 2,
/// the default, an amount for 1); `priceBrutto` is `priceNetto` with tax. The docs' example:
/// `price` 90000, `taxRate` 10, `discountRate` 10 -> 81818.18, 90909.09, 100000, 9090.91.
fn new_row(id: i64, owner: (i64, &str), f: &Map<String, Value>) -> Value {
    let get = |k: &str| param(f, k).and_then(as_f64);
    let price = get("price").unwrap_or(0.0);
    let tax = get("taxRate");
    let exclusive = price / (1.0 + tax.unwrap_or(0.0) / 100.0);
    let kind = param(f, "discountTypeId").and_then(as_i64).unwrap_or(2);
    let (netto, rate, sum) = if kind == 1 {
        let sum = get("discountSum").unwrap_or(0.0);
        let netto = exclusive + sum;
        let rate = if netto == 0.0 {
            0.0
        } else {
            sum / netto * 100.0
        };
        (netto, rate, sum)
    } else {
        let rate = get("discountRate").unwrap_or(0.0);
        let netto = if rate >= 100.0 {
            exclusive
        } else {
            exclusive / (1.0 - rate / 100.0)
        };
        (netto, rate, netto - exclusive)
    };
    let brutto = netto * (1.0 + tax.unwrap_or(0.0) / 100.0);
    let text = |k: &str| param(f, k).and_then(as_str);
    json!({
        "id": id,
        "ownerId": owner.0,
        "ownerType": owner.1,
        "productId": param(f, "productId").and_then(as_i64).unwrap_or(0),
        "productName": text("productName").unwrap_or_default(),
        "price": num(price),
        "priceAccount": num(price),
        "priceExclusive": num(round2(exclusive)),
        "priceNetto": num(round2(netto)),
        "priceBrutto": num(round2(brutto)),
        "quantity": num(get("quantity").unwrap_or(1.0)),
        "discountTypeId": kind,
        "discountRate": num(round2(rate)),
        "discountSum": num(round2(sum)),
        "taxRate": tax.map_or(Value::Null, num),
        "taxIncluded": if text("taxIncluded").as_deref() == Some("Y") { "Y" } else { "N" },
        "customized": "Y",
        "measureCode": param(f, "measureCode").and_then(as_i64),
        "measureName": text("measureName"),
        "sort": param(f, "sort").and_then(as_i64).unwrap_or(10),
        "xmlId": text("xmlId"),
        "type": 1,
        "storeId": param(f, "storeId").and_then(as_i64),
    })
}

fn add(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let Some(Value::Object(f)) = param(p, "fields") else {
        return Err(ApiError::no_value("fields"));
    };
    let owner_id = param(f, "ownerId")
        .and_then(as_i64)
        .ok_or_else(|| ApiError::no_value("ownerId"))?;
    let owner_type = param(f, "ownerType")
        .and_then(as_str)
        .ok_or_else(|| ApiError::no_value("ownerType"))?;
    let mut data = inner.write_data();
    let exists = owner_store(&owner_type)
        .and_then(|k| data.stores.get(&k))
        .is_some_and(|s| s.rows.contains_key(&owner_id));
    if !exists {
        return Err(ApiError::new(
            400,
            "NOT_FOUND",
            format!("CRM object {owner_type} {owner_id} not found"),
        ));
    }
    let table = data.side.entry(TABLE.to_string()).or_default();
    let id = table.keys().next_back().map_or(1, |k| k + 1);
    let row = new_row(id, (owner_id, &owner_type), f);
    table.insert(id, row.clone());
    Ok(Outcome::of(json!({ "productRow": row })))
}

fn row_of(data: &Data, id: i64) -> Option<&Value> {
    data.side.get(TABLE).and_then(|t| t.get(&id))
}

fn get(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = param(p, "id")
        .and_then(as_i64)
        .ok_or_else(|| ApiError::no_value("id"))?;
    let data = inner.read_data();
    let row = row_of(&data, id).ok_or_else(not_found)?;
    Ok(Outcome::of(json!({ "productRow": row })))
}

fn delete(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = param(p, "id")
        .and_then(as_i64)
        .ok_or_else(|| ApiError::no_value("id"))?;
    let mut data = inner.write_data();
    let removed = data.side.get_mut(TABLE).and_then(|t| t.remove(&id));
    removed.ok_or_else(not_found)?;
    Ok(Outcome::of(Value::Null))
}

/// `crm.item.productrow.list`: `filter` must name `=ownerType` and `=ownerId`; rows by `sort`
/// then id unless `order` says otherwise, in `{"productRows": [...]}` with `total`.
fn list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let Some(Value::Object(filter)) = param(p, "filter") else {
        return Err(ApiError::no_value("filter"));
    };
    for k in ["=ownerType", "=ownerId"] {
        if !filter.contains_key(k) {
            return Err(ApiError::new(
                400,
                "INVALID_ARG_VALUE",
                format!("The filter must have the key {k}"),
            ));
        }
    }
    let data = inner.read_data();
    let mut rows = matching(
        data.side.get(TABLE).into_iter().flat_map(|t| t.values()),
        filter,
    );
    let mut order = order_of(param(p, "order"), false);
    if order.is_empty() {
        order.push(("sort".into(), false));
    }
    order.push(("id".into(), false));
    sort_by_order(&mut rows, &order);
    Ok(wrapped_page(rows, p, "productRows"))
}
