//! `batch`: up to 50 commands in one request, `$result[...]` references between them, `halt`.

use crate::core::{ApiError, Done, MethodResult, Outcome, param};
use crate::php;
use serde_json::{Map, Value, json};

/// Runs one sub-command (method, parameters) as a batch member: the caller's `dispatch::call`.
pub(crate) type SubCall<'a> = &'a dyn Fn(&str, &Map<String, Value>) -> Result<Done, ApiError>;

// ---------------------------------------------------------------- batch

const MAX_BATCH: usize = 50;

#[allow(clippy::unnecessary_wraps)]
pub(crate) fn run(p: &Map<String, Value>, call: SubCall<'_>) -> MethodResult {
    let halt = param(p, "halt").is_some_and(php::php_bool);
    let cmds: Vec<(String, String)> = match param(p, "cmd") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (i.to_string(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let mut result = Map::new();
    let mut result_error = Map::new();
    let mut result_total = Map::new();
    let mut result_next = Map::new();
    let mut result_time = Map::new();
    for (i, (key, cmd)) in cmds.iter().enumerate() {
        if i >= MAX_BATCH {
            result_error.insert(
                key.clone(),
                ApiError::new(
                    400,
                    "ERROR_BATCH_LENGTH_EXCEEDED",
                    "Max batch length exceeded",
                )
                .body(),
            );
            continue;
        }
        let (method, query) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
        let method = method.trim().to_ascii_lowercase();
        let mut sub = php::parse_str(query);
        for v in sub.values_mut() {
            resolve_refs(
                v,
                &result,
                &result_error,
                &result_total,
                &result_next,
                &result_time,
            );
        }
        for k in ["auth", "access_token"] {
            sub.remove(k);
        }
        match call(&method, &sub) {
            Ok(done) => {
                result.insert(key.clone(), done.outcome.result);
                if let Some(t) = done.outcome.total {
                    result_total.insert(key.clone(), json!(t));
                }
                if let Some(n) = done.outcome.next {
                    result_next.insert(key.clone(), json!(n));
                }
                result_time.insert(key.clone(), done.time);
            }
            Err(e) => {
                result_error.insert(key.clone(), e.body());
                if halt {
                    break;
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("result".into(), php::php_array(result));
    out.insert("result_error".into(), php::php_array(result_error));
    out.insert("result_total".into(), php::php_array(result_total));
    out.insert("result_next".into(), php::php_array(result_next));
    out.insert("result_time".into(), php::php_array(result_time));
    Ok(Outcome::of(Value::Object(out)))
}

#[allow(clippy::many_single_char_names)]
fn resolve_refs(
    v: &mut Value,
    result: &Map<String, Value>,
    error: &Map<String, Value>,
    total: &Map<String, Value>,
    next: &Map<String, Value>,
    time: &Map<String, Value>,
) {
    match v {
        Value::String(s) => {
            if !s.contains('$') {
                return;
            }
            let lookup = |token: &str| -> Option<Value> {
                let rest = token.strip_prefix('$')?;
                let b = rest.find('[')?;
                let src = match &rest[..b] {
                    "result" => result,
                    "error" => error,
                    "total" => total,
                    "next" => next,
                    "time" => time,
                    _ => return None,
                };
                let mut segs = Vec::new();
                let mut r = &rest[b..];
                while let Some(x) = r.strip_prefix('[') {
                    let end = x.find(']')?;
                    segs.push(&x[..end]);
                    r = &x[end + 1..];
                }
                let (first, path) = segs.split_first()?;
                let mut cur = src.get(*first)?;
                for seg in path {
                    let next = match cur {
                        Value::Object(m) => m.get(*seg),
                        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                        _ => None,
                    };
                    match next {
                        Some(n) => cur = n,
                        None => break,
                    }
                }
                Some(cur.clone())
            };
            // Whole-value reference keeps the type.
            if s.starts_with('$')
                && !s.contains(char::is_whitespace)
                && let Some(val) = lookup(s)
            {
                *v = val;
                return;
            }
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(pos) = rest.find('$') {
                out.push_str(&rest[..pos]);
                let tail = &rest[pos..];
                let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
                let token = &tail[..end];
                match lookup(token) {
                    Some(Value::String(r)) => out.push_str(&r),
                    _ => out.push_str(token),
                }
                rest = &tail[end..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => {
            for x in a {
                resolve_refs(x, result, error, total, next, time);
            }
        }
        Value::Object(m) => {
            for x in m.values_mut() {
                resolve_refs(x, result, error, total, next, time);
            }
        }
        _ => {}
    }
}
