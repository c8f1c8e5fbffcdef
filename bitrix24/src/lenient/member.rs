//! One member value of an entity's object as `entity::Fields` keeps it until a typed field
//! takes it: text stays borrowed from the body (the portal sends nearly every field as a
//! string, `"ID": "37"`, and a number or flag read from it needs no copy of its own), any
//! other value is a [`Value`]. It decodes as the value it holds would, so every lenient
//! decoder reads it as it reads the body.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A member value: text (borrowed when the body holds it unescaped) or any other JSON value.
#[derive(Debug)]
pub(crate) enum Member<'de> {
    Text(Cow<'de, str>),
    Other(Value),
}

impl From<Member<'_>> for Value {
    fn from(member: Member<'_>) -> Value {
        match member {
            Member::Text(text) => Value::String(text.into_owned()),
            Member::Other(value) => value,
        }
    }
}

/// Reads one member value.
pub(crate) struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Member<'de>, E> {
        Ok(Member::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Member<'de>, E> {
        Ok(Member::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Member<'de>, E> {
        Ok(Member::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Member<'de>, E> {
        // As `Value` reads it: a number that is not finite is `null`.
        Ok(Member::Other(Value::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
        Ok(Member::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Member<'de>, E> {
        Ok(Member::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Member<'de>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Member::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Member::Other)
    }
}

/// A member decodes as the JSON value it holds: text as a string, the rest as its `Value`.
impl<'de> Deserializer<'de> for Member<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Member::Text(Cow::Borrowed(text)) => visitor.visit_borrowed_str(text),
            Member::Text(Cow::Owned(text)) => visitor.visit_string(text),
            Member::Other(value) => value.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Member::Other(value) => value.deserialize_option(visitor),
            text @ Member::Text(_) => visitor.visit_some(text),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Member::Other(value) => value.deserialize_newtype_struct(name, visitor),
            text @ Member::Text(_) => visitor.visit_newtype_struct(text),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Value::from(self).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::LenientDecode;

    fn member(json: &str) -> Member<'_> {
        let mut de = serde_json::Deserializer::from_str(json);
        MemberSeed.deserialize(&mut de).unwrap()
    }

    /// `T` decodes the same from a member as from the `Value` of the same JSON.
    fn same<T: LenientDecode + PartialEq + fmt::Debug>(json: &str) {
        let value: Value = serde_json::from_str(json).unwrap();
        let from_value = T::decode_opt(value).map_err(|e| e.to_string());
        let from_member = T::decode_opt(member(json)).map_err(|e| e.to_string());
        assert_eq!(
            from_member,
            from_value,
            "{} from {json}",
            std::any::type_name::<T>()
        );
    }

    #[test]
    fn text_is_borrowed_and_decodes_as_the_value_would() {
        assert!(matches!(
            member(r#""37""#),
            Member::Text(Cow::Borrowed("37"))
        ));
        assert!(matches!(member(r#""a\"b""#), Member::Text(Cow::Owned(_))));
        for json in [
            r#""37""#,
            "37",
            r#"" 37 ""#,
            "37.0",
            "-3",
            r#""x""#,
            "null",
            r#""""#,
            "[]",
            "{}",
            "true",
            r#""Y""#,
            r#"["1"]"#,
            r#"{"0":"4"}"#,
        ] {
            same::<u64>(json);
            same::<i64>(json);
            same::<f64>(json);
            same::<bool>(json);
            same::<String>(json);
            same::<Vec<u64>>(json);
            same::<Value>(json);
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(Value::from(member(json)), value, "{json} kept as sent");
        }
    }
}
