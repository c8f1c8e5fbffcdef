//! The live OAuth state of one client and its token refresh.
//!
//! - **Single flight:** concurrent callers that saw an expired token share one refresh, and
//!   every caller waiting on it gets that refresh's one outcome (success or failure).
//! - **Cancellation-safe:** the refresh and the save run on a task of their own, so a caller
//!   that gives up (a timeout, `select!`) after the token endpoint rotated the pair cannot
//!   lose the only valid refresh token.
//! - **Persist before use:** a rotated pair is used only once the store saved it; one the
//!   store failed to save is kept aside and saved by the next refresh.
//! - **Shared stores:** tokens another process saved are adopted before asking the endpoint,
//!   and before answering from the cache of refused refresh tokens.
//! - **Safe destinations:** the client secret and refresh token go only to the configured
//!   token URL, a documented OAuth server, the portal itself or a host the app trusts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;
use url::Url;

use crate::auth::{DEFAULT_TOKEN_URL, OAuthApp, OAuthTokens};
use crate::body::{BodyError, read_capped};
use crate::clock::Clock;
use crate::endpoint::{self, DOCUMENTED_OAUTH_HOSTS};
use crate::error::{AuthError, Error, ErrorCode};
use crate::lenient::OrAbsent;
use crate::secret::Secret;
use crate::token_store::TokenStore;

/// What a refresh needs besides the session: the HTTP client, time and limits.
pub(crate) struct RefreshSettings {
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub timeout: Duration,
    pub max_body: usize,
}

type Outcome = Option<Result<(), AuthError>>;

/// The live OAuth state of one client: current tokens, the store, and the refresh flight.
pub(crate) struct OAuthSession {
    pub app: OAuthApp,
    pub tokens: RwLock<OAuthTokens>,
    pub store: Arc<dyn TokenStore>,
    settings: RefreshSettings,
    /// The refresh in progress, if any: callers subscribe to its outcome.
    flight: Mutex<Option<watch::Receiver<Outcome>>>,
    refreshes: AtomicU64,
    /// The refresh token the token endpoint last refused for good, and why: callers holding
    /// the same dead token get this error without another request.
    rejected: Mutex<Option<(Secret, AuthError)>>,
    /// Tokens the endpoint issued but the store failed to save: never used until saved.
    unsaved: Mutex<Option<OAuthTokens>>,
}

crate::debug_fields::debug_fields!(OAuthSession { app });

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: OrAbsent<String>,
    #[serde(default)]
    refresh_token: OrAbsent<String>,
    #[serde(default)]
    expires: OrAbsent<u64>,
    #[serde(default)]
    expires_in: OrAbsent<u64>,
    #[serde(default)]
    client_endpoint: OrAbsent<String>,
    #[serde(default)]
    server_endpoint: OrAbsent<String>,
    #[serde(default)]
    member_id: OrAbsent<String>,
    #[serde(default)]
    user_id: OrAbsent<u64>,
    #[serde(default)]
    error: OrAbsent<String>,
    #[serde(default)]
    error_description: OrAbsent<String>,
}

fn poisoned() -> AuthError {
    AuthError::TokenStore("lock poisoned".into())
}

/// A store's error as an auth error (kept as is when it already is one).
fn store_failure(e: Error) -> AuthError {
    match e {
        Error::Auth(a) => a,
        other => AuthError::TokenStore(other.to_string()),
    }
}

/// Whether a refusal by the token endpoint holds for this refresh token for good. A lapsed
/// subscription (`PAYMENT_REQUIRED`) may be renewed, and a 5xx is the server's trouble.
fn is_definitive(status: u16, code: &ErrorCode) -> bool {
    status < 500 && *code != ErrorCode::PaymentRequired
}

impl OAuthSession {
    pub fn new(
        app: OAuthApp,
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
        settings: RefreshSettings,
    ) -> Self {
        OAuthSession {
            app,
            tokens: RwLock::new(tokens),
            store,
            settings,
            flight: Mutex::new(None),
            refreshes: AtomicU64::new(0),
            rejected: Mutex::new(None),
            unsaved: Mutex::new(None),
        }
    }

    /// The current access token.
    pub fn access_token(&self) -> Secret {
        self.tokens
            .read()
            .map(|t| t.access_token.clone())
            .unwrap_or_default()
    }

    /// How many requests went to the token endpoint.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// Refreshes the tokens unless another caller already replaced `used`. Joins the refresh in
    /// flight if there is one; otherwise starts one on its own task and waits for it.
    pub async fn refresh(self: &Arc<Self>, used: &Secret) -> Result<(), Error> {
        let mut outcome = {
            let mut flight = self.flight.lock().map_err(|_| Error::Auth(poisoned()))?;
            // A flight whose task died without answering (a panicking store) is over: its
            // sender is gone and its value still empty. Start a new one instead of joining it.
            if let Some(running) = flight.as_ref()
                && !(running.has_changed().is_err() && running.borrow().is_none())
            {
                running.clone()
            } else {
                let current = self.access_token();
                if current != *used {
                    return Ok(());
                }
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return Err(Error::Config(
                        "the OAuth refresh needs a tokio runtime".into(),
                    ));
                };
                let (tx, rx) = watch::channel(None);
                *flight = Some(rx.clone());
                let session = Arc::clone(self);
                let used = used.clone();
                let span = tracing::info_span!("bitrix24.refresh", client_id = %self.app.client_id);
                runtime.spawn(tracing::Instrument::instrument(
                    async move {
                        let result = session.refresh_once(&used).await;
                        // Cleared before the answer: a caller arriving later sees the new
                        // tokens (or, after a failure, starts a new refresh).
                        if let Ok(mut flight) = session.flight.lock() {
                            *flight = None;
                        }
                        let _ = tx.send(Some(result));
                    },
                    span,
                ));
                rx
            }
        };
        let result = match outcome.wait_for(Option::is_some).await {
            Ok(done) => done.clone(),
            Err(_) => None,
        };
        match result {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::Auth(e)),
            None => Err(Error::Auth(AuthError::RefreshUnavailable(
                "the refresh task ended without an answer".into(),
            ))),
        }
    }

    /// One refresh: saved-aside tokens first, then the store, then the cache of refused
    /// tokens, then the token endpoint.
    async fn refresh_once(&self, used: &Secret) -> Result<(), AuthError> {
        let pending = self.unsaved.lock().map_err(|_| poisoned())?.take();
        if let Some(pending) = pending {
            return self.persist_and_use(pending).await;
        }
        if let Some(stored) = self.store.load().await.map_err(store_failure)?
            && !stored.access_token.is_empty()
            && stored.access_token != *used
        {
            tracing::info!("adopting tokens another process refreshed");
            *self.tokens.write().map_err(|_| poisoned())? = stored;
            return Ok(());
        }
        let refresh_token = self
            .tokens
            .read()
            .map_err(|_| poisoned())?
            .refresh_token
            .clone();
        if let Some((dead, why)) = self.rejected.lock().map_err(|_| poisoned())?.as_ref()
            && *dead == refresh_token
        {
            return Err(why.clone());
        }
        let url = self.token_url()?;
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let (status, parsed) = self.ask(&url, &refresh_token).await?;
        if let Some(code) = parsed.error.0.filter(|c| !c.is_empty()) {
            let code = ErrorCode::parse(&code);
            tracing::warn!(status, code = %code, "token refresh refused");
            let why = AuthError::RefreshRejected {
                code: code.clone(),
                description: parsed.error_description.0.unwrap_or_default(),
            };
            if is_definitive(status, &code) {
                *self.rejected.lock().map_err(|_| poisoned())? = Some((refresh_token, why.clone()));
            }
            return Err(why);
        }
        let (Some(access), Some(refresh)) = (parsed.access_token.0, parsed.refresh_token.0) else {
            return Err(AuthError::BadTokenResponse(format!(
                "HTTP {status}: no access_token/refresh_token"
            )));
        };
        let mut next = self.tokens.read().map_err(|_| poisoned())?.clone();
        next.access_token = Secret::new(access);
        next.refresh_token = Secret::new(refresh);
        next.expires_at = parsed.expires.0.or_else(|| {
            parsed
                .expires_in
                .0
                .map(|s| (self.settings.clock.unix_now() as u64).saturating_add(s))
        });
        if let Some(c) = parsed.client_endpoint.0 {
            next.client_endpoint = Some(c);
        }
        if let Some(s) = parsed.server_endpoint.0 {
            next.server_endpoint = Some(s);
        }
        if let Some(m) = parsed.member_id.0 {
            next.member_id = Some(m);
        }
        if let Some(u) = parsed.user_id.0 {
            next.user_id = Some(u);
        }
        self.persist_and_use(next).await
    }

    /// Sends the refresh grant and reads the answer. Transport failures and 5xx answers are
    /// [`AuthError::RefreshUnavailable`]: the refresh token was not consumed for good.
    async fn ask(
        &self,
        url: &str,
        refresh_token: &Secret,
    ) -> Result<(u16, TokenResponse), AuthError> {
        let unavailable =
            |e: reqwest::Error| AuthError::RefreshUnavailable(Error::transport_reason(e));
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        let response = self
            .settings
            .http
            .post(url)
            .form(&form)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status().as_u16();
        let body = match read_capped(response, self.settings.max_body).await {
            Ok(body) => body,
            Err(BodyError::Transport(e)) => return Err(unavailable(e)),
            Err(BodyError::TooLarge) => {
                return Err(AuthError::BadTokenResponse(format!(
                    "HTTP {status}: the answer exceeds {} bytes",
                    self.settings.max_body
                )));
            }
        };
        if status >= 500 {
            return Err(AuthError::RefreshUnavailable(format!(
                "the token endpoint answered HTTP {status}"
            )));
        }
        serde_json::from_slice(&body)
            .map(|parsed| (status, parsed))
            .map_err(|e| AuthError::BadTokenResponse(format!("HTTP {status}: {e}")))
    }

    /// The token endpoint: the configured URL (checked when the client was built), else the one
    /// the tokens' `server_endpoint` names when its host is trusted, else the default.
    fn token_url(&self) -> Result<String, AuthError> {
        if let Some(url) = &self.app.token_url {
            return Ok(url.clone());
        }
        let (server, client) = {
            let t = self.tokens.read().map_err(|_| poisoned())?;
            (t.server_endpoint.clone(), t.client_endpoint.clone())
        };
        let Some(server) = server.filter(|s| !s.trim().is_empty()) else {
            return Ok(DEFAULT_TOKEN_URL.to_owned());
        };
        let untrusted = |host: String| AuthError::UntrustedTokenEndpoint { host };
        let url = endpoint::secure_url(&server, "server_endpoint")
            .map_err(|_| untrusted(endpoint::redacted(&server)))?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let portal = client
            .and_then(|c| Url::parse(&c).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let trusted = DOCUMENTED_OAUTH_HOSTS.contains(&host.as_str())
            || portal.as_deref() == Some(host.as_str())
            || self.app.trusted_token_hosts.contains(&host);
        if !trusted {
            return Err(untrusted(host));
        }
        Ok(
            match url.path().trim_end_matches('/').strip_suffix("/rest") {
                Some(prefix) => format!("{}{prefix}/oauth/token/", endpoint::origin(&url)),
                None => DEFAULT_TOKEN_URL.to_owned(),
            },
        )
    }

    /// Saves rotated tokens, then uses them. Persist first: the old refresh token is dead from
    /// now on, so a pair that could not be saved is kept aside (not used, not dropped) and
    /// saved again on the next refresh.
    async fn persist_and_use(&self, next: OAuthTokens) -> Result<(), AuthError> {
        if let Err(e) = self.store.save(&next).await {
            tracing::warn!(error = %e, "rotated tokens not saved: kept aside, saved again on the next refresh");
            *self.unsaved.lock().map_err(|_| poisoned())? = Some(next);
            return Err(store_failure(e));
        }
        *self.tokens.write().map_err(|_| poisoned())? = next;
        tracing::info!("tokens refreshed and persisted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TokioClock;
    use crate::token_store::MemoryTokenStore;

    fn session(server: Option<&str>, app: OAuthApp) -> OAuthSession {
        let mut tokens = OAuthTokens::new("a", "r", "https://acme.bitrix24.com/rest/");
        tokens.server_endpoint = server.map(str::to_owned);
        OAuthSession::new(
            app,
            tokens,
            Arc::new(MemoryTokenStore::new()),
            RefreshSettings {
                http: reqwest::Client::new(),
                clock: Arc::new(TokioClock::new()),
                timeout: Duration::from_secs(1),
                max_body: 1024,
            },
        )
    }

    #[test]
    fn token_url_only_on_trusted_hosts() {
        let app = || OAuthApp::new("local.1", "s");
        let url = |server: Option<&str>| session(server, app()).token_url();
        assert_eq!(url(None).unwrap(), DEFAULT_TOKEN_URL);
        assert_eq!(
            url(Some("https://oauth.bitrix24.tech/rest/")).unwrap(),
            "https://oauth.bitrix24.tech/oauth/token/"
        );
        assert_eq!(
            url(Some("https://acme.bitrix24.com/rest/")).unwrap(),
            "https://acme.bitrix24.com/oauth/token/"
        );
        for bad in [
            "https://evil.example.com/rest/",
            "http://oauth.bitrix.info/rest/",
            "https://oauth.bitrix.info.evil.io/rest/",
            "javascript:alert(1)",
        ] {
            let err = url(Some(bad)).unwrap_err();
            assert!(
                matches!(err, AuthError::UntrustedTokenEndpoint { .. }),
                "{bad}: {err:?}"
            );
        }
        let trusted = session(
            Some("https://auth.corp.example/rest/"),
            app().trust_token_host("AUTH.corp.example"),
        );
        assert_eq!(
            trusted.token_url().unwrap(),
            "https://auth.corp.example/oauth/token/"
        );
    }

    #[test]
    fn only_definitive_refusals_are_cached() {
        assert!(is_definitive(400, &ErrorCode::InvalidGrant));
        assert!(is_definitive(401, &ErrorCode::InvalidClient));
        assert!(!is_definitive(400, &ErrorCode::PaymentRequired));
        assert!(!is_definitive(503, &ErrorCode::InvalidGrant));
    }
}
