//! Encoding params the way the portal parses a batch command's query string (PHP
//! `parse_str` bracket syntax), matching PHP's own `http_build_query`.

use serde_json::Value;

/// Flattens a JSON object into `(key, value)` pairs in PHP bracket syntax:
/// `{"fields":{"TITLE":"x"},"select":["ID"]}` -> `fields[TITLE]=x`, `select[0]=ID`.
///
/// As PHP's `http_build_query` does: `true`/`false` become `1`/`0`, `null` and empty
/// arrays/objects are left out, numbers keep their JSON text.
pub(crate) fn flatten(params: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in params {
        push(k.clone(), v, &mut out);
    }
    out
}

fn push(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push((key, if *b { "1" } else { "0" }.to_owned())),
        Value::Number(n) => out.push((key, n.to_string())),
        Value::String(s) => out.push((key, s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                push(format!("{key}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                push(format!("{key}[{k}]"), item, out);
            }
        }
    }
}

/// The bracket path of the first empty list or object in `params`: a query string cannot carry
/// one (PHP's `parse_str` never produces an empty array), so such params cannot go in a batch.
pub(crate) fn empty_container(params: &serde_json::Map<String, Value>) -> Option<String> {
    fn walk(key: String, value: &Value) -> Option<String> {
        match value {
            Value::Array(items) if items.is_empty() => Some(key),
            Value::Object(map) if map.is_empty() => Some(key),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(format!("{key}[{i}]"), v)),
            Value::Object(map) => map.iter().find_map(|(k, v)| walk(format!("{key}[{k}]"), v)),
            _ => None,
        }
    }
    params.iter().find_map(|(k, v)| walk(k.clone(), v))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode_component(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// Encodes a bracket key, keeping the brackets literal: `filter[>ID]` -> `filter[%3EID]`.
fn encode_key(key: &str, out: &mut String) {
    let mut segment = String::new();
    for c in key.chars() {
        if c == '[' || c == ']' {
            encode_component(&segment, out);
            segment.clear();
            out.push(c);
        } else {
            segment.push(c);
        }
    }
    encode_component(&segment, out);
}

/// `method?k=v&k2=v2` as one batch command.
pub(crate) fn command(method: &str, pairs: &[(String, String)]) -> String {
    let mut out = String::with_capacity(method.len() + pairs.len() * 24);
    out.push_str(method);
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        encode_key(k, &mut out);
        out.push('=');
        encode_component(v, &mut out);
    }
    out
}

/// The command keys a value refers to through `$result[key]`, `$next[key]`, `$total[key]`,
/// `$time[key]` or `$error[key]`.
pub(crate) fn references(value: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        rest = &rest[pos + 1..];
        for prefix in ["result[", "next[", "total[", "time[", "error["] {
            if let Some(after) = rest.strip_prefix(prefix)
                && let Some(end) = after.find(']')
            {
                found.push(&after[..end]);
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_booleans_empties_and_encoding() {
        let params = json!({
            "fields": {"TITLE": "My company & co", "PHONE": [{"VALUE": "112233", "VALUE_TYPE": "WORK"}]},
            "select": ["ID", "UF_*"],
            "filter": {">ID": 10, "@STAGE_ID": []},
            "params": {"REGISTER_SONET_EVENT": false, "X": true, "N": null}
        });
        let pairs = flatten(params.as_object().unwrap());
        assert_eq!(
            command("crm.company.add", &pairs),
            "crm.company.add?fields[TITLE]=My%20company%20%26%20co&fields[PHONE][0][VALUE]=112233\
             &fields[PHONE][0][VALUE_TYPE]=WORK&select[0]=ID&select[1]=UF_%2A&filter[%3EID]=10\
             &params[REGISTER_SONET_EVENT]=0&params[X]=1"
        );
    }

    #[test]
    fn unicode_is_utf8_percent_encoded() {
        let pairs = vec![("fields[TITLE]".to_owned(), "Сделка".to_owned())];
        assert_eq!(
            command("m", &pairs),
            "m?fields[TITLE]=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0"
        );
    }

    #[test]
    fn finds_references() {
        assert_eq!(
            references("$result[get_user][UF_DEPARTMENT][0]"),
            vec!["get_user"]
        );
        assert_eq!(references("x $next[a] and $total[b]"), vec!["a", "b"]);
        assert!(references("$5 [x]").is_empty());
    }
}
