//! What the emulator's REST 3.0 families share: the row of the table of served methods (from
//! which `rest.documentation.openapi` is written) and the error every handler answers with.

use serde_json::{Value, json};

const PREFIX: &str = "BITRIX_REST_V3_EXCEPTION_";

/// One served REST 3.0 method: its name, the scope it needs (also its OpenAPI tag) and its
/// params (name, OpenAPI type, required), from which the OpenAPI document is written.
pub(crate) struct Served {
    pub name: &'static str,
    pub scope: &'static str,
    pub params: &'static [Param],
}

impl Served {
    pub(crate) const fn new(
        name: &'static str,
        scope: &'static str,
        params: &'static [Param],
    ) -> Self {
        Served {
            name,
            scope,
            params,
        }
    }
}

/// One param of a served method: name, OpenAPI type, required.
pub(crate) type Param = (&'static str, &'static str, bool);

/// The params of every `*.field.list`.
pub(crate) const FIELD_LIST: &[Param] = &[("select", "array", false)];

/// The params of every `*.field.get`.
pub(crate) const FIELD_GET: &[Param] = &[("name", "string", true), ("select", "array", false)];

/// The params of a `get` by `id` with `select`.
pub(crate) const GET: &[Param] = &[("id", "integer", true), ("select", "array", false)];

/// The params of a list by condition filters, sorted and paged.
pub(crate) const LIST: &[Param] = &[
    ("select", "array", false),
    ("filter", "array", false),
    ("order", "object", false),
    ("pagination", "object", false),
];

/// A REST 3.0 error answer: `{error: {code, message, validation}}` with its HTTP status.
pub(crate) struct V3Error {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub validation: Option<Box<Value>>,
}

/// The error `code` (prefixed as the portal prefixes it) with `status` and `message`.
pub(crate) fn err(status: u16, code: &str, message: impl Into<String>) -> V3Error {
    V3Error {
        status,
        code: format!("{PREFIX}{code}"),
        message: message.into(),
        validation: None,
    }
}

/// A request validation error on `field`, as the portal answers one.
pub(crate) fn validation(field: &str, message: &str) -> V3Error {
    let mut e = err(
        400,
        "VALIDATION_REQUESTVALIDATIONEXCEPTION",
        "Error validating request object",
    );
    e.validation = Some(Box::new(json!([{ "message": message, "field": field }])));
    e
}
