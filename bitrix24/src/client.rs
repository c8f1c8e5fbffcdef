//! [`Client`]: one portal, one set of credentials, the limiter, retries and the REST 3.0
//! fallback. Cheap to clone; clones share everything.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use tracing::Instrument;

use crate::auth::{MemoryTokenStore, OAuthTokens, TokenStore, Webhook};
use crate::body::{BodyError, read_capped};
use crate::clock::{Clock, TokioClock, unix_to_system};
use crate::endpoint::{self, is_cloud_portal_rename};
use crate::error::{Error, ErrorCode};
use crate::idempotency::IdempotencyKey;
use crate::input;
use crate::limiter::{Gate, OperatingPolicy, OperatingTracker, RateLimiter};
use crate::method::{Method, Risk};
use crate::refresh::{OAuthSession, RefreshSettings};
use crate::response::{self, Response};
use crate::retry::{Attempt, RetryPolicy, TransportVerdict, Verdict};

pub use crate::builder::{ApiVersion, ClientBuilder};

/// The credentials a client calls with.
#[derive(Clone)]
enum Endpoint {
    Webhook(Webhook),
    /// `https://<portal>/rest/`
    OAuth(String),
}

impl Endpoint {
    /// The portal's address (scheme, host and port): what one rate-limit budget belongs to.
    fn origin(&self) -> String {
        match self {
            Endpoint::Webhook(hook) => hook.origin().to_owned(),
            Endpoint::OAuth(base) => {
                url::Url::parse(base).map_or_else(|_| base.clone(), |url| endpoint::origin(&url))
            }
        }
    }
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    endpoint: RwLock<Endpoint>,
    pub portal: String,
    oauth: Option<Arc<OAuthSession>>,
    pub limiter: Option<RateLimiter>,
    pub operating: OperatingTracker,
    pub operating_policy: OperatingPolicy,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    timeout: Duration,
    max_response_bytes: usize,
    v3_unavailable: Mutex<HashSet<String>>,
    pub batch_concurrency: usize,
}

/// An async Bitrix24 client for one portal.
///
/// ```no_run
/// # async fn run() -> Result<(), bitrix24::Error> {
/// use bitrix24::Client;
/// let client = Client::webhook("https://example.bitrix24.com/rest/1/xxxxxxxx/")?;
/// let now: serde_json::Value = client.call("server.time", serde_json::json!({})).await?;
/// println!("portal time: {now}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    version: ApiVersion,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("portal", &self.inner.portal)
            .field(
                "auth",
                &if self.inner.oauth.is_some() {
                    "oauth"
                } else {
                    "webhook"
                },
            )
            .field("api_version", &self.version)
            .finish_non_exhaustive()
    }
}

// Turning a builder's settings into a client: here, beside the client's internals.
impl ClientBuilder {
    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        // Only limiters on the default clock are shared between clients.
        let default_clock = self.clock.is_none();
        let clock: Arc<dyn Clock> = self
            .clock
            .unwrap_or_else(|| Arc::new(TokioClock::new()) as Arc<dyn Clock>);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .user_agent(self.user_agent)
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(Duration::from_secs(90))
                .tcp_nodelay(true)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let (endpoint, portal, oauth) = match (self.webhook, self.oauth) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "choose either a webhook or OAuth credentials, not both".into(),
                ));
            }
            (None, None) => {
                return Err(Error::Config(
                    "no credentials: call .webhook(url) or .oauth(app, tokens)".into(),
                ));
            }
            (Some(hook), None) => {
                let hook = hook?;
                let portal = hook.portal().to_owned();
                (Endpoint::Webhook(hook), portal, None)
            }
            (None, Some((app, tokens))) => {
                let base = tokens.client_endpoint.clone().ok_or_else(|| {
                    Error::Config(
                        "OAuth tokens need a client_endpoint (https://<portal>/rest/)".into(),
                    )
                })?;
                // The access token travels to this address with every call.
                let url = endpoint::secure_url(&base, "client_endpoint")?;
                let portal = url.host_str().unwrap_or_default().to_owned();
                let base = endpoint::with_slash(url.as_str());
                if let Some(token_url) = &app.token_url {
                    endpoint::secure_url(token_url, "token URL")?;
                }
                if tokens.access_token.is_empty() || tokens.refresh_token.is_empty() {
                    return Err(Error::Config("OAuth tokens are empty".into()));
                }
                let store = self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()) as Arc<dyn TokenStore>);
                let settings = RefreshSettings {
                    http: http.clone(),
                    clock: clock.clone(),
                    timeout: self.timeout,
                    max_body: self.max_response_bytes,
                };
                (
                    Endpoint::OAuth(base),
                    portal,
                    Some(Arc::new(OAuthSession::new(app, tokens, store, settings))),
                )
            }
        };
        let limiter = match (self.limiter, self.rate_limit) {
            (Some(l), _) => Some(l),
            (None, Some(limit)) if default_clock => {
                Some(RateLimiter::shared(&endpoint.origin(), limit))
            }
            (None, Some(limit)) => Some(RateLimiter::with_clock(limit, clock.clone())),
            (None, None) => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint: RwLock::new(endpoint),
                portal,
                oauth,
                limiter,
                operating: OperatingTracker::default(),
                operating_policy: self.operating,
                retry: self.retry,
                clock,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
                v3_unavailable: Mutex::new(HashSet::new()),
                batch_concurrency: self.batch_concurrency,
            }),
            version: self.version,
        })
    }
}

/// One prepared call: what [`Client::execute`] sends.
pub(crate) struct Call<'a> {
    pub name: &'a str,
    /// The methods whose operating time is checked before sending (the call's own method; for
    /// a batch, the methods of its commands).
    pub gated: &'a [&'a str],
    pub v3_name: Option<&'a str>,
    pub idempotent: bool,
    /// The params as a JSON object, without credentials.
    pub body: Vec<u8>,
}

/// Decodes a response body (status, bytes) into the call's typed response.
pub(crate) type Decoder<'a, T> =
    dyn Fn(u16, &[u8]) -> Result<Response<T>, Error> + Send + Sync + 'a;

/// How one HTTP exchange ended.
enum Exchange {
    /// The status, the whole body, and whether it is a replayed REST 3.0 answer
    /// (`Idempotent-Replayed: true`).
    Answer(u16, Vec<u8>, bool),
    /// A redirect to this `Location`.
    Moved(String),
    /// The connection failed before the whole answer arrived.
    Lost(reqwest::Error),
}

impl Client {
    /// A client for an incoming webhook URL with every default (standard-plan rate limit,
    /// retries, REST 3.0 where available).
    pub fn webhook(url: &str) -> Result<Client, Error> {
        Client::builder().webhook(url).build()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The portal host.
    pub fn portal(&self) -> &str {
        &self.inner.portal
    }

    /// A handle on the same client (same limiter, tokens and caches) that uses another API
    /// generation.
    #[must_use]
    pub fn with_api_version(&self, version: ApiVersion) -> Client {
        Client {
            inner: self.inner.clone(),
            version,
        }
    }

    /// How many OAuth refresh requests this client has made.
    pub fn token_refreshes(&self) -> u64 {
        self.inner.oauth.as_ref().map_or(0, |o| o.refreshes())
    }

    /// The current OAuth tokens (after any refresh), if the client uses OAuth.
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        self.inner
            .oauth
            .as_ref()
            .and_then(|o| o.tokens.read().ok().map(|t| t.clone()))
    }

    /// The operating time (seconds over the last 10 minutes) the portal last reported for
    /// `method`.
    pub fn operating_time(&self, method: &str) -> Option<f64> {
        self.inner.operating.operating(method)
    }

    /// Whether the client remembers that `method` is not available on REST 3.0 here.
    pub fn v3_unavailable(&self, method: &str) -> bool {
        self.inner
            .v3_unavailable
            .lock()
            .is_ok_and(|s| s.contains(method))
    }

    /// Remembers that `method` is not available on REST 3.0 here.
    pub(crate) fn remember_v3_unavailable(&self, method: &str) {
        if let Ok(mut set) = self.inner.v3_unavailable.lock() {
            set.insert(method.to_owned());
        }
    }

    /// The API generation this handle uses.
    pub(crate) fn api_version(&self) -> ApiVersion {
        self.version
    }

    /// Sends a typed method and returns its typed result.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {
    /// use bitrix24::packs::core::CrmItemGet;
    /// // `entityTypeId` 2: a deal
    /// let deal = client.send(&CrmItemGet::new(2, 410)).await?.item;
    /// println!("{:?}", deal.title);
    /// # Ok(()) }
    /// ```
    pub async fn send<M: Method>(&self, method: &M) -> Result<M::Response, Error> {
        self.send_full(method).await.map(|r| r.result)
    }

    /// Sends a typed method and returns the result with `total`, `next`, `time` and whether
    /// the answer was replayed.
    ///
    /// A REST 3.0 write (a method with a v3 name whose risk is `write` or `destructive`) goes
    /// with a fresh random `Idempotency-Key`, the same on each retry of the call: when its
    /// answer is lost (timeout, reset, 5xx) it is sent again instead of ending in
    /// [`Error::OutcomeUnknown`], and the portal answers from its store
    /// ([`Response::replayed`]) if the first send ran. On v2 a lost write is
    /// [`Error::OutcomeUnknown`], as before.
    pub async fn send_full<M: Method>(&self, method: &M) -> Result<Response<M::Response>, Error> {
        let key = (M::V3_NAME.is_some() && matches!(M::RISK, Risk::Write | Risk::Destructive))
            .then(IdempotencyKey::random);
        self.send_keyed(method, key.as_ref()).await
    }

    /// [`Client::send_full`] with your own `Idempotency-Key`, for a REST 3.0 write you may
    /// repeat later (after a restart, within the portal's 24 hours): the portal answers a
    /// repeat with the same key and params from its store. A method without a REST 3.0 name,
    /// or a client pinned to [`ApiVersion::V2`], is [`Error::InvalidInput`] (v2 ignores the
    /// header); under [`ApiVersion::Auto`] a portal without the v3 method falls back to v2,
    /// where the key protects nothing.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24::Client, task: impl bitrix24::Method) -> Result<(), bitrix24::Error> {
    /// use bitrix24::{Error, IdempotencyKey};
    /// // Stored with the order before the first send, so a restart repeats the same call.
    /// let key = IdempotencyKey::new("order-2041-task")?;
    /// match client.send_with_key(&task, &key).await {
    ///     Ok(answer) if answer.replayed => println!("created by an earlier send"),
    ///     Ok(_) => println!("created now"),
    ///     Err(Error::OutcomeUnknown { .. }) => println!("unknown yet: send again with this key"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_with_key<M: Method>(
        &self,
        method: &M,
        key: &IdempotencyKey,
    ) -> Result<Response<M::Response>, Error> {
        if M::V3_NAME.is_none() || self.version == ApiVersion::V2 {
            return Err(Error::invalid(
                M::NAME,
                "an Idempotency-Key works only on REST 3.0, and this call goes to v2",
            ));
        }
        self.send_keyed(method, Some(key)).await
    }

    async fn send_keyed<M: Method>(
        &self,
        method: &M,
        key: Option<&IdempotencyKey>,
    ) -> Result<Response<M::Response>, Error> {
        if M::V3_ONLY {
            return self.send_v3_only(method, key).await;
        }
        self.send_prepared(method, key).await
    }

    /// Sends a [`Method::V3_ONLY`] method: never to v2. Under [`ApiVersion::Auto`] a method the
    /// portal already answered "not found" for is refused without a request.
    async fn send_v3_only<M: Method>(
        &self,
        method: &M,
        key: Option<&IdempotencyKey>,
    ) -> Result<Response<M::Response>, Error> {
        let name = M::V3_NAME.unwrap_or(M::NAME);
        let not_on_portal = || Error::NotOnPortal {
            method: name.to_owned(),
        };
        match self.api_version() {
            ApiVersion::V2 => {
                return Err(Error::invalid(
                    name,
                    "this method exists only on REST 3.0, and the client is pinned to v2",
                ));
            }
            ApiVersion::Auto if self.v3_unavailable(name) => return Err(not_on_portal()),
            _ => {}
        }
        let pinned = self.with_api_version(ApiVersion::V3);
        match pinned.send_prepared(method, key).await {
            Err(e) if e.code() == Some(&ErrorCode::V3MethodNotFound) => {
                self.remember_v3_unavailable(name);
                Err(not_on_portal())
            }
            other => other,
        }
    }

    pub(crate) async fn send_prepared<M: Method>(
        &self,
        method: &M,
        key: Option<&IdempotencyKey>,
    ) -> Result<Response<M::Response>, Error> {
        let call = Call {
            name: M::NAME,
            gated: &[M::NAME],
            v3_name: M::V3_NAME,
            idempotent: M::IDEMPOTENT,
            body: input::body(M::NAME, &input::method_params(method)?)?,
        };
        self.execute_keyed(&call, key, &|status, body| {
            response::decode(
                M::NAME,
                status,
                body,
                crate::method::ResponseSeed::<M>::new(),
            )
        })
        .await
    }

    /// Calls any method by name with JSON params (an object, or `null` for none), for methods
    /// that have no typed binding yet. Whether it may be re-sent after an ambiguous failure
    /// comes from the specs of every pack (enabled or not); only an unspecced name is judged
    /// by its form, and then conservatively (see `bitrix24::catalog::method_info`).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        self.call_full(method, params).await.map(|r| r.result)
    }

    /// [`Client::call`] with `total`, `next` and `time`.
    ///
    /// On a client pinned to [`ApiVersion::V3`] the call goes to REST 3.0 under the same name
    /// (`/rest/api/..`), and a call that may not be re-sent blindly (a write, by the specs or,
    /// unspecced, by its form) carries a fresh `Idempotency-Key`, so a lost answer is re-sent
    /// with it as for a typed v3 write. Under [`ApiVersion::Auto`] and [`ApiVersion::V2`] an
    /// untyped call goes to v2: without a spec there is no v3 name to try first.
    pub async fn call_full(&self, method: &str, params: Value) -> Result<Response<Value>, Error> {
        self.call_full_with_key(method, params, None).await
    }

    /// [`Client::call_full`] whose REST 3.0 write carries `key` (your own, e.g. one kept with a
    /// plan or an import checkpoint) instead of a fresh one, so a repeat after a restart is
    /// answered from the portal's store. The key travels only when the call goes to REST 3.0
    /// (a client pinned to [`ApiVersion::V3`]) and the call is a write; otherwise it is unused.
    pub async fn call_full_with_key(
        &self,
        method: &str,
        params: Value,
        key: Option<&IdempotencyKey>,
    ) -> Result<Response<Value>, Error> {
        input::validate_method_name(method)?;
        let body = input::body(method, &input::params_object(method, params)?)?;
        let gated = [method];
        let v3 = self.version == ApiVersion::V3;
        let idempotent = crate::idempotency::untyped_idempotent(method);
        let call = Call {
            name: method,
            gated: &gated,
            v3_name: v3.then_some(method),
            idempotent,
            body,
        };
        let fresh;
        let key = match key {
            _ if !v3 || idempotent => None,
            Some(k) => Some(k),
            None => {
                fresh = IdempotencyKey::random();
                Some(&fresh)
            }
        };
        self.execute_keyed(&call, key, &|status, body| {
            response::decode(method, status, body, PhantomData::<Value>)
        })
        .await
    }

    fn wants_v3(&self, call: &Call<'_>) -> bool {
        let Some(v3) = call.v3_name else {
            return false;
        };
        match self.version {
            ApiVersion::V2 => false,
            ApiVersion::V3 => true,
            ApiVersion::Auto => !self
                .inner
                .v3_unavailable
                .lock()
                .is_ok_and(|s| s.contains(v3)),
        }
    }

    fn url(&self, call: &Call<'_>, v3: bool) -> String {
        let name = if v3 {
            call.v3_name.unwrap_or(call.name)
        } else {
            call.name
        };
        // Built under the read lock: no copy of the endpoint (and its secret) per request.
        let endpoint = self
            .inner
            .endpoint
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*endpoint {
            Endpoint::Webhook(hook) => hook.url(name, v3),
            Endpoint::OAuth(base) if v3 => format!("{base}api/{name}"),
            Endpoint::OAuth(base) => format!("{base}{name}"),
        }
    }

    fn body_with_auth(&self, body: &[u8]) -> (Vec<u8>, Option<crate::Secret>) {
        let Some(oauth) = &self.inner.oauth else {
            return (body.to_vec(), None);
        };
        let token = oauth.access_token();
        let quoted = serde_json::to_string(token.expose()).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + quoted.len() + 10);
        out.extend_from_slice(b"{\"auth\":");
        out.extend_from_slice(quoted.as_bytes());
        let rest = &body[1..];
        if rest.trim_ascii_start().first() != Some(&b'}') {
            out.push(b',');
        }
        out.extend_from_slice(rest);
        (out, Some(token))
    }

    pub(crate) async fn operating_gate(&self, method: &str) -> Result<(), Error> {
        let mut waited = false;
        loop {
            let now = self.inner.clock.unix_now();
            match self
                .inner
                .operating
                .gate(method, now, &self.inner.operating_policy, waited)
            {
                Gate::Go => return Ok(()),
                Gate::Wait(wait) => {
                    waited = true;
                    tracing::info!(
                        method,
                        wait_ms = wait.as_millis() as u64,
                        "operating time near the limit: waiting"
                    );
                    self.inner.clock.sleep(wait).await;
                }
                Gate::Blocked(reset) => {
                    return Err(Error::OperatingLimit {
                        method: method.to_owned(),
                        reset_at: reset.map(unix_to_system),
                    });
                }
            }
        }
    }

    /// Sends a prepared call with the limiter, retries, refresh and fallback, and decodes the
    /// answer with `decode`.
    pub(crate) async fn execute<T>(
        &self,
        call: &Call<'_>,
        decode: &Decoder<'_, T>,
    ) -> Result<Response<T>, Error> {
        self.execute_keyed(call, None, decode).await
    }

    /// [`Client::execute`] with the `Idempotency-Key` sent on every REST 3.0 attempt.
    async fn execute_keyed<T>(
        &self,
        call: &Call<'_>,
        key: Option<&IdempotencyKey>,
        decode: &Decoder<'_, T>,
    ) -> Result<Response<T>, Error> {
        let span = tracing::info_span!(
            "bitrix24.call",
            portal = %self.inner.portal,
            method = call.name,
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            error_code = tracing::field::Empty,
            v3 = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = self.inner.clock.now();
        let outcome = self
            .execute_inner(call, key, decode)
            .instrument(span.clone())
            .await;
        let elapsed = self.inner.clock.now().saturating_duration_since(started);
        span.record("duration_ms", elapsed.as_millis() as u64);
        if let Err(err) = &outcome {
            span.in_scope(|| tracing::debug!(error = %err, "call failed"));
        }
        outcome
    }

    /// One HTTP exchange: the POST and its body, read up to the size cap. A redirect is
    /// handed back (when `follow` allows one more) with its `Location`, a connection that
    /// failed before the whole answer arrived as [`Exchange::Lost`].
    /// `key` goes as `Idempotency-Key` (REST 3.0 only).
    async fn exchange(
        &self,
        call: &Call<'_>,
        use_v3: bool,
        key: Option<&IdempotencyKey>,
        body: Vec<u8>,
        follow: bool,
    ) -> Result<Exchange, Error> {
        let inner = &self.inner;
        let mut request = inner
            .http
            .post(self.url(call, use_v3))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json");
        if let (true, Some(key)) = (use_v3, key) {
            request = request.header("Idempotency-Key", key.as_str());
        }
        let sent = request.body(body).timeout(inner.timeout).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Ok(Exchange::Lost(e)),
        };
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        if matches!(status, 301 | 302 | 307 | 308)
            && follow
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            return Ok(Exchange::Moved(
                location.to_str().unwrap_or_default().to_owned(),
            ));
        }
        let replayed = use_v3
            && response
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        match read_capped(response, inner.max_response_bytes).await {
            Ok(bytes) => Ok(Exchange::Answer(status, bytes, replayed)),
            Err(BodyError::Transport(e)) => Ok(Exchange::Lost(e)),
            Err(BodyError::TooLarge) => Err(Error::ResponseTooLarge {
                method: call.name.to_owned(),
                limit: inner.max_response_bytes,
            }),
        }
    }

    async fn execute_inner<T>(
        &self,
        call: &Call<'_>,
        key: Option<&IdempotencyKey>,
        decode: &Decoder<'_, T>,
    ) -> Result<Response<T>, Error> {
        let inner = &self.inner;
        let span = tracing::Span::current();
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut redirects = 0u32;
        let mut use_v3 = self.wants_v3(call);
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            span.record("v3", use_v3);
            for method in call.gated {
                self.operating_gate(method).await?;
            }
            if let Some(limiter) = &inner.limiter {
                limiter.acquire(&inner.portal).await;
            }
            let started = inner.clock.now();
            let (body, token) = self.body_with_auth(&call.body);
            let exchange = self.exchange(call, use_v3, key, body, redirects < 3);
            let (status, bytes, replayed) = match exchange.await? {
                Exchange::Answer(status, bytes, replayed) => (status, bytes, replayed),
                Exchange::Moved(location) => {
                    redirects += 1;
                    attempt -= 1;
                    self.follow_domain_change(call.name, &location)?;
                    continue;
                }
                Exchange::Lost(e) => {
                    let at = self.attempt(call, attempt, use_v3, refreshed, key.is_some());
                    let wait = self
                        .on_transport(call, e, &at)
                        .map_err(|e| with_key(e, key, at.keyed))?;
                    inner.clock.sleep(wait).await;
                    continue;
                }
            };
            let elapsed = inner.clock.now().saturating_duration_since(started);
            match decode(status, &bytes) {
                Ok(mut resp) => {
                    resp.replayed = replayed;
                    if let Some(time) = &resp.time {
                        inner
                            .operating
                            .record(call.name, time, inner.clock.unix_now());
                    }
                    tracing::debug!(
                        status,
                        replayed,
                        elapsed_ms = elapsed.as_millis() as u64,
                        "ok"
                    );
                    return Ok(resp);
                }
                Err(err) => {
                    if let Some(code) = err.code() {
                        span.record("error_code", code.as_str());
                    }
                    tracing::debug!(status, elapsed_ms = elapsed.as_millis() as u64, error = %err, "failed");
                    let at = self.attempt(call, attempt, use_v3, refreshed, key.is_some());
                    match inner.retry.on_answer(call.name, &at, err, &bytes) {
                        Verdict::Retry(wait) => inner.clock.sleep(wait).await,
                        Verdict::Throttled(wait) => {
                            tracing::warn!(attempt, "QUERY_LIMIT_EXCEEDED: backing off");
                            // Every caller on this portal slows down, not only this one.
                            if let Some(limiter) = &inner.limiter {
                                limiter.pause(&inner.portal, wait);
                            }
                            inner.clock.sleep(wait).await;
                        }
                        Verdict::Blocked => {
                            let reset = inner.operating.block(call.name, inner.clock.unix_now());
                            return Err(Error::OperatingLimit {
                                method: call.name.to_owned(),
                                reset_at: Some(unix_to_system(reset)),
                            });
                        }
                        Verdict::Refresh => {
                            let (Some(oauth), Some(used)) = (inner.oauth.as_ref(), token) else {
                                return Err(Error::Config(
                                    "refresh without OAuth credentials".into(),
                                ));
                            };
                            oauth.refresh(&used).await?;
                            self.adopt_client_endpoint(oauth);
                            refreshed = true;
                            attempt -= 1;
                        }
                        Verdict::FallbackV2 => {
                            if let (ApiVersion::Auto, Some(v3)) = (self.version, call.v3_name)
                                && let Ok(mut set) = inner.v3_unavailable.lock()
                            {
                                set.insert(v3.to_owned());
                            }
                            tracing::info!("not available on REST 3.0 here: falling back to v2");
                            use_v3 = false;
                            attempt -= 1;
                        }
                        Verdict::Fail(err) => return Err(with_key(err, key, at.keyed)),
                    }
                }
            }
        }
    }

    /// The facts about an attempt that the retry classifier needs (`keyed`: the call has an
    /// `Idempotency-Key`, which counts on REST 3.0 only).
    fn attempt(
        &self,
        call: &Call<'_>,
        number: u32,
        v3: bool,
        refreshed: bool,
        keyed: bool,
    ) -> Attempt {
        Attempt {
            number,
            idempotent: call.idempotent,
            v3,
            may_fall_back: self.version == ApiVersion::Auto,
            oauth: self.inner.oauth.is_some(),
            refreshed,
            keyed: keyed && v3,
        }
    }

    /// What a transport failure means: `Ok(wait)` to send again after `wait`, or the error to
    /// return (`OutcomeUnknown` for a write that may have reached the portal).
    fn on_transport(
        &self,
        call: &Call<'_>,
        e: reqwest::Error,
        at: &Attempt,
    ) -> Result<Duration, Error> {
        let never_sent = e.is_connect();
        match self.inner.retry.on_transport(at, never_sent) {
            TransportVerdict::Retry(wait) => {
                tracing::warn!(
                    attempt = at.number,
                    never_sent,
                    "transport failure: retrying"
                );
                Ok(wait)
            }
            TransportVerdict::GiveUp => Err(Error::transport(call.name, e)),
            TransportVerdict::OutcomeUnknown => Err(Error::outcome_unknown(
                call.name,
                Error::transport_reason(e),
            )),
        }
    }

    /// After a refresh, the portal's REST base may have changed (a renamed portal).
    fn adopt_client_endpoint(&self, oauth: &OAuthSession) {
        let fresh = oauth
            .tokens
            .read()
            .ok()
            .and_then(|t| t.client_endpoint.clone());
        // The token endpoint (trusted) reports the portal's address: adopt it over https.
        if let (Some(base), Ok(mut endpoint)) = (fresh, self.inner.endpoint.write())
            && let Endpoint::OAuth(current) = &mut *endpoint
            && let Ok(url) = endpoint::secure_url(&base, "client_endpoint")
        {
            *current = endpoint::with_slash(url.as_str());
        }
    }

    /// Follows a redirect the portal answered with: within the portal's own host, or to the
    /// new address of a renamed cloud portal (same zone), over https only (plain http only on
    /// loopback) and only to a REST path. The new address is kept for every clone.
    fn follow_domain_change(&self, method: &str, location: &str) -> Result<(), Error> {
        let url = endpoint::secure_url(location, "the redirect location").map_err(|e| {
            Error::Config(format!(
                "the portal redirected to an address that may not carry credentials ({e}); not following"
            ))
        })?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if !url.path().starts_with("/rest/") {
            return Err(Error::Config(format!(
                "the portal redirected to {}{}, which is not a Bitrix24 REST address; not following",
                endpoint::origin(&url),
                url.path().split('/').take(2).collect::<Vec<_>>().join("/")
            )));
        }
        let origin = endpoint::origin(&url);
        let mut current = self
            .inner
            .endpoint
            .write()
            .map_err(|_| Error::Config("endpoint lock poisoned".into()))?;
        let current_host = match &*current {
            Endpoint::Webhook(hook) => hook.portal().to_owned(),
            Endpoint::OAuth(base) => url::Url::parse(base)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
        };
        if !current_host.eq_ignore_ascii_case(&host)
            && !is_cloud_portal_rename(&current_host, &host)
        {
            return Err(Error::PortalMoved {
                method: method.to_owned(),
                to: origin,
            });
        }
        tracing::warn!(new_host = %host, "the portal moved: repeating the call at its new address");
        match &mut *current {
            Endpoint::Webhook(hook) => {
                if hook.origin() != origin {
                    hook.set_origin(origin, host);
                }
            }
            Endpoint::OAuth(base) => *base = format!("{origin}/rest/"),
        }
        Ok(())
    }
}

/// A keyed REST 3.0 write that ran out of attempts names its key in `OutcomeUnknown`, so the
/// caller can settle it with [`Client::send_with_key`].
fn with_key(err: Error, key: Option<&IdempotencyKey>, keyed: bool) -> Error {
    match err {
        Error::OutcomeUnknown { method, reason, .. } if keyed => Error::OutcomeUnknown {
            method,
            reason,
            idempotency_key: key.cloned(),
        },
        other => other,
    }
}
