//! `b24 worker` against the emulator: offline events bound and produced, drained by the
//! worker, a poison record in the dead-letter queue, a fatal answer exits 1.

mod common;

use std::process::Output;

use assert_cmd::Command;
use common::{Portal, portal, stderr};
use serde_json::{Value, json};

/// The seed's variables for the emulator's OAuth app (`event.offline.*` refuse webhooks).
fn oauth_envs(p: &Portal) -> Vec<(&'static str, String)> {
    let a = p.emu.oauth_app();
    vec![
        ("B24_DOMAIN", p.emu.base_url()),
        ("B24_AUTH_MODE", "oauth".to_owned()),
        ("B24_ACCESS_TOKEN", a.access_token),
        ("B24_REFRESH_TOKEN", a.refresh_token),
        ("B24_CLIENT_ID", a.client_id),
        ("B24_CLIENT_SECRET", a.client_secret),
    ]
}

/// `b24` with the OAuth app instead of the webhook.
fn oauth(p: &Portal) -> Command {
    let mut c = p.std_cmd();
    c.env_remove("B24_WEBHOOK_URL").envs(oauth_envs(p));
    Command::from_std(c)
}

fn run(p: &Portal, args: &[&str]) -> Output {
    let o = oauth(p).args(args).output().unwrap();
    let a = p.emu.oauth_app();
    for s in [&o.stdout, &o.stderr] {
        let text = String::from_utf8_lossy(s);
        for secret in [&a.access_token, &a.refresh_token, &a.client_secret] {
            assert!(
                !text.contains(secret.as_str()),
                "secret printed by {args:?}"
            );
        }
    }
    o
}

/// Binds ONCRMDEALUPDATE as an offline event through `b24 call`, then changes deals 1..=n.
fn fill(p: &Portal, n: u64) {
    let o = run(
        p,
        &[
            "event.bind",
            "--params",
            r#"{"event":"ONCRMDEALUPDATE","event_type":"offline"}"#,
            "--confirm-write",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for i in 1..=n {
        p.emu
            .control()
            .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": i.to_string()}}));
    }
    assert_eq!(p.emu.control().offline_queue_len() as u64, n);
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn stats(o: &Output) -> Value {
    let err = stderr(o);
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("{}");
    serde_json::from_str(line).unwrap()
}

#[test]
fn once_drains_the_queue_and_a_poison_record_lands_in_the_dlq() {
    let p = portal(0);
    fill(&p, 20);
    let handled = p.path("handled.jsonl");
    // Deal 7 always fails (retried, then dead-lettered); deal 9 is refused for good (exit 65).
    let script = format!(
        r#"r=$(cat); case "$r" in *'"object_id":"7"'*) exit 1;; *'"object_id":"9"'*) exit 65;; esac; printf '%s\n' "$r" >> {}"#,
        handled.display()
    );
    let o = run(
        &p,
        &[
            "worker",
            "--once",
            "--sleep",
            "0.02",
            "--max-retries",
            "3",
            "--exec",
            &script,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stats(&o);
    assert_eq!(s["processed"], 18, "{s}");
    assert_eq!(s["dead_lettered"], 2, "{s}");
    assert_eq!(
        s["failed"], 2,
        "budget 3: two set-asides, then the DLQ: {s}"
    );
    assert_eq!(p.emu.control().offline_queue_len(), 0, "everything cleared");
    let rows = jsonl(&std::fs::read_to_string(&handled).unwrap());
    let mut ids: Vec<u64> = rows
        .iter()
        .map(|r| r["object_id"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    let want: Vec<u64> = (1..=20).filter(|i| *i != 7 && *i != 9).collect();
    assert_eq!(ids, want, "each record handled once");
    assert!(rows.iter().all(|r| r["event"] == "ONCRMDEALUPDATE"));

    let dlq = jsonl(&std::fs::read_to_string(p.path(".runtime/offline_dlq.jsonl")).unwrap());
    let mut dead: Vec<(String, u64)> = dlq
        .iter()
        .map(|d| {
            (
                d["object_id"].as_str().unwrap().to_owned(),
                d["retry_count"].as_u64().unwrap(),
            )
        })
        .collect();
    dead.sort();
    assert_eq!(dead, [("7".to_owned(), 3), ("9".to_owned(), 1)]);
    assert!(
        dlq.iter()
            .all(|d| d["tenant"].is_string() && d["message_id"].is_string())
    );

    // A second run finds nothing, and writes no dead letter twice.
    let o = run(&p, &["worker", "--once", "--exec", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stats(&o)["processed"], 0);
    let again = std::fs::read_to_string(p.path(".runtime/offline_dlq.jsonl")).unwrap();
    assert_eq!(again.lines().count(), 2);
}

#[test]
fn without_exec_records_are_printed_as_json_lines() {
    let p = portal(0);
    fill(&p, 3);
    let o = run(&p, &["worker", "--once", "--db", "w.db"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = jsonl(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["message_id"].is_string() && r["attempt"] == 1)
    );
    assert!(p.path("w.db").exists());
    assert_eq!(p.emu.control().offline_queue_len(), 0);
}

#[test]
fn a_fatal_answer_exits_1_and_bad_flags_exit_2() {
    let p = portal(0);
    // A webhook is refused by event.offline.get (WRONG_AUTH_TYPE): no retry fixes that.
    let o = p.b24(&["worker", "--once"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("code=WRONG_AUTH_TYPE") && err.contains("status="),
        "{err}"
    );
    let before = p.requests();
    for bad in [
        &["worker", "--sleep", "-1"][..],
        &["worker", "--max-retries", "0"],
        &["worker", "--sleep", "soon"],
    ] {
        let o = p.b24(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    assert_eq!(p.requests(), before, "nothing sent");
}

#[test]
fn the_loop_drains_new_events_and_stops_on_sigterm() {
    let p = portal(0);
    fill(&p, 5);
    let mut child = p
        .std_cmd()
        .env_remove("B24_WEBHOOK_URL")
        .envs(oauth_envs(&p))
        .args(["worker", "--sleep", "0.05"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait_empty = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while p.emu.control().offline_queue_len() > 0 {
            assert!(std::time::Instant::now() < deadline, "queue not drained");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_empty();
    // Events that arrive while it waits are picked up by the next poll.
    for i in 6..=8 {
        p.emu
            .control()
            .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": i.to_string()}}));
    }
    wait_empty();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(jsonl(&out).len(), 8, "every record printed once");
    let line = err.lines().rev().find(|l| l.starts_with('{')).unwrap();
    let s: Value = serde_json::from_str(line).unwrap();
    assert_eq!(s["processed"], 8, "{s}");
}
