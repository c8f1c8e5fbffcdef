//! [`Secret`]: a string that never shows itself in `Debug`, `Display`, logs or errors.

use std::fmt;
use subtle::ConstantTimeEq;

/// A secret value: a webhook code, an access or refresh token, a client secret or an
/// application token.
///
/// `Debug` and `Display` print `***`; equality is checked in constant time; the value is only
/// reachable through [`Secret::expose`], which makes every use easy to audit.
///
/// ```
/// use bitrix24::Secret;
/// let s = Secret::new("4f9k4jpmg13usmyb");
/// assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
/// assert_eq!(s, Secret::new("4f9k4jpmg13usmyb"));
/// assert_eq!(s.expose(), "4f9k4jpmg13usmyb");
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Send it only where it belongs (the portal or the token endpoint).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with a plain string in constant time (for the lengths given).
    pub fn matches(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.0)
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// The value itself: a request sends a secret parameter (a SIP password, a token) to the portal
/// as a string. Print a request with `Debug`, never as JSON.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A string (numbers as text too, as the portal may send them).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::lenient::string_like(deserializer).map(Secret)
    }
}

impl crate::lenient::LenientDecode for Secret {
    fn decode_opt<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(crate::lenient::string_like_opt(deserializer)?.map(Secret))
    }
}

#[cfg(test)]
mod wire_tests {
    use super::Secret;

    #[test]
    fn a_secret_travels_as_its_string_and_never_prints() {
        let s: Secret = serde_json::from_str("\"N7K4mCG9\"").unwrap();
        assert_eq!(s.expose(), "N7K4mCG9");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"N7K4mCG9\"");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let n: Secret = serde_json::from_str("150907").unwrap();
        assert_eq!(n.expose(), "150907");
    }
}
