//! [`Entity`] and [`UserFields`]: typed access to the fields a spec does not name (`UF_*`), and
//! the helpers behind the inherent methods every generated entity has (`set_uf`, `uf`, `From<Map>`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::input::json_kind;
use crate::lenient::LenientDecode;

/// A generated entity struct (`Deal`, `Task`, ...): access to the fields the spec does not name.
pub trait Entity {
    /// The entity name in the specs.
    const NAME: &'static str;
    /// Fields the spec does not name, as sent (user fields `UF_*` included).
    fn extra(&self) -> &Map<String, Value>;
    /// Mutable access to [`Entity::extra`] (to set user fields before `add`/`update`).
    fn extra_mut(&mut self) -> &mut Map<String, Value>;
    /// The id, when the entity has an id field and it is set.
    fn entity_id(&self) -> Option<u64> {
        None
    }
    /// Decodes typed user fields (see [`UserFields`]) from [`Entity::extra`].
    fn user_fields<U: UserFields>(&self) -> Result<U, serde_json::Error>
    where
        Self: Sized,
    {
        U::from_extra(self.extra())
    }
    /// Writes typed user fields into [`Entity::extra`] (fields that are `None` are left alone).
    fn set_user_fields<U: UserFields>(&mut self, fields: &U) -> Result<(), serde_json::Error>
    where
        Self: Sized,
    {
        fields.write_extra(self.extra_mut())
    }
}

/// A typed view of user fields (`UF_CRM_*`), usually derived with `#[derive(UserFields)]`
/// (feature `macros`).
pub trait UserFields: Sized {
    /// The wire names of the fields.
    const FIELDS: &'static [&'static str];
    /// Decodes the fields from an entity's unknown-field map. Missing fields decode as `null`
    /// (so `Option` fields become `None`); errors name the field.
    fn from_extra(extra: &Map<String, Value>) -> Result<Self, serde_json::Error>;
    /// Writes the fields into an entity's unknown-field map; `None` fields are not written.
    fn write_extra(&self, extra: &mut Map<String, Value>) -> Result<(), serde_json::Error>;
}

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
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::invalid(E::NAME, format!("`{}`: {}", e.path(), e.inner())))
}
