//! The error every REST 3.0 handler of the emulator answers with.

use serde_json::{Map, Value, json};

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

/// An object (DTO) validation error on `field`, as the portal answers one for `fields.*`.
pub(crate) fn dto(field: &str, message: &str) -> V3Error {
    let mut e = validation(field, message);
    e.code = format!("{PREFIX}VALIDATION_DTOVALIDATIONEXCEPTION");
    e.message = "Object validation error".into();
    e
}

/// An error a module answers with its own `code`, not prefixed (`NOTE_EMPTY_UPDATE`).
pub(crate) fn module(code: &str, message: &str) -> V3Error {
    V3Error {
        status: 400,
        code: code.to_owned(),
        message: message.to_owned(),
        validation: None,
    }
}

/// The `fields` object of a call, required; `missing` is the method page's wording of its
/// absence (a request validation error).
pub(crate) fn fields<'a>(
    p: &'a Map<String, Value>,
    missing: &str,
) -> Result<&'a Map<String, Value>, V3Error> {
    match p.get("fields") {
        Some(Value::Object(f)) => Ok(f),
        _ => Err(validation("fields", missing)),
    }
}
