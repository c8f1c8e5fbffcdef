//! Business processes and robots (`bizproc.workflow.template.add`, `bizproc.workflow.start`,
//! `bizproc.workflow.instances`, `bizproc.workflow.terminate`, `bizproc.workflow.kill`,
//! `bizproc.robot.add|list|update`, `bizproc/**`): templates in the side table
//! `bizproc.template`, running workflows in `bizproc.workflow` (string ids, as the portal
//! makes them), robots in `bizproc.robot` per application. The emulator runs no template: a
//! started workflow stays running until it is terminated or killed. Workflow methods are for
//! administrators (`ACCESS_DENIED` otherwise); templates and robots need an application.

use super::common::page_of;
use super::side::{self, obj, text};
use crate::clock::iso;
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_str, list_items, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const TEMPLATES: &str = "bizproc.template";
const WORKFLOWS: &str = "bizproc.workflow";
const ROBOTS: &str = "bizproc.robot";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("bizproc");
    "bizproc.workflow.template." { "add" => template_add }
    "bizproc.workflow." {
        "start" => start, "instances" => instances, "terminate" => stop, "kill" => stop,
    }
    "bizproc.robot." { "add" => robot_add, "list" => robot_list, "update" => robot_update }
);

fn admin(c: &Caller) -> Result<(), ApiError> {
    if c.admin {
        Ok(())
    } else {
        Err(ApiError::access_denied(""))
    }
}

fn app(c: &Caller) -> Result<String, ApiError> {
    c.client_id
        .clone()
        .ok_or_else(|| ApiError::new(403, "ACCESS_DENIED", "Application context required"))
}

/// A `[module, object, id]` parameter as three strings.
fn triple(p: &Map<String, Value>, name: &str) -> Option<[String; 3]> {
    let v: Vec<String> = list_items(param(p, name)?)
        .into_iter()
        .filter_map(as_str)
        .collect();
    <[String; 3]>::try_from(v).ok()
}

/// `bizproc.workflow.template.add`: a template of a document type; answers its id.
fn template_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    app(c)?;
    admin(c)?;
    let fail = |d: &str| ApiError::new(400, "ERROR_TEMPLATE_VALIDATION_FAILURE", d);
    let ty = triple(p, "DOCUMENT_TYPE").ok_or_else(|| fail("Incorrect field DOCUMENT_TYPE!"))?;
    let name = text(p, "NAME").ok_or_else(|| fail("Empty template name!"))?;
    if param(p, "TEMPLATE_DATA").is_none_or(Value::is_null) {
        return Err(fail("Incorrect field TEMPLATE_DATA!"));
    }
    let mut data = inner.write_data();
    let id = side::insert(
        &mut data,
        TEMPLATES,
        |id| json!({"ID": id, "DOCUMENT_TYPE": ty, "NAME": name}),
    );
    Ok(Outcome::of(json!(id)))
}

/// `bizproc.workflow.start`: a workflow of a template on a document of its type; answers the
/// workflow id.
fn start(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    admin(c)?;
    let wrong = |d: &str| ApiError::new(400, "ERROR_WRONG_WORKFLOW_ID", d);
    let template = param(p, "TEMPLATE_ID")
        .and_then(crate::core::as_i64)
        .filter(|t| *t > 0)
        .ok_or_else(|| wrong("Empty TEMPLATE_ID"))?;
    let doc =
        triple(p, "DOCUMENT_ID").ok_or_else(|| ApiError::new(400, "", "Wrong DOCUMENT_ID!"))?;
    let now = inner.now();
    let mut data = inner.write_data();
    let tpl = side::get(&data, TEMPLATES, template).ok_or_else(|| wrong("Template not found"))?;
    let ty = &tpl["DOCUMENT_TYPE"];
    let element_type = doc[2].rsplit_once('_').map_or("", |(t, _)| t);
    if ty[0] != json!(doc[0]) || ty[1] != json!(doc[1]) || ty[2] != json!(element_type) {
        return Err(ApiError::new(
            400,
            "",
            "Template type and DOCUMENT_ID mismatch!",
        ));
    }
    let n = side::rows(&data, WORKFLOWS).count() + 1;
    let wf_id = format!("{:013x}.{:08}", (now * 1e6) as u64, n);
    side::insert(&mut data, WORKFLOWS, |_| {
        json!({
            "DOCUMENT_ID": doc[2], "ENTITY": doc[1], "ID": wf_id, "STARTED": iso(now),
            "MODULE_ID": doc[0], "OWNED_UNTIL": null, "TEMPLATE_ID": template.to_string(),
            "STARTED_BY": c.user_id.to_string(),
        })
    });
    Ok(Outcome::of(json!(wf_id)))
}

/// `bizproc.workflow.instances`: the running workflows, `FILTER`/`ORDER`/`SELECT`, 50 a page.
fn instances(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    admin(c)?;
    let data = inner.read_data();
    let rows = side::listed(&data, WORKFLOWS, p, ["FILTER", "ORDER", "SELECT"]);
    Ok(page_of(rows, p))
}

/// `bizproc.workflow.terminate` and `bizproc.workflow.kill`: the workflow `ID` ends; `true`.
fn stop(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    admin(c)?;
    let id = text(p, "ID").ok_or_else(|| {
        ApiError::new(400, "ERROR_WRONG_WORKFLOW_ID", "Empty workflow instance ID")
    })?;
    let mut data = inner.write_data();
    side::table(&mut data, WORKFLOWS).retain(|_, w| w["ID"] != json!(id));
    Ok(Outcome::of(json!(true)))
}

fn robot_fail(d: &str) -> ApiError {
    ApiError::new(400, "ERROR_ACTIVITY_VALIDATION_FAILURE", d)
}

/// The handler URL check of robots (`ERROR_UNSUPPORTED_PROTOCOL`).
fn check_handler(url: &str) -> Result<(), ApiError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "ERROR_UNSUPPORTED_PROTOCOL",
            "Unsupported handler protocol",
        ))
    }
}

/// `bizproc.robot.add`: `CODE`, `HANDLER` and `NAME`; `true`.
fn robot_add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let app = app(c)?;
    admin(c)?;
    let code = text(p, "CODE").ok_or_else(|| robot_fail("Empty activity code!"))?;
    let handler = text(p, "HANDLER").ok_or_else(|| robot_fail("Empty data!"))?;
    check_handler(&handler)?;
    let name = param(p, "NAME")
        .cloned()
        .filter(|n| !n.is_null())
        .ok_or_else(|| robot_fail("Empty data!"))?;
    let mut data = inner.write_data();
    side::table(&mut data, ROBOTS)
        .retain(|_, r| !(r["CODE"] == json!(code) && r["APP"] == json!(app)));
    side::insert(&mut data, ROBOTS, |id| {
        json!({
            "ID": id, "APP": app, "CODE": code, "HANDLER": handler, "NAME": name,
            "PROPERTIES": obj(p, "PROPERTIES"), "RETURN_PROPERTIES": obj(p, "RETURN_PROPERTIES"),
        })
    });
    Ok(Outcome::of(json!(true)))
}

/// `bizproc.robot.list`: the codes of the application's robots.
fn robot_list(inner: &Arc<Inner>, c: &Caller, _: &str, _: &Map<String, Value>) -> MethodResult {
    let app = json!(app(c)?);
    admin(c)?;
    let data = inner.read_data();
    let codes = side::rows(&data, ROBOTS)
        .filter(|r| r["APP"] == app)
        .map(|r| r["CODE"].clone())
        .collect();
    Ok(Outcome::of(Value::Array(codes)))
}

/// `bizproc.robot.update`: `CODE` and the `FIELDS` to change; `true`.
fn robot_update(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let app = json!(app(c)?);
    admin(c)?;
    let code = json!(text(p, "CODE").ok_or_else(|| robot_fail("Empty activity code!"))?);
    let fields = obj(p, "FIELDS");
    if let Some(h) = text(&fields, "HANDLER") {
        check_handler(&h)?;
    }
    let mut data = inner.write_data();
    let robot = side::table(&mut data, ROBOTS)
        .values_mut()
        .find(|r| r["CODE"] == code && r["APP"] == app)
        .ok_or_else(|| {
            ApiError::new(
                400,
                "ERROR_ACTIVITY_NOT_FOUND",
                "Activity or Automation Rule not found!",
            )
        })?;
    for (k, v) in fields {
        robot[k.to_ascii_uppercase()] = v;
    }
    Ok(Outcome::of(json!(true)))
}
