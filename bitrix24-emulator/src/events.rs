//! Online and offline events: `event.*`, `event.offline.*`, delivery.

use crate::clock;
use crate::core::{
    ApiError, AuthKind, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param,
};
use crate::php;
use crate::routes::{Route, Scope};
use crate::state::{Handler, Inner, OfflineRow, lock};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The `event.*` methods (every caller may call them; the handlers check OAuth where needed).
pub(crate) const ROUTES: &[Route] = &[
    Route::new("events", Scope::Global, |i, c, _, _| list_events(i, c)),
    Route::new("event.bind", Scope::Global, |i, c, _, p| bind(i, c, p)),
    Route::new("event.unbind", Scope::Global, |i, c, _, p| unbind(i, c, p)),
    Route::new("event.get", Scope::Global, |i, c, _, _| get(i, c)),
    Route::new("event.test", Scope::Global, |i, c, _, p| test(i, c, p)),
    Route::new("event.offline.get", Scope::Global, |i, c, _, p| {
        offline_get(i, c, p)
    }),
    Route::new("event.offline.clear", Scope::Global, |i, c, _, p| {
        offline_clear(i, c, p)
    }),
    Route::new("event.offline.error", Scope::Global, |i, c, _, p| {
        offline_error(i, c, p)
    }),
    Route::new("event.offline.list", Scope::Global, |i, c, _, p| {
        offline_list(i, c, p)
    }),
];

/// Built-in event names that `event.bind` accepts.
pub(crate) const BUILTIN_EVENTS: &[&str] = &[
    "ONAPPINSTALL",
    "ONAPPUNINSTALL",
    "ONAPPUPDATE",
    "ONAPPTEST",
    "ONOFFLINEEVENT",
    "ONCRMDEALADD",
    "ONCRMDEALUPDATE",
    "ONCRMDEALDELETE",
    "ONCRMLEADADD",
    "ONCRMLEADUPDATE",
    "ONCRMLEADDELETE",
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONCRMCONTACTDELETE",
    "ONCRMCOMPANYADD",
    "ONCRMCOMPANYUPDATE",
    "ONCRMCOMPANYDELETE",
    "ONTASKADD",
    "ONTASKUPDATE",
    "ONTASKDELETE",
    "ONUSERADD",
];

/// Who caused an event (for auth blocks and self-change suppression).
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub user: Option<u64>,
    pub client_id: Option<String>,
    pub connector: String,
}

impl Origin {
    pub(crate) fn of(c: &Caller) -> Self {
        Self {
            user: Some(c.user_id),
            client_id: c.client_id.clone(),
            connector: c.connector.clone(),
        }
    }
}

fn send_refresh(event: &str) -> bool {
    matches!(
        event,
        "ONAPPINSTALL" | "ONAPPUPDATE" | "ONAPPTEST" | "ONOFFLINEEVENT"
    )
}

/// Builds the form body a handler receives, in wire order.
pub(crate) fn event_body(
    event: &str,
    handler_id: u64,
    data: &Value,
    ts: i64,
    auth: &Map<String, Value>,
) -> String {
    let mut pairs = vec![
        ("event".to_string(), event.to_string()),
        ("event_handler_id".to_string(), handler_id.to_string()),
    ];
    php::form_pairs("data", data, &mut pairs);
    pairs.push(("ts".to_string(), ts.to_string()));
    for (k, v) in auth {
        php::form_pairs(&format!("auth[{k}]"), v, &mut pairs);
    }
    php::encode_pairs(&pairs)
}

/// POSTs a form body without retry (fire and forget).
pub(crate) fn post_async(inner: &Arc<Inner>, url: String, body: String) {
    let client = inner.http.clone();
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(async move {
        let r = client
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        if let Err(e) = r {
            tracing::debug!("event delivery to {url} failed: {e}");
        }
    });
}

/// Fires an event to bound online handlers and offline queues.
pub(crate) fn emit(inner: &Arc<Inner>, event: &str, data: &Value, origin: &Origin) {
    // No events go out before the app's installation is finished (auth-events-v3 §2.1, §4.4).
    if !lock(&inner.auth).app_installed {
        return;
    }
    let event = event.to_ascii_uppercase();
    let now = inner.now();
    let handlers: Vec<Handler> = {
        let ev = lock(&inner.events);
        ev.handlers
            .iter()
            .filter(|h| h.event == event)
            .cloned()
            .collect()
    };
    let mut offline_added = false;
    for h in &handlers {
        if h.offline {
            // Self-change suppression: same app and same connector.
            if origin.client_id.is_some() && origin.connector == h.connector {
                continue;
            }
            offline_added |= queue_offline(inner, &event, data, origin, &h.connector, now);
        } else {
            let user = if h.auth_type > 0 {
                Some(h.auth_type)
            } else {
                origin.user
            };
            let auth = inner.event_auth(user, send_refresh(&event));
            let body = event_body(&event, h.id, data, now as i64, &auth);
            post_async(inner, h.handler.clone(), body);
        }
    }
    if offline_added {
        ping_offline(inner, now);
    }
}

fn queue_offline(
    inner: &Inner,
    event: &str,
    data: &Value,
    origin: &Origin,
    connector: &str,
    now: f64,
) -> bool {
    let mut payload = event.as_bytes().to_vec();
    payload.push(b'|');
    payload.extend(php::to_json(data));
    let message_id = php::md5_hex(&payload);
    let additional = origin
        .user
        .map_or(Value::Bool(false), |u| json!({"user_id": u.to_string()}));
    let mut ev = lock(&inner.events);
    if let Some(row) = ev
        .offline
        .values_mut()
        .find(|r| r.message_id == message_id && r.connector == connector && r.process_id.is_empty())
    {
        row.ts = now;
        row.data = data.clone();
        row.additional = additional;
        return false;
    }
    ev.next_offline += 1;
    let id = ev.next_offline;
    ev.offline.insert(
        id,
        OfflineRow {
            id,
            ts: now,
            event: event.to_string(),
            data: data.clone(),
            additional,
            message_id,
            connector: connector.to_string(),
            process_id: String::new(),
            error: false,
        },
    );
    true
}

fn ping_offline(inner: &Arc<Inner>, now: f64) {
    let targets: Vec<Handler> = {
        let mut ev = lock(&inner.events);
        let hs: Vec<Handler> = ev
            .handlers
            .iter()
            .filter(|h| h.event == "ONOFFLINEEVENT" && !h.offline)
            .cloned()
            .collect();
        hs.into_iter()
            .filter(|h| {
                let last = ev.last_ping.get(&h.id).copied().unwrap_or(f64::MIN);
                if now - last >= h.min_timeout {
                    ev.last_ping.insert(h.id, now);
                    true
                } else {
                    false
                }
            })
            .collect()
    };
    for h in targets {
        let user = if h.auth_type > 0 {
            h.auth_type
        } else {
            h.user_id
        };
        let auth = inner.event_auth(Some(user), true);
        let body = event_body("ONOFFLINEEVENT", h.id, &json!([]), now as i64, &auth);
        post_async(inner, h.handler, body);
    }
}

fn require_oauth(c: &Caller) -> Result<(), ApiError> {
    if c.kind == AuthKind::OAuth {
        Ok(())
    } else {
        Err(ApiError::wrong_auth_type())
    }
}

fn valid_handler(url: &str) -> Result<(), ApiError> {
    let Ok(u) = url::Url::parse(url) else {
        return Err(ApiError::new(
            400,
            "ERROR_WRONG_HANDLER_URL",
            "Wrong handler URL",
        ));
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(ApiError::new(
            400,
            "ERROR_UNSUPPORTED_PROTOCOL",
            "Unsupported event handler protocol",
        ));
    }
    if !u.host_str().is_some_and(|h| h.contains('.')) {
        return Err(ApiError::new(
            400,
            "ERROR_WRONG_HANDLER_URL",
            "Wrong handler URL",
        ));
    }
    Ok(())
}

fn str_param(p: &Map<String, Value>, name: &str) -> String {
    param(p, name).and_then(as_str).unwrap_or_default()
}

/// `ERROR_ARGUMENT`: the argument `arg` (upper case) is missing or empty.
fn null_or_empty(arg: &str) -> ApiError {
    ApiError::argument(arg, format!("Argument '{arg}' is null or empty"))
}

/// The string parameter `name`; [`null_or_empty`] naming it when it is empty.
fn required_arg(p: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    let v = str_param(p, name);
    if v.is_empty() {
        return Err(null_or_empty(&name.to_ascii_uppercase()));
    }
    Ok(v)
}

/// The OAuth check and the required `event` of `event.bind` / `event.unbind`, upper-cased.
fn event_param(c: &Caller, p: &Map<String, Value>) -> Result<String, ApiError> {
    require_oauth(c)?;
    Ok(required_arg(p, "event")?.to_ascii_uppercase())
}

/// `event.bind`.
pub(crate) fn bind(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let event = event_param(c, p)?;
    let etype = {
        let t = str_param(p, "event_type").to_ascii_lowercase();
        if t.is_empty() {
            "online".to_string()
        } else {
            t
        }
    };
    if etype != "online" && etype != "offline" {
        return Err(ApiError::argument(
            "EVENT_TYPE",
            "Value must be one of {online|offline}",
        ));
    }
    let offline = etype == "offline";
    {
        let ev = lock(&inner.events);
        if !BUILTIN_EVENTS.contains(&event.as_str()) && !ev.known.contains(&event) {
            return Err(ApiError::new(
                400,
                "ERROR_EVENT_NOT_FOUND",
                "Event not found",
            ));
        }
    }
    let mut auth_type = param(p, "auth_type").and_then(as_i64).unwrap_or(0).max(0) as u64;
    let handler = if offline {
        if !c.admin {
            return Err(ApiError::access_denied(
                " Offline events binding requires administrator access rights",
            ));
        }
        if event == "ONOFFLINEEVENT" {
            return Err(ApiError::argument(
                "EVENT_TYPE",
                "Offline event cannot be registered for this event.",
            ));
        }
        auth_type = 0;
        String::new()
    } else {
        let h = str_param(p, "handler");
        if h.is_empty() {
            return Err(null_or_empty("HANDLER"));
        }
        valid_handler(&h)?;
        if auth_type != 0 && auth_type != c.user_id && !c.admin {
            return Err(ApiError::access_denied(
                " Event binding with AUTH_TYPE requires administrator access rights",
            ));
        }
        if !c.admin && auth_type == 0 {
            auth_type = c.user_id;
        }
        h
    };
    let min_timeout = param(p, "options")
        .and_then(|o| o.get("minTimeout"))
        .and_then(as_i64)
        .unwrap_or(1) as f64;
    let connector = if offline {
        c.connector.clone()
    } else {
        String::new()
    };
    let mut ev = lock(&inner.events);
    if ev.handlers.iter().any(|h| {
        h.event == event
            && h.handler == handler
            && h.auth_type == auth_type
            && h.connector == connector
            && h.offline == offline
    }) {
        return Err(ApiError::new(
            400,
            "ERROR_CORE",
            "Unable to set event handler: Handler already binded",
        ));
    }
    ev.next_handler += 1;
    let id = ev.next_handler;
    ev.handlers.push(Handler {
        id,
        event,
        handler,
        auth_type,
        offline,
        connector,
        user_id: c.user_id,
        min_timeout,
    });
    Ok(Outcome::of(Value::Bool(true)))
}

/// `event.unbind`.
pub(crate) fn unbind(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let event = event_param(c, p)?;
    let offline = str_param(p, "event_type").eq_ignore_ascii_case("offline");
    let handler = str_param(p, "handler");
    if !offline && handler.is_empty() {
        return Err(null_or_empty("HANDLER"));
    }
    let auth_type = param(p, "auth_type")
        .and_then(as_i64)
        .map(|n| n.max(0) as u64);
    let mut ev = lock(&inner.events);
    let before = ev.handlers.len();
    ev.handlers.retain(|h| {
        let hit = h.event == event
            && h.offline == offline
            && (offline || h.handler == handler)
            && (!offline || h.connector == c.connector)
            && auth_type.is_none_or(|a| a == h.auth_type);
        !hit
    });
    let count = before - ev.handlers.len();
    Ok(Outcome::of(json!({ "count": count })))
}

/// `event.get`.
pub(crate) fn get(inner: &Inner, c: &Caller) -> MethodResult {
    require_oauth(c)?;
    let ev = lock(&inner.events);
    let rows: Vec<Value> = ev
        .handlers
        .iter()
        .filter(|h| c.admin || h.user_id == c.user_id)
        .map(|h| {
            if h.offline {
                json!({"event": h.event, "connector_id": h.connector, "offline": 1})
            } else {
                json!({"event": h.event, "handler": h.handler, "auth_type": h.auth_type.to_string(), "offline": 0})
            }
        })
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// `events`.
pub(crate) fn list_events(inner: &Inner, c: &Caller) -> MethodResult {
    require_oauth(c)?;
    let ev = lock(&inner.events);
    let mut names: Vec<String> = BUILTIN_EVENTS.iter().map(|s| (*s).to_string()).collect();
    let mut extra: Vec<String> = ev.known.iter().cloned().collect();
    extra.sort();
    names.extend(extra);
    Ok(Outcome::of(json!(names)))
}

fn offline_guard(c: &Caller) -> Result<(), ApiError> {
    require_oauth(c)?;
    if !c.admin {
        return Err(ApiError::access_denied(""));
    }
    Ok(())
}

fn row_json(r: &OfflineRow, with_state: bool) -> Value {
    let mut m = Map::new();
    m.insert("ID".into(), json!(r.id.to_string()));
    m.insert("TIMESTAMP_X".into(), json!(clock::iso(r.ts)));
    m.insert("EVENT_NAME".into(), json!(r.event));
    m.insert("EVENT_DATA".into(), r.data.clone());
    m.insert("EVENT_ADDITIONAL".into(), r.additional.clone());
    m.insert("MESSAGE_ID".into(), json!(r.message_id));
    if with_state {
        m.insert("PROCESS_ID".into(), json!(r.process_id));
        m.insert("ERROR".into(), json!(if r.error { "1" } else { "0" }));
    }
    Value::Object(m)
}

fn offline_filter(p: &Map<String, Value>) -> Result<Vec<(String, String, Value)>, ApiError> {
    let mut out = Vec::new();
    if let Some(Value::Object(f)) = param(p, "filter") {
        for (k, v) in f {
            if v.is_array() || v.is_object() {
                return Err(ApiError::new(
                    400,
                    "ERROR_ARGUMENT",
                    "The value of an argument has an invalid type.",
                ));
            }
            let split = k
                .char_indices()
                .find(|(_, ch)| ch.is_alphanumeric() || *ch == '_')
                .map_or(k.len(), |(i, _)| i);
            // At most two leading operator characters, cut on a character boundary.
            let cut = k
                .char_indices()
                .take(2)
                .take_while(|(i, _)| *i < split)
                .last()
                .map_or(0, |(i, ch)| i + ch.len_utf8());
            let (op, field) = k.split_at(cut);
            out.push((op.to_string(), field.to_ascii_uppercase(), v.clone()));
        }
    }
    Ok(out)
}

fn offline_match(r: &OfflineRow, filter: &[(String, String, Value)]) -> bool {
    filter.iter().all(|(op, field, v)| {
        let ord = match field.as_str() {
            "ID" => as_i64(v).map(|n| (r.id as i64).cmp(&n)),
            "TIMESTAMP_X" => as_str(v)
                .and_then(|s| clock::parse_datetime(&s))
                .map(|t| (r.ts as i64).cmp(&t)),
            "EVENT_NAME" => {
                as_str(v).map(|s| r.event.as_str().cmp(s.to_ascii_uppercase().as_str()))
            }
            "MESSAGE_ID" => as_str(v).map(|s| r.message_id.as_str().cmp(s.as_str())),
            _ => None,
        };
        let Some(o) = ord else { return false };
        match op.as_str() {
            ">" => o.is_gt(),
            ">=" => o.is_ge(),
            "<" => o.is_lt(),
            "<=" => o.is_le(),
            "!" | "!=" => o.is_ne(),
            _ => o.is_eq(),
        }
    })
}

fn offline_order(p: &Map<String, Value>, default: &str) -> Vec<(String, bool)> {
    let mut order = Vec::new();
    if let Some(Value::Object(o)) = param(p, "order") {
        for (k, v) in o {
            order.push((
                k.to_ascii_uppercase(),
                as_str(v).is_some_and(|s| s.eq_ignore_ascii_case("desc")),
            ));
        }
    }
    if order.is_empty() {
        order.push((default.to_string(), false));
    }
    order
}

fn sort_rows(rows: &mut [&OfflineRow], order: &[(String, bool)]) {
    rows.sort_by(|a, b| {
        for (f, desc) in order {
            let o = match f.as_str() {
                "TIMESTAMP_X" => a.ts.partial_cmp(&b.ts).unwrap_or(std::cmp::Ordering::Equal),
                "EVENT_NAME" => a.event.cmp(&b.event),
                "MESSAGE_ID" => a.message_id.cmp(&b.message_id),
                _ => a.id.cmp(&b.id),
            };
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        a.id.cmp(&b.id)
    });
}

/// `event.offline.get`.
pub(crate) fn offline_get(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    offline_guard(c)?;
    let clear = param(p, "clear").is_none_or(php::php_bool);
    let error = param(p, "error").is_some_and(php::php_bool);
    let limit = match param(p, "limit") {
        None => 50,
        Some(v) => match as_i64(v) {
            Some(n) if n > 0 => n as usize,
            _ => {
                return Err(ApiError::argument(
                    "LIMIT",
                    "Value must be positive integer",
                ));
            }
        },
    };
    let process_id = str_param(p, "process_id");
    let filter = offline_filter(p)?;
    let order = offline_order(p, "TIMESTAMP_X");
    let mut ev = lock(&inner.events);
    let ids: Vec<u64> = {
        let mut rows: Vec<&OfflineRow> = ev
            .offline
            .values()
            .filter(|r| r.connector == c.connector)
            .filter(|r| {
                if process_id.is_empty() {
                    r.process_id.is_empty() && r.error == error
                } else {
                    r.process_id == process_id
                }
            })
            .filter(|r| offline_match(r, &filter))
            .collect();
        sort_rows(&mut rows, &order);
        rows.iter().take(limit).map(|r| r.id).collect()
    };
    let events: Vec<Value> = ids
        .iter()
        .filter_map(|id| ev.offline.get(id))
        .map(|r| row_json(r, false))
        .collect();
    let pid = if clear {
        for id in &ids {
            ev.offline.remove(id);
        }
        if process_id.is_empty() {
            Value::Null
        } else {
            json!(process_id)
        }
    } else {
        let pid = if process_id.is_empty() {
            php::secret_alphanumeric(32).to_ascii_lowercase()
        } else {
            process_id
        };
        for id in &ids {
            if let Some(r) = ev.offline.get_mut(id) {
                r.process_id.clone_from(&pid);
            }
        }
        json!(pid)
    };
    Ok(Outcome::of(json!({"process_id": pid, "events": events})))
}

fn message_ids(p: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    match param(p, "message_id") {
        None => Ok(None),
        Some(v) => {
            let ids: Vec<String> = list_items(v).into_iter().filter_map(as_str).collect();
            if ids.is_empty() || ids.iter().any(|s| s.len() != 32) {
                return Err(ApiError::argument(
                    "MESSAGE_ID",
                    "Value must be array of MESSAGE_ID values",
                ));
            }
            Ok(Some(ids))
        }
    }
}

/// The admin check and the required `process_id` of `event.offline.clear` / `.error`.
fn process_param(c: &Caller, p: &Map<String, Value>) -> Result<String, ApiError> {
    offline_guard(c)?;
    required_arg(p, "process_id")
}

/// `event.offline.clear`.
pub(crate) fn offline_clear(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let pid = process_param(c, p)?;
    let ids: Option<Vec<u64>> = param(p, "id").map(|v| {
        list_items(v)
            .into_iter()
            .filter_map(as_i64)
            .map(|n| n as u64)
            .collect()
    });
    let mids = if ids.is_some() { None } else { message_ids(p)? };
    let mut ev = lock(&inner.events);
    ev.offline.retain(|_, r| {
        let hit = r.process_id == pid
            && r.connector == c.connector
            && ids.as_ref().is_none_or(|i| i.contains(&r.id))
            && mids.as_ref().is_none_or(|m| m.contains(&r.message_id));
        !hit
    });
    Ok(Outcome::of(Value::Bool(true)))
}

/// `event.offline.error`.
pub(crate) fn offline_error(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    let pid = process_param(c, p)?;
    let Some(mids) = message_ids(p)? else {
        return Err(null_or_empty("MESSAGE_ID"));
    };
    let mut ev = lock(&inner.events);
    // As the source's two statements do: every non-error row with these MESSAGE_IDs that this
    // process does not hold (unreserved, or reserved by another process) is deleted; this
    // process's rows become error rows below.
    ev.offline.retain(|_, r| {
        !(r.process_id != pid
            && !r.error
            && r.connector == c.connector
            && mids.contains(&r.message_id))
    });
    for r in ev.offline.values_mut() {
        if r.process_id == pid && r.connector == c.connector && mids.contains(&r.message_id) {
            r.error = true;
            r.process_id.clear();
        }
    }
    Ok(Outcome::of(Value::Bool(true)))
}

/// `event.offline.list`.
pub(crate) fn offline_list(inner: &Inner, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    offline_guard(c)?;
    let filter = offline_filter(p)?;
    let order = offline_order(p, "ID");
    let start = p.get("start").and_then(as_i64).unwrap_or(0).max(0) as usize / 50 * 50;
    let ev = lock(&inner.events);
    let mut rows: Vec<&OfflineRow> = ev
        .offline
        .values()
        .filter(|r| r.connector == c.connector && offline_match(r, &filter))
        .collect();
    sort_rows(&mut rows, &order);
    let total = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(50)
        .map(|r| row_json(r, true))
        .collect();
    let next = (start + page.len() < total).then_some((start + 50) as i64);
    Ok(Outcome {
        result: Value::Array(page),
        total: Some(total as i64),
        next,
    })
}

/// `event.test`: fires `ONAPPTEST` with the call's parameters.
pub(crate) fn test(inner: &Arc<Inner>, c: &Caller, p: &Map<String, Value>) -> MethodResult {
    require_oauth(c)?;
    let data = json!({"QUERY": php::php_array(p.clone()), "LANGUAGE_ID": "en"});
    emit(inner, "ONAPPTEST", &data, &Origin::of(c));
    Ok(Outcome::of(json!(1)))
}
