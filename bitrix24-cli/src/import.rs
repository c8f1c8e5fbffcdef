//! `b24 import`: one guarded batch request per 50 lines, resumable, never re-sending a batch
//! whose answer was lost.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use bitrix24::ErrorKind;
use bitrix24::policy::{GuardError, IdempotencyStore};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::Fail;
use crate::config::{self, Masker, rate_limited};
use crate::data::{BATCH, bar, default_beside, send_batch, write_atomic};
use crate::guarded::{GuardArgs, guard_err, refused};

/// What to do with the batch whose answer a previous run lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LostBatch {
    /// It was applied (checked on the portal): skip its lines.
    Applied,
    /// It was not applied (checked on the portal): send its lines again.
    Resend,
}

/// `b24 import` options.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The method each line is sent to, e.g. `crm.deal.add`.
    pub method: String,
    /// JSON lines: each a `fields` object, or full params when it has a `fields` key.
    pub file: PathBuf,
    /// Progress file for resuming (default: FILE.checkpoint).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Failed lines go here (default: FILE.errors.jsonl).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Keep the `ID` field of each row (dropped by default: the portal assigns ids).
    #[arg(long)]
    pub keep_id: bool,
    /// After a run that lost a batch's answer: what the portal shows happened to it.
    #[arg(long, value_enum)]
    pub lost_batch: Option<LostBatch>,
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Where the import stands, as the checkpoint file keeps it.
struct Progress {
    done: usize,
    ok: u64,
    failed: u64,
    /// Lines sent whose batch answer has not been recorded: `(first line index, count, key)`.
    in_flight: Option<(usize, usize, String)>,
}

fn read_lines(args: &ImportArgs) -> Result<Vec<Value>, Fail> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| Fail::Invalid(format!("Error: cannot open {}: {e}", args.file.display())))?;
    let mut lines = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Fail::Invalid(format!("Error: read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| Fail::Invalid(format!("Error: line {}: invalid JSON: {e}", i + 1)))?;
        let Value::Object(mut row) = v else {
            return Err(Fail::Invalid(format!(
                "Error: line {}: not a JSON object",
                i + 1
            )));
        };
        let params = if row.contains_key("fields") {
            Value::Object(row)
        } else {
            if !args.keep_id {
                row.remove("ID");
            }
            // A null cannot travel in a batch query string (it would arrive as ""): leave it out.
            row.retain(|_, v| !v.is_null());
            json!({ "fields": Value::Object(row) })
        };
        lines.push(params);
    }
    Ok(lines)
}

fn to_usize(v: &Value) -> usize {
    usize::try_from(v.as_u64().unwrap_or(0)).unwrap_or(usize::MAX)
}

impl Progress {
    fn load(path: &std::path::Path, method: &str) -> Result<Progress, Fail> {
        let mut p = Progress {
            done: 0,
            ok: 0,
            failed: 0,
            in_flight: None,
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(p);
        };
        let cp: Value = serde_json::from_str(&text)
            .map_err(|e| Fail::Invalid(format!("Error: checkpoint {}: {e}", path.display())))?;
        if cp["method"] != json!(method) {
            return Err(Fail::Invalid(format!(
                "Error: checkpoint {} is for method {}; remove it to start over",
                path.display(),
                cp["method"]
            )));
        }
        p.done = to_usize(&cp["done"]);
        p.ok = cp["ok"].as_u64().unwrap_or(0);
        p.failed = cp["failed"].as_u64().unwrap_or(0);
        let f = &cp["in_flight"];
        if let Some(key) = f["key"].as_str() {
            p.in_flight = Some((to_usize(&f["first"]), to_usize(&f["count"]), key.to_owned()));
        }
        Ok(p)
    }

    fn save(&self, path: &std::path::Path, file: &str, method: &str) -> Result<(), Fail> {
        let in_flight = self.in_flight.as_ref().map_or(
            Value::Null,
            |(first, count, key)| json!({"first": first, "count": count, "key": key}),
        );
        let cp = json!({"file": file, "method": method, "done": self.done, "ok": self.ok,
            "failed": self.failed, "in_flight": in_flight});
        write_atomic(path, &cp.to_string())
            .map_err(|e| Fail::Portal(format!("Error: checkpoint: {e}")))
    }
}

fn lines_label(first: usize, count: usize) -> String {
    format!("lines {}-{}", first + 1, first + count)
}

/// Settles the batch a previous run lost the answer of, as `--lost-batch` says, or refuses.
fn settle_lost(
    progress: &mut Progress,
    lost: Option<LostBatch>,
    store: &IdempotencyStore,
) -> Result<(), Fail> {
    let Some((first, count, key)) = progress.in_flight.take() else {
        return Ok(());
    };
    let label = lines_label(first, count);
    let Some(choice) = lost else {
        return Err(Fail::Invalid(format!(
            "Error: {label} were sent but their answer was lost: they may have been applied. \
             Nothing was sent now. Check the portal, then run again with --lost-batch applied \
             (skip them) or --lost-batch resend (send them again)"
        )));
    };
    store.clear(&key).map_err(|e| refused(&e))?;
    match choice {
        LostBatch::Applied => {
            progress.done = first + count;
            progress.ok += count as u64;
            eprintln!("{label}: recorded as applied");
        }
        LostBatch::Resend => {
            progress.done = first;
            eprintln!("{label}: sent again");
        }
    }
    Ok(())
}

/// `b24 import`: every line is checked first (a bad line sends nothing), then one guarded
/// batch request per 50 lines, the checkpoint written before (the lines in flight) and after
/// (the lines done) each one. A batch whose answer is lost stays in flight: the next run
/// refuses to go on until `--lost-batch` says what the portal shows.
pub async fn import(args: ImportArgs, masker: &Masker) -> Result<(), Fail> {
    let lines = read_lines(&args)?;
    let tenant = config::tenant_from_env()?;
    let guard = args.guard.guard(args.guard.policy()?, tenant.clone());
    let mut method = args.method.trim().to_ascii_lowercase();
    for (i, params) in lines.iter().enumerate() {
        method = guard
            .precheck(&args.method, params, args.guard.confirm())
            .map_err(|e| Fail::Invalid(format!("Error: line {}: {e}", i + 1)))?
            .method;
    }
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_beside(&args.file, ".checkpoint"));
    let errors_path = args
        .errors
        .clone()
        .unwrap_or_else(|| default_beside(&args.file, ".errors.jsonl"));
    let file_label = args.file.display().to_string();
    let mut progress = Progress::load(&checkpoint, &method)?;
    let store = args.guard.idempotency_store();
    settle_lost(&mut progress, args.lost_batch, &store)?;
    if progress.done > 0 {
        eprintln!("resuming after line {} of {}", progress.done, lines.len());
    }
    // One batch request at a time, so that rows are created in the file's order.
    let portal = config::portal_from_env(bitrix24::ApiVersion::V2, rate_limited(), 1)?;
    let client = portal.client;
    let opts = args.guard.options("v2");
    let pb = bar(lines.len() as u64, "import");
    let start = progress.done.min(lines.len());
    pb.set_position(start as u64);
    let mut errors: Option<BufWriter<std::fs::File>> = None;
    for (n, chunk) in lines[start..].chunks(BATCH).enumerate() {
        let first = start + n * BATCH;
        let all = Value::Array(chunk.to_vec());
        let key = IdempotencyStore::key_for(&tenant, &method, &all, None);
        progress.in_flight = Some((first, chunk.len(), key));
        progress.save(&checkpoint, &file_label, &method)?;
        let send = |m: String| send_batch(&client, m, chunk.to_vec(), false);
        let outcome = match guard.call_each(&method, chunk, &opts, send).await {
            Ok(o) => o,
            Err(GuardError::Failed(e)) if e.kind() == ErrorKind::OutcomeUnknown => {
                return Err(Fail::Portal(format!(
                    "Error: {}: the answer was lost, they may have been applied ({e}); \
                     check the portal, then run again with --lost-batch applied or --lost-batch resend",
                    lines_label(first, chunk.len())
                )));
            }
            Err(e) => {
                progress.in_flight = None;
                progress.save(&checkpoint, &file_label, &method)?;
                return Err(guard_err(e));
            }
        };
        if outcome.replayed {
            eprintln!(
                "note: {}: idempotent replay, nothing sent",
                lines_label(first, chunk.len())
            );
        }
        for (j, r) in outcome
            .response
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(err) = r.get("error") else {
                progress.ok += 1;
                continue;
            };
            progress.failed += 1;
            if errors.is_none() {
                errors = Some(BufWriter::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&errors_path)
                        .map_err(|e| Fail::Portal(format!("Error: errors file: {e}")))?,
                ));
            }
            if let Some(w) = errors.as_mut() {
                let text = masker.mask(err.as_str().unwrap_or_default());
                let _ = writeln!(w, "{}", json!({"line": first + j + 1, "error": text}));
                let _ = w.flush();
            }
        }
        progress.done = first + chunk.len();
        progress.in_flight = None;
        progress.save(&checkpoint, &file_label, &method)?;
        pb.set_position(progress.done as u64);
    }
    pb.finish_and_clear();
    let summary = json!({"lines": lines.len(), "ok": progress.ok, "failed": progress.failed,
        "checkpoint": checkpoint.display().to_string()});
    crate::out(masker, &summary.to_string());
    if progress.failed > 0 {
        return Err(Fail::Portal(format!(
            "import: {} line(s) failed; see {}",
            progress.failed,
            errors_path.display()
        )));
    }
    Ok(())
}
