//! Entities whose documented API is not a generic family, served under the spec's own method
//! names: `sonet_group.*` (workgroups), `im.*` (chats and messages) and `disk.*` (storages,
//! folders, files). The rows live in ordinary spec-derived stores (`specs::CUSTOM`), so filters,
//! order and pages behave as everywhere else.

use crate::clock;
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param};
use crate::entity::{self, Family, ListQuery, Store, View};
use crate::methods::fire;
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::{Arc, PoisonError, RwLockWriteGuard};

/// The methods served here (lower case) and the store each belongs to.
pub(crate) const METHODS: &[(&str, &str)] = &[
    ("sonet_group.create", "sonet_group"),
    ("sonet_group.get", "sonet_group"),
    ("sonet_group.update", "sonet_group"),
    ("sonet_group.delete", "sonet_group"),
    ("sonet_group.setowner", "sonet_group"),
    ("im.chat.add", "im.chat"),
    ("im.chat.get", "im.chat"),
    ("im.dialog.get", "im.chat"),
    ("im.chat.updatetitle", "im.chat"),
    ("im.chat.setowner", "im.chat"),
    ("im.chat.user.add", "im.chat"),
    ("im.chat.user.list", "im.chat"),
    ("im.chat.user.delete", "im.chat"),
    ("im.chat.leave", "im.chat"),
    ("im.message.add", "im.message"),
    ("im.message.update", "im.message"),
    ("im.message.delete", "im.message"),
    ("im.dialog.messages.get", "im.message"),
    ("disk.storage.getlist", "disk.storage"),
    ("disk.storage.get", "disk.storage"),
    ("disk.storage.getchildren", "disk.storage"),
    ("disk.storage.getforapp", "disk.storage"),
    ("disk.storage.gettypes", "disk.storage"),
    ("disk.storage.getfields", "disk.storage"),
    ("disk.storage.addfolder", "disk.storage"),
    ("disk.storage.uploadfile", "disk.storage"),
    ("disk.storage.rename", "disk.storage"),
    ("disk.folder.get", "disk.folder"),
    ("disk.folder.getchildren", "disk.folder"),
    ("disk.folder.addsubfolder", "disk.folder"),
    ("disk.folder.uploadfile", "disk.folder"),
    ("disk.folder.copyto", "disk.folder"),
    ("disk.folder.moveto", "disk.folder"),
    ("disk.folder.rename", "disk.folder"),
    ("disk.folder.markdeleted", "disk.folder"),
    ("disk.folder.restore", "disk.folder"),
    ("disk.folder.deletetree", "disk.folder"),
    ("disk.folder.getexternallink", "disk.folder"),
    ("disk.folder.getfields", "disk.folder"),
    ("disk.file.get", "disk.file"),
    ("disk.file.copyto", "disk.file"),
    ("disk.file.moveto", "disk.file"),
    ("disk.file.rename", "disk.file"),
    ("disk.file.delete", "disk.file"),
    ("disk.file.markdeleted", "disk.file"),
    ("disk.file.restore", "disk.file"),
    ("disk.file.uploadversion", "disk.file"),
    ("disk.file.getversions", "disk.file"),
    ("disk.file.getexternallink", "disk.file"),
    ("disk.file.getfields", "disk.file"),
];

/// Runs a method served here; `None` for any other method.
pub(crate) fn dispatch(
    inner: &Arc<Inner>,
    c: &Caller,
    method: &str,
    p: &Map<String, Value>,
) -> Option<MethodResult> {
    METHODS.iter().find(|(m, _)| *m == method)?;
    Some(if method.starts_with("sonet_group.") {
        sonet(inner, c, method, p)
    } else if method.starts_with("im.") {
        im(inner, c, method, p)
    } else {
        disk(inner, c, method, p)
    })
}

fn fam<'a>(inner: &'a Inner, key: &str) -> Result<&'a Family, ApiError> {
    inner.family(key).ok_or_else(ApiError::method_not_found)
}

fn write(inner: &Inner) -> RwLockWriteGuard<'_, Data> {
    inner.data.write().unwrap_or_else(PoisonError::into_inner)
}

fn store<'a>(data: &'a mut Data, key: &str) -> &'a mut Store {
    data.stores.entry(key.to_string()).or_default()
}

fn row(data: &Data, fam: &Family, id: i64) -> Option<Value> {
    data.stores
        .get(&fam.spec.prefix)
        .and_then(|s| s.render_full(fam, View::native(fam), id))
}

fn int_of(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(as_i64)
}

/// Lists `fam` rows with the caller's `filter`/`order` plus fixed conditions.
fn query(
    data: &Data,
    fam: &Family,
    p: &Map<String, Value>,
    fixed: &[(&str, Value)],
    start: i64,
    page: usize,
) -> Result<entity::Page, ApiError> {
    let mut filter = match param(p, "filter") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in fixed {
        filter.insert((*k).to_string(), v.clone());
    }
    let mut q = Map::new();
    q.insert("filter".into(), Value::Object(filter));
    if let Some(o) = param(p, "order") {
        q.insert("order".into(), o.clone());
    }
    let view = View::native(fam);
    let lq = ListQuery::parse(fam, view, &q, true)?;
    Ok(match data.stores.get(&fam.spec.prefix) {
        Some(s) => s.list(fam, view, &lq, start, page),
        None => entity::Page {
            rows: Vec::new(),
            total: Some(0),
            next: None,
        },
    })
}

fn start_of(p: &Map<String, Value>) -> i64 {
    p.get("start").and_then(as_i64).unwrap_or(0)
}

fn str_p(p: &Map<String, Value>, k: &str) -> String {
    param(p, k).and_then(as_str).unwrap_or_default()
}

fn now_i(inner: &Inner) -> i64 {
    inner.now() as i64
}

// ---------------------------------------------------------------- sonet_group

const GROUP_KEYS: [&str; 12] = [
    "NAME",
    "DESCRIPTION",
    "VISIBLE",
    "OPENED",
    "CLOSED",
    "KEYWORDS",
    "PROJECT",
    "OWNER_ID",
    "SUBJECT_ID",
    "PROJECT_DATE_START",
    "PROJECT_DATE_FINISH",
    "SCRUM_MASTER_ID",
];

fn sonet(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let f = fam(inner, "sonet_group")?;
    let view = View::native(f);
    let now = inner.now();
    let group_id = || param(p, "GROUP_ID").and_then(as_i64).filter(|n| *n > 0);
    match method {
        "sonet_group.get" => {
            let data = inner.data.read().unwrap_or_else(PoisonError::into_inner);
            let mut fixed = Vec::new();
            if let Some(id) = group_id() {
                fixed.push(("ID", json!(id)));
            }
            let page = query(&data, f, p, &fixed, start_of(p), 50)?;
            Ok(entity::meta::list_outcome(page, None))
        }
        "sonet_group.create" => {
            let name = str_p(p, "NAME");
            if name.trim().is_empty() {
                return Err(ApiError::crm("Incorrect input data"));
            }
            let mut fields = Map::new();
            for k in GROUP_KEYS {
                if let Some(v) = param(p, k) {
                    fields.insert(k.into(), v.clone());
                }
            }
            let site = param(p, "SITE_ID")
                .and_then(|v| match v {
                    Value::Array(_) | Value::Object(_) => {
                        list_items(v).first().and_then(|x| as_str(x))
                    }
                    other => as_str(other),
                })
                .unwrap_or_else(|| "s1".into());
            let defaults = [
                ("SITE_ID", json!(site)),
                ("ACTIVE", json!("Y")),
                ("VISIBLE", json!("Y")),
                ("OPENED", json!("N")),
                ("CLOSED", json!("N")),
                ("PROJECT", json!("N")),
                ("IS_EXTRANET", json!("N")),
                ("SUBJECT_ID", json!(1)),
                ("SUBJECT_NAME", json!("Workgroups")),
                ("OWNER_ID", json!(c.user_id)),
                ("NUMBER_OF_MEMBERS", json!(1)),
                ("DATE_CREATE", json!(now as i64)),
                ("DATE_UPDATE", json!(now as i64)),
                ("DATE_ACTIVITY", json!(now as i64)),
            ];
            for (k, v) in defaults {
                fields.entry(k).or_insert(v);
            }
            let id = {
                let mut data = write(inner);
                store(&mut data, "sonet_group").add(f, view, &fields, c.user_id, now)?
            };
            fire(inner, c, f, "ADD", id);
            Ok(Outcome::of(json!(id)))
        }
        "sonet_group.update" | "sonet_group.setowner" => {
            let wrong = || ApiError::crm("Wrong group ID");
            let id = group_id().ok_or_else(wrong)?;
            let mut fields = Map::new();
            if method == "sonet_group.setowner" {
                let uid = param(p, "USER_ID").and_then(as_i64).filter(|n| *n > 0);
                let Some(uid) = uid else {
                    return Err(ApiError::crm("Wrong user ID"));
                };
                fields.insert("OWNER_ID".into(), json!(uid));
            } else {
                for k in GROUP_KEYS {
                    if let Some(v) = param(p, k) {
                        fields.insert(k.into(), v.clone());
                    }
                }
            }
            fields.insert("DATE_UPDATE".into(), json!(now as i64));
            {
                let mut data = write(inner);
                if !store(&mut data, "sonet_group").update(f, view, id, &fields, c.user_id, now) {
                    return Err(wrong());
                }
            }
            fire(inner, c, f, "UPDATE", id);
            Ok(Outcome::of(if method == "sonet_group.update" {
                json!(id)
            } else {
                json!(true)
            }))
        }
        _ => {
            let id = group_id().ok_or_else(|| ApiError::crm("Wrong group ID"))?;
            let removed = store(&mut write(inner), "sonet_group").rows.remove(&id);
            if removed.is_none() {
                return Err(ApiError::crm("Socialnetwork group not found"));
            }
            fire(inner, c, f, "DELETE", id);
            Ok(Outcome::of(json!(true)))
        }
    }
}

// ---------------------------------------------------------------- im

const CHAT_USERS: &str = "im.chat.users";

fn im_err(code: &str, desc: &str) -> ApiError {
    let status = if code == "ACCESS_ERROR" { 403 } else { 400 };
    ApiError::new(status, code, desc)
}

/// `Y`/`N` back to JSON booleans for the `bool` fields the im methods print as such.
fn boolify(v: &mut Value, names: &[&str]) {
    if let Value::Object(m) = v {
        for n in names {
            if let Some(x) = m.get_mut(*n)
                && let Some(s) = x.as_str()
            {
                *x = json!(s == "Y");
            }
        }
    }
}

fn members(data: &Data, chat: i64) -> Vec<u64> {
    data.side
        .get(CHAT_USERS)
        .and_then(|t| t.get(&chat))
        .map(|v| {
            list_items(v)
                .into_iter()
                .filter_map(as_i64)
                .filter_map(|n| u64::try_from(n).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn set_members(data: &mut Data, chat: i64, users: &[u64]) {
    data.side
        .entry(CHAT_USERS.into())
        .or_default()
        .insert(chat, json!(users));
}

fn user_ids(v: Option<&Value>) -> Vec<u64> {
    v.map(|v| match v {
        Value::Array(_) | Value::Object(_) => list_items(v),
        other => vec![other],
    })
    .unwrap_or_default()
    .into_iter()
    .filter_map(as_i64)
    .filter_map(|n| u64::try_from(n).ok())
    .filter(|n| *n > 0)
    .collect()
}

/// `DIALOG_ID` -> chat id: `chatN`, or a user id (the private chat with the caller, created
/// when `create`). `Err(true)` when the id is empty or malformed, `Err(false)` when unknown.
fn resolve_dialog(
    inner: &Inner,
    c: &Caller,
    chat: &Family,
    data: &mut Data,
    dialog: &str,
    create: bool,
) -> Result<i64, bool> {
    let dialog = dialog.trim();
    if let Some(n) = dialog.strip_prefix("chat") {
        let id = n.parse::<i64>().map_err(|_| true)?;
        return if data
            .stores
            .get("im.chat")
            .is_some_and(|s| s.rows.contains_key(&id))
        {
            Ok(id)
        } else {
            Err(false)
        };
    }
    let uid = dialog.parse::<u64>().map_err(|_| true)?;
    if uid == 0 {
        return Err(true);
    }
    if !data.users.contains_key(&uid) {
        return Err(false);
    }
    let pair = |a: u64, b: u64| format!("{}|{}", a.min(b), a.max(b));
    let key = pair(uid, c.user_id);
    let view = View::native(chat);
    let found = data.stores.get("im.chat").and_then(|s| {
        s.rows.keys().copied().find(|id| {
            s.render_full(chat, view, *id).is_some_and(|r| {
                r.get("type").and_then(Value::as_str) == Some("private")
                    && r.get("entity_id").and_then(Value::as_str) == Some(key.as_str())
            })
        })
    });
    if let Some(id) = found {
        return Ok(id);
    }
    if !create {
        return Err(false);
    }
    let now = inner.now();
    let mut fields = chat_defaults(c, now as i64);
    fields.insert("type".into(), json!("private"));
    fields.insert("message_type".into(), json!("P"));
    fields.insert("entity_id".into(), json!(key));
    let id = store(data, "im.chat")
        .add(chat, view, &fields, c.user_id, now)
        .map_err(|_| false)?;
    let mut users = vec![c.user_id];
    if uid != c.user_id {
        users.push(uid);
    }
    set_members(data, id, &users);
    Ok(id)
}

fn chat_defaults(c: &Caller, now: i64) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("parent_chat_id", json!(0)),
        ("parent_message_id", json!(0)),
        ("name", json!("")),
        ("description", json!("")),
        ("owner", json!(c.user_id)),
        ("extranet", json!("N")),
        ("avatar", json!("")),
        ("color", json!("#4ba984")),
        ("type", json!("chat")),
        ("message_type", json!("C")),
        ("counter", json!(0)),
        ("unread_id", json!(0)),
        ("marked_id", json!(0)),
        ("disk_folder_id", json!(0)),
        ("entity_type", json!("")),
        ("entity_id", json!("")),
        ("entity_data_1", json!("")),
        ("entity_data_2", json!("")),
        ("entity_data_3", json!("")),
        ("mute_list", json!([])),
        ("date_create", json!(now)),
        ("public", json!("")),
        ("text_field_enabled", json!("Y")),
        ("is_new", json!("N")),
        ("readed_list", json!([])),
        ("manager_list", json!([])),
    ] {
        m.insert(k.into(), v);
    }
    m
}

fn add_message(
    inner: &Inner,
    data: &mut Data,
    msg: &Family,
    author: u64,
    chat: i64,
    text: &str,
    params: Value,
) -> Result<i64, ApiError> {
    let now = inner.now();
    let mut fields = Map::new();
    for (k, v) in [
        ("chat_id", json!(chat)),
        ("author_id", json!(author)),
        ("date", json!(now as i64)),
        ("text", json!(text)),
        ("unread", json!("N")),
        ("uuid", Value::Null),
        ("replaces", json!([])),
        ("params", params),
        ("disappearing_date", Value::Null),
    ] {
        fields.insert(k.into(), v);
    }
    store(data, "im.message").add(msg, View::native(msg), &fields, author, now)
}

fn chat_id_param(p: &Map<String, Value>, data: &Data) -> Result<i64, ApiError> {
    let id = param(p, "CHAT_ID")
        .and_then(as_i64)
        .filter(|n| *n > 0)
        .ok_or_else(|| im_err("CHAT_ID_EMPTY", "Chat ID can't be empty"))?;
    if data
        .stores
        .get("im.chat")
        .is_some_and(|s| s.rows.contains_key(&id))
    {
        Ok(id)
    } else {
        Err(im_err("ACCESS_ERROR", "Action unavailable"))
    }
}

fn dialog_json(data: &Data, chat: &Family, msg: &Family, id: i64, c: &Caller) -> Value {
    let mut r = row(data, chat, id).unwrap_or(Value::Null);
    let users = members(data, id);
    let msgs: Vec<i64> = data
        .stores
        .get("im.message")
        .map(|s| {
            s.rows
                .keys()
                .copied()
                .filter(|m| {
                    s.render_full(msg, View::native(msg), *m)
                        .and_then(|v| int_of(&v, "chat_id"))
                        == Some(id)
                })
                .collect()
        })
        .unwrap_or_default();
    let last = msgs.last().copied().unwrap_or(0);
    let owner = int_of(&r, "owner").unwrap_or(0);
    if let Value::Object(m) = &mut r {
        m.insert("user_counter".into(), json!(users.len()));
        m.insert("message_count".into(), json!(msgs.len()));
        m.insert("last_message_id".into(), json!(last));
        m.insert("last_id".into(), json!(last));
        let role = if owner == c.user_id as i64 {
            "owner"
        } else if users.contains(&c.user_id) {
            "member"
        } else {
            "guest"
        };
        m.insert("role".into(), json!(role));
        m.insert("dialog_id".into(), json!(format!("chat{id}")));
    }
    boolify(&mut r, &["extranet", "text_field_enabled", "is_new"]);
    r
}

#[allow(clippy::too_many_lines)]
fn im(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let chat = fam(inner, "im.chat")?;
    let msg = fam(inner, "im.message")?;
    let cview = View::native(chat);
    let now = inner.now();
    let mut data = write(inner);
    match method {
        "im.chat.add" => {
            let mut fields = chat_defaults(c, now as i64);
            let open = str_p(p, "TYPE").eq_ignore_ascii_case("OPEN");
            fields.insert("type".into(), json!(if open { "open" } else { "chat" }));
            fields.insert("message_type".into(), json!(if open { "O" } else { "C" }));
            for (k, f) in [
                ("TITLE", "name"),
                ("DESCRIPTION", "description"),
                ("COLOR", "color"),
                ("AVATAR", "avatar"),
                ("ENTITY_TYPE", "entity_type"),
                ("ENTITY_ID", "entity_id"),
            ] {
                if let Some(v) = param(p, k).and_then(as_str) {
                    fields.insert(f.into(), json!(v));
                }
            }
            let id = store(&mut data, "im.chat").add(chat, cview, &fields, c.user_id, now)?;
            let mut users = vec![c.user_id];
            for u in user_ids(param(p, "USERS")) {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
            set_members(&mut data, id, &users);
            let text = str_p(p, "MESSAGE");
            if !text.trim().is_empty() {
                add_message(inner, &mut data, msg, c.user_id, id, &text, json!([]))?;
            }
            Ok(Outcome::of(json!(id)))
        }
        "im.chat.get" => {
            let (et, eid) = (str_p(p, "ENTITY_TYPE"), str_p(p, "ENTITY_ID"));
            let page = query(
                &data,
                chat,
                &Map::new(),
                &[("entity_type", json!(et)), ("entity_id", json!(eid))],
                -1,
                1,
            )?;
            // An unknown entity binding answers `null` (UNCONFIRMED: the docs show only a hit).
            Ok(Outcome::of(
                page.rows
                    .first()
                    .and_then(|r| int_of(r, "id"))
                    .map_or(Value::Null, |id| json!({ "ID": id })),
            ))
        }
        "im.dialog.get" => {
            let dialog = str_p(p, "DIALOG_ID");
            match resolve_dialog(inner, c, chat, &mut data, &dialog, true) {
                Ok(id) => Ok(Outcome::of(dialog_json(&data, chat, msg, id, c))),
                Err(true) => Err(im_err("DIALOG_ID_EMPTY", "Dialog ID can't be empty")),
                Err(false) => Err(im_err(
                    "ACCESS_ERROR",
                    "You do not have access to the specified dialog",
                )),
            }
        }
        "im.chat.updatetitle" => {
            let id = chat_id_param(p, &data)?;
            let title = str_p(p, "TITLE");
            if title.trim().is_empty() {
                return Err(im_err("TITLE_EMPTY", "Title can't be empty"));
            }
            let fields = Map::from_iter([("name".to_string(), json!(title.trim()))]);
            store(&mut data, "im.chat").update(chat, cview, id, &fields, c.user_id, now);
            Ok(Outcome::of(json!(true)))
        }
        "im.chat.setowner" => {
            let id = chat_id_param(p, &data)?;
            let uid = param(p, "USER_ID").and_then(as_i64).filter(|n| *n > 0);
            let Some(uid) = uid.filter(|u| members(&data, id).contains(&(*u as u64))) else {
                return Err(im_err("ACCESS_ERROR", "Action unavailable"));
            };
            let fields = Map::from_iter([("owner".to_string(), json!(uid))]);
            store(&mut data, "im.chat").update(chat, cview, id, &fields, c.user_id, now);
            Ok(Outcome::of(json!(true)))
        }
        "im.chat.user.add" => {
            let id = chat_id_param(p, &data)?;
            let mut users = members(&data, id);
            for u in user_ids(param(p, "USERS")) {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
            set_members(&mut data, id, &users);
            Ok(Outcome::of(json!(true)))
        }
        "im.chat.user.list" => {
            let id = chat_id_param(p, &data)?;
            Ok(Outcome::of(json!(members(&data, id))))
        }
        "im.chat.user.delete" | "im.chat.leave" => {
            let id = chat_id_param(p, &data)?;
            let who = if method == "im.chat.leave" {
                Some(c.user_id)
            } else {
                param(p, "USER_ID")
                    .and_then(as_i64)
                    .and_then(|n| u64::try_from(n).ok())
            };
            let mut users = members(&data, id);
            let Some(who) = who.filter(|w| users.contains(w)) else {
                return Err(im_err("ACCESS_ERROR", "Action unavailable"));
            };
            users.retain(|u| *u != who);
            set_members(&mut data, id, &users);
            Ok(Outcome::of(json!(true)))
        }
        "im.message.add" => {
            let text = str_p(p, "MESSAGE");
            let attach = param(p, "ATTACH").filter(|v| !v.is_null());
            if text.trim().is_empty() && attach.is_none() {
                return Err(im_err("MESSAGE_EMPTY", "Message can't be empty"));
            }
            let dialog = str_p(p, "DIALOG_ID");
            let is_chat = dialog.trim().starts_with("chat");
            let id = match resolve_dialog(inner, c, chat, &mut data, &dialog, true) {
                Ok(id) => id,
                Err(_) if is_chat => return Err(im_err("CHAT_ID", "Error creating message")),
                Err(true) => return Err(im_err("USER_ID_EMPTY", "User ID can't be empty")),
                Err(false) => return Err(im_err("USER_NOT_FOUND", "User not found")),
            };
            let params = attach.map_or_else(|| json!([]), |a| json!({ "ATTACH": a }));
            let mid = add_message(inner, &mut data, msg, c.user_id, id, &text, params)?;
            Ok(Outcome::of(json!(mid)))
        }
        "im.message.update" | "im.message.delete" => {
            let bad = || im_err("MESSAGE_ID_ERROR", "Message ID can't be empty");
            let id = param(p, "MESSAGE_ID")
                .and_then(as_i64)
                .filter(|n| *n > 0)
                .ok_or_else(bad)?;
            let current = row(&data, msg, id).ok_or_else(bad)?;
            if int_of(&current, "author_id") != Some(c.user_id as i64) {
                return Err(im_err(
                    "CANT_EDIT_MESSAGE",
                    "Time has expired for modification or you don't have access",
                ));
            }
            let mview = View::native(msg);
            if method == "im.message.delete" {
                store(&mut data, "im.message").rows.remove(&id);
                return Ok(Outcome::of(json!(true)));
            }
            let mut fields = Map::new();
            if let Some(t) = param(p, "MESSAGE").and_then(as_str) {
                fields.insert("text".into(), json!(t));
            }
            if let Some(a) = param(p, "ATTACH").filter(|v| !v.is_null()) {
                fields.insert("params".into(), json!({ "ATTACH": a }));
            }
            store(&mut data, "im.message").update(msg, mview, id, &fields, c.user_id, now);
            Ok(Outcome::of(json!(true)))
        }
        _ => {
            // im.dialog.messages.get
            let dialog = str_p(p, "DIALOG_ID");
            let chat_id = match resolve_dialog(inner, c, chat, &mut data, &dialog, false) {
                Ok(id) => id,
                Err(true) => return Err(im_err("DIALOG_ID_EMPTY", "Dialog ID can't be empty")),
                Err(false) => {
                    return Err(im_err(
                        "ACCESS_ERROR",
                        "You do not have access to the specified dialog",
                    ));
                }
            };
            let num = |k: &str, code: &str, desc: &str| -> Result<Option<i64>, ApiError> {
                match param(p, k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => as_i64(v).map(Some).ok_or_else(|| im_err(code, desc)),
                }
            };
            let first = num("FIRST_ID", "FIRST_ID_STRING", "First ID can't be string")?;
            let last = num("LAST_ID", "LAST_ID_STRING", "Last ID can't be string")?;
            let limit = param(p, "LIMIT")
                .and_then(as_i64)
                .filter(|n| *n > 0)
                .unwrap_or(20)
                .min(50) as usize;
            let mut fixed = vec![("chat_id", json!(chat_id))];
            if let Some(f) = first {
                fixed.push((">id", json!(f)));
            }
            if let Some(l) = last.filter(|l| *l > 0) {
                fixed.push(("<id", json!(l)));
            }
            let mut q = Map::new();
            let desc = first.is_none();
            q.insert(
                "order".into(),
                json!({"id": if desc { "DESC" } else { "ASC" }}),
            );
            let page = query(&data, msg, &q, &fixed, -1, limit)?;
            let mut rows = page.rows;
            if !desc {
                rows.reverse();
            }
            let mut authors: Vec<i64> = Vec::new();
            for r in &mut rows {
                boolify(r, &["unread"]);
                if let Some(a) = int_of(r, "author_id").filter(|a| *a > 0)
                    && !authors.contains(&a)
                {
                    authors.push(a);
                }
            }
            let users: Vec<Value> = authors
                .iter()
                .filter_map(|a| data.users.get(&(*a as u64)))
                .map(|u| {
                    json!({
                        "id": u.id, "active": u.active,
                        "name": format!("{} {}", u.name, u.last_name),
                        "first_name": u.name, "last_name": u.last_name,
                        "work_position": "", "avatar": "", "avatar_hr": "",
                        "extranet": false, "bot": false, "type": "user", "email": u.email,
                    })
                })
                .collect();
            Ok(Outcome::of(json!({
                "chat_id": chat_id,
                "messages": rows,
                "users": users,
                "files": [],
            })))
        }
    }
}

// ---------------------------------------------------------------- disk

const VERSIONS: &str = "disk.versions";

fn disk_arg(n: u8) -> ApiError {
    ApiError::new(
        400,
        "ERROR_ARGUMENT",
        format!("Invalid value of parameter {{Parameter #{n}}}"),
    )
}

fn disk_not_found(id: i64) -> ApiError {
    ApiError::new(
        400,
        "ERROR_NOT_FOUND",
        format!("Could not find entity with id {id}"),
    )
}

/// The next id of the shared folder/file id space (one `b_disk_object` table on a portal).
fn next_object_id(data: &Data) -> i64 {
    ["disk.folder", "disk.file"]
        .iter()
        .filter_map(|k| data.stores.get(*k))
        .map(|s| {
            s.next_id
                .max(s.rows.keys().next_back().copied().unwrap_or(0))
        })
        .max()
        .unwrap_or(0)
}

fn add_object(
    data: &mut Data,
    key: &str,
    fam: &Family,
    fields: &Map<String, Value>,
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let base = next_object_id(data);
    let s = store(data, key);
    s.next_id = s.next_id.max(base);
    s.add(fam, View::native(fam), fields, user, now)
}

fn object_fields(
    name: &str,
    kind: &str,
    storage: i64,
    parent: Option<i64>,
    user: u64,
    now: i64,
) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("NAME", json!(name)),
        ("TYPE", json!(kind)),
        ("CODE", Value::Null),
        ("STORAGE_ID", json!(storage)),
        ("PARENT_ID", parent.map_or(Value::Null, |p| json!(p))),
        ("CREATE_TIME", json!(now)),
        ("UPDATE_TIME", json!(now)),
        ("DELETE_TIME", Value::Null),
        ("CREATED_BY", json!(user)),
        ("UPDATED_BY", json!(user)),
        ("DELETED_BY", json!(0)),
        ("DELETED_TYPE", json!("0")),
    ] {
        m.insert(k.into(), v);
    }
    m
}

/// Creates a storage with its root folder.
fn add_storage(
    data: &mut Data,
    st: &Family,
    folder: &Family,
    (name, etype, eid): (&str, &str, &str),
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let mut fields = Map::new();
    for (k, v) in [
        ("NAME", json!(name)),
        ("CODE", Value::Null),
        ("MODULE_ID", json!("disk")),
        ("ENTITY_TYPE", json!(etype)),
        ("ENTITY_ID", json!(eid)),
    ] {
        fields.insert(k.into(), v);
    }
    let sid = store(data, "disk.storage").add(st, View::native(st), &fields, user, now)?;
    let f = object_fields(name, "folder", sid, None, user, now as i64);
    let root = add_object(data, "disk.folder", folder, &f, user, now)?;
    store(data, "disk.folder").set(folder, root, "REAL_OBJECT_ID", &json!(root));
    store(data, "disk.storage").set(st, sid, "ROOT_OBJECT_ID", &json!(root));
    Ok(sid)
}

/// The portal's storages on first use: the shared drive and one per user.
fn ensure_storages(
    data: &mut Data,
    st: &Family,
    folder: &Family,
    now: f64,
) -> Result<(), ApiError> {
    if data
        .stores
        .get("disk.storage")
        .is_some_and(|s| !s.rows.is_empty())
    {
        return Ok(());
    }
    add_storage(
        data,
        st,
        folder,
        ("Shared drive", "common", "shared_files_s1"),
        1,
        now,
    )?;
    let users: Vec<(u64, String)> = data
        .users
        .values()
        .map(|u| (u.id, format!("{} {}", u.name, u.last_name)))
        .collect();
    for (id, name) in users {
        add_storage(data, st, folder, (&name, "user", &id.to_string()), id, now)?;
    }
    Ok(())
}

fn b64_len(s: &str) -> usize {
    let t = s.trim().trim_end_matches('=');
    t.len() * 3 / 4
}

/// `fileContent`: `[name, base64]` -> (name, size).
fn file_content(p: &Map<String, Value>) -> Option<(String, usize)> {
    let v = param(p, "fileContent")?;
    let items = list_items(v);
    let name = items.first().and_then(|x| as_str(x)).unwrap_or_default();
    let body = items.get(1).and_then(|x| as_str(x)).unwrap_or_default();
    Some((name, b64_len(&body)))
}

fn data_name(p: &Map<String, Value>) -> Option<String> {
    match param(p, "data") {
        Some(Value::Object(m)) => m
            .get("NAME")
            .or_else(|| m.get("name"))
            .and_then(as_str)
            .filter(|s| !s.trim().is_empty()),
        _ => None,
    }
}

fn children(data: &Data, folder: &Family, file: &Family, parent: i64) -> Vec<(i64, bool)> {
    let mut out = Vec::new();
    for (key, fam, is_folder) in [("disk.folder", folder, true), ("disk.file", file, false)] {
        if let Some(s) = data.stores.get(key) {
            for id in s.rows.keys() {
                let r = s.render_full(fam, View::native(fam), *id);
                if r.and_then(|r| int_of(&r, "PARENT_ID")) == Some(parent) {
                    out.push((*id, is_folder));
                }
            }
        }
    }
    out
}

fn list_children(
    data: &Data,
    folder: &Family,
    file: &Family,
    parent: i64,
    p: &Map<String, Value>,
) -> Result<Outcome, ApiError> {
    let fixed = [("PARENT_ID", json!(parent)), ("DELETED_TYPE", json!("0"))];
    let mut rows = query(data, folder, p, &fixed, 0, usize::MAX)?.rows;
    rows.extend(query(data, file, p, &fixed, 0, usize::MAX)?.rows);
    let start = start_of(p);
    let count = start != -1;
    let start = start.max(0) as usize / 50 * 50;
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(start).take(50).collect();
    let next = (count && start + page.len() < total).then_some((start + 50) as i64);
    Ok(Outcome {
        result: Value::Array(page),
        total: count.then_some(total as i64),
        next,
    })
}

fn disk_fields_meta(fam: &Family) -> Value {
    let mut m = Map::new();
    for f in &fam.spec.fields {
        let ty = match (f.name.as_str(), f.ty) {
            ("TYPE" | "DELETED_TYPE" | "ENTITY_TYPE", _) => "enum",
            (_, entity::FieldType::Id | entity::FieldType::Int) => "integer",
            (_, entity::FieldType::DateTime | entity::FieldType::Date) => "datetime",
            _ => "string",
        };
        m.insert(
            f.name.clone(),
            json!({"TYPE": ty, "USE_IN_FILTER": true, "USE_IN_SHOW": true}),
        );
    }
    Value::Object(m)
}

/// Marks an object and its subtree deleted (`DELETED_TYPE` 3 on the object, 4 below) or
/// restores them (0).
fn mark_tree(
    data: &mut Data,
    folder: &Family,
    file: &Family,
    id: i64,
    is_folder: bool,
    deleted: Option<(u64, i64)>,
    root: bool,
) {
    let (key, fam) = if is_folder {
        ("disk.folder", folder)
    } else {
        ("disk.file", file)
    };
    let s = store(data, key);
    let (kind, by, at) = match deleted {
        Some((u, t)) => (if root { "3" } else { "4" }, json!(u), json!(t)),
        None => ("0", json!(0), Value::Null),
    };
    s.set(fam, id, "DELETED_TYPE", &json!(kind));
    s.set(fam, id, "DELETED_BY", &by);
    s.set(fam, id, "DELETE_TIME", &at);
    if is_folder {
        for (child, f) in children(data, folder, file, id) {
            mark_tree(data, folder, file, child, f, deleted, false);
        }
    }
}

fn remove_tree(data: &mut Data, folder: &Family, file: &Family, id: i64, is_folder: bool) {
    if is_folder {
        for (child, f) in children(data, folder, file, id) {
            remove_tree(data, folder, file, child, f);
        }
        store(data, "disk.folder").rows.remove(&id);
    } else {
        store(data, "disk.file").rows.remove(&id);
        if let Some(t) = data.side.get_mut(VERSIONS) {
            t.remove(&id);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn copy_tree(
    data: &mut Data,
    folder: &Family,
    file: &Family,
    id: i64,
    is_folder: bool,
    target: i64,
    storage: i64,
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let (key, fam) = if is_folder {
        ("disk.folder", folder)
    } else {
        ("disk.file", file)
    };
    let src = row(data, fam, id).ok_or_else(|| disk_not_found(id))?;
    let mut fields = match src {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    fields.remove("ID");
    fields.insert("PARENT_ID".into(), json!(target));
    fields.insert("STORAGE_ID".into(), json!(storage));
    fields.insert("CREATE_TIME".into(), json!(now as i64));
    fields.insert("UPDATE_TIME".into(), json!(now as i64));
    fields.insert("CREATED_BY".into(), json!(user));
    fields.insert("UPDATED_BY".into(), json!(user));
    let new = add_object(data, key, fam, &fields, user, now)?;
    if is_folder {
        store(data, key).set(fam, new, "REAL_OBJECT_ID", &json!(new));
        for (child, f) in children(data, folder, file, id) {
            copy_tree(data, folder, file, child, f, new, storage, user, now)?;
        }
    }
    Ok(new)
}

fn add_version(data: &mut Data, file_id: i64, name: &str, size: usize, user: u64, now: i64) -> i64 {
    let total: usize = data
        .side
        .get(VERSIONS)
        .map_or(0, |t| t.values().map(|v| list_items(v).len()).sum());
    let vid = total as i64 + 1;
    let t = data.side.entry(VERSIONS.into()).or_default();
    let list = t.entry(file_id).or_insert_with(|| json!([]));
    let n = list.as_array().map_or(0, Vec::len) + 1;
    if let Value::Array(a) = list {
        a.push(json!({
            "ID": vid.to_string(), "OBJECT_ID": file_id.to_string(), "SIZE": size.to_string(),
            "NAME": name, "GLOBAL_CONTENT_VERSION": n.to_string(),
            "CREATE_TIME": clock::iso(now as f64), "CREATED_BY": user.to_string(),
        }));
    }
    vid
}

#[allow(clippy::too_many_lines)]
fn disk(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let st = fam(inner, "disk.storage")?;
    let folder = fam(inner, "disk.folder")?;
    let file = fam(inner, "disk.file")?;
    let now = inner.now();
    let ni = now_i(inner);
    let mut data = write(inner);
    ensure_storages(&mut data, st, folder, now)?;
    let (group, action) = method
        .strip_prefix("disk.")
        .and_then(|m| m.split_once('.'))
        .unwrap_or(("", ""));
    let pos = u8::from(group != "storage");
    let id_opt = param(p, "id").and_then(as_i64).filter(|n| *n > 0);
    let id = || id_opt.ok_or_else(|| disk_arg(pos));
    let (key, own) = match group {
        "storage" => ("disk.storage", st),
        "folder" => ("disk.folder", folder),
        _ => ("disk.file", file),
    };
    let need = |data: &Data| -> Result<(i64, Value), ApiError> {
        let id = id()?;
        row(data, own, id)
            .map(|r| (id, r))
            .ok_or_else(|| disk_not_found(id))
    };
    match (group, action) {
        (_, "getfields") => Ok(Outcome::of(disk_fields_meta(own))),
        ("storage", "gettypes") => Ok(Outcome::of(json!(["user", "common", "group"]))),
        ("storage", "getlist") => {
            let page = query(&data, st, p, &[], start_of(p), 50)?;
            Ok(entity::meta::list_outcome(page, None))
        }
        ("storage", "getforapp") => {
            let app = c.client_id.clone().unwrap_or_else(|| "1".into());
            let found = query(
                &data,
                st,
                &Map::new(),
                &[("ENTITY_TYPE", json!("restapp")), ("ENTITY_ID", json!(app))],
                -1,
                1,
            )?;
            let sid = match found.rows.first().and_then(|r| int_of(r, "ID")) {
                Some(s) => s,
                None => add_storage(
                    &mut data,
                    st,
                    folder,
                    (&app, "restapp", &app),
                    c.user_id,
                    now,
                )?,
            };
            Ok(Outcome::of(row(&data, st, sid).unwrap_or(Value::Null)))
        }
        (_, "get") => Ok(Outcome::of(need(&data)?.1)),
        (_, "rename") => {
            let (id, _) = need(&data)?;
            let name = str_p(p, "newName");
            if name.trim().is_empty() {
                return Err(disk_arg(pos + 1));
            }
            let mut fields = Map::from_iter([("NAME".to_string(), json!(name))]);
            if group != "storage" {
                fields.insert("UPDATE_TIME".into(), json!(ni));
                fields.insert("UPDATED_BY".into(), json!(c.user_id));
            }
            store(&mut data, key).update(own, View::native(own), id, &fields, c.user_id, now);
            Ok(Outcome::of(row(&data, own, id).unwrap_or(Value::Null)))
        }
        ("storage" | "folder", "getchildren") => {
            let (_, r) = need(&data)?;
            let parent = if group == "storage" {
                int_of(&r, "ROOT_OBJECT_ID").unwrap_or(0)
            } else {
                int_of(&r, "ID").unwrap_or(0)
            };
            list_children(&data, folder, file, parent, p)
        }
        ("storage" | "folder", "addfolder" | "addsubfolder") => {
            let (_, r) = need(&data)?;
            let (storage, parent) = if group == "storage" {
                (
                    int_of(&r, "ID").unwrap_or(0),
                    int_of(&r, "ROOT_OBJECT_ID").unwrap_or(0),
                )
            } else {
                (
                    int_of(&r, "STORAGE_ID").unwrap_or(0),
                    int_of(&r, "ID").unwrap_or(0),
                )
            };
            let name = data_name(p).ok_or_else(|| disk_arg(pos))?;
            let dup = children(&data, folder, file, parent)
                .into_iter()
                .filter(|(_, f)| *f)
                .any(|(cid, _)| {
                    row(&data, folder, cid)
                        .and_then(|x| x.get("NAME").and_then(as_str))
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                });
            if dup {
                return Err(ApiError::new(
                    400,
                    "DISK_OBJ_22000",
                    "A folder with this name already exists",
                ));
            }
            let f = object_fields(&name, "folder", storage, Some(parent), c.user_id, ni);
            let new = add_object(&mut data, "disk.folder", folder, &f, c.user_id, now)?;
            store(&mut data, "disk.folder").set(folder, new, "REAL_OBJECT_ID", &json!(new));
            Ok(Outcome::of(row(&data, folder, new).unwrap_or(Value::Null)))
        }
        ("storage" | "folder", "uploadfile") => {
            let (_, r) = need(&data)?;
            let (storage, parent) = if group == "storage" {
                (
                    int_of(&r, "ID").unwrap_or(0),
                    int_of(&r, "ROOT_OBJECT_ID").unwrap_or(0),
                )
            } else {
                (
                    int_of(&r, "STORAGE_ID").unwrap_or(0),
                    int_of(&r, "ID").unwrap_or(0),
                )
            };
            let content = file_content(p);
            let name = data_name(p)
                .or_else(|| {
                    content
                        .as_ref()
                        .map(|(n, _)| n.clone())
                        .filter(|n| !n.is_empty())
                })
                .ok_or_else(|| disk_arg(pos))?;
            let size = content.map_or(0, |(_, s)| s);
            let mut f = object_fields(&name, "file", storage, Some(parent), c.user_id, ni);
            f.insert("GLOBAL_CONTENT_VERSION".into(), json!(1));
            f.insert("SIZE".into(), json!(size));
            let new = add_object(&mut data, "disk.file", file, &f, c.user_id, now)?;
            let vid = add_version(&mut data, new, &name, size, c.user_id, ni);
            store(&mut data, "disk.file").set(file, new, "FILE_ID", &json!(vid));
            Ok(Outcome::of(row(&data, file, new).unwrap_or(Value::Null)))
        }
        (_, "copyto" | "moveto") => {
            let (id, _) = need(&data)?;
            let target = param(p, "targetFolderId")
                .and_then(as_i64)
                .filter(|n| *n > 0)
                .ok_or_else(|| disk_arg(pos + 1))?;
            let t = row(&data, folder, target).ok_or_else(|| disk_not_found(target))?;
            let storage = int_of(&t, "STORAGE_ID").unwrap_or(0);
            let is_folder = group == "folder";
            let out = if action == "copyto" {
                copy_tree(
                    &mut data, folder, file, id, is_folder, target, storage, c.user_id, now,
                )?
            } else {
                let fields = Map::from_iter([
                    ("PARENT_ID".to_string(), json!(target)),
                    ("STORAGE_ID".to_string(), json!(storage)),
                    ("UPDATE_TIME".to_string(), json!(ni)),
                ]);
                store(&mut data, key).update(own, View::native(own), id, &fields, c.user_id, now);
                id
            };
            Ok(Outcome::of(row(&data, own, out).unwrap_or(Value::Null)))
        }
        (_, "markdeleted" | "restore") => {
            let (id, _) = need(&data)?;
            let del = (action == "markdeleted").then_some((c.user_id, ni));
            mark_tree(&mut data, folder, file, id, group == "folder", del, true);
            Ok(Outcome::of(row(&data, own, id).unwrap_or(Value::Null)))
        }
        ("folder", "deletetree") | ("file", "delete") => {
            let (id, r) = need(&data)?;
            if group == "folder" && r.get("PARENT_ID").is_none_or(Value::is_null) {
                return Err(ApiError::new(
                    400,
                    "DISK_OBJ_22000",
                    "Could not delete root folder",
                ));
            }
            remove_tree(&mut data, folder, file, id, group == "folder");
            Ok(Outcome::of(json!(true)))
        }
        (_, "getexternallink") => {
            let (id, _) = need(&data)?;
            Ok(Outcome::of(json!(format!("{}/~{id:x}", inner.base_url))))
        }
        ("file", "uploadversion") => {
            let (id, r) = need(&data)?;
            let (cname, size) = file_content(p).ok_or_else(|| disk_arg(1))?;
            let name = if cname.is_empty() {
                r.get("NAME").and_then(as_str).unwrap_or_default()
            } else {
                cname
            };
            let vid = add_version(&mut data, id, &name, size, c.user_id, ni);
            let version = int_of(&r, "GLOBAL_CONTENT_VERSION").unwrap_or(1) + 1;
            let fields = Map::from_iter([
                ("SIZE".to_string(), json!(size)),
                ("FILE_ID".to_string(), json!(vid)),
                ("GLOBAL_CONTENT_VERSION".to_string(), json!(version)),
                ("UPDATE_TIME".to_string(), json!(ni)),
                ("UPDATED_BY".to_string(), json!(c.user_id)),
            ]);
            store(&mut data, "disk.file").update(
                file,
                View::native(file),
                id,
                &fields,
                c.user_id,
                now,
            );
            Ok(Outcome::of(row(&data, file, id).unwrap_or(Value::Null)))
        }
        ("file", "getversions") => {
            let (id, _) = need(&data)?;
            let mut list: Vec<Value> = data
                .side
                .get(VERSIONS)
                .and_then(|t| t.get(&id))
                .map(|v| list_items(v).into_iter().cloned().collect())
                .unwrap_or_default();
            list.reverse();
            let start = start_of(p).max(0) as usize / 50 * 50;
            let total = list.len();
            let page: Vec<Value> = list.into_iter().skip(start).take(50).collect();
            let next = (start + page.len() < total).then_some((start + 50) as i64);
            Ok(Outcome {
                result: Value::Array(page),
                total: Some(total as i64),
                next,
            })
        }
        _ => Err(ApiError::method_not_found()),
    }
}
