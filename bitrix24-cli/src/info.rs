//! `b24 packs|methods|scopes|emulator`.

use bitrix24::catalog;
use bitrix24::policy::{PACK_PATTERNS, normalize_method, pack_patterns};
use clap::Args;
use serde_json::{Value, json};

use crate::Fail;
use crate::call::{Output, print_response};
use crate::config::Masker;

/// `b24 packs` options.
#[derive(Debug, Args)]
pub struct PacksArgs {
    /// What a user calls it ("open lines", "copilot"): prints the pack.
    #[arg(long)]
    pub term: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub output: Output,
}

/// `b24 methods` options.
#[derive(Debug, Args)]
pub struct MethodsArgs {
    /// The pack.
    pub pack: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub output: Output,
}

/// `b24 scopes` options.
#[derive(Debug, Args)]
pub struct ScopesArgs {
    /// Methods the integration calls.
    #[arg(required = true)]
    pub methods: Vec<String>,
}

/// `b24 emulator` options.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 = any).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Webhook `USER_ID:CODE` (default 1:emulator).
    #[arg(long, default_value = "1:emulator")]
    pub webhook: String,
    /// Deals to seed.
    #[arg(long, default_value_t = 0)]
    pub seed_deals: u64,
}

fn unknown_pack(name: &str) -> Fail {
    let mut names: Vec<&str> = PACK_PATTERNS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    Fail::Invalid(format!(
        "Error: unknown pack '{name}', available packs: {}",
        names.join(", ")
    ))
}

/// `b24 packs`.
pub fn packs(args: &PacksArgs) -> Result<(), Fail> {
    let masker = Masker::default();
    if let Some(term) = &args.term {
        let Some(pack) = catalog::pack_for_term(term) else {
            return Err(Fail::Invalid(format!(
                "Error: no pack for the term '{term}'"
            )));
        };
        print_response(&masker, &json!({"term": term, "pack": pack}), args.output);
        return Ok(());
    }
    let rows: Vec<Value> = PACK_PATTERNS
        .iter()
        .map(|(name, patterns)| {
            let info = catalog::pack_info(name);
            json!({
                "pack": name,
                "summary": info.map_or("", |i| i.summary),
                "specced_methods": info.map_or(0, |i| i.methods),
                "patterns": patterns.join(","),
            })
        })
        .collect();
    print_response(&masker, &Value::Array(rows), args.output);
    Ok(())
}

/// `b24 methods PACK`.
pub fn methods(args: &MethodsArgs) -> Result<(), Fail> {
    let pack = args.pack.trim().to_ascii_lowercase();
    if pack_patterns(&pack).is_none() {
        return Err(unknown_pack(&pack));
    }
    let rows: Vec<Value> = catalog::METHODS
        .iter()
        .filter(|m| m.pack == pack)
        .map(|m| {
            json!({
                "method": m.name,
                "risk": m.risk.as_str(),
                "idempotent": m.idempotent,
                "scopes": m.scopes.join(","),
                "summary": m.summary,
            })
        })
        .collect();
    print_response(&Masker::default(), &Value::Array(rows), args.output);
    Ok(())
}

/// `b24 scopes METHOD...`.
pub fn scopes(args: &ScopesArgs) -> Result<(), Fail> {
    let mut names = Vec::new();
    let mut unknown = Vec::new();
    for m in &args.methods {
        let n = normalize_method(m).map_err(|e| Fail::Invalid(format!("Error: {e}")))?;
        match catalog::method_info(&n) {
            Some(info) => names.push(info.name),
            None => unknown.push(n),
        }
    }
    let scopes = catalog::least_privilege_scopes(names.iter().copied());
    let v = json!({"scopes": scopes, "methods": names, "unknown": unknown});
    crate::out(&Masker::default(), &v.to_string());
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Fail::Invalid(format!(
            "Error: not in the specs (scopes unknown): {}",
            unknown.join(", ")
        )))
    }
}

/// `b24 emulator`.
pub async fn emulator(args: EmulatorArgs) -> Result<(), Fail> {
    let (uid, code) = args
        .webhook
        .split_once(':')
        .and_then(|(u, c)| Some((u.parse::<u64>().ok()?, c)))
        .ok_or_else(|| {
            Fail::Invalid(format!(
                "Error: bad --webhook '{}': USER_ID:CODE",
                args.webhook
            ))
        })?;
    let emu = bitrix24_emulator::Emulator::builder()
        .port(args.port)
        .webhook(uid, code)
        .seed_deals(args.seed_deals)
        .start()
        .await
        .map_err(|e| Fail::Portal(format!("Error: cannot start the emulator: {e}")))?;
    // The emulator's webhook code is not a secret: it is printed so that it can be used.
    crate::out(
        &Masker::default(),
        &format!("B24_WEBHOOK_URL={}", emu.webhook_url()),
    );
    eprintln!("emulator serving on {} (Ctrl-C to stop)", emu.base_url());
    emu.wait_with_graceful(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
