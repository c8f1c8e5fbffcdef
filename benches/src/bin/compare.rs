//! This SDK against its peers (fast_bitrix24, b24pysdk) on one emulated portal: bulk read and
//! write with the portal's limits and a per-request latency, client CPU with limits off, client
//! overhead against plain reqwest + serde_json, and peak RSS while streaming. Each figure is
//! printed with its ratio to the bound (or to the baseline); `benches/run.sh` runs them all and
//! `benches/RESULTS.md` says how.
//!
//! ```sh
//! cargo build --release -p bitrix24-benches --bin compare
//! target/release/compare read --n 100000 --latency-ms 300 --limits standard
//! target/release/compare write --n 10000 --latency-ms 300 --limits standard
//! target/release/compare cpu --n 100000
//! target/release/compare overhead --calls 2000
//! target/release/compare rss --n 1000000
//! ```
//!
//! `compare calls <sdk|raw> <webhook> <n>` makes `n` `crm.deal.get` calls against a running
//! emulator, through this SDK or through plain reqwest + serde_json, and nothing else: run it
//! under `valgrind --tool=callgrind` with two values of `n` to count the client's instructions
//! per call, a figure the load of the machine does not move (see `benches/RESULTS.md`).
//!
//! Every participant but the overhead pair runs as its own process (this SDK as
//! `compare client ...`, the peers as `benches/peers/peer.py` in the virtualenv given by
//! `--python`), each against a fresh emulator in this process, behind a proxy that counts the
//! `QUERY_LIMIT_EXCEEDED` answers. Only loopback portals are benched: this binary starts its
//! own emulator and never talks to another portal.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// the bulk deal read/write stays crm.deal.* so the figures compare with earlier runs and with the peers, which call crm.deal.*
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealGet, CrmDealList, Deal};
use bitrix24::{Client, RateLimit};
use bitrix24_emulator::{Emulator, Faults, Limits, RunningEmulator};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Failure = Box<dyn std::error::Error + Send + Sync>;

const PEERS: [&str; 3] = ["fast_bitrix24", "b24pysdk-keyset", "b24pysdk-offset"];

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("client") => runtime.block_on(client_run(&args[1..])),
        Some("calls") => runtime.block_on(calls(&args[1..])),
        Some(scenario @ ("read" | "write" | "cpu" | "overhead" | "rss")) => {
            let options = Options::parse(&args[1..])?;
            runtime.block_on(bench(scenario, &options))
        }
        _ => Err(
            "usage: compare <read|write|cpu|overhead|rss> [--n N] [--latency-ms MS] \
                  [--limits off|standard|enterprise] [--peers a,b] [--python PATH] [--calls N]"
                .into(),
        ),
    }
}

/// The command line of a scenario.
struct Options {
    n: u64,
    latency_ms: u64,
    limits: String,
    peers: Vec<String>,
    python: String,
    calls: u64,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Failure> {
        let mut named: HashMap<&str, &str> = HashMap::new();
        for pair in args.chunks(2) {
            match pair {
                [key, value] if key.starts_with("--") => {
                    named.insert(&key[2..], value);
                }
                other => return Err(format!("unexpected arguments: {other:?}").into()),
            }
        }
        if named.contains_key("webhook") || named.contains_key("portal") {
            return Err(
                "this bench only runs against the emulator it starts; a real portal would \
                        take the load of every participant (refused)"
                    .into(),
            );
        }
        let get = |k: &str, default: &str| named.get(k).copied().unwrap_or(default).to_owned();
        Ok(Options {
            n: get("n", "100000").parse()?,
            latency_ms: get("latency-ms", "0").parse()?,
            limits: get("limits", "off"),
            peers: get("peers", &PEERS.join(","))
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            python: get("python", "target/bench-venv/bin/python"),
            calls: get("calls", "2000").parse()?,
        })
    }

    fn limits(&self) -> Result<Limits, Failure> {
        Limits::parse(&self.limits).ok_or_else(|| format!("bad --limits {}", self.limits).into())
    }

    /// The portal's bucket and drain rate, when limits are on.
    fn bucket(&self) -> Result<Option<(f64, f64)>, Failure> {
        Ok(match self.limits()? {
            Limits::Off => None,
            Limits::Standard => Some((50.0, 2.0)),
            Limits::Enterprise => Some((250.0, 5.0)),
            Limits::Custom {
                drain_per_sec,
                burst,
            } => Some((f64::from(burst), drain_per_sec)),
        })
    }
}

/// What one participant reports (this SDK's client mode and peer.py print the same JSON).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct Report {
    items: u64,
    wall_s: f64,
    cpu_s: f64,
    maxrss_kib: u64,
    error: Option<String>,
}

/// An emulator behind a proxy that counts limit rejections.
struct Portal {
    emu: RunningEmulator,
    rejected: Arc<AtomicU64>,
    webhook: String,
}

async fn portal(seed: u64, options: &Options, latency_ms: u64) -> Result<Portal, Failure> {
    let emu = Emulator::builder()
        .webhook(1, "bench")
        .seed_deals(seed)
        .limits(options.limits()?)
        .faults(Faults {
            latency: Duration::from_millis(latency_ms),
            ..Faults::default()
        })
        .start()
        .await?;
    let rejected = Arc::new(AtomicU64::new(0));
    let port = counting_proxy(emu.addr(), rejected.clone()).await?;
    let webhook = format!("http://127.0.0.1:{port}/rest/1/bench/");
    Ok(Portal {
        emu,
        rejected,
        webhook,
    })
}

/// Forwards loopback connections to `upstream` and counts `QUERY_LIMIT_EXCEEDED` in the
/// answers (a byte scan, so it works whatever the framing).
async fn counting_proxy(
    upstream: std::net::SocketAddr,
    rejected: Arc<AtomicU64>,
) -> Result<u16, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let rejected = rejected.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                });
                let needle = b"QUERY_LIMIT_EXCEEDED";
                let mut buf = vec![0u8; 64 * 1024];
                let mut tail: Vec<u8> = Vec::new();
                while let Ok(read) = sr.read(&mut buf).await {
                    if read == 0 {
                        break;
                    }
                    let mut window = std::mem::take(&mut tail);
                    window.extend_from_slice(&buf[..read]);
                    let hits = window.windows(needle.len()).filter(|w| w == needle).count();
                    rejected.fetch_add(hits as u64, Ordering::Relaxed);
                    let keep = window.len().min(needle.len() - 1);
                    tail = window[window.len() - keep..].to_vec();
                    if cw.write_all(&buf[..read]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    Ok(port)
}

async fn bench(scenario: &str, options: &Options) -> Result<(), Failure> {
    match scenario {
        "overhead" => return overhead(options).await,
        "cpu" => {
            let off = Options {
                limits: "off".into(),
                latency_ms: 0,
                ..clone_options(options)
            };
            return table("read", &off, true).await;
        }
        "rss" => {
            let off = Options {
                limits: "off".into(),
                latency_ms: 0,
                peers: Vec::new(),
                ..clone_options(options)
            };
            return table("read", &off, false).await;
        }
        mode => table(mode, options, false).await,
    }
}

fn clone_options(o: &Options) -> Options {
    Options {
        n: o.n,
        latency_ms: o.latency_ms,
        limits: o.limits.clone(),
        peers: o.peers.clone(),
        python: o.python.clone(),
        calls: o.calls,
    }
}

/// Runs this SDK and the peers through `mode` (`read` or `write`) and prints one table.
async fn table(mode: &str, options: &Options, cpu: bool) -> Result<(), Failure> {
    let n = options.n;
    let per_request = if mode == "read" { 2_500 } else { 50 };
    let bound_requests = n.div_ceil(per_request);
    let latency = options.latency_ms as f64 / 1_000.0;
    let bound_secs = match options.bucket()? {
        Some((burst, drain)) => latency + (bound_requests as f64 - burst).max(0.0) / drain,
        None => latency,
    };
    println!(
        "{mode} {n} deals, limits {}, latency {} ms; bounds: {bound_requests} requests, {bound_secs:.1} s",
        options.limits, options.latency_ms
    );
    println!(
        "| client | items | wall s | x bound | requests | x bound | items/s | limit errors | CPU s / 1,000 | peak RSS MiB | error |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let me = std::env::current_exe()?.display().to_string();
    // This SDK paces itself by the portal's plan, as a user configures it for their portal.
    let limited = if options.limits == "off" {
        "no"
    } else {
        options.limits.as_str()
    };
    let mut runs: Vec<(String, Vec<String>)> = vec![(
        "bitrix24 (this SDK)".into(),
        vec![me, "client".into(), mode.into()],
    )];
    for peer in &options.peers {
        runs.push((
            peer.clone(),
            vec![
                options.python.clone(),
                "benches/peers/peer.py".into(),
                peer.clone(),
                mode.into(),
            ],
        ));
    }
    for (name, mut command) in runs {
        let seed = if mode == "read" { n } else { 0 };
        let p = portal(seed, options, options.latency_ms).await?;
        let before = p.emu.control().request_count();
        command.push(p.webhook.clone());
        command.push(n.to_string());
        if name.starts_with("bitrix24") {
            command.push(limited.into());
        }
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&command[0]).args(&command[1..]).output()
        })
        .await??;
        let requests = p.emu.control().request_count() - before;
        let report: Result<Report, _> = serde_json::from_slice(
            output
                .stdout
                .rsplit(|b| *b == b'\n')
                .find(|l| !l.is_empty())
                .unwrap_or(b"{}"),
        );
        let report = match report {
            Ok(r) => r,
            Err(_) => Report {
                items: 0,
                wall_s: 0.0,
                cpu_s: 0.0,
                maxrss_kib: 0,
                error: Some(format!(
                    "no report: {}",
                    String::from_utf8_lossy(&output.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                )),
            },
        };
        let written = if mode == "write" {
            format!(
                " ({} on the portal)",
                p.emu.control().entity_count("crm.deal")
            )
        } else {
            String::new()
        };
        let per_thousand = if report.items > 0 {
            report.cpu_s * 1_000.0 / report.items as f64
        } else {
            f64::NAN
        };
        // With neither latency nor limits there is no time bound to compare with.
        let time_ratio = if bound_secs > 0.0 {
            format!("{:.2}", report.wall_s / bound_secs)
        } else {
            "-".to_owned()
        };
        println!(
            "| {name} | {}{written} | {:.2} | {time_ratio} | {requests} | {:.2} | {:.0} | {} | {} | {:.1} | {} |",
            report.items,
            report.wall_s,
            requests as f64 / bound_requests.max(1) as f64,
            report.items as f64 / report.wall_s.max(1e-9),
            p.rejected.load(Ordering::Relaxed),
            if cpu || report.items > 0 {
                format!("{per_thousand:.4}")
            } else {
                "-".into()
            },
            report.maxrss_kib as f64 / 1024.0,
            report.error.as_deref().unwrap_or("")
        );
        p.emu.shutdown().await;
    }
    Ok(())
}

/// `compare client <read|write> <webhook> <n> <limits>`: this SDK as a participant; `limits` is
/// `no`, or the plan whose bucket the client keeps to (`--limits`' values; `yes` is `standard`).
// the reason is on the imports
#[allow(deprecated)]
async fn client_run(args: &[String]) -> Result<(), Failure> {
    let [mode, webhook, n, limited] = args else {
        return Err("usage: compare client <read|write> <webhook> <n> <no|yes|limits>".into());
    };
    let n: u64 = n.parse()?;
    let builder = Client::builder().webhook(webhook);
    let plan = match limited.as_str() {
        "no" => Limits::Off,
        "yes" => Limits::Standard,
        other => Limits::parse(other).ok_or_else(|| format!("bad limits {other}"))?,
    };
    let client = match plan {
        Limits::Off => builder.no_rate_limit(),
        Limits::Standard => builder.rate_limit(RateLimit::standard()),
        Limits::Enterprise => builder.rate_limit(RateLimit::enterprise()),
        Limits::Custom {
            drain_per_sec,
            burst,
        } => builder.rate_limit(RateLimit::custom(drain_per_sec, burst)?),
    }
    .build()?;
    let (started, cpu) = (Instant::now(), cpu_secs());
    let outcome: Result<u64, bitrix24::Error> = if mode == "read" {
        client
            .stream(&CrmDealList::new().select(["ID", "TITLE"]))
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
    } else {
        let adds: Vec<CrmDealAdd> = (0..n)
            .map(|i| {
                CrmDealAdd::new(Deal {
                    title: Some(format!("bench {i}")),
                    ..Deal::default()
                })
            })
            .collect();
        match client.send_all(&adds).await {
            Ok(results) => {
                let failed = results.iter().filter(|r| r.is_err()).count();
                match results.iter().find_map(|r| r.as_ref().err()) {
                    Some(e) => {
                        eprintln!("{failed} writes failed, the first: {e}");
                        Ok((results.len() - failed) as u64)
                    }
                    None => Ok(results.len() as u64),
                }
            }
            Err(e) => Err(e),
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = cpu_secs() - cpu;
    let (items, error) = match outcome {
        Ok(items) => (items, None),
        Err(e) => (0, Some(e.to_string())),
    };
    let report = Report {
        items,
        wall_s,
        cpu_s,
        maxrss_kib: peak_rss_kib(),
        error,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// CPU seconds of this process, every thread (Linux: the first field of each
/// `/proc/self/task/*/schedstat`, nanoseconds on the CPU).
fn cpu_secs() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

/// Peak resident set of this process in KiB (Linux: `VmHWM` of `/proc/self/status`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `compare calls <sdk|raw> <webhook> <n>`: `n` calls of `crm.deal.get` of deal 1, one after
/// the other, through this SDK or through reqwest + serde_json (what `overhead` compares).
// the reason is on the imports
#[allow(deprecated)]
async fn calls(args: &[String]) -> Result<(), Failure> {
    let [how, webhook, n] = args else {
        return Err("usage: compare calls <sdk|raw> <webhook> <n>".into());
    };
    let n: u64 = n.parse()?;
    if how == "sdk" {
        let client = Client::builder().webhook(webhook).no_rate_limit().build()?;
        let request = CrmDealGet::new(1);
        for _ in 0..n {
            std::hint::black_box(client.send(&request).await?);
        }
    } else {
        let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
        let url = format!("{webhook}crm.deal.get");
        for _ in 0..n {
            std::hint::black_box(raw_get(&http, &url).await?);
        }
    }
    Ok(())
}

/// One `crm.deal.get` of deal 1 by reqwest + serde_json: the baseline call.
async fn raw_get(http: &reqwest::Client, url: &str) -> Result<Value, Failure> {
    let body = http
        .post(url)
        .json(&json!({"id": 1}))
        .send()
        .await?
        .bytes()
        .await?;
    let mut value: Value = serde_json::from_slice(&body)?;
    Ok(value["result"].take())
}

/// One call end to end on loopback, this SDK against reqwest + serde_json in this process:
/// `crm.deal.get` of one deal, the two alternating in rounds of 100 calls.
// the reason is on the imports
#[allow(deprecated)]
async fn overhead(options: &Options) -> Result<(), Failure> {
    let emu = Emulator::builder()
        .webhook(1, "bench")
        .seed_deals(10)
        .start()
        .await?;
    let webhook = emu.webhook_url();
    let client = Client::builder()
        .webhook(&webhook)
        .no_rate_limit()
        .build()?;
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("{webhook}crm.deal.get");
    let request = CrmDealGet::new(1);
    let (mut sdk, mut raw) = (Duration::ZERO, Duration::ZERO);
    let rounds = options.calls.div_ceil(100);
    // Warm both connections first.
    client.send(&request).await?;
    http.post(&url).json(&json!({"id": 1})).send().await?;
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..100 {
            let deal = client.send(&request).await?;
            std::hint::black_box(deal);
        }
        sdk += started.elapsed();
        let started = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(raw_get(&http, &url).await?);
        }
        raw += started.elapsed();
    }
    let calls = (rounds * 100) as f64;
    let (sdk_us, raw_us) = (
        sdk.as_secs_f64() * 1e6 / calls,
        raw.as_secs_f64() * 1e6 / calls,
    );
    println!("crm.deal.get on loopback, {calls} calls each, alternating rounds of 100");
    println!("| client | µs per call | x baseline |");
    println!("|---|---|---|");
    println!(
        "| bitrix24 (this SDK) | {sdk_us:.1} | {:.3} |",
        sdk_us / raw_us
    );
    println!("| reqwest + serde_json | {raw_us:.1} | 1.000 |");
    emu.shutdown().await;
    Ok(())
}
