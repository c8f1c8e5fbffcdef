//! A bounded parser for the `application/x-www-form-urlencoded` bodies the portal POSTs, with
//! PHP's bracket nesting (`data[FIELDS][ID]=42`, `auth[member_id]=...`, `a[]=1`).
//!
//! Every input is bounded before it is looked at: the body size, the number of keys, the
//! nesting depth and the length of one key. Bad input is a [`FormError`], never a panic, and
//! memory stays proportional to the (bounded) body.

use serde_json::{Map, Value};

/// The bounds a form body must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormLimits {
    /// Largest body accepted, in bytes (default 1 MiB: chat-bot events carry whole messages).
    pub max_body: usize,
    /// Most `key=value` pairs (default 1,000, PHP's `max_input_vars`).
    pub max_keys: usize,
    /// Deepest bracket nesting (default 16; the documented events use at most 5 levels).
    pub max_depth: usize,
    /// Longest key, in bytes after decoding (default 512).
    pub max_key_len: usize,
}

impl Default for FormLimits {
    fn default() -> Self {
        FormLimits {
            max_body: 1024 * 1024,
            max_keys: 1000,
            max_depth: 16,
            max_key_len: 512,
        }
    }
}

/// Why a form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// The body is larger than [`FormLimits::max_body`].
    #[error("the body has {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The body's size (or the size read so far).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More pairs than [`FormLimits::max_keys`].
    #[error("the body has more than {limit} keys")]
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
    /// A key nests deeper than [`FormLimits::max_depth`].
    #[error("a key nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A key is longer than [`FormLimits::max_key_len`].
    #[error("a key is longer than {limit} bytes")]
    KeyTooLong {
        /// The limit.
        limit: usize,
    },
    /// A key is not `name` or `name[a][b]...` (an unclosed bracket, text after a bracket, an
    /// empty name).
    #[error("malformed key: {0}")]
    MalformedKey(String),
}

/// Parses a form body into a JSON tree: nested keys become objects, every value a string, and
/// `[]` appends (`"0"`, `"1"`, ... as PHP numbers them). A later value for the same key
/// replaces the earlier one, as in PHP.
///
/// ```
/// use bitrix24::events::form::{parse, FormLimits};
/// let tree = parse(b"event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=42&auth[member_id]=m", &FormLimits::default()).unwrap();
/// assert_eq!(tree["data"]["FIELDS"]["ID"], "42");
/// assert_eq!(tree["auth"]["member_id"], "m");
/// ```
pub fn parse(body: &[u8], limits: &FormLimits) -> Result<Map<String, Value>, FormError> {
    if body.len() > limits.max_body {
        return Err(FormError::TooLarge {
            size: body.len(),
            limit: limits.max_body,
        });
    }
    let mut root = Map::new();
    let mut keys = 0usize;
    for (key, value) in url::form_urlencoded::parse(body) {
        if key.is_empty() && value.is_empty() {
            continue;
        }
        keys += 1;
        if keys > limits.max_keys {
            return Err(FormError::TooManyKeys {
                limit: limits.max_keys,
            });
        }
        if key.len() > limits.max_key_len {
            return Err(FormError::KeyTooLong {
                limit: limits.max_key_len,
            });
        }
        let path = split_key(&key, limits.max_depth)?;
        insert(&mut root, &path, value.into_owned());
    }
    Ok(root)
}

/// `a[b][c]` -> `["a", "b", "c"]`; `a[]` -> `["a", ""]` (an append).
fn split_key(key: &str, max_depth: usize) -> Result<Vec<&str>, FormError> {
    let malformed = || FormError::MalformedKey(shown_key(key));
    let (base, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if base.is_empty() {
        return Err(malformed());
    }
    let mut path = vec![base];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return Err(malformed());
        };
        let Some(close) = inner.find(']') else {
            return Err(malformed());
        };
        if path.len() > max_depth {
            return Err(FormError::TooDeep { limit: max_depth });
        }
        path.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    if path.len() > max_depth + 1 {
        return Err(FormError::TooDeep { limit: max_depth });
    }
    Ok(path)
}

/// A key for an error message: short, and with any value-like tail cut (keys are not secret,
/// but a hostile one may be long).
fn shown_key(key: &str) -> String {
    let cut: String = key.chars().take(64).collect();
    if cut.len() < key.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

fn insert(root: &mut Map<String, Value>, path: &[&str], value: String) {
    let mut node = root;
    for (i, segment) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let name = if segment.is_empty() {
            // `[]`: the next index, as PHP numbers appended values.
            next_index(node).to_string()
        } else {
            (*segment).to_owned()
        };
        if last {
            node.insert(name, Value::String(value));
            return;
        }
        let slot = node
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            return;
        };
        node = next;
    }
}

fn next_index(map: &Map<String, Value>) -> u64 {
    map.keys()
        .filter_map(|k| k.parse::<u64>().ok())
        .max()
        .map_or(0, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nests_appends_and_replaces() {
        let t = parse(
            b"a[b][c]=1&a[b][d]=2&l[]=x&l[]=y&s=1&s=2&e=&a[b][c]=3",
            &FormLimits::default(),
        )
        .unwrap();
        assert_eq!(t["a"]["b"]["c"], "3");
        assert_eq!(t["a"]["b"]["d"], "2");
        assert_eq!(t["l"]["0"], "x");
        assert_eq!(t["l"]["1"], "y");
        assert_eq!(t["s"], "2");
        assert_eq!(t["e"], "");
    }

    #[test]
    fn conflicting_nesting_resolves_as_php_does() {
        // The later key wins, as PHP's parse_str does: a scalar is replaced by a nested
        // array and the other way round; `[]` keeps counting past named keys.
        let cases: [(&[u8], Value); 4] = [
            (b"a=1&a[b]=2", json!({"a": {"b": "2"}})),
            (b"a[b]=2&a=1", json!({"a": "1"})),
            (b"a[b]=1&a[b][c]=2", json!({"a": {"b": {"c": "2"}}})),
            (
                b"l[]=x&l[k]=y&l[]=z",
                json!({"l": {"0": "x", "k": "y", "1": "z"}}),
            ),
        ];
        for (body, want) in cases {
            let got = Value::Object(parse(body, &FormLimits::default()).unwrap());
            assert_eq!(got, want, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn bounds_are_typed_errors() {
        let small = FormLimits {
            max_body: 64,
            max_keys: 3,
            max_depth: 2,
            max_key_len: 16,
        };
        assert!(matches!(
            parse(&[b'a'; 65], &small),
            Err(FormError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"a=1&b=2&c=3&d=4", &small),
            Err(FormError::TooManyKeys { .. })
        ));
        assert!(matches!(
            parse(b"a[b][c][d]=1", &small),
            Err(FormError::TooDeep { .. })
        ));
        assert!(matches!(
            parse(b"aaaaaaaaaaaaaaaaaaaa=1", &small),
            Err(FormError::KeyTooLong { .. })
        ));
        for bad in [&b"a[b=1"[..], b"[x]=1", b"a[b]c=1"] {
            assert!(
                matches!(parse(bad, &small), Err(FormError::MalformedKey(_))),
                "{bad:?}"
            );
        }
        // Hostile but bounded: never a panic.
        let deep = format!("{}=1", "a".to_owned() + &"[x]".repeat(10_000));
        assert!(parse(deep.as_bytes(), &FormLimits::default()).is_err());
        assert!(parse(b"%ff%fe=%00&&&=", &FormLimits::default()).is_ok());
    }
}
