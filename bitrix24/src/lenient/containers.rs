//! Containers: objects, lists and maps in PHP's forms (a list as an object with numeric keys,
//! `[]` for an empty map), entities, and untyped values.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::decode::{Elem, Empty, LenientDecode, empty_is_none, empty_list_is_none, missing};

// --- JSON values ----------------------------------------------------------------------------

impl LenientDecode for Value {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Ok(if v.is_null() { None } else { Some(v) })
    }
}

/// A list read as an object keyed by position (`"0"`, `"1"`, ...), PHP's form of a map with
/// numeric keys. `[]` is the empty map, absent when `empty` is [`Empty::Absent`].
fn indexed<'de, A, V, M>(
    mut seq: A,
    empty: Empty,
    mut put: impl FnMut(&mut M, String, V),
) -> Result<Option<M>, A::Error>
where
    A: SeqAccess<'de>,
    V: Deserialize<'de>,
    M: Default,
{
    let mut out = M::default();
    let mut i = 0usize;
    while let Some(v) = seq.next_element::<V>()? {
        put(&mut out, i.to_string(), v);
        i += 1;
    }
    Ok((i > 0 || empty == Empty::Itself).then_some(out))
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
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        indexed(
            seq,
            self.0,
            |out: &mut Map<String, Value>, key, v: Value| {
                out.insert(key, v);
            },
        )
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
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        indexed(
            seq,
            self.0,
            |out: &mut BTreeMap<String, T>, key, Elem(v)| {
                if let Some(v) = v {
                    out.insert(key, v);
                }
            },
        )
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
    // PHP encodes an empty object as `[]`.
    empty_list_is_none!();
    empty_is_none!();
}

/// Decodes an entity (an object) leniently: `null`, `[]`, `false` and `""` are absent.
pub fn entity_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_any(EntityVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::super::decode::{Lenient, opt, required};
    use super::*;
    use serde_json::json;

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
}
