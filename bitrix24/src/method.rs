//! The one abstraction every call goes through: [`Method`] (and [`ListMethod`] for list methods).
//!
//! Hand-written methods, generated methods (`bitrix24-codegen`), user-declared methods
//! (`bitrix24-macros`), [`crate::Client::send`], batches and pagination streams all use it.

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer};
use serde::{Deserialize, Serialize};

// `Risk`: generated from the one table of the risk classes (`bitrix24-codegen`'s `risk.rs`),
// which the specs and `#[derive(Method)]` use too.
include!(concat!(env!("OUT_DIR"), "/bitrix24-generated/risk.rs"));

/// A typed Bitrix24 REST method.
///
/// The implementing value *is* the parameter set: it serializes (with `serde`) to the JSON
/// object the portal expects, and [`Method::Response`] is what `result` decodes into.
///
/// ```
/// use bitrix24::{Method, Risk};
/// use serde::Serialize;
///
/// /// `crm.deal.get` by hand (the generated one looks the same).
/// #[derive(Serialize)]
/// struct DealGet {
///     id: u64,
/// }
///
/// impl Method for DealGet {
///     const NAME: &'static str = "crm.deal.get";
///     const RISK: Risk = Risk::Read;
///     const IDEMPOTENT: bool = true;
///     const SCOPES: &'static [&'static str] = &["crm"];
///     type Response = serde_json::Value;
/// }
/// assert_eq!(DealGet::NAME, "crm.deal.get");
/// ```
pub trait Method: Serialize + Send + Sync {
    /// The v2 method name, for example `crm.deal.add`.
    const NAME: &'static str;
    /// Guardrail class.
    const RISK: Risk;
    /// Whether sending the call twice has the same effect as sending it once. Only idempotent
    /// calls are re-sent after an ambiguous failure (timeout, lost response, 5xx).
    const IDEMPOTENT: bool;
    /// Scopes any one of which allows the call (empty for global methods such as `batch`).
    const SCOPES: &'static [&'static str];
    /// The REST 3.0 method name (`/rest/api/<name>`), when the method exists there with the
    /// same parameters and response shape as this type describes.
    const V3_NAME: Option<&'static str> = None;
    /// Whether the method exists only on REST 3.0 in this shape (a `note.*` method, or the v3
    /// `tasks.task.get` whose params differ from v2's): it is never sent to v2, and a portal
    /// without it answers [`crate::Error::NotOnPortal`]. Needs [`Method::V3_NAME`].
    const V3_ONLY: bool = false;
    /// What the envelope's `result` decodes into.
    type Response: DeserializeOwned + Send + 'static;

    /// Decodes the envelope's `result` into [`Method::Response`]: what [`crate::Client::send`]
    /// and [`crate::BatchResults::get`] call. The default is the type's own `Deserialize`; the
    /// generated methods decode plain types leniently instead (`crm.deal.add` is a `u64` from
    /// `394` or `"394"`; see [`crate::lenient`]), and a hand-written method may do the same:
    ///
    /// ```
    /// # use bitrix24::{Method, Risk};
    /// # #[derive(serde::Serialize)] struct DealAdd {}
    /// impl Method for DealAdd {
    ///     // ...
    /// #   const NAME: &'static str = "crm.deal.add";
    /// #   const RISK: Risk = Risk::Write;
    /// #   const IDEMPOTENT: bool = false;
    /// #   const SCOPES: &'static [&'static str] = &["crm"];
    ///     type Response = u64;
    ///     fn decode_response<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ///         bitrix24::lenient::required(d)
    ///     }
    /// }
    /// ```
    fn decode_response<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self::Response, D::Error> {
        Self::Response::deserialize(deserializer)
    }

    /// Checks the params before anything is sent; the message names the offending field.
    /// The default accepts everything.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Decodes `result` with [`Method::decode_response`] of `M`.
pub(crate) struct ResponseSeed<M>(PhantomData<fn() -> M>);

impl<M> ResponseSeed<M> {
    pub(crate) fn new() -> Self {
        ResponseSeed(PhantomData)
    }
}

impl<M> Clone for ResponseSeed<M> {
    fn clone(&self) -> Self {
        ResponseSeed(PhantomData)
    }
}

impl<'de, M: Method> DeserializeSeed<'de> for ResponseSeed<M> {
    type Value = M::Response;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<M::Response, D::Error> {
        M::decode_response(deserializer)
    }
}

/// How a list method can be walked by id (keyset pagination: `order ID ASC`, `filter >ID`,
/// `start=-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keyset {
    /// The field named in the request's `order` and `filter` (`ID`, `id`).
    pub request_field: &'static str,
    /// The field that carries the id in each returned row (`ID`, `id`).
    pub response_field: &'static str,
}

impl Keyset {
    /// Ordered and filtered by `request_field`, ids read from `response_field` of each row.
    pub const fn new(request_field: &'static str, response_field: &'static str) -> Self {
        Keyset {
            request_field,
            response_field,
        }
    }
}

/// How a REST 3.0 list is paged (the v2 `start`/`next` form is not used there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum V3Paging {
    /// `pagination: {page, limit}`; the last page is the one with fewer rows than `limit`
    /// (`tasks.task.list`).
    Page,
    /// `pagination: {limit, afterCursor}`, `afterCursor` being the `nextCursor` (or the
    /// `afterCursor`) of the page before; `nextCursor: null` or `hasMore: false` ends the list
    /// (`note.collection.list`, `call.followup.list`).
    Cursor,
}

/// A [`Method`] whose result is a page of rows (50 per page on v2).
pub trait ListMethod: Method {
    /// One row.
    type Item: DeserializeOwned + Send + 'static;
    /// The key that wraps the rows inside `result` (`items` for `crm.item.list`, `tasks` for
    /// `tasks.task.list`), or `None` when `result` is the list itself.
    const WRAPPER: Option<&'static str> = None;
    /// Keyset support, when the method can be ordered and filtered by id.
    const KEYSET: Option<Keyset> = None;
    /// The REST 3.0 paging form of a [`Method::V3_ONLY`] list; `None` pages the v2 way.
    const V3_PAGING: Option<V3Paging> = None;
    /// The id of a row, used by keyset pagination to continue after the last row.
    fn item_id(item: &Self::Item) -> Option<u64>;
}
