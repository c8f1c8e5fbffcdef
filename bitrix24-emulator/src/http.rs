//! HTTP pieces both APIs (v2 in `server`, 3.0 in `v3`) share: the portal's JSON and XML
//! responses and the OAuth token of a request.

use crate::php;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

fn base_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("origin, content-type, accept"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

/// A JSON response with the portal's headers.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let bytes = php::to_json(body);
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    base_headers(r.headers_mut());
    r
}

/// The `.xml` output: `<response>…</response>` with no prolog, numeric keys as `<item>`,
/// scalars as PHP prints them (`true` -> `1`, `false`/`null` -> empty), XML-escaped.
pub(crate) fn xml_response(status: u16, body: &Value) -> Response {
    fn esc(s: &str, out: &mut String) {
        for ch in s.chars() {
            match ch {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                c => out.push(c),
            }
        }
    }
    fn node(key: &str, v: &Value, out: &mut String) {
        let numeric = key.parse::<i64>().is_ok_and(|n| n.to_string() == key);
        let tag = if numeric { "item" } else { key };
        out.push('<');
        out.push_str(tag);
        out.push('>');
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    node(k, x, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    node(&i.to_string(), x, out);
                }
            }
            Value::Bool(true) => out.push('1'),
            Value::Bool(false) | Value::Null => {}
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => esc(s, out),
        }
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
    let mut out = String::new();
    node("response", body, &mut out);
    let mut r = Response::new(Body::from(out));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    base_headers(r.headers_mut());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// The OAuth token from `auth` / `access_token` / `Authorization: Bearer`.
pub(crate) fn take_token(params: &mut Map<String, Value>, headers: &HeaderMap) -> Option<String> {
    let a = params.remove("auth");
    let b = params.remove("access_token");
    a.as_ref()
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| b.as_ref().and_then(Value::as_str).map(str::to_string))
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(|t| t.trim().to_string())
        })
}

/// One request to `/rest/...`, as the v2 and REST 3.0 handlers read it: the path segments after
/// `rest/` (after `rest/api/` for REST 3.0), the HTTP method, the query string, the headers and
/// the body.
pub(crate) struct RestRequest<'a> {
    pub segs: &'a [String],
    pub method: &'a axum::http::Method,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The webhook (user id, code) and the method of `/rest/` path segments: `[method]` or
/// `[user_id, code, method]`; `None` for any other shape.
pub(crate) fn webhook_path(segs: &[String]) -> Option<(Option<(&str, &str)>, &str)> {
    match segs {
        [m] => Some((None, m.as_str())),
        [uid, code, m] => Some((Some((uid.as_str(), code.as_str())), m.as_str())),
        _ => None,
    }
}

/// Takes the `auth_connector` parameter (`""` when absent).
pub(crate) fn take_connector(params: &mut Map<String, Value>) -> String {
    params
        .remove("auth_connector")
        .and_then(|v| crate::core::as_str(&v))
        .unwrap_or_default()
}
