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

/// A map the portal sends as an object or as a list (PHP's form of a map with numeric keys:
/// keys `"0"`, `"1"`, ...): what an element decodes as, and how it is kept.
trait Keyed: Default {
    /// One element as read.
    type Elem: de::DeserializeOwned;
    /// Keeps `elem` under `key` (or drops it when it is empty).
    fn put(&mut self, key: String, elem: Self::Elem);

    /// Decodes the map; `[]` is the empty map, absent when `empty` is [`Empty::Absent`].
    fn decode<'de, D: Deserializer<'de>>(d: D, empty: Empty) -> Result<Option<Self>, D::Error> {
        d.deserialize_any(KeyedVisitor::<Self>(empty, PhantomData))
    }
}

/// `object`: every value kept as sent.
impl Keyed for Map<String, Value> {
    type Elem = Value;
    fn put(&mut self, key: String, elem: Value) {
        self.insert(key, elem);
    }
}

/// `map<T>`: empty elements skipped.
impl<T: LenientDecode> Keyed for BTreeMap<String, T> {
    type Elem = Elem<T>;
    fn put(&mut self, key: String, Elem(elem): Elem<T>) {
        if let Some(v) = elem {
            self.insert(key, v);
        }
    }
}

struct KeyedVisitor<M>(Empty, PhantomData<M>);

impl<'de, M: Keyed> Visitor<'de> for KeyedVisitor<M> {
    type Value = Option<M>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object (or a list, or `[]`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = M::default();
        while let Some((k, v)) = map.next_entry::<String, M::Elem>()? {
            out.put(k, v);
        }
        Ok(Some(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = M::default();
        let mut i = 0usize;
        while let Some(v) = seq.next_element::<M::Elem>()? {
            out.put(i.to_string(), v);
            i += 1;
        }
        Ok((i > 0 || self.0 == Empty::Itself).then_some(out))
    }
    empty_is_none!();
}

impl LenientDecode for Map<String, Value> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        Self::decode(deserializer, Empty::Absent)
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::decode(deserializer, Empty::Itself)?.ok_or_else(missing)
    }
}

impl<T: LenientDecode> LenientDecode for BTreeMap<String, T> {
    fn decode_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
        Self::decode(deserializer, Empty::Absent)
    }
    fn decode_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::decode(deserializer, Empty::Itself)?.ok_or_else(missing)
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
