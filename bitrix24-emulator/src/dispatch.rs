//! v2 method dispatch: one call with its scope check, operating-time limit and metering, then
//! the route table of the hand-written methods or the generic methods of an entity family, or
//! else the documented answer of a specced method nobody serves (`documented_answers`).

use crate::batch;
use crate::core::{ApiError, Caller, Done, MethodResult};
use crate::crud::family_call;
use crate::entity::View;
use crate::events;
use crate::handlers::{
    ai_engine, app_entity, bizproc, blog, booking, calendar, catalog_documents, crm, crm_links,
    departments, disk, im, imbot, landing, lists, product_rows, sale_delivery, scrum, sign_b2e,
    sonet, system, task_elapsed, telephony, timeman, userconsent, userfieldconfig, users,
};
use crate::metering;
use crate::routes::{Route, Scope};
use crate::scopes::insufficient_scope;
use crate::state::{Inner, lock};
use serde_json::{Map, Value};
use std::sync::Arc;

/// `batch` (here because its commands are calls).
const ROUTES: &[Route] = &[Route::new("batch", Scope::Global, |i, c, _, p| {
    batch::run(p, &|method, sub| call(i, c, method, sub, true))
})];

/// Every hand-written method.
pub(crate) fn routes() -> impl Iterator<Item = &'static Route> {
    [
        ROUTES,
        system::ROUTES,
        events::ROUTES,
        users::ROUTES,
        departments::ROUTES,
        crm::ROUTES,
        crm_links::ROUTES,
        userfieldconfig::ROUTES,
        sonet::ROUTES,
        sonet::API_ROUTES,
        im::ROUTES,
        disk::ROUTES,
        task_elapsed::ROUTES,
        product_rows::ROUTES,
        catalog_documents::ROUTES,
        lists::ROUTES,
        sale_delivery::ROUTES,
        timeman::ROUTES,
        ai_engine::ROUTES,
        app_entity::ROUTES,
        userconsent::ROUTES,
        sign_b2e::ROUTES,
        blog::ROUTES,
        imbot::ROUTES,
        telephony::ROUTES,
        calendar::ROUTES,
        booking::ROUTES,
        bizproc::ROUTES,
        landing::ROUTES,
        scrum::ROUTES,
        crate::stage_history::ROUTES,
    ]
    .into_iter()
    .flatten()
}

/// Runs one v2 method with scope check, operating-limit check and metering.
pub(crate) fn call(
    inner: &Arc<Inner>,
    c: &Caller,
    method: &str,
    params: &Map<String, Value>,
    in_batch: bool,
) -> Result<Done, ApiError> {
    if in_batch && matches!(method, "batch" | "upload" | "download") {
        return Err(ApiError::new(
            405,
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "Method is not allowed for batch usage",
        ));
    }
    let Some(scope) = inner.methods.get(method) else {
        return Err(ApiError::method_not_found());
    };
    // Counted only for methods that exist, so random names cannot grow the table.
    *lock(&inner.counters.methods)
        .entry(method.to_string())
        .or_insert(0) += 1;
    if !c.has_scope(scope) {
        return Err(insufficient_scope(c, in_batch));
    }
    let metered = method != "batch";
    let start = inner.now();
    if metered && metering::over_limit(inner, &c.limiter_key, method, start) {
        return Err(ApiError::new(
            429,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        ));
    }
    let result = dispatch(inner, c, method, params);
    let extra = {
        let f = lock(&inner.faults);
        f.cfg
            .method_processing
            .get(method)
            .or_else(|| f.cfg.method_processing.get("*"))
            .map_or(0.0, std::time::Duration::as_secs_f64)
    };
    let finish = inner.now() + extra;
    let processing = finish - start;
    let op = if metered {
        metering::record(inner, &c.limiter_key, method, start, finish)
    } else {
        (0.0, (start + 600.0) as i64)
    };
    let outcome = result?;
    Ok(Done {
        outcome,
        time: metering::time_block(start, finish, processing, op),
    })
}

fn dispatch(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    // Only methods no route and no family serves are answered there.
    if let Some(done) = inner.documented.answer(method, p, inner.now()) {
        return done;
    }
    if let Some(r) = routes().find(|r| r.name == method) {
        return (r.run)(inner, c, method, p);
    }
    let (prefix, action) = method.rsplit_once('.').unwrap_or((method, ""));
    match inner.family(prefix) {
        Some(f) => family_call(inner, c, f, View::native(f), action, p, false),
        None => Err(ApiError::method_not_found()),
    }
}
