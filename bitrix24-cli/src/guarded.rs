//! The guardrail flags every portal command shares (`call`, `export`, `import`), and the
//! mapping of guard outcomes to exit codes.

use bitrix24::policy::{
    AuditLog, CallOptions, Confirm, Guard, GuardError, IdempotencyStore, Policy, PolicyError,
};
use clap::Args;

use crate::{Fail, config};

/// Allowlist, confirmations, idempotency and audit flags (the seed's names; environment
/// variables as defaults).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // one bool per flag of the seed's command line
pub struct GuardArgs {
    /// Comma-separated packs (core, comms, ...; `none` for no pack).
    #[arg(long, env = "B24_PACKS", default_value = "core")]
    pub packs: String,
    /// Comma-separated method patterns added to the packs, e.g. `user.*,crm.*`.
    #[arg(long, env = "B24_METHOD_ALLOWLIST", default_value = "")]
    pub method_allowlist: String,
    /// Allow methods outside the allowlist for this call.
    #[arg(long)]
    pub allow_unlisted: bool,
    /// Required for writes (and write batch commands).
    #[arg(long)]
    pub confirm_write: bool,
    /// Required for destructive calls (delete, remove, unbind, ...).
    #[arg(long)]
    pub confirm_destructive: bool,
    /// The idempotency store: a JSON file, or a SQLite database when the name ends in
    /// `.db`, `.sqlite` or `.sqlite3` (keys claimed atomically across processes).
    #[arg(long, env = "B24_IDEMPOTENCY_FILE", default_value = config::IDEMPOTENCY_FILE)]
    pub idempotency_file: String,
    /// How long a write's result is replayed, in seconds.
    #[arg(long, env = "B24_IDEMPOTENCY_TTL_SEC", default_value_t = 86_400)]
    pub idempotency_ttl_sec: u64,
    /// No idempotency layer for this call.
    #[arg(long)]
    pub no_idempotency: bool,
    /// The JSONL audit file (default: B24_AUDIT_FILE or .runtime/bitrix24_audit.jsonl).
    #[arg(long)]
    pub audit_file: Option<String>,
    /// No audit row for this call.
    #[arg(long)]
    pub no_audit: bool,
}

impl GuardArgs {
    /// The policy of the flags (`require_plan` is the caller's).
    pub fn policy(&self) -> Result<Policy, Fail> {
        Policy::from_lists(&self.packs, &self.method_allowlist)
            .map(|p| p.allow_unlisted(self.allow_unlisted))
            .map_err(|e| refused(&e))
    }

    /// The confirmations given.
    pub fn confirm(&self) -> Confirm {
        Confirm {
            write: self.confirm_write,
            destructive: self.confirm_destructive,
        }
    }

    /// The idempotency store.
    pub fn idempotency_store(&self) -> IdempotencyStore {
        IdempotencyStore::open(self.idempotency_file.trim(), self.idempotency_ttl_sec)
    }

    /// A guard for `tenant` with the idempotency store and, unless `--no-audit`, the audit
    /// trail.
    pub fn guard(&self, policy: Policy, tenant: String) -> Guard {
        let mut guard = Guard::new(policy, tenant).idempotency(self.idempotency_store());
        let audit_path = match &self.audit_file {
            Some(p) => p.trim().to_owned(),
            None => std::env::var("B24_AUDIT_FILE")
                .unwrap_or_else(|_| config::AUDIT_FILE.to_owned())
                .trim()
                .to_owned(),
        };
        if !self.no_audit && !audit_path.is_empty() {
            guard = guard.audit(AuditLog::new(audit_path));
        }
        guard
    }

    /// Per-call options: the confirmations, idempotency on or off, the API label.
    pub fn options(&self, api: &str) -> CallOptions {
        let mut opts = CallOptions::confirm(self.confirm());
        opts.idempotency = !self.no_idempotency;
        api.clone_into(&mut opts.api);
        opts
    }
}

/// A refusal: exit 2.
pub fn refused(e: &PolicyError) -> Fail {
    Fail::Invalid(format!("Error: {e}"))
}

/// A portal or transport failure: exit 1, with `code=... status=...` as the seed prints it.
pub fn portal_err(e: &bitrix24::Error) -> Fail {
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

/// The exit of a guarded call that did not go through.
pub fn guard_err(e: GuardError) -> Fail {
    match e {
        GuardError::Refused(e) => refused(&e),
        GuardError::Failed(e) => portal_err(&e),
        other => Fail::Portal(format!("Error: {other}")),
    }
}
