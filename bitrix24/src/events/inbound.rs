//! Verifying and typing one inbound event POST.

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::form::{self, FormLimits};
use super::payload::{EventAuth, EventError, TypedEvent, scrub};
use super::store::{InboxEntry, Tenant, TenantStore};

/// A verified, typed online event.
#[derive(Clone)]
#[non_exhaustive]
pub struct InboundEvent {
    /// The name and typed payload.
    pub event: TypedEvent,
    /// `event_handler_id`.
    pub handler_id: Option<u64>,
    /// `ts`: when the portal's queue sent it (unix seconds).
    pub ts: Option<u64>,
    /// The auth block (its tokens are [`crate::Secret`]s).
    pub auth: EventAuth,
    /// A digest of the event (tenant, name, handler, `ts`, data): the replay key.
    pub dedup_key: String,
    /// The whole event with secrets scrubbed: what the inbox stores.
    pub scrubbed: Value,
}

crate::debug_fields::debug_fields!(InboundEvent {
    event,
    handler_id,
    ts,
    auth
});

impl InboundEvent {
    /// The tenant's `member_id`.
    pub fn member_id(&self) -> &str {
        &self.auth.member_id
    }
}

/// The parsed form with its auth block, before the token check.
pub(crate) struct Unverified {
    pub form: Map<String, Value>,
    pub auth: EventAuth,
    pub name: String,
}

/// Parses the body (bounded) and reads the auth block and name; nothing else is looked at.
pub(crate) fn read(body: &[u8], limits: &FormLimits) -> Result<Unverified, EventError> {
    let form = form::parse(body, limits)?;
    let auth = match form.get("auth") {
        Some(Value::Object(a)) => EventAuth::from_map(a).ok_or(EventError::MissingAuth)?,
        _ => return Err(EventError::MissingAuth),
    };
    let name = match form.get("event") {
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => String::new(),
    };
    Ok(Unverified { form, auth, name })
}

/// Checks the event's `application_token` against the stored tenant's, in constant time.
pub(crate) fn check_token(tenant: Option<&Tenant>, auth: &EventAuth) -> Result<(), EventError> {
    let Some(tenant) = tenant else {
        return Err(EventError::UnknownTenant {
            member_id: shown_member(&auth.member_id),
        });
    };
    let Some(stored) = &tenant.application_token else {
        return Err(EventError::UnknownTenant {
            member_id: shown_member(&auth.member_id),
        });
    };
    if stored.is_empty() || !stored.matches(auth.application_token.expose()) {
        return Err(EventError::WrongToken {
            member_id: shown_member(&auth.member_id),
        });
    }
    Ok(())
}

/// A `member_id` for messages: member ids are not secret, but a hostile one may be long.
fn shown_member(m: &str) -> String {
    m.chars().take(64).collect()
}

/// Types a verified form.
pub(crate) fn type_event(u: &Unverified) -> Result<InboundEvent, EventError> {
    if u.name.is_empty() {
        return Err(EventError::MissingName);
    }
    let data = u.form.get("data").cloned().unwrap_or(Value::Null);
    let handler_id = u
        .form
        .get("event_handler_id")
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse().ok());
    let ts = u
        .form
        .get("ts")
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse().ok());
    let scrubbed = scrub(&Value::Object(u.form.clone()));
    let dedup_key = dedup_key(&u.auth.member_id, &u.name, handler_id, ts, &data);
    let event = TypedEvent::parse(&u.name, &data)?;
    Ok(InboundEvent {
        event,
        handler_id,
        ts,
        auth: u.auth.clone(),
        dedup_key,
        scrubbed,
    })
}

/// Rebuilds the event of a stored inbox entry (a restart replays the pending ones). The inbox
/// keeps the event with its secrets scrubbed, so the rebuilt auth block carries no tokens: a
/// replayed handler calls the portal with the tenant's stored client, never the event's token.
pub(crate) fn from_stored(entry: &InboxEntry) -> Result<InboundEvent, EventError> {
    let Value::Object(form) = &entry.payload else {
        return Err(EventError::MissingAuth);
    };
    let mut auth = match form.get("auth") {
        Some(Value::Object(a)) => EventAuth::from_map(a).ok_or(EventError::MissingAuth)?,
        _ => return Err(EventError::MissingAuth),
    };
    auth.application_token = crate::secret::Secret::new(String::new());
    auth.access_token = None;
    auth.refresh_token = None;
    if auth.member_id != entry.member_id {
        return Err(EventError::Malformed {
            event: entry.event.clone(),
            reason: "the stored auth block names another tenant".into(),
        });
    }
    type_event(&Unverified {
        form: form.clone(),
        auth,
        name: entry.event.clone(),
    })
}

/// The replay key: md5 over the tenant, name, handler id, `ts` and data (never the tokens,
/// which differ per delivery).
pub(crate) fn dedup_key(
    member_id: &str,
    name: &str,
    handler_id: Option<u64>,
    ts: Option<u64>,
    data: &Value,
) -> String {
    let canonical = json!([
        member_id,
        name.to_ascii_uppercase(),
        handler_id,
        ts,
        scrub(data)
    ]);
    let digest = Md5::digest(canonical.to_string().as_bytes());
    format!("{digest:x}")
}

/// Verifies and types one event POST body: the bounded parse, then the tenant's
/// `application_token` (constant time) **before anything else** is read, then the typed
/// payload.
///
/// An unknown tenant or a wrong token is a typed rejection; so is a body that breaks a bound,
/// has no auth block, no name, an unknown name or a payload without its documented fields.
pub async fn verify(
    tenants: &dyn TenantStore,
    body: &[u8],
    limits: &FormLimits,
) -> Result<InboundEvent, EventError> {
    let u = read(body, limits)?;
    let tenant = tenants
        .tenant(&u.auth.member_id)
        .await
        .map_err(|e| EventError::Store(e.to_string()))?;
    check_token(tenant.as_ref(), &u.auth)?;
    type_event(&u)
}
