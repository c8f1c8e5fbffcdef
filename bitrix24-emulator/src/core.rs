//! Shared request-level types: errors, outcomes, the authenticated caller, parameter lookup.

use serde_json::{Map, Value};

/// A v2 error: HTTP status, `error`, `error_description` and extra keys (`argument`).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub desc: String,
    pub extra: Vec<(String, Value)>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, desc: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            desc: desc.into(),
            extra: Vec::new(),
        }
    }

    /// A refused call (400) with its `code` and description.
    pub(crate) fn bad(code: &str, desc: impl Into<String>) -> Self {
        Self::new(400, code, desc)
    }

    /// `100` (400): the required parameter `name` is missing.
    pub(crate) fn no_value(name: &str) -> Self {
        Self::bad(
            "100",
            format!("Could not find value for parameter {{{name}}}"),
        )
    }

    /// `ERROR_ARGUMENT` (400) with the `argument` key.
    pub(crate) fn argument(arg: &str, desc: impl Into<String>) -> Self {
        let mut e = Self::new(400, "ERROR_ARGUMENT", desc);
        e.extra
            .push(("argument".to_string(), Value::String(arg.to_string())));
        e
    }

    /// Legacy CRM error: empty code, 400.
    pub(crate) fn crm(desc: &str) -> Self {
        Self::new(400, "", desc)
    }

    /// The request-rate limit: the portal rejected the call without running it.
    pub(crate) fn query_limit() -> Self {
        Self::new(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
    }

    pub(crate) fn method_not_found() -> Self {
        Self::new(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
    }

    pub(crate) fn no_auth() -> Self {
        Self::new(401, "NO_AUTH_FOUND", "Wrong authorization data")
    }

    pub(crate) fn wrong_auth_type() -> Self {
        Self::new(
            403,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method",
        )
    }

    pub(crate) fn access_denied(suffix: &str) -> Self {
        Self::new(403, "ACCESS_DENIED", format!("Access denied!{suffix}"))
    }

    /// The error body as a JSON object.
    pub(crate) fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), Value::String(self.code.clone()));
        m.insert("error_description".into(), Value::String(self.desc.clone()));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// A method's successful return: the result plus optional navigation data.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub result: Value,
    pub total: Option<i64>,
    pub next: Option<i64>,
}

impl Outcome {
    pub(crate) fn of(result: Value) -> Self {
        Self {
            result,
            total: None,
            next: None,
        }
    }
}

pub(crate) type MethodResult = Result<Outcome, ApiError>;

/// A completed, metered call: outcome and its `time` block.
#[derive(Debug)]
pub(crate) struct Done {
    pub outcome: Outcome,
    pub time: Value,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    Webhook,
    OAuth,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub kind: AuthKind,
    pub user_id: u64,
    pub admin: bool,
    pub scopes: Vec<String>,
    /// `auth_connector` (offline-event queue key), `""` when absent.
    pub connector: String,
    /// Application client id for OAuth callers.
    pub client_id: Option<String>,
    /// Operating-limit entity key (`oauth:<client_id>` / `apauth:<webhook id>`).
    pub limiter_key: String,
}

impl Caller {
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        if scope.is_empty() || scope == "basic" {
            return true;
        }
        self.scopes
            .iter()
            .any(|s| s == scope || (scope == "user" && (s == "user_brief" || s == "user_basic")))
    }
}

/// Legacy parameter lookup: as given, then UPPER, then lower case.
pub(crate) fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params
        .get(name)
        .or_else(|| params.get(&name.to_ascii_uppercase()))
        .or_else(|| params.get(&name.to_ascii_lowercase()))
}

/// A value as i64 when it is a number or a numeric string.
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>().ok().or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.is_finite())
                    .map(|f| f as i64)
            })
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A value as f64 when it is a number or a numeric string.
pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A value as a string (scalars only).
pub(crate) fn as_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
        _ => None,
    }
}

/// Items of a list-like value: a JSON list, or the values of a map (PHP arrays).
pub(crate) fn list_items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m) => m.values().collect(),
        _ => Vec::new(),
    }
}
