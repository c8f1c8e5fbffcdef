//! `b24 export`, and the batch sending and files it shares with `b24 import`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitrix24::policy::Target;
use bitrix24::{BatchHandle, Client};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::Fail;
use crate::config::{self, Masker, parse_params, rate_limited};
use crate::guarded::{GuardArgs, guard_err, refused};

/// Rows per list page on v2.
const PAGE: u64 = 50;
/// Pages (or commands) sent per round: 4 batch requests of 50, in flight together.
const ROUND: usize = 200;

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

/// A progress bar on stderr.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
    )) {
        pb.set_style(style);
    }
    pb
}

/// The rows of a list result: the array itself, the one array inside a wrapper object
/// (`tasks`, `items`), or the values of an object keyed by id.
pub fn rows_of(v: Value) -> Vec<Value> {
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
    let guard = args
        .guard
        .guard(args.guard.policy()?, config::tenant_from_env()?);
    let method = guard
        .precheck(&args.method, &params, args.guard.confirm())
        .map_err(|e| refused(&e))?
        .method;
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
    let opts = args.guard.options("v2");
    let client = portal.client;

    let mut sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(BufWriter::new(std::fs::File::create(p).map_err(|e| {
            Fail::Invalid(format!("Error: cannot create {}: {e}", p.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let page = |start: u64| {
        let mut p = base.clone();
        p.insert("start".into(), json!(start));
        Value::Object(p)
    };
    let first = guard
        .call(
            &client,
            Target::Call {
                method: method.clone(),
                params: page(0),
            },
            &opts,
        )
        .await
        .map_err(guard_err)?
        .response;
    let total = first["total"].as_u64().unwrap_or(0);
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
    let more = first.get("next").is_some_and(|n| !n.is_null());
    emit(rows_of(first["result"].clone()), &mut *sink)?;
    if more {
        let starts: Vec<u64> = (1..total.div_ceil(PAGE)).map(|p| p * PAGE).collect();
        for round in starts.chunks(ROUND) {
            // One guarded unit (audit row) per batch request of 50 pages, 4 in flight.
            let requests = round.chunks(BATCH).map(|starts| {
                let pages: Vec<Value> = starts.iter().map(|s| page(*s)).collect();
                let client = &client;
                let guard = &guard;
                let opts = &opts;
                let method = &method;
                async move {
                    let send = |m: String| send_batch(client, m, pages.clone(), true);
                    guard.call_each(method, &pages, opts, send).await
                }
            });
            for outcome in futures::future::try_join_all(requests)
                .await
                .map_err(guard_err)?
            {
                for page in value_items(outcome.response) {
                    emit(rows_of(page["result"].clone()), &mut *sink)?;
                }
            }
        }
    }
    sink.flush()
        .map_err(|e| Fail::Portal(format!("Error: write: {e}")))?;
    pb.finish_and_clear();
    eprintln!("exported {written} rows of {total}");
    Ok(())
}

/// Commands per batch request.
pub const BATCH: usize = 50;

fn value_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// Sends `params` as one batch request of `method` commands; the answer is one entry per
/// command, in order: `{"result": ...}` or `{"error": "..."}` (with `halt`, the first failed
/// command fails the whole request). A request that failed as a whole is an error.
pub async fn send_batch(
    client: &Client,
    method: String,
    params: Vec<Value>,
    halt: bool,
) -> Result<Value, bitrix24::Error> {
    let mut batch = client.batch().halt(halt);
    let mut handles: Vec<BatchHandle<Value>> = Vec::with_capacity(params.len());
    for (i, p) in params.into_iter().enumerate() {
        handles.push(batch.add_raw(&format!("c{i:03}"), &method, p)?);
    }
    let results = batch.send().await?;
    let mut out = Vec::with_capacity(handles.len());
    for h in &handles {
        match results.get(h) {
            Ok(v) => out.push(json!({ "result": v })),
            // The whole request failed (or its answer was lost): not one command's error.
            Err(e @ bitrix24::Error::BatchRequest { .. }) => return Err(e),
            Err(e) if halt => return Err(e),
            Err(e) => out.push(json!({ "error": e.to_string() })),
        }
    }
    Ok(Value::Array(out))
}

/// Writes `text` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// `file` with `suffix` appended to its name.
pub fn default_beside(file: &Path, suffix: &str) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}
