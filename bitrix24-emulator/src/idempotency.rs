//! REST 3.0 `Idempotency-Key` (api-reference/rest-v3.md, "Repeated calls without duplicates").
//!
//! On a write (create, modify, delete) the key must be 1 to 255 printable ASCII characters,
//! else 400 `INVALIDIDEMPOTENCYKEYEXCEPTION`. A successful answer is kept 24 hours of the
//! emulator's clock, scoped to the app or webhook, the user, the method and the key. A repeat
//! with the same key and the same params answers the kept answer again with
//! `Idempotent-Replayed: true` (the method does not run); the same key with other params is
//! 422 `IDEMPOTENCYKEYREUSEDEXCEPTION`. Errors are not kept, so a repeat after an error runs
//! the method again, and two requests with one key at the same time may both run, as the docs
//! warn. `Idempotency-Key` is echoed on the first call and on the replay. Reads ignore the
//! header.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::core::Caller;
use crate::http::json_response;

/// The request header.
const KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The header added to a replayed answer.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long a successful answer is kept (virtual seconds).
const TTL_SECS: f64 = 24.0 * 3600.0;
/// The most answers kept at once: past it the oldest is dropped, so a flood of keys cannot
/// grow memory without bound (the portal's own limit is not documented).
const MAX_KEPT: usize = 65_536;
/// The v3 methods served here that create, modify or delete data.
const WRITES: &[&str] = &["tasks.task.add", "tasks.task.update", "tasks.task.delete"];

/// What one key is unique within: app or webhook, user, method, key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Scope {
    caller: String,
    user: u64,
    method: String,
    key: String,
}

/// A kept successful answer.
#[derive(Debug)]
struct Kept {
    params: Map<String, Value>,
    body: Value,
    at: f64,
}

/// The kept answers of the portal, and how many replays were served.
#[derive(Debug, Default)]
pub(crate) struct Store {
    kept: std::sync::Mutex<HashMap<Scope, Kept>>,
    replays: std::sync::atomic::AtomicU64,
}

impl Store {
    /// The kept answers (a panic elsewhere while holding them leaves them usable).
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, Kept>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many answers were served from the store.
    pub(crate) fn replays(&self) -> u64 {
        self.replays.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A write that carries a key and is about to run: keep its answer if it succeeds.
#[derive(Debug)]
pub(crate) struct Pending {
    scope: Option<(Scope, HeaderValue)>,
}

fn v3_error(status: u16, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": format!("BITRIX_REST_V3_EXCEPTION_{code}"), "message": message}}),
    )
}

/// Whether `key` is 1 to 255 printable ASCII characters (space to `~`).
fn valid(key: &[u8]) -> bool {
    (1..=255).contains(&key.len()) && key.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// Checks the key of a call before it runs: `Err` is the answer to send instead of running
/// the method (a bad key, a reused key, or the kept answer).
pub(crate) fn begin(
    store: &Store,
    now: f64,
    caller: &Caller,
    method: &str,
    headers: &HeaderMap,
    params: &Map<String, Value>,
) -> Result<Pending, Box<Response>> {
    let none = Pending { scope: None };
    let Some(value) = headers.get(&KEY).filter(|_| WRITES.contains(&method)) else {
        return Ok(none);
    };
    if !valid(value.as_bytes()) {
        return Err(Box::new(v3_error(
            400,
            "INVALIDIDEMPOTENCYKEYEXCEPTION",
            "The Idempotency-Key value must be 1 to 255 printable ASCII characters.",
        )));
    }
    let scope = Scope {
        caller: caller.limiter_key.clone(),
        user: caller.user_id,
        method: method.to_owned(),
        key: String::from_utf8_lossy(value.as_bytes()).into_owned(),
    };
    let mut kept = store.kept();
    kept.retain(|_, k| now - k.at < TTL_SECS);
    let mut answer = match kept.get(&scope) {
        None => {
            return Ok(Pending {
                scope: Some((scope, value.clone())),
            });
        }
        Some(k) if k.params != *params => v3_error(
            422,
            "IDEMPOTENCYKEYREUSEDEXCEPTION",
            "The Idempotency-Key was already used with a different request body.",
        ),
        Some(k) => {
            store
                .replays
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut r = json_response(200, &k.body);
            r.headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            r
        }
    };
    answer.headers_mut().insert(KEY, value.clone());
    Err(Box::new(answer))
}

/// Inserts `kept`, first dropping the oldest answer when `cap` are kept already.
fn insert_capped(all: &mut HashMap<Scope, Kept>, scope: Scope, kept: Kept, cap: usize) {
    if all.len() >= cap
        && !all.contains_key(&scope)
        && let Some(oldest) = all
            .iter()
            .min_by(|a, b| a.1.at.total_cmp(&b.1.at))
            .map(|(s, _)| s.clone())
    {
        all.remove(&oldest);
    }
    all.insert(scope, kept);
}

impl Pending {
    /// Keeps `body`, the successful answer of the call, under its key.
    pub(crate) fn keep(&self, store: &Store, now: f64, params: &Map<String, Value>, body: &Value) {
        if let Some((scope, _)) = &self.scope {
            let kept = Kept {
                params: params.clone(),
                body: body.clone(),
                at: now,
            };
            insert_capped(&mut store.kept(), scope.clone(), kept, MAX_KEPT);
        }
    }

    /// The answer with the caller's key echoed.
    pub(crate) fn echo(self, mut answer: Response) -> Response {
        if let Some((_, value)) = self.scope {
            answer.headers_mut().insert(KEY, value);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_the_oldest_answer_is_dropped() {
        let scope = |key: &str| Scope {
            caller: "apauth:1".into(),
            user: 1,
            method: "tasks.task.add".into(),
            key: key.into(),
        };
        let kept = |at: f64| Kept {
            params: Map::new(),
            body: Value::Null,
            at,
        };
        let mut all = HashMap::new();
        insert_capped(&mut all, scope("b"), kept(2.0), 2);
        insert_capped(&mut all, scope("a"), kept(1.0), 2);
        insert_capped(&mut all, scope("c"), kept(3.0), 2);
        let mut keys: Vec<&str> = all.keys().map(|s| s.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["b", "c"], "the oldest (a) went");
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii() {
        assert!(valid(b"9f1c1a7e-5f1b-4a1e-9a2c-2f5f2b6c7d80"));
        assert!(valid(&[b'k'; 255]));
        assert!(valid(b"a b~"));
        assert!(!valid(b""));
        assert!(!valid(&[b'k'; 256]));
        assert!(!valid(b"tab\there"));
        assert!(!valid("ключ".as_bytes()));
        assert!(!valid(b"del\x7f"));
    }
}
