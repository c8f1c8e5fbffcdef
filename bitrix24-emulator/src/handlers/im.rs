//! `im.*`: chats (`im.chat`) and messages (`im.message`) in the spec's `Chat` and `Message`
//! families; chat members in the `im.chat.users` side table.

use super::common::{fam, int_of, query, row, store, str_p, write};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param};
use crate::entity::{Family, View};
use crate::routes::{Route, store_routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The chat and message methods.
pub(crate) const ROUTES: &[Route] = store_routes![run;
    "im.chat" => [
        "im.chat.add",
        "im.chat.get",
        "im.dialog.get",
        "im.chat.updatetitle",
        "im.chat.setowner",
        "im.chat.user.add",
        "im.chat.user.list",
        "im.chat.user.delete",
        "im.chat.leave",
    ],
    "im.message" => [
        "im.message.add",
        "im.message.update",
        "im.message.delete",
        "im.dialog.messages.get",
    ],
];

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

/// Adds the `USERS` of a request to `users`, each once.
fn add_users(users: &mut Vec<u64>, v: Option<&Value>) {
    for u in user_ids(v) {
        if !users.contains(&u) {
            users.push(u);
        }
    }
}

/// The error of a `DIALOG_ID` that [`resolve_dialog`] refused (`empty`: empty or malformed).
fn dialog_error(empty: bool) -> ApiError {
    if empty {
        im_err("DIALOG_ID_EMPTY", "Dialog ID can't be empty")
    } else {
        im_err(
            "ACCESS_ERROR",
            "You do not have access to the specified dialog",
        )
    }
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
        .add(chat, view, &fields, c.user_id, now, None)
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
    store(data, "im.message").add(msg, View::native(msg), &fields, author, now, None)
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
fn run(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
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
            let id = store(&mut data, "im.chat").add(chat, cview, &fields, c.user_id, now, None)?;
            let mut users = vec![c.user_id];
            add_users(&mut users, param(p, "USERS"));
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
                Err(empty) => Err(dialog_error(empty)),
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
            add_users(&mut users, param(p, "USERS"));
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
                Err(empty) => return Err(dialog_error(empty)),
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
