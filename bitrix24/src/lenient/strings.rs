//! Strings: `String` (and the spec types carried as text) from strings, numbers and booleans,
//! and the text of enum values.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;

use super::decode::{AbsentIfInvalid, Empty, LenientDecode, missing, scalar_empty_is_none};

struct StringVisitor {
    empty: Empty,
}

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if self.empty == Empty::Absent && v.is_empty() {
            None
        } else {
            Some(v.to_owned())
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(if self.empty == Empty::Absent && v.is_empty() {
            None
        } else {
            Some(v)
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    scalar_empty_is_none!();
}

impl LenientDecode for String {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(StringVisitor {
            empty: Empty::Absent,
        })
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(StringVisitor {
                empty: Empty::Itself,
            })?
            .ok_or_else(missing)
    }
}

/// A string (or number) that is absent when empty (`null`, `""`, `[]`): for enum values.
pub fn string_like_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(StringVisitor {
        empty: Empty::Absent,
    })
}

/// A string or a number, as a string (for enum values); errors on an empty value (`null`, `""`,
/// `[]`).
pub fn string_like<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    string_like_opt(deserializer)?
        .ok_or_else(|| de::Error::custom("expected a string value, found null or \"\""))
}

impl AbsentIfInvalid for String {
    /// Text of the client's bookkeeping (error codes and descriptions, the token endpoint's
    /// answer): a string as sent (`""` included), any other value as its JSON text, so that an
    /// error never loses what the portal said. Only `null` is absent.
    fn read(value: Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::{opt, required};
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_from_numbers() {
        assert_eq!(opt::<String>(json!(7)).unwrap().as_deref(), Some("7"));
        assert_eq!(opt::<String>(json!("")).unwrap(), None);
        assert_eq!(required::<_, String>(json!("")).unwrap(), "");
        assert_eq!(string_like_opt(json!("")).unwrap(), None);
    }

    #[test]
    fn bookkeeping_text_keeps_what_was_sent() {
        assert_eq!(String::read(json!("")).as_deref(), Some(""));
        assert_eq!(
            String::read(json!("NOT_FOUND")).as_deref(),
            Some("NOT_FOUND")
        );
        assert_eq!(String::read(json!(0)).as_deref(), Some("0"));
        assert_eq!(String::read(json!(false)).as_deref(), Some("false"));
        assert_eq!(String::read(json!({"a": 1})).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(String::read(json!([])).as_deref(), Some("[]"));
        assert_eq!(String::read(json!(null)), None);
        // A field reads the same numbers, and refuses what is not text.
        assert_eq!(opt::<String>(json!(0)).unwrap().as_deref(), Some("0"));
        assert!(opt::<String>(json!({"a": 1})).is_err());
    }
}
