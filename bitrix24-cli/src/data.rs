//! `b24 export` and `b24 import`.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use bitrix24::policy::{Confirm, Policy};
use bitrix24::{BatchHandle, Client};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};

use crate::Fail;
use crate::config::{self, Masker, parse_params, rate_limited};

/// Rows per list page on v2.
const PAGE: u64 = 50;
/// Pages (or commands) sent per round: 4 batch requests of 50, in flight together.
const ROUND: usize = 200;

/// Guardrail flags shared by export and import.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Comma-separated packs.
    #[arg(long, env = "B24_PACKS", default_value = "core")]
    pub packs: String,
    /// Comma-separated method patterns added to the packs.
    #[arg(long, env = "B24_METHOD_ALLOWLIST", default_value = "")]
    pub method_allowlist: String,
    /// Allow a method outside the allowlist.
    #[arg(long)]
    pub allow_unlisted: bool,
    /// Required when the method writes.
    #[arg(long)]
    pub confirm_write: bool,
    /// Required when the method is destructive.
    #[arg(long)]
    pub confirm_destructive: bool,
}

impl GuardArgs {
    fn check(&self, method: &str, params: &Value) -> Result<String, Fail> {
        let policy = Policy::from_lists(&self.packs, &self.method_allowlist)
            .and_then(|p| {
                let confirm = Confirm {
                    write: self.confirm_write,
                    destructive: self.confirm_destructive,
                };
                p.allow_unlisted(self.allow_unlisted)
                    .check(method, params, confirm)
            })
            .map_err(|e| Fail::Invalid(format!("Error: {e}")))?;
        Ok(policy.method)
    }
}

/// `b24 export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A list method, e.g. `crm.deal.list`.
    pub method: String,
    /// The `filter` object.
    #[arg(long)]
    pub filter: Option<String>,
    /// Fields to select, comma-separated (`ID,TITLE`).
    #[arg(long)]
    pub select: Option<String>,
    /// Other params (a JSON object).
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub guard: GuardArgs,
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
    #[command(flatten)]
    pub guard: GuardArgs,
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
    )) {
        pb.set_style(style);
    }
    pb
}

fn portal_err(e: &bitrix24::Error) -> Fail {
    let code = e
        .code()
        .map(|c| c.as_str().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("{:?}", e.kind()).to_ascii_uppercase());
    Fail::Portal(format!(
        "Bitrix API error: code={code} status={} msg={e}",
        e.status().unwrap_or(0)
    ))
}

/// The rows of a list result: the array itself, the one array inside a wrapper object
/// (`tasks`, `items`), or the values of an object keyed by id.
fn rows_of(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(m) => {
            let arrays: Vec<&Value> = m.values().filter(|v| v.is_array()).collect();
            if arrays.len() == 1 {
                let key = m
                    .iter()
                    .find(|(_, v)| v.is_array())
                    .map(|(k, _)| k.clone())
                    .unwrap_or_default();
                let mut m = m;
                match m.remove(&key) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                }
            } else {
                m.into_iter().map(|(_, v)| v).collect()
            }
        }
        _ => Vec::new(),
    }
}

/// `b24 export`: the first page learns `total`, the others go 50 pages per batch request.
pub async fn export(args: ExportArgs, masker: &Masker) -> Result<(), Fail> {
    let mut params = parse_params(&args.params)?;
    let map = params
        .as_object_mut()
        .ok_or_else(|| Fail::Invalid("params".into()))?;
    if let Some(f) = &args.filter {
        let f: Value = serde_json::from_str(f)
            .map_err(|e| Fail::Invalid(format!("Error: Invalid JSON in --filter: {e}")))?;
        if !f.is_object() {
            return Err(Fail::Invalid(
                "Error: --filter must decode to a JSON object".to_owned(),
            ));
        }
        map.insert("filter".into(), f);
    }
    if let Some(s) = &args.select {
        let fields: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        map.insert("select".into(), json!(fields));
    }
    let method = args.guard.check(&args.method, &params)?;
    let map = params
        .as_object_mut()
        .ok_or_else(|| Fail::Invalid("params".into()))?;
    if method.starts_with("crm.") && !map.contains_key("order") {
        // A stable order, so that offset pages neither skip nor repeat rows of a quiet table.
        map.insert("order".into(), json!({"ID": "ASC"}));
    }
    map.remove("start");
    let base = map.clone();
    let portal = config::portal_from_env(bitrix24::ApiVersion::V2, rate_limited(), 4)?;
    let client = portal.client;

    let mut sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(BufWriter::new(std::fs::File::create(p).map_err(|e| {
            Fail::Invalid(format!("Error: cannot create {}: {e}", p.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut first_params = base.clone();
    first_params.insert("start".into(), json!(0));
    let first = client
        .call_full(&method, Value::Object(first_params))
        .await
        .map_err(|e| portal_err(&e))?;
    let total = first.total.unwrap_or(0);
    let pb = bar(total, "export");
    let mut written = 0u64;
    let mut emit = |rows: Vec<Value>, sink: &mut dyn Write| -> Result<(), Fail> {
        for r in rows {
            writeln!(sink, "{}", masker.mask(&r.to_string()))
                .map_err(|e| Fail::Portal(format!("Error: write: {e}")))?;
            written += 1;
            pb.inc(1);
        }
        Ok(())
    };
    let more = first.next.is_some();
    emit(rows_of(first.result), &mut *sink)?;
    if more {
        let starts: Vec<u64> = (1..total.div_ceil(PAGE)).map(|p| p * PAGE).collect();
        for round in starts.chunks(ROUND) {
            let mut batch = client.batch().halt(true);
            let mut handles: Vec<BatchHandle<Value>> = Vec::with_capacity(round.len());
            for start in round {
                let mut p = base.clone();
                p.insert("start".into(), json!(start));
                handles.push(
                    batch
                        .add_raw(&format!("p{start:012}"), &method, Value::Object(p))
                        .map_err(|e| Fail::Invalid(format!("Error: {e}")))?,
                );
            }
            let results = batch.send().await.map_err(|e| portal_err(&e))?;
            for h in &handles {
                let page = results.get(h).map_err(|e| portal_err(&e))?;
                emit(rows_of(page), &mut *sink)?;
            }
        }
    }
    sink.flush()
        .map_err(|e| Fail::Portal(format!("Error: write: {e}")))?;
    pb.finish_and_clear();
    eprintln!("exported {written} rows of {total}");
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn default_beside(file: &Path, suffix: &str) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// `b24 import`: every line is checked first (a bad line sends nothing), then 50 commands per
/// batch request; the checkpoint records the lines done after each round.
pub async fn import(args: ImportArgs, masker: &Masker) -> Result<(), Fail> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| Fail::Invalid(format!("Error: cannot open {}: {e}", args.file.display())))?;
    let mut lines: Vec<Value> = Vec::new();
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
    let method = args
        .guard
        .check(&args.method, lines.first().unwrap_or(&json!({})))?;
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_beside(&args.file, ".checkpoint"));
    let errors_path = args
        .errors
        .clone()
        .unwrap_or_else(|| default_beside(&args.file, ".errors.jsonl"));
    let mut done = 0usize;
    let (mut ok, mut failed) = (0u64, 0u64);
    if let Ok(text) = std::fs::read_to_string(&checkpoint) {
        let cp: Value = serde_json::from_str(&text).map_err(|e| {
            Fail::Invalid(format!("Error: checkpoint {}: {e}", checkpoint.display()))
        })?;
        if cp["method"] != json!(method) {
            return Err(Fail::Invalid(format!(
                "Error: checkpoint {} is for method {}; remove it to start over",
                checkpoint.display(),
                cp["method"]
            )));
        }
        done = usize::try_from(cp["done"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX);
        ok = cp["ok"].as_u64().unwrap_or(0);
        failed = cp["failed"].as_u64().unwrap_or(0);
        eprintln!("resuming after line {done} of {}", lines.len());
    }
    // One batch request at a time, so that rows are created in the file's order.
    let portal = config::portal_from_env(bitrix24::ApiVersion::V2, rate_limited(), 1)?;
    let client: Client = portal.client;
    let pb = bar(lines.len() as u64, "import");
    pb.set_position(done.min(lines.len()) as u64);
    let mut errors: Option<BufWriter<std::fs::File>> = None;
    let start = done.min(lines.len());
    for (round_no, round) in lines[start..].chunks(ROUND).enumerate() {
        let base = start + round_no * ROUND;
        let mut batch = client.batch().halt(false);
        let mut handles = Vec::with_capacity(round.len());
        for (j, params) in round.iter().enumerate() {
            handles.push(
                batch
                    .add_raw(&format!("l{:09}", base + j), &method, params.clone())
                    .map_err(|e| Fail::Invalid(format!("Error: line {}: {e}", base + j + 1)))?,
            );
        }
        let results = batch.send().await.map_err(|e| portal_err(&e))?;
        for (j, h) in handles.iter().enumerate() {
            match results.get(h) {
                Ok(_) => ok += 1,
                Err(e) => {
                    failed += 1;
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
                        let row =
                            json!({"line": base + j + 1, "error": masker.mask(&e.to_string())});
                        let _ = writeln!(w, "{row}");
                    }
                }
            }
        }
        done = base + round.len();
        if let Some(w) = errors.as_mut() {
            let _ = w.flush();
        }
        let cp = json!({"file": args.file.display().to_string(), "method": method, "done": done, "ok": ok, "failed": failed});
        write_atomic(&checkpoint, &cp.to_string())
            .map_err(|e| Fail::Portal(format!("Error: checkpoint: {e}")))?;
        pb.set_position(done as u64);
    }
    pb.finish_and_clear();
    let summary: Map<String, Value> = [
        ("lines".to_owned(), json!(lines.len())),
        ("ok".to_owned(), json!(ok)),
        ("failed".to_owned(), json!(failed)),
        (
            "checkpoint".to_owned(),
            json!(checkpoint.display().to_string()),
        ),
    ]
    .into_iter()
    .collect();
    crate::out(masker, &Value::Object(summary).to_string());
    if failed > 0 {
        return Err(Fail::Portal(format!(
            "import: {failed} line(s) failed; see {}",
            errors_path.display()
        )));
    }
    Ok(())
}
