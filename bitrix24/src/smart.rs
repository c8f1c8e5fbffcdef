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
use serde_json::Value;

use crate::filter::ObjectParam;
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

/// `crm.item.list` for a typed item (keyset-pageable by `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[must_use]
pub struct ItemList<T> {
    #[serde(rename = "entityTypeId")]
    entity_type_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    select: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<ObjectParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<ObjectParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<i64>,
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
    /// Sets the fields to return (`*` and user fields allowed).
    pub fn select(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.select = Some(fields.into_iter().map(Into::into).collect());
        self
    }
    /// Sets the filter: a `bitrix24::filter::Filter`, `json!({..})`, a map or anything that
    /// serializes to an object (operator prefixes in `references/bitrix24.md`).
    pub fn filter(mut self, filter: impl Serialize) -> Self {
        self.filter = Some(ObjectParam::new("filter", filter));
        self
    }
    /// Sets the order: field -> `ASC` | `DESC` (a `bitrix24::filter::Sort`, or any object).
    pub fn order(mut self, order: impl Serialize) -> Self {
        self.order = Some(ObjectParam::new("order", order));
        self
    }
    /// Sets the offset of the page.
    pub fn start(mut self, start: i64) -> Self {
        self.start = Some(start);
        self
    }
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

/// [`Method`] for each typed `crm.item.*` request: `Request => "method", Response;` (risk,
/// idempotency and scopes from the method's spec).
macro_rules! item_methods {
    ($($request:ident => $name:literal, $response:ty;)*) => {
        $(
            impl<T: SmartProcessItem> Method for $request<T> {
                crate::catalog::from_spec!($name);
                type Response = $response;
            }
        )*
    };
}

item_methods! {
    ItemGet => "crm.item.get", ItemResponse<T>;
    ItemList => "crm.item.list", ItemsResponse<T>;
    ItemAdd => "crm.item.add", ItemResponse<T>;
    ItemUpdate => "crm.item.update", ItemResponse<T>;
    ItemDelete => "crm.item.delete", Value;
}

// The hand-written methods (the `crm.item.*` ones here) take their facts from the spec catalog:
// a method that drifts from its spec fails this test.
#[cfg(test)]
mod tests {
    use super::{ItemAdd, ItemDelete, ItemGet, ItemList, ItemUpdate, SmartProcessItem};
    use crate::catalog::method_info;
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

    #[test]
    fn list_filters_and_orders_take_anything_serializable() {
        use crate::filter::{Filter, Op, Sort};
        let list = ItemList::<Probe>::new()
            .filter(Filter::<Probe>::new().op(Op::Gt, "opportunity", 10))
            .order(Sort::new().desc("id"));
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            serde_json::json!({"entityTypeId": 128, "filter": {">opportunity": 10}, "order": {"id": "DESC"}})
        );
        let bad = ItemList::<Probe>::new().filter("title");
        let e = serde_json::to_value(&bad).unwrap_err().to_string();
        assert!(e.contains("`filter` must be a JSON object"), "{e}");
    }

    type Row = (&'static str, Risk, bool, &'static [&'static str]);

    fn row<M: Method>() -> Row {
        (M::NAME, M::RISK, M::IDEMPOTENT, M::SCOPES)
    }

    /// The rows of the `item_methods!` table of a source file (`Request => "method", ...;`).
    fn method_impls(src: &str) -> usize {
        src.lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("Item") && l.contains(" => \""))
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
        ];
        assert_eq!(
            rows.len(),
            method_impls(include_str!("smart.rs")),
            "every row of smart.rs's `item_methods!` table is listed here"
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
