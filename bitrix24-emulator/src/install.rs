//! The portal's side of installing and removing the app (auth-events-v3 §2):
//!
//! - an API-only app gets `ONAPPINSTALL` (tokens with `refresh_token`) and is installed at once;
//! - an app with UI has its install page opened: a POST of `AUTH_ID`, `REFRESH_ID`,
//!   `member_id`, ... (query: `DOMAIN`, `PROTOCOL`, `LANG`, `APP_SID`); it stays "not
//!   installed" (no events) until `BX24.installFinish()` ([`Control::set_app_installed`]);
//! - uninstalling revokes the app's tokens, deletes its event handlers and offline queue, then
//!   sends `ONAPPUNINSTALL` (no tokens: `domain`, `server_endpoint`, `client_endpoint`,
//!   `member_id`, `application_token`; data `LANGUAGE_ID`, `CLEAN`).

use serde_json::{Map, Value, json};

use crate::state::lock;
use crate::{Control, events, php};

/// The `auth` keys of the app's lifecycle events in the order their pages show them
/// (`common/events/on-app-install.md`, `on-app-update.md`, `on-app-uninstall.md`): `domain`
/// first, the tokens after `scope`. `expires` and `user_id`, which real bodies carry as well,
/// stand next to `expires_in` and `member_id` as in every other event's block.
const LIFECYCLE_AUTH: [&str; 12] = [
    "domain",
    "scope",
    "access_token",
    "refresh_token",
    "expires",
    "expires_in",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
    "application_token",
];

/// `auth` reordered as the lifecycle events send it (keys it does not know keep their order,
/// after the known ones).
fn lifecycle_auth(mut auth: Map<String, Value>) -> Map<String, Value> {
    let mut out: Map<String, Value> = LIFECYCLE_AUTH
        .iter()
        .filter_map(|k| auth.shift_remove(*k).map(|v| ((*k).to_owned(), v)))
        .collect();
    out.extend(auth);
    out
}

/// What the app's install page answered when the portal opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallPage {
    /// The HTTP status.
    pub status: u16,
    /// The page (an app with UI calls `BX24.installFinish()` from it).
    pub body: String,
}

impl Control {
    /// POSTs an event form body to `url` and returns the handler's HTTP status and body.
    async fn post_form(&self, url: &str, body: String) -> Result<(u16, String), String> {
        let r = self
            .inner
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        Ok((status, r.text().await.map_err(|e| e.to_string())?))
    }

    /// Posts the `ONAPPINSTALL` payload (tokens with `refresh_token`, `member_id`, domain,
    /// `application_token`) to `handler_url`, as the portal does for API-only apps, and waits
    /// for the handler's HTTP status. The app counts as installed from then on.
    pub async fn install_app(&self, handler_url: &str) -> Result<u16, String> {
        lock(&self.inner.auth).app_installed = true;
        let auth = lifecycle_auth(self.inner.event_auth(Some(1), true));
        let data = json!({"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "en"});
        let body = events::event_body("ONAPPINSTALL", 0, &data, self.inner.now() as i64, &auth);
        Ok(self.post_form(handler_url, body).await?.0)
    }

    /// Opens the install page of an app with UI, as the portal's frame does for the admin:
    /// `POST install_url?DOMAIN=…&PROTOCOL=0|1&LANG=en&APP_SID=…` with the form fields
    /// `AUTH_ID`, `AUTH_EXPIRES`, `REFRESH_ID`, `SERVER_ENDPOINT`, `APPLICATION_TOKEN`,
    /// `APPLICATION_SCOPE`, `member_id`, `status`, `PLACEMENT=DEFAULT` (tokens of user 1). The
    /// app is "not installed" (no events are sent) until [`Control::set_app_installed`] stands
    /// in for the page's `BX24.installFinish()`.
    pub async fn open_install_page(&self, install_url: &str) -> Result<InstallPage, String> {
        lock(&self.inner.auth).app_installed = false;
        let auth = self.inner.event_auth(Some(1), true);
        let field = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or_default();
        let base = &self.inner.base_url;
        let protocol = if base.starts_with("https:") { "1" } else { "0" };
        let mut url = url::Url::parse(install_url).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("DOMAIN", &self.inner.host)
            .append_pair("PROTOCOL", protocol)
            .append_pair("LANG", "en")
            .append_pair("APP_SID", &php::secret_hex(16));
        let pairs: Vec<(String, String)> = [
            ("AUTH_ID", field("access_token")),
            ("AUTH_EXPIRES", field("expires_in")),
            ("REFRESH_ID", field("refresh_token")),
            ("SERVER_ENDPOINT", field("server_endpoint")),
            ("APPLICATION_TOKEN", field("application_token")),
            ("APPLICATION_SCOPE", field("scope")),
            ("member_id", field("member_id")),
            ("status", field("status")),
            ("PLACEMENT", "DEFAULT"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (status, body) = self
            .post_form(url.as_str(), php::encode_pairs(&pairs))
            .await?;
        Ok(InstallPage { status, body })
    }

    /// Uninstalls the app, as an admin removing it does: its tokens are revoked and its event
    /// handlers and offline queue deleted at once (the handler cannot call the API any more),
    /// then `ONAPPUNINSTALL` is POSTed to `handler_url` with `data[LANGUAGE_ID]`,
    /// `data[CLEAN]` (`1` when the admin chose to delete the app's data) and the token-less auth
    /// block. Returns the handler's HTTP status.
    pub async fn uninstall_app(&self, handler_url: &str, clean: bool) -> Result<u16, String> {
        {
            let mut auth = lock(&self.inner.auth);
            auth.app_installed = false;
            auth.access.clear();
            auth.refresh.clear();
            auth.codes.clear();
        }
        {
            let mut ev = lock(&self.inner.events);
            ev.handlers.clear();
            ev.offline.clear();
        }
        let auth = lifecycle_auth(self.inner.event_auth(None, false));
        let data = json!({"LANGUAGE_ID": "en", "CLEAN": i32::from(clean)});
        let body = events::event_body("ONAPPUNINSTALL", 0, &data, self.inner.now() as i64, &auth);
        Ok(self.post_form(handler_url, body).await?.0)
    }
}
