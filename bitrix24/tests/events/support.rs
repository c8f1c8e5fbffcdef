//! Shared helpers: emulator portals, stores, tenants, the router on a local port, child
//! processes (this test binary re-run with one child test selected).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bitrix24::events::{
    EventService, FormLimits, InboundEvent, Installer, SqliteStore, Tenant, TenantStore, router,
};
use bitrix24::{Client, Secret};
use bitrix24_emulator::{Emulator, RunningEmulator};
use tokio::sync::mpsc;

/// The environment variable that turns a child test on.
pub const CHILD: &str = "B24_EVENTS_CHILD";

pub async fn portal() -> RunningEmulator {
    Emulator::builder().start().await.unwrap()
}

#[path = "../../../examples/app.rs"]
mod app;
pub use app::{app_builder, app_of};

/// A fresh database path. The first call of a process removes the databases of earlier runs
/// whose process is gone (a test leaves its database behind for inspection while it runs).
pub fn temp_db(name: &str) -> PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(sweep_dead_runs);
    let dir = std::env::temp_dir().join(format!(
        "b24-events-{name}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("app.db")
}

/// Deletes `b24-events-<name>-<pid>-<random>` directories whose process no longer runs.
fn sweep_dead_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("b24-events-") else {
            continue;
        };
        let mut parts = rest.rsplit('-');
        let (Some(_random), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        let alive = std::path::Path::new("/proc").join(pid).exists();
        if pid.parse::<u32>().is_ok() && !alive && std::path::Path::new("/proc/self").exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Stores the emulator's portal as a tenant (tokens of user 1 and its application_token).
pub async fn install(
    store: &dyn TenantStore,
    emu: &RunningEmulator,
) -> bitrix24_emulator::OAuthApp {
    let a = emu.oauth_app();
    let mut tenant = Tenant::new(a.member_id.clone());
    tenant.domain = Some(emu.addr().to_string());
    tenant.client_endpoint = Some(a.client_endpoint.clone());
    tenant.application_token = Some(Secret::new(a.application_token.clone()));
    store
        .save_tenant(&tenant, Some(&app::tokens_of(&a)))
        .await
        .unwrap();
    a
}

/// A client of a stored tenant.
pub async fn client(store: &SqliteStore, a: &bitrix24_emulator::OAuthApp) -> Client {
    bitrix24::events::tenant_client(
        store,
        app_of(a),
        &a.member_id,
        Client::builder().no_rate_limit(),
    )
    .await
    .unwrap()
}

/// Serves `router` on 127.0.0.1 and returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// This test binary, re-run to execute only the child test `name` with `envs`.
pub fn child(name: &str, envs: &[(&str, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD, name);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Whether this process runs the child test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == name)
}

/// A number from the environment, or `default`.
pub fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Captures every log line of the current thread's subscriber, to check secrets stay out.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Installs a global subscriber that writes here (once per process; later calls share it).
    pub fn install() -> Logs {
        static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let _ = tracing_subscriber::fmt()
                .with_env_filter("bitrix24=debug")
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .try_init();
            logs
        })
        .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The events the test handler received.
pub type Events = mpsc::UnboundedReceiver<InboundEvent>;

/// The router over `store` (body limit 16 KiB) with an installer for `app`, served on a local
/// port; the handler forwards every event to the returned channel.
pub async fn service(
    store: &SqliteStore,
    app: bitrix24::OAuthApp,
) -> (std::net::SocketAddr, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |ev: InboundEvent| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
            Ok(())
        }
    };
    let svc = EventService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        handler,
    )
    .limits(FormLimits {
        max_body: 16 * 1024,
        ..FormLimits::default()
    })
    .installer(Installer::new(app, Arc::new(store.clone())));
    (serve(router(svc)).await, rx)
}

/// A form-encoded body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// An `ONCRMDEALUPDATE` body for deal `id` with this auth block (a secret access token inside).
pub fn deal_event(member: &str, token: &str, id: &str, ts: &str) -> String {
    form(&[
        ("event", "ONCRMDEALUPDATE"),
        ("event_handler_id", "7"),
        ("data[FIELDS][ID]", id),
        ("ts", ts),
        ("auth[access_token]", "SECRET-ACCESS-0123456789"),
        ("auth[domain]", "example.bitrix24.com"),
        ("auth[member_id]", member),
        ("auth[application_token]", token),
    ])
}

/// POSTs a form body; the status and the answer's text.
pub async fn post(addr: std::net::SocketAddr, path: &str, body: String) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The next event the handler received (10 s at most).
pub async fn next_event(rx: &mut Events) -> InboundEvent {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("no event within 10 s")
        .expect("the handler channel closed")
}

/// The status the router answers to [`deal_event`] with these arguments.
pub async fn deal_status(addr: SocketAddr, member: &str, token: &str, id: &str, ts: &str) -> u16 {
    post(addr, "/events", deal_event(member, token, id, ts))
        .await
        .0
}

/// A portal and the app's callbacks served over a fresh SQLite store (nothing installed yet).
pub struct AppServer {
    pub emu: RunningEmulator,
    pub store: SqliteStore,
    pub a: bitrix24_emulator::OAuthApp,
    pub addr: SocketAddr,
    pub rx: Events,
}

impl AppServer {
    /// The app's callback URL at `path` (`/install`, `/events`, ...).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The tenant an install stored: it carries the portal's application_token, and the
    /// tenant's OAuth tokens are stored too.
    pub async fn installed_tenant(&self) -> Tenant {
        let member = &self.a.member_id;
        let tenant = self
            .store
            .tenant(member)
            .await
            .unwrap()
            .expect("tenant stored");
        let token = tenant
            .application_token
            .as_ref()
            .expect("application_token stored");
        assert!(token.matches(&self.a.application_token));
        assert!(
            self.store.tokens(member).await.unwrap().is_some(),
            "tokens stored"
        );
        tenant
    }

    /// A client of the installed tenant that bound `ONCRMDEALADD` to the app's `/events`.
    pub async fn bind_deal_add(&self) -> Client {
        let c = client(&self.store, &self.a).await;
        let bind = serde_json::json!({"event": "ONCRMDEALADD", "handler": self.url("/events")});
        c.call("event.bind", bind).await.unwrap();
        c
    }
}

/// Starts an [`AppServer`] with its database named `name`.
pub async fn app_server(name: &str) -> AppServer {
    let emu = portal().await;
    let store = SqliteStore::open(temp_db(name)).await.unwrap();
    let a = emu.oauth_app();
    let (addr, rx) = service(&store, app_of(&a)).await;
    AppServer {
        emu,
        store,
        a,
        addr,
        rx,
    }
}

/// The environment a child process needs to reach the tenant: the database, the portal and
/// the app.
pub fn child_envs(
    db: &std::path::Path,
    emu: &RunningEmulator,
    a: &bitrix24_emulator::OAuthApp,
) -> Vec<(&'static str, String)> {
    vec![
        ("B24_DB", db.display().to_string()),
        ("B24_URL", emu.base_url()),
        ("B24_MEMBER", a.member_id.clone()),
        ("B24_CLIENT_ID", a.client_id.clone()),
        ("B24_CLIENT_SECRET", a.client_secret.clone()),
    ]
}
