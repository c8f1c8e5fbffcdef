//! The rule every lenient decoder follows: the [`LenientDecode`] trait, its entry points
//! [`option`] and [`required`], the [`Lenient`] wrapper, what an empty value decodes to
//! ([`Empty`]), and the second policy for the client's bookkeeping ([`AbsentIfInvalid`]).
//! The decoders per type live beside this file; `lenient.rs` puts them together.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// `null` (and an `Option`'s `None`) is absent; a present `Option` is read as its value.
macro_rules! null_is_none {
    () => {
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::de::Deserializer<'de>>(
            self,
            d: D,
        ) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
}
pub(crate) use null_is_none;

/// `[]` (PHP's empty array) is an empty value; any other list is the wrong type.
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
pub(crate) use empty_list_is_none;

/// The empty encodings of a scalar: `null` and `[]` (a scalar visitor reads `""` itself).
macro_rules! scalar_empty_is_none {
    () => {
        $crate::lenient::decode::null_is_none!();
        $crate::lenient::decode::empty_list_is_none!();
    };
}
pub(crate) use scalar_empty_is_none;

/// The empty encodings of a collection or an entity: `null`, `false` and `""`.
macro_rules! empty_is_none {
    () => {
        $crate::lenient::decode::null_is_none!();
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
pub(crate) use empty_is_none;

/// A type that decodes leniently from what Bitrix24 sends. `Ok(None)` means "absent"
/// (`null`, and the empty values of the [module docs](crate::lenient#empty-values-one-rule)).
pub trait LenientDecode: Sized {
    /// Decodes an optional value, or `None` when it is absent or empty.
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error>;

    /// Decodes a value that must be there: an error when it is absent. Types with an empty
    /// value of their own (`String`, maps, lists) decode the portal's empty forms to it.
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::decode_opt(deserializer)?.ok_or_else(missing)
    }
}

pub(super) fn missing<E: de::Error>() -> E {
    E::custom("a value is required here, found null or an empty value")
}

/// What the portal's empty values (`""`, `[]`) decode to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Empty {
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

/// An optional value decoded from JSON, for the decoders' unit tests.
#[cfg(test)]
pub(super) fn opt<T: LenientDecode>(v: Value) -> Result<Option<T>, serde_json::Error> {
    T::decode_opt(v)
}

/// Decodes one element with [`LenientDecode`] (`None` when absent).
pub(super) struct Elem<T>(pub(super) Option<T>);

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
