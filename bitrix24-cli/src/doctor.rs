//! `b24 doctor`: is the portal usable, and for what. One row per check: config,
//! reachability (server.time), auth (user.current), scopes (scope against the methods'
//! scopes in the specs), each method (method.get), offline events (feature.get) and limits
//! (the `operating` time the answers report).

use std::time::{Duration, Instant};

use bitrix24::policy::normalize_method;
use bitrix24::{Client, ErrorKind, Response, RetryPolicy, catalog};
use clap::Args;
use serde_json::{Value, json};

use crate::Fail;
use crate::call::{Api, Output, print_response, table};
use crate::config::{self, Masker, rate_limited};

/// `b24 doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Methods to check with method.get and against the granted scopes (comma-separated).
    #[arg(long, default_value = "crm.deal.list,user.current")]
    pub methods: String,
    /// Feature to check with feature.get.
    #[arg(long, default_value = "rest_offline_extended")]
    pub feature: String,
    /// REST generation.
    #[arg(long, value_enum, default_value = "v2")]
    pub api: Api,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub output: Output,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Usable, with a remark (a feature off on this plan).
    Warn,
    Fail,
    /// Not run: an earlier check failed in a way that makes it meaningless.
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

struct Report {
    rows: Vec<Value>,
    /// The largest `time.operating` seen, in seconds.
    operating: f64,
}

impl Report {
    fn add(&mut self, check: &str, status: Status, ms: u128, detail: impl Into<String>) {
        self.rows.push(json!({
            "check": check,
            "status": status.as_str(),
            "ok": matches!(status, Status::Ok | Status::Warn),
            "ms": ms,
            "detail": detail.into(),
        }));
    }

    fn failed(&self) -> usize {
        self.rows.iter().filter(|r| r["status"] == "fail").count()
    }

    /// Calls `method`, noting its `operating` time.
    async fn call(
        &mut self,
        client: &Client,
        method: &str,
        params: Value,
    ) -> (u128, Result<Value, bitrix24::Error>) {
        let started = Instant::now();
        let r = client.call_full(method, params).await;
        let ms = started.elapsed().as_millis();
        if let Ok(Response { time: Some(t), .. }) = &r {
            self.operating = self.operating.max(t.operating.unwrap_or(0.0));
        }
        (ms, r.map(|r| r.result))
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(119).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn error_detail(e: &bitrix24::Error) -> String {
    match (e.code(), e.status()) {
        (Some(c), Some(s)) => format!("{} (HTTP {s}): {e}", c.as_str()),
        _ => e.to_string(),
    }
}

/// The methods of `--methods`, checked and lower-cased.
fn methods_of(raw: &str) -> Result<Vec<String>, Fail> {
    raw.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| normalize_method(m).map_err(|e| Fail::Invalid(format!("Error: {e}"))))
        .collect()
}

/// Which of `methods` no granted scope allows (methods without scopes in the specs are
/// global; unspecced ones cannot be judged and are reported apart).
fn missing_scopes(methods: &[String], granted: &[String]) -> (Vec<String>, Vec<String>) {
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    for m in methods {
        match catalog::method_info(m) {
            Some(info) if info.scopes.is_empty() => {}
            Some(info) => {
                if !info.scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
                    missing.push(format!("{m} needs {}", info.scopes.join(" or ")));
                }
            }
            None => unknown.push(m.clone()),
        }
    }
    (missing, unknown)
}

/// `b24 doctor`: exit 0 when every check passes (warnings allowed), 1 when one fails, 2 when
/// the configuration is invalid (nothing sent).
pub async fn doctor(args: DoctorArgs, masker: &Masker) -> Result<(), Fail> {
    let methods = methods_of(&args.methods)?;
    let builder = config::base_builder(args.api.version(), rate_limited(), 4)
        .retry(RetryPolicy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20));
    let portal = match config::portal_with(builder) {
        Ok(p) => p,
        Err(Fail::Invalid(m) | Fail::Portal(m)) => {
            let mut r = Report {
                rows: Vec::new(),
                operating: 0.0,
            };
            r.add("config", Status::Fail, 0, m.clone());
            print(masker, &Value::Null, &Value::Array(r.rows), args.output);
            return Err(Fail::Invalid(m));
        }
    };
    let client = &portal.client;
    let mut r = Report {
        rows: Vec::new(),
        operating: 0.0,
    };
    let mode = if std::env::var_os("B24_WEBHOOK_URL").is_some() {
        "webhook URL".to_owned()
    } else {
        std::env::var("B24_AUTH_MODE").unwrap_or_else(|_| "webhook".to_owned())
    };
    r.add(
        "config",
        Status::Ok,
        0,
        format!("{mode}, portal {}, REST {:?}", portal.tenant, args.api),
    );
    check_portal(&mut r, client, &methods, &args.feature).await;
    let used = r.operating;
    r.add(
        "limits",
        Status::Ok,
        0,
        format!("time.operating up to {used} s on these calls (per method over 10 minutes)"),
    );
    let failed = r.failed();
    print(
        masker,
        &json!(portal.tenant),
        &Value::Array(r.rows),
        args.output,
    );
    if failed > 0 {
        return Err(Fail::Portal(format!("doctor: {failed} check(s) failed")));
    }
    Ok(())
}

fn print(masker: &Masker, tenant: &Value, rows: &Value, output: Output) {
    match output {
        Output::Table => crate::out(masker, &table(rows)),
        _ => print_response(masker, &json!({"tenant": tenant, "checks": rows}), output),
    }
}

/// The checks that need the portal; once it is unreachable or refuses the credentials, the
/// later ones are skipped.
async fn check_portal(r: &mut Report, client: &Client, methods: &[String], feature: &str) {
    let mut later: Vec<String> = vec!["auth".into(), "scopes".into()];
    later.extend(methods.iter().map(|m| format!("method {m}")));
    later.push("offline events".into());
    let skip = |r: &mut Report, from: usize, why: &str| {
        for name in &later[from..] {
            r.add(name, Status::Skipped, 0, why);
        }
    };
    let (ms, res) = r.call(client, "server.time", json!({})).await;
    match res {
        Ok(v) => r.add(
            "reachability",
            Status::Ok,
            ms,
            format!("server.time {}", short(&v)),
        ),
        // An answer, even a refusal, proves the portal is there.
        Err(e) if e.status().is_some() => r.add(
            "reachability",
            Status::Ok,
            ms,
            format!("the portal answered: {}", error_detail(&e)),
        ),
        Err(e) => {
            r.add("reachability", Status::Fail, ms, error_detail(&e));
            return skip(r, 0, "the portal is unreachable");
        }
    }
    let (ms, res) = r.call(client, "user.current", json!({})).await;
    match res {
        Ok(v) => r.add("auth", Status::Ok, ms, format!("user {}", short(&v["ID"]))),
        Err(e) => {
            let why = if e.kind() == ErrorKind::Auth {
                "the credentials are refused"
            } else {
                "user.current failed"
            };
            r.add("auth", Status::Fail, ms, error_detail(&e));
            return skip(r, 1, why);
        }
    }
    let (ms, res) = r.call(client, "scope", json!({})).await;
    match res {
        Ok(v) => {
            let granted: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            let (missing, unknown) = missing_scopes(methods, &granted);
            let mut detail = format!("{} scopes granted", granted.len());
            if !unknown.is_empty() {
                detail = format!("{detail}; not in the specs: {}", unknown.join(", "));
            }
            if missing.is_empty() {
                r.add("scopes", Status::Ok, ms, detail);
            } else {
                r.add(
                    "scopes",
                    Status::Fail,
                    ms,
                    format!("{}; {detail}", missing.join("; ")),
                );
            }
        }
        Err(e) => r.add("scopes", Status::Fail, ms, error_detail(&e)),
    }
    for m in methods {
        let (ms, res) = r.call(client, "method.get", json!({ "name": m })).await;
        let name = format!("method {m}");
        match res {
            Ok(v) if v["isExisting"] == true && v["isAvailable"] == true => {
                r.add(&name, Status::Ok, ms, "exists and is available");
            }
            Ok(v) => r.add(
                &name,
                Status::Fail,
                ms,
                format!("method.get: {}", short(&v)),
            ),
            Err(e) => r.add(&name, Status::Fail, ms, error_detail(&e)),
        }
    }
    let (ms, res) = r
        .call(client, "feature.get", json!({ "CODE": feature }))
        .await;
    match res {
        Ok(v) if v["value"] == "Y" => {
            r.add("offline events", Status::Ok, ms, format!("{feature}: Y"));
        }
        Ok(v) => r.add(
            "offline events",
            Status::Warn,
            ms,
            format!(
                "{feature}: {} (not available on this plan)",
                short(&v["value"])
            ),
        ),
        Err(e) => r.add("offline events", Status::Fail, ms, error_detail(&e)),
    }
}
