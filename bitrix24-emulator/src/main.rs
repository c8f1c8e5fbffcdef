//! `bitrix24-emulator`: serve a local Bitrix24 portal on 127.0.0.1.

use bitrix24_emulator::{Emulator, Faults, Limits};
use clap::Parser;
use std::time::Duration;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "bitrix24-emulator",
    about = "A local Bitrix24 portal (REST v2/3.0, OAuth, batch, events, limits)"
)]
struct Args {
    /// Port on 127.0.0.1 (0 = random).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Incoming webhook `USER_ID:CODE` with every scope (repeatable).
    #[arg(long = "webhook", value_name = "USER_ID:CODE")]
    webhooks: Vec<String>,
    /// Request-rate limit: off | standard | enterprise | custom:<drain>:<burst>.
    #[arg(long, default_value = "off")]
    limits: String,
    /// Per-method operating-time limit in seconds per 10 minutes.
    #[arg(long, default_value_t = 480.0)]
    operating_limit: f64,
    /// Virtual seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Number of deals to seed.
    #[arg(long, default_value_t = 0)]
    seed_deals: u64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    error_5xx_ratio: f64,
    /// Share of connections dropped before handling.
    #[arg(long, default_value_t = 0.0)]
    drop_connection_ratio: f64,
    /// Share of response bodies truncated.
    #[arg(long, default_value_t = 0.0)]
    truncate_body_ratio: f64,
    /// Share of requests applied and then answered by a closed connection.
    #[arg(long, default_value_t = 0.0)]
    lose_response_after_write_ratio: f64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let limits = Limits::parse(&args.limits)
        .ok_or_else(|| format!("bad --limits value: {}", args.limits))?;
    let mut b = Emulator::builder()
        .port(args.port)
        .limits(limits)
        .operating_limit_secs(args.operating_limit)
        .time_scale(args.time_scale)
        .seed_deals(args.seed_deals)
        .faults(Faults {
            latency: Duration::from_millis(args.latency_ms),
            error_5xx_ratio: args.error_5xx_ratio,
            drop_connection_ratio: args.drop_connection_ratio,
            truncate_body_ratio: args.truncate_body_ratio,
            lose_response_after_write_ratio: args.lose_response_after_write_ratio,
            seed: args.fault_seed,
            ..Faults::default()
        });
    for w in &args.webhooks {
        let (uid, code) = w
            .split_once(':')
            .ok_or_else(|| format!("bad --webhook value: {w}"))?;
        b = b.webhook(uid.parse()?, code);
    }
    let emu = b.start().await?;
    let app = emu.oauth_app();
    println!("Bitrix24 emulator listening on {}", emu.base_url());
    for url in emu.webhook_urls() {
        println!("Webhook URL:        {url}");
    }
    println!("OAuth client_id:    {}", app.client_id);
    println!("OAuth client_secret: {}", app.client_secret);
    println!("OAuth access_token: {}", app.access_token);
    println!("OAuth refresh_token: {}", app.refresh_token);
    println!("OAuth token URL:    {}", app.token_url);
    println!("REST endpoint:      {}", app.client_endpoint);
    emu.wait_with_graceful(shutdown_signal()).await;
    println!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
