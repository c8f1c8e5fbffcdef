//! The one error type of the crate, [`Error`], and its classification ([`ErrorKind`]).
//!
//! No variant carries a secret: URLs are stripped from transport errors (webhook URLs contain
//! the webhook code) and tokens never enter an error.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Bitrix24 error code (`error` in an error body).
///
/// Codes are matched case-insensitively; anything not listed here is kept in
/// [`ErrorCode::Unknown`]. The legacy CRM methods send an empty code (`""`) with a text such as
/// `Not found`: that is [`ErrorCode::Empty`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `QUERY_LIMIT_EXCEEDED`: the request-rate bucket is full (HTTP 503). Never executed.
    QueryLimitExceeded,
    /// `OPERATION_TIME_LIMIT`: the method is blocked by the operating-time limit (HTTP 429).
    OperationTimeLimit,
    /// `OVERLOAD_LIMIT`: REST is blocked for the portal or webhook by support.
    OverloadLimit,
    /// `ERROR_METHOD_NOT_FOUND` (HTTP 404).
    MethodNotFound,
    /// `NO_AUTH_FOUND`: no usable credentials (HTTP 401).
    NoAuthFound,
    /// `INVALID_CREDENTIALS`: wrong webhook user or code.
    InvalidCredentials,
    /// `INVALID_REQUEST` (for example `Https required.`).
    InvalidRequest,
    /// `expired_token`: refresh the OAuth token and retry.
    ExpiredToken,
    /// `invalid_token`: unknown or foreign token.
    InvalidToken,
    /// `insufficient_scope`: the webhook or app lacks the method's scope.
    InsufficientScope,
    /// `WRONG_AUTH_TYPE`: the method needs an application (OAuth) context.
    WrongAuthType,
    /// `ACCESS_DENIED`.
    AccessDenied,
    /// `user_access_error`: the user has no access to the application.
    UserAccessError,
    /// `authorization_error`: the user cannot be authorized (fired or inactive).
    AuthorizationError,
    /// `APPLICATION_NOT_FOUND`.
    ApplicationNotFound,
    /// `ERROR_OAUTH`: application not installed.
    ErrorOauth,
    /// `PAYMENT_REQUIRED`: the subscription has ended.
    PaymentRequired,
    /// `METHOD_CONFIRM_WAITING`: an administrator must approve the method.
    MethodConfirmWaiting,
    /// `METHOD_CONFIRM_DENIED`.
    MethodConfirmDenied,
    /// `ERROR_BATCH_LENGTH_EXCEEDED`: more than 50 commands in one batch.
    BatchLengthExceeded,
    /// `ERROR_BATCH_METHOD_NOT_ALLOWED`: nested batch, upload or download inside a batch.
    BatchMethodNotAllowed,
    /// `ERROR_CORE`.
    ErrorCore,
    /// `ERROR_ARGUMENT` (the body names the `argument`).
    ErrorArgument,
    /// `ERROR_NOT_FOUND`.
    ErrorNotFound,
    /// `NOT_FOUND` (`crm.item.*`).
    NotFound,
    /// `INVALID_ARG_VALUE`.
    InvalidArgValue,
    /// `INTERNAL_SERVER_ERROR`.
    InternalServerError,
    /// `ERROR_UNEXPECTED_ANSWER`.
    UnexpectedAnswer,
    /// `PORTAL_DELETED`.
    PortalDeleted,
    /// `WRONG_LICENSE`.
    WrongLicense,
    /// `invalid_grant` from the token endpoint: the refresh token or code is no longer valid.
    InvalidGrant,
    /// `invalid_client` from the token endpoint: wrong client id or secret.
    InvalidClient,
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION`.
    V3MethodNotFound,
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_RATELIMITEXCEPTION` (429, the operating-time limit).
    V3RateLimit,
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION` (401 for auth failures).
    V3AccessDenied,
    /// REST 3.0 `BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION`.
    V3InsufficientScope,
    /// An empty code (legacy CRM errors); read the description.
    Empty,
    /// Any other code, as sent.
    Unknown(String),
}

impl ErrorCode {
    /// Parses a code as the portal sends it (case-insensitive).
    pub fn parse(code: &str) -> Self {
        let upper = code.trim().to_ascii_uppercase();
        match upper.as_str() {
            "" => ErrorCode::Empty,
            "QUERY_LIMIT_EXCEEDED" => ErrorCode::QueryLimitExceeded,
            "OPERATION_TIME_LIMIT" => ErrorCode::OperationTimeLimit,
            "OVERLOAD_LIMIT" => ErrorCode::OverloadLimit,
            "ERROR_METHOD_NOT_FOUND" => ErrorCode::MethodNotFound,
            "NO_AUTH_FOUND" => ErrorCode::NoAuthFound,
            "INVALID_CREDENTIALS" => ErrorCode::InvalidCredentials,
            "INVALID_REQUEST" => ErrorCode::InvalidRequest,
            "EXPIRED_TOKEN" => ErrorCode::ExpiredToken,
            "INVALID_TOKEN" => ErrorCode::InvalidToken,
            "INSUFFICIENT_SCOPE" => ErrorCode::InsufficientScope,
            "WRONG_AUTH_TYPE" => ErrorCode::WrongAuthType,
            "ACCESS_DENIED" => ErrorCode::AccessDenied,
            "USER_ACCESS_ERROR" => ErrorCode::UserAccessError,
            "AUTHORIZATION_ERROR" => ErrorCode::AuthorizationError,
            "APPLICATION_NOT_FOUND" => ErrorCode::ApplicationNotFound,
            "ERROR_OAUTH" => ErrorCode::ErrorOauth,
            "PAYMENT_REQUIRED" => ErrorCode::PaymentRequired,
            "METHOD_CONFIRM_WAITING" => ErrorCode::MethodConfirmWaiting,
            "METHOD_CONFIRM_DENIED" => ErrorCode::MethodConfirmDenied,
            "ERROR_BATCH_LENGTH_EXCEEDED" => ErrorCode::BatchLengthExceeded,
            "ERROR_BATCH_METHOD_NOT_ALLOWED" => ErrorCode::BatchMethodNotAllowed,
            "ERROR_CORE" => ErrorCode::ErrorCore,
            "ERROR_ARGUMENT" => ErrorCode::ErrorArgument,
            "ERROR_NOT_FOUND" => ErrorCode::ErrorNotFound,
            "NOT_FOUND" => ErrorCode::NotFound,
            "INVALID_ARG_VALUE" => ErrorCode::InvalidArgValue,
            "INTERNAL_SERVER_ERROR" => ErrorCode::InternalServerError,
            "ERROR_UNEXPECTED_ANSWER" => ErrorCode::UnexpectedAnswer,
            "PORTAL_DELETED" => ErrorCode::PortalDeleted,
            "WRONG_LICENSE" => ErrorCode::WrongLicense,
            "INVALID_GRANT" => ErrorCode::InvalidGrant,
            "INVALID_CLIENT" => ErrorCode::InvalidClient,
            "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION" => ErrorCode::V3MethodNotFound,
            "BITRIX_REST_V3_EXCEPTION_RATELIMITEXCEPTION" => ErrorCode::V3RateLimit,
            "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION" => ErrorCode::V3AccessDenied,
            "BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION" => ErrorCode::V3InsufficientScope,
            _ => ErrorCode::Unknown(code.to_owned()),
        }
    }

    /// The code as the portal writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::QueryLimitExceeded => "QUERY_LIMIT_EXCEEDED",
            ErrorCode::OperationTimeLimit => "OPERATION_TIME_LIMIT",
            ErrorCode::OverloadLimit => "OVERLOAD_LIMIT",
            ErrorCode::MethodNotFound => "ERROR_METHOD_NOT_FOUND",
            ErrorCode::NoAuthFound => "NO_AUTH_FOUND",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::WrongAuthType => "WRONG_AUTH_TYPE",
            ErrorCode::AccessDenied => "ACCESS_DENIED",
            ErrorCode::UserAccessError => "user_access_error",
            ErrorCode::AuthorizationError => "authorization_error",
            ErrorCode::ApplicationNotFound => "APPLICATION_NOT_FOUND",
            ErrorCode::ErrorOauth => "ERROR_OAUTH",
            ErrorCode::PaymentRequired => "PAYMENT_REQUIRED",
            ErrorCode::MethodConfirmWaiting => "METHOD_CONFIRM_WAITING",
            ErrorCode::MethodConfirmDenied => "METHOD_CONFIRM_DENIED",
            ErrorCode::BatchLengthExceeded => "ERROR_BATCH_LENGTH_EXCEEDED",
            ErrorCode::BatchMethodNotAllowed => "ERROR_BATCH_METHOD_NOT_ALLOWED",
            ErrorCode::ErrorCore => "ERROR_CORE",
            ErrorCode::ErrorArgument => "ERROR_ARGUMENT",
            ErrorCode::ErrorNotFound => "ERROR_NOT_FOUND",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidArgValue => "INVALID_ARG_VALUE",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
            ErrorCode::UnexpectedAnswer => "ERROR_UNEXPECTED_ANSWER",
            ErrorCode::PortalDeleted => "PORTAL_DELETED",
            ErrorCode::WrongLicense => "WRONG_LICENSE",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::V3MethodNotFound => "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION",
            ErrorCode::V3RateLimit => "BITRIX_REST_V3_EXCEPTION_RATELIMITEXCEPTION",
            ErrorCode::V3AccessDenied => "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION",
            ErrorCode::V3InsufficientScope => "BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION",
            ErrorCode::Empty => "",
            ErrorCode::Unknown(code) => code,
        }
    }

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
    #[error("{method}: transport error: {message}")]
    Transport {
        /// The method called.
        method: String,
        /// What happened.
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
            Error::NotExecuted { .. } => ErrorKind::Client,
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
        let message = describe_reqwest(&source);
        Error::Transport {
            method: method.to_owned(),
            message,
            source: Some(source),
        }
    }

    pub(crate) fn invalid(method: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            method: method.to_owned(),
            message: message.into(),
        }
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response body was cut short"
    } else if e.is_request() {
        "the request failed"
    } else {
        "HTTP error"
    };
    let mut chain = String::from(what);
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    chain
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
