//! Flags: `bool` from `true`/`false`, `"Y"`/`"N"`, `1`/`0` and their strings, and the
//! `"Y"`/`"N"` form legacy methods take.

use std::fmt;

use serde::Serializer;
use serde::de::{self, Deserializer, Unexpected, Visitor};

use super::decode::{LenientDecode, scalar_empty_is_none};

/// `#[serde(serialize_with = "bitrix24::lenient::yes_no")]` for `Option<bool>` fields of
/// legacy entities, which take flags as `"Y"`/`"N"`, not JSON booleans.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Fields {
///     #[serde(rename = "OPENED", serialize_with = "bitrix24::lenient::yes_no")]
///     opened: Option<bool>,
/// }
/// let json = serde_json::to_string(&Fields { opened: Some(false) }).unwrap();
/// assert_eq!(json, r#"{"OPENED":"N"}"#);
/// ```
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)] // the signature serde calls
pub fn yes_no<S: Serializer>(value: &Option<bool>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(true) => serializer.serialize_str("Y"),
        Some(false) => serializer.serialize_str("N"),
        None => serializer.serialize_none(),
    }
}

/// `#[serde(serialize_with = "bitrix24::lenient::yes_no_required")]` for required `bool`
/// params that travel as `"Y"`/`"N"`.
#[allow(clippy::trivially_copy_pass_by_ref)] // the signature serde calls
pub fn yes_no_required<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(if *value { "Y" } else { "N" })
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean: true/false, \"Y\"/\"N\", 1/0")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim() {
            "" => Ok(None),
            "Y" | "y" | "1" | "true" | "TRUE" | "True" => Ok(Some(true)),
            "N" | "n" | "0" | "false" | "FALSE" | "False" => Ok(Some(false)),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
    scalar_empty_is_none!();
}

impl LenientDecode for bool {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(BoolVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::opt;
    use serde_json::json;

    #[test]
    fn bools_from_bitrix() {
        assert_eq!(opt::<bool>(json!("Y")).unwrap(), Some(true));
        assert_eq!(opt::<bool>(json!("N")).unwrap(), Some(false));
        assert_eq!(opt::<bool>(json!(1)).unwrap(), Some(true));
        assert_eq!(opt::<bool>(json!("0")).unwrap(), Some(false));
        assert_eq!(opt::<bool>(json!(true)).unwrap(), Some(true));
        assert_eq!(opt::<bool>(json!("")).unwrap(), None);
        assert!(opt::<bool>(json!("maybe")).is_err());
    }
}
