//! REST 3.0 company structure: `humanresources.node.*`, `.node.member.*`,
//! `.node.communication.*` and `.employee.*` (api-reference/departments/). The structure is one
//! tree of nodes (departments and teams) in the side table `humanresources.node`, made on first
//! use from the portal's departments (the root one is the company; each department's head is its
//! `MEMBER_HEAD`, its users its `MEMBER_EMPLOYEE`s), so the ids match `department.get`'s. A
//! stored node keeps its members as `{userId, role}` and its bound communications by kind; the
//! answers add the member's name and profile link, and `userCount`. The errors are the pages'.

use crate::clock;
use crate::core::{as_i64, as_str};
use crate::handlers::side;
use crate::state::Data;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, err, record_not_found, validation};
use crate::v3_query;
use serde_json::{Map, Value, json};

/// The side table of the nodes.
pub(crate) const TABLE: &str = "humanresources.node";

const DEPARTMENT_ROLES: &[&str] = &["MEMBER_HEAD", "MEMBER_DEPUTY_HEAD", "MEMBER_EMPLOYEE"];
const TEAM_ROLES: &[&str] = &[
    "MEMBER_TEAM_HEAD",
    "MEMBER_TEAM_DEPUTY_HEAD",
    "MEMBER_TEAM_EMPLOYEE",
];
const COLORS: &[&str] = &["blue", "green", "cyan", "orange", "purple", "pink"];

/// The fields of a node as lists, `edit` and `move` answer it (all but `members`).
const ROW: &[&str] = &[
    "id",
    "name",
    "type",
    "structureId",
    "parentId",
    "description",
    "accessCode",
    "userCount",
    "colorName",
    "xmlId",
    "createdAt",
    "updatedAt",
];

/// The communication kinds: the wire value, the key of the list answer, and the subtitle.
const KINDS: &[(&str, &str, &str)] = &[
    ("CHAT", "chats", "Private chat"),
    ("CHANNEL", "channels", "Private channel"),
    ("COLLAB", "collabs", "Collab"),
];

/// Runs one method of the node, member and communication families.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let now = clock::iso(c.inner.now());
    let mut data = c.inner.write_data();
    ensure(&mut data, &now);
    let p = c.p;
    match c.name {
        "humanresources.node.add" => add(&mut data, p, &now),
        "humanresources.node.get" => {
            let row = node(&data, v3_query::id_param(p)?)?;
            Ok(json!({ "item": c.select(&render(&data, &row, true))? }))
        }
        "humanresources.node.list" => {
            let kind = node_type(p)?;
            let rows = rows(&data, |r| text(r, "type") == kind);
            page(c, &data, &rows)
        }
        "humanresources.node.children" => {
            let id = v3_query::id_param(p)?;
            let rows = rows(&data, |r| r.get("parentId").and_then(as_i64) == Some(id));
            let shown: Vec<Map<String, Value>> =
                rows.iter().map(|r| render(&data, r, false)).collect();
            c.items(shown.iter())
        }
        "humanresources.node.count" => {
            let count = |k: &str| rows(&data, |r| text(r, "type") == k).len();
            Ok(json!({ "departments": count("DEPARTMENT"), "teams": count("TEAM") }))
        }
        "humanresources.node.edit" => edit(&mut data, p, &now),
        "humanresources.node.move" => move_node(&mut data, p, &now),
        "humanresources.node.search" => search(c, &data),
        "humanresources.node.member.add" => members(&mut data, p, &now, Change::Add),
        "humanresources.node.member.move" => members(&mut data, p, &now, Change::Move),
        "humanresources.node.member.remove" => members(&mut data, p, &now, Change::Remove),
        "humanresources.node.member.set" => set_members(&mut data, p, &now),
        "humanresources.node.communication.list" => communications(&data, p),
        "humanresources.node.communication.edit" => edit_communications(&mut data, p),
        _ => {
            drop(data);
            c.shared()
        }
    }
}

/// Makes the tree from the portal's departments the first time the structure is used.
pub(crate) fn ensure(data: &mut Data, now: &str) {
    if data.side.contains_key(TABLE) {
        return;
    }
    let mut made = Vec::new();
    for d in data.departments.values() {
        let mut members: Vec<Value> = Vec::new();
        if let Some(head) = d.head {
            members.push(json!({ "userId": head, "role": "MEMBER_HEAD" }));
        }
        for u in data.users.values() {
            if u.department == d.id && Some(u.id) != d.head {
                members.push(json!({ "userId": u.id, "role": "MEMBER_EMPLOYEE" }));
            }
        }
        made.push(json!({
            "id": d.id,
            "name": d.name,
            "type": "DEPARTMENT",
            "structureId": 1,
            "parentId": d.parent,
            "description": null,
            "accessCode": format!("DR{}", d.id),
            "colorName": null,
            "xmlId": null,
            "createdAt": now,
            "updatedAt": now,
            "members": members,
            "communications": {},
        }));
    }
    let t = side::table(data, TABLE);
    for n in made {
        if let Some(id) = n.get("id").and_then(as_i64) {
            t.insert(id, n);
        }
    }
}

fn text(r: &Map<String, Value>, k: &str) -> String {
    r.get(k).and_then(as_str).unwrap_or_default()
}

/// Every node that passes `keep`, by id.
pub(crate) fn rows(
    data: &Data,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> Vec<Map<String, Value>> {
    v3_query::rows(data, TABLE, keep)
}

/// Node `id`, or the documented not-found error.
pub(crate) fn node(data: &Data, id: i64) -> Result<Map<String, Value>, V3Error> {
    side::get(data, TABLE, id)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(record_not_found)
}

/// The `{userId, role}` members of a stored node.
pub(crate) fn member_list(r: &Map<String, Value>) -> Vec<(i64, String)> {
    r.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m.get("userId").and_then(as_i64)?,
                        m.get("role").and_then(as_str)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A user as the structure shows one: name, position, avatar and profile link.
pub(crate) fn person(data: &Data, id: i64) -> Map<String, Value> {
    let user = u64::try_from(id).ok().and_then(|u| data.users.get(&u));
    let name = user.map_or_else(String::new, |u| {
        format!("{} {}", u.name, u.last_name).trim().to_owned()
    });
    let mut m = Map::new();
    m.insert("userId".into(), json!(id));
    m.insert("name".into(), json!(name));
    m.insert("workPosition".into(), json!(""));
    m.insert("avatar".into(), Value::Null);
    m.insert("url".into(), json!(format!("/company/personal/user/{id}/")));
    m
}

/// A stored node as answered: the row fields, `userCount`, and the members when asked.
fn render(data: &Data, r: &Map<String, Value>, with_members: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let members = member_list(r);
    for k in ROW {
        let v = match *k {
            "userCount" => json!(members.len()),
            _ => r.get(*k).cloned().unwrap_or(Value::Null),
        };
        out.insert((*k).to_owned(), v);
    }
    if with_members {
        let shown: Vec<Value> = members
            .iter()
            .map(|(id, role)| {
                let mut m = person(data, *id);
                m.insert("role".into(), json!(role));
                Value::Object(m)
            })
            .collect();
        out.insert("members".into(), Value::Array(shown));
    }
    out
}

/// One page of `rows` (`pagination`: default 50, at most 200), as list rows.
fn page(c: &Call<'_>, data: &Data, rows: &[Map<String, Value>]) -> Result<Value, V3Error> {
    let (limit, offset) = v3_query::pagination(c.p, 200, "Cannot recognize pagination parameter")?;
    let shown: Vec<Map<String, Value>> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| render(data, r, false))
        .collect();
    c.items(shown.iter())
}

fn required(field: &str) -> V3Error {
    validation(field, &format!("Required field `{field}` is not specified"))
}

/// An integer param the `node.*` pages check: present, and an integer.
fn int_param(p: &Map<String, Value>, field: &str) -> Result<i64, V3Error> {
    match p.get(field) {
        None | Some(Value::Null) => Err(required(field)),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
        Some(_) => Err(validation(
            field,
            &format!("Field `{field}` requires data type `int` for this request"),
        )),
    }
}

/// A param the `node.member.*` pages check: present.
pub(crate) fn need<'a>(p: &'a Map<String, Value>, field: &str) -> Result<&'a Value, V3Error> {
    p.get(field)
        .filter(|v| !v.is_null())
        .ok_or_else(|| validation(field, &format!("Parameter `\"{field}\"` is required.")))
}

/// `type`: DEPARTMENT or TEAM.
fn node_type(p: &Map<String, Value>) -> Result<String, V3Error> {
    let t = p.get("type").ok_or_else(|| required("type"))?;
    match t.as_str() {
        Some(s @ ("DEPARTMENT" | "TEAM")) => Ok(s.to_owned()),
        _ => Err(validation(
            "type",
            "An invalid value for the structure element type was provided",
        )),
    }
}

fn name_param(p: &Map<String, Value>) -> Result<String, V3Error> {
    match p.get("name") {
        None | Some(Value::Null) => Err(required("name")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(required("name")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(validation(
            "name",
            "Field `name` requires data type `string` for this request",
        )),
    }
}

fn color(p: &Map<String, Value>) -> Result<Option<Value>, V3Error> {
    match p.get("colorName") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Value::Null)),
        Some(Value::String(s)) if COLORS.contains(&s.as_str()) => Ok(Some(json!(s))),
        Some(_) => Err(validation(
            "colorName",
            "An invalid color value was provided.",
        )),
    }
}

fn denied() -> V3Error {
    err(403, "ACCESSDENIEDEXCEPTION", "Access denied")
}

/// The roles a node of `kind` gives.
fn roles_of(kind: &str) -> &'static [&'static str] {
    if kind == "TEAM" {
        TEAM_ROLES
    } else {
        DEPARTMENT_ROLES
    }
}

/// `userIds` by role (`{MEMBER_HEAD: [7]}`) as members of a node of `kind`.
fn by_role(v: &Value, kind: &str, field: &str) -> Result<Vec<(i64, String)>, V3Error> {
    let allowed = roles_of(kind);
    let Some(o) = v.as_object() else {
        return Err(validation(
            field,
            &format!("Parameter `\"{field}\"` is required and must be a non-empty array."),
        ));
    };
    if let Some(bad) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(validation(
            field,
            &format!("Invalid roles: `{bad}`. Allowed: `{}`.", allowed.join(", ")),
        ));
    }
    let mut out: Vec<(i64, String)> = Vec::new();
    for (role, ids) in o {
        for id in ids.as_array().into_iter().flatten().filter_map(as_i64) {
            out.retain(|(u, _)| *u != id);
            out.push((id, role.clone()));
        }
    }
    Ok(out)
}

fn members_value(members: &[(i64, String)]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|(id, role)| json!({ "userId": id, "role": role }))
            .collect(),
    )
}

/// Writes `row` back under its id with `updatedAt` = now.
fn store(data: &mut Data, mut row: Map<String, Value>, now: &str) -> Map<String, Value> {
    row.insert("updatedAt".into(), json!(now));
    let id = row.get("id").and_then(as_i64).unwrap_or_default();
    side::table(data, TABLE).insert(id, Value::Object(row.clone()));
    row
}

/// `humanresources.node.add`: a node under an existing parent, with its first members.
fn add(data: &mut Data, p: &Map<String, Value>, now: &str) -> Result<Value, V3Error> {
    for f in ["type", "name", "parentId"] {
        if p.get(f).is_none_or(Value::is_null) {
            return Err(required(f));
        }
    }
    let kind = node_type(p)?;
    let name = name_param(p)?;
    let parent = int_param(p, "parentId")?;
    let colour = color(p)?.unwrap_or(Value::Null);
    node(data, parent).map_err(|_| denied())?;
    let members = match p.get("userIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => by_role(v, &kind, "userIds")?,
    };
    let moving = kind == "DEPARTMENT" && p.get("moveUsersToNode") == Some(&Value::Bool(true));
    if moving {
        let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
        leave(data, &ids, "DEPARTMENT", now);
    }
    let description = p.get("description").cloned().unwrap_or(Value::Null);
    let mut comms = Map::new();
    for (wire, key) in [
        ("CHAT", "bindingChatIds"),
        ("CHANNEL", "bindingChannelIds"),
        ("COLLAB", "bindingCollabIds"),
    ] {
        if let Some(Value::Array(ids)) = p.get(key) {
            comms.insert(wire.into(), json!(ids));
        }
    }
    let id = side::insert(data, TABLE, |id| {
        json!({
            "id": id,
            "name": name,
            "type": kind,
            "structureId": 1,
            "parentId": parent,
            "description": description,
            "accessCode": format!("{}{id}", if kind == "TEAM" { "DT" } else { "DR" }),
            "colorName": colour,
            "xmlId": null,
            "createdAt": now,
            "updatedAt": now,
            "members": members_value(&members),
            "communications": comms,
        })
    });
    let row = node(data, id)?;
    Ok(Value::Object(render(data, &row, true)))
}

/// Takes `users` out of every node of `kind`.
fn leave(data: &mut Data, users: &[i64], kind: &str, now: &str) {
    for mut r in rows(data, |r| text(r, "type") == kind) {
        let mut m = member_list(&r);
        let before = m.len();
        m.retain(|(u, _)| !users.contains(u));
        if m.len() != before {
            r.insert("members".into(), members_value(&m));
            store(data, r, now);
        }
    }
}

/// `humanresources.node.edit`: name, description or color; at least one of them.
fn edit(data: &mut Data, p: &Map<String, Value>, now: &str) -> Result<Value, V3Error> {
    let id = int_param(p, "id")?;
    if !["name", "description", "colorName"]
        .iter()
        .any(|f| p.contains_key(*f))
    {
        return Err(validation(
            "name",
            "At least one field must be provided for modification.",
        ));
    }
    let colour = color(p)?;
    let name = if p.contains_key("name") {
        Some(name_param(p)?)
    } else {
        None
    };
    let mut row = node(data, id)?;
    if let Some(n) = name {
        row.insert("name".into(), json!(n));
    }
    if let Some(d) = p.get("description") {
        row.insert("description".into(), d.clone());
    }
    if let Some(c) = colour {
        row.insert("colorName".into(), c);
    }
    let row = store(data, row, now);
    Ok(Value::Object(render(data, &row, false)))
}

/// `humanresources.node.move`: under another node, never under itself or one of its own.
fn move_node(data: &mut Data, p: &Map<String, Value>, now: &str) -> Result<Value, V3Error> {
    for f in ["id", "parentId"] {
        if p.get(f).is_none_or(Value::is_null) {
            return Err(required(f));
        }
    }
    let id = int_param(p, "id")?;
    let parent = int_param(p, "parentId")?;
    let mut row = node(data, id)?;
    node(data, parent).map_err(|_| denied())?;
    let mut up = Some(parent);
    while let Some(n) = up {
        if n == id {
            return Err(denied());
        }
        up = side::get(data, TABLE, n)
            .and_then(|r| r.get("parentId"))
            .and_then(as_i64);
    }
    row.insert("parentId".into(), json!(parent));
    let row = store(data, row, now);
    Ok(Value::Object(render(data, &row, false)))
}

/// Whether node `id` is `root` or under it.
pub(crate) fn under(data: &Data, mut id: i64, root: i64) -> bool {
    loop {
        if id == root {
            return true;
        }
        match side::get(data, TABLE, id)
            .and_then(|r| r.get("parentId"))
            .and_then(as_i64)
        {
            Some(up) => id = up,
            None => return false,
        }
    }
}

/// `humanresources.node.search`: nodes of `type` whose name contains `name`, under `parentId`.
fn search(c: &Call<'_>, data: &Data) -> Result<Value, V3Error> {
    let p = c.p;
    for f in ["type", "name"] {
        if p.get(f).is_none_or(Value::is_null) {
            return Err(required(f));
        }
    }
    let kind = node_type(p)?;
    let needle = name_param(p)?.to_lowercase();
    let parent = match p.get("parentId") {
        None | Some(Value::Null) => None,
        Some(_) => Some(int_param(p, "parentId")?),
    };
    let hits = rows(data, |r| {
        let id = r.get("id").and_then(as_i64).unwrap_or_default();
        text(r, "type") == kind
            && text(r, "name").to_lowercase().contains(&needle)
            && parent.is_none_or(|root| id != root && under(data, id, root))
    });
    page(c, data, &hits)
}

/// What a `node.member.*` call does with its users.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    Add,
    Move,
    Remove,
}

/// `node.member.add` / `move` / `remove`.
fn members(
    data: &mut Data,
    p: &Map<String, Value>,
    now: &str,
    change: Change,
) -> Result<Value, V3Error> {
    let node_id = need(p, "nodeId")?;
    let users: Vec<i64> = match p.get("userIds").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.iter().filter_map(as_i64).collect(),
        _ => {
            return Err(validation(
                "userIds",
                "Parameter `\"userIds\"` is required and must be a non-empty array.",
            ));
        }
    };
    if change == Change::Add {
        need(p, "role")?;
    }
    let mut row = node(data, as_i64(node_id).unwrap_or_default())?;
    let kind = text(&row, "type");
    let allowed = roles_of(&kind);
    let role = match p.get("role").and_then(Value::as_str) {
        Some(r) if allowed.contains(&r) => r.to_owned(),
        Some(r) if DEPARTMENT_ROLES.contains(&r) || TEAM_ROLES.contains(&r) => {
            return Err(validation(
                "role",
                &format!("Invalid role `{r}`. Allowed: `{}`.", allowed.join(", ")),
            ));
        }
        Some(r) => return Err(validation("role", &format!("Role `{r}` not found."))),
        None => allowed[2].to_owned(),
    };
    let mut m = member_list(&row);
    let answer = match change {
        Change::Remove => {
            let (removed, failed): (Vec<i64>, Vec<i64>) =
                users.iter().partition(|u| m.iter().any(|(x, _)| x == *u));
            m.retain(|(u, _)| !removed.contains(u));
            let failed: Vec<Value> = failed
                .iter()
                .map(|u| json!({ "userId": u, "reason": "Not found in this node" }))
                .collect();
            json!({ "removed": removed, "failed": failed })
        }
        Change::Add | Change::Move => {
            if change == Change::Move {
                leave(data, &users, &kind, now);
                row = node(data, row.get("id").and_then(as_i64).unwrap_or_default())?;
                m = member_list(&row);
            }
            for u in &users {
                m.retain(|(x, _)| x != u);
                m.push((*u, role.clone()));
            }
            json!({ "success": true })
        }
    };
    row.insert("members".into(), members_value(&m));
    store(data, row, now);
    Ok(answer)
}

/// `node.member.set`: the node's whole membership by role.
fn set_members(data: &mut Data, p: &Map<String, Value>, now: &str) -> Result<Value, V3Error> {
    let node_id = need(p, "nodeId")?;
    let given = need(p, "userIds")?;
    if given.as_object().is_none_or(Map::is_empty) {
        return Err(validation(
            "userIds",
            "Parameter `\"userIds\"` is required and must be a non-empty array.",
        ));
    }
    let mut row = node(data, as_i64(node_id).unwrap_or_default())?;
    let m = by_role(given, &text(&row, "type"), "userIds")?;
    row.insert("members".into(), members_value(&m));
    store(data, row, now);
    Ok(json!({ "success": true }))
}

/// The bound ids of kind `wire` of a stored node.
fn bound(r: &Map<String, Value>, wire: &str) -> Vec<i64> {
    r.get("communications")
        .and_then(|c| c.get(wire))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(as_i64).collect())
        .unwrap_or_default()
}

/// `humanresources.node.communication.list`: the node's chats, channels and collabs.
fn communications(data: &Data, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = match p.get("id") {
        None | Some(Value::Null) => {
            return Err(validation("id", "Required field `id` is missing"));
        }
        Some(v) => as_i64(v).unwrap_or_default(),
    };
    let row = node(data, id).map_err(|_| {
        err(
            400,
            "ENTITYNOTFOUNDEXCEPTION",
            format!("Object with identifier `{id}` not found"),
        )
    })?;
    let mut out = Map::new();
    for (wire, key, subtitle) in KINDS {
        let list: Vec<Value> = bound(&row, wire)
            .iter()
            .map(|c| {
                json!({
                    "id": c, "type": wire, "title": text(&row, "name"), "subtitle": subtitle,
                    "avatar": "", "dialogId": format!("chat{c}"), "hasAccess": true,
                    "isExtranet": false, "originalNodeId": null,
                })
            })
            .collect();
        out.insert((*key).to_owned(), Value::Array(list));
        out.insert(format!("{key}NoAccess"), json!(0));
    }
    Ok(Value::Object(out))
}

/// `humanresources.node.communication.edit`: bind `ids`, unbind `removeIds` (on the children
/// too with `withChildren`), or make the default communication.
fn edit_communications(data: &mut Data, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = as_i64(need(p, "nodeId")?).unwrap_or_default();
    let wire = match need(p, "communicationType")?.as_str() {
        Some(w @ ("CHAT" | "CHANNEL" | "COLLAB")) => w.to_owned(),
        _ => {
            return Err(validation(
                "communicationType",
                "Invalid `\"communicationType\"` value. Allowed: `CHAT`, `CHANNEL`, `COLLAB`.",
            ));
        }
    };
    node(data, id).map_err(|_| {
        err(
            400,
            "ENTITYNOTFOUNDEXCEPTION",
            format!("Object with identifier `{id}` not found."),
        )
    })?;
    let ids = |k: &str| -> Vec<i64> {
        p.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(as_i64).collect())
            .unwrap_or_default()
    };
    let (mut add, remove) = (ids("ids"), ids("removeIds"));
    if p.get("createDefault") == Some(&Value::Bool(true)) {
        let next = rows(data, |_| true)
            .iter()
            .flat_map(|r| KINDS.iter().flat_map(|k| bound(r, k.0)))
            .max()
            .unwrap_or(0)
            + 1;
        add.push(next);
    }
    let children = p.get("withChildren") == Some(&Value::Bool(true));
    let targets: Vec<i64> = rows(data, |r| {
        let n = r.get("id").and_then(as_i64).unwrap_or_default();
        n == id || (children && under(data, n, id))
    })
    .iter()
    .filter_map(|r| r.get("id").and_then(as_i64))
    .collect();
    for t in targets {
        if let Some(Value::Object(r)) = side::get_mut(data, TABLE, t) {
            let mut now = bound(r, &wire);
            now.retain(|c| !remove.contains(c));
            for a in &add {
                if !now.contains(a) {
                    now.push(*a);
                }
            }
            let comms = r
                .entry("communications")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = comms.as_object_mut() {
                o.insert(wire.clone(), json!(now));
            }
        }
    }
    Ok(json!({ "success": true }))
}
