//! Wire-exact value types for money and time: [`Decimal`], [`DateTime`] and [`Date`].
//!
//! Each keeps the text the portal sent (or that you gave), so nothing is rounded or reformatted
//! on the way through, and converts to a real type on request: `f64` always,
//! `rust_decimal::Decimal` with the `decimal` feature, `time::OffsetDateTime` / `time::Date`
//! with the `time` feature.
//!
//! ```
//! use bitrix24::{DateTime, Decimal};
//! let price: Decimal = serde_json::from_str(r#""15000.50""#).unwrap();
//! assert_eq!(price.as_str(), "15000.50");
//! assert_eq!(price.to_f64(), Some(15000.5));
//! assert_eq!(serde_json::to_string(&Decimal::from(15000.5)).unwrap(), r#""15000.5""#);
//! let at: DateTime = serde_json::from_str(r#""2024-04-24T12:06:30+03:00""#).unwrap();
//! assert_eq!(at.as_str(), "2024-04-24T12:06:30+03:00");
//! ```

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Why a wire value does not convert to the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {what}")]
pub struct ConvertError {
    /// What was expected (`decimal number`, `date`, `date-time`).
    pub what: &'static str,
    /// The text that did not convert.
    pub value: String,
}

macro_rules! wire_text {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The wire text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(TextVisitor($what)).map($name)
            }
        }

        impl crate::lenient::LenientDecode for $name {
            fn decode_opt<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<Self>, D::Error> {
                Ok(crate::lenient::string_like_opt(deserializer)?.map($name))
            }
        }

        #[cfg(any(feature = "time", feature = "decimal"))]
        impl $name {
            /// The error of a conversion: this text is not a valid value of the type.
            #[allow(dead_code)] // each type converts under one of the two features
            fn invalid(&self) -> ConvertError {
                ConvertError {
                    what: $what,
                    value: self.0.clone(),
                }
            }
        }
    };
}

/// Accepts a string, or a number written as its text (money may come as a JSON number).
struct TextVisitor(&'static str);

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} as a string", self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        if v.is_finite() {
            Ok(v.to_string())
        } else {
            Err(E::custom(format!("{v} is not a {}", self.0)))
        }
    }
}

wire_text!(
    /// A decimal amount exactly as written (`"15000.50"`): money, quantities, rates.
    ///
    /// Build one from a number (`Decimal::from(15000.5)`) or text (`"15000.50".into()`).
    Decimal,
    "decimal number"
);

wire_text!(
    /// A date-time as the portal writes it: ISO 8601 with an offset
    /// (`2024-04-24T12:06:30+03:00`).
    DateTime,
    "date-time"
);

wire_text!(
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    "date"
);

impl Decimal {
    /// The amount as an `f64` (approximate), when the text is a plain decimal number.
    pub fn to_f64(&self) -> Option<f64> {
        crate::lenient::plain_decimal(self.0.trim())
    }

    /// The amount as an exact `rust_decimal::Decimal`.
    #[cfg(feature = "decimal")]
    #[cfg_attr(docsrs, doc(cfg(feature = "decimal")))]
    pub fn to_decimal(&self) -> Result<rust_decimal::Decimal, ConvertError> {
        self.0
            .trim()
            .parse::<rust_decimal::Decimal>()
            .map_err(|_| self.invalid())
    }
}

macro_rules! from_numbers {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(v: $t) -> Self {
                Decimal(v.to_string())
            }
        }
    )*};
}

from_numbers!(i32, i64, u32, u64, f64);

#[cfg(feature = "decimal")]
#[cfg_attr(docsrs, doc(cfg(feature = "decimal")))]
impl From<rust_decimal::Decimal> for Decimal {
    fn from(v: rust_decimal::Decimal) -> Self {
        Decimal(v.to_string())
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl DateTime {
    /// The instant, parsed as ISO 8601 with an offset (RFC 3339).
    pub fn to_offset_date_time(&self) -> Result<time::OffsetDateTime, ConvertError> {
        time::OffsetDateTime::parse(
            self.0.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| self.invalid())
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl From<time::OffsetDateTime> for DateTime {
    /// Written as RFC 3339 with the value's offset (`2024-04-24T12:06:30+03:00`).
    fn from(v: time::OffsetDateTime) -> Self {
        let text = v
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        DateTime(text)
    }
}

#[cfg(feature = "time")]
const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl Date {
    /// The date, parsed as `YYYY-MM-DD` (a date-time's date part is accepted too).
    pub fn to_date(&self) -> Result<time::Date, ConvertError> {
        let text = self.0.trim();
        let day = text.get(..10).unwrap_or(text);
        time::Date::parse(day, DATE_FORMAT).map_err(|_| self.invalid())
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl From<time::Date> for Date {
    fn from(v: time::Date) -> Self {
        Date(v.format(DATE_FORMAT).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_text_round_trips() {
        for (json, text) in [
            (r#""15000.50""#, "15000.50"),
            ("15000.5", "15000.5"),
            ("42", "42"),
            (r#""0.00""#, "0.00"),
        ] {
            let d: Decimal = serde_json::from_str(json).unwrap();
            assert_eq!(d.as_str(), text);
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{text}\""),
                "sent as text"
            );
        }
        assert!(serde_json::from_str::<Decimal>("true").is_err());
        assert!(serde_json::from_str::<Decimal>("null").is_err());
    }

    #[test]
    fn decimal_to_f64_reads_plain_numbers_only() {
        assert_eq!(Decimal::from("15000.50").to_f64(), Some(15000.5));
        assert_eq!(Decimal::from("-3").to_f64(), Some(-3.0));
        for bad in ["", "1e5", "NaN", "inf", "1.2.3", "-", "."] {
            assert_eq!(Decimal::from(bad).to_f64(), None, "{bad}");
        }
    }

    #[test]
    fn empty_values_are_absent_in_lenient_fields() {
        #[derive(Deserialize)]
        struct Row {
            #[serde(default, deserialize_with = "crate::lenient::option")]
            opportunity: Option<Decimal>,
            #[serde(default, deserialize_with = "crate::lenient::option")]
            closed: Option<DateTime>,
        }
        let row: Row = serde_json::from_str(r#"{"opportunity":"","closed":null}"#).unwrap();
        assert!(row.opportunity.is_none() && row.closed.is_none());
        let row: Row =
            serde_json::from_str(r#"{"opportunity":100,"closed":"2024-04-24T12:06:30+03:00"}"#)
                .unwrap();
        assert_eq!(row.opportunity.unwrap(), "100");
        assert_eq!(row.closed.unwrap(), "2024-04-24T12:06:30+03:00");
    }

    /// The wire-exact `Decimal`, `DateTime` and `Date` follow the string rule of `lenient`.
    #[test]
    fn wire_exact_types_follow_the_string_rule() {
        use serde_json::json;
        fn absent<T: crate::lenient::LenientDecode>(form: &serde_json::Value) -> bool {
            crate::lenient::option::<_, T>(form.clone())
                .unwrap()
                .is_none()
        }
        for form in [json!(null), json!(""), json!([])] {
            assert!(absent::<Decimal>(&form), "Decimal from {form}");
            assert!(absent::<DateTime>(&form), "DateTime from {form}");
            assert!(absent::<Date>(&form), "Date from {form}");
        }
        assert_eq!(
            crate::lenient::option::<_, Decimal>(json!("100.50"))
                .unwrap()
                .unwrap(),
            "100.50"
        );
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn decimal_converts_exactly() {
        let d = Decimal::from("15000.50").to_decimal().unwrap();
        assert_eq!(d.to_string(), "15000.50");
        assert_eq!(Decimal::from(d).as_str(), "15000.50");
        assert!(Decimal::from("abc").to_decimal().is_err());
    }

    #[cfg(feature = "time")]
    #[test]
    fn documented_date_formats_round_trip() {
        // The forms the docs' examples show: legacy CRM and crm.item date-times, task dates.
        for text in [
            "2024-04-24T12:06:30+03:00",
            "2023-07-11T15:02:17+02:00",
            "2022-07-30T00:00:00+00:00",
        ] {
            let at = DateTime::from(text).to_offset_date_time().unwrap();
            assert_eq!(DateTime::from(at).as_str(), text.replace("+00:00", "Z"));
        }
        assert!(DateTime::from("2022/07/30").to_offset_date_time().is_err());
        let day = Date::from("2024-01-31").to_date().unwrap();
        assert_eq!(Date::from(day).as_str(), "2024-01-31");
        assert_eq!(
            Date::from("2024-01-31T10:00:00+03:00").to_date().unwrap(),
            day
        );
    }
}
