//! The one error type of the crate, [`Error`], and its classification ([`ErrorKind`]).
//!
//! No variant carries a secret: URLs are stripped from transport errors (webhook URLs contain
//! the webhook code) and tokens never enter an error.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One table of the known codes: the enum, [`ErrorCode::parse`], [`ErrorCode::as_str`] and
/// [`ErrorCode::KNOWN`] are all generated from it, so they cannot drift apart.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $wire:literal,)*) => {
        /// A Bitrix24 error code (`error` in an error body).
        ///
        /// Codes are matched case-insensitively; anything not listed here is kept in
        /// [`ErrorCode::Unknown`]. The legacy CRM methods send an empty code (`""`) with a text
        /// such as `Not found`: that is [`ErrorCode::Empty`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// An empty code (legacy CRM errors); read the description.
            Empty,
            /// Any other code, as sent.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every known code (not [`ErrorCode::Empty`] nor [`ErrorCode::Unknown`]).
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// Parses a code as the portal sends it (case-insensitive, surrounding spaces
            /// ignored).
            pub fn parse(code: &str) -> Self {
                let trimmed = code.trim();
                if trimmed.is_empty() {
                    return ErrorCode::Empty;
                }
                $(if trimmed.eq_ignore_ascii_case($wire) {
                    return ErrorCode::$variant;
                })*
                ErrorCode::Unknown(code.to_owned())
            }

            /// The code as the portal writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Empty => "",
                    ErrorCode::Unknown(code) => code,
                }
            }
        }
    };
}

error_codes! {
    /// `QUERY_LIMIT_EXCEEDED`: the request-rate bucket is full (HTTP 503). Never executed.
    QueryLimitExceeded = "QUERY_LIMIT_EXCEEDED",
    /// `OPERATION_TIME_LIMIT`: the method is blocked by the operating-time limit (HTTP 429).
    OperationTimeLimit = "OPERATION_TIME_LIMIT",
    /// `OVERLOAD_LIMIT`: REST is blocked for the portal or webhook by support.
    OverloadLimit = "OVERLOAD_LIMIT",
    /// `ERROR_METHOD_NOT_FOUND` (HTTP 404).
    MethodNotFound = "ERROR_METHOD_NOT_FOUND",
    /// `NO_AUTH_FOUND`: no usable credentials (HTTP 401).
    NoAuthFound = "NO_AUTH_FOUND",
    /// `INVALID_CREDENTIALS`: wrong webhook user or code.
    InvalidCredentials = "INVALID_CREDENTIALS",
    /// `INVALID_REQUEST` (for example `Https required.`).
    InvalidRequest = "INVALID_REQUEST",
    /// `expired_token`: refresh the OAuth token and retry.
    ExpiredToken = "expired_token",
    /// `invalid_token`: unknown or foreign token.
    InvalidToken = "invalid_token",
    /// `insufficient_scope`: the webhook or app lacks the method's scope.
    InsufficientScope = "insufficient_scope",
    /// `WRONG_AUTH_TYPE`: the method needs an application (OAuth) context.
    WrongAuthType = "WRONG_AUTH_TYPE",
    /// `ACCESS_DENIED`.
    AccessDenied = "ACCESS_DENIED",
    /// `user_access_error`: the user has no access to the application.
    UserAccessError = "user_access_error",
    /// `authorization_error`: the user cannot be authorized (fired or inactive).
    AuthorizationError = "authorization_error",
    /// `APPLICATION_NOT_FOUND`.
    ApplicationNotFound = "APPLICATION_NOT_FOUND",
    /// `ERROR_OAUTH`: application not installed.
    ErrorOauth = "ERROR_OAUTH",
    /// `PAYMENT_REQUIRED`: the subscription has ended.
    PaymentRequired = "PAYMENT_REQUIRED",
    /// `METHOD_CONFIRM_WAITING`: an administrator must approve the method.
    MethodConfirmWaiting = "METHOD_CONFIRM_WAITING",
    /// `METHOD_CONFIRM_DENIED`.
    MethodConfirmDenied = "METHOD_CONFIRM_DENIED",
    /// `ERROR_BATCH_LENGTH_EXCEEDED`: more than 50 commands in one batch.
    BatchLengthExceeded = "ERROR_BATCH_LENGTH_EXCEEDED",
    /// `ERROR_BATCH_METHOD_NOT_ALLOWED`: nested batch, upload or download inside a batch.
    BatchMethodNotAllowed = "ERROR_BATCH_METHOD_NOT_ALLOWED",
    /// `ERROR_CORE`.
    ErrorCore = "ERROR_CORE",
    /// `ERROR_ARGUMENT` (the body names the `argument`).
    ErrorArgument = "ERROR_ARGUMENT",
    /// `ERROR_NOT_FOUND`.
    ErrorNotFound = "ERROR_NOT_FOUND",
    /// `NOT_FOUND` (`crm.item.*`).
    NotFound = "NOT_FOUND",
    /// `INVALID_ARG_VALUE`.
    InvalidArgValue = "INVALID_ARG_VALUE",
    /// `INTERNAL_SERVER_ERROR`.
    InternalServerError = "INTERNAL_SERVER_ERROR",
    /// `ERROR_UNEXPECTED_ANSWER`.
    UnexpectedAnswer = "ERROR_UNEXPECTED_ANSWER",
    /// `PORTAL_DELETED`.
    PortalDeleted = "PORTAL_DELETED",
    /// `WRONG_LICENSE`.
    WrongLicense = "WRONG_LICENSE",
    /// `invalid_grant` from the token endpoint: the refresh token or code is no longer valid.
    InvalidGrant = "invalid_grant",
    /// `invalid_client` from the token endpoint: wrong client id or secret.
    InvalidClient = "invalid_client",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION`.
    V3MethodNotFound = "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_RATELIMITEXCEPTION` (429, the operating-time limit).
    V3RateLimit = "BITRIX_REST_V3_EXCEPTION_RATELIMITEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION` (401 for auth failures).
    V3AccessDenied = "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION`.
    V3InsufficientScope = "BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION`: no record with that id.
    V3EntityNotFound = "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION` (422): the
    /// `Idempotency-Key` was already used with a different request body.
    V3IdempotencyKeyReused = "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION",
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_INVALIDIDEMPOTENCYKEYEXCEPTION` (400): the
    /// `Idempotency-Key` is not 1 to 255 printable ASCII characters.
    V3InvalidIdempotencyKey = "BITRIX_REST_V3_EXCEPTION_INVALIDIDEMPOTENCYKEYEXCEPTION",
}

impl ErrorCode {
    /// Whether the code says the portal rejected the call *before* executing it, so that
    /// sending it again cannot apply a write twice.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            ErrorCode::QueryLimitExceeded
                | ErrorCode::OperationTimeLimit
                | ErrorCode::OverloadLimit
                | ErrorCode::V3RateLimit
        )
    }

    /// Whether the code says the thing the call names does not exist: `NOT_FOUND`,
    /// `ERROR_NOT_FOUND`, the documented `<THING>_NOT_FOUND` codes (`ERROR_ENTITY_NOT_FOUND`,
    /// `BOT_NOT_FOUND`, ...) and REST 3.0's `ENTITYNOTFOUNDEXCEPTION`. A missing *method*
    /// (`ERROR_METHOD_NOT_FOUND`) is not that.
    pub fn is_not_found(&self) -> bool {
        match self {
            ErrorCode::NotFound | ErrorCode::ErrorNotFound | ErrorCode::V3EntityNotFound => true,
            // ERROR_METHOD_NOT_FOUND and the v3 METHODNOTFOUND are known codes: they end
            // in the `_ =>` arm, never in the suffix test below.
            ErrorCode::Unknown(code) => code.trim().to_ascii_uppercase().ends_with("_NOT_FOUND"),
            _ => false,
        }
    }

    /// Whether the code is an authentication or authorization failure.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ErrorCode::NoAuthFound
                | ErrorCode::InvalidCredentials
                | ErrorCode::ExpiredToken
                | ErrorCode::InvalidToken
                | ErrorCode::InsufficientScope
                | ErrorCode::WrongAuthType
                | ErrorCode::UserAccessError
                | ErrorCode::AuthorizationError
                | ErrorCode::ApplicationNotFound
                | ErrorCode::ErrorOauth
                | ErrorCode::InvalidGrant
                | ErrorCode::InvalidClient
                | ErrorCode::MethodConfirmWaiting
                | ErrorCode::MethodConfirmDenied
                | ErrorCode::V3AccessDenied
                | ErrorCode::V3InsufficientScope
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Empty => f.write_str("(empty code)"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// An error the portal answered with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The method called (for a batch command: that command's method).
    pub method: String,
    /// The parsed `error` code.
    pub code: ErrorCode,
    /// `error_description` (REST 3.0: `message`).
    pub description: String,
    /// HTTP status (200 for an error body sent with 200, or for a batch command's error).
    pub status: u16,
    /// `argument`, sent with `ERROR_ARGUMENT`.
    pub argument: Option<String>,
    /// REST 3.0 `validation[]`: `(field, message)` pairs.
    pub validation: Vec<(Option<String>, String)>,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: Bitrix24 error {} (HTTP {}): {}",
            self.method, self.code, self.status, self.description
        )?;
        if let Some(arg) = &self.argument {
            write!(f, " [argument {arg}]")?;
        }
        for (field, message) in &self.validation {
            match field {
                Some(field) => write!(f, " [{field}: {message}]")?,
                None => write!(f, " [{message}]")?,
            }
        }
        Ok(())
    }
}

/// What went wrong with authentication, beyond an API error code.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint refused the refresh token (`invalid_grant`): the user must authorize
    /// the application again. The client never retries this.
    RefreshRejected {
        /// The code the token endpoint sent.
        code: ErrorCode,
        /// Its description.
        description: String,
    },
    /// The portal still says the token expired right after a successful refresh.
    StillExpiredAfterRefresh,
    /// Persisting rotated tokens failed; the new tokens were not used.
    TokenStore(String),
    /// The token endpoint's answer could not be read.
    BadTokenResponse(String),
    /// The token endpoint could not be reached, timed out or failed (5xx): the refresh token
    /// is still valid, so the next call tries again. Every caller waiting for that refresh
    /// gets this one answer.
    RefreshUnavailable(String),
    /// The token endpoint named by the tokens' `server_endpoint` is neither a documented OAuth
    /// server ([`crate::endpoint::DOCUMENTED_OAUTH_HOSTS`]), nor the portal, nor a host the
    /// application trusts ([`crate::OAuthApp::trust_token_host`]): the client secret and
    /// refresh token are not sent there.
    UntrustedTokenEndpoint {
        /// The host that was refused.
        host: String,
    },
}

impl std::error::Error for AuthError {}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::RefreshRejected { code, description } => write!(
                f,
                "the token endpoint rejected the refresh token ({code}: {description}); authorize the application again"
            ),
            AuthError::StillExpiredAfterRefresh => {
                f.write_str("the portal rejected the freshly refreshed access token as expired")
            }
            AuthError::TokenStore(msg) => {
                write!(f, "could not persist the rotated tokens: {msg}")
            }
            AuthError::BadTokenResponse(msg) => {
                write!(f, "unreadable token endpoint response: {msg}")
            }
            AuthError::RefreshUnavailable(msg) => {
                write!(
                    f,
                    "the token endpoint is unavailable ({msg}); try again later"
                )
            }
            AuthError::UntrustedTokenEndpoint { host } => write!(
                f,
                "the token endpoint host `{host}` is not a documented OAuth server or the portal; \
                 trust it explicitly with OAuthApp::trust_token_host"
            ),
        }
    }
}

/// Every error of the crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The portal answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request could not be sent or the response could not be read (connection refused,
    /// DNS, TLS, timeout on a read). Never carries the URL (it may hold a webhook code).
    /// `Display` says what failed; [`std::error::Error::source`] says why.
    #[error("{method}: transport error: {message}")]
    Transport {
        /// The method called.
        method: String,
        /// What happened, in a few words (`timed out`, `could not connect`, ...).
        message: String,
        /// The underlying error, with its URL removed.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The response was not what the method's type expects.
    #[error("{method}: cannot decode the response (HTTP {status}) at `{path}`: {message}")]
    Decode {
        /// The method called.
        method: String,
        /// The JSON path that failed (`result.ID`, `result.tasks[3].id`); `.` for the document.
        path: String,
        /// What was wrong.
        message: String,
        /// HTTP status of the response.
        status: u16,
    },
    /// The portal kept answering `QUERY_LIMIT_EXCEEDED` after the configured retries.
    #[error("{method}: still rate-limited (QUERY_LIMIT_EXCEEDED) after {attempts} attempts")]
    RateLimited {
        /// The method called.
        method: String,
        /// How many times it was sent.
        attempts: u32,
    },
    /// The method is blocked by the per-method operating-time limit (HTTP 429
    /// `OPERATION_TIME_LIMIT`), or would be and the wait exceeds the configured maximum.
    #[error("{method}: blocked by the operating-time limit{}", reset_hint(*reset_at))]
    OperatingLimit {
        /// The blocked method.
        method: String,
        /// When the oldest accounted minute leaves the 10-minute window, if known.
        reset_at: Option<SystemTime>,
    },
    /// Authentication failed in a way a retry cannot fix.
    #[error("auth: {0}")]
    Auth(AuthError),
    /// The client was configured wrongly (bad webhook URL, missing credentials...).
    #[error("configuration: {0}")]
    Config(String),
    /// The call was refused before sending: empty method name, params not an object, a nested
    /// batch, a linked batch group larger than 50 commands...
    #[error("{method}: invalid input: {message}")]
    InvalidInput {
        /// The method (may be empty when the name itself was the problem).
        method: String,
        /// What was wrong.
        message: String,
    },
    /// A write was sent but its response was lost (timeout, dropped connection, truncated
    /// body): it may or may not have been applied, so it was not sent again.
    #[error("{method}: outcome unknown: {reason}; the write may or may not have been applied")]
    OutcomeUnknown {
        /// The method called.
        method: String,
        /// What was lost.
        reason: String,
        /// The `Idempotency-Key` every send of this REST 3.0 write carried (`None` on v2):
        /// [`crate::Client::send_with_key`] with it, within the portal's 24 hours, settles the
        /// call without running it twice.
        idempotency_key: Option<crate::IdempotencyKey>,
    },
    /// The portal answered a call that is not idempotent (a write) with success, but the
    /// answer does not fit the method's type. The call **was applied**: never send it again;
    /// read what it did from [`RawAnswer`].
    #[error(
        "{method}: the portal applied the call (HTTP {status}) but its answer does not decode at `{path}`: {message}; it must not be sent again"
    )]
    AppliedUndecoded {
        /// The method called.
        method: String,
        /// HTTP status of the answer.
        status: u16,
        /// The JSON path that failed.
        path: String,
        /// What was wrong.
        message: String,
        /// The answer as received.
        raw: RawAnswer,
    },
    /// The answer was larger than the client's cap
    /// ([`crate::ClientBuilder::max_response_bytes`]); it was not read further. For a write the
    /// call reached the portal: it is not sent again.
    #[error("{method}: the answer exceeds the response cap of {limit} bytes; not read")]
    ResponseTooLarge {
        /// The method called (`oauth/token` for the token endpoint).
        method: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The portal answered that it moved to another address that the client does not follow
    /// on its own (only a Bitrix24 cloud portal's rename within its zone is followed):
    /// update the webhook URL or portal address. Nothing was sent to the new address.
    #[error(
        "{method}: the portal redirected to {to}, which is not a rename of this cloud portal; not following (update the portal address)"
    )]
    PortalMoved {
        /// The method called.
        method: String,
        /// The new address: scheme, host and port only.
        to: String,
    },
    /// A list walk stopped because the portal's pages made no progress (a `next` that does not
    /// move, an empty page announcing more, repeated rows, keyset ids that do not grow) or
    /// announced a `total` too large to walk: rows read so far were handed out.
    #[error("{method}: pagination stopped: {message}")]
    Pagination {
        /// The list method.
        method: String,
        /// What was wrong with the pages.
        message: String,
    },
    /// The batch request that carried this command failed as a whole (the error is shared by
    /// every command of that request).
    #[error("batch command `{command}`: its batch request failed: {source}")]
    BatchRequest {
        /// The command key.
        command: String,
        /// Why the request failed.
        #[source]
        source: std::sync::Arc<Error>,
    },
    /// A batch command was not executed (`halt` stopped the batch before it).
    #[error("batch command `{command}` ({method}) was not executed")]
    NotExecuted {
        /// The command key.
        command: String,
        /// Its method.
        method: String,
    },
    /// A method that exists only on REST 3.0 is not available on this portal: its `/rest/api/`
    /// answered "method not found" (now or earlier, remembered per method), and v2 has no such
    /// method to fall back to.
    #[error("{method}: not available on this portal (a REST 3.0 method the portal does not have)")]
    NotOnPortal {
        /// The REST 3.0 method name.
        method: String,
    },
}

/// A response body kept in an error. `Debug` shows only its length: the bytes are there for
/// the caller to inspect ([`RawAnswer::as_bytes`]), never for logs.
#[derive(Clone, PartialEq, Eq)]
pub struct RawAnswer(std::sync::Arc<[u8]>);

impl RawAnswer {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        RawAnswer(bytes.into())
    }

    /// The bytes as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.0).ok()
    }
}

impl fmt::Debug for RawAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawAnswer({} bytes)", self.0.len())
    }
}

fn reset_hint(reset_at: Option<SystemTime>) -> String {
    match reset_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        Some(d) => format!(" until unix time {}", d.as_secs()),
        None => String::new(),
    }
}

/// A coarse classification of an [`Error`], for retry and reporting decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The portal throttled the call (rate or operating-time limit).
    Throttling,
    /// Network or transport trouble; may pass.
    Transient,
    /// The portal failed (5xx).
    Server,
    /// The request was wrong (4xx other than auth): fix the call.
    Client,
    /// Credentials or permissions.
    Auth,
    /// The response did not match the expected type.
    Decode,
    /// The client's own configuration or input.
    Config,
    /// A write whose outcome is unknown.
    OutcomeUnknown,
}

impl Error {
    /// Classifies the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api(e) => {
                if e.code.is_rejection() {
                    ErrorKind::Throttling
                } else if e.code.is_auth() {
                    ErrorKind::Auth
                } else if e.status >= 500 {
                    ErrorKind::Server
                } else {
                    ErrorKind::Client
                }
            }
            Error::Transport { .. } => ErrorKind::Transient,
            Error::Decode { .. }
            | Error::AppliedUndecoded { .. }
            | Error::ResponseTooLarge { .. } => ErrorKind::Decode,
            Error::RateLimited { .. } | Error::OperatingLimit { .. } => ErrorKind::Throttling,
            Error::Auth(_) => ErrorKind::Auth,
            Error::Config(_) | Error::InvalidInput { .. } | Error::PortalMoved { .. } => {
                ErrorKind::Config
            }
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Error::NotExecuted { .. } | Error::NotOnPortal { .. } => ErrorKind::Client,
            Error::Pagination { .. } => ErrorKind::Server,
            Error::BatchRequest { source, .. } => source.kind(),
        }
    }

    /// Whether trying the same call later may succeed without changing it. Writes whose
    /// outcome is unknown are *not* retryable: check the portal first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.code.is_rejection() || e.status >= 500,
            Error::Transport { .. }
            | Error::RateLimited { .. }
            | Error::OperatingLimit { .. }
            | Error::Auth(AuthError::RefreshUnavailable(_)) => true,
            Error::BatchRequest { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// The API error, if the portal answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the portal said the record (deal, task, item, chat...) does not exist, in any of
    /// its documented forms: a not-found code ([`ErrorCode::is_not_found`]), the legacy CRM
    /// answer with an empty code and `Not found`, or `ERROR_CORE` with `Task not found`
    /// (tasks). `ID is not defined or invalid` is *not* one: the docs give it for an id that is
    /// missing or not a positive integer, which is a mistake in the call.
    ///
    /// ```
    /// use bitrix24::envelope::decode_response;
    /// let body = br#"{"error":"","error_description":"Not found"}"#;
    /// let err = decode_response::<serde_json::Value>("crm.deal.get", 400, body).unwrap_err();
    /// assert!(err.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api(api) => {
                if api.code.is_not_found() {
                    return true;
                }
                let text = api
                    .description
                    .trim()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                matches!(api.code, ErrorCode::Empty | ErrorCode::ErrorCore)
                    && (text == "not found" || text.ends_with(" not found"))
            }
            _ => false,
        }
    }

    /// The API error code, if the portal answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.api().map(|e| &e.code)
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } | Error::AppliedUndecoded { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long to wait before the call can succeed, when the error says so.
    pub fn retry_after(&self, now: SystemTime) -> Option<Duration> {
        match self {
            Error::OperatingLimit {
                reset_at: Some(at), ..
            } => at.duration_since(now).ok(),
            _ => None,
        }
    }

    pub(crate) fn transport(method: &str, source: reqwest::Error) -> Self {
        let source = source.without_url();
        Error::Transport {
            method: method.to_owned(),
            message: summarize_reqwest(&source).to_owned(),
            source: Some(source),
        }
    }

    /// A transport failure told in one string, its causes included, for errors that carry no
    /// source (`OutcomeUnknown`, a shared refresh failure). Never holds the URL.
    pub(crate) fn transport_reason(source: reqwest::Error) -> String {
        let source = source.without_url();
        let mut chain = summarize_reqwest(&source).to_owned();
        let mut cause = std::error::Error::source(&source);
        while let Some(c) = cause {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        chain
    }

    /// A lost answer of a write sent without an `Idempotency-Key`.
    pub(crate) fn outcome_unknown(method: &str, reason: impl Into<String>) -> Self {
        Error::OutcomeUnknown {
            method: method.to_owned(),
            reason: reason.into(),
            idempotency_key: None,
        }
    }

    pub(crate) fn invalid(method: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            method: method.to_owned(),
            message: message.into(),
        }
    }
}

/// What kind of JSON value `v` is, in the words of this crate's error messages: `null`,
/// `a boolean`, `a number`, `a string`, `an array` or `an object`. Tools that check JSON
/// before it reaches the client (the `b24` CLI's MCP arguments) use it to word their own
/// refusals the same way.
///
/// ```
/// assert_eq!(bitrix24::error::json_kind(&serde_json::json!([1])), "an array");
/// assert_eq!(bitrix24::error::json_kind(&serde_json::json!({})), "an object");
/// ```
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn summarize_reqwest(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was cut short"
    } else if e.is_request() {
        "the request failed"
    } else {
        "HTTP error"
    }
}

/// `.optional()` on a call's result: a record that does not exist becomes `Ok(None)`.
///
/// ```no_run
/// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
/// use bitrix24::OptionalExt;
/// let deal = client
///     .call("crm.deal.get", serde_json::json!({"id": 999_999}))
///     .await
///     .optional()?;
/// assert!(deal.is_none());
/// # Ok(()) }
/// ```
pub trait OptionalExt<T> {
    /// `Ok(Some(v))` for a value, `Ok(None)` when [`Error::is_not_found`], the error otherwise.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExt<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_in_any_case() {
        assert!(ErrorCode::KNOWN.len() >= 36);
        for code in ErrorCode::KNOWN {
            let wire = code.as_str();
            assert_eq!(&ErrorCode::parse(wire), code, "{wire}");
            assert_eq!(&ErrorCode::parse(&wire.to_ascii_lowercase()), code);
            assert_eq!(
                &ErrorCode::parse(&format!(" {} ", wire.to_ascii_uppercase())),
                code
            );
        }
        assert_eq!(ErrorCode::parse(""), ErrorCode::Empty);
        assert_eq!(
            ErrorCode::parse("SOMETHING_NEW"),
            ErrorCode::Unknown("SOMETHING_NEW".into())
        );
    }

    fn api(code: &str, description: &str) -> Error {
        Error::Api(Box::new(ApiError {
            method: "m".into(),
            code: ErrorCode::parse(code),
            description: description.into(),
            status: 400,
            argument: None,
            validation: Vec::new(),
        }))
    }

    #[test]
    fn not_found_in_every_documented_form() {
        for (code, description) in [
            ("", "Not found"),
            ("", "Not found."),
            ("NOT_FOUND", "Element not found"),
            ("ERROR_NOT_FOUND", ""),
            ("ERROR_ENTITY_NOT_FOUND", ""),
            ("BOT_NOT_FOUND", "Bot not found"),
            (
                "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION",
                "Task not found",
            ),
            ("ERROR_CORE", "Task not found"),
        ] {
            assert!(
                api(code, description).is_not_found(),
                "{code} {description}"
            );
        }
        for (code, description) in [
            ("ERROR_METHOD_NOT_FOUND", "Method not found!"),
            ("BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION", ""),
            ("", "ID is not defined or invalid"),
            ("", "Access denied"),
            ("ERROR_CORE", "Something failed"),
            ("ACCESS_DENIED", "not found"),
        ] {
            assert!(
                !api(code, description).is_not_found(),
                "{code} {description}"
            );
        }
        assert_eq!(Err::<u8, _>(api("", "Not found")).optional().unwrap(), None);
        assert_eq!(Ok::<u8, Error>(4).optional().unwrap(), Some(4));
        assert!(Err::<u8, _>(api("", "Access denied")).optional().is_err());
    }

    #[tokio::test]
    async fn transport_display_leaves_the_cause_to_source() {
        // A real connection failure: a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let failure = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/rest/1/c0de/server.time"))
            .send()
            .await
            .unwrap_err();
        let err = Error::transport("server.time", failure);
        assert_eq!(
            err.to_string(),
            "server.time: transport error: could not connect"
        );
        let cause = std::error::Error::source(&err).expect("the cause is the source");
        assert!(!cause.to_string().contains("c0de"), "{cause}");
    }
}
