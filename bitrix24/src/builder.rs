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

impl ClientBuilder {
    /// Calls through an incoming webhook URL (`https://<portal>/rest/<user_id>/<code>/`).
    pub fn webhook(mut self, url: &str) -> Self {
        self.webhook = Some(Webhook::parse(url));
        self
    }

    /// Calls as an OAuth application with the given tokens (their `client_endpoint` names the
    /// portal). On `expired_token` the client refreshes once and retries.
    pub fn oauth(mut self, app: OAuthApp, tokens: OAuthTokens) -> Self {
        self.oauth = Some((app, tokens));
        self
    }

    /// Where rotated OAuth tokens are persisted (default: in memory).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The portal's request quota (default: [`RateLimit::standard`]). Clients of one portal
    /// built with the same quota on the default clock draw on one budget in the process
    /// ([`RateLimiter::shared`]).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns the client-side limiter off (the portal's own limit still applies).
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self.limiter = None;
        self
    }

    /// Shares one limiter between several clients (for example one per tenant token on the
    /// same portal): it is keyed by portal.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How the per-method operating-time limit is handled.
    pub fn operating_policy(mut self, policy: OperatingPolicy) -> Self {
        self.operating = policy;
        self
    }

    /// REST 3.0 or v2 (default [`ApiVersion::Auto`]).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    /// Timeout of one HTTP request (default 65 s: the portal cuts requests at 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout for opening a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The clock (tests use tokio's paused time with the default clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A preconfigured `reqwest::Client` (proxies, custom TLS roots). It must not follow
    /// redirects: the client repeats a POST itself when a portal moved.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The `User-Agent` (default `bitrix24-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// How many batch requests of one `send_all`/batch/stream may be in flight at once when the
    /// client has no rate limiter (default 4). With a limiter they follow its bucket instead:
    /// the burst at once, then the drain rate.
    pub fn batch_concurrency(mut self, n: usize) -> Self {
        self.batch_concurrency = n.max(1);
        self
    }

    /// The largest response body the client reads (default 64 MiB, after decompression); a
    /// larger one ends the call with [`Error::ResponseTooLarge`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit.max(1);
        self
    }
}
