//! [`Entity`] and [`UserFields`]: typed access to the fields a spec does not name (`UF_*`). The
//! helpers behind the inherent methods every generated entity has (`set_uf`, `uf`, `From<Map>`)
//! are in `entity_helpers.rs`, compiled only when an enabled pack generates entities.

use serde_json::{Map, Value};

/// A generated entity struct (`Deal`, `Task`, ...): access to the fields the spec does not name.
pub trait Entity {
    /// The entity name in the specs.
    const NAME: &'static str;
    /// Fields the spec does not name, as sent (user fields `UF_*` included).
    fn extra(&self) -> &Map<String, Value>;
    /// Mutable access to [`Entity::extra`] (to set user fields before `add`/`update`).
    fn extra_mut(&mut self) -> &mut Map<String, Value>;
    /// The record's id, when the entity has an id field and it is set. (Not `entity_id`: that
    /// is the builder setter of the `ENTITY_ID` field several entities have.)
    fn record_id(&self) -> Option<u64> {
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

#[cfg(bitrix24_entities)]
#[path = "entity_helpers.rs"]
mod helpers;
#[cfg(bitrix24_entities)]
pub(crate) use helpers::{Fields, from_map, from_value, set_uf, uf, uf_opt};
