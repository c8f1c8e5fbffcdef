//! REST 3.0 mail: `mail.mailbox.*`, `mail.message.*` and `mail.recipient.*` (api-reference/mail/).
//! Mailboxes, their e-mails and the address book are side tables the portal fills from the mail
//! servers, loaded in tests with `Control::seed_records` (`mail.mailbox`, `mail.message`,
//! `mail.recipient`); employees are the portal's users. An e-mail row may carry, besides the
//! documented fields, `folder` (default `INBOX`) and `threadId` (default: its own id), which are
//! never answered. Sending, replying and forwarding store the e-mail in the sender's mailbox,
//! folder `Sent`; a reply or forward joins the thread of the e-mail it answers. The objects made
//! from an e-mail (task, feed post, calendar event, chat) are recorded per e-mail in the side
//! table `mail.message.link`, which gives their ids (the chat of an e-mail is made once). The
//! errors are the pages'.

use crate::core::{as_i64, as_str};
use crate::handlers::side;
use crate::state::Data;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, record_not_found, validation};
use crate::v3_query;
use serde_json::{Map, Value, json};

/// The side table of the mailboxes.
pub(crate) const MAILBOXES: &str = "mail.mailbox";
/// The side table of the e-mails.
pub(crate) const MESSAGES: &str = "mail.message";
/// The side table of the address book (`mail.recipient.listcontacts`).
pub(crate) const CONTACTS: &str = "mail.recipient";
/// What was made from each e-mail, by kind.
const LINKS: &str = "mail.message.link";

/// The documented fields of an e-mail, in the pages' order.
const MESSAGE: &[&str] = &[
    "id",
    "mailboxId",
    "mailboxEmail",
    "subject",
    "from",
    "to",
    "cc",
    "date",
    "isSeen",
    "hasAttachments",
    "url",
    "bindings",
    "body",
];

/// Runs one method of the three families.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let p = c.p;
    let now = crate::clock::iso(c.inner.now());
    let mut data = c.inner.write_data();
    let data = &mut *data;
    match c.name {
        "mail.mailbox.list" => {
            let name = lower(p, "name");
            let email = lower(p, "email");
            let rows = v3_query::rows(data, MAILBOXES, |r| {
                contains(r, "name", name.as_deref()) && contains(r, "email", email.as_deref())
            });
            page(c, &rows, 100)
        }
        "mail.mailbox.get" => {
            let id = id_of(p, "id", "Mandatory field `id` is not specified")?;
            Ok(json!({ "item": c.select(&found(data, MAILBOXES, id)?)? }))
        }
        "mail.mailbox.senders" => page(c, &senders(data), 100),
        "mail.message.list" => list(c, data),
        "mail.message.get" => {
            let id = id_of(p, "id", "Mandatory field `id` is not specified")?;
            let row = shown(&found(data, MESSAGES, id)?);
            Ok(json!({ "item": c.select(&row)? }))
        }
        "mail.message.thread" => thread(data, p),
        "mail.message.send" => send(data, p, &now, None),
        "mail.message.reply" => send(
            data,
            p,
            &now,
            Some(("replyToMessageId", "MESSAGE_REPLY_FAILED")),
        ),
        "mail.message.forward" => send(
            data,
            p,
            &now,
            Some(("forwardMessageId", "MESSAGE_FORWARD_FAILED")),
        ),
        "mail.message.movetofolder" => move_to(data, p),
        "mail.message.createcrmactivity" => {
            let id = message_param(
                data,
                p,
                "Message has been deleted or moved to another folder",
            )?;
            link(data, id, "crmActivity", json!(true));
            Ok(json!(true))
        }
        "mail.message.removecrmactivity" => {
            let id = message_param(data, p, "Message is deleted or moved to another folder")?;
            link(data, id, "crmActivity", json!(false));
            Ok(json!(true))
        }
        "mail.message.createcalendarevent" => {
            let id = message_param(data, p, "Message deleted or moved to another folder")?;
            for f in ["dateFrom", "dateTo"] {
                let v = p.get(f).and_then(Value::as_str).ok_or_else(|| {
                    validation(f, &format!("Mandatory field `{f}` is not specified"))
                })?;
                if !plain_datetime(v) {
                    return Err(validation(f, "Invalid date format"));
                }
            }
            let event = made(data, id, "eventId");
            Ok(json!({ "success": true, "eventId": event, "messageId": id }))
        }
        "mail.message.createchat" => {
            let id = message_param(data, p, "Message was deleted or moved to another folder")?;
            let before = links(data, id).get("chatId").and_then(as_i64);
            let chat = before.unwrap_or_else(|| made(data, id, "chatId"));
            Ok(json!({
                "success": true, "chatId": chat, "messageId": id, "existing": before.is_some(),
            }))
        }
        "mail.message.createfeedpost" => {
            let id = message_param(data, p, "Message deleted or moved to another folder")?;
            let post = made(data, id, "postId");
            Ok(json!({ "success": true, "postId": post, "messageId": id }))
        }
        "mail.message.createtask" => {
            let id = message_param(data, p, "Message was deleted or moved to another folder")?;
            let task = made(data, id, "taskId");
            Ok(json!({ "success": true, "taskId": task, "messageId": id }))
        }
        "mail.recipient.listcontacts" => {
            let q = lower(p, "query");
            let rows = v3_query::rows(data, CONTACTS, |r| {
                contains(r, "name", q.as_deref()) || contains(r, "email", q.as_deref())
            });
            page(c, &rows, 100)
        }
        "mail.recipient.listemployees" => {
            let Some(q) = lower(p, "query") else {
                return Err(validation(
                    "query",
                    "Required field `query` is not specified",
                ));
            };
            let rows: Vec<Map<String, Value>> = data
                .users
                .values()
                .filter(|u| u.active)
                .map(|u| {
                    let name = format!("{} {}", u.name, u.last_name).trim().to_owned();
                    let mut m = Map::new();
                    m.insert("id".into(), json!(u.id));
                    m.insert("email".into(), json!(u.email));
                    m.insert("name".into(), json!(name));
                    m
                })
                .filter(|r| contains(r, "name", Some(&q)) || contains(r, "email", Some(&q)))
                .collect();
            page(c, &rows, 100)
        }
        _ => c.shared(),
    }
}

/// A text param, lower-cased, when given and not empty.
fn lower(p: &Map<String, Value>, k: &str) -> Option<String> {
    p.get(k)
        .and_then(as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_lowercase())
}

/// Whether `r[k]` contains `needle` (case-insensitively); true without a needle.
fn contains(r: &Map<String, Value>, k: &str, needle: Option<&str>) -> bool {
    needle.is_none_or(|n| {
        r.get(k)
            .and_then(as_str)
            .is_some_and(|v| v.to_lowercase().contains(n))
    })
}

/// One page of `rows`: `pagination` with a default `limit` of 25, at most `max`.
fn page(c: &Call<'_>, rows: &[Map<String, Value>], max: i64) -> Result<Value, V3Error> {
    let mut p = c.p.clone();
    match p.get_mut("pagination") {
        Some(Value::Object(pg)) if !pg.contains_key("limit") => {
            pg.insert("limit".into(), json!(25));
        }
        None | Some(Value::Null) => {
            p.insert("pagination".into(), json!({ "limit": 25 }));
        }
        Some(_) => {}
    }
    let (limit, offset) =
        v3_query::pagination(&p, max, "Unable to recognize pagination parameter")?;
    c.items(rows.iter().skip(offset).take(limit))
}

/// A required id param; `missing` is the page's message when it is absent or not a number.
fn id_of(p: &Map<String, Value>, k: &str, missing: &str) -> Result<i64, V3Error> {
    p.get(k)
        .and_then(as_i64)
        .filter(|n| *n > 0)
        .ok_or_else(|| validation(k, missing))
}

/// Row `id` of `key`, or the documented not-found error.
fn found(data: &Data, key: &str, id: i64) -> Result<Map<String, Value>, V3Error> {
    side::get(data, key, id)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(record_not_found)
}

/// An e-mail as answered: the documented fields only.
fn shown(r: &Map<String, Value>) -> Map<String, Value> {
    MESSAGE
        .iter()
        .map(|k| ((*k).to_owned(), r.get(*k).cloned().unwrap_or(Value::Null)))
        .collect()
}

fn folder(r: &Map<String, Value>) -> String {
    r.get("folder")
        .and_then(as_str)
        .unwrap_or_else(|| "INBOX".to_owned())
}

fn thread_of(r: &Map<String, Value>) -> i64 {
    r.get("threadId")
        .or_else(|| r.get("id"))
        .and_then(as_i64)
        .unwrap_or_default()
}

/// Every address one may send from: each mailbox under its sender name and under its own name.
fn senders(data: &Data) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = Vec::new();
    for r in v3_query::rows(data, MAILBOXES, |_| true) {
        let email = r.get("email").and_then(as_str).unwrap_or_default();
        for k in ["senderName", "name"] {
            let Some(name) = r.get(k).and_then(as_str).filter(|n| !n.is_empty()) else {
                continue;
            };
            let sender = format!("{name} <{email}>");
            if out.iter().any(|s| s.get("sender") == Some(&json!(sender))) {
                continue;
            }
            let mut s = Map::new();
            s.insert("email".into(), json!(email));
            s.insert("name".into(), json!(name));
            s.insert("sender".into(), json!(sender));
            out.push(s);
        }
    }
    out
}

/// Whether `v` is an ISO 8601 date-time with an offset (`2026-01-01T00:00:00+00:00`).
fn iso(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 25
        && b[10] == b'T'
        && matches!(b[19], b'+' | b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 22) || c.is_ascii_digit())
}

/// Whether `v` is `Y-m-d H:i:s`.
fn plain_datetime(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 19
        && b[10] == b' '
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit())
}

/// `mail.message.list`: by mailbox, folder, period, read state, attachments and text.
fn list(c: &Call<'_>, data: &Data) -> Result<Value, V3Error> {
    let p = c.p;
    let mut period = [None, None];
    for (i, f) in ["dateFrom", "dateTo"].iter().enumerate() {
        if let Some(v) = p.get(*f).filter(|v| !v.is_null()) {
            let s = v.as_str().filter(|s| iso(s)).ok_or_else(|| {
                validation(
                    f,
                    &format!(
                        "Parameter `{f}` must be in ISO 8601 format (DATE_ATOM), for example `2026-01-01T00:00:00+00:00`"
                    ),
                )
            })?;
            period[i] = Some(s.to_owned());
        }
    }
    let mailbox = p.get("mailboxId").and_then(as_i64);
    let wanted_folder = p.get("folder").and_then(as_str);
    let q = lower(p, "searchQuery");
    let flag = |k: &str| p.get(k).and_then(Value::as_bool);
    let (seen, attached) = (flag("isSeen"), flag("hasAttachments"));
    let rows = v3_query::rows(data, MESSAGES, |r| {
        let date = r.get("date").and_then(as_str).unwrap_or_default();
        mailbox.is_none_or(|m| r.get("mailboxId").and_then(as_i64) == Some(m))
            && wanted_folder.as_ref().is_none_or(|f| &folder(r) == f)
            && seen.is_none_or(|s| r.get("isSeen").and_then(Value::as_bool) == Some(s))
            && attached.is_none_or(|a| r.get("hasAttachments").and_then(Value::as_bool) == Some(a))
            && period[0]
                .as_ref()
                .is_none_or(|from| date.as_str() >= from.as_str())
            && period[1]
                .as_ref()
                .is_none_or(|to| date.as_str() <= to.as_str())
            && (q.is_none()
                || ["subject", "body", "from", "to"]
                    .iter()
                    .any(|k| contains(r, k, q.as_deref())))
    });
    let shown: Vec<Map<String, Value>> = rows.iter().map(shown).collect();
    page(c, &shown, 200)
}

/// `mail.message.thread`: the e-mails of the thread of `id`, oldest first, at most `limit`.
fn thread(data: &Data, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = id_of(p, "id", "Required field `id` is not specified")?;
    let thread = thread_of(&found(data, MESSAGES, id)?);
    let limit = p
        .get("limit")
        .and_then(as_i64)
        .map_or(20, |n| n.clamp(1, 50));
    let mut rows = v3_query::rows(data, MESSAGES, |r| thread_of(r) == thread);
    rows.sort_by(|a, b| {
        let d = |r: &Map<String, Value>| r.get("date").and_then(as_str).unwrap_or_default();
        d(a).cmp(&d(b))
    });
    let out: Vec<Value> = rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(20))
        .map(|r| {
            let date = r.get("date").and_then(as_str).unwrap_or_default();
            let plain: String = date.replacen('T', " ", 1).chars().take(19).collect();
            json!({
                "id": r.get("id"), "subject": r.get("subject"), "from": r.get("from"),
                "to": r.get("to"), "cc": r.get("cc").cloned().unwrap_or(json!("")),
                "date": plain, "body": r.get("body"),
            })
        })
        .collect();
    Ok(Value::Array(out))
}

/// The addresses of list param `k` (`to`, `cc`, `bcc`): strings that hold an `@`.
fn addresses(p: &Map<String, Value>, k: &str) -> Result<Vec<String>, V3Error> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| s.contains('@'))
                    .map(str::to_owned)
                    .ok_or_else(|| validation(k, "RESOLVE_RECIPIENTS_ERROR"))
            })
            .collect(),
        Some(_) => Err(validation(k, "RESOLVE_RECIPIENTS_ERROR")),
    }
}

/// `send`, or `reply`/`forward` (`answered`: the param naming the e-mail and the failure).
fn send(
    data: &mut Data,
    p: &Map<String, Value>,
    now: &str,
    answered: Option<(&str, &str)>,
) -> Result<Value, V3Error> {
    let original = match answered {
        Some((k, failed)) => {
            let missing = if k == "replyToMessageId" {
                "Mandatory field is not specified".to_owned()
            } else {
                format!("Mandatory field `{k}` is not specified")
            };
            let id = id_of(p, k, &missing)?;
            Some(found(data, MESSAGES, id).map_err(|_| validation(k, failed))?)
        }
        None => None,
    };
    let word = if answered.is_some() {
        "Mandatory"
    } else {
        "Required"
    };
    for f in ["from", "to", "subject", "body"] {
        if p.get(f).is_none_or(Value::is_null) {
            let msg = if f == "from" && answered.is_none() {
                "Required field is not specified".to_owned()
            } else {
                format!("{word} field `{f}` is not specified")
            };
            return Err(validation(f, &msg));
        }
    }
    let to = addresses(p, "to")?;
    if to.is_empty() {
        return Err(validation("to", "NO_RECIPIENTS"));
    }
    let cc = addresses(p, "cc")?;
    addresses(p, "bcc")?;
    let from = p.get("from").and_then(as_str).unwrap_or_default();
    let failed = answered.map_or("MESSAGE_SEND_FAILED", |a| a.1);
    let sender = senders(data)
        .into_iter()
        .find(|s| s.get("email") == Some(&json!(from)) || s.get("sender") == Some(&json!(from)))
        .ok_or_else(|| validation("from", failed))?;
    let email = sender.get("email").and_then(as_str).unwrap_or_default();
    let mailbox = v3_query::rows(data, MAILBOXES, |r| {
        r.get("email").and_then(as_str) == Some(email.clone())
    })
    .first()
    .and_then(|r| r.get("id").and_then(as_i64));
    let thread = original.as_ref().map(thread_of);
    let text = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
    side::insert(data, MESSAGES, |id| {
        json!({
            "id": id, "mailboxId": mailbox, "mailboxEmail": email, "subject": text("subject"),
            "from": from, "to": to.join(", "), "cc": cc.join(", "), "date": now,
            "isSeen": true, "hasAttachments": false, "url": format!("/mail/message/{id}"),
            "bindings": [], "body": text("body"), "folder": "Sent",
            "threadId": thread.unwrap_or(id),
        })
    });
    Ok(json!({ "success": true, "to": to }))
}

/// `mail.message.movetofolder`: e-mails of one folder of one mailbox, to `folder`, spam or trash.
fn move_to(data: &mut Data, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let ids: Vec<i64> = match p.get("messageIds") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().filter_map(as_i64).collect(),
        _ => return Err(validation("messageIds", "Required field is not specified")),
    };
    let action = p.get("action").and_then(Value::as_str).unwrap_or_default();
    let target = match action {
        "move" => p
            .get("folder")
            .and_then(as_str)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                validation(
                    "folder",
                    "The `folder` parameter is required when `action=move`",
                )
            })?,
        "spam" => "Spam".to_owned(),
        "delete" => "Trash".to_owned(),
        _ => {
            return Err(validation(
                "action",
                "The `action` parameter must be `move`, `spam`, or `delete`",
            ));
        }
    };
    let rows: Vec<Map<String, Value>> = ids
        .iter()
        .filter_map(|id| {
            side::get(data, MESSAGES, *id)
                .and_then(Value::as_object)
                .cloned()
        })
        .collect();
    let Some(first) = rows.first() else {
        return Err(validation("messageIds", "No accessible messages found"));
    };
    if rows
        .iter()
        .any(|r| r.get("mailboxId") != first.get("mailboxId"))
    {
        return Err(validation(
            "messageIds",
            "All messages must belong to the same mailbox",
        ));
    }
    if rows.iter().any(|r| folder(r) != folder(first)) {
        return Err(validation(
            "messageIds",
            "Select emails from a single folder",
        ));
    }
    for r in &rows {
        let id = r.get("id").and_then(as_i64).unwrap_or_default();
        if let Some(Value::Object(m)) = side::get_mut(data, MESSAGES, id) {
            m.insert("folder".into(), json!(target));
        }
    }
    Ok(json!({ "success": true, "movedCount": rows.len(), "action": action }))
}

/// The `messageId` of an e-mail that exists (`gone`: the page's message when it does not).
fn message_param(data: &Data, p: &Map<String, Value>, gone: &str) -> Result<i64, V3Error> {
    let id = id_of(
        p,
        "messageId",
        "Mandatory field `messageId` is not specified or an incorrect value was passed",
    )?;
    found(data, MESSAGES, id).map_err(|_| validation("messageId", gone))?;
    Ok(id)
}

/// What was made from e-mail `id`.
fn links(data: &Data, id: i64) -> Map<String, Value> {
    side::get(data, LINKS, id)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Records `k` = `v` for e-mail `id`.
fn link(data: &mut Data, id: i64, k: &str, v: Value) {
    let mut m = links(data, id);
    m.insert(k.to_owned(), v);
    side::table(data, LINKS).insert(id, Value::Object(m));
}

/// A new object of kind `k` (`taskId`, ...) made from e-mail `id`: the next id of that kind.
fn made(data: &mut Data, id: i64, k: &str) -> i64 {
    let next = side::rows(data, LINKS)
        .filter_map(|r| r.get(k).and_then(as_i64))
        .max()
        .unwrap_or(0)
        + 1;
    link(data, id, k, json!(next));
    next
}
