//! Credentials: incoming webhooks and OAuth 2.0 (with single-flight token refresh), and the
//! [`TokenStore`]s that persist rotated tokens.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Clock;
use crate::envelope::{LenientString, LenientU64};
use crate::error::{AuthError, Error, ErrorCode};
use crate::secret::Secret;

/// The documented default token endpoint of the authorization server.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth.bitrix.info/oauth/token/";

/// An incoming webhook: `https://<portal>/rest/<user_id>/<code>/`.
///
/// The code is a [`Secret`]: it never appears in `Debug`, logs or errors.
///
/// ```
/// use bitrix24::Webhook;
/// let hook = Webhook::parse("https://example.bitrix24.com/rest/1/xxxxxxxx/").unwrap();
/// assert_eq!(hook.user(), "1");
/// assert_eq!(hook.portal(), "example.bitrix24.com");
/// assert!(!format!("{hook:?}").contains("xxxxxxxx"));
/// assert!(Webhook::parse("https://example.bitrix24.com/rest/1/").is_err());
/// ```
#[derive(Clone)]
pub struct Webhook {
    origin: String,
    host: String,
    user: String,
    code: Secret,
}

impl Webhook {
    /// Parses and validates a webhook URL. HTTPS is required, except on loopback hosts
    /// (`127.0.0.1`, `::1`, `localhost`), which a local emulator serves over plain HTTP.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Config(format!("invalid webhook URL: {why}"));
        let parsed = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| bad("it has no host"))?
            .to_owned();
        let loopback = crate::client::is_loopback(&host);
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(bad("webhooks require https (http only on loopback)")),
            other => return Err(bad(&format!("unsupported scheme `{other}`"))),
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("it must not have a query or fragment"));
        }
        let segments: Vec<&str> = parsed
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        match segments.as_slice() {
            ["rest", user, code] => {
                let valid = |s: &str| {
                    s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
                };
                if !valid(user) {
                    return Err(bad("the user id has characters a webhook never has"));
                }
                if !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(bad("the code must be letters and digits"));
                }
                let origin = match parsed.port() {
                    Some(port) => format!("{}://{}:{port}", parsed.scheme(), host),
                    None => format!("{}://{}", parsed.scheme(), host),
                };
                Ok(Webhook {
                    origin,
                    host,
                    user: (*user).to_owned(),
                    code: Secret::new(*code),
                })
            }
            _ => Err(bad(
                "expected the form https://<portal>/rest/<user_id>/<code>/ (without a method name)",
            )),
        }
    }

    /// The portal host.
    pub fn portal(&self) -> &str {
        &self.host
    }

    /// The webhook's user id (or login).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The webhook code.
    pub fn code(&self) -> &Secret {
        &self.code
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn set_origin(&mut self, origin: String, host: String) {
        self.origin = origin;
        self.host = host;
    }

    /// `…/rest/<user>/<code>/<method>` (v2) or `…/rest/api/<user>/<code>/<method>` (REST 3.0).
    pub(crate) fn url(&self, method: &str, v3: bool) -> String {
        let api = if v3 { "api/" } else { "" };
        format!(
            "{}/rest/{api}{}/{}/{method}",
            self.origin,
            self.user,
            self.code.expose()
        )
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("portal", &self.host)
            .field("user", &self.user)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// An OAuth 2.0 application's credentials.
#[derive(Clone)]
pub struct OAuthApp {
    /// `client_id` (`local.…` or `app.…`).
    pub client_id: String,
    /// `client_secret`: sent only to the token endpoint.
    pub client_secret: Secret,
    /// The token endpoint. `None`: derived from the tokens' `server_endpoint` (strip `/rest/`,
    /// add `/oauth/token/`), else [`DEFAULT_TOKEN_URL`].
    pub token_url: Option<String>,
}

impl OAuthApp {
    /// An application with the default token endpoint.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_url: None,
        }
    }

    /// Uses another token endpoint (an emulator, or `oauth.bitrix24.tech`).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url)
            .finish()
    }
}

/// An access/refresh token pair and what the token endpoint said about it.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OAuthTokens {
    /// The access token (1 hour).
    pub access_token: Secret,
    /// The refresh token (rotates on every refresh).
    pub refresh_token: Secret,
    /// Unix time when the access token expires, when known.
    pub expires_at: Option<u64>,
    /// The portal's REST base, `https://<portal>/rest/`.
    pub client_endpoint: Option<String>,
    /// The authorization server's REST base, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: Option<String>,
    /// The stable portal id.
    pub member_id: Option<String>,
    /// The user the tokens belong to.
    pub user_id: Option<u64>,
}

impl OAuthTokens {
    /// A token pair for the portal REST base `client_endpoint` (`https://<portal>/rest/`).
    pub fn new(
        access_token: impl Into<Secret>,
        refresh_token: impl Into<Secret>,
        client_endpoint: impl Into<String>,
    ) -> Self {
        OAuthTokens {
            access_token: access_token.into(),
            refresh_token: refresh_token.into(),
            client_endpoint: Some(client_endpoint.into()),
            ..OAuthTokens::default()
        }
    }
}

/// The on-disk and over-the-wire form of the tokens. Private: it exposes the secrets.
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<u64>,
}

impl From<&OAuthTokens> for StoredTokens {
    fn from(t: &OAuthTokens) -> Self {
        StoredTokens {
            access_token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.expose().to_owned(),
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint.clone(),
            server_endpoint: t.server_endpoint.clone(),
            member_id: t.member_id.clone(),
            user_id: t.user_id,
        }
    }
}

impl From<StoredTokens> for OAuthTokens {
    fn from(t: StoredTokens) -> Self {
        OAuthTokens {
            access_token: Secret::new(t.access_token),
            refresh_token: Secret::new(t.refresh_token),
            expires_at: t.expires_at,
            client_endpoint: t.client_endpoint,
            server_endpoint: t.server_endpoint,
            member_id: t.member_id,
            user_id: t.user_id,
        }
    }
}

/// Where rotated tokens are persisted. The client calls [`TokenStore::save`] with the new pair
/// *before* it uses it, so a crash between refresh and save can never lose the only valid
/// refresh token.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored tokens, if any.
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>>;
    /// Replaces the stored tokens.
    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>>;
}

/// Keeps tokens in memory (lost on restart): for tests and short-lived tools.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: RwLock<Option<OAuthTokens>>,
    saves: std::sync::atomic::AtomicU64,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times tokens were saved.
    pub fn saves(&self) -> u64 {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        let tokens = self.tokens.read().ok().and_then(|t| t.clone());
        Box::pin(async move { Ok(tokens) })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut slot = self
                .tokens
                .write()
                .map_err(|_| Error::Auth(AuthError::TokenStore("lock poisoned".into())))?;
            *slot = Some(tokens.clone());
            self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
    }
}

/// Keeps tokens in a JSON file, replaced atomically (write to a temporary file, then rename)
/// and readable only by the owner on Unix.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<OAuthTokens>, Error>> {
        Box::pin(async move {
            match tokio::fs::read(&self.path).await {
                Ok(bytes) => serde_json::from_slice::<StoredTokens>(&bytes)
                    .map(|t| Some(t.into()))
                    .map_err(|e| {
                        Error::Auth(AuthError::TokenStore(format!(
                            "{}: not a token file: {e}",
                            self.path.display()
                        )))
                    }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Auth(AuthError::TokenStore(format!(
                    "{}: {e}",
                    self.path.display()
                )))),
            }
        })
    }

    fn save<'a>(&'a self, tokens: &'a OAuthTokens) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let fail = |e: std::io::Error| {
                Error::Auth(AuthError::TokenStore(format!(
                    "{}: {e}",
                    self.path.display()
                )))
            };
            let bytes = serde_json::to_vec_pretty(&StoredTokens::from(tokens))
                .map_err(|e| Error::Auth(AuthError::TokenStore(e.to_string())))?;
            let tmp = self.path.with_extension("tmp");
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut file = options.open(&tmp).await.map_err(fail)?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &bytes)
                .await
                .map_err(fail)?;
            file.sync_all().await.map_err(fail)?;
            drop(file);
            tokio::fs::rename(&tmp, &self.path).await.map_err(fail)?;
            Ok(())
        })
    }
}

/// The live OAuth state of one client: current tokens, the store, and the refresh gate.
pub(crate) struct OAuthSession {
    pub app: OAuthApp,
    pub tokens: RwLock<OAuthTokens>,
    pub store: Arc<dyn TokenStore>,
    refresh_gate: tokio::sync::Mutex<()>,
    refreshes: std::sync::atomic::AtomicU64,
    /// The refresh token the token endpoint last refused, and why: callers holding the same
    /// dead token get this error without another request.
    rejected: std::sync::Mutex<Option<(Secret, AuthError)>>,
    /// Tokens the endpoint issued but the store failed to save: never used until saved (the
    /// next refresh saves them instead of asking the endpoint again, whose old refresh token
    /// is already dead).
    unsaved: std::sync::Mutex<Option<OAuthTokens>>,
}

impl fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSession")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: LenientString,
    #[serde(default)]
    refresh_token: LenientString,
    #[serde(default)]
    expires: LenientU64,
    #[serde(default)]
    expires_in: LenientU64,
    #[serde(default)]
    client_endpoint: LenientString,
    #[serde(default)]
    server_endpoint: LenientString,
    #[serde(default)]
    member_id: LenientString,
    #[serde(default)]
    user_id: LenientU64,
    #[serde(default)]
    error: LenientString,
    #[serde(default)]
    error_description: LenientString,
}

impl OAuthSession {
    pub fn new(app: OAuthApp, tokens: OAuthTokens, store: Arc<dyn TokenStore>) -> Self {
        OAuthSession {
            app,
            tokens: RwLock::new(tokens),
            store,
            refresh_gate: tokio::sync::Mutex::new(()),
            refreshes: std::sync::atomic::AtomicU64::new(0),
            rejected: std::sync::Mutex::new(None),
            unsaved: std::sync::Mutex::new(None),
        }
    }

    /// The current access token.
    pub fn access_token(&self) -> Secret {
        self.tokens
            .read()
            .map(|t| t.access_token.clone())
            .unwrap_or_default()
    }

    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn token_url(&self) -> String {
        if let Some(url) = &self.app.token_url {
            return url.clone();
        }
        let server = self
            .tokens
            .read()
            .ok()
            .and_then(|t| t.server_endpoint.clone());
        match server {
            Some(s) if s.trim_end_matches('/').ends_with("/rest") => {
                format!(
                    "{}/oauth/token/",
                    s.trim_end_matches('/').trim_end_matches("/rest")
                )
            }
            _ => DEFAULT_TOKEN_URL.to_owned(),
        }
    }

    /// Refreshes the tokens unless another caller already replaced `used` (single flight:
    /// concurrent callers that saw the same expired token wait for one refresh). Tokens
    /// another process saved in the store meanwhile are adopted instead of refreshing.
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        used: &Secret,
        clock: &dyn Clock,
        timeout: std::time::Duration,
    ) -> Result<(), Error> {
        let span = tracing::info_span!("bitrix24.refresh", client_id = %self.app.client_id);
        tracing::Instrument::instrument(self.refresh_inner(http, used, clock, timeout), span).await
    }

    async fn refresh_inner(
        &self,
        http: &reqwest::Client,
        used: &Secret,
        clock: &dyn Clock,
        timeout: std::time::Duration,
    ) -> Result<(), Error> {
        let poisoned = || Error::Auth(AuthError::TokenStore("lock poisoned".into()));
        let _gate = self.refresh_gate.lock().await;
        let refresh_token = {
            let current = self.tokens.read().map_err(|_| poisoned())?;
            if current.access_token != *used {
                return Ok(());
            }
            current.refresh_token.clone()
        };
        if let Some((dead, why)) = self.rejected.lock().map_err(|_| poisoned())?.as_ref()
            && *dead == refresh_token
        {
            return Err(Error::Auth(why.clone()));
        }
        let pending = self.unsaved.lock().map_err(|_| poisoned())?.take();
        if let Some(pending) = pending {
            return self.persist_and_use(pending).await;
        }
        if let Some(stored) = self.store.load().await?
            && stored.access_token != *used
            && !stored.access_token.is_empty()
        {
            tracing::info!("adopting tokens another process refreshed");
            *self.tokens.write().map_err(|_| poisoned())? = stored;
            return Ok(());
        }
        self.refreshes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ];
        let response = http
            .post(self.token_url())
            .form(&form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Error::transport("oauth/token", e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::transport("oauth/token", e))?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Error::Auth(AuthError::BadTokenResponse(format!("HTTP {status}: {e}"))))?;
        if let Some(code) = parsed.error.0.filter(|c| !c.is_empty()) {
            tracing::warn!(status, code = %code, "token refresh rejected");
            let why = AuthError::RefreshRejected {
                code: ErrorCode::parse(&code),
                description: parsed.error_description.0.unwrap_or_default(),
            };
            *self.rejected.lock().map_err(|_| poisoned())? = Some((refresh_token, why.clone()));
            return Err(Error::Auth(why));
        }
        let (Some(access), Some(refresh)) = (parsed.access_token.0, parsed.refresh_token.0) else {
            return Err(Error::Auth(AuthError::BadTokenResponse(format!(
                "HTTP {status}: no access_token/refresh_token"
            ))));
        };
        let mut next = self
            .tokens
            .read()
            .map_err(|_| Error::Auth(AuthError::TokenStore("lock poisoned".into())))?
            .clone();
        next.access_token = Secret::new(access);
        next.refresh_token = Secret::new(refresh);
        next.expires_at = parsed.expires.0.or_else(|| {
            parsed
                .expires_in
                .0
                .map(|s| (clock.unix_now() as u64).saturating_add(s))
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

    /// Saves rotated tokens, then uses them. Persist first: the old refresh token is dead from
    /// now on, so a pair that could not be saved is kept aside (not used, not dropped) and
    /// saved again on the next refresh.
    async fn persist_and_use(&self, next: OAuthTokens) -> Result<(), Error> {
        let poisoned = || Error::Auth(AuthError::TokenStore("lock poisoned".into()));
        if let Err(e) = self.store.save(&next).await {
            tracing::warn!(error = %e, "rotated tokens not saved: kept aside, saved again on the next refresh");
            *self.unsaved.lock().map_err(|_| poisoned())? = Some(next);
            return Err(e);
        }
        *self.tokens.write().map_err(|_| poisoned())? = next;
        tracing::info!("tokens refreshed and persisted");
        Ok(())
    }
}
