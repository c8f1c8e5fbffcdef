//! [`ClientBuilder`]: the settings a [`Client`](crate::Client) is built from (credentials,
//! limits, retries, timeouts, the API generation) and their defaults. `build` lives beside the
//! client's internals in `client.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{OAuthApp, OAuthTokens, TokenStore, Webhook};
use crate::body::DEFAULT_MAX_RESPONSE_BYTES;
use crate::clock::Clock;
use crate::error::Error;
use crate::limiter::{OperatingPolicy, RateLimit, RateLimiter};
use crate::retry::RetryPolicy;

/// Which REST API generation the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// REST 3.0 for methods that have a 3.0 name; v2 when the portal says the method is not
    /// available in 3.0 (remembered per portal and method). The default.
    #[default]
    Auto,
    /// Always the classic v2 API.
    V2,
    /// Always REST 3.0 (methods without a 3.0 name still go to v2).
    V3,
}

/// Builds a [`Client`](crate::Client).
///
/// ```
/// use bitrix24::{Client, RateLimit, RetryPolicy};
/// let client = Client::builder()
///     .webhook("https://example.bitrix24.com/rest/1/xxxxxxxx/")
///     .rate_limit(RateLimit::enterprise())
///     .retry(RetryPolicy::default().max_attempts(4))
///     .build()
///     .unwrap();
/// assert_eq!(client.portal(), "example.bitrix24.com");
/// ```
#[must_use]
pub struct ClientBuilder {
    pub(crate) webhook: Option<Result<Webhook, Error>>,
    pub(crate) oauth: Option<(OAuthApp, OAuthTokens)>,
    pub(crate) store: Option<Arc<dyn TokenStore>>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) operating: OperatingPolicy,
    pub(crate) version: ApiVersion,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) clock: Option<Arc<dyn Clock>>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) user_agent: String,
    pub(crate) batch_concurrency: usize,
    pub(crate) max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "webhook",
                &self
                    .webhook
                    .as_ref()
                    .map(|w| w.as_ref().map(Webhook::portal)),
            )
            .field("oauth", &self.oauth.as_ref().map(|(app, _)| app))
            .field("rate_limit", &self.rate_limit)
            .field("retry", &self.retry)
            .field("operating", &self.operating)
            .field("version", &self.version)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            webhook: None,
            oauth: None,
            store: None,
            rate_limit: Some(RateLimit::standard()),
            limiter: None,
            retry: RetryPolicy::default(),
            operating: OperatingPolicy::default(),
            version: ApiVersion::Auto,
            // The portal cuts a request off at 60 s.
            timeout: Duration::from_secs(65),
            connect_timeout: Duration::from_secs(10),
            clock: None,
            http: None,
            user_agent: concat!("bitrix24-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            batch_concurrency: 4,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Builder methods that each set one field: `name(arg: Type) => field = value;`.
macro_rules! setters {
    ($($(#[$attr:meta])* $name:ident($($arg:ident: $ty:ty),+) => $field:ident = $value:expr;)*) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self, $($arg: $ty),+) -> Self {
                self.$field = $value;
                self
            }
        )*
    };
}

impl ClientBuilder {
    setters! {
        /// Calls through an incoming webhook URL (`https://<portal>/rest/<user_id>/<code>/`).
        webhook(url: &str) => webhook = Some(Webhook::parse(url));
        /// Calls as an OAuth application with the given tokens (their `client_endpoint` names the
        /// portal). On `expired_token` the client refreshes once and retries.
        oauth(app: OAuthApp, tokens: OAuthTokens) => oauth = Some((app, tokens));
        /// Where rotated OAuth tokens are persisted (default: in memory).
        token_store(store: Arc<dyn TokenStore>) => store = Some(store);
        /// The portal's request quota (default: [`RateLimit::standard`]). Clients of one portal
        /// built with the same quota on the default clock draw on one budget in the process
        /// ([`RateLimiter::shared`]).
        rate_limit(limit: RateLimit) => rate_limit = Some(limit);
        /// Shares one limiter between several clients (for example one per tenant token on the
        /// same portal): it is keyed by portal.
        rate_limiter(limiter: RateLimiter) => limiter = Some(limiter);
        /// The retry policy.
        retry(retry: RetryPolicy) => retry = retry;
        /// How the per-method operating-time limit is handled.
        operating_policy(policy: OperatingPolicy) => operating = policy;
        /// REST 3.0 or v2 (default [`ApiVersion::Auto`]).
        api_version(version: ApiVersion) => version = version;
        /// Timeout of one HTTP request (default 65 s: the portal cuts requests at 60 s).
        timeout(timeout: Duration) => timeout = timeout;
        /// Timeout for opening a connection (default 10 s).
        connect_timeout(timeout: Duration) => connect_timeout = timeout;
        /// The clock (tests use tokio's paused time with the default clock).
        clock(clock: Arc<dyn Clock>) => clock = Some(clock);
        /// A preconfigured `reqwest::Client` (proxies, custom TLS roots). It must not follow
        /// redirects: the client repeats a POST itself when a portal moved.
        http_client(http: reqwest::Client) => http = Some(http);
        /// The `User-Agent` (default `bitrix24-rs/<version>`).
        user_agent(agent: impl Into<String>) => user_agent = agent.into();
        /// How many batch requests of one `send_all`/batch/stream may be in flight at once when the
        /// client has no rate limiter (default 4). With a limiter they follow its bucket instead:
        /// the burst at once, then the drain rate.
        batch_concurrency(n: usize) => batch_concurrency = n.max(1);
        /// The largest response body the client reads (default 64 MiB, after decompression); a
        /// larger one ends the call with [`Error::ResponseTooLarge`].
        max_response_bytes(limit: usize) => max_response_bytes = limit.max(1);
    }

    /// Turns the client-side limiter off (the portal's own limit still applies).
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self.limiter = None;
        self
    }
}
