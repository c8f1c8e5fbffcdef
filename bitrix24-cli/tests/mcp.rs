//! `b24 mcp` end to end: rmcp's client spawns the server against the emulator, lists the
//! tools, calls each one, and checks refusals (0 requests at the emulator), the audit rows,
//! bad input (an error result, never a crash or a portal call) and a 100,000-row list paged
//! into bounded replies. `b24 skill` prints references/SKILL.md.

mod common;

use common::{Portal, portal};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::{Map, Value, json};

/// The reply cap the servers of these tests run with.
const CAP: usize = 16 * 1024;

struct Mcp {
    client: RunningService<RoleClient, ()>,
}

impl Mcp {
    /// Calls a tool; the text of its reply and whether it is an error result.
    async fn call_raw(&self, tool: &str, args: Value) -> (bool, String) {
        let args: Map<String, Value> = args.as_object().cloned().unwrap_or_default();
        let r: CallToolResult = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
            .await
            .unwrap_or_else(|e| panic!("{tool}: the server must answer, got {e}"));
        let text: String = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        (r.is_error == Some(true), text)
    }

    /// A tool call that must succeed; its JSON answer.
    async fn ok(&self, tool: &str, args: Value) -> Value {
        let (err, text) = self.call_raw(tool, args).await;
        assert!(!err, "{tool} failed: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool}: not JSON ({e}): {text}"))
    }

    /// A tool call that must be an error result; its message.
    async fn err(&self, tool: &str, args: Value) -> String {
        let (err, text) = self.call_raw(tool, args).await;
        assert!(err, "{tool} should fail, got {text}");
        text
    }
}

/// Runs `f` with an MCP client connected to `b24 mcp ARGS` against the portal's webhook.
fn with_mcp<F>(p: &Portal, args: &[&str], f: impl FnOnce(Mcp) -> F)
where
    F: std::future::Future<Output = ()>,
{
    with_mcp_as(p, args, false, f);
}

/// [`with_mcp`], as the portal's OAuth app when `oauth` (app-only methods refuse webhooks).
fn with_mcp_as<F>(p: &Portal, args: &[&str], oauth: bool, f: impl FnOnce(Mcp) -> F)
where
    F: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cmd = p.std_cmd();
        cmd.arg("mcp")
            .args(["--max-reply-bytes", &CAP.to_string()])
            .args(args)
            .env("B24_WORKER_DB", p.dir.join("worker.db"));
        if oauth {
            let a = p.emu.oauth_app();
            cmd.env_remove("B24_WEBHOOK_URL")
                .env("B24_DOMAIN", p.emu.base_url())
                .env("B24_AUTH_MODE", "oauth")
                .env("B24_ACCESS_TOKEN", a.access_token)
                .env("B24_REFRESH_TOKEN", a.refresh_token)
                .env("B24_CLIENT_ID", a.client_id)
                .env("B24_CLIENT_SECRET", a.client_secret);
        }
        let transport = TokioChildProcess::new(tokio::process::Command::from(cmd)).unwrap();
        let client = ().serve(transport).await.expect("MCP handshake");
        f(Mcp { client }).await;
    });
}

fn audit(p: &Portal) -> Vec<Value> {
    std::fs::read_to_string(p.dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_tool_against_the_emulator() {
    let started = portal(3);
    let p = &started;
    with_mcp(p, &["--packs", "core"], |m| async move {
        let tools = m.client.list_all_tools().await.unwrap();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "call_method",
                "describe_method",
                "execute_plan",
                "find_methods",
                "least_privilege_scopes",
                "list_page",
                "plan_call",
                "queue_status"
            ]
        );
        for t in &tools {
            assert_eq!(
                t.input_schema["additionalProperties"],
                json!(false),
                "{}",
                t.name
            );
        }

        // The catalog tools answer from the specs, with no portal call.
        let before = p.requests();
        let found = m
            .ok(
                "find_methods",
                json!({"term": "deals", "text": "deal list"}),
            )
            .await;
        assert_eq!(found["pack"], "core");
        let row = &found["methods"][0];
        assert_eq!(row["method"], "crm.deal.list");
        assert_eq!(row["risk"], "read");
        assert_eq!(row["allowed"], true);
        let described = m
            .ok("describe_method", json!({"method": "crm.deal.add"}))
            .await;
        assert_eq!(described["risk"], "write");
        assert!(
            described["params"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fields"
                    && p["type"] == "entity:Deal"
                    && p["required"] == true)
        );
        let scopes = m
            .ok(
                "least_privilege_scopes",
                json!({"methods": ["crm.deal.add", "user.current"]}),
            )
            .await;
        assert!(
            scopes["scopes"].as_array().unwrap().contains(&json!("crm")),
            "{scopes}"
        );
        assert_eq!(p.requests(), before, "catalog tools call no portal");

        // A read goes through; the answer is concise (no envelope).
        let list = m
            .ok("call_method", json!({"method": "crm.deal.list"}))
            .await;
        assert_eq!(list["result"].as_array().unwrap().len(), 3);
        assert!(list.get("time").is_none());

        // Refused writes send nothing and say what would allow them.
        let add = json!({"method": "crm.deal.add", "params": {"fields": {"TITLE": "From MCP"}}});
        let before = p.requests();
        let why = m.err("call_method", add.clone()).await;
        assert!(why.contains("confirm_write: true"), "{why}");
        let why = m
            .err(
                "call_method",
                json!({"method": "crm.deal.delete", "params": {"id": 1}, "confirm_write": true}),
            )
            .await;
        assert!(why.contains("confirm_destructive: true"), "{why}");
        let why = m
            .err("call_method", json!({"method": "im.message.add", "params": {"DIALOG_ID": "1", "MESSAGE": "hi"}, "confirm_write": true}))
            .await;
        assert!(
            why.contains("outside this server's allowlist") && why.contains("comms"),
            "{why}"
        );
        assert_eq!(p.requests(), before, "a refused call sends 0 requests");

        // A confirmed write runs once; the same write again is the stored result.
        let mut confirmed = add.clone();
        confirmed["confirm_write"] = json!(true);
        let id = m.ok("call_method", confirmed.clone()).await["result"].clone();
        assert!(id.as_u64().is_some() || id.as_str().is_some(), "{id}");
        let again = m.ok("call_method", confirmed).await;
        assert_eq!(again["result"], id);
        assert!(again["replayed"].is_string(), "{again}");
        assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);

        // Plan, then execute once.
        let before = p.requests();
        let plan = m
            .ok(
                "plan_call",
                json!({"method": "crm.deal.add", "params": {"fields": {"TITLE": "Planned"}}}),
            )
            .await;
        let plan_id = plan["plan_id"].as_str().unwrap().to_owned();
        assert!(
            plan["next"]
                .as_str()
                .unwrap()
                .contains("confirm_write: true")
        );
        assert_eq!(p.requests(), before, "planning sends nothing");
        let why = m.err("execute_plan", json!({"plan_id": plan_id})).await;
        assert!(why.contains("confirm_write: true"), "{why}");
        let done = m
            .ok(
                "execute_plan",
                json!({"plan_id": plan_id, "confirm_write": true}),
            )
            .await;
        assert_eq!(done["plan_id"], json!(plan_id));
        let why = m
            .err(
                "execute_plan",
                json!({"plan_id": plan_id, "confirm_write": true}),
            )
            .await;
        assert!(why.contains("already executed"), "{why}");
        assert_eq!(p.emu.control().method_calls("crm.deal.add"), 2);

        // A page of a list, and the next one from its cursor.
        let page = m
            .ok("list_page", json!({"method": "crm.deal.list", "params": {"select": ["ID", "TITLE"]}, "max_rows": 2}))
            .await;
        assert_eq!(page["rows"].as_array().unwrap().len(), 2);
        assert_eq!(page["total"], 5);
        assert_eq!(page["next_cursor"], "2");
        let last = m
            .ok(
                "list_page",
                json!({"method": "crm.deal.list", "params": {"select": ["ID"]}, "cursor": "4"}),
            )
            .await;
        assert_eq!(last["rows"].as_array().unwrap().len(), 1);
        assert_eq!(last["next_cursor"], Value::Null);

        // The offline queue: the portal's answer (or its refusal) and the local worker state.
        let queue = m.ok("queue_status", json!({})).await;
        eprintln!("queue_status: {queue}");
        assert!(queue["worker"]["db"].is_string(), "{queue}");
        // A webhook may not read the offline queue: the answer says so, and what to do.
        let portal = queue["portal"]["error"].as_str().unwrap_or_default();
        assert!(
            portal.contains("WRONG_AUTH_TYPE") && portal.contains("OAuth app"),
            "{queue}"
        );
    });

    // Every guarded call left one audit row: refusals, the write, its replay, the plan.
    let rows = audit(p);
    let count = |method: &str, status: &str| {
        rows.iter()
            .filter(|r| r["method"] == method && r["status"] == status)
            .count()
    };
    assert_eq!(count("crm.deal.delete", "refused"), 1, "{rows:?}");
    assert_eq!(count("im.message.add", "refused"), 1);
    assert!(count("crm.deal.add", "refused") >= 2);
    assert_eq!(count("crm.deal.add", "idempotent_replay"), 1);
    assert_eq!(count("crm.deal.add", "planned"), 1);
    assert!(
        rows.iter()
            .all(|r| r["tenant"].is_string() && r["risk"].is_string())
    );
    let text = std::fs::read_to_string(p.dir.join("audit.jsonl")).unwrap();
    assert!(!text.contains("From MCP") && !text.contains(common::SECRET));
}

#[test]
fn bad_input_is_an_error_result_and_sends_nothing() {
    let started = portal(1);
    let p = &started;
    with_mcp(p, &["--packs", "core"], |m| async move {
        let before = p.requests();
        let why = m.err("drop_tables", json!({})).await;
        assert!(why.contains("unknown tool `drop_tables`"), "{why}");
        let why = m
            .err(
                "call_method",
                json!({"method": "crm.deal.list", "confirm": true}),
            )
            .await;
        assert!(why.contains("unknown argument `confirm`"), "{why}");
        let why = m.err("call_method", json!({"method": 42})).await;
        assert!(
            why.contains("`method` must be a string, got a number"),
            "{why}"
        );
        let why = m
            .err(
                "call_method",
                json!({"method": "crm.deal.get", "params": {"id": "five"}}),
            )
            .await;
        assert!(why.contains("parameter `id` takes id"), "{why}");
        let why = m
            .err("call_method", json!({"method": "crm.deal.get"}))
            .await;
        assert!(why.contains("missing parameter `id`"), "{why}");
        let why = m
            .err(
                "list_page",
                json!({"method": "crm.deal.list", "max_rows": 5000}),
            )
            .await;
        assert!(why.contains("1..=1000"), "{why}");
        let why = m
            .err(
                "list_page",
                json!({"method": "crm.deal.list", "cursor": "x"}),
            )
            .await;
        assert!(why.contains("bad cursor"), "{why}");
        let why = m
            .err("describe_method", json!({"method": "no.such.method"}))
            .await;
        assert!(why.contains("not in the specs"), "{why}");
        let why = m
            .err("call_method", json!({"method": "sale.order.list"}))
            .await;
        assert!(why.contains("outside this server's allowlist"), "{why}");
        let big = "x".repeat(1_100_000);
        let why = m
            .err(
                "call_method",
                json!({"method": "crm.deal.list", "params": {"filter": {"TITLE": big}}}),
            )
            .await;
        assert!(why.contains("the limit is 1048576"), "{why}");
        assert_eq!(p.requests(), before, "bad input sends 0 requests");
        // The server is still there.
        let found = m
            .ok("find_methods", json!({"pack": "core", "limit": 1}))
            .await;
        assert_eq!(found["methods"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn a_100k_row_list_in_bounded_pages() {
    let started = portal(100_000);
    let p = &started;
    with_mcp(p, &["--packs", "core"], |m| async move {
        let (mut cursor, mut seen, mut largest, mut replies) = (String::new(), 0u64, 0usize, 0u32);
        let mut last_id = 0u64;
        loop {
            let (err, text) = m
                .call_raw(
                    "list_page",
                    json!({"method": "crm.deal.list", "params": {"select": ["ID", "TITLE"]}, "cursor": cursor, "max_rows": 1000}),
                )
                .await;
            assert!(!err, "{text}");
            largest = largest.max(text.len());
            replies += 1;
            let v: Value = serde_json::from_str(&text).unwrap();
            for r in v["rows"].as_array().unwrap() {
                let id: u64 = r["ID"]
                    .as_str()
                    .map_or_else(|| r["ID"].as_u64().unwrap(), |s| s.parse().unwrap());
                assert!(id > last_id, "rows in order, none repeated");
                last_id = id;
                seen += 1;
            }
            match v["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, 100_000);
        assert!(
            largest <= CAP,
            "largest reply {largest} bytes over the cap {CAP}"
        );
        eprintln!("100000 rows in {replies} replies; largest reply {largest} bytes (cap {CAP})");
    });
}

#[test]
fn skill_prints_the_routing_guide() {
    let p = portal(0);
    let out = p.b24(&["skill"]);
    assert!(out.status.success());
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../references/SKILL.md"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert_eq!(p.requests(), 0);
}

#[test]
fn require_plan_sends_writes_only_through_plans() {
    let started = portal(0);
    let p = &started;
    with_mcp(p, &["--packs", "core", "--require-plan"], |m| async move {
        let add = json!({"method": "crm.deal.add", "params": {"fields": {"TITLE": "x"}}, "confirm_write": true});
        let why = m.err("call_method", add).await;
        assert!(why.contains("plan_call, then execute_plan"), "{why}");
        assert_eq!(p.requests(), 0, "a refused write sends 0 requests");
        let plan = m
            .ok(
                "plan_call",
                json!({"method": "crm.deal.add", "params": {"fields": {"TITLE": "x"}}}),
            )
            .await;
        let id = plan["plan_id"].as_str().unwrap();
        m.ok(
            "execute_plan",
            json!({"plan_id": id, "confirm_write": true}),
        )
        .await;
        assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);
    });
}

#[test]
fn queue_status_counts_what_waits_on_the_portal() {
    let started = portal(0);
    let p = &started;
    with_mcp_as(p, &["--packs", "core"], true, |m| async move {
        let bind = json!({"method": "event.bind", "params": {"event": "ONCRMDEALUPDATE", "event_type": "offline"}, "confirm_write": true});
        m.ok("call_method", bind).await;
        for i in 1..=3 {
            p.emu
                .control()
                .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": i.to_string()}}));
        }
        let queue = m.ok("queue_status", json!({})).await;
        assert_eq!(queue["portal"]["waiting"], 3, "{queue}");
    });
}
