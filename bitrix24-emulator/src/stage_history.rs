//! The stage history of leads, deals and smart-process items (`crm.stagehistory.list`,
//! `crm/crm-stage-history-list.md`): a record on creation (`TYPE_ID` 1), on a move to an
//! intermediate stage (2), to a final stage (3) and to another pipeline (5), kept in the side
//! table `crm.stagehistory.<entityTypeId>`.

use crate::core::{ApiError, Caller, MethodResult, as_i64, param};
use crate::entity::value::{V, v_text};
use crate::entity::{Family, Store};
use crate::filter::JsonCond;
use crate::handlers::common::{keep_selected, order_of, select_names, sort_by_order, wrapped_page};
use crate::routes::{Route, Scope};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The method served here.
pub(crate) const ROUTES: &[Route] = &[Route::new(
    "crm.stagehistory.list",
    Scope::Fixed("crm"),
    list,
)];

fn table(etid: u32) -> String {
    format!("crm.stagehistory.{etid}")
}

/// Where an object stands: its stage and pipeline.
pub(crate) type Standing = (String, i64);

/// The stage and pipeline of object `id` of `fam`, when the family keeps a history (leads 1,
/// deals 2, smart processes from 128).
pub(crate) fn standing(fam: &Family, store: &Store, id: i64) -> Option<Standing> {
    let etid = fam.spec.entity_type_id?;
    if !matches!(etid, 1 | 2) && etid < 128 {
        return None;
    }
    let stage = fam
        .slot("STAGE_ID", false)
        .or_else(|| fam.slot("STATUS_ID", false))?;
    let row = store.rows.get(&id)?;
    let category = fam
        .slot("CATEGORY_ID", false)
        .map_or(0, |i| match row.vals[i] {
            V::Int(n) => n,
            _ => 0,
        });
    Some((v_text(&row.vals[stage]), category))
}

/// The semantics of a stage by the portal's stage ids: `S` for a won one (`WON`,
/// `C1:WON`, a lead's `CONVERTED`, a smart process's `DT<type>_<pipeline>:SUCCESS`), `F` for a
/// lost one (`LOSE`, `JUNK`, `...:FAIL`), else `P`.
fn semantic(stage: &str) -> &'static str {
    let last = stage.rsplit(':').next().unwrap_or(stage);
    match last {
        "WON" | "CONVERTED" | "SUCCESS" => "S",
        "LOSE" | "JUNK" | "FAIL" => "F",
        _ => "P",
    }
}

/// Records the move of object `id` from `before` (`None`: just created) to `after`.
pub(crate) fn record(
    side: &mut HashMap<String, BTreeMap<i64, Value>>,
    fam: &Family,
    id: i64,
    before: Option<&Standing>,
    after: Option<Standing>,
    now: f64,
) {
    let (Some(etid), Some((stage, category))) = (fam.spec.entity_type_id, after) else {
        return;
    };
    let kind = match before {
        None => 1,
        Some((_, c)) if *c != category => 5,
        Some((s, _)) if *s == stage => return,
        Some(_) if semantic(&stage) == "P" => 2,
        Some(_) => 3,
    };
    let rows = side.entry(table(etid)).or_default();
    let rid = rows.keys().next_back().map_or(1, |k| k + 1);
    let time = crate::clock::iso(now);
    let row = if etid == 1 {
        json!({"ID": rid, "TYPE_ID": kind, "OWNER_ID": id, "CREATED_TIME": time,
            "STATUS_SEMANTIC_ID": semantic(&stage), "STATUS_ID": stage})
    } else {
        json!({"ID": rid, "TYPE_ID": kind, "OWNER_ID": id, "CREATED_TIME": time,
            "CATEGORY_ID": category, "STAGE_SEMANTIC_ID": semantic(&stage), "STAGE_ID": stage})
    };
    rows.insert(rid, row);
}

/// `crm.stagehistory.list`: `{"items": [...]}` (native numbers, UPPER keys) of one
/// `entityTypeId` with `filter`, `order`, `select` and pages of 50.
fn list(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let etid = param(p, "entityTypeId")
        .and_then(as_i64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| ApiError::no_value("entityTypeId"))?;
    if !matches!(etid, 1 | 2) && inner.dynamic_family(etid).is_none() {
        return Err(ApiError::new(400, "NOT_FOUND", "Smart process not found"));
    }
    let conds: Vec<JsonCond> = match param(p, "filter") {
        Some(Value::Object(f)) => f.iter().map(|(k, v)| JsonCond::new(k, v)).collect(),
        _ => Vec::new(),
    };
    let mut rows: Vec<Map<String, Value>> = {
        let data = inner.read_data();
        data.side
            .get(&table(etid))
            .into_iter()
            .flat_map(|t| t.values())
            .filter_map(|r| r.as_object().cloned())
            .filter(|r| {
                conds
                    .iter()
                    .all(|c| r.get(&c.field).is_some_and(|h| c.matches(h)))
            })
            .collect()
    };
    sort_by_order(&mut rows, &order_of(param(p, "order"), true));
    keep_selected(&mut rows, &select_names(param(p, "select")));
    Ok(wrapped_page(rows, p, "items"))
}
