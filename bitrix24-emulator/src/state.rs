//! The portal state shared by every request.

use crate::clock::Clock;
use crate::config::{Faults, Limits};
use crate::core::{ApiError, AuthKind, Caller};
use crate::entity::{EntityFamily, Family, Store};
use crate::php;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, RwLock};

/// Every scope a full-access webhook gets.
pub(crate) const ALL_SCOPES: &[&str] = &[
    "bizproc",
    "calendar",
    "crm",
    "department",
    "disk",
    "entity",
    "im",
    "log",
    "main",
    "placement",
    "task",
    "tasks",
    "user",
    "user_basic",
    "user_brief",
];

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub id: u64,
    pub user_id: u64,
    pub code: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub user_id: u64,
    pub expires: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub user_id: u64,
    pub expires: i64,
    pub access: String,
}

#[derive(Debug)]
pub(crate) struct AuthState {
    pub webhooks: Vec<Webhook>,
    pub client_id: String,
    pub client_secret: String,
    pub application_token: String,
    pub member_id: String,
    pub app_scopes: Vec<String>,
    /// `app.info` `INSTALLED`.
    pub app_installed: bool,
    /// The portal plan code (`app.info` `LICENSE`).
    pub license: String,
    /// Last authenticated request per user (virtual unix seconds).
    pub last_seen: HashMap<u64, f64>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, (u64, i64)>,
}

impl AuthState {
    /// A 70-hex token: expires (LE u32), random, user id (BE u32), random (the random parts
    /// from the OS generator).
    pub(crate) fn token(expires: i64, user_id: u64) -> String {
        let mut s = String::with_capacity(70);
        for b in (expires as u32).to_le_bytes() {
            let _ = write!(s, "{b:02x}");
        }
        s.push_str(&php::secret_hex(18));
        let _ = write!(s, "{:08x}", user_id as u32);
        s.push_str(&php::secret_hex(36));
        s
    }

    /// Issues an access/refresh pair for `user_id`.
    pub(crate) fn issue(&mut self, user_id: u64, now: f64) -> (String, String, i64) {
        // Every event delivery issues a pair, so old ones are dropped now and then (at
        // power-of-two sizes: amortized constant time). Expired access tokens are kept for a
        // day so that they still answer `expired_token`, which is what makes clients refresh.
        let now_secs = now as i64;
        if self.access.len() >= 1024 && self.access.len().is_power_of_two() {
            self.access.retain(|_, t| t.expires + 86_400 > now_secs);
        }
        if self.refresh.len() >= 1024 && self.refresh.len().is_power_of_two() {
            self.refresh.retain(|_, t| t.expires > now_secs);
        }
        let expires = now as i64 + 3600;
        let access = Self::token(expires, user_id);
        let refresh = Self::token(expires, user_id);
        self.access
            .insert(access.clone(), AccessToken { user_id, expires });
        self.refresh.insert(
            refresh.clone(),
            RefreshToken {
                user_id,
                expires: now as i64 + 180 * 86_400,
                access: access.clone(),
            },
        );
        (access, refresh, expires)
    }
}

#[derive(Debug)]
pub(crate) struct Bucket {
    pub minute: i64,
    pub first: f64,
    pub sum: f64,
}

#[derive(Debug)]
pub(crate) struct LimitState {
    pub mode: Limits,
    pub level: f64,
    pub last: f64,
    pub operating: HashMap<(String, String), VecDeque<Bucket>>,
}

impl LimitState {
    /// Leaky bucket: true when the request is admitted.
    pub(crate) fn admit(&mut self, now: f64) -> bool {
        let (rate, burst) = match self.mode {
            Limits::Off => return true,
            Limits::Standard => (2.0, 50.0),
            Limits::Enterprise => (5.0, 250.0),
            Limits::Custom {
                drain_per_sec,
                burst,
            } => (drain_per_sec, f64::from(burst)),
        };
        let dt = (now - self.last).max(0.0);
        self.level = (self.level - dt * rate).max(0.0);
        self.last = now;
        if self.level + 1.0 > burst + 1e-9 {
            return false;
        }
        self.level += 1.0;
        true
    }

    fn prune(q: &mut VecDeque<Bucket>, now: f64) {
        while q.front().is_some_and(|b| b.first + 600.0 <= now) {
            q.pop_front();
        }
    }

    /// Accumulated operating time for (key, method).
    pub(crate) fn operating(&mut self, key: &str, method: &str, now: f64) -> f64 {
        let k = (key.to_string(), method.to_string());
        match self.operating.get_mut(&k) {
            Some(q) => {
                Self::prune(q, now);
                q.iter().map(|b| b.sum).sum::<f64>() + 0.0
            }
            None => 0.0,
        }
    }

    /// Records a call; returns (operating incl. this call, operating_reset_at).
    pub(crate) fn record(
        &mut self,
        key: &str,
        method: &str,
        start: f64,
        dur: f64,
        now: f64,
    ) -> (f64, i64) {
        let q = self
            .operating
            .entry((key.to_string(), method.to_string()))
            .or_default();
        Self::prune(q, now);
        if dur > 0.1 {
            let minute = (start / 60.0).floor() as i64;
            match q.back_mut() {
                Some(b) if b.minute == minute => b.sum += dur,
                _ => q.push_back(Bucket {
                    minute,
                    first: start,
                    sum: dur,
                }),
            }
        }
        // `+ 0.0`: an empty float sum is -0.0, which would print as `-0.0`.
        let total = q.iter().map(|b| b.sum).sum::<f64>() + 0.0;
        let reset = q
            .front()
            .map_or((start + 600.0) as i64, |b| (b.first + 600.0) as i64);
        (total, reset)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Handler {
    pub id: u64,
    pub event: String,
    pub handler: String,
    pub auth_type: u64,
    pub offline: bool,
    pub connector: String,
    pub user_id: u64,
    pub min_timeout: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct OfflineRow {
    pub id: u64,
    pub ts: f64,
    pub event: String,
    pub data: Value,
    pub additional: Value,
    pub message_id: String,
    pub connector: String,
    pub process_id: String,
    pub error: bool,
}

#[derive(Debug, Default)]
pub(crate) struct EventState {
    pub handlers: Vec<Handler>,
    pub next_handler: u64,
    pub offline: BTreeMap<u64, OfflineRow>,
    pub next_offline: u64,
    pub known: HashSet<String>,
    pub last_ping: HashMap<u64, f64>,
}

#[derive(Debug)]
pub(crate) struct FaultState {
    pub cfg: Faults,
    pub rng: fastrand::Rng,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub name: String,
    pub last_name: String,
    pub email: String,
    pub admin: bool,
    pub department: u64,
    pub active: bool,
    /// When the user was created (the emulator's start for seeded users).
    pub date_register: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Department {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub parent: Option<u64>,
    pub head: Option<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Data {
    pub stores: HashMap<String, Store>,
    pub users: BTreeMap<u64, User>,
    pub departments: BTreeMap<u64, Department>,
    /// Side tables of the hand-served families (`im.chat.users`, `disk.versions`): table ->
    /// owner id -> value.
    pub side: HashMap<String, BTreeMap<i64, Value>>,
}

/// Counters read by `Control`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub tokens: AtomicU64,
    pub methods: Mutex<HashMap<String, u64>>,
}

/// The whole portal.
#[derive(Debug)]
pub(crate) struct Inner {
    pub clock: Clock,
    pub base_url: String,
    pub host: String,
    pub auth: Mutex<AuthState>,
    pub limits: Mutex<LimitState>,
    pub operating_limit: Mutex<f64>,
    pub data: RwLock<Data>,
    pub families: Vec<Family>,
    pub events: Mutex<EventState>,
    pub faults: Mutex<FaultState>,
    pub counters: Counters,
    pub http: reqwest::Client,
    /// Method name -> scope (`""` for global methods).
    pub methods: BTreeMap<String, String>,
    /// The answers of the specced methods nobody else serves (`documented_answers`).
    pub documented: crate::documented_answers::Table,
    /// Every scope of the portal (`scope` with `full=true`, full-access webhooks and the app).
    pub all_scopes: Vec<String>,
    /// The new base URL after `Control::move_portal` (the old address answers 302).
    pub moved_to: Mutex<Option<String>>,
    /// REST 3.0 answers kept under their `Idempotency-Key`.
    pub idempotency: crate::idempotency::Store,
    /// Whether `/rest/api/` serves any method (`EmulatorBuilder::rest_v3`).
    pub rest_v3: bool,
    /// The fields of a smart-process item (`specs::item_template`).
    pub item_template: EntityFamily,
    /// Smart-process families created by `crm.type.add`.
    pub dynamic: RwLock<Vec<std::sync::Arc<Family>>>,
}

impl Inner {
    /// The portal's data, for reading (a lock a panicked writer poisoned is taken over: writes
    /// replace whole rows, so what it left is consistent).
    pub(crate) fn read_data(&self) -> std::sync::RwLockReadGuard<'_, Data> {
        self.data
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The portal's data, for writing (see [`Inner::read_data`]).
    pub(crate) fn write_data(&self) -> std::sync::RwLockWriteGuard<'_, Data> {
        self.data
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    pub(crate) fn family(&self, prefix: &str) -> Option<&Family> {
        self.families
            .iter()
            .find(|f| f.spec.prefix.eq_ignore_ascii_case(prefix))
    }

    pub(crate) fn family_by_type(&self, etid: u32) -> Option<&Family> {
        self.families
            .iter()
            .find(|f| f.spec.entity_type_id == Some(etid))
    }

    /// A smart-process family created by `crm.type.add`.
    pub(crate) fn dynamic_family(&self, etid: u32) -> Option<std::sync::Arc<Family>> {
        self.dynamic
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|f| f.spec.entity_type_id == Some(etid))
            .cloned()
    }

    /// Resolves the caller of a v2/v3 request.
    pub(crate) fn authenticate(
        &self,
        webhook: Option<(&str, &str)>,
        token: Option<&str>,
        connector: String,
    ) -> Result<Caller, ApiError> {
        let now = self.now();
        let mut auth = lock(&self.auth);
        if let Some((uid, code)) = webhook {
            let Some(wh) = auth
                .webhooks
                .iter()
                .find(|w| w.code == code && w.user_id.to_string() == uid)
            else {
                return Err(ApiError::new(
                    401,
                    "INVALID_CREDENTIALS",
                    "Invalid request credentials",
                ));
            };
            let admin = self.is_admin(wh.user_id);
            let caller = Caller {
                kind: AuthKind::Webhook,
                user_id: wh.user_id,
                admin,
                scopes: wh.scopes.clone(),
                connector,
                client_id: None,
                limiter_key: format!("apauth:{}", wh.id),
            };
            auth.last_seen.insert(caller.user_id, now);
            return Ok(caller);
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(ApiError::no_auth());
        };
        let Some(tok) = auth.access.get(token) else {
            return Err(ApiError::new(
                401,
                "invalid_token",
                "Unable to get application by token",
            ));
        };
        if tok.expires as f64 <= now {
            return Err(ApiError::new(
                401,
                "expired_token",
                "The access token provided has expired.",
            ));
        }
        let user_id = tok.user_id;
        auth.last_seen.insert(user_id, now);
        Ok(Caller {
            kind: AuthKind::OAuth,
            user_id,
            admin: self.is_admin(user_id),
            scopes: auth.app_scopes.clone(),
            connector,
            client_id: Some(auth.client_id.clone()),
            limiter_key: format!("oauth:{}", auth.client_id),
        })
    }

    pub(crate) fn is_admin(&self, user_id: u64) -> bool {
        self.read_data()
            .users
            .get(&user_id)
            .is_some_and(|u| u.admin)
    }

    /// The `auth` block sent with events (full when `user` is given).
    pub(crate) fn event_auth(&self, user: Option<u64>, with_refresh: bool) -> Map<String, Value> {
        let now = self.now();
        let mut auth = lock(&self.auth);
        let mut m = Map::new();
        let client_endpoint = format!("{}/rest/", self.base_url);
        if let Some(uid) = user {
            let (access, refresh, expires) = auth.issue(uid, now);
            m.insert("access_token".into(), json!(access));
            m.insert("expires".into(), json!(expires.to_string()));
            m.insert("expires_in".into(), json!("3600"));
            m.insert("scope".into(), json!(auth.app_scopes.join(",")));
            m.insert("domain".into(), json!(self.host));
            m.insert("server_endpoint".into(), json!(client_endpoint));
            m.insert("status".into(), json!("L"));
            m.insert("client_endpoint".into(), json!(client_endpoint));
            m.insert("member_id".into(), json!(auth.member_id));
            m.insert("user_id".into(), json!(uid.to_string()));
            if with_refresh {
                m.insert("refresh_token".into(), json!(refresh));
            } else {
                auth.refresh.remove(&refresh);
            }
        } else {
            m.insert("domain".into(), json!(self.host));
            m.insert("client_endpoint".into(), json!(client_endpoint));
            m.insert("server_endpoint".into(), json!(client_endpoint));
            m.insert("member_id".into(), json!(auth.member_id));
        }
        m.insert("application_token".into(), json!(auth.application_token));
        m
    }
}
