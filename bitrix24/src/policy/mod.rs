//! Agent guardrails: what a caller (an AI agent, a script) may send, checked before any
//! network I/O.
//!
//! - [`Policy`]: an allowlist built from packs (`core` by default, `none` for no pack) and
//!   method patterns (`crm.*`, `user.get`; `batch` is always listed). Risk comes from the
//!   specs ([`crate::catalog::method_info`]); only a method the specs do not know has its risk
//!   guessed from its name, and the [`Decision`] says so. A `batch` is as risky as its
//!   riskiest command, and every command is checked against the allowlist.
//! - Writes need a write confirmation, destructive calls a destructive one ([`Confirm`]); a
//!   refusal is a [`PolicyError`] naming the method, its risk and the flag that would allow
//!   it.
//! - [`PlanStore`]: plan a call, then execute exactly that call, once.
//! - [`IdempotencyStore`]: a write replayed with the same key returns the stored result
//!   without calling the portal; a write whose answer was lost keeps its key as unknown
//!   ([`PolicyError::OutcomeUnknown`]) until someone checks the portal.
//! - [`AuditLog`]: one JSON line per call, parameter keys only, never a value or a secret.
//! - [`Guard`]: all of the above around a [`crate::Client`]: [`Guard::call`] for one call,
//!   [`Guard::call_each`] for a batch request the caller builds (one key, one audit row),
//!   [`Guard::precheck`] to check every input of a tool before its first request.
//!
//! The stores are JSON files shared safely by several processes (an advisory lock file,
//! write to a temporary file, fsync, atomic rename), memory, or (feature `sqlite`) a SQLite
//! database where a plan is executed and a key claimed in one transaction;
//! [`PlanStore::open`] and [`IdempotencyStore::open`] pick one by the file name.
//!
//! ```
//! use bitrix24::policy::{Confirm, Policy, PolicyError};
//! use serde_json::json;
//!
//! let policy = Policy::default(); // packs: core
//! let read = policy.check("crm.deal.list", &json!({}), Confirm::none()).unwrap();
//! assert_eq!(read.risk, bitrix24::Risk::Read);
//!
//! let err = policy.check("crm.deal.add", &json!({"fields": {}}), Confirm::none()).unwrap_err();
//! assert!(matches!(err, PolicyError::ConfirmationRequired { .. }));
//! assert!(err.to_string().contains("--confirm-write"));
//!
//! assert!(policy.check("im.message.add", &json!({}), Confirm::write()).is_err()); // not in core
//! ```

mod audit;
mod backend;
mod error;
mod file_store;
mod guard;
mod memory_store;
mod rules;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod store;

pub use audit::{AuditLog, AuditRow};
pub use backend::Plan;
pub use error::PolicyError;
pub use guard::{CallOptions, Guard, GuardError, Outcome, Target};
pub use rules::{
    BASE_ALLOWLIST, CommandDecision, Confirm, DEFAULT_PACKS, Decision, MAX_BATCH_COMMANDS,
    PACK_PATTERNS, Pattern, Policy, normalize_method, pack_patterns, parse_allowlist, parse_packs,
    risk_rank,
};
pub use store::{
    Begin, IdempotencyStore, PlanStore, canonical_json, is_sqlite_path, params_hash, unix_now,
};
