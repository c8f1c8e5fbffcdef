//! REST 3.0 employees of the company structure: `humanresources.employee.*`
//! (api-reference/departments/employee/), read from the node tree of `v3_humanresources`: an
//! employee is a user who is a member of a node; their departments and teams are the nodes
//! they are a member of.

use crate::clock;
use crate::core::{as_i64, as_str};
use crate::state::Data;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, err, validation};
use crate::v3_humanresources::{ensure, member_list, need, person, rows};
use serde_json::{Map, Value, json};

/// Runs one `humanresources.employee.*` method.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let now = clock::iso(c.inner.now());
    let mut data = c.inner.write_data();
    ensure(&mut data, &now);
    let data = &*data;
    match c.name {
        "humanresources.employee.search" => search(c, data),
        "humanresources.employee.count" => Ok(json!({ "total": employees(data).len() })),
        "humanresources.employee.multidepartment" => {
            let many: Vec<Value> = employees(data)
                .into_iter()
                .filter_map(|u| {
                    let (departments, _) = nodes_of(data, u);
                    (departments.len() > 1).then(|| {
                        let mut m = person(data, u);
                        m.remove("avatar");
                        m.remove("url");
                        m.insert("departments".into(), Value::Array(departments));
                        Value::Object(m)
                    })
                })
                .collect();
            Ok(json!({ "total": many.len(), "employees": many }))
        }
        "humanresources.employee.subordinates" => subordinates(data, c.p),
        _ => c.shared(),
    }
}

/// Every user who is a member of a node, by id.
fn employees(data: &Data) -> Vec<i64> {
    let mut ids: Vec<i64> = rows(data, |_| true)
        .iter()
        .flat_map(|r| member_list(r).into_iter().map(|m| m.0))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The departments and the teams user `u` is a member of, as `{id, name}`.
fn nodes_of(data: &Data, u: i64) -> (Vec<Value>, Vec<Value>) {
    let (mut departments, mut teams) = (Vec::new(), Vec::new());
    for r in rows(data, |r| member_list(r).iter().any(|m| m.0 == u)) {
        let entry = json!({ "id": r.get("id"), "name": r.get("name") });
        if r.get("type").and_then(Value::as_str) == Some("TEAM") {
            teams.push(entry);
        } else {
            departments.push(entry);
        }
    }
    (departments, teams)
}

/// `humanresources.employee.search`: employees whose name contains `name`, in `nodeId` only
/// when given.
fn search(c: &Call<'_>, data: &Data) -> Result<Value, V3Error> {
    let needle = match need(c.p, "name")?.as_str() {
        Some(s) => s.to_lowercase(),
        None => return Err(validation("name", "Parameter `\"name\"` is required.")),
    };
    let within: Option<Vec<i64>> = match c.p.get("nodeId") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = as_i64(v).unwrap_or_default();
            let row = crate::v3_humanresources::node(data, id)?;
            Some(member_list(&row).into_iter().map(|m| m.0).collect())
        }
    };
    let mut found: Vec<Map<String, Value>> = Vec::new();
    for u in employees(data) {
        if within.as_ref().is_some_and(|w| !w.contains(&u)) {
            continue;
        }
        let mut m = person(data, u);
        let name = m.get("name").and_then(as_str).unwrap_or_default();
        if !name.to_lowercase().contains(&needle) {
            continue;
        }
        let (departments, teams) = nodes_of(data, u);
        m.insert("departments".into(), Value::Array(departments));
        m.insert("teams".into(), Value::Array(teams));
        found.push(m);
    }
    c.items(found.iter())
}

/// `humanresources.employee.subordinates`: the departments user `id` heads, each with how
/// many other members it has.
fn subordinates(data: &Data, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = match p.get("id") {
        None | Some(Value::Null) => {
            return Err(validation("id", "Required field `id` is not specified"));
        }
        Some(v) => match as_i64(v) {
            Some(n) if n > 0 => n,
            _ => {
                return Err(validation(
                    "id",
                    "Parameter `\"id\"` is required and must be a positive integer",
                ));
            }
        },
    };
    if u64::try_from(id)
        .ok()
        .and_then(|u| data.users.get(&u))
        .is_none()
    {
        return Err(err(403, "ACCESSDENIEDEXCEPTION", "Access denied"));
    }
    let headed: Vec<Value> = rows(data, |r| {
        member_list(r)
            .iter()
            .any(|m| m.0 == id && m.1 == "MEMBER_HEAD")
    })
    .iter()
    .map(|r| {
        let others = member_list(r).iter().filter(|m| m.0 != id).count();
        json!({
            "nodeId": r.get("id"),
            "name": r.get("name"),
            "role": "HEAD",
            "subordinatesCount": others,
        })
    })
    .collect();
    Ok(json!({ "userId": id, "departments": headed }))
}
