//! Numbers: `i64`, `u64` and `f64` from numbers and numeric strings, the one reading of a
//! number the crate has. A field ([`option`](crate::lenient::option)) errors on what is not a
//! number; the client's bookkeeping (`AbsentIfInvalid`) reads it as absent.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde_json::Value;

use super::decode::{AbsentIfInvalid, LenientDecode, scalar_empty_is_none};

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
            scalar_empty_is_none!();
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

trait FromNumber: Sized + std::str::FromStr {
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    /// An integer's text, or a plain decimal holding an integer (`"5.0"`).
    fn from_text(v: &str) -> Option<Self> {
        v.parse()
            .ok()
            .or_else(|| plain_decimal(v).and_then(Self::from_f64))
    }
}

/// A number written the way the portal writes them (`-12`, `1000000.00`): digits, one sign,
/// one point. `NaN`, `inf` and exponents (`1e3`) are not numbers here.
pub(crate) fn plain_decimal(v: &str) -> Option<f64> {
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

/// The largest magnitude an `f64` holds integers at exactly (with margin): `integral`'s bound.
const EXACT: f64 = 9.0e15;

impl AbsentIfInvalid for u64 {
    /// A count the portal reports (`next`, `total`, `expires_in`): read like a `u64` field,
    /// except that a number too large to read exactly is `u64::MAX` ("more than can be
    /// walked": pagination refuses a `total` of `1e20` by name instead of guessing).
    fn read(value: Value) -> Option<Self> {
        match Self::decode_opt(&value) {
            Ok(n) => n,
            Err(_) => value.as_f64().filter(|f| *f >= EXACT).map(|_| u64::MAX),
        }
    }
}

impl AbsentIfInvalid for f64 {
    /// A time of the `time` block: read like an `f64` field.
    fn read(value: Value) -> Option<Self> {
        Self::decode_opt(&value).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::opt;
    use super::*;
    use serde_json::json;

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
    fn only_plain_decimals_are_numbers() {
        // No NaN, infinities or exponents.
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
    }

    /// The two policies over the one reading: a field (`option`) errors on what is not a
    /// number; the client's bookkeeping (`AbsentIfInvalid`) reads it as absent. Both agree on
    /// every number and on the empty values.
    #[test]
    fn the_field_policy_errors_where_the_bookkeeping_policy_is_absent() {
        let agree: [(Value, Option<u64>); 8] = [
            (json!(50), Some(50)),
            (json!("50"), Some(50)),
            (json!(" 50 "), Some(50)),
            (json!("50.0"), Some(50)),
            (json!(50.0), Some(50)),
            (json!(null), None),
            (json!(""), None),
            (json!([]), None),
        ];
        for (v, want) in agree {
            assert_eq!(opt::<u64>(v.clone()).unwrap(), want, "field {v}");
            assert_eq!(u64::read(v.clone()), want, "bookkeeping {v}");
        }
        for v in [
            json!("abc"),
            json!(-1),
            json!("-1"),
            json!(1.5),
            json!("1e3"),
            json!("NaN"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            assert!(opt::<u64>(v.clone()).is_err(), "field {v}");
            assert_eq!(u64::read(v.clone()), None, "bookkeeping {v}");
        }
        for v in [
            json!("abc"),
            json!("NaN"),
            json!("inf"),
            json!("1e3"),
            json!([0.5]),
        ] {
            assert!(opt::<f64>(v.clone()).is_err(), "field {v}");
            assert_eq!(f64::read(v.clone()), None, "bookkeeping {v}");
        }
        assert_eq!(f64::read(json!("1721722262.98")), Some(1_721_722_262.98));
        assert_eq!(f64::read(json!(0)), Some(0.0));
    }

    #[test]
    fn a_count_too_large_to_read_exactly_is_the_largest_u64() {
        assert!(opt::<u64>(json!(1e20)).is_err(), "a field refuses it");
        assert_eq!(u64::read(json!(1e20)), Some(u64::MAX));
        assert_eq!(u64::read(json!(u64::MAX)), Some(u64::MAX));
        // Not a number at all stays absent, however large it looks.
        assert_eq!(u64::read(json!("1e20")), None);
        assert_eq!(u64::read(json!(-1e20)), None);
    }
}
