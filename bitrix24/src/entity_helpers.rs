//! The helpers behind the inherent methods of every generated entity (`set_uf`, `uf`,
//! `uf_opt`, `From<Map>`, `TryFrom<Value>`): compiled only when an enabled pack generates
//! entities (the build script sets `cfg(bitrix24_entities)`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Entity;
use crate::error::Error;
use crate::input::json_kind;
use crate::lenient::LenientDecode;

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

/// The `Deserialize` of every generated entity: the object is read once into a map, each
/// named field is taken out of it and decoded leniently (an error names the field), and what
/// is left is `extra`. One generic body per entity instead of a derived visitor with a
/// wrapper type per field: the derive was most of the crate's compile time.
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// Reads the entity's object.
    pub(crate) fn read<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        serde::Deserialize::deserialize(deserializer).map(Fields)
    }

    /// Takes the field `key` out, decoded leniently; absent or empty is `None`.
    pub(crate) fn opt<T: LenientDecode, E: serde::de::Error>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, E> {
        match self.0.remove(key) {
            None => Ok(None),
            Some(value) => T::decode_opt(value).map_err(|e| crate::lenient::field_error(key, e)),
        }
    }

    /// The fields no typed field took: the entity's `extra`.
    pub(crate) fn rest(self) -> Map<String, Value> {
        self.0
    }
}

#[cfg(all(test, feature = "core"))]
mod tests {
    use serde_json::json;

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
