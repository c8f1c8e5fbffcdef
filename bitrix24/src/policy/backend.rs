//! What a store of the policy keeps and what each backend (JSON file, memory, SQLite) does
//! under its lock: [`Plan`], and the two backend traits the stores in `store.rs` drive.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PolicyError;
use crate::claim::{ClaimTimes, Settlement, Verdict};

/// A planned call: what `--execute-plan <plan_id>` will send, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The id to execute it by.
    pub plan_id: String,
    /// The portal it was planned for.
    pub tenant: String,
    /// The method (lower-case).
    pub method: String,
    /// The params, exactly as they will be sent.
    pub params: Value,
    /// [`params_hash`](super::params_hash) of the method and params.
    #[serde(default)]
    pub params_hash: String,
    /// The risk found when planning.
    pub risk: String,
    /// Whether the allowlist listed the call when planning.
    #[serde(default)]
    pub allowlisted: bool,
    /// The packs selected when planning.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Unix time of planning.
    pub created_at: u64,
    /// Unix time after which the plan is refused.
    pub expires_at: u64,
    /// Whether it ran.
    #[serde(default)]
    pub executed: bool,
    /// Unix time it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<u64>,
}

/// What [`PlanBackend::with_plan`] runs under the lock: given the plan found (`None` when
/// absent or unreadable), the plan to keep and whether it changed.
pub(crate) type PlanEdit<'a> = dyn FnMut(Option<Plan>) -> Result<(Plan, bool), PolicyError> + 'a;

/// Where plans live: a backend changes one plan under its lock.
pub(crate) trait PlanBackend: Send + Sync + std::fmt::Debug {
    /// Stores `plan`, forgetting the plans that expired before `drop_before`.
    fn insert(&self, plan: &Plan, drop_before: u64) -> Result<(), PolicyError>;
    /// Under the lock: hands the plan `id` (`None` when absent or unreadable) to `f`, and
    /// stores the plan `f` returns when it says it changed.
    fn with_plan(&self, id: &str, f: &mut PlanEdit<'_>) -> Result<Plan, PolicyError>;
}

/// Where idempotency records live: a backend claims a key atomically.
pub(crate) trait ClaimBackend: Send + Sync + std::fmt::Debug {
    /// Forgets the records no longer [`ClaimRecord::live`], applies
    /// [`crate::claim::decide`] and, on [`Verdict::Proceed`], stores the `in_progress`
    /// claim, all under the lock.
    fn claim(&self, key: &str, fingerprint: &str, t: ClaimTimes) -> Result<Verdict, PolicyError>;
    /// Under the lock, if the holder that claimed `key` at `claimed_at` still holds it
    /// ([`crate::claim::still_held`]): stores `record`, or forgets the key when `None`.
    /// Whether it did.
    fn settle(&self, s: Settlement<'_>) -> Result<bool, PolicyError>;
}
