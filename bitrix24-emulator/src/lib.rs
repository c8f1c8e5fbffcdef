//! A local Bitrix24 portal for tests and examples.
//!
//! The emulator serves the REST v2 protocol (`/rest/...`, incoming webhooks and OAuth tokens), the
//! OAuth token endpoint (`/oauth/token/`), `batch`, legacy CRM and task entities, events (online
//! and offline), request-rate and operating-time limits, a few REST 3.0 methods (`/rest/api/...`)
//! and seeded fault injection. It runs in-process on `127.0.0.1`:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use bitrix24_emulator::{Emulator, Limits};
//! let emu = Emulator::builder()
//!     .webhook(1, "SOMECODE")
//!     .limits(Limits::Off)
//!     .seed_deals(100)
//!     .start()
//!     .await?;
//! println!("{}", emu.webhook_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod batch;
mod clock;
mod config;
mod core;
mod crud;
mod dispatch;
mod documented_answers;
mod entity;
mod events;
mod family_events;
mod filter;
mod handlers;
mod http;
mod idempotency;
mod install;
mod metering;
mod overlay;
mod php;
mod routes;
mod scopes;
mod seeding;
mod server;
mod specs;
mod stage_history;
mod state;
mod task_view;
mod v3;
mod v3_call;
mod v3_common;
mod v3_eventlog;
mod v3_followup;
mod v3_hr_employee;
mod v3_humanresources;
mod v3_mail;
mod v3_note;
mod v3_note_document;
mod v3_note_file;
mod v3_query;
mod v3_served;
mod v3_task_more;
mod v3_task_result;
mod v3_timeman;

pub use config::{Faults, Limits};
pub use documented_answers::DocumentedAnswer;
pub use entity::{
    EntityFamily, FieldDefault, FieldSpec, FieldType, Flavor, KeyStyle, NumberStyle, Partition,
    Shape, camelize,
};
pub use install::InstallPage;

use crate::entity::Family;
use crate::entity::value::V;
use crate::state::{
    AuthState, Counters, Data, EventState, FaultState, Inner, LimitState, User, Webhook, lock,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The emulator's OAuth application (installed on the portal, with a ready token pair for user 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    /// `client_id` (`local.….…`).
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// A valid access token of user 1.
    pub access_token: String,
    /// The refresh token paired with `access_token`.
    pub refresh_token: String,
    /// `{base}/oauth/token/`.
    pub token_url: String,
    /// `{base}/rest/`.
    pub client_endpoint: String,
    /// The portal's `member_id` (32 hex characters).
    pub member_id: String,
    /// The `application_token` sent with every event.
    pub application_token: String,
}

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with defaults: random port, no webhooks, limits off, operating limit 480 s,
    /// time scale 1, no seeded data, no faults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            port: 0,
            webhooks: Vec::new(),
            limits: Limits::Off,
            operating_limit: 480.0,
            time_scale: 1.0,
            seed_deals: 0,
            faults: Faults::default(),
            families: Vec::new(),
            specs_dir: None,
            company_name: "Company".to_string(),
            license: "en_project".to_string(),
            rest_v3: true,
        }
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    port: u16,
    webhooks: Vec<(u64, String, Option<Vec<String>>)>,
    limits: Limits,
    operating_limit: f64,
    time_scale: f64,
    seed_deals: u64,
    faults: Faults,
    families: Vec<EntityFamily>,
    specs_dir: Option<std::path::PathBuf>,
    company_name: String,
    license: String,
    rest_v3: bool,
}

impl EmulatorBuilder {
    /// Port on 127.0.0.1 (`0` = a random free port, the default).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Adds an incoming webhook for `user_id` with every scope.
    #[must_use]
    pub fn webhook(mut self, user_id: u64, code: &str) -> Self {
        self.webhooks.push((user_id, code.to_string(), None));
        self
    }

    /// Adds an incoming webhook limited to `scopes`.
    #[must_use]
    pub fn webhook_with_scopes(mut self, user_id: u64, code: &str, scopes: &[&str]) -> Self {
        self.webhooks.push((
            user_id,
            code.to_string(),
            Some(scopes.iter().map(|s| (*s).to_string()).collect()),
        ));
        self
    }

    /// The request-rate limit.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Per-method operating-time limit (seconds per 10-minute window; default 480).
    #[must_use]
    pub fn operating_limit_secs(mut self, secs: f64) -> Self {
        self.operating_limit = secs;
        self
    }

    /// Virtual seconds per real second (token expiry, limit windows, measured durations).
    #[must_use]
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Seeds `n` deals (no events fired).
    #[must_use]
    pub fn seed_deals(mut self, n: u64) -> Self {
        self.seed_deals = n;
        self
    }

    /// Fault injection.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Registers an extra entity family (served as `{prefix}.add|get|list|update|delete|fields`).
    #[must_use]
    pub fn family(mut self, family: EntityFamily) -> Self {
        self.families.push(family);
        self
    }

    /// Loads the method specs from `dir` instead of the ones embedded at compile time (the
    /// workspace `specs/`). Every specced entity with get/list and add/update methods becomes a
    /// family serving `add|get|list|update|delete|fields`; the CRM and task families
    /// (`crm.deal`, ..., `tasks.task`) and the fields of smart-process items come from the
    /// specs too (the `core` pack), so a directory without it serves none of them.
    #[must_use]
    pub fn specs_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.specs_dir = Some(dir.into());
        self
    }

    /// The company name: the name of the root department (default `Company`).
    #[must_use]
    pub fn company_name(mut self, name: &str) -> Self {
        self.company_name = name.to_string();
        self
    }

    /// The portal's plan code as `app.info` reports it in `LICENSE` (default `en_project`).
    #[must_use]
    pub fn license(mut self, license: &str) -> Self {
        self.license = license.to_string();
        self
    }

    /// Whether the portal serves REST 3.0 (default yes). `false` is a portal whose methods are
    /// all still v2: every `/rest/api/` call answers 404 `METHODNOTFOUNDEXCEPTION`.
    #[must_use]
    pub fn rest_v3(mut self, served: bool) -> Self {
        self.rest_v3 = served;
        self
    }

    /// Binds the port and starts serving in a background task.
    pub async fn start(self) -> std::io::Result<RunningEmulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = server::addr_of(&listener)?;
        let inner = Arc::new(self.build_inner(addr)?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, inner.clone(), async move {
            let _ = rx.await;
        }));
        Ok(RunningEmulator {
            inner,
            addr,
            task: Some(task),
            stop: Some(tx),
        })
    }

    fn build_inner(self, addr: SocketAddr) -> std::io::Result<Inner> {
        let base_url = format!("http://{addr}");
        let host = addr.to_string();
        let mut rng = fastrand::Rng::with_seed(self.faults.seed ^ 0x05ee_db24);
        let spec_list = match &self.specs_dir {
            Some(dir) => specs::from_dir(dir)?,
            None => specs::embedded(),
        };
        let mut taken: Vec<String> = self.families.iter().map(|f| f.prefix.clone()).collect();
        taken.extend(
            [
                "user",
                "department",
                "crm.item",
                "crm.type",
                "event",
                "event.offline",
            ]
            .iter()
            .map(|s| (*s).to_string()),
        );
        let mut families = specs::families(&spec_list, &taken);
        families.push(entity::crm_type::family());
        for f in self.families {
            families.retain(|x| x.spec.prefix != f.prefix);
            let mut f = Family::new(f);
            f.origin = "custom".into();
            families.push(f);
        }
        let item_template = specs::item_template(&spec_list);
        let mut methods = scopes::method_table(dispatch::routes(), &families);
        let documented = documented_answers::Table::new(&spec_list, &methods);
        for (name, scope) in documented.scopes() {
            methods.insert(name.clone(), scope.clone());
        }
        let mut all_scopes: Vec<String> =
            state::ALL_SCOPES.iter().map(|s| (*s).to_string()).collect();
        for s in methods.values() {
            if !s.is_empty() && !all_scopes.contains(s) {
                all_scopes.push(s.clone());
            }
        }
        // The scopes of the REST 3.0-only methods (`note`).
        for s in v3::scopes() {
            if !all_scopes.iter().any(|have| have == s) {
                all_scopes.push(s.to_owned());
            }
        }
        all_scopes.sort();
        let clock = clock::Clock::new(self.time_scale);
        let now = clock.now();
        let mut users = BTreeMap::new();
        users.insert(
            1,
            User {
                id: 1,
                name: "John".into(),
                last_name: "Smith".into(),
                email: "admin@example.com".into(),
                admin: true,
                department: 1,
                active: true,
                date_register: now as i64,
            },
        );
        let mut webhooks = Vec::new();
        for (i, (uid, code, scopes)) in self.webhooks.into_iter().enumerate() {
            users.entry(uid).or_insert_with(|| User {
                id: uid,
                name: format!("User{uid}"),
                last_name: "Test".into(),
                email: format!("user{uid}@example.com"),
                admin: uid == 1,
                department: 1,
                active: true,
                date_register: now as i64,
            });
            webhooks.push(Webhook {
                id: i as u64 + 1,
                user_id: uid,
                code,
                scopes: scopes.unwrap_or_else(|| all_scopes.clone()),
            });
        }
        let mut auth = AuthState {
            webhooks,
            client_id: format!(
                "local.{}.{}",
                php::random_hex(&mut rng, 14),
                (0..8)
                    .map(|_| char::from(b'0' + rng.u8(0..10)))
                    .collect::<String>()
            ),
            // The client id may repeat with the seed; every secret comes from the OS.
            client_secret: php::secret_alphanumeric(50),
            application_token: php::secret_hex(32),
            member_id: php::secret_hex(32),
            app_scopes: all_scopes.clone(),
            app_installed: true,
            license: self.license,
            last_seen: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
        };
        auth.issue(1, now);
        let mut departments = BTreeMap::new();
        departments.insert(
            1,
            state::Department {
                id: 1,
                name: self.company_name,
                sort: 500,
                parent: None,
                head: None,
            },
        );
        let mut data = Data {
            stores: HashMap::new(),
            users,
            departments,
            side: HashMap::new(),
        };
        for f in &families {
            data.stores
                .insert(f.spec.prefix.clone(), overlay::initial_store(f, now));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let inner = Inner {
            clock,
            base_url,
            host,
            auth: Mutex::new(auth),
            limits: Mutex::new(LimitState {
                mode: self.limits,
                level: 0.0,
                last: now,
                operating: HashMap::new(),
            }),
            operating_limit: Mutex::new(self.operating_limit),
            data: RwLock::new(data),
            families,
            events: Mutex::new(EventState {
                // Every event a pack lists can be bound.
                known: spec_list
                    .iter()
                    .flat_map(|s| s.events.iter().map(|e| e.to_ascii_uppercase()))
                    .collect(),
                ..EventState::default()
            }),
            faults: Mutex::new(FaultState {
                rng: fastrand::Rng::with_seed(self.faults.seed),
                cfg: self.faults,
            }),
            counters: Counters::default(),
            http,
            methods,
            documented,
            all_scopes,
            item_template,
            dynamic: RwLock::new(Vec::new()),
            moved_to: Mutex::new(None),
            idempotency: crate::idempotency::Store::default(),
            rest_v3: self.rest_v3,
        };
        if self.seed_deals > 0 {
            seed_deals(&inner, self.seed_deals);
        }
        Ok(inner)
    }
}

const STAGES: [&str; 7] = [
    "NEW",
    "PREPARATION",
    "PREPAYMENT_INVOICE",
    "EXECUTING",
    "FINAL_INVOICE",
    "WON",
    "LOSE",
];

fn seed_deals(inner: &Inner, n: u64) {
    let Some(fam) = inner.family("crm.deal") else {
        return;
    };
    let slot = |name: &str| fam.spec.fields.iter().position(|f| f.name == name);
    let (title, stage, opp, semantic) = (
        slot("TITLE"),
        slot("STAGE_ID"),
        slot("OPPORTUNITY"),
        slot("STAGE_SEMANTIC_ID"),
    );
    let now = inner.now();
    let stage_names: Vec<std::sync::Arc<str>> = STAGES.iter().map(|s| (*s).into()).collect();
    let sems: [std::sync::Arc<str>; 3] = ["P".into(), "S".into(), "F".into()];
    let mut data = inner.write_data();
    let store = data.stores.entry("crm.deal".into()).or_default();
    store.seed(fam, n, now, |id, out| {
        if let Some(i) = title {
            out.push((i, V::Str(format!("Deal #{id}").into())));
        }
        let s = (id as usize) % STAGES.len();
        if let Some(i) = stage {
            out.push((i, V::Str(stage_names[s].clone())));
        }
        if let Some(i) = semantic {
            let sem = match s {
                5 => 1,
                6 => 2,
                _ => 0,
            };
            out.push((i, V::Str(sems[sem].clone())));
        }
        if let Some(i) = opp {
            out.push((i, V::Num(((id * 37) % 100_000) as f64)));
        }
    });
}

/// A running emulator; the server stops on [`RunningEmulator::shutdown`] or on drop.
#[derive(Debug)]
pub struct RunningEmulator {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first webhook's URL: `http://127.0.0.1:PORT/rest/1/CODE/` (empty if none was added).
    pub fn webhook_url(&self) -> String {
        let auth = lock(&self.inner.auth);
        auth.webhooks.first().map_or_else(String::new, |w| {
            format!("{}/rest/{}/{}/", self.inner.base_url, w.user_id, w.code)
        })
    }

    /// Every webhook URL, in the order added.
    pub fn webhook_urls(&self) -> Vec<String> {
        let auth = lock(&self.inner.auth);
        auth.webhooks
            .iter()
            .map(|w| format!("{}/rest/{}/{}/", self.inner.base_url, w.user_id, w.code))
            .collect()
    }

    /// The OAuth application with a fresh token pair for user 1 (each call issues a new pair).
    pub fn oauth_app(&self) -> OAuthApp {
        self.control().oauth_app()
    }

    /// A cheap, cloneable control handle.
    pub fn control(&self) -> Control {
        Control {
            inner: self.inner.clone(),
        }
    }

    /// Stops the server and waits for the task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Serves until the graceful-shutdown signal (used by the binary).
    pub async fn wait_with_graceful(mut self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A handle for tests: clock, tokens, faults, limits, data and events.
#[derive(Debug, Clone)]
pub struct Control {
    inner: Arc<Inner>,
}

impl Control {
    /// Makes every issued access token expired (calls then get `expired_token`).
    pub fn expire_access_tokens(&self) {
        let now = self.inner.now() as i64;
        let mut auth = lock(&self.inner.auth);
        for t in auth.access.values_mut() {
            t.expires = t.expires.min(now - 1);
        }
    }

    /// Moves the virtual clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by.as_secs_f64());
    }

    /// The current virtual unix time in seconds.
    pub fn now(&self) -> f64 {
        self.inner.now()
    }

    /// The configured time scale.
    pub fn time_scale(&self) -> f64 {
        self.inner.clock.scale()
    }

    /// Replaces the fault configuration (and reseeds the generator).
    pub fn set_faults(&self, faults: Faults) {
        let mut f = lock(&self.inner.faults);
        f.rng = fastrand::Rng::with_seed(faults.seed);
        f.cfg = faults;
    }

    /// Replaces the request-rate limit (the bucket starts empty).
    pub fn set_limits(&self, limits: Limits) {
        let mut l = lock(&self.inner.limits);
        l.mode = limits;
        l.level = 0.0;
        l.last = self.inner.now();
    }

    /// Changes the operating-time limit.
    pub fn set_operating_limit_secs(&self, secs: f64) {
        *lock(&self.inner.operating_limit) = secs;
    }

    /// Number of calls to `/oauth/token/`.
    pub fn token_requests(&self) -> u64 {
        self.inner
            .counters
            .tokens
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of HTTP requests to `/rest/...` (a batch counts once).
    pub fn request_count(&self) -> u64 {
        self.inner
            .counters
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the specced v2 method `name` is answered from its docs (no family and no
    /// handler serves it), and whether from the page's example or a typed placeholder.
    pub fn documented_answer(&self, name: &str) -> Option<DocumentedAnswer> {
        self.inner.documented.kind(name)
    }

    /// Number of executions of a v2 method (batch sub-calls included; lower-case name).
    /// REST 3.0 calls are counted under `api:<name>`.
    pub fn method_calls(&self, name: &str) -> u64 {
        lock(&self.inner.counters.methods)
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// How many REST 3.0 answers were served again from their `Idempotency-Key`
    /// (`Idempotent-Replayed: true`) instead of running the method.
    pub fn idempotent_replays(&self) -> u64 {
        self.inner.idempotency.replays()
    }

    /// Seeds `n` more deals (no events).
    pub fn seed_deals(&self, n: u64) {
        seed_deals(&self.inner, n);
    }

    /// Invalidates every refresh token (`invalid_grant` on the next refresh).
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.inner.auth).refresh.clear();
    }

    /// Fires an event to bound online handlers and offline queues (no originating app).
    /// The name becomes bindable if it was not.
    #[allow(clippy::needless_pass_by_value)]
    pub fn emit_event(&self, name: &str, data: Value) {
        self.register_event(name);
        events::emit(&self.inner, name, &data, &events::Origin::default());
    }

    /// Loads rows into an entity store without firing events and returns their ids: the keys
    /// are the family's own request keys (`TITLE` for legacy families, `iblockId` for D7 ones).
    /// Rows of read-only families (`catalog.catalog`, which has no documented `add`) can only be
    /// created this way. Unknown prefixes and rows that fail validation are skipped.
    pub fn seed_entities(&self, prefix: &str, rows: &[Value]) -> Vec<i64> {
        let Some(fam) = self.inner.family(prefix) else {
            return Vec::new();
        };
        let now = self.inner.now();
        let view = entity::View::native(fam);
        let mut data = self.inner.write_data();
        let store = data.stores.entry(fam.spec.prefix.clone()).or_default();
        rows.iter()
            .filter_map(|r| match r {
                Value::Object(m) => store.add(fam, view, m, 1, now, None).ok(),
                _ => None,
            })
            .collect()
    }

    /// Loads records the portal makes only in its UI into the table `kind` and returns their
    /// new ids: consent agreements (`"userconsent.agreement"`: `NAME`, `ACTIVE`, `LANGUAGE_ID`,
    /// `LABEL`, `TEXT`) and signed HR documents (`"sign.b2e.document"`: `title`,
    /// `create_date`, `signed_date`, `creator_id`, `member_id`, `role`) and event log entries
    /// (`"main.eventlog"`: the camelCase fields `main.eventlog.get` answers) and time tracking
    /// records (`"timeman.record"`: those of `timeman.record.list`) and call follow-ups
    /// (`"call.followup"`: those of `call.followup.get`). Another `kind` loads nothing.
    pub fn seed_records(&self, kind: &str, rows: &[Value]) -> Vec<i64> {
        seeding::seed(&mut self.inner.write_data(), kind, rows)
    }

    /// Makes an event name bindable with `event.bind`.
    pub fn register_event(&self, name: &str) {
        lock(&self.inner.events)
            .known
            .insert(name.to_ascii_uppercase());
    }

    /// The OAuth application with a fresh token pair for user 1.
    pub fn oauth_app(&self) -> OAuthApp {
        let now = self.inner.now();
        let mut auth = lock(&self.inner.auth);
        let (access_token, refresh_token, _) = auth.issue(1, now);
        OAuthApp {
            client_id: auth.client_id.clone(),
            client_secret: auth.client_secret.clone(),
            access_token,
            refresh_token,
            token_url: format!("{}/oauth/token/", self.inner.base_url),
            client_endpoint: format!("{}/rest/", self.inner.base_url),
            member_id: auth.member_id.clone(),
            application_token: auth.application_token.clone(),
        }
    }

    /// Issues an authorization code (30 s) for `user_id`, for the `authorization_code` grant.
    pub fn issue_authorization_code(&self, user_id: u64) -> String {
        let now = self.inner.now();
        let mut auth = lock(&self.inner.auth);
        let code = php::secret_hex(32);
        auth.codes.insert(code.clone(), (user_id, now as i64 + 30));
        code
    }

    /// Number of rows of an entity store (`crm.deal`, `tasks.task`, ...).
    pub fn entity_count(&self, prefix: &str) -> usize {
        self.inner
            .read_data()
            .stores
            .get(prefix)
            .map_or(0, |s| s.rows.len())
    }

    /// The entity families served, as `(method prefix, origin)`: origin is `custom`, `crm.type`,
    /// or the spec file a family was derived from (`specs/core.toml` for `crm.deal`,
    /// `specs/commerce.toml` for `sale.order`).
    pub fn families(&self) -> Vec<(String, String)> {
        self.inner
            .families
            .iter()
            .map(|f| (f.spec.prefix.clone(), f.origin.clone()))
            .collect()
    }

    /// Simulates a portal address change: every `/rest/...` request to this emulator then answers
    /// `302 Found` with `Location` on `new_base` (same path and query), as the old domain of a
    /// renamed portal does. An empty `new_base` stops it.
    pub fn move_portal(&self, new_base: &str) {
        *lock(&self.inner.moved_to) = (!new_base.is_empty()).then(|| new_base.to_string());
    }

    /// Sets `app.info` `INSTALLED` (an admin finishing the install, like `BX24.installFinish`).
    pub fn set_app_installed(&self, installed: bool) {
        lock(&self.inner.auth).app_installed = installed;
    }

    /// Number of queued offline events (all connectors, reserved and errored rows included).
    pub fn offline_queue_len(&self) -> usize {
        lock(&self.inner.events).offline.len()
    }
}
