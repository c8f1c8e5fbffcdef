//! Lenient decoding of Bitrix24 values, used by the generated entities and responses.
//!
//! The portal sends numbers as strings (`"42"`), booleans as `"Y"`/`"N"`, empty maps as `[]`
//! (PHP's empty array), lists as objects with numeric keys, and `null`, `""` or `[]` for a value
//! that is not set. The [`LenientDecode`] trait decodes every spec type from all of these;
//! [`option`] and [`required`] plug it into `#[serde(deserialize_with = ...)]` (the generated
//! methods' `decode_response` calls [`required`] on `result`), and [`Lenient<T>`] wraps a value
//! you decode yourself.
//!
//! | type | decodes from |
//! | --- | --- |
//! | `String` (`string`) | string, number, bool |
//! | [`Decimal`](crate::Decimal), [`Date`](crate::Date), [`DateTime`](crate::DateTime) (`decimal`, `date`, `datetime`) | string, number (as text) |
//! | `i64`, `u64`, `f64` (`int`, `id`, `float`) | number, numeric string |
//! | `bool` (`bool`, `flag`) | `true`/`false`, `"Y"`/`"N"`, `1`/`0`, `"1"`/`"0"`, `"true"`/`"false"` |
//! | generated enums | string, number |
//! | `Map<String, Value>` (`object`) | object, list (index = key) |
//! | `BTreeMap<String, T>` (`map<T>`) | object, list (index = key) |
//! | `Vec<T>` (`list<T>`) | list, object (its values in order) |
//! | entities | object |
//! | `Value` (`value`) | anything |
//!
//! # Empty values: one rule
//!
//! **An optional value ([`option`], `Option<T>` fields) is `None` when the portal sends one of its
//! empty values: `null`, `""` or `[]`** (PHP's empty array), whatever the type, and `false` too
//! for collections and entities. The one exception is a list: `[]` (or `{}`) is the empty list,
//! `Some(vec![])`; `null`, `""` and `false` are still `None`. So `Some` never holds `""`, an
//! empty map or an empty entity decoded from `[]`. `{}` is an object, not an empty value: an
//! empty map or an entity with no fields set. `Value` is the untyped escape hatch and keeps what
//! was sent (only `null` is `None`).
//!
//! Elements of lists and maps follow the same rule, and the empty ones are skipped
//! (`["4", "", null]` is `[4]` for `list<id>`).
//!
//! **A required value** ([`required`], [`Lenient<T>`], a `result`) must be there: `null` is an
//! error, and so is an empty value for a type that has no empty value of its own (numbers,
//! booleans, enums, entities); `""` is the empty string, and `[]`/`{}` the empty list or map.
//!
//! Errors name what was expected; wrapped in `serde_path_to_error` (as the client does) they
//! also name the JSON path.
//!
//! The client reads its own bookkeeping (`next`, `total`, the `time` block, the token
//! endpoint's answer) with the same number and string rules, except that a value that is not
//! of the expected type there is absent rather than an error: an answer is not refused over
//! its bookkeeping.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// `[]` (PHP's empty array) is an empty value for a scalar; any other list is the wrong type.
macro_rules! empty_list_is_none {
    () => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            match seq.next_element::<serde::de::IgnoredAny>()? {
                None => Ok(None),
                Some(_) => Err(serde::de::Error::invalid_type(
                    serde::de::Unexpected::Seq,
                    &self,
                )),
            }
        }
    };
}

/// The empty encodings of a collection or an entity: `null`, `false` and `""`.
macro_rules! empty_is_none {
    () => {
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            if v {
                Err(E::invalid_type(serde::de::Unexpected::Bool(v), &self))
            } else {
                Ok(None)
            }
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.is_empty() {
                Ok(None)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Str(v), &self))
            }
        }
    };
}

mod containers;
#[cfg(test)]
mod examples;
mod flags;
mod numbers;
mod strings;

pub use containers::entity_opt;
#[cfg(test)]
pub(crate) use examples::{check_entity_sample, check_example, check_list_example};
pub use flags::{yes_no, yes_no_required};
pub use strings::{string_like, string_like_opt};

/// A type that decodes leniently from what Bitrix24 sends. `Ok(None)` means "absent"
/// (`null`, and the empty values of the [module docs](self#empty-values-one-rule)).
pub trait LenientDecode: Sized {
    /// Decodes an optional value, or `None` when it is absent or empty.
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error>;

    /// Decodes a value that must be there: an error when it is absent. Types with an empty
    /// value of their own (`String`, maps, lists) decode the portal's empty forms to it.
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::decode_opt(deserializer)?.ok_or_else(missing)
    }
}

fn missing<E: de::Error>() -> E {
    E::custom("a value is required here, found null or an empty value")
}

/// What the portal's empty values (`""`, `[]`) decode to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// `None`: an optional value.
    Absent,
    /// The type's own empty value (`""`, an empty map): a required value.
    Itself,
}

/// `#[serde(deserialize_with = "bitrix24::lenient::option")]` for `Option<T>` fields.
pub fn option<'de, D: Deserializer<'de>, T: LenientDecode>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::decode_opt(deserializer)
}

/// `#[serde(deserialize_with = "bitrix24::lenient::required")]` for fields that must be present.
pub fn required<'de, D: Deserializer<'de>, T: LenientDecode>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::decode_required(deserializer)
}

/// A value decoded leniently: `Lenient<u64>` accepts `394` and `"394"`.
///
/// For types you decode yourself (`BatchHandle<Lenient<u64>>`, `serde_json::from_value`); the
/// generated methods decode their plain result types the same way without it. It dereferences
/// to the value and serializes as the value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lenient<T>(pub T);

impl<T> Lenient<T> {
    /// The decoded value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Lenient<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Lenient<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(value: T) -> Self {
        Lenient(value)
    }
}

impl<T: fmt::Display> fmt::Display for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: PartialEq> PartialEq<T> for Lenient<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: LenientDecode> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        required(deserializer).map(Lenient)
    }
}

impl<T: LenientDecode> LenientDecode for Lenient<T> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        Ok(T::decode_opt(deserializer)?.map(Lenient))
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::decode_required(deserializer).map(Lenient)
    }
}

/// Decodes one element with [`LenientDecode`] (`None` when absent).
struct Elem<T>(Option<T>);

impl<'de, T: LenientDecode> Deserialize<'de> for Elem<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::decode_opt(deserializer).map(Elem)
    }
}

// --- the second policy: what is not of the type is absent ----------------------------------

/// The client's own bookkeeping (`next`, `total`, the `time` block, a batch's `result_*`
/// maps, the token endpoint's answer) is read by the same rules as a field, with one
/// difference: a value that is not of the type is absent instead of an error (an answer is
/// not refused over its bookkeeping). `null` and the empty values are absent too.
pub(crate) trait AbsentIfInvalid: Sized {
    /// The value, or `None` when it is absent, empty or not of the type.
    fn read(value: Value) -> Option<Self>;
}

/// A value read by [`AbsentIfInvalid`], for `#[serde(default)]` fields and map values:
/// decoding it never fails once the JSON itself is well formed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrAbsent<T>(pub Option<T>);

impl<T> Default for OrAbsent<T> {
    fn default() -> Self {
        OrAbsent(None)
    }
}

impl<'de, T: AbsentIfInvalid> Deserialize<'de> for OrAbsent<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(OrAbsent(T::read(Value::deserialize(deserializer)?)))
    }
}

/// As an element of a lenient map or list, an `OrAbsent` is always there (holding `None` for
/// what was not of the type): the caller decides what an absent entry means.
impl<T: AbsentIfInvalid> LenientDecode for OrAbsent<T> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        Self::deserialize(deserializer).map(Some)
    }
}

/// `#[serde(default, deserialize_with = "crate::lenient::or_absent")]` for `Option<T>` fields
/// read by [`AbsentIfInvalid`].
pub(crate) fn or_absent<'de, D: Deserializer<'de>, T: AbsentIfInvalid>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    OrAbsent::<T>::deserialize(deserializer).map(|v| v.0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::{Map, json};

    fn opt<T: LenientDecode>(v: Value) -> Result<Option<T>, serde_json::Error> {
        T::decode_opt(v)
    }

    #[test]
    fn lenient_wrapper_and_paths() {
        #[derive(Debug, serde::Deserialize)]
        struct Row {
            #[serde(default, deserialize_with = "option", rename = "ID")]
            _id: Option<u64>,
        }
        let v: Lenient<u64> = serde_json::from_value(json!("394")).unwrap();
        assert_eq!(v, 394);
        assert_eq!(*v, 394);
        let err =
            serde_path_to_error::deserialize::<_, Vec<Row>>(json!([{"ID": "1"}, {"ID": "x"}]))
                .unwrap_err();
        assert_eq!(err.path().to_string(), "[1].ID");
    }

    /// A generated enum, as `emit.rs` writes its lenient decoding.
    #[derive(Debug)]
    struct Enum(#[allow(dead_code)] String);

    impl LenientDecode for Enum {
        fn decode_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            Ok(string_like_opt(d)?.map(Enum))
        }
    }

    /// A generated entity, as `emit.rs` writes it.
    #[derive(Debug, Default, serde::Deserialize)]
    struct Entity {
        #[serde(default, deserialize_with = "option", rename = "ID")]
        _id: Option<u64>,
        #[serde(flatten)]
        _extra: Map<String, Value>,
    }

    impl LenientDecode for Entity {
        fn decode_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            entity_opt(d)
        }
    }

    /// What an optional field (`lenient::option`) and a required one (`lenient::required`)
    /// make of `v`, as text: `None`, the `Some(..)`/value `Debug` form, or `error`.
    fn both<T: LenientDecode + fmt::Debug>(v: &Value) -> (String, String) {
        let opt = option::<_, T>(v.clone()).map_or_else(|_| "error".into(), |x| format!("{x:?}"));
        let req = required::<_, T>(v.clone()).map_or_else(|_| "error".into(), |x| format!("{x:?}"));
        (opt, req)
    }

    /// The empty-value rule of the module docs, per spec type: each of the portal's empty forms
    /// `null`, `""`, `[]`, then `{}` and `false`, for an optional and a required value.
    #[test]
    fn empty_values_follow_one_rule() {
        type Row = (
            &'static str,
            fn(&Value) -> (String, String),
            [&'static str; 5],
            [&'static str; 5],
        );
        let forms = [json!(null), json!(""), json!([]), json!({}), json!(false)];
        let none3 = |rest: [&'static str; 2]| ["None", "None", "None", rest[0], rest[1]];
        let rows: Vec<Row> = vec![
            // `string`, `decimal`, `date`, `datetime` are all `String`.
            (
                "string/decimal/date/datetime",
                both::<String>,
                none3(["error", r#"Some("false")"#]),
                ["error", r#""""#, "error", "error", r#""false""#],
            ),
            ("int", both::<i64>, none3(["error", "error"]), ["error"; 5]),
            ("id", both::<u64>, none3(["error", "error"]), ["error"; 5]),
            (
                "float",
                both::<f64>,
                none3(["error", "error"]),
                ["error"; 5],
            ),
            (
                "bool/flag",
                both::<bool>,
                none3(["error", "Some(false)"]),
                ["error", "error", "error", "error", "false"],
            ),
            (
                "enum",
                both::<Enum>,
                none3(["error", r#"Some(Enum("false"))"#]),
                ["error", "error", "error", "error", r#"Enum("false")"#],
            ),
            (
                "object",
                both::<Map<String, Value>>,
                none3(["Some({})", "None"]),
                ["error", "error", "{}", "{}", "error"],
            ),
            (
                "map<id>",
                both::<BTreeMap<String, u64>>,
                none3(["Some({})", "None"]),
                ["error", "error", "{}", "{}", "error"],
            ),
            (
                "entity",
                both::<Entity>,
                none3(["Some(Entity { _id: None, _extra: {} })", "None"]),
                [
                    "error",
                    "error",
                    "error",
                    "Entity { _id: None, _extra: {} }",
                    "error",
                ],
            ),
            (
                "list<id>",
                both::<Vec<u64>>,
                ["None", "None", "Some([])", "Some([])", "None"],
                ["error", "error", "[]", "[]", "error"],
            ),
            (
                "value",
                both::<Value>,
                [
                    "None",
                    r#"Some(String(""))"#,
                    "Some(Array [])",
                    "Some(Object {})",
                    "Some(Bool(false))",
                ],
                [
                    "error",
                    r#"String("")"#,
                    "Array []",
                    "Object {}",
                    "Bool(false)",
                ],
            ),
        ];
        for (ty, decode, opt, req) in rows {
            for (i, form) in forms.iter().enumerate() {
                let (got_opt, got_req) = decode(form);
                assert_eq!(got_opt, opt[i], "optional {ty} from {form}");
                assert_eq!(got_req, req[i], "required {ty} from {form}");
            }
        }
    }

    /// The wire-exact `Decimal`, `DateTime` and `Date` follow the string rule.

    #[test]
    fn empty_elements_of_lists_and_maps_are_skipped() {
        assert_eq!(
            opt::<Vec<String>>(json!(["a", "", null, []])).unwrap(),
            Some(vec!["a".to_owned()])
        );
        assert_eq!(
            opt::<Vec<u64>>(json!(["4", "", null, []])).unwrap(),
            Some(vec![4])
        );
        let m = opt::<BTreeMap<String, String>>(json!({"a": "x", "b": "", "c": null, "d": []}))
            .unwrap()
            .unwrap();
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            vec![("a".into(), "x".into())]
        );
        // Not PHP's empty array: a list of empty values is an (empty) map.
        assert_eq!(
            opt::<BTreeMap<String, u64>>(json!(["", null])).unwrap(),
            Some(BTreeMap::new())
        );
    }

    #[test]
    fn or_absent_never_fails_on_well_formed_json() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(default)]
            n: OrAbsent<u64>,
            #[serde(default, deserialize_with = "or_absent")]
            f: Option<f64>,
        }
        for v in [json!("x"), json!([1]), json!({}), json!(true), json!(null)] {
            let row: Row = serde_json::from_value(json!({"n": v, "f": v})).unwrap();
            assert_eq!((row.n.0, row.f), (None, None), "{v}");
        }
        let row: Row = serde_json::from_value(json!({"n": -1, "f": -1})).unwrap();
        assert_eq!(
            (row.n.0, row.f),
            (None, Some(-1.0)),
            "a number of another type"
        );
        let row: Row = serde_json::from_value(json!({})).unwrap();
        assert_eq!((row.n.0, row.f), (None, None));
        let row: Row = serde_json::from_value(json!({"n": "7", "f": " 0.5 "})).unwrap();
        assert_eq!((row.n.0, row.f), (Some(7), Some(0.5)));
        // As a map element it is always there, holding what was read.
        let m = opt::<BTreeMap<String, OrAbsent<u64>>>(json!(["3", "x"]))
            .unwrap()
            .unwrap();
        assert_eq!((m["0"].0, m["1"].0), (Some(3), None));
    }
}
