//! A ready [`axum::Router`] for the event and install callbacks (feature `axum`).
//!
//! | Route | What |
//! | --- | --- |
//! | `POST /events` | online events, `ONAPPINSTALL`, `ONAPPUNINSTALL`, `ONOFFLINEEVENT` |
//! | `POST /install` | the install URL: `ONAPPINSTALL` (API-only apps) or the install POST of an app with UI (answers a page that calls `BX24.installFinish()`) |
//! | `GET /oauth/callback` | the OAuth redirect: exchanges `code` (`grant_type=authorization_code`) |
//!
//! Statuses: `200` accepted (stored, a replay, or dead-lettered), `400` malformed, `401` no auth
//! block or unknown tenant, `403` wrong `application_token` or foreign host, `413` body over
//! the limit, `503` store failure. The answer goes out as soon as the event is stored; the
//! handler runs after.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::install::{InstallError, install_finish_page};
use super::service::{Accepted, EventService, Rejected};

/// The router, with the body limit of the service's [`super::FormLimits`].
pub fn router(service: EventService) -> Router {
    let limit = service.form_limits().max_body;
    Router::new()
        .route("/events", post(events))
        .route("/install", post(install))
        .route("/oauth/callback", get(oauth_callback))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(service)
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

fn rejected(r: &Rejected) -> Response {
    (status(r.status), r.error.to_string()).into_response()
}

async fn events(State(service): State<EventService>, body: Bytes) -> Response {
    match service.accept(&body).await {
        Ok(accepted) => (StatusCode::OK, label(&accepted)).into_response(),
        Err(r) => rejected(&r),
    }
}

fn label(a: &Accepted) -> &'static str {
    match a {
        Accepted::Stored(_) => "stored",
        Accepted::Duplicate(_) => "duplicate",
        Accepted::DeadLettered(_) => "dead-lettered",
        Accepted::Installed(_) => "installed",
        Accepted::Uninstalled(_) => "uninstalled",
        Accepted::Woken(_) => "woken",
    }
}

async fn install(
    State(service): State<EventService>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let is_event =
        super::form::parse(&body, &service.form_limits()).is_ok_and(|f| f.contains_key("event"));
    if is_event {
        return events(State(service), body).await;
    }
    let Some(installer) = service.get_installer() else {
        return (StatusCode::NOT_FOUND, "no installer configured").into_response();
    };
    match installer
        .on_install_post(query.as_deref().unwrap_or_default(), &body)
        .await
    {
        Ok(_) => Html(install_finish_page()).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "install POST refused");
            rejected(&Rejected::from(e))
        }
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    server_domain: Option<String>,
}

async fn oauth_callback(
    State(service): State<EventService>,
    Query(q): Query<Callback>,
) -> Response {
    let Some(installer) = service.get_installer() else {
        return (StatusCode::NOT_FOUND, "no installer configured").into_response();
    };
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return rejected(&Rejected::from(InstallError::Missing("code")));
    };
    match installer
        .exchange_code(&code, q.server_domain.as_deref())
        .await
    {
        Ok(t) => (StatusCode::OK, format!("installed {}", t.member_id)).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "authorization code refused");
            rejected(&Rejected::from(e))
        }
    }
}
