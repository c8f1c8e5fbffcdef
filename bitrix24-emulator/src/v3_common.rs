//! The error every REST 3.0 handler of the emulator answers with.

use serde_json::{Value, json};

const PREFIX: &str = "BITRIX_REST_V3_EXCEPTION_";

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

/// `INVALIDPAGINATIONEXCEPTION` (400) with `message`.
pub(crate) fn bad_pagination(message: impl Into<String>) -> V3Error {
    err(400, "INVALIDPAGINATIONEXCEPTION", message)
}

/// The `ENTITYNOTFOUNDEXCEPTION` of a record looked up by id, as the pages word it.
pub(crate) fn record_not_found() -> V3Error {
    err(
        400,
        "ENTITYNOTFOUNDEXCEPTION",
        "Record with the specified identifier not found",
    )
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
