//! `b24 worker`: the seed's `offline_sync_worker.py` on bitrix24's offline worker (SQLite
//! state, retries, dead-letter queue, graceful stop).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bitrix24::events::{
    DeadLetter, DeadLetterQueue, Durability, HandlerError, OfflineDelivery, OfflineWorker,
    SqliteStore, WorkerConfig, WorkerError, shutdown_signal,
};
use clap::Args;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::Fail;
use crate::config::{self, Masker, rate_limited};
use crate::guarded::portal_err;

/// The exit status of `--exec` that sends the record straight to the dead-letter queue
/// (`EX_DATAERR` of sysexits.h: the input is wrong, retrying will not help).
pub const EXIT_PERMANENT: i32 = 65;

/// `b24 worker` options (the seed's names where they apply).
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Drain what is queued now, then exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds to wait on an empty queue before reading it again.
    #[arg(long, default_value_t = 3.0)]
    pub sleep: f64,
    /// Failures of one record before it goes to the dead-letter queue.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// The worker's SQLite database: reserved batches, outcomes, retry counts, dead letters.
    #[arg(
        long = "db",
        visible_alias = "state-file",
        env = "B24_WORKER_DB",
        default_value = config::WORKER_DB
    )]
    pub db: PathBuf,
    /// A JSONL copy of the dead letters (one row each, appended when the worker stops).
    #[arg(long, default_value = config::DLQ_FILE)]
    pub dlq_file: PathBuf,
    /// Accepted for compatibility: offline queue records carry no `application_token` (it
    /// comes with online event POSTs), so there is nothing to compare it with.
    #[arg(long)]
    pub application_token: Option<String>,
    /// Shell command run for each record, the record as JSON on stdin: exit 0 handled, 65 a
    /// permanent failure (dead-lettered at once), anything else a failure retried up to
    /// --max-retries. Without it each record is printed as one JSON line on stdout.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// The queue's `auth_connector` (bind the offline events with the same one).
    #[arg(long, env = "B24_AUTH_CONNECTOR")]
    pub connector: Option<String>,
    /// The tenant key of the worker's state (default: the portal host).
    #[arg(long, env = "B24_MEMBER_ID")]
    pub member_id: Option<String>,
    /// Records reserved per `event.offline.get`.
    #[arg(long, default_value_t = 50)]
    pub batch_size: u32,
    /// Seconds one --exec run may take before it counts as failed.
    #[arg(long, default_value_t = 60)]
    pub handler_timeout: u64,
}

/// What the handler sees of one record.
fn record_json(d: &OfflineDelivery) -> Value {
    let mut v = json!({
        "event": d.event.name.as_str(),
        "object_id": d.event.object_id(),
        "message_id": d.message_id,
        "row_id": d.row_id,
        "member_id": d.member_id,
        "timestamp": d.timestamp,
        "user_id": d.user_id,
        "attempt": d.attempt,
    });
    if let bitrix24::events::Payload::Other(data) = &d.event.payload {
        v["data"] = data.clone();
    }
    v
}

/// Runs `cmd` with the record on stdin; its exit status decides the outcome.
async fn run_exec(cmd: Arc<str>, masker: Masker, record: Value) -> Result<(), HandlerError> {
    let failed = |what: String| HandlerError::retry(masker.mask(&what));
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&*cmd)
        .env("B24_EVENT", record["event"].as_str().unwrap_or_default())
        .env(
            "B24_MESSAGE_ID",
            record["message_id"].as_str().unwrap_or_default(),
        )
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot run --exec: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let line = format!("{record}\n");
        // A command that does not read its input may close it early: not a failure by itself.
        let _ = stdin.write_all(line.as_bytes()).await;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| failed(format!("--exec: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(EXIT_PERMANENT) => Err(HandlerError::permanent(format!(
            "--exec exited with {EXIT_PERMANENT}"
        ))),
        _ => Err(failed(format!("--exec failed: {status}"))),
    }
}

/// Prints the record as one JSON line on stdout (a closed stdout is a failure: the record is
/// kept).
fn print_record(masker: &Masker, record: &Value) -> Result<(), HandlerError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", masker.mask(&record.to_string()))
        .and_then(|()| out.flush())
        .map_err(|e| HandlerError::retry(format!("stdout: {e}")))
}

/// Appends to `path` the dead letters of `member_id` it does not hold yet.
async fn copy_dead_letters(
    store: &SqliteStore,
    member_id: &str,
    path: &Path,
    masker: &Masker,
) -> Result<usize, Fail> {
    let letters: Vec<DeadLetter> = store
        .list(Some(member_id), usize::MAX >> 1)
        .await
        .map_err(|e| Fail::Portal(format!("Error: dead-letter queue: {e}")))?;
    let known: HashSet<String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["message_id"].as_str().map(str::to_owned))
        .collect();
    let fresh: Vec<&DeadLetter> = letters
        .iter()
        .filter(|d| !known.contains(&d.message_id))
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Fail::Portal(format!("Error: {}: {e}", dir.display())))?;
    }
    let mut text = String::new();
    for d in &fresh {
        let row = json!({
            "tenant": d.member_id,
            "event": d.event,
            "message_id": d.message_id,
            "object_id": d.object_id,
            "retry_count": d.retries,
            "error": format!("{}: {}", d.error_code, d.error_message),
            "payload": d.payload,
            "ts": d.last_seen,
        });
        text.push_str(&masker.mask(&row.to_string()));
        text.push('\n');
    }
    // One write of whole lines in append mode: rows of concurrent writers do not interleave.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .map_err(|e| Fail::Portal(format!("Error: {}: {e}", path.display())))?;
    Ok(fresh.len())
}

fn worker_config(args: &WorkerArgs) -> Result<WorkerConfig, Fail> {
    if !(args.sleep.is_finite() && args.sleep >= 0.0) {
        return Err(Fail::Invalid(format!(
            "Error: --sleep must be a number of seconds >= 0, got {}",
            args.sleep
        )));
    }
    if args.max_retries == 0 || args.batch_size == 0 {
        return Err(Fail::Invalid(
            "Error: --max-retries and --batch-size must be at least 1".to_owned(),
        ));
    }
    let mut cfg = WorkerConfig::default();
    cfg.connector = args.connector.clone().filter(|c| !c.trim().is_empty());
    cfg.batch_size = args.batch_size;
    cfg.retry_budget = args.max_retries;
    cfg.handler_timeout = Duration::from_secs(args.handler_timeout.max(1));
    cfg.idle_poll = Duration::from_secs_f64(args.sleep);
    cfg.error_retry_interval = cfg.idle_poll.min(cfg.error_retry_interval);
    cfg.stop_when_idle = args.once;
    Ok(cfg)
}

/// `b24 worker`.
pub async fn worker(args: WorkerArgs, masker: &Masker) -> Result<(), Fail> {
    let cfg = worker_config(&args)?;
    if args.application_token.is_some() {
        eprintln!(
            "note: --application-token is not used: offline queue records carry no application_token"
        );
    }
    let portal = config::portal_from_env(bitrix24::ApiVersion::V2, rate_limited(), 1)?;
    let member_id = args
        .member_id
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| portal.tenant.clone());
    if let Some(dir) = args.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Fail::Invalid(format!("Error: {}: {e}", dir.display())))?;
    }
    let store = SqliteStore::open_with(&args.db, Durability::Full)
        .await
        .map_err(|e| Fail::Invalid(format!("Error: {}: {e}", args.db.display())))?;
    let exec: Option<Arc<str>> = args.exec.as_deref().map(Arc::from);
    let m = masker.clone();
    let handler = move |d: OfflineDelivery| {
        let record = record_json(&d);
        let exec = exec.clone();
        let masker = m.clone();
        async move {
            match exec {
                Some(cmd) => run_exec(cmd, masker, record).await,
                None => print_record(&masker, &record),
            }
        }
    };
    let result = OfflineWorker::new(
        portal.client,
        Arc::new(store.clone()),
        member_id.clone(),
        handler,
    )
    .config(cfg)
    .run(shutdown_signal())
    .await;
    let copied = copy_dead_letters(&store, &member_id, &args.dlq_file, masker).await?;
    match result {
        Ok(s) => {
            let stats = json!({
                "processed": s.processed,
                "failed": s.failed,
                "dead_lettered": s.dead_lettered,
                "already_handled": s.already_handled,
                "batches": s.batches,
                "requests": s.requests,
                "dlq_rows_written": copied,
            });
            eprintln!("{}", masker.mask(&stats.to_string()));
            Ok(())
        }
        Err(WorkerError::Fatal(e)) => Err(portal_err(&e)),
        Err(e) => Err(Fail::Portal(format!("Error: {e}"))),
    }
}
