//! The state of `b24 mcp`: its options and the [`Server`] they build (the policy, the guard and
//! the client of one portal), which the tools in `mcp.rs`, `mcp_catalog.rs` and
//! `mcp_portal.rs` read.

use std::path::PathBuf;

use bitrix24::Client;
use bitrix24::policy::{CallOptions, Confirm, Guard, Policy};
use clap::Args;

use crate::Fail;
use crate::call::{Api, PlanArgs};
use crate::config::{self, Masker, rate_limited};
use crate::guarded::GuardArgs;

/// `b24 mcp` options: the guardrails of `b24 call` (confirmations excepted: they are tool
/// arguments, given call by call).
#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Plans: `plan_call` stores them, `execute_plan` runs them (with `--require-plan`,
    /// every write must go that way).
    #[command(flatten)]
    pub plans: PlanArgs,
    /// REST generation.
    #[arg(long, value_enum, default_value = "v2")]
    pub api: Api,
    /// The offline worker's database, for queue_status (the one `b24 worker` keeps).
    #[arg(long, env = "B24_WORKER_DB", default_value = config::WORKER_DB)]
    pub worker_db: PathBuf,
    /// The largest reply of a tool, in bytes: lists are paged and long results cut to fit.
    #[arg(long, default_value_t = 32 * 1024, value_parser = clap::value_parser!(u32).range(4096..=1_048_576))]
    pub max_reply_bytes: u32,
}

/// The MCP server: the policy, the guard and the client of one portal.
pub struct Server {
    pub(crate) policy: Policy,
    /// The guard and the client, or why there is no portal configured.
    pub(crate) portal: Result<(Guard, Client), String>,
    pub(crate) idempotency: bool,
    pub(crate) api: &'static str,
    pub(crate) max_reply: usize,
    pub(crate) worker_db: PathBuf,
    pub(crate) masker: Masker,
}

impl Server {
    /// A server for the options; a portal that is not configured leaves the catalog tools
    /// working and makes the portal tools answer why.
    pub fn new(args: &McpArgs, masker: Masker) -> Result<Self, Fail> {
        if args.guard.confirm_write || args.guard.confirm_destructive {
            return Err(Fail::Invalid(
                "Error: b24 mcp takes no --confirm-* flag: confirmations are arguments of each tool call".to_owned(),
            ));
        }
        let policy = args.guard.policy()?.require_plan(args.plans.required());
        let portal = config::portal_from_env(args.api.version(), rate_limited(), 4)
            .map(|p| {
                let guard = args
                    .guard
                    .guard(policy.clone(), p.tenant)
                    .plans(args.plans.store());
                (guard, p.client)
            })
            .map_err(|f| match f {
                Fail::Invalid(m) | Fail::Portal(m) => format!("no portal configured: {m}"),
            });
        Ok(Server {
            policy,
            portal,
            idempotency: !args.guard.no_idempotency,
            api: args.api.label(),
            max_reply: args.max_reply_bytes as usize,
            worker_db: args.worker_db.clone(),
            masker,
        })
    }

    /// The guard and the client.
    pub(crate) fn portal(&self) -> Result<(&Guard, &Client), String> {
        self.portal
            .as_ref()
            .map(|(g, c)| (g, c))
            .map_err(Clone::clone)
    }

    /// Per-call options with these confirmations.
    pub(crate) fn options(&self, confirm: Confirm) -> CallOptions {
        let mut o = CallOptions::confirm(confirm);
        o.idempotency = self.idempotency;
        self.api.clone_into(&mut o.api);
        o
    }
}
