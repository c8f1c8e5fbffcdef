//! Filters and sort orders as the portal's docs write them, and `object` parameters given as
//! anything serializable.
//!
//! Every generated entity that a list method returns has a typed filter:
//! `Item::filter().title().starts_with("bulk").opportunity().gt(1000)` is a [`Filter<Item>`]:
//! one method per field gives that field's conditions ([`Text`], [`Number`], [`Range`],
//! [`Choice`], [`Flag`]), whose methods name the documented operators (the table is in
//! `references/bitrix24.md`). A [`Filter`], a [`Sort`], a `serde_json::json!({...})` value, a map or any struct that
//! serializes to a JSON object is accepted by every `filter`/`order` (and other `object`)
//! parameter; anything else is refused before sending with [`crate::Error::InvalidInput`] naming
//! the method and the parameter.
//!
//! ```
//! use bitrix24::packs::core::{CrmItemList, Item};
//! use bitrix24::filter::Sort;
//!
//! // `entityTypeId` 1: the leads
//! let request = CrmItemList::new(1)
//!     .filter(Item::filter().title().starts_with("bulk").opportunity().gt(1000))
//!     .order(Sort::new().desc(Item::OPPORTUNITY))
//!     .select([Item::ID, Item::TITLE]);
//! let params = serde_json::to_value(&request).unwrap();
//! assert_eq!(params["filter"], serde_json::json!({"=%title": "bulk%", ">opportunity": "1000"}));
//! assert_eq!(params["order"], serde_json::json!({"opportunity": "DESC"}));
//!
//! // Untyped filters read like the docs, too.
//! let same = CrmItemList::new(1).filter(serde_json::json!({"=%title": "bulk%"}));
//! # let _ = same;
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::input::json_kind;

mod fields;
pub use fields::{Choice, Flag, Number, Range, Text, YesNo};

/// A filter operator: the prefix of a filter key (`>=OPPORTUNITY`, `%TITLE`), as the list
/// methods' docs list them (`crm.deal.list`, `crm.lead.list`, `crm.item.list`, "filter").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `=`: equal, exact match.
    Eq,
    /// `!=`: not equal (`!` is the same).
    Ne,
    /// `>`: greater than.
    Gt,
    /// `>=`: greater than or equal to.
    Ge,
    /// `<`: less than.
    Lt,
    /// `<=`: less than or equal to.
    Le,
    /// `@`: IN, the value is a list.
    In,
    /// `!@`: NOT IN, the value is a list.
    NotIn,
    /// `%`: LIKE, the value is a substring found anywhere (no `%` in it).
    Contains,
    /// `=%`: LIKE with the `%` wildcards written in the value (`"mol%"`: starts with `mol`);
    /// `%=` is the same.
    Like,
    /// `!%`: NOT LIKE, a substring (documented for `crm.lead.list` and `crm.item.list`).
    NotContains,
    /// `!=%`: NOT LIKE with the wildcards in the value (`crm.item.list`).
    NotLike,
}

impl Op {
    /// The key prefix the portal reads.
    pub fn prefix(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::In => "@",
            Op::NotIn => "!@",
            Op::Contains => "%",
            Op::Like => "=%",
            Op::NotContains => "!%",
            Op::NotLike => "!=%",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// A typed filter over the fields of entity `E` (`Lead::filter()`), sent as the portal's
/// `{"<op>FIELD": value}` object. Conditions are joined with AND, as the portal does.
#[must_use]
pub struct Filter<E> {
    conditions: Map<String, Value>,
    /// The first value that did not serialize: the call fails before sending, naming it.
    error: Option<String>,
    entity: PhantomData<fn() -> E>,
}

impl<E> Filter<E> {
    /// A filter with no condition (matches every row).
    pub fn new() -> Self {
        Self {
            conditions: Map::new(),
            error: None,
            entity: PhantomData,
        }
    }

    /// Adds `<op>field = value` for any field, user fields (`UF_*`) included, and any operator.
    /// A value that does not serialize to JSON fails the call before sending, naming the key.
    pub fn op(mut self, op: Op, field: &str, value: impl Serialize) -> Self {
        let key = format!("{}{field}", op.prefix());
        match serde_json::to_value(value) {
            Ok(value) => {
                self.conditions.insert(key, value);
            }
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("filter `{key}` does not serialize: {e}"));
            }
        }
        self
    }

    /// The conditions as the portal receives them.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.conditions
    }
}

impl<E> Default for Filter<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Self {
            conditions: self.conditions.clone(),
            error: self.error.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> PartialEq for Filter<E> {
    fn eq(&self, other: &Self) -> bool {
        self.conditions == other.conditions && self.error == other.error
    }
}

impl<E> fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("conditions", &self.conditions)
            .field("error", &self.error)
            .finish()
    }
}

impl<E> Serialize for Filter<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.error {
            Some(message) => Err(S::Error::custom(message)),
            None => self.conditions.serialize(serializer),
        }
    }
}

/// The value of an `order` parameter: field -> `ASC` | `DESC`, in the order the fields were
/// added. It is not named `Order`, the sale order of `bitrix24::packs::commerce`, so both import
/// side by side:
///
/// ```
/// # #[cfg(feature = "commerce")] {
/// use bitrix24::filter::Sort;
/// use bitrix24::packs::commerce::{Order, SaleOrderList};
///
/// let newest = SaleOrderList::new().order(Sort::new().desc(Order::DATE_INSERT).asc(Order::ID));
/// let params = serde_json::to_value(&newest).unwrap();
/// assert_eq!(params["order"], serde_json::json!({"dateInsert": "DESC", "id": "ASC"}));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Sort(Vec<(String, &'static str)>);

impl Sort {
    /// An empty order (the portal's default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sorts by `field`, ascending.
    pub fn asc(mut self, field: impl Into<String>) -> Self {
        self.0.push((field.into(), "ASC"));
        self
    }

    /// Sorts by `field`, descending.
    pub fn desc(mut self, field: impl Into<String>) -> Self {
        self.0.push((field.into(), "DESC"));
        self
    }
}

impl Serialize for Sort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The value of an `object` parameter of a generated request: what the caller gave, serialized
/// once when the request was built. Anything but a JSON object fails the call before sending.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectParam(Result<Map<String, Value>, String>);

impl ObjectParam {
    /// Serializes `value` for the parameter `name` (named in the error).
    pub(crate) fn new(name: &str, value: impl Serialize) -> Self {
        Self(match serde_json::to_value(value) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!(
                "`{name}` must be a JSON object (a map, a struct, a filter), got {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("`{name}` does not serialize: {e}")),
        })
    }
}

impl Serialize for ObjectParam {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(map) => map.serialize(serializer),
            Err(message) => Err(S::Error::custom(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_param_refuses_what_is_not_an_object() {
        let bad = ObjectParam::new("filter", json!(["TITLE"]));
        let e = serde_json::to_value(&bad).unwrap_err().to_string();
        assert!(e.contains("`filter` must be a JSON object"), "{e}");
        assert!(e.contains("an array"), "{e}");
        let good = ObjectParam::new("filter", json!({">ID": 5}));
        assert_eq!(serde_json::to_value(&good).unwrap(), json!({">ID": 5}));
    }

    #[test]
    fn ops_write_the_documented_prefixes() {
        let f = Filter::<()>::new()
            .op(Op::NotIn, "STAGE_ID", ["WON", "LOSE"])
            .op(Op::Le, "ID", 9)
            .op(Op::NotLike, "TITLE", "%x");
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"!@STAGE_ID": ["WON", "LOSE"], "<=ID": 9, "!=%TITLE": "%x"})
        );
        // A value that does not serialize (a map with non-string keys) fails, naming the key.
        let bad =
            Filter::<()>::new().op(Op::Eq, "X", std::collections::HashMap::from([((1, 2), 3)]));
        let e = serde_json::to_value(&bad).unwrap_err().to_string();
        assert!(e.contains("filter `=X` does not serialize"), "{e}");
        let o = Sort::new().desc("OPPORTUNITY").asc("ID");
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"OPPORTUNITY":"DESC","ID":"ASC"}"#
        );
    }
}
