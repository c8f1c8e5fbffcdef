//! Credentials: incoming webhooks, OAuth 2.0 applications and their token pairs. The refresh
//! itself lives in `refresh.rs`, persistence in [`crate::token_store`].

use std::fmt;

use crate::endpoint;
use crate::error::Error;
use crate::secret::Secret;

pub use crate::token_store::{FileTokenStore, MemoryTokenStore, TokenStore};
pub use crate::tokens::OAuthTokens;

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
        // https, or plain http to a loopback host: the rule for every address a secret
        // travels to.
        let parsed = endpoint::secure_url(url, "the address").map_err(|e| match e {
            Error::Config(why) => bad(&why),
            other => other,
        })?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
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
                let origin = endpoint::origin(&parsed);
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
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// `client_id` (`local.…` or `app.…`).
    pub client_id: String,
    /// `client_secret`: sent only to the token endpoint.
    pub client_secret: Secret,
    /// The token endpoint. `None`: derived from the tokens' `server_endpoint` (strip `/rest/`,
    /// add `/oauth/token/`) when its host is trusted, else [`DEFAULT_TOKEN_URL`]. An explicit
    /// URL must be https (plain http only on loopback).
    pub token_url: Option<String>,
    /// Hosts besides [`endpoint::DOCUMENTED_OAUTH_HOSTS`] and the portal itself that a
    /// `server_endpoint` may name as the token endpoint.
    pub trusted_token_hosts: Vec<String>,
}

impl OAuthApp {
    /// An application with the default token endpoint.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_url: None,
            trusted_token_hosts: Vec::new(),
        }
    }

    /// Trusts `host` as a token endpoint when a `server_endpoint` (from the token endpoint, an
    /// install or an event payload) names it. By default only the documented OAuth servers and
    /// the portal's own host receive the client secret and refresh token.
    #[must_use]
    pub fn trust_token_host(mut self, host: impl Into<String>) -> Self {
        self.trusted_token_hosts
            .push(host.into().to_ascii_lowercase());
        self
    }

    /// Uses another token endpoint (an emulator, or `oauth.bitrix24.tech`).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }
}
