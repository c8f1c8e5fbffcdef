//! One REST 3.0 call as a family's handler gets it: the portal, the caller, the method, its
//! params and the family's served table, with what every family answers the same way
//! (`<prefix>.field.list`, `<prefix>.field.get`, and `METHODNOTFOUNDEXCEPTION`).

use crate::core::Caller;
use crate::state::Inner;
use crate::v3_common::{V3Error, err};
use crate::v3_query;
use crate::v3_served::Family;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A family's handler: answers the methods of its family.
pub(crate) type Handler = fn(&Call<'_>) -> Result<Value, V3Error>;

/// One REST 3.0 call.
pub(crate) struct Call<'a> {
    /// The portal.
    pub inner: &'a Arc<Inner>,
    /// Who calls.
    pub caller: &'a Caller,
    /// The full method name.
    pub name: &'a str,
    /// The JSON body.
    pub p: &'a Map<String, Value>,
    /// The family that serves the method.
    pub family: &'static Family,
}

impl Call<'_> {
    /// The method name after the family's prefix and its dot (`get`, `field.list`).
    pub(crate) fn method(&self) -> &str {
        self.name
            .strip_prefix(self.family.prefix.as_str())
            .and_then(|t| t.strip_prefix('.'))
            .unwrap_or_default()
    }

    /// What a handler answers for a method it does not serve itself: the family's field
    /// descriptions for `field.list` / `field.get` (when it has fields), else
    /// `METHODNOTFOUNDEXCEPTION`.
    pub(crate) fn shared(&self) -> Result<Value, V3Error> {
        match self.method() {
            "field.list" if !self.family.fields.is_empty() => Ok(v3_query::field_list(self.family)),
            "field.get" if !self.family.fields.is_empty() => {
                v3_query::field_get(self.family, self.p)
            }
            _ => Err(not_found(self.name)),
        }
    }

    /// Whether the caller is an administrator of the portal.
    pub(crate) fn is_admin(&self) -> bool {
        v3_query::is_admin(self.inner, self.caller)
    }

    /// The rows of the family's side table (named as its prefix) that pass the `filter`
    /// param, by id.
    pub(crate) fn filtered(&self) -> Result<Vec<Map<String, Value>>, V3Error> {
        let f = self.family;
        v3_query::filtered(
            self.inner,
            &f.prefix,
            self.p,
            &|x| f.filterable(x),
            &f.entity,
        )
    }

    /// Sorts `rows` by the `order` param, on the family's sortable fields.
    pub(crate) fn sort(
        &self,
        rows: &mut [Map<String, Value>],
        order: Option<&Value>,
    ) -> Result<(), V3Error> {
        let f = self.family;
        v3_query::sort(rows, order, &|x| f.sortable(x))
    }

    /// The `select`ed fields of `row`.
    pub(crate) fn select(&self, row: &Map<String, Value>) -> Result<Value, V3Error> {
        let f = self.family;
        v3_query::select(row, self.p.get("select"), &|x| f.known(x), &f.entity)
    }

    /// `{items: [...]}` of the rows, each with the `select`ed fields.
    pub(crate) fn items<'r>(
        &self,
        rows: impl Iterator<Item = &'r Map<String, Value>>,
    ) -> Result<Value, V3Error> {
        let f = self.family;
        v3_query::items(rows, self.p, &|x| f.known(x), &f.entity)
    }
}

/// `METHODNOTFOUNDEXCEPTION` for `name`.
pub(crate) fn not_found(name: &str) -> V3Error {
    err(
        404,
        "METHODNOTFOUNDEXCEPTION",
        format!("Method \"{name}\" was not found."),
    )
}
