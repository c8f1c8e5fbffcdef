//! PHP-compatible helpers: `parse_str`, `(bool)` casts, `Json::encode` escaping, form encoding.

use serde_json::{Map, Value};
use std::borrow::Cow;
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

/// PHP's default `max_input_nesting_level`: a name with more bracket groups than this drops its
/// whole variable.
const MAX_NESTING: usize = 64;

/// PHP `parse_str`: bracket syntax (`a[b][]=1`) into nested maps; maps keyed exactly `0..n-1`
/// become JSON lists afterwards (as PHP's `json_encode` would print them).
///
/// Pairs split on `&` (empty ones skipped), the name and the value split at the first `=`, both
/// urldecoded, and each pair is registered as PHP's `php_register_variable_ex` does it (see
/// [`Form::insert`]). Time and memory are linear in the length of `s`.
pub(crate) fn parse_str(s: &str) -> Map<String, Value> {
    let mut form = Form::default();
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        form.insert(&url_decode(k), Value::String(url_decode(v)));
    }
    form.finish()
}

/// One PHP request-variable array being filled pair by pair (the result of one `parse_str`, or
/// of the fields of one multipart body), in linear time and memory.
///
/// The top level keeps PHP's order even when a variable is deleted (too deep a name) and comes
/// back later: deleted slots are left empty and skipped by [`Form::finish`].
#[derive(Debug, Default)]
pub(crate) struct Form {
    slots: Vec<Option<(String, Value)>>,
    at: std::collections::HashMap<String, usize>,
    next: NextIndex,
}

impl Form {
    /// Registers one `name=value` pair (the name already urldecoded), as PHP does it:
    ///
    /// - the name stops at a NUL byte, leading spaces are dropped, and before the first `[`
    ///   every ` ` and `.` becomes `_`; an empty name drops the pair, and so does a name that
    ///   this mangling made start with `__Host-` or `__Secure-`;
    /// - each `[key]` group goes one level down, creating a map there or replacing a scalar
    ///   with one (`a=1&a[b]=2` gives `a = {b: 2}`); a later plain `a=3` replaces the map;
    /// - `[]` (or `[` + one whitespace + `]`) appends at the map's highest integer key + 1
    ///   (never below 0, as PHP before 8.3 did);
    /// - a `[` with no `]` after it ends the name there: at the first group it becomes `_`
    ///   together with any ` `, `.` and `[` after it (`a[b` is `a_b`), later it is ignored
    ///   with the rest (`a[b][c` is `a[b]`), and so is anything after a `]` but a `[`;
    /// - more than 64 groups (`max_input_nesting_level`) delete the whole variable.
    pub(crate) fn insert(&mut self, key: &str, value: Value) {
        register(self, key, value);
    }

    /// The filled array, with maps keyed exactly `0..n-1` turned into lists.
    pub(crate) fn finish(self) -> Map<String, Value> {
        let mut out: Map<String, Value> = self.slots.into_iter().flatten().collect();
        for v in out.values_mut() {
            normalize(v);
        }
        out
    }
}

/// The next free list index (`a[]=`) of every map a parse built, kept in a tree beside the maps:
/// PHP appends at the highest integer key + 1, and rescanning a map per append would make many
/// appends quadratic.
#[derive(Debug, Default)]
pub(crate) struct NextIndex {
    next: i64,
    kids: std::collections::HashMap<String, NextIndex>,
}

/// A top-level array being filled: its slots and its next-index tree.
trait Root {
    /// The slot of `key`, appended (`null`) if missing.
    fn slot(&mut self, key: &str) -> Option<(&mut Value, &mut NextIndex)>;
    /// Deletes `key` and its next-index subtree.
    fn delete(&mut self, key: &str);
}

impl Root for Form {
    fn slot(&mut self, key: &str) -> Option<(&mut Value, &mut NextIndex)> {
        let i = if let Some(&i) = self.at.get(key) {
            i
        } else {
            self.slots.push(Some((key.to_owned(), Value::Null)));
            self.at.insert(key.to_owned(), self.slots.len() - 1);
            self.slots.len() - 1
        };
        let (_, v) = self.slots.get_mut(i)?.as_mut()?;
        Some((v, &mut self.next))
    }

    fn delete(&mut self, key: &str) {
        if let Some(i) = self.at.remove(key)
            && let Some(slot) = self.slots.get_mut(i)
        {
            *slot = None;
        }
        self.next.kids.remove(key);
    }
}

/// The slot of `key` in `map`, appended (`null`) if missing.
fn slot<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Value> {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), Value::Null);
    }
    map.get_mut(key)
}

/// Where a name puts its value, read as PHP's `php_register_variable_ex` reads it.
#[derive(Debug, PartialEq)]
enum Target<'k> {
    /// The pair is dropped.
    Nothing,
    /// Too many bracket groups: the whole variable is deleted.
    Delete(String),
    /// The variable, then one key per bracket group (`None` for `[]`, an append).
    Path(String, Vec<Option<&'k str>>),
}

/// C `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn underscore(c: char, also: char) -> char {
    if c == ' ' || c == '.' || c == also {
        '_'
    } else {
        c
    }
}

/// Reads a name into its variable and keys (one pass over it).
fn target(key: &str) -> Target<'_> {
    let key = key.split('\0').next().unwrap_or_default();
    let key = key.trim_start_matches(' ');
    let bytes = key.as_bytes();
    let open = key.find('[');
    let mut var: String = key[..open.unwrap_or(key.len())]
        .chars()
        .map(|c| underscore(c, '.'))
        .collect();
    if ["__Host-", "__Secure-"]
        .iter()
        .any(|p| var.starts_with(p) && !key.starts_with(p))
        || var.is_empty()
    {
        return Target::Nothing;
    }
    let mut keys = Vec::new();
    let Some(mut at) = open else {
        return Target::Path(var, keys);
    };
    loop {
        // `at` is a `[`; PHP counts this group before it knows whether it closes.
        if keys.len() >= MAX_NESTING {
            return Target::Delete(var);
        }
        let start = at + 1;
        let mut ip = start;
        if bytes.get(ip).copied().is_some_and(is_c_space) {
            ip += 1;
        }
        let close = if bytes.get(ip) == Some(&b']') {
            keys.push(None);
            ip
        } else if let Some(off) = key[ip..].find(']') {
            keys.push(Some(&key[start..ip + off]));
            ip + off
        } else {
            if keys.is_empty() {
                var.push('_');
                var.extend(key[start..].chars().map(|c| underscore(c, '[')));
            }
            return Target::Path(var, keys);
        };
        if bytes.get(close + 1) == Some(&b'[') {
            at = close + 1;
        } else {
            return Target::Path(var, keys);
        }
    }
}

/// The integer a PHP array key string stands for (`ZEND_HANDLE_NUMERIC_STR`): decimal, an
/// optional `-`, no `+`, no leading zeros, no `-0`, within `i64`.
fn php_int_key(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty()
        || !digits.bytes().all(|c| c.is_ascii_digit())
        || (digits.starts_with('0') && s.len() > 1)
    {
        return None;
    }
    s.parse().ok()
}

impl NextIndex {
    /// Notes integer key `n` (PHP's `nNextFreeElement`, saturating at `i64::MAX`).
    fn saw(&mut self, n: i64) {
        if n >= self.next {
            self.next = n.saturating_add(1);
        }
    }

    /// The map under `key` of the map this index describes (a scalar or a missing slot becomes
    /// an empty map, with a fresh index), with its index.
    fn descend<'v>(
        &mut self,
        slot: &'v mut Value,
        key: &str,
    ) -> Option<(&'v mut Map<String, Value>, &mut NextIndex)> {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
            self.kids.remove(key);
        }
        let Value::Object(map) = slot else {
            return None;
        };
        if !self.kids.contains_key(key) {
            let next = next_index(map);
            self.kids.insert(
                key.to_owned(),
                NextIndex {
                    next,
                    kids: std::collections::HashMap::new(),
                },
            );
        }
        Some((map, self.kids.get_mut(key)?))
    }

    /// The key a group names in `map` (described by `self`): its own, or the next free index
    /// for `[]` (`None` once that index is taken, `i64::MAX` being used: PHP drops the pair).
    fn key<'k>(&mut self, map: &Map<String, Value>, seg: Option<&'k str>) -> Option<Cow<'k, str>> {
        if let Some(s) = seg {
            if let Some(n) = php_int_key(s) {
                self.saw(n);
            }
            return Some(Cow::Borrowed(s));
        }
        let n = self.next;
        let k = n.to_string();
        if map.contains_key(&k) {
            return None;
        }
        self.saw(n);
        Some(Cow::Owned(k))
    }
}

fn register<R: Root>(root: &mut R, key: &str, value: Value) {
    let (var, keys) = match target(key) {
        Target::Nothing => return,
        Target::Delete(var) => {
            root.delete(&var);
            return;
        }
        Target::Path(var, keys) => (var, keys),
    };
    let Some((slot, top)) = root.slot(&var) else {
        return;
    };
    let Some((&last, inner)) = keys.split_last() else {
        *slot = value;
        top.kids.remove(&var);
        return;
    };
    let Some((mut map, mut index)) = top.descend(slot, &var) else {
        return;
    };
    for &seg in inner {
        let Some(k) = index.key(map, seg) else {
            return;
        };
        let Some(slot) = self::slot(map, &k) else {
            return;
        };
        let Some((m, i)) = index.descend(slot, &k) else {
            return;
        };
        (map, index) = (m, i);
    }
    let Some(k) = index.key(map, last) else {
        return;
    };
    index.kids.remove(k.as_ref());
    if let Some(slot) = self::slot(map, &k) {
        *slot = value;
    }
}

/// The next free index of a map filled elsewhere: its highest non-negative integer key + 1.
fn next_index(map: &Map<String, Value>) -> i64 {
    map.keys()
        .filter_map(|k| php_int_key(k))
        .filter(|n| *n >= 0)
        .max()
        .map_or(0, |m| m.saturating_add(1))
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

/// Fills `buf` from the operating system's generator (`getrandom`). Should that fail (no OS
/// source at all), from a generator seeded by the standard library's per-process random keys:
/// still different in every process, never the fault seed.
fn os_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        fastrand::Rng::new().fill(buf);
    }
}

/// A secret (token, code, key) of `n` lower-case hex characters from the operating system's
/// generator: unpredictable, and different in every emulator whatever its fault seed.
pub(crate) fn secret_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n.div_ceil(2)];
    os_random(&mut bytes);
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s.truncate(n);
    s
}

/// A secret of `n` characters from `[0-9A-Za-z]` (uniform), from the operating system's
/// generator.
pub(crate) fn secret_alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    // Bytes 248..=255 would bias the draw and are skipped: about 3% of them, so a few rounds
    // always do; past 64 rounds (a generator stuck high) the rest takes them modulo 62.
    for round in 0.. {
        if out.len() >= n {
            break;
        }
        os_random(&mut buf);
        for &b in &buf {
            if out.len() >= n {
                break;
            }
            if b < 248 || round >= 64 {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// Random lower-case hex string of `n` characters from a seeded generator (for identifiers that
/// may be reproducible, never for secrets: see [`secret_hex`]).
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

#[cfg(test)]
mod parse_str_tests {
    use super::*;
    use serde_json::json;
    use std::sync::mpsc;
    use std::time::Duration;

    fn parsed(s: &str) -> Value {
        Value::Object(parse_str(s))
    }

    /// Each case is what PHP's `parse_str` (`php_default_treat_data` and
    /// `php_register_variable_ex` in php-src `main/php_variables.c`) makes of the string.
    #[test]
    fn names_are_read_as_php_reads_them() {
        let deep = |n: usize| "[x]".repeat(n);
        let cases: Vec<(String, Value)> = vec![
            // The two examples of the PHP manual's `parse_str` page.
            (
                "first=value&arr[]=foo+bar&arr[]=baz".into(),
                json!({"first": "value", "arr": ["foo bar", "baz"]}),
            ),
            (
                "My Value=Something".into(),
                json!({"My_Value": "Something"}),
            ),
            // Overwrites, scalar-then-array, array-then-scalar.
            ("a=1&a=2".into(), json!({"a": "2"})),
            ("a=1&a[b]=2".into(), json!({"a": {"b": "2"}})),
            ("a[b]=2&a=1".into(), json!({"a": "1"})),
            ("a[x]=1&b=2&a=3".into(), json!({"a": "3", "b": "2"})),
            ("a[]=1&a[]=2&a=x&a[]=3".into(), json!({"a": ["3"]})),
            (
                "a[x][]=1&a[x]=s&a[x][]=2".into(),
                json!({"a": {"x": ["2"]}}),
            ),
            (
                "a[x][y]=1&a[x][y][]=2".into(),
                json!({"a": {"x": {"y": ["2"]}}}),
            ),
            // Appends: after the highest integer key, canonical integers only.
            ("a[5]=x&a[]=y".into(), json!({"a": {"5": "x", "6": "y"}})),
            ("a[05]=x&a[]=y".into(), json!({"a": {"05": "x", "0": "y"}})),
            (
                "a[%2B5]=x&a[]=y".into(),
                json!({"a": {"+5": "x", "0": "y"}}),
            ),
            ("a[-0]=x&a[]=y".into(), json!({"a": {"-0": "x", "0": "y"}})),
            ("a[-3]=x&a[]=y".into(), json!({"a": {"-3": "x", "0": "y"}})),
            (
                "a[1]=x&a[0]=y&a[]=z".into(),
                json!({"a": {"1": "x", "0": "y", "2": "z"}}),
            ),
            (
                "a[9223372036854775806]=x&a[]=y&a[]=z".into(),
                json!({"a": {"9223372036854775806": "x", "9223372036854775807": "y"}}),
            ),
            (
                "a[][b]=1&a[][b]=2".into(),
                json!({"a": [{"b": "1"}, {"b": "2"}]}),
            ),
            ("a[ ]=1&a[\t]=2".into(), json!({"a": ["1", "2"]})),
            (
                "a[ x]=1&a[  ]=2".into(),
                json!({"a": {" x": "1", "  ": "2"}}),
            ),
            // Name mangling and unclosed or trailing brackets.
            ("a.b[c.d]=1".into(), json!({"a_b": {"c.d": "1"}})),
            ("  a=1".into(), json!({"a": "1"})),
            ("a[b=1".into(), json!({"a_b": "1"})),
            ("a[b.c d[e=1".into(), json!({"a_b_c_d_e": "1"})),
            ("a[=1".into(), json!({"a_": "1"})),
            ("a[b][c=1".into(), json!({"a": {"b": "1"}})),
            ("a[b]c=1".into(), json!({"a": {"b": "1"}})),
            ("a[b[c]]=1".into(), json!({"a": {"b[c": "1"}})),
            ("a]b=1".into(), json!({"a]b": "1"})),
            ("[a]=1&=2&%20=3".into(), json!({})),
            ("a%00b=1&c[d%00e]=2".into(), json!({"a": "1", "c_d": "2"})),
            ("a=x%00y".into(), json!({"a": "x\u{0}y"})),
            (
                "_.Host-x=1&__Host-y=2&_.Secure-z=3".into(),
                json!({"__Host-y": "2"}),
            ),
            (
                "a&b=&=c&&d=1=2".into(),
                json!({"a": "", "b": "", "d": "1=2"}),
            ),
            // max_input_nesting_level (64): 64 groups are kept, 65 delete the variable.
            (format!("a{}=1", deep(64)), {
                let mut v = json!("1");
                for _ in 0..64 {
                    v = json!({"x": v});
                }
                json!({ "a": v })
            }),
            (format!("a=0&b=1&a{}=2", deep(65)), json!({"b": "1"})),
            (format!("a=0&b=1&a{}[x=2", deep(64)), json!({"b": "1"})),
            // A deleted variable that comes back goes to the end, the others keep their order.
            (
                format!("a=1&b=2&c=3&b{}=x&d=4&b=5", deep(65)),
                json!({"a": "1", "c": "3", "d": "4", "b": "5"}),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parsed(&input), want, "parse_str({input:?})");
            // Order matters too (top-level order, and what becomes a list).
            assert_eq!(
                serde_json::to_string(&parsed(&input)).unwrap(),
                serde_json::to_string(&want).unwrap(),
                "order of parse_str({input:?})"
            );
        }
    }

    #[test]
    fn multipart_fields_register_the_same_way() {
        let mut form = Form::default();
        for (k, v) in [("a[5]", "x"), ("a[]", "y"), ("b", "1"), ("b[c]", "2")] {
            form.insert(k, Value::String(v.into()));
        }
        let deep = format!("b{}", "[x]".repeat(65));
        form.insert(&deep, Value::String("z".into()));
        form.insert("a[]", Value::String("w".into()));
        assert_eq!(
            Value::Object(form.finish()),
            json!({"a": {"5": "x", "6": "y", "7": "w"}})
        );
    }

    /// Runs `f` on another thread and fails if it has not finished within 20 s. What it guards
    /// takes the old quadratic parser hours; the linear one well under a second (optimised).
    fn within_20s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{what} did not parse within 20 s"))
    }

    // `hostile_body()`: the body `tests/hostile.rs` sends through the server too.
    include!("../tests/support/hostile_body.rs");

    #[test]
    fn alternating_scalars_and_maps_parse_in_linear_time() {
        let body = hostile_body();
        let maps = body.matches("[d]").count();
        let m = within_20s("2 MiB of maps and k&k[a]", move || parse_str(&body));
        assert_eq!(m.len(), maps + 1);
        assert_eq!(m.get("k"), Some(&serde_json::json!({"a": ""})));
        assert_eq!(
            m.get("p0"),
            Some(&serde_json::json!({"a": {"b": {"c": {"d": ""}}}}))
        );
    }

    #[test]
    fn a_long_deep_name_lands_64_levels_down() {
        // 64 groups of 256 KiB each: a 16 MiB name, 64 levels deep.
        let seg = "s".repeat(256 << 10);
        let mut key = String::from("k");
        for i in 0..64 {
            let _ = write!(key, "[{seg}{i}]");
        }
        let body = format!("{key}=1&{key}=2");
        let m = within_20s("a 16 MiB name of 64 groups", move || parse_str(&body));
        let mut v = m.get("k").expect("k");
        let mut depth = 0;
        while let Value::Object(o) = v {
            assert_eq!(o.len(), 1);
            v = o.values().next().expect("one key");
            depth += 1;
        }
        assert_eq!((depth, v), (64, &serde_json::json!("2")));
    }

    #[test]
    fn many_appends_and_deep_paths_stay_linear() {
        let mut body = String::new();
        for i in 0..30_000 {
            let _ = write!(body, "a[]={i}&b[x][y][]={i}&c[{i}][]=1&");
        }
        let m = within_20s("90,000 appends", move || parse_str(&body));
        assert_eq!(m["a"].as_array().map(Vec::len), Some(30_000));
        assert_eq!(m["b"]["x"]["y"].as_array().map(Vec::len), Some(30_000));
        assert_eq!(m["c"].as_array().map(Vec::len), Some(30_000));
    }
}
