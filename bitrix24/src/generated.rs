//! The items `build.rs` generates from `specs/` (through `bitrix24-codegen`), and the hand-written
//! traits and tables around them.
//!
//! - [`packs`]: one module per enabled pack feature (`packs::core`, `packs::comms`, ...) with a
//!   request struct per method, an entity struct per entity, the enums and the pack's `Event`
//!   enum; `packs::shared` holds entities and enums that several packs use.
//! - [`catalog`]: the method table (risk, scopes, pack, docs) of every specced method, the
//!   least-privilege scope list and the term map.
//! - [`Entity`] and [`UserFields`]: typed access to the fields a spec does not name (`UF_*`).
//! - [`smart`]: `crm.item.*` for a typed smart-process item ([`smart::SmartProcessItem`]).

use serde_json::{Map, Value};

/// Typed methods, entities, enums and events, one module per pack (each behind its feature).
///
/// A request is built with `new(required..)` plus setters for optional parameters, and sent with
/// the client; its response type is `<Request as Method>::Response`.
pub mod packs {
    include!(concat!(env!("OUT_DIR"), "/bitrix24-generated/packs.rs"));
}

/// Method metadata from the specs: risk, scopes, pack, docs; least-privilege scopes; the term
/// map.
pub mod catalog {
    use crate::Risk;

    /// What the specs say about one method.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct MethodInfo {
        /// The v2 method name (`crm.deal.add`).
        pub name: &'static str,
        /// The pack (cargo feature) that types it.
        pub pack: &'static str,
        /// One-line summary.
        pub summary: &'static str,
        /// Guardrail risk class.
        pub risk: Risk,
        /// Scopes any one of which allows the call (empty for global methods).
        pub scopes: &'static [&'static str],
        /// Whether re-sending has the same effect as sending once.
        pub idempotent: bool,
        /// The official docs page.
        pub docs: &'static str,
        /// The REST 3.0 name, when the method exists there with the same shape.
        pub v3: Option<&'static str>,
        /// Whether the method is paginated (implements `ListMethod`).
        pub paginated: bool,
    }

    /// What the specs say about one pack.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct PackInfo {
        /// Pack name, equal to its cargo feature.
        pub name: &'static str,
        /// One-line summary (empty when the pack has no spec yet).
        pub summary: &'static str,
        /// Whether the feature is enabled in this build (its typed module exists).
        pub enabled: bool,
        /// What users say -> this pack.
        pub terms: &'static [&'static str],
        /// The event names the pack types.
        pub events: &'static [&'static str],
        /// Number of specced methods.
        pub methods: usize,
    }

    include!(concat!(env!("OUT_DIR"), "/bitrix24-generated/catalog.rs"));

    /// The metadata of a method, by its v2 name (every specced pack, enabled or not).
    ///
    /// ```
    /// // `batch` is specced in the `core` pack.
    /// if let Some(info) = bitrix24::catalog::method_info("batch") {
    ///     assert_eq!(info.risk, bitrix24::Risk::Mixed);
    /// }
    /// assert!(bitrix24::catalog::method_info("no.such.method").is_none());
    /// ```
    pub fn method_info(name: &str) -> Option<&'static MethodInfo> {
        // The portal lower-cases method names, so `disk.storage.getlist` is `getList` too.
        METHODS
            .binary_search_by(|m| m.name.cmp(name))
            .ok()
            .map(|i| &METHODS[i])
            .or_else(|| METHODS.iter().find(|m| m.name.eq_ignore_ascii_case(name)))
    }

    /// The spec entry of `name` (exact spelling), at compile time: what the hand-written
    /// `Method` impls take their `NAME`, `RISK`, `IDEMPOTENT` and `SCOPES` from (through
    /// `from_spec!`), so they cannot drift from the specs. Used only in constants: a name the
    /// specs do not know fails the build, never a running program.
    pub(crate) const fn spec_entry(name: &str) -> &'static MethodInfo {
        let mut i = 0;
        while i < METHODS.len() {
            if same_name(METHODS[i].name, name) {
                return &METHODS[i];
            }
            i += 1;
        }
        panic!("a hand-written method is not in specs/*.toml")
    }

    /// `a == b` for `const` code.
    const fn same_name(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The information of one pack.
    pub fn pack_info(name: &str) -> Option<&'static PackInfo> {
        PACKS.iter().find(|p| p.name == name)
    }

    /// The smallest set of scopes (sorted) that allows every given method: scopes a method
    /// needs alone first, then, greedily, the scope that covers the most remaining methods.
    /// Global methods need none; names the specs do not know are skipped (check them with
    /// [`method_info`]).
    pub fn least_privilege_scopes<'a, I>(methods: I) -> Vec<&'static str>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut need: Vec<&'static [&'static str]> = methods
            .into_iter()
            .filter_map(method_info)
            .map(|m| m.scopes)
            .filter(|s| !s.is_empty())
            .collect();
        let mut chosen: Vec<&'static str> = Vec::new();
        while !need.is_empty() {
            let mut best: Option<(&'static str, usize)> = None;
            for s in need.iter().flat_map(|alts| alts.iter()) {
                let covered = need.iter().filter(|alts| alts.contains(s)).count();
                let single = need.iter().any(|alts| alts.len() == 1 && alts[0] == *s);
                let score = if single { usize::MAX } else { covered };
                if best.is_none_or(|(_, b)| score > b) {
                    best = Some((s, score));
                }
            }
            let Some((scope, _)) = best else { break };
            chosen.push(scope);
            need.retain(|alts| !alts.contains(&scope));
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// The pack (cargo feature) for what a user says: `"open lines"` -> `comms`. Case-insensitive;
    /// a trailing plural `s` is optional.
    pub fn pack_for_term(term: &str) -> Option<&'static str> {
        let t = term.trim().to_lowercase();
        let find = |t: &str| {
            TERMS
                .binary_search_by(|(k, _)| (*k).cmp(t))
                .ok()
                .map(|i| TERMS[i].1)
        };
        find(&t)
            .or_else(|| t.strip_suffix('s').and_then(find))
            .or_else(|| find(&format!("{t}s")))
    }
}

/// The `Method` constants `NAME`, `RISK`, `IDEMPOTENT` and `SCOPES` of a hand-written method,
/// taken from its entry in the specs (the generated catalog): `from_spec!("crm.item.update");`
/// inside `impl Method for ...`. Whether a call is re-sent therefore always follows the spec.
macro_rules! from_spec {
    ($name:literal) => {
        const NAME: &'static str = $crate::catalog::spec_entry($name).name;
        const RISK: $crate::Risk = $crate::catalog::spec_entry($name).risk;
        const IDEMPOTENT: bool = $crate::catalog::spec_entry($name).idempotent;
        const SCOPES: &'static [&'static str] = $crate::catalog::spec_entry($name).scopes;
    };
}
pub(crate) use from_spec;

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

pub mod smart {
    //! `crm.item.*` for a typed smart-process item.
    //!
    //! Derive [`SmartProcessItem`] (feature `macros`) on a struct of the item's fields, then use
    //! [`ItemGet`], [`ItemList`], [`ItemAdd`], [`ItemUpdate`] and [`ItemDelete`] with it: the
    //! `entityTypeId` comes from the type. Risk, idempotency and scopes are those of the
    //! `crm.item.*` specs: [`ItemUpdate`], [`ItemAdd`] and [`ItemDelete`] are never re-sent after
    //! an ambiguous failure (an update fires automation again and appends to multiple fields).

    use std::marker::PhantomData;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};
    use serde_json::{Map, Value};

    use crate::{Keyset, ListMethod, Method};

    /// A smart-process item type: its `entityTypeId` and its fields as `crm.item.*` send them
    /// (camelCase, user fields `ufCrm<N>_*`).
    pub trait SmartProcessItem: Serialize + DeserializeOwned + Send + Sync + 'static {
        /// The smart process's `entityTypeId` (128 and up for custom ones).
        const ENTITY_TYPE_ID: u64;
        /// The item's id, when set.
        fn item_id(&self) -> Option<u64>;
    }

    /// `{"item": {...}}`, the result of `crm.item.get`/`add`/`update`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(bound = "T: SmartProcessItem")]
    #[non_exhaustive]
    pub struct ItemResponse<T> {
        /// The item.
        pub item: T,
    }

    /// `{"items": [...]}`, the result of `crm.item.list`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(bound = "T: SmartProcessItem")]
    #[non_exhaustive]
    pub struct ItemsResponse<T> {
        /// The items of this page.
        pub items: Vec<T>,
    }

    /// `crm.item.get` for a typed item.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[must_use]
    pub struct ItemGet<T> {
        #[serde(rename = "entityTypeId")]
        entity_type_id: u64,
        id: u64,
        #[serde(skip)]
        item: PhantomData<fn() -> T>,
    }

    impl<T: SmartProcessItem> ItemGet<T> {
        /// Gets the item with this id.
        pub fn new(id: u64) -> Self {
            ItemGet {
                entity_type_id: T::ENTITY_TYPE_ID,
                id,
                item: PhantomData,
            }
        }
    }

    impl<T: SmartProcessItem> Method for ItemGet<T> {
        super::from_spec!("crm.item.get");
        type Response = ItemResponse<T>;
    }

    /// `crm.item.list` for a typed item (keyset-pageable by `id`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[must_use]
    pub struct ItemList<T> {
        #[serde(rename = "entityTypeId")]
        entity_type_id: u64,
        /// Fields to return (`*` and user fields allowed).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub select: Option<Vec<String>>,
        /// Field filter with operator prefixes.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub filter: Option<Map<String, Value>>,
        /// Sort order: field -> `ASC` | `DESC`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub order: Option<Map<String, Value>>,
        /// Offset of the page.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub start: Option<i64>,
        #[serde(skip)]
        item: PhantomData<fn() -> T>,
    }

    impl<T: SmartProcessItem> Default for ItemList<T> {
        fn default() -> Self {
            ItemList {
                entity_type_id: T::ENTITY_TYPE_ID,
                select: None,
                filter: None,
                order: None,
                start: None,
                item: PhantomData,
            }
        }
    }

    impl<T: SmartProcessItem> ItemList<T> {
        /// Lists every item.
        pub fn new() -> Self {
            Self::default()
        }
        /// Sets the fields to return.
        pub fn select(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
            self.select = Some(fields.into_iter().map(Into::into).collect());
            self
        }
        /// Sets the filter.
        pub fn filter(mut self, filter: impl Into<Map<String, Value>>) -> Self {
            self.filter = Some(filter.into());
            self
        }
        /// Sets the order.
        pub fn order(mut self, order: impl Into<Map<String, Value>>) -> Self {
            self.order = Some(order.into());
            self
        }
    }

    impl<T: SmartProcessItem> Method for ItemList<T> {
        super::from_spec!("crm.item.list");
        type Response = ItemsResponse<T>;
    }

    impl<T: SmartProcessItem> ListMethod for ItemList<T> {
        type Item = T;
        const WRAPPER: Option<&'static str> = Some("items");
        const KEYSET: Option<Keyset> = Some(Keyset {
            request_field: "id",
            response_field: "id",
        });
        fn item_id(item: &T) -> Option<u64> {
            item.item_id()
        }
    }

    /// `crm.item.add` for a typed item.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(bound = "T: SmartProcessItem")]
    #[must_use]
    pub struct ItemAdd<T> {
        #[serde(rename = "entityTypeId")]
        entity_type_id: u64,
        /// The new item's fields.
        pub fields: T,
    }

    impl<T: SmartProcessItem> ItemAdd<T> {
        /// Creates an item with these fields.
        pub fn new(fields: T) -> Self {
            ItemAdd {
                entity_type_id: T::ENTITY_TYPE_ID,
                fields,
            }
        }
    }

    impl<T: SmartProcessItem> Method for ItemAdd<T> {
        super::from_spec!("crm.item.add");
        type Response = ItemResponse<T>;
    }

    /// `crm.item.update` for a typed item (only the fields that are set are sent).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(bound = "T: SmartProcessItem")]
    #[must_use]
    pub struct ItemUpdate<T> {
        #[serde(rename = "entityTypeId")]
        entity_type_id: u64,
        id: u64,
        /// The fields to change.
        pub fields: T,
    }

    impl<T: SmartProcessItem> ItemUpdate<T> {
        /// Updates the item with this id.
        pub fn new(id: u64, fields: T) -> Self {
            ItemUpdate {
                entity_type_id: T::ENTITY_TYPE_ID,
                id,
                fields,
            }
        }
    }

    impl<T: SmartProcessItem> Method for ItemUpdate<T> {
        super::from_spec!("crm.item.update");
        type Response = ItemResponse<T>;
    }

    /// `crm.item.delete` for a typed item.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[must_use]
    pub struct ItemDelete<T> {
        #[serde(rename = "entityTypeId")]
        entity_type_id: u64,
        id: u64,
        #[serde(skip)]
        item: PhantomData<fn() -> T>,
    }

    impl<T: SmartProcessItem> ItemDelete<T> {
        /// Deletes the item with this id.
        pub fn new(id: u64) -> Self {
            ItemDelete {
                entity_type_id: T::ENTITY_TYPE_ID,
                id,
                item: PhantomData,
            }
        }
    }

    impl<T: SmartProcessItem> Method for ItemDelete<T> {
        super::from_spec!("crm.item.delete");
        type Response = Value;
    }
}

/// Paths the derive macros of `bitrix24-macros` expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;

    /// `item_id` for `u64` and `Option<u64>` id fields.
    pub trait IntoItemId {
        /// The id, when set.
        fn item_id_of(&self) -> Option<u64>;
    }

    impl IntoItemId for u64 {
        fn item_id_of(&self) -> Option<u64> {
            Some(*self)
        }
    }

    impl IntoItemId for Option<u64> {
        fn item_id_of(&self) -> Option<u64> {
            *self
        }
    }

    /// Decodes one named field of a map (missing -> `null`), naming the field in errors.
    pub fn field<T: serde::de::DeserializeOwned>(
        map: &serde_json::Map<String, serde_json::Value>,
        key: &str,
    ) -> Result<T, serde_json::Error> {
        let value = map.get(key).cloned().unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value)
            .map_err(|e| <serde_json::Error as serde::de::Error>::custom(format!("`{key}`: {e}")))
    }

    /// [`field`] with a `deserialize_with`-style function.
    pub fn field_with<T>(
        map: &serde_json::Map<String, serde_json::Value>,
        key: &str,
        with: fn(serde_json::Value) -> Result<T, serde_json::Error>,
    ) -> Result<T, serde_json::Error> {
        let value = map.get(key).cloned().unwrap_or(serde_json::Value::Null);
        with(value)
            .map_err(|e| <serde_json::Error as serde::de::Error>::custom(format!("`{key}`: {e}")))
    }

    /// Encodes one field into a map unless it serializes to `null`.
    pub fn put<T: serde::Serialize>(
        map: &mut serde_json::Map<String, serde_json::Value>,
        key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(value)?;
        if !value.is_null() {
            map.insert(key.to_owned(), value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::catalog::method_info;
    use super::smart::{ItemAdd, ItemDelete, ItemGet, ItemList, ItemUpdate, SmartProcessItem};
    use crate::methods::{
        DealAdd, DealDelete, DealGet, DealList, DealUpdate, ServerTime, TaskList, UserCurrent,
    };
    use crate::{Method, Risk};

    /// A smart-process item type for the `crm.item.*` rows.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Probe {
        id: Option<u64>,
    }

    impl SmartProcessItem for Probe {
        const ENTITY_TYPE_ID: u64 = 128;
        fn item_id(&self) -> Option<u64> {
            self.id
        }
    }

    type Row = (&'static str, Risk, bool, &'static [&'static str]);

    fn row<M: Method>() -> Row {
        (M::NAME, M::RISK, M::IDEMPOTENT, M::SCOPES)
    }

    /// The `impl ... Method for ...` blocks of a source file.
    fn method_impls(src: &str) -> usize {
        src.lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("impl") && l.contains(" Method for "))
            .count()
    }

    #[test]
    fn hand_written_methods_match_the_catalog() {
        let rows: Vec<Row> = vec![
            row::<ItemGet<Probe>>(),
            row::<ItemList<Probe>>(),
            row::<ItemAdd<Probe>>(),
            row::<ItemUpdate<Probe>>(),
            row::<ItemDelete<Probe>>(),
            row::<UserCurrent>(),
            row::<ServerTime>(),
            row::<DealAdd>(),
            row::<DealGet>(),
            row::<DealUpdate>(),
            row::<DealDelete>(),
            row::<DealList>(),
            row::<TaskList>(),
        ];
        let impls =
            method_impls(include_str!("generated.rs")) + method_impls(include_str!("methods.rs"));
        assert_eq!(
            rows.len(),
            impls,
            "every hand-written `impl Method` of generated.rs and methods.rs is listed here"
        );
        let mut drift = Vec::new();
        for &(name, risk, idempotent, scopes) in &rows {
            let Some(m) = method_info(name) else {
                drift.push(format!("{name}: not in the specs"));
                continue;
            };
            if (m.name, m.risk, m.idempotent, m.scopes) != (name, risk, idempotent, scopes) {
                drift.push(format!(
                    "{name}: hand-written risk {risk}, idempotent {idempotent}, scopes \
                     {scopes:?}; the specs say `{}`: risk {}, idempotent {}, scopes {:?}",
                    m.name, m.risk, m.idempotent, m.scopes
                ));
            }
        }
        assert!(
            drift.is_empty(),
            "hand-written methods drifted from the specs: {drift:#?}"
        );
    }
}
