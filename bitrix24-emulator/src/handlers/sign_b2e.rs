//! Signed HR documents (`sign.b2e.personal.tail`, `sign.b2e.mysafe.tail`,
//! `sign/sign-b2e-*-tail.md`), application context only. Documents are signed in the portal,
//! not over REST, so tests load them with `Control::seed_records` (`"sign.b2e.document"`:
//! `title`, `create_date`, `signed_date`, `creator_id`, `member_id`, `role`); the newest come
//! first, `limit` (1 to 1000, 20 by default) from `offset`.

use super::side::{self, id_p};
use crate::core::{ApiError, AuthKind, Caller, MethodResult, Outcome};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The documents table (seeded).
pub(crate) const DOCUMENTS: &str = "sign.b2e.document";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("sign.b2e");
    "sign.b2e.personal." { "tail" => personal }
    "sign.b2e.mysafe." { "tail" => mysafe }
);

/// The page of documents a tail call asks for, `keep` choosing them, `keys` what is shown.
fn tail(
    inner: &Inner,
    c: &Caller,
    p: &Map<String, Value>,
    keep: impl Fn(&Value) -> bool,
    keys: &[&str],
) -> MethodResult {
    if c.kind != AuthKind::OAuth {
        return Err(ApiError::new(
            401,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method Application context required",
        ));
    }
    let limit = id_p(p, "limit").unwrap_or(20).clamp(1, 1000) as usize;
    let offset = id_p(p, "offset").unwrap_or(0) as usize;
    let data = inner.read_data();
    let rows: Vec<Value> = side::rows(&data, DOCUMENTS)
        .rev()
        .filter(|d| keep(d))
        .skip(offset)
        .take(limit)
        .map(|d| {
            let mut out = Map::new();
            for k in keys {
                out.insert((*k).to_string(), d[*k].clone());
            }
            let id = d["id"].as_i64().unwrap_or_default();
            out.insert("file_url".into(), file_url(&inner.base_url, id));
            Value::Object(out)
        })
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// The download address of a document (the portal's `rest/download.json` with a token).
fn file_url(base: &str, id: i64) -> Value {
    json!(format!("{base}/rest/download.json?token=sign.b2e.{id}"))
}

/// `sign.b2e.personal.tail`: the caller's own signed documents.
fn personal(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let me = json!(c.user_id);
    tail(
        inner,
        c,
        p,
        |d| d["member_id"] == me,
        &["id", "title", "signed_date", "file_url"],
    )
}

/// `sign.b2e.mysafe.tail`: every signed document of the company's safe.
fn mysafe(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let keys = [
        "id",
        "title",
        "create_date",
        "signed_date",
        "creator_id",
        "member_id",
        "role",
        "file_url",
    ];
    tail(inner, c, p, |_| true, &keys)
}
