//! `b24 call`: one guarded call, with the seed script's flags.

use bitrix24::ApiVersion;
use bitrix24::policy::{PACK_PATTERNS, PlanStore, Target, parse_packs};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::config::{self, Masker, parse_params, rate_limited};
use crate::guarded::{GuardArgs, guard_err, refused};
use crate::{Fail, out};

/// The REST generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// Classic REST.
    V2,
    /// REST 3.0 where the method has a 3.0 name.
    V3,
    /// 3.0 when available, else v2.
    Auto,
}

impl Api {
    /// The SDK's setting.
    pub fn version(self) -> ApiVersion {
        match self {
            Api::V2 => ApiVersion::V2,
            Api::V3 => ApiVersion::V3,
            Api::Auto => ApiVersion::Auto,
        }
    }

    /// The label of the audit rows (`v2`, `v3`, `auto`).
    pub fn label(self) -> &'static str {
        match self {
            Api::V2 => "v2",
            Api::V3 => "v3",
            Api::Auto => "auto",
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The response envelope as one line of JSON.
    Json,
    /// The envelope as indented JSON.
    Pretty,
    /// A table, for people.
    Table,
}

/// The plan options `b24 call` and `b24 mcp` share.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan store: a JSON file, or a SQLite database when the name ends in `.db`,
    /// `.sqlite` or `.sqlite3` (it may be the idempotency store's database).
    #[arg(long, env = "B24_PLAN_FILE", default_value = config::PLAN_FILE)]
    pub plan_file: String,
    /// Plan lifetime in seconds (at least 60).
    #[arg(long, env = "B24_PLAN_TTL_SEC", default_value_t = 1800)]
    pub plan_ttl_sec: u64,
    /// Writes and destructive calls must be planned first: --plan-only, then --execute-plan
    /// (in `b24 mcp`: plan_call, then execute_plan); also `B24_REQUIRE_PLAN=1`.
    #[arg(long)]
    pub require_plan: bool,
}

impl PlanArgs {
    /// Whether writes must be planned (`--require-plan` or `B24_REQUIRE_PLAN=1`).
    pub fn required(&self) -> bool {
        self.require_plan || config::env_bool("B24_REQUIRE_PLAN")
    }

    /// The plan store.
    pub fn store(&self) -> PlanStore {
        PlanStore::open(self.plan_file.trim(), self.plan_ttl_sec)
    }
}

/// `b24 call` options (the seed's names; environment variables as defaults).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per flag of the seed's command line
pub struct CallArgs {
    /// The method, e.g. `crm.deal.list` (optional with --execute-plan or --list-packs).
    pub method: Option<String>,
    /// JSON object with the method's params.
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Print the packs and their patterns, then exit.
    #[arg(long)]
    pub list_packs: bool,
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Store a plan and print it; send nothing.
    #[arg(long)]
    pub plan_only: bool,
    /// Execute a stored plan, exactly once.
    #[arg(long, value_name = "ID", default_value = "")]
    pub execute_plan: String,
    #[command(flatten)]
    pub plans: PlanArgs,
    /// Explicit idempotency key for writes.
    #[arg(long, default_value = "")]
    pub idempotency_key: String,
    /// Use REST 3.0 (same as `--api v3`).
    #[arg(long)]
    pub rest_v3: bool,
    /// REST generation.
    #[arg(long, value_enum, default_value = "v2")]
    pub api: Api,
    /// Accepted for compatibility: OAuth tokens are refreshed when B24_CLIENT_ID and
    /// B24_CLIENT_SECRET are set.
    #[arg(long)]
    pub auto_refresh: bool,
    /// Accepted for compatibility: secrets are always masked.
    #[arg(long)]
    pub mask_secrets: bool,
    /// Accepted for compatibility and ignored: secrets are always masked.
    #[arg(long)]
    pub no_mask_secrets: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub output: Output,
}

fn list_packs(args: &CallArgs) -> Result<(), Fail> {
    let selected = parse_packs(&args.guard.packs).map_err(|e| refused(&e))?;
    let available: serde_json::Map<String, Value> = PACK_PATTERNS
        .iter()
        .map(|(name, patterns)| ((*name).to_owned(), json!(patterns)))
        .collect();
    let v = json!({
        "default_packs": bitrix24::policy::DEFAULT_PACKS,
        "available_packs": available,
        "selected_packs": selected,
    });
    crate::out(
        &Masker::default(),
        &serde_json::to_string_pretty(&v).unwrap_or_default(),
    );
    Ok(())
}

/// Runs `b24 call`.
pub async fn run(args: CallArgs, masker: &Masker) -> Result<(), Fail> {
    let params = parse_params(&args.params)?;
    if args.list_packs {
        return list_packs(&args);
    }
    if args.no_mask_secrets {
        eprintln!("note: --no-mask-secrets is ignored; b24 always masks secrets");
    }
    let policy = args.guard.policy()?.require_plan(args.plans.required());
    let method = args
        .method
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let plan_id = args.execute_plan.trim();
    if method.is_none() && plan_id.is_empty() {
        return Err(Fail::Invalid(
            "Error: method is required (or use --execute-plan)".to_owned(),
        ));
    }
    if args.plan_only && !plan_id.is_empty() {
        return Err(Fail::Invalid(
            "Error: --plan-only and --execute-plan cannot be combined".to_owned(),
        ));
    }
    // Checked before reading any credential: a refusal never needs the portal (it is still
    // audited below when the portal is configured).
    let early = match (plan_id.is_empty(), method) {
        (true, Some(m)) => Some(policy.evaluate(m, &params)),
        _ => None,
    };
    if let Some(Ok(decision)) = &early {
        for note in &decision.notes {
            eprintln!("note: {note}");
        }
    }
    let early_refusal = |f: Fail| match &early {
        Some(Err(e)) => refused(e),
        _ => f,
    };
    let api = if args.rest_v3 { Api::V3 } else { args.api };
    let tenant = config::tenant_from_env().map_err(early_refusal)?;
    let guard = args.guard.guard(policy, tenant).plans(args.plans.store());

    if args.plan_only {
        let m = method.unwrap_or_default();
        let plan = guard.plan(m, &params).map_err(|e| refused(&e))?;
        let v = json!({
            "plan": plan,
            "next": {"execute_command": format!("b24 call --execute-plan {}", plan.plan_id)},
        });
        out(
            masker,
            &serde_json::to_string_pretty(&v).unwrap_or_default(),
        );
        return Ok(());
    }

    let target = if plan_id.is_empty() {
        Target::Call {
            method: method.unwrap_or_default().to_owned(),
            params,
        }
    } else {
        Target::Plan {
            id: plan_id.to_owned(),
            method: method.map(str::to_owned),
        }
    };
    let key = args.idempotency_key.trim();
    let mut opts = args.guard.options(api.label());
    opts.idempotency_key = (!key.is_empty()).then(|| key.to_owned());

    // Plans and confirmations are checked before the client is even built.
    let portal =
        config::portal_from_env(api.version(), rate_limited(), 4).map_err(early_refusal)?;
    match guard.call(&portal.client, target, &opts).await {
        Ok(outcome) => {
            if outcome.replayed {
                eprintln!("note: idempotent replay: the stored result, nothing sent");
            }
            print_response(masker, &outcome.response, args.output);
            Ok(())
        }
        Err(e) => Err(guard_err(e)),
    }
}

/// Prints a response envelope in the chosen format.
pub fn print_response(masker: &Masker, response: &Value, output: Output) {
    let text = match output {
        Output::Json => response.to_string(),
        Output::Pretty => serde_json::to_string_pretty(response).unwrap_or_default(),
        Output::Table => table(response.get("result").unwrap_or(response)),
    };
    out(masker, &text);
}

fn cell(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let s = s.replace(['\n', '\t'], " ");
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(39).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// A plain text table: rows of objects become columns; an object becomes key/value rows.
pub fn table(v: &Value) -> String {
    let rows: Vec<Vec<String>>;
    let header: Vec<String>;
    match v {
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            let mut cols: Vec<String> = Vec::new();
            for it in items {
                for k in it.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !cols.contains(k) {
                        cols.push(k.clone());
                    }
                }
            }
            rows = items
                .iter()
                .map(|it| cols.iter().map(|c| cell(&it[c.as_str()])).collect())
                .collect();
            header = cols;
        }
        Value::Object(m) => {
            header = vec!["key".to_owned(), "value".to_owned()];
            rows = m.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect();
        }
        Value::Array(items) => {
            header = vec!["value".to_owned()];
            rows = items.iter().map(|v| vec![cell(v)]).collect();
        }
        other => return cell(other),
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        r.iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut s = line(&header);
    s.push('\n');
    s.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for r in &rows {
        s.push('\n');
        s.push_str(&line(r));
    }
    s
}
