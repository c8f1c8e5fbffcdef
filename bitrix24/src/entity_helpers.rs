//! The helpers behind the inherent methods of every generated entity (`set_uf`, `uf`,
//! `uf_opt`, `From<Map>`, `TryFrom<Value>`): compiled only when an enabled pack generates
//! entities (the build script sets `cfg(bitrix24_entities)`).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::Entity;
use crate::error::Error;
use crate::input::json_kind;
use crate::lenient::{LenientDecode, Member, MemberSeed};

/// Whether `name` is a user field's name: `UF_...` (legacy entities) or `uf` followed by a
/// capital letter (`ufCrm5_1700000000`, D7 entities such as `crm.item.*`).
fn is_user_field(name: &str) -> bool {
    name.starts_with("UF_")
        || name
            .strip_prefix("uf")
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase())
}

fn check_user_field(entity: &str, name: &str) -> Result<(), Error> {
    if is_user_field(name) {
        Ok(())
    } else {
        Err(Error::invalid(
            entity,
            format!(
                "`{name}` is not a user field name (`UF_...`, or `uf...` for D7 entities); \
                 set the entity's own fields with its setters"
            ),
        ))
    }
}

/// `Entity::set_uf` of every generated entity: writes one user field into `extra`.
pub(crate) fn set_uf(
    entity: &str,
    extra: &mut Map<String, Value>,
    name: &str,
    value: impl Serialize,
) -> Result<(), Error> {
    check_user_field(entity, name)?;
    let value = serde_json::to_value(value)
        .map_err(|e| Error::invalid(entity, format!("`{name}` does not serialize: {e}")))?;
    extra.insert(name.to_owned(), value);
    Ok(())
}

/// `Entity::uf` of every generated entity: one user field from `extra`, decoded leniently
/// (`"1234"` is a `u64`); absent or empty is an error naming the field.
pub(crate) fn uf<T: LenientDecode>(
    entity: &str,
    extra: &Map<String, Value>,
    name: &str,
) -> Result<T, Error> {
    check_user_field(entity, name)?;
    let value = extra.get(name).unwrap_or(&Value::Null);
    T::decode_required(value).map_err(|e| Error::invalid(entity, format!("`{name}`: {e}")))
}

/// `Entity::uf_opt`: as [`uf`], with absent and empty values as `None`.
pub(crate) fn uf_opt<T: LenientDecode>(
    entity: &str,
    extra: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, Error> {
    check_user_field(entity, name)?;
    let value = extra.get(name).unwrap_or(&Value::Null);
    T::decode_opt(value).map_err(|e| Error::invalid(entity, format!("`{name}`: {e}")))
}

/// `From<Map>` of every generated entity: untyped fields, decoded leniently; when a value does
/// not fit its typed field, every field is kept in `extra` as given, so it is still sent as is.
pub(crate) fn from_map<E: DeserializeOwned + Default + Entity>(map: Map<String, Value>) -> E {
    let value = Value::Object(map);
    if let Ok(entity) = E::deserialize(&value) {
        return entity;
    }
    let mut entity = E::default();
    if let Value::Object(map) = value {
        *entity.extra_mut() = map;
    }
    entity
}

/// `TryFrom<Value>` of every generated entity: a JSON object decoded leniently; errors name the
/// entity and the JSON path of the value that does not fit.
pub(crate) fn from_value<E: DeserializeOwned + Entity>(value: &Value) -> Result<E, Error> {
    if !value.is_object() {
        return Err(Error::invalid(
            E::NAME,
            format!("an entity is a JSON object, got {}", json_kind(value)),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let (path, message) =
            crate::lenient::join_field_path(&e.path().to_string(), &e.inner().to_string());
        Error::invalid(E::NAME, format!("`{path}`: {message}"))
    })
}

/// The `Deserialize` of every generated entity: the object is read once into a list of its
/// members, each named field is taken out of it and decoded leniently (an error names the
/// field), and what is left is `extra`, in the order the portal sent it. One generic body per
/// entity instead of a derived visitor with a wrapper type per field: the derive was most of
/// the crate's compile time.
///
/// The members stay a plain list (keys borrowed from the body where it allows): taking a
/// field compares lengths and then the key once, with no hashing and no map built per row.
/// An object of more than [`SCAN_MAX`] members gets an index beside the list, sorted by a tag
/// of each key (its length and three of its bytes), so that a wide row costs a binary search
/// over integers per field instead of a scan. Only the members left over become `extra`'s map.
pub(crate) struct Fields<'de, E> {
    members: Vec<Entry<'de>>,
    /// The first field that failed to decode: [`Fields::finish`] returns it. The fields are
    /// taken without a `?` each (one branch per field in every generated decoder was a large
    /// part of the crate's compile time); the ones after a failure are still read, then dropped.
    error: Option<E>,
    /// `(tag of the key, position in members)`, sorted; empty for a short object.
    index: Vec<(u32, u32)>,
    /// One bit per member key ([`bit`]): a field whose bit is clear is not there, which most
    /// fields of a row read with a `select` are not.
    present: u64,
}

/// Up to this many members, a field is found by scanning them.
const SCAN_MAX: usize = 12;

/// One member of an entity's object; `value` is `None` once a typed field took it.
struct Entry<'de> {
    key: Cow<'de, str>,
    value: Option<Member<'de>>,
}

/// The bit of `key` in [`Fields::present`]: from its length and last byte.
// Measured: without `always` the generated entity decoders call it (0.63e9 instead of
// 0.54e9 client instructions for 100,000 rows).
#[allow(clippy::inline_always)]
#[inline(always)]
fn bit(key: &str) -> u64 {
    let last = key.as_bytes().last().copied().unwrap_or(0);
    1 << ((key.len() * 8 + usize::from(last)) % 64)
}

/// A key's length and its first, middle and last bytes in one integer: equal keys have equal
/// tags, and the field names of one entity rarely share one.
fn tag(key: &str) -> u32 {
    let b = key.as_bytes();
    match b.last() {
        None => 0,
        Some(&last) => {
            (b.len().min(255) as u32) << 24
                | u32::from(b[0]) << 16
                | u32::from(b[b.len() / 2]) << 8
                | u32::from(last)
        }
    }
}

impl<'de, E: serde::de::Error> Fields<'de, E> {
    /// Reads the entity's object.
    pub(crate) fn read<D: serde::Deserializer<'de, Error = E>>(deserializer: D) -> Result<Self, E> {
        let members = deserializer.deserialize_map(MembersVisitor)?;
        let present = members.iter().fold(0, |bits, m| bits | bit(&m.key));
        let mut index = Vec::new();
        if members.len() > SCAN_MAX {
            index.extend(
                members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (tag(&m.key), i as u32)),
            );
            index.sort_unstable();
        }
        Ok(Fields {
            members,
            error: None,
            index,
            present,
        })
    }

    /// Takes the field `key` out, decoded leniently; absent or empty is `None`. A key sent
    /// twice: the last one counts, as in a JSON map. A value that does not decode is `None`
    /// here and the error of [`Fields::finish`] (the first one, naming its field).
    ///
    /// Inlined so that the test of `present` folds to one instruction against the literal
    /// key of the generated call: the fields a row does not carry cost next to nothing.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(crate) fn opt<T: LenientDecode>(&mut self, key: &str) -> Option<T> {
        if self.present & bit(key) == 0 {
            return None;
        }
        match T::decode_opt(self.take(key)?) {
            Ok(value) => value,
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(crate::lenient::field_error(key, e));
                }
                None
            }
        }
    }

    /// The decoded entity with the fields no typed field took as its `extra`, or the first
    /// field error.
    pub(crate) fn finish<T: crate::Entity>(self, mut entity: T) -> Result<T, E> {
        if let Some(e) = self.error {
            return Err(e);
        }
        *entity.extra_mut() = self.rest();
        Ok(entity)
    }

    /// The value of `key`, taken out (the last one when the key was sent twice).
    fn take(&mut self, key: &str) -> Option<Member<'de>> {
        let mut value = None;
        if self.index.is_empty() {
            for entry in &mut self.members {
                if entry.key == key {
                    value = entry.value.take();
                }
            }
        } else {
            let tag = tag(key);
            let first = self.index.partition_point(|&(t, _)| t < tag);
            // Positions ascend within one tag.
            for &(_, i) in self.index[first..].iter().take_while(|&&(t, _)| t == tag) {
                let entry = &mut self.members[i as usize];
                if entry.key == key {
                    value = entry.value.take();
                }
            }
        }
        value
    }

    /// The fields no typed field took: the entity's `extra`.
    fn rest(self) -> Map<String, Value> {
        if self.members.iter().all(|entry| entry.value.is_none()) {
            return Map::new();
        }
        self.members
            .into_iter()
            .filter_map(|m| Some((m.key.into_owned(), Value::from(m.value?))))
            .collect()
    }
}

/// Reads an object's members in order, keys borrowed when the input allows it.
struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<Entry<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(256));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push(Entry {
                key,
                value: Some(map.next_value_seed(MemberSeed)?),
            });
        }
        Ok(members)
    }
}

/// A map key as a `Cow`: borrowed from the input when it holds the key unescaped.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(all(test, feature = "core"))]
mod tests {
    use serde_json::{Value, json};

    use crate::Error;
    use crate::packs::core::Deal;

    #[test]
    fn named_fields_are_taken_and_the_rest_is_extra() {
        let deal: Deal =
            serde_json::from_value(json!({"ID": "5", "TITLE": 7, "UF_CRM_1": [1], "CLOSED": "Y"}))
                .unwrap();
        assert_eq!(deal.id, Some(5));
        assert_eq!(deal.title.as_deref(), Some("7"));
        assert_eq!(deal.closed, Some(true));
        assert_eq!(deal.extra.len(), 1);
        assert_eq!(deal.extra["UF_CRM_1"], json!([1]));
        // Empty values are absent, and `[]` is not an entity.
        let empty: Deal = serde_json::from_value(json!({"ID": "", "TITLE": null})).unwrap();
        assert_eq!((empty.id, empty.title), (None, None));
        assert!(serde_json::from_value::<Deal>(json!("x")).is_err());
    }

    #[test]
    fn extra_keeps_the_portals_order_and_a_repeated_key_counts_once() {
        let body = br#"{"UF_A":1,"ID":"5","UF_B":2,"TITLE":"x","UF_C":3,"ID":"6"}"#;
        let deal: Deal = serde_json::from_slice(body).unwrap();
        assert_eq!(deal.id, Some(6), "the last of a repeated key counts");
        let keys: Vec<&str> = deal.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["UF_A", "UF_B", "UF_C"]);
    }

    #[test]
    fn a_wide_row_finds_every_field() {
        // More members than a scan handles: the tagged index finds them, and keys that share
        // a tag (same length and bytes at the ends and middle) are told apart.
        let mut row = serde_json::Map::new();
        for i in 0..30 {
            row.insert(format!("UF_CRM_{i:02}"), json!(i));
        }
        row.insert("ID".into(), json!("7"));
        row.insert("UF_CRM_X1".into(), json!("a"));
        row.insert("UF_CRM_Y1".into(), json!("b"));
        row.insert("TITLE".into(), json!("wide"));
        row.insert("OPPORTUNITY".into(), json!("10.50"));
        row.insert("ID".into(), json!("8"));
        let text = serde_json::to_vec(&Value::Object(row)).unwrap();
        let deal: Deal = serde_json::from_slice(&text).unwrap();
        assert_eq!(deal.id, Some(8));
        assert_eq!(deal.title.as_deref(), Some("wide"));
        assert!(deal.opportunity.is_some());
        assert_eq!(deal.extra.len(), 32);
        assert_eq!(deal.extra["UF_CRM_X1"], "a");
        assert_eq!(deal.extra["UF_CRM_Y1"], "b");
        assert_eq!(deal.extra["UF_CRM_29"], 29);
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_in_the_path() {
        let body = br#"{"result":[{"ID":"1"},{"ID":"2","CLOSED":{"a":1}}]}"#;
        let err =
            crate::envelope::decode_response::<Vec<Deal>>("crm.deal.list", 200, body).unwrap_err();
        match err {
            Error::Decode { path, message, .. } => {
                assert_eq!(path, "result[1].CLOSED");
                assert!(!message.starts_with('`'), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let err = Deal::try_from(json!({"ID": "x"})).unwrap_err();
        assert!(err.to_string().contains("`ID`:"), "{err}");
    }
}
