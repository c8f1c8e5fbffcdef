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

mod containers;
mod decode;
#[cfg(test)]
mod examples;
mod field_path;
mod flags;
#[cfg(bitrix24_entities)]
mod member;
mod numbers;
mod strings;

pub use containers::entity_opt;
pub(crate) use decode::{AbsentIfInvalid, OrAbsent, or_absent};
pub use decode::{Lenient, LenientDecode, option, required};
#[cfg(test)]
pub(crate) use examples::{check_entity_sample, check_example, check_list_example};
#[cfg(bitrix24_entities)]
pub(crate) use field_path::field_error;
pub(crate) use field_path::join_field_path;
pub use flags::{yes_no, yes_no_required};
#[cfg(bitrix24_entities)]
pub(crate) use member::{Member, MemberSeed};
pub(crate) use numbers::plain_decimal;
pub use strings::{string_like, string_like_opt};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::Deserializer;
    use serde_json::{Map, Value, json};

    use super::decode::opt;
    use super::*;

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

    /// A generated enum, as `bitrix24-codegen` writes its lenient decoding.
    #[derive(Debug)]
    struct Enum(#[allow(dead_code)] String);

    impl LenientDecode for Enum {
        fn decode_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            Ok(string_like_opt(d)?.map(Enum))
        }
    }

    /// A generated entity, as `bitrix24-codegen` writes it.
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
