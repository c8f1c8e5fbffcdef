//! Lenient decoding of Bitrix24 values, used by the generated entities and responses.
//!
//! The portal sends numbers as strings (`"42"`), booleans as `"Y"`/`"N"`, empty maps as `[]`
//! (PHP's empty array), lists as objects with numeric keys, and `null`, `""` or `[]` for a value
//! that is not set. The [`LenientDecode`] trait decodes every spec type from all of these;
//! [`option`] and [`required`] plug it into `#[serde(deserialize_with = ...)]`, and
//! [`Lenient<T>`] wraps a whole `result`.
//!
//! | type | decodes from |
//! | --- | --- |
//! | `String` (`string`, `decimal`, `date`, `datetime`) | string, number, bool |
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

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

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
/// The generated methods use it for scalar and collection results (`crm.deal.add` returns
/// `Lenient<u64>`); it dereferences to the value and serializes as the value.
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

/// `[]` (PHP's empty array) is an empty value for a scalar; any other list is the wrong type.
macro_rules! empty_list_is_none {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            match seq.next_element::<de::IgnoredAny>()? {
                None => Ok(None),
                Some(_) => Err(de::Error::invalid_type(Unexpected::Seq, &self)),
            }
        }
    };
}

/// Decodes one element with [`LenientDecode`] (`None` when absent).
struct Elem<T>(Option<T>);

impl<'de, T: LenientDecode> Deserialize<'de> for Elem<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::decode_opt(deserializer).map(Elem)
    }
}

// --- strings --------------------------------------------------------------------------------

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
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_list_is_none!();
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

// --- numbers --------------------------------------------------------------------------------

macro_rules! number {
    ($t:ty, $visitor:ident, $what:literal) => {
        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = Option<$t>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($what)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                <$t as FromNumber>::from_i64(v)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                <$t as FromNumber>::from_u64(v)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                <$t as FromNumber>::from_f64(v)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let t = v.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                <$t as FromNumber>::from_text(t)
                    .map(Some)
                    .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            empty_list_is_none!();
        }

        impl LenientDecode for $t {
            fn decode_opt<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<Self>, D::Error> {
                deserializer.deserialize_any($visitor)
            }
        }
    };
}

trait FromNumber: Sized {
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    fn from_text(v: &str) -> Option<Self>;
}

/// A number written the way the portal writes them (`-12`, `1000000.00`): digits, one sign,
/// one point. `NaN`, `inf` and exponents (`1e3`) are not numbers here.
fn plain_decimal(v: &str) -> Option<f64> {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if plain { v.parse().ok() } else { None }
}

/// An `f64` holding an integer that fits in an `i64`/`u64` without loss.
fn integral(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15
}

impl FromNumber for i64 {
    fn from_i64(v: i64) -> Option<Self> {
        Some(v)
    }
    fn from_u64(v: u64) -> Option<Self> {
        i64::try_from(v).ok()
    }
    fn from_f64(v: f64) -> Option<Self> {
        integral(v).then_some(v as i64)
    }
    fn from_text(v: &str) -> Option<Self> {
        v.parse()
            .ok()
            .or_else(|| plain_decimal(v).and_then(Self::from_f64))
    }
}

impl FromNumber for u64 {
    fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok()
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
    fn from_f64(v: f64) -> Option<Self> {
        (integral(v) && v >= 0.0).then_some(v as u64)
    }
    fn from_text(v: &str) -> Option<Self> {
        v.parse()
            .ok()
            .or_else(|| plain_decimal(v).and_then(Self::from_f64))
    }
}

impl FromNumber for f64 {
    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(v)
    }
    fn from_text(v: &str) -> Option<Self> {
        plain_decimal(v)
    }
}

number!(i64, I64Visitor, "an integer or an integer string");
number!(u64, U64Visitor, "a non-negative integer or such a string");
number!(f64, F64Visitor, "a number or a numeric string");

// --- booleans -------------------------------------------------------------------------------

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
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_list_is_none!();
}

impl LenientDecode for bool {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(BoolVisitor)
    }
}

// --- JSON values ----------------------------------------------------------------------------

impl LenientDecode for Value {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Ok(if v.is_null() { None } else { Some(v) })
    }
}

/// The empty encodings of a collection or an entity: `null`, `false` and `""`.
macro_rules! empty_is_none {
    () => {
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            if v {
                Err(E::invalid_type(Unexpected::Bool(v), &self))
            } else {
                Ok(None)
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.is_empty() {
                Ok(None)
            } else {
                Err(E::invalid_type(Unexpected::Str(v), &self))
            }
        }
    };
}

struct ObjectVisitor(Empty);

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Option<Map<String, Value>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object (or `[]`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut i = 0usize;
        while let Some(v) = seq.next_element::<Value>()? {
            out.insert(i.to_string(), v);
            i += 1;
        }
        Ok((i > 0 || self.0 == Empty::Itself).then_some(out))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_is_none!();
}

impl LenientDecode for Map<String, Value> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(Empty::Absent))
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ObjectVisitor(Empty::Itself))?
            .ok_or_else(missing)
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: LenientDecode> Visitor<'de> for ListVisitor<T> {
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list (or an object of values)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Elem(v)) = seq.next_element::<Elem<T>>()? {
            out.extend(v);
        }
        Ok(Some(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((_, Elem(v))) = map.next_entry::<de::IgnoredAny, Elem<T>>()? {
            out.extend(v);
        }
        Ok(Some(out))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_is_none!();
}

impl<T: LenientDecode> LenientDecode for Vec<T> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct MapVisitor<T>(Empty, PhantomData<T>);

impl<'de, T: LenientDecode> Visitor<'de> for MapVisitor<T> {
    type Value = Option<BTreeMap<String, T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object (or a list, or `[]`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, Elem(v))) = map.next_entry::<String, Elem<T>>()? {
            if let Some(v) = v {
                out.insert(k, v);
            }
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut i = 0usize;
        while let Some(Elem(v)) = seq.next_element::<Elem<T>>()? {
            if let Some(v) = v {
                out.insert(i.to_string(), v);
            }
            i += 1;
        }
        Ok((i > 0 || self.0 == Empty::Itself).then_some(out))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_is_none!();
}

impl<T: LenientDecode> LenientDecode for BTreeMap<String, T> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(MapVisitor(Empty::Absent, PhantomData))
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(MapVisitor(Empty::Itself, PhantomData))?
            .ok_or_else(missing)
    }
}

// --- entities -------------------------------------------------------------------------------

struct EntityVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EntityVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // PHP encodes an empty object as `[]`.
        match seq.next_element::<de::IgnoredAny>()? {
            None => Ok(None),
            Some(_) => Err(de::Error::invalid_type(Unexpected::Seq, &self)),
        }
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    empty_is_none!();
}

/// Decodes an entity (an object) leniently: `null`, `[]`, `false` and `""` are absent.
pub fn entity_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_any(EntityVisitor(PhantomData))
}

// --- example checks (generated tests) -------------------------------------------------------

/// The `result` of a documented example: the example is either the whole body
/// (`{"result": ..., "time": ...}`) or the `result` value alone.
#[cfg(test)]
pub(crate) fn example_result(json: &str) -> Value {
    let value: Value =
        serde_json::from_str(json).expect("the example is JSON (checked by the generator)");
    match value {
        Value::Object(mut map)
            if map.contains_key("result")
                && map
                    .keys()
                    .all(|k| matches!(k.as_str(), "result" | "time" | "total" | "next")) =>
        {
            map.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Decodes a documented example into `M::Response`, panicking with the JSON path on failure.
#[cfg(test)]
pub(crate) fn check_example<M: crate::Method>(json: &str) {
    let result = example_result(json);
    if let Err(e) = serde_path_to_error::deserialize::<_, M::Response>(result) {
        panic!(
            "{}: the example does not decode at `{}`: {}",
            M::NAME,
            e.path(),
            e.inner()
        );
    }
}

/// [`check_example`], plus every row into `M::Item`.
#[cfg(test)]
pub(crate) fn check_list_example<M: crate::ListMethod>(json: &str) {
    check_example::<M>(json);
    let mut result = example_result(json);
    if let Some(key) = M::WRAPPER {
        result = result.get(key).cloned().unwrap_or(Value::Null);
    }
    let rows = match result {
        Value::Array(rows) => rows,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    for (i, row) in rows.into_iter().enumerate() {
        if let Err(e) = serde_path_to_error::deserialize::<_, M::Item>(row) {
            panic!(
                "{}: row {i} does not decode at `{}`: {}",
                M::NAME,
                e.path(),
                e.inner()
            );
        }
    }
}

/// Decodes a generated entity sample (every field in Bitrix24's string-typed form plus
/// `UF_CRM_SAMPLE`), panicking with the JSON path on failure; the unknown field must be kept.
#[cfg(test)]
pub(crate) fn check_entity_sample<T: serde::de::DeserializeOwned + crate::Entity>(json: &str) {
    let value: Value = serde_json::from_str(json).expect("the sample is JSON");
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(entity) => assert_eq!(
            entity.extra().get("UF_CRM_SAMPLE"),
            Some(&Value::from("kept")),
            "{}: unknown fields must be kept in `extra`",
            T::NAME
        ),
        Err(e) => panic!(
            "{}: the sample does not decode at `{}`: {}",
            T::NAME,
            e.path(),
            e.inner()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opt<T: LenientDecode>(v: Value) -> Result<Option<T>, serde_json::Error> {
        T::decode_opt(v)
    }

    #[test]
    fn numbers_from_strings() {
        assert_eq!(opt::<u64>(json!("42")).unwrap(), Some(42));
        assert_eq!(opt::<u64>(json!(42)).unwrap(), Some(42));
        assert_eq!(opt::<u64>(json!("")).unwrap(), None);
        assert_eq!(opt::<u64>(json!(null)).unwrap(), None);
        assert_eq!(opt::<i64>(json!("-3")).unwrap(), Some(-3));
        assert_eq!(opt::<i64>(json!(2.0)).unwrap(), Some(2));
        assert_eq!(opt::<f64>(json!("1.5")).unwrap(), Some(1.5));
        assert!(opt::<u64>(json!("-1")).is_err());
        assert!(opt::<u64>(json!("abc")).is_err());
        assert!(opt::<i64>(json!(1.5)).is_err());
    }

    #[test]
    fn bools_from_bitrix() {
        assert_eq!(opt::<bool>(json!("Y")).unwrap(), Some(true));
        // Only plain decimals count as numbers: no NaN, infinities or exponents.
        for odd in ["NaN", "inf", "infinity", "1e3", "--1", "."] {
            assert!(
                opt::<f64>(json!(odd)).is_err() || opt::<f64>(json!(odd)).unwrap().is_none(),
                "{odd}"
            );
            assert!(
                opt::<i64>(json!(odd)).is_err() || opt::<i64>(json!(odd)).unwrap().is_none(),
                "{odd}"
            );
        }
        assert_eq!(opt::<i64>(json!("5.0")).unwrap(), Some(5));
        assert_eq!(opt::<f64>(json!("1000000.00")).unwrap(), Some(1_000_000.0));
        assert_eq!(opt::<bool>(json!("N")).unwrap(), Some(false));
        assert_eq!(opt::<bool>(json!(1)).unwrap(), Some(true));
        assert_eq!(opt::<bool>(json!("0")).unwrap(), Some(false));
        assert_eq!(opt::<bool>(json!(true)).unwrap(), Some(true));
        assert_eq!(opt::<bool>(json!("")).unwrap(), None);
        assert!(opt::<bool>(json!("maybe")).is_err());
    }

    #[test]
    fn strings_from_numbers() {
        assert_eq!(opt::<String>(json!(7)).unwrap().as_deref(), Some("7"));
        assert_eq!(opt::<String>(json!("")).unwrap(), None);
        assert_eq!(required::<_, String>(json!("")).unwrap(), "");
        assert_eq!(string_like_opt(json!("")).unwrap(), None);
    }

    #[test]
    fn collections_from_php() {
        assert_eq!(
            opt::<Vec<u64>>(json!({"0": "4", "1": 7})).unwrap(),
            Some(vec![4, 7])
        );
        assert_eq!(opt::<Vec<u64>>(json!(["4", null])).unwrap(), Some(vec![4]));
        assert_eq!(opt::<Vec<u64>>(json!(false)).unwrap(), None);
        assert_eq!(opt::<Map<String, Value>>(json!([])).unwrap(), None);
        assert_eq!(
            required::<_, Map<String, Value>>(json!([])).unwrap(),
            Map::new()
        );
        let m = opt::<BTreeMap<String, u64>>(json!(["5", "6"]))
            .unwrap()
            .unwrap();
        assert_eq!(m.get("1"), Some(&6));
        assert_eq!(opt::<BTreeMap<String, u64>>(json!([])).unwrap(), None);
        assert_eq!(
            serde_json::from_value::<Lenient<BTreeMap<String, u64>>>(json!([]))
                .unwrap()
                .into_inner(),
            BTreeMap::new()
        );
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

    #[test]
    fn entities_from_php_empty() {
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct E {
            a: u8,
        }
        assert_eq!(entity_opt::<_, E>(json!([])).unwrap(), None);
        assert_eq!(
            entity_opt::<_, E>(json!({"a": 1})).unwrap(),
            Some(E { a: 1 })
        );
        assert!(entity_opt::<_, E>(json!([1])).is_err());
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
    fn wire_exact_types_follow_the_string_rule() {
        use crate::types::{Date, DateTime, Decimal};
        for form in [json!(null), json!(""), json!([])] {
            assert!(
                option::<_, Decimal>(form.clone()).unwrap().is_none(),
                "{form}"
            );
            assert!(
                option::<_, DateTime>(form.clone()).unwrap().is_none(),
                "{form}"
            );
            assert!(option::<_, Date>(form.clone()).unwrap().is_none(), "{form}");
        }
        assert_eq!(
            option::<_, Decimal>(json!("100.50")).unwrap().unwrap(),
            "100.50"
        );
    }

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
    fn example_envelopes() {
        assert_eq!(example_result(r#"{"result": 5, "time": {}}"#), json!(5));
        assert_eq!(
            example_result(r#"{"result": 5, "other": 1}"#),
            json!({"result": 5, "other": 1})
        );
        assert_eq!(example_result("[1]"), json!([1]));
    }
}
