//! App installation and removal: the install POST of apps with UI, `ONAPPINSTALL` for
//! API-only apps, the authorization-code grant, and `ONAPPUNINSTALL`.
//!
//! ## Which callback brings the tenant
//!
//! | App kind | What the portal does on install | Tokens come from |
//! | --- | --- | --- |
//! | API-only ("Script only" on, or no menu item) | POSTs `ONAPPINSTALL` to the install URL; installed at once | `auth[...]` of that event: [`Installer::on_app_install`] |
//! | With UI | opens the install URL in a frame and POSTs `AUTH_ID`, `REFRESH_ID`, `member_id`, ... to it | that POST: [`Installer::on_install_post`] |
//! | Any, through OAuth | `/oauth/authorize/` redirects with `code` (30 s) | `grant_type=authorization_code`: [`Installer::exchange_code`] |
//!
//! ## `installFinish`
//!
//! An app **with a UI** is "not installed" until its install page calls `BX24.installFinish()`
//! (the JS SDK; a browser-only call, there is no REST method). Until then the portal sends it
//! **no events**, shows no placements, and tells non-admins the app is not fully installed; the
//! install URL is opened again on each visit. So the install page must store the tenant (what
//! [`Installer::on_install_post`] does) and then, in the browser, call `BX24.installFinish()`
//! — [`install_finish_page`] is such a page. An **API-only** app must **not** call it: it is
//! installed as soon as `ONAPPINSTALL` is sent. `app.info` -> `INSTALLED` tells which state a
//! portal is in. (Docs: `settings/app-installation/installation-finish.md`,
//! `sdk/bx24-js-sdk/system-functions/bx24-install-finish.md`.)
//!
//! ## Trust
//!
//! Anyone can POST to an install URL. A new tenant is stored only after its access token
//! worked: `app.info` is called with it on the portal it names (the address must be https, or
//! http on loopback, as every secret's destination). An install for a **known** `member_id`
//! must also come from the stored portal host, so a forged install cannot replace another
//! tenant's `application_token`. The authorization code is exchanged only at the configured
//! token URL, a documented OAuth server, or a host the app trusts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::form::FormLimits;
use super::inbound::{self, InboundEvent};
use super::payload::{EventAuth, EventError, number, text};
use super::store::{StoreError, Tenant, TenantStore, unix_now};
use crate::auth::{DEFAULT_TOKEN_URL, OAuthApp, OAuthTokens};
use crate::client::Client;
use crate::endpoint::{self, DOCUMENTED_OAUTH_HOSTS};
use crate::error::Error;
use crate::secret::Secret;
use crate::token_store::MemoryTokenStore;

/// Why an install, a code exchange or an uninstall was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The event itself was refused (bounds, auth block, token).
    #[error(transparent)]
    Event(#[from] EventError),
    /// A required field is missing.
    #[error("the install request has no {0}")]
    Missing(&'static str),
    /// The tokens did not work on the portal they came with (`app.info` failed).
    #[error("the install could not be verified: {0}")]
    Unverified(String),
    /// An install for a known tenant came from another portal host.
    #[error("install for {member_id} from a host other than the stored one")]
    HostMismatch {
        /// The tenant.
        member_id: String,
    },
    /// An address is not a safe destination for a secret.
    #[error("{0}")]
    Endpoint(String),
    /// The token endpoint refused the grant or answered something else.
    #[error("authorization code refused: {0}")]
    Grant(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl InstallError {
    /// The HTTP status an install callback answers with.
    pub fn status(&self) -> u16 {
        match self {
            InstallError::Event(EventError::Form(super::form::FormError::TooLarge { .. })) => 413,
            InstallError::Event(EventError::WrongToken { .. })
            | InstallError::HostMismatch { .. } => 403,
            InstallError::Event(EventError::MissingAuth | EventError::UnknownTenant { .. })
            | InstallError::Unverified(_) => 401,
            InstallError::Store(_) | InstallError::Event(EventError::Store(_)) => 503,
            _ => 400,
        }
    }
}

/// How an install is verified before the tenant is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InstallCheck {
    /// Call `app.info` with the install's access token on the portal it names (the default).
    #[default]
    AppInfo,
    /// Trust the payload (only behind something else that authenticates the portal).
    TrustPayload,
}

/// Stores tenants from install callbacks and removes them on uninstall.
#[derive(Clone)]
pub struct Installer {
    app: OAuthApp,
    tenants: Arc<dyn TenantStore>,
    http: reqwest::Client,
    check: InstallCheck,
    limits: FormLimits,
}

crate::debug_fields::debug_fields!(Installer { app, check });

/// A field of the token endpoint's answer as text.
fn answer_text(v: &Value, key: &str) -> Option<String> {
    v.as_object().and_then(|m| text(m, key))
}

/// A field of the token endpoint's answer as a number.
fn answer_u64(v: &Value, key: &str) -> Option<u64> {
    v.as_object().and_then(|m| number(m, key))
}

fn host_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .map(|h| match Url::parse(url).ok().and_then(|u| u.port()) {
            Some(p) => format!("{h}:{p}"),
            None => h,
        })
}

impl Installer {
    /// An installer for `app`, storing tenants in `tenants`.
    pub fn new(app: OAuthApp, tenants: Arc<dyn TenantStore>) -> Self {
        Installer {
            app,
            tenants,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            check: InstallCheck::default(),
            limits: FormLimits::default(),
        }
    }

    /// Changes how installs are verified.
    #[must_use]
    pub fn check(mut self, check: InstallCheck) -> Self {
        self.check = check;
        self
    }

    /// Changes the form bounds.
    #[must_use]
    pub fn limits(mut self, limits: FormLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The tenant store.
    pub fn tenants(&self) -> &Arc<dyn TenantStore> {
        &self.tenants
    }

    /// The app.
    pub fn app(&self) -> &OAuthApp {
        &self.app
    }

    /// Handles an `ONAPPINSTALL` (or `ONAPPUPDATE`) POST body: verifies the tokens, then stores
    /// the tenant with its tokens and `application_token`.
    pub async fn on_app_install(&self, body: &[u8]) -> Result<Tenant, InstallError> {
        let u = inbound::read(body, &self.limits)?;
        if !matches!(
            u.name.to_ascii_uppercase().as_str(),
            "ONAPPINSTALL" | "ONAPPUPDATE"
        ) {
            return Err(InstallError::Event(EventError::Malformed {
                event: u.name.clone(),
                reason: "not an install event".into(),
            }));
        }
        let tokens = u.auth.tokens(unix_now()).ok_or(InstallError::Missing(
            "auth[access_token] and auth[refresh_token]",
        ))?;
        self.store(&u.auth, tokens).await
    }

    /// Handles the install POST of an app with UI: `AUTH_ID`, `AUTH_EXPIRES`, `REFRESH_ID`,
    /// `SERVER_ENDPOINT`, `APPLICATION_TOKEN`, `member_id`, `status` in the body and `DOMAIN`,
    /// `PROTOCOL` (`0`/`1`), `APP_SID` in the query. The page must then call
    /// `BX24.installFinish()` ([`install_finish_page`]).
    pub async fn on_install_post(&self, query: &str, body: &[u8]) -> Result<Tenant, InstallError> {
        let q = super::form::parse(query.as_bytes(), &self.limits).map_err(EventError::from)?;
        let b = super::form::parse(body, &self.limits).map_err(EventError::from)?;
        let field = |k: &str| text(&b, k).or_else(|| text(&q, k));
        let member_id = field("member_id").ok_or(InstallError::Missing("member_id"))?;
        let domain = field("DOMAIN").ok_or(InstallError::Missing("DOMAIN"))?;
        let access = field("AUTH_ID").ok_or(InstallError::Missing("AUTH_ID"))?;
        let refresh = field("REFRESH_ID").ok_or(InstallError::Missing("REFRESH_ID"))?;
        let scheme = if field("PROTOCOL").as_deref() == Some("0") {
            "http"
        } else {
            "https"
        };
        let mut auth = EventAuth {
            member_id,
            domain: Some(domain.clone()),
            client_endpoint: Some(format!("{scheme}://{domain}/rest/")),
            server_endpoint: field("SERVER_ENDPOINT"),
            application_token: Secret::new(field("APPLICATION_TOKEN").unwrap_or_default()),
            access_token: Some(Secret::new(access)),
            refresh_token: Some(Secret::new(refresh)),
            expires_in: field("AUTH_EXPIRES").and_then(|s| s.parse().ok()),
            status: field("status"),
            ..EventAuth::default()
        };
        auth.expires = None;
        let tokens = auth
            .tokens(unix_now())
            .ok_or(InstallError::Missing("AUTH_ID"))?;
        self.store(&auth, tokens).await
    }

    /// Exchanges an authorization code (the `/oauth/authorize/` redirect's `code`, valid 30 s)
    /// with `grant_type=authorization_code` and stores the tenant with its tokens (its
    /// `application_token` arrives later with `ONAPPINSTALL` or the install POST; a stored
    /// one is kept).
    ///
    /// `server_domain` is the redirect's `server_domain`: used only when it is a documented
    /// OAuth server or a host the app trusts; a configured `token_url` always wins.
    pub async fn exchange_code(
        &self,
        code: &str,
        server_domain: Option<&str>,
    ) -> Result<Tenant, InstallError> {
        let url = self.code_token_url(server_domain)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose()),
            ("code", code),
        ];
        let response = self
            .http
            .post(url.as_str())
            .form(&form)
            .send()
            .await
            .map_err(|e| InstallError::Grant(Error::transport_reason(e)))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| InstallError::Grant(Error::transport_reason(e)))?;
        if bytes.len() > 64 * 1024 {
            return Err(InstallError::Grant(format!(
                "HTTP {status}: answer too large"
            )));
        }
        let parsed: Value = serde_json::from_slice(&bytes)
            .map_err(|e| InstallError::Grant(format!("HTTP {status}: {e}")))?;
        if let Some(code) = answer_text(&parsed, "error") {
            return Err(InstallError::Grant(format!("HTTP {status}: {code}")));
        }
        let (Some(access), Some(refresh), Some(member_id)) = (
            answer_text(&parsed, "access_token"),
            answer_text(&parsed, "refresh_token"),
            answer_text(&parsed, "member_id"),
        ) else {
            return Err(InstallError::Grant(format!(
                "HTTP {status}: no access_token, refresh_token or member_id"
            )));
        };
        let client_endpoint = answer_text(&parsed, "client_endpoint")
            .ok_or(InstallError::Missing("client_endpoint"))?;
        endpoint::secure_url(&client_endpoint, "client_endpoint")
            .map_err(|e| InstallError::Endpoint(e.to_string()))?;
        let mut tokens = OAuthTokens::new(access, refresh, client_endpoint.clone());
        tokens.server_endpoint = answer_text(&parsed, "server_endpoint");
        tokens.member_id = Some(member_id.clone());
        tokens.user_id = answer_u64(&parsed, "user_id");
        tokens.expires_at = answer_u64(&parsed, "expires")
            .or_else(|| answer_u64(&parsed, "expires_in").map(|s| unix_now().saturating_add(s)));
        let existing = self.tenants.tenant(&member_id).await?;
        let host = host_of(&client_endpoint);
        if let Some(t) = &existing
            && t.domain.is_some()
            && t.domain.as_deref().map(str::to_ascii_lowercase) != host
        {
            return Err(InstallError::HostMismatch { member_id });
        }
        let mut tenant = existing.unwrap_or_else(|| Tenant::new(member_id.clone()));
        tenant.domain = host;
        tenant.client_endpoint = Some(client_endpoint);
        tenant.server_endpoint.clone_from(&tokens.server_endpoint);
        self.tenants.save_tenant(&tenant, Some(&tokens)).await?;
        tracing::info!(member_id = %tenant.member_id, "tenant stored from an authorization code");
        Ok(tenant)
    }

    fn code_token_url(&self, server_domain: Option<&str>) -> Result<Url, InstallError> {
        let address = if let Some(url) = &self.app.token_url {
            url.clone()
        } else {
            match server_domain.map(|d| d.trim().to_ascii_lowercase()) {
                Some(d)
                    if DOCUMENTED_OAUTH_HOSTS.contains(&d.as_str())
                        || self.app.trusted_token_hosts.contains(&d) =>
                {
                    format!("https://{d}/oauth/token/")
                }
                _ => DEFAULT_TOKEN_URL.to_owned(),
            }
        };
        endpoint::secure_url(&address, "token URL")
            .map_err(|e| InstallError::Endpoint(e.to_string()))
    }

    /// Verifies the install's tokens, then stores the tenant.
    async fn store(&self, auth: &EventAuth, tokens: OAuthTokens) -> Result<Tenant, InstallError> {
        let client_endpoint = tokens
            .client_endpoint
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(InstallError::Missing("client_endpoint"))?;
        endpoint::secure_url(&client_endpoint, "client_endpoint")
            .map_err(|e| InstallError::Endpoint(e.to_string()))?;
        let host = host_of(&client_endpoint);
        let existing = self.tenants.tenant(&auth.member_id).await?;
        if let Some(t) = &existing
            && t.domain.is_some()
            && t.domain.as_deref().map(str::to_ascii_lowercase) != host
        {
            return Err(InstallError::HostMismatch {
                member_id: auth.member_id.clone(),
            });
        }
        let tokens = if self.check == InstallCheck::AppInfo {
            self.verify_tokens(tokens).await?
        } else {
            tokens
        };
        let mut tenant = existing.unwrap_or_else(|| Tenant::new(auth.member_id.clone()));
        tenant.domain = host;
        tenant.client_endpoint = Some(client_endpoint);
        tenant.server_endpoint.clone_from(&auth.server_endpoint);
        if !auth.application_token.is_empty() {
            tenant.application_token = Some(auth.application_token.clone());
        }
        self.tenants.save_tenant(&tenant, Some(&tokens)).await?;
        tracing::info!(member_id = %tenant.member_id, "tenant installed");
        Ok(tenant)
    }

    /// `app.info` with the install's access token on its portal. Returns the tokens to store:
    /// the client's current pair, in case the call had to refresh (a refresh spends the old
    /// refresh token, so the rotated pair is the one to keep).
    async fn verify_tokens(&self, tokens: OAuthTokens) -> Result<OAuthTokens, InstallError> {
        let client = Client::builder()
            .oauth(self.app.clone(), tokens.clone())
            .token_store(Arc::new(MemoryTokenStore::new()))
            .no_rate_limit()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| InstallError::Endpoint(e.to_string()))?;
        match client
            .send(&crate::packs::diagnostics::AppInfo::new())
            .await
        {
            Ok(Value::Object(_)) => Ok(client.oauth_tokens().unwrap_or(tokens)),
            Ok(other) => Err(InstallError::Unverified(format!(
                "app.info answered {}",
                match other {
                    Value::Null => "null",
                    Value::Array(_) => "an array",
                    _ => "a scalar",
                }
            ))),
            Err(e) => Err(InstallError::Unverified(e.to_string())),
        }
    }

    /// Handles an `ONAPPUNINSTALL` POST body: verifies the `application_token` (the only check
    /// there is: the event carries no tokens), then purges the tenant's secrets. Returns the
    /// verified event.
    pub async fn on_app_uninstall(&self, body: &[u8]) -> Result<InboundEvent, InstallError> {
        let event = inbound::verify(self.tenants.as_ref(), body, &self.limits).await?;
        if event.event.name.as_str() != "ONAPPUNINSTALL" {
            return Err(InstallError::Event(EventError::Malformed {
                event: event.event.name.as_str().to_owned(),
                reason: "not ONAPPUNINSTALL".into(),
            }));
        }
        self.tenants.purge_tenant(event.member_id()).await?;
        tracing::info!(member_id = %event.member_id(), "tenant uninstalled: secrets purged");
        Ok(event)
    }
}

/// A minimal install page for an app with UI: loads the BX24 JS SDK and calls
/// `BX24.installFinish()` once the tenant is stored. Without that call the portal sends the
/// app no events.
pub fn install_finish_page() -> &'static str {
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Installing</title>\
     <script src=\"//api.bitrix24.com/api/v1/\"></script></head><body>\
     <p>Installing...</p><script>BX24.init(function(){BX24.installFinish();});</script>\
     </body></html>"
}
