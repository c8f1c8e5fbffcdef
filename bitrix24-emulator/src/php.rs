//! PHP-compatible helpers: `parse_str`, `(bool)` casts, `Json::encode` escaping, form encoding.

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::io;

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space), lossy UTF-8.
pub(crate) fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes like PHP `urlencode` (space as `+`).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(c as char),
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{c:02X}");
            }
        }
    }
    out
}

/// PHP `parse_str`: bracket syntax (`a[b][]=1`) into nested maps; maps keyed exactly `0..n-1`
/// become JSON lists afterwards (as PHP's `json_encode` would print them).
pub(crate) fn parse_str(s: &str) -> Map<String, Value> {
    let mut root = Map::new();
    let mut next = NextIndex::new();
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match pair.find('=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        };
        let key = url_decode(k);
        let val = url_decode(v);
        insert_php_cached(&mut root, &key, Value::String(val), &mut next);
    }
    for v in root.values_mut() {
        normalize(v);
    }
    root
}

/// The next free list index of each map touched by one `parse_str`, by path: PHP appends
/// (`a[]=`) at the highest integer key + 1, and rescanning a map per append would make many
/// appends quadratic.
pub(crate) type NextIndex = std::collections::HashMap<String, i64>;

/// Inserts `value` under a PHP-style key (`a[b][]`) into `root`, sharing the next-index cache
/// of one parse.
pub(crate) fn insert_php_cached(
    root: &mut Map<String, Value>,
    key: &str,
    value: Value,
    next: &mut NextIndex,
) {
    let key = key.trim_start_matches(' ');
    let (base, mut rest) = match key.find('[') {
        Some(i) if key[i..].contains(']') => (&key[..i], &key[i..]),
        _ => (key, ""),
    };
    if base.is_empty() {
        return;
    }
    let base: String = base
        .chars()
        .map(|c| {
            if c == '.' || c == ' ' || c == '[' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut segs: Vec<Option<String>> = Vec::new();
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        let seg = &stripped[..end];
        segs.push(if seg.is_empty() {
            None
        } else {
            Some(seg.to_string())
        });
        rest = &stripped[end + 1..];
        if segs.len() >= 64 {
            break;
        }
    }
    if segs.is_empty() {
        root.insert(base, value);
        return;
    }
    let mut path = base.clone();
    let mut cur = root
        .entry(base)
        .or_insert_with(|| Value::Object(Map::new()));
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
            next.retain(|p, _| !p.starts_with(path.as_str()));
        }
        let Value::Object(map) = cur else {
            return;
        };
        let free = *next.entry(path.clone()).or_insert_with(|| next_index(map));
        let k = if let Some(s) = seg {
            if let Ok(n) = s.parse::<i64>()
                && n >= free
            {
                next.insert(path.clone(), n.saturating_add(1));
            }
            s.clone()
        } else {
            next.insert(path.clone(), free.saturating_add(1));
            free.to_string()
        };
        path.push('\u{1f}');
        path.push_str(&k);
        if i + 1 == segs.len() {
            map.insert(k, value);
            return;
        }
        cur = map.entry(k).or_insert_with(|| Value::Object(Map::new()));
    }
}

fn next_index(map: &Map<String, Value>) -> i64 {
    map.keys()
        .filter_map(|k| k.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .max()
        .map_or(0, |m| m + 1)
}

/// Converts maps with keys exactly `"0".."n-1"` (in order) into lists, recursively.
pub(crate) fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for x in map.values_mut() {
                normalize(x);
            }
            if !map.is_empty() && is_sequential(map) {
                let m = std::mem::take(map);
                *v = Value::Array(m.into_iter().map(|(_, x)| x).collect());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Whether the keys are exactly `0..n-1` in order.
pub(crate) fn is_sequential(map: &Map<String, Value>) -> bool {
    map.keys().enumerate().all(|(i, k)| k == &i.to_string())
}

/// A PHP array as JSON: empty -> `[]`, keys `0..n-1` -> list, else an object.
pub(crate) fn php_array(map: Map<String, Value>) -> Value {
    if map.is_empty() {
        Value::Array(Vec::new())
    } else if is_sequential(&map) {
        Value::Array(map.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(map)
    }
}

/// PHP `(bool)` cast.
pub(crate) fn php_bool(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s == "0"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Lenient "is this a yes": `Y`, `true`, `1`, true, non-zero.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            s == "y" || s == "true" || s == "1" || s == "yes"
        }
        other => php_bool(other),
    }
}

/// Serialises like Bitrix `Json::encode` (`\/`, `\uXXXX` for non-ASCII, HEX_TAG/AMP/APOS/QUOT).
pub(crate) fn to_json(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PhpFormatter);
    serde::Serialize::serialize(v, &mut ser).expect("serialising a Value cannot fail");
    out
}

/// A `serde_json` formatter escaping as PHP does with the Bitrix flags.
pub(crate) struct PhpFormatter;

impl serde_json::ser::Formatter for PhpFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let esc: Option<&str> = match ch {
                '/' => Some("\\/"),
                '<' => Some("\\u003C"),
                '>' => Some("\\u003E"),
                '&' => Some("\\u0026"),
                '\'' => Some("\\u0027"),
                _ => None,
            };
            if esc.is_none() && ch.is_ascii() {
                continue;
            }
            writer.write_all(&bytes[start..i])?;
            if let Some(e) = esc {
                writer.write_all(e.as_bytes())?;
            } else {
                let mut buf = [0u16; 2];
                for unit in ch.encode_utf16(&mut buf) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
            start = i + ch.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        use serde_json::ser::CharEscape;
        let s: &[u8] = match char_escape {
            CharEscape::Quote => b"\\u0022",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                return write!(writer, "\\u{byte:04x}");
            }
        };
        writer.write_all(s)
    }
}

/// Flattens a JSON value into PHP bracket form pairs (`data[FIELDS][ID]=1`).
pub(crate) fn form_pairs(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                form_pairs(&format!("{prefix}[{k}]"), x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                form_pairs(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::Bool(b) => out.push((
            prefix.to_string(),
            if *b { "1".into() } else { String::new() },
        )),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
    }
}

/// Encodes pairs as an urlencoded body.
pub(crate) fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex md5.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    let d = Md5::digest(data);
    d.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Random lower-case hex string of `n` characters.
pub(crate) fn random_hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets() {
        let m = parse_str(
            "fields[TITLE]=My%20co&fields[PHONE][0][VALUE]=1&select[]=ID&select[]=NAME&filter[%3EID]=10&a.b=1",
        );
        assert_eq!(
            Value::Object(m),
            json!({"fields":{"TITLE":"My co","PHONE":[{"VALUE":"1"}]},"select":["ID","NAME"],"filter":{">ID":"10"},"a_b":"1"})
        );
    }

    #[test]
    fn php_escapes() {
        let s = String::from_utf8(to_json(&json!({"a":"[B]x[/B] <br> é \"q\""}))).unwrap();
        assert_eq!(
            s,
            r#"{"a":"[B]x[\/B] \u003Cbr\u003E \u00e9 \u0022q\u0022"}"#
        );
    }
}

#[cfg(test)]
mod append_tests {
    use super::*;

    #[test]
    fn appends_follow_the_highest_integer_key() {
        let m = parse_str("a[5]=x&a[]=y&a[k]=z&a[]=w&b[]=1&b[]=2");
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"a": {"5": "x", "6": "y", "k": "z", "7": "w"}, "b": ["1", "2"]})
        );
    }
}
