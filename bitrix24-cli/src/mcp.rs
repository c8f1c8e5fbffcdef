//! `b24 mcp`: a Model Context Protocol server over stdio, with the configuration, policy and
//! audit of `b24 call`. Its tools find and describe methods from the specs' catalog, call
//! them through the guardrails (confirmations are tool arguments), plan and execute, give
//! least-privilege scopes, page lists into bounded replies and show the offline queue.
//!
//! Every argument is checked against the tool's declaration before anything runs; a bad
//! request is an error result naming what was wrong, never a portal call or a crash.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::Value;

pub use crate::mcp_server::{McpArgs, Server};

use crate::config::Masker;
use crate::mcp_args::{self, Arg, Given, Kind};
use crate::{Fail, mcp_catalog, mcp_portal};

/// The agent skill `b24 skill` prints: the routing guide of `references/SKILL.md`.
pub const SKILL: &str = include_str!("../../references/SKILL.md");

/// `b24 skill`: prints [`SKILL`] as it is (no secret can be in it, so nothing is masked).
pub fn skill() {
    use std::io::Write;
    // A closed pipe (`b24 skill | head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(SKILL.as_bytes());
}

/// The largest tool request taken (the JSON of its arguments), in bytes.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// One tool: its name, what it does, its arguments and how it touches the portal.
struct ToolDef {
    name: &'static str,
    doc: &'static str,
    args: &'static [Arg],
    read_only: bool,
    destructive: bool,
}

const METHOD: Arg = Arg::req("method", Kind::Str, "The method, e.g. `crm.deal.list`.");
const PARAMS: Arg = Arg::opt(
    "params",
    Kind::Object,
    "The method's params as a JSON object (describe_method lists them).",
);
const CONFIRM_WRITE: Arg = Arg::opt(
    "confirm_write",
    Kind::Bool,
    "Set to true only after the user agreed to this write.",
);
const CONFIRM_DESTRUCTIVE: Arg = Arg::opt(
    "confirm_destructive",
    Kind::Bool,
    "Set to true only after the user agreed to this deletion.",
);
const FULL: Arg = Arg::opt(
    "full",
    Kind::Bool,
    "Return the whole response envelope (default: result, total and next only).",
);

const TOOLS: &[ToolDef] = &[
    ToolDef {
        name: "find_methods",
        doc: "Finds methods in the specs by what the user calls it (term), by pack, or by words of the name or summary (text): name, risk, scopes, required params, summary, and whether this server may call it.",
        args: &[
            Arg::opt(
                "term",
                Kind::Str,
                "What the user says: \"deals\", \"open lines\", \"copilot\".",
            ),
            Arg::opt("pack", Kind::Str, "A pack name."),
            Arg::opt(
                "text",
                Kind::Str,
                "Words that must all appear in the name or summary.",
            ),
            Arg::opt(
                "limit",
                Kind::Int { min: 1, max: 100 },
                "Rows at most (default 20).",
            ),
        ],
        read_only: true,
        destructive: false,
    },
    ToolDef {
        name: "describe_method",
        doc: "Describes one method from the specs: params with types and whether required, the response shape, risk, scopes, pagination, REST 3.0 name, docs page.",
        args: &[METHOD],
        read_only: true,
        destructive: false,
    },
    ToolDef {
        name: "call_method",
        doc: "Calls one method through the guardrails (allowlist, confirmations, idempotency, audit). Writes need confirm_write, deletions confirm_destructive; a refusal sends nothing and says what would allow the call. Large results are cut to fit: page lists with list_page.",
        args: &[
            METHOD,
            PARAMS,
            CONFIRM_WRITE,
            CONFIRM_DESTRUCTIVE,
            Arg::opt(
                "idempotency_key",
                Kind::Str,
                "A key of your own for this write: a repeat returns the stored result.",
            ),
            FULL,
        ],
        read_only: false,
        destructive: true,
    },
    ToolDef {
        name: "plan_call",
        doc: "Checks a call and stores it as a plan without sending anything; execute_plan runs it once.",
        args: &[METHOD, PARAMS],
        read_only: false,
        destructive: false,
    },
    ToolDef {
        name: "execute_plan",
        doc: "Runs a stored plan exactly once, with the confirmations its risk needs.",
        args: &[
            Arg::req("plan_id", Kind::Str, "The plan_id plan_call returned."),
            Arg::opt(
                "method",
                Kind::Str,
                "The planned method, checked against the plan.",
            ),
            CONFIRM_WRITE,
            CONFIRM_DESTRUCTIVE,
            FULL,
        ],
        read_only: false,
        destructive: true,
    },
    ToolDef {
        name: "least_privilege_scopes",
        doc: "The smallest set of scopes that allows every given method, from the specs.",
        args: &[Arg::req(
            "methods",
            Kind::StrList,
            "The methods the integration calls.",
        )],
        read_only: true,
        destructive: false,
    },
    ToolDef {
        name: "list_page",
        doc: "One bounded page of a list method: rows, total and the cursor of the next page (null at the end). Replies never exceed the server's reply cap.",
        args: &[
            METHOD,
            PARAMS,
            Arg::opt(
                "cursor",
                Kind::Str,
                "The next_cursor of the previous page (default: the first row).",
            ),
            Arg::opt(
                "max_rows",
                Kind::Int { min: 1, max: 1000 },
                "Rows at most (default 50).",
            ),
        ],
        read_only: true,
        destructive: false,
    },
    ToolDef {
        name: "queue_status",
        doc: "The offline event queue: records waiting on the portal (event.offline.list) and the dead letters of the local worker.",
        args: &[Arg::opt(
            "auth_connector",
            Kind::Str,
            "The queue's auth_connector, if the events were bound with one.",
        )],
        read_only: true,
        destructive: false,
    },
];

impl Server {
    fn tools() -> Vec<Tool> {
        TOOLS
            .iter()
            .map(|t| {
                let mut doc = t.doc.to_owned();
                if t.name == "find_methods" {
                    doc.push_str(" Packs: ");
                    let packs: Vec<String> = bitrix24::catalog::PACKS
                        .iter()
                        .filter(|p| p.methods > 0)
                        .map(|p| format!("{} ({})", p.name, p.summary.trim_end_matches('.')))
                        .collect();
                    doc.push_str(&packs.join("; "));
                    doc.push('.');
                }
                let notes = ToolAnnotations::new()
                    .read_only(t.read_only)
                    .destructive(t.destructive);
                Tool::new(t.name, doc, mcp_args::schema(t.args)).with_annotations(notes)
            })
            .collect()
    }

    async fn run_tool(&self, req: CallToolRequestParams) -> Result<Value, String> {
        let name = req.name.as_ref();
        let Some(tool) = TOOLS.iter().find(|t| t.name == name) else {
            let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
            return Err(format!(
                "unknown tool `{name}` (tools: {})",
                names.join(", ")
            ));
        };
        let args = req.arguments.unwrap_or_default();
        let size = serde_json::to_vec(&args).map_or(usize::MAX, |v| v.len());
        if size > MAX_REQUEST_BYTES {
            return Err(format!(
                "{name}: the request is {size} bytes; the limit is {MAX_REQUEST_BYTES}"
            ));
        }
        mcp_args::check(name, tool.args, &args)?;
        let g = Given(&args);
        match name {
            "find_methods" => mcp_catalog::find(g, &self.policy),
            "describe_method" => mcp_catalog::describe(g.str("method"), &self.policy),
            "least_privilege_scopes" => mcp_catalog::scopes(&g.strings("methods")),
            "call_method" => mcp_portal::call(self, g).await,
            "plan_call" => mcp_portal::plan(self, g),
            "execute_plan" => mcp_portal::execute(self, g).await,
            "list_page" => mcp_portal::list_page(self, g).await,
            "queue_status" => mcp_portal::queue_status(self, g).await,
            other => Err(format!("unknown tool `{other}`")),
        }
    }

    /// The answer of one tool call: compact JSON cut to the reply cap, secrets masked.
    async fn answer(&self, req: CallToolRequestParams) -> CallToolResult {
        match self.run_tool(req).await {
            Ok(v) => {
                let text = mcp_portal::fit(v, self.max_reply);
                CallToolResult::success(vec![ContentBlock::text(self.masker.mask(&text))])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(self.masker.mask(&e))]),
        }
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("b24", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Bitrix24 REST through guardrails. Find the method (find_methods), read its params (describe_method), then call_method; writes need confirm_write: true after the user agreed. Page lists with list_page.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(Self::tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(self.answer(request).await.into())
    }
}

/// Runs `b24 mcp` until the client closes stdin.
pub async fn run(args: McpArgs, masker: &Masker) -> Result<(), Fail> {
    let server = Server::new(&args, masker.clone())?;
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Fail::Portal(format!("Error: MCP start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Fail::Portal(format!("Error: MCP: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skill_term_map_is_the_specs_term_map() {
        let lines: Vec<&str> = SKILL
            .lines()
            .filter(|l| l.starts_with("- \"") && l.contains(" -> "))
            .collect();
        assert_eq!(lines.len(), 12, "one line per pack");
        for line in lines {
            let (terms, pack) = line.rsplit_once(" -> ").unwrap();
            for t in terms.trim_start_matches("- ").split(", ") {
                let t = t.trim_matches('"');
                assert_eq!(bitrix24::catalog::pack_for_term(t), Some(pack), "{t}");
            }
        }
    }

    #[test]
    fn the_skill_names_every_tool_and_escalation_trigger() {
        for t in TOOLS {
            assert!(SKILL.contains(&format!("`{}`", t.name)), "{}", t.name);
        }
        for trigger in [
            "WRONG_AUTH_TYPE",
            "insufficient_scope",
            "QUERY_LIMIT_EXCEEDED",
            "expired_token",
            "offline event loss",
            "refresh races",
            "tenant isolation",
        ] {
            assert!(SKILL.contains(trigger), "{trigger}");
        }
    }

    #[test]
    fn every_tool_schema_forbids_unknown_arguments() {
        let tools = Server::tools();
        assert_eq!(tools.len(), TOOLS.len());
        for t in &tools {
            assert_eq!(t.input_schema["additionalProperties"], false, "{}", t.name);
        }
    }
}
