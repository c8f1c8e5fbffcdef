//! The refusals of the guardrails.

use crate::Risk;

/// Why the guardrails refused a call (nothing was sent), or why their stores failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The method name is not of the form `word(.word)*` in lower-case letters, digits and `_`.
    #[error("invalid method name {method:?}: {reason}")]
    InvalidMethod {
        /// The name as given.
        method: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The params are not what the method takes.
    #[error("invalid params for {method}: {reason}")]
    InvalidParams {
        /// The method.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// A pack name that does not exist.
    #[error("unknown pack '{name}', available packs: {available}")]
    UnknownPack {
        /// The name given.
        name: String,
        /// The pack names, comma-separated.
        available: String,
    },
    /// An allowlist pattern that is not a method-name glob.
    #[error("invalid method pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The method is outside the allowlist.
    #[error(
        "method '{method}' (risk {risk}) is outside the allowlist; extend --packs or --method-allowlist, or pass --allow-unlisted"
    )]
    NotAllowlisted {
        /// The method.
        method: String,
        /// Its risk.
        risk: Risk,
    },
    /// A batch command calls a method outside the allowlist.
    #[error(
        "batch command '{key}' uses method '{method}' (risk {risk}) outside the allowlist; extend --packs or --method-allowlist, or pass --allow-unlisted"
    )]
    BatchCommandNotAllowlisted {
        /// The command's key in `cmd`.
        key: String,
        /// The command's method.
        method: String,
        /// Its risk.
        risk: Risk,
    },
    /// A batch with more commands than the portal takes.
    #[error("batch has {count} commands; the limit is 50: split it")]
    BatchTooLarge {
        /// Number of commands.
        count: usize,
    },
    /// A batch command that is itself a batch.
    #[error("batch command '{key}' is a nested batch, which the portal refuses: call it directly")]
    NestedBatch {
        /// The command's key in `cmd`.
        key: String,
    },
    /// A write or destructive call without its confirmation.
    #[error("method '{method}' has risk {risk}: add {flag} to execute it")]
    ConfirmationRequired {
        /// The method.
        method: String,
        /// Its risk.
        risk: Risk,
        /// The flag that allows it (`--confirm-write` / `--confirm-destructive`).
        flag: &'static str,
    },
    /// Writes must go through plan then execute.
    #[error(
        "method '{method}' has risk {risk} and a plan is required: run it with --plan-only, then --execute-plan <plan_id>"
    )]
    PlanRequired {
        /// The method.
        method: String,
        /// Its risk.
        risk: Risk,
    },
    /// No plan with this id.
    #[error("plan '{id}' not found")]
    PlanNotFound {
        /// The plan id.
        id: String,
    },
    /// The plan's time ran out.
    #[error("plan '{id}' expired; plan the call again with --plan-only")]
    PlanExpired {
        /// The plan id.
        id: String,
    },
    /// The plan was made for another portal.
    #[error("plan '{id}' belongs to another tenant")]
    PlanForeignTenant {
        /// The plan id.
        id: String,
    },
    /// The plan ran already.
    #[error("plan '{id}' already executed")]
    PlanAlreadyExecuted {
        /// The plan id.
        id: String,
    },
    /// The method given with `--execute-plan` is not the planned one.
    #[error("method '{given}' does not match planned method '{planned}' of plan '{id}'")]
    PlanMethodMismatch {
        /// The plan id.
        id: String,
        /// The planned method.
        planned: String,
        /// The method given.
        given: String,
    },
    /// The stored plan does not hash to what was planned.
    #[error("plan '{id}' is corrupt: its params do not match its params hash")]
    PlanTampered {
        /// The plan id.
        id: String,
    },
    /// A call with this idempotency key is running in another process.
    #[error(
        "a call with idempotency key '{key}' is in progress; wait for it, or use another --idempotency-key"
    )]
    IdempotencyInProgress {
        /// The key.
        key: String,
    },
    /// The idempotency key was used before with different params.
    #[error("idempotency key '{key}' was used with different params; use a new --idempotency-key")]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// An earlier call with this idempotency key lost its answer: it may have been applied.
    #[error(
        "the outcome of an earlier call with idempotency key '{key}' is unknown (its answer was lost; it may have been applied): check the portal, then send it again with --no-idempotency if it was not applied"
    )]
    OutcomeUnknown {
        /// The key.
        key: String,
    },
    /// A plan, idempotency or audit file could not be read or written.
    #[error("state file {path}: {reason}")]
    Store {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}

impl PolicyError {
    /// A stable upper-case code for audit rows and scripts (`NOT_ALLOWLISTED`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::InvalidMethod { .. } => "INVALID_METHOD",
            PolicyError::InvalidParams { .. } => "INVALID_PARAMS",
            PolicyError::UnknownPack { .. } => "UNKNOWN_PACK",
            PolicyError::InvalidPattern { .. } => "INVALID_PATTERN",
            PolicyError::NotAllowlisted { .. } => "NOT_ALLOWLISTED",
            PolicyError::BatchCommandNotAllowlisted { .. } => "BATCH_COMMAND_NOT_ALLOWLISTED",
            PolicyError::BatchTooLarge { .. } => "BATCH_TOO_LARGE",
            PolicyError::NestedBatch { .. } => "NESTED_BATCH",
            PolicyError::ConfirmationRequired { .. } => "CONFIRMATION_REQUIRED",
            PolicyError::PlanRequired { .. } => "PLAN_REQUIRED",
            PolicyError::PlanNotFound { .. } => "PLAN_NOT_FOUND",
            PolicyError::PlanExpired { .. } => "PLAN_EXPIRED",
            PolicyError::PlanForeignTenant { .. } => "PLAN_FOREIGN_TENANT",
            PolicyError::PlanAlreadyExecuted { .. } => "PLAN_ALREADY_EXECUTED",
            PolicyError::PlanMethodMismatch { .. } => "PLAN_METHOD_MISMATCH",
            PolicyError::PlanTampered { .. } => "PLAN_TAMPERED",
            PolicyError::IdempotencyInProgress { .. } => "IDEMPOTENCY_IN_PROGRESS",
            PolicyError::IdempotencyKeyReused { .. } => "IDEMPOTENCY_KEY_REUSED",
            PolicyError::OutcomeUnknown { .. } => "OUTCOME_UNKNOWN",
            PolicyError::Store { .. } => "STATE_FILE_ERROR",
        }
    }

    /// The flag that would allow the call, when one would.
    pub fn flag(&self) -> Option<&'static str> {
        match self {
            PolicyError::NotAllowlisted { .. } | PolicyError::BatchCommandNotAllowlisted { .. } => {
                Some("--allow-unlisted")
            }
            PolicyError::ConfirmationRequired { flag, .. } => Some(flag),
            PolicyError::PlanRequired { .. } => Some("--plan-only"),
            _ => None,
        }
    }

    pub(crate) fn store(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        PolicyError::Store {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}
