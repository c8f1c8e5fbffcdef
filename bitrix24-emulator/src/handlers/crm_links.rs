//! Legacy CRM read-outs over the stores of other families: the items of one directory
//! (`crm.status.entity.items`, from `crm.status`), the stages of a deal pipeline
//! (`crm.dealcategory.stage.list`, the same store) and the contacts bound to a company
//! (`crm.company.contact.items.get`, from the company's `CONTACT_ID` and the contacts'
//! `COMPANY_ID`/`COMPANY_IDS`).

use super::common::{query, str_p};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, list_items, param};
use crate::entity::{RowCtx, View};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const CRM: Scope = Scope::Fixed("crm");

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(CRM;
    "crm." {
        "status.entity.items" => entity_items,
        "company.contact.items.get" => company_contacts,
        "dealcategory.stage.list" => deal_stages,
    }
);

/// The `crm.status` rows of directory `entity`, by `SORT`, as `crm.status.list` prints them
/// (with the keys its row view adds to a listed row: a stage's `EXTRA`).
fn directory(inner: &Inner, entity: &str) -> Result<Vec<Value>, ApiError> {
    let Some(fam) = inner.family("crm.status") else {
        return Err(ApiError::method_not_found());
    };
    let order: Map<String, Value> = [("order".to_string(), json!({"SORT": "ASC"}))]
        .into_iter()
        .collect();
    let data = inner.read_data();
    let fixed = [("ENTITY_ID", json!(entity))];
    let mut rows = query(&data, fam, &order, &fixed, 0, usize::MAX)?.rows;
    if let Some(rv) = fam.row_view {
        let cx = RowCtx {
            full: true,
            list: true,
            caller: 0,
            user_name: &|_| None,
        };
        for m in rows.iter_mut().filter_map(Value::as_object_mut) {
            (rv.row)(m, &cx);
        }
    }
    Ok(rows)
}

/// `crm.dealcategory.stage.list` (deprecated, `crm/outdated/category-old/
/// crm-deal-category-stage-list.md`): "equivalent to calling `crm.status.list` with
/// `ENTITY_ID`" `DEAL_STAGE` for pipeline 0 (or no `id`), `DEAL_STAGE_<id>` otherwise; a
/// pipeline that does not exist has no stages.
fn deal_stages(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = param(p, "id").and_then(as_i64).unwrap_or(0);
    let entity = if id > 0 {
        format!("DEAL_STAGE_{id}")
    } else {
        "DEAL_STAGE".to_string()
    };
    Ok(Outcome::of(Value::Array(directory(inner, &entity)?)))
}

/// `crm.status.entity.items`: the items of directory `entityId` by `SORT`, each
/// `{"NAME", "SORT" (a native number), "STATUS_ID"}` (`crm/status/crm-status-entity-items.md`).
fn entity_items(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let entity = str_p(p, "entityId");
    if entity.is_empty() {
        return Err(ApiError::new(
            400,
            "The parameter entityId is not defined or invalid.",
            "The directory ID is not specified or is incorrect.",
        ));
    }
    let items = directory(inner, &entity)?
        .iter()
        .map(|r| {
            json!({
                "NAME": r["NAME"],
                "SORT": r.get("SORT").and_then(as_i64),
                "STATUS_ID": r["STATUS_ID"],
            })
        })
        .collect();
    Ok(Outcome::of(Value::Array(items)))
}

/// `crm.company.contact.items.get`: the contacts bound to company `id`, in binding order, as
/// `{"CONTACT_ID", "SORT", "ROLE_ID"}` native numbers next to `"IS_PRIMARY":"Y"` for the first
/// (`crm/companies/contacts/crm-company-contact-items-get.md`; its example numbers the bindings
/// 100, 110, 120).
fn company_contacts(
    inner: &Arc<Inner>,
    _: &Caller,
    _: &str,
    p: &Map<String, Value>,
) -> MethodResult {
    let id = param(p, "id").and_then(as_i64).filter(|n| *n > 0);
    let Some(id) = id else {
        return Err(ApiError::crm(
            "The parameter ownerEntityID is invalid or not defined.",
        ));
    };
    let data = inner.read_data();
    let contacts = bound_contacts(inner, &data, id);
    let rows = contacts
        .iter()
        .zip(0..)
        .map(|(c, i): (&i64, i64)| {
            json!({
                "CONTACT_ID": c,
                "SORT": 100 + 10 * i,
                "ROLE_ID": 0,
                "IS_PRIMARY": if i == 0 { "Y" } else { "N" },
            })
        })
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// The ids of the contacts bound to company `company`: those the company names first, then the
/// contacts that name it, each once.
fn bound_contacts(inner: &Inner, data: &Data, company: i64) -> Vec<i64> {
    let ids = |v: Option<&Value>| -> Vec<i64> {
        v.map(list_items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(as_i64)
            .collect()
    };
    let mut out = Vec::new();
    if let Some(fam) = inner.family("crm.company")
        && let Some(row) = data.stores.get("crm.company").and_then(|s| {
            s.render_sel(
                fam,
                View::native(fam),
                company,
                Some(&json!(["CONTACT_ID"])),
            )
        })
    {
        out = ids(row.get("CONTACT_ID"));
    }
    if let Some(fam) = inner.family("crm.contact")
        && let Some(store) = data.stores.get("crm.contact")
    {
        let sel = json!(["ID", "COMPANY_ID", "COMPANY_IDS"]);
        for &cid in store.rows.keys() {
            let Some(row) = store.render_sel(fam, View::native(fam), cid, Some(&sel)) else {
                continue;
            };
            let names = ids(row.get("COMPANY_IDS"))
                .into_iter()
                .chain(row.get("COMPANY_ID").and_then(as_i64))
                .any(|c| c == company);
            if names && !out.contains(&cid) {
                out.push(cid);
            }
        }
    }
    out
}
