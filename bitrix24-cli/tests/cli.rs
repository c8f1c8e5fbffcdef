//! `b24` against the emulator: every refusal sends nothing, plans and replays write once,
//! the audit trail survives concurrent processes; the catalog commands.

use serde_json::{Value, json};

mod common;

use common::{portal, refused, secret_free, stderr, stdout_json};

/// Refusals: the arguments (`|`-separated) and the words the message must hold
/// (`|`-separated).
const REFUSALS: &[(&str, &str)] = &[
    ("crm.deal.list|--packs|core,nope", "unknown pack 'nope'"),
    (
        "crm.deal.list|--method-allowlist|crm deal",
        "invalid method pattern",
    ),
    (
        "crm.deal.list|--method-allowlist|crm.*;x",
        "invalid method pattern",
    ),
    (
        "im.message.add|--params|{}|--confirm-write",
        "im.message.add|outside the allowlist|--allow-unlisted",
    ),
    (
        "crm.deal.list|--packs|none",
        "crm.deal.list|outside the allowlist",
    ),
    (
        r#"batch|--params|{"cmd":{"a":"user.current","b":"im.message.add?DIALOG_ID=1"}}"#,
        "batch command 'b'|im.message.add",
    ),
    (
        r#"crm.deal.add|--params|{"fields":{"TITLE":"x"}}"#,
        "crm.deal.add|risk write|--confirm-write",
    ),
    (
        r#"crm.deal.delete|--params|{"id":1}|--confirm-write"#,
        "crm.deal.delete|risk destructive|--confirm-destructive",
    ),
    (
        r#"batch|--params|{"cmd":{"a":"crm.deal.list","b":"crm.deal.delete?id=1"}}|--confirm-write"#,
        "batch|risk destructive|--confirm-destructive",
    ),
    (
        r#"crm.deal.add|--params|{"fields":{"TITLE":"x"}}|--confirm-write|--require-plan"#,
        "plan is required|--plan-only",
    ),
    // Bad input.
    ("crm.deal.list|--params|{oops", "Invalid JSON in --params"),
    (
        "crm.deal.list|--params|[1,2]",
        "must decode to a JSON object",
    ),
    (
        "crm.deal.list|--params|\"x\"",
        "must decode to a JSON object",
    ),
    ("crm.deal.list;rm -rf|--params|{}", "invalid method name"),
    ("crm deal list", "invalid method name"),
    ("", ""),
    (
        r#"batch|--params|{"cmd":{"a":"batch?cmd[x]=user.current"}}"#,
        "nested batch",
    ),
];

fn split(s: &str) -> Vec<&str> {
    s.split('|').filter(|w| !w.is_empty()).collect()
}

#[test]
fn every_refusal_exits_2_and_sends_nothing() {
    let p = portal(3);
    for (args, words) in REFUSALS {
        refused(&p, &split(args), &split(words));
    }
    let o = p
        .cmd()
        .env("B24_REQUIRE_PLAN", "1")
        .args([
            "crm.deal.add",
            "--params",
            r#"{"fields":{}}"#,
            "--confirm-write",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let cmd: serde_json::Map<String, Value> = (0..51)
        .map(|i| (format!("c{i}"), json!("user.current")))
        .collect();
    let big = json!({ "cmd": cmd }).to_string();
    refused(
        &p,
        &["batch", "--params", &big],
        &["51 commands", "limit is 50"],
    );
    // The audit has a row for every refusal that reached the guard, none with a value.
    let audit = std::fs::read_to_string(p.path("audit.jsonl")).unwrap_or_default();
    assert!(audit.lines().all(|l| l.contains("\"status\":\"refused\"")));
    assert!(!audit.contains("\"TITLE\":\"x\"") && !audit.contains("im.message.add?DIALOG"));
    secret_free(&p.dir);
}

#[test]
fn plan_then_execute_writes_once_and_plan_states_are_refused() {
    let p = portal(0);
    let params = r#"{"fields":{"TITLE":"Planned"}}"#;
    let before = p.requests();
    let o = p.b24(&["crm.deal.add", "--params", params, "--plan-only"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.requests(), before, "planning sends nothing");
    let plan = stdout_json(&o);
    let id = plan["plan"]["plan_id"].as_str().unwrap().to_owned();
    assert_eq!(plan["plan"]["risk"], "write");

    // Executing still needs the confirmation (and that refusal does not burn the plan).
    refused(&p, &["--execute-plan", &id], &["--confirm-write"]);
    refused(
        &p,
        &["crm.deal.update", "--execute-plan", &id, "--confirm-write"],
        &["does not match planned method 'crm.deal.add'"],
    );
    let o = p.b24(&["--execute-plan", &id, "--confirm-write"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);
    refused(
        &p,
        &["--execute-plan", &id, "--confirm-write"],
        &["already executed"],
    );
    refused(
        &p,
        &["--execute-plan", "0123456789abcdef0123", "--confirm-write"],
        &["not found"],
    );
    assert_eq!(
        p.emu.control().method_calls("crm.deal.add"),
        1,
        "exactly one portal write"
    );

    // Expired and foreign plans, as another process or another portal left them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("plans.json")).unwrap()).unwrap();
    let mut expired = state["plans"][&id].clone();
    expired["plan_id"] = json!("expired0000000000000");
    expired["executed"] = json!(false);
    expired["expires_at"] = json!(now - 10);
    let mut foreign = expired.clone();
    foreign["plan_id"] = json!("foreign0000000000000");
    foreign["expires_at"] = json!(now + 600);
    foreign["tenant"] = json!("other.bitrix24.com");
    state["plans"]["expired0000000000000"] = expired;
    state["plans"]["foreign0000000000000"] = foreign;
    std::fs::write(p.path("plans.json"), state.to_string()).unwrap();
    refused(
        &p,
        &["--execute-plan", "expired0000000000000", "--confirm-write"],
        &["expired"],
    );
    refused(
        &p,
        &["--execute-plan", "foreign0000000000000", "--confirm-write"],
        &["another tenant"],
    );
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);

    // require-plan: the direct write is refused, the planned one runs.
    let params2 = r#"{"fields":{"TITLE":"Planned 2"}}"#;
    refused(
        &p,
        &[
            "crm.deal.add",
            "--params",
            params2,
            "--confirm-write",
            "--require-plan",
        ],
        &["plan is required"],
    );
    let o = p.b24(&[
        "crm.deal.add",
        "--params",
        params2,
        "--plan-only",
        "--require-plan",
    ]);
    let id2 = stdout_json(&o)["plan"]["plan_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = p.b24(&["--execute-plan", &id2, "--confirm-write", "--require-plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 2);
    secret_free(&p.dir);
}

#[test]
fn idempotent_replay_writes_once_and_a_reused_key_is_refused() {
    let p = portal(0);
    let params = r#"{"fields":{"TITLE":"Once"}}"#;
    let first = p.b24(&["crm.deal.add", "--params", params, "--confirm-write"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let before = p.requests();
    let again = p.b24(&["crm.deal.add", "--params", params, "--confirm-write"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(first.stdout, again.stdout, "the stored result");
    assert!(stderr(&again).contains("idempotent replay"));
    assert_eq!(p.requests(), before);
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);

    // An explicit key reused with other params.
    let o = p.b24(&[
        "crm.deal.add",
        "--params",
        r#"{"fields":{"TITLE":"A"}}"#,
        "--confirm-write",
        "--idempotency-key",
        "order-7",
    ]);
    assert_eq!(o.status.code(), Some(0));
    refused(
        &p,
        &[
            "crm.deal.add",
            "--params",
            r#"{"fields":{"TITLE":"B"}}"#,
            "--confirm-write",
            "--idempotency-key",
            "order-7",
        ],
        &["used with different params"],
    );
    // A key from origin_id in the params.
    let with_origin = r#"{"fields":{"TITLE":"C"},"origin_id":"ext-1"}"#;
    let o = p.b24(&["crm.deal.add", "--params", with_origin, "--confirm-write"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    refused(
        &p,
        &[
            "crm.deal.add",
            "--params",
            r#"{"fields":{"TITLE":"D"},"origin_id":"ext-1"}"#,
            "--confirm-write",
        ],
        &["used with different params"],
    );
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 3);
    // --no-idempotency sends again.
    let o = p.b24(&[
        "crm.deal.add",
        "--params",
        params,
        "--confirm-write",
        "--no-idempotency",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 4);

    // A failed call clears its key: the same call is sent again (and fails again).
    let bad = r#"{"id":999999,"fields":{"TITLE":"x"}}"#;
    for _ in 0..2 {
        let o = p.b24(&["crm.deal.update", "--params", bad, "--confirm-write"]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains("code=") && err.contains("status="), "{err}");
    }
    assert_eq!(p.emu.control().method_calls("crm.deal.update"), 2);
    // No param value in the audit (origin_id is hashed in the key).
    let audit = std::fs::read_to_string(p.path("audit.jsonl")).unwrap();
    assert!(!audit.contains("ext-1") && !audit.contains("Once"));
    assert!(audit.contains("\"status\":\"idempotent_replay\""));
    secret_free(&p.dir);
}

#[test]
fn in_progress_key_is_not_run_twice() {
    let p = portal(0);
    let params = json!({"fields": {"TITLE": "busy"}});
    let tenant = "127.0.0.1";
    let key = format!("{tenant}|crm.deal.add|job-1");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let state = json!({"entries": {key: {
        "status": "in_progress",
        "params_hash": bitrix24::policy::params_hash("crm.deal.add", &params),
        "updated_at": now,
        "expires_at": now + 3600,
    }}});
    std::fs::write(p.path("idem.json"), state.to_string()).unwrap();
    refused(
        &p,
        &[
            "crm.deal.add",
            "--params",
            &params.to_string(),
            "--confirm-write",
            "--idempotency-key",
            "job-1",
        ],
        &["in progress"],
    );
}

#[test]
fn audit_rows_from_4_concurrent_processes() {
    let p = portal(0);
    let per = 250;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per {
                    let o = p.b24(&["user.current"]);
                    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
                }
            });
        }
    });
    let text = std::fs::read_to_string(p.path("audit.jsonl")).unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut bad = 0;
    for line in text.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v["method"] == "user.current" && v["status"] == "ok" => {
                ids.insert(v["request_id"].as_str().unwrap_or("").to_owned());
            }
            _ => bad += 1,
        }
    }
    assert_eq!(text.lines().count(), 1000);
    assert_eq!(bad, 0, "interleaved or malformed rows");
    assert_eq!(ids.len(), 1000, "distinct request ids");
    assert!(text.ends_with('\n'));
    println!("audit: 1000 rows, {bad} malformed, secret occurrences 0");
    secret_free(&p.dir);
}

#[test]
fn catalog_commands() {
    let p = portal(0);
    let o = p.b24(&["packs", "--term", "open lines"]);
    assert_eq!(stdout_json(&o)["pack"], "comms");
    let o = p.b24(&["methods", "core"]);
    let rows = stdout_json(&o);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["method"] == "crm.deal.add" && r["risk"] == "write")
    );
    refused(&p, &["methods", "nope"], &["unknown pack"]);
    let o = p.b24(&["scopes", "crm.deal.list", "user.current"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = stdout_json(&o);
    assert!(v["scopes"].as_array().unwrap().contains(&json!("crm")));
    let o = p.b24(&["--list-packs"]);
    assert_eq!(stdout_json(&o)["selected_packs"], json!(["core"]));
    let o = p.b24(&[
        "crm.deal.list",
        "--output",
        "table",
        "--params",
        r#"{"select":["ID"]}"#,
    ]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_write_whose_answer_was_lost_is_not_sent_again() {
    let p = portal(0);
    let params = r#"{"fields":{"TITLE":"Lost"}}"#;
    p.emu.control().set_faults(bitrix24_emulator::Faults {
        lose_response_after_write_ratio: 1.0,
        ..bitrix24_emulator::Faults::default()
    });
    let o = p.b24(&["crm.deal.add", "--params", params, "--confirm-write"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("OUTCOMEUNKNOWN"), "{}", stderr(&o));
    p.emu
        .control()
        .set_faults(bitrix24_emulator::Faults::default());
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 1);
    refused(
        &p,
        &["crm.deal.add", "--params", params, "--confirm-write"],
        &["outcome of an earlier call", "unknown", "--no-idempotency"],
    );
    assert_eq!(p.emu.control().entity_count("crm.deal"), 1, "applied once");
}

/// `--rest-v3` sends an untyped write to REST 3.0 with an `Idempotency-Key`: when every answer
/// is lost the call is re-sent with that key and the portal replays instead of running it
/// again (one task, replays counted); the same write on v2 is sent once and left unknown.
#[test]
fn rest_v3_writes_carry_an_idempotency_key() {
    let p = portal(0);
    p.emu.control().set_faults(bitrix24_emulator::Faults {
        lose_response_after_write_ratio: 1.0,
        ..bitrix24_emulator::Faults::default()
    });
    let v3 = r#"{"fields":{"title":"Over v3","responsibleId":1}}"#;
    let o = p.b24(&[
        "tasks.task.add",
        "--rest-v3",
        "--params",
        v3,
        "--confirm-write",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let replays = p.emu.control().idempotent_replays();
    assert!(replays >= 1, "re-sent with its key: {replays} replays");
    assert_eq!(p.emu.control().entity_count("tasks.task"), 1, "ran once");

    let v2 = r#"{"fields":{"TITLE":"Over v2","RESPONSIBLE_ID":1}}"#;
    let o = p.b24(&["tasks.task.add", "--params", v2, "--confirm-write"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("OUTCOMEUNKNOWN"), "{}", stderr(&o));
    assert_eq!(
        p.emu.control().idempotent_replays(),
        replays,
        "v2 sends no key"
    );
    assert_eq!(p.emu.control().entity_count("tasks.task"), 2);
}

/// On REST 3.0 the guard's idempotency key travels as the `Idempotency-Key`: with the local
/// idempotency file gone (another machine, a lost disk), the same keyed write is answered
/// from the portal's store instead of running twice.
#[test]
fn rest_v3_sends_the_guard_key_to_the_portal() {
    let p = portal(0);
    let params = r#"{"fields":{"title":"Keyed","responsibleId":1}}"#;
    let args = [
        "tasks.task.add",
        "--rest-v3",
        "--params",
        params,
        "--confirm-write",
        "--idempotency-key",
        "order-2041",
    ];
    let first = p.b24(&args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    std::fs::remove_file(p.path("idem.json")).unwrap();
    let again = p.b24(&args);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        p.emu.control().idempotent_replays(),
        1,
        "the portal replayed"
    );
    assert_eq!(p.emu.control().entity_count("tasks.task"), 1, "ran once");
    assert_eq!(stdout_json(&first)["result"], stdout_json(&again)["result"]);
}
