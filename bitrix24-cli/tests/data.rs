//! `b24 export` / `b24 import` against the emulator: through the guardrails like `call`, a
//! round trip of deals, and an import that loses one batch answer and never sends it twice.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use bitrix24_emulator::{Emulator, Faults};
use common::{Portal, portal, portal_with, refused, secret_free, stderr};
use serde_json::{Value, json};

/// `b24 import crm.deal.add FILE --checkpoint CP --confirm-write EXTRA...`.
fn import(p: &Portal, file: &Path, extra: &[&str]) -> Output {
    let cp = p.path("deals.checkpoint");
    let mut args = vec![
        "import",
        "crm.deal.add",
        file.to_str().unwrap(),
        "--checkpoint",
        cp.to_str().unwrap(),
        "--confirm-write",
    ];
    args.extend_from_slice(extra);
    p.b24(&args)
}

/// `b24 export crm.deal.list --select ... --out FILE`.
fn export(p: &Portal, file: &Path) -> Output {
    let select = "ID,TITLE,STAGE_ID,OPPORTUNITY,CURRENCY_ID,CATEGORY_ID";
    p.b24(&[
        "export",
        "crm.deal.list",
        "--select",
        select,
        "--out",
        file.to_str().unwrap(),
    ])
}

fn audit_rows(p: &Portal) -> Vec<Value> {
    std::fs::read_to_string(p.path("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_deals(path: &Path, n: usize) {
    let mut text = String::new();
    for i in 1..=n {
        text.push_str(&json!({"TITLE": format!("Deal {i}")}).to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[allow(clippy::many_single_char_names)]
fn round_trip(n: u64) {
    let a = portal(n);
    let b = portal(0);
    let file = a.path("deals.jsonl");
    let before = a.requests();
    let o = export(&a, &file);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let export_requests = a.requests() - before;
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count() as u64, n);

    let before = b.requests();
    let o = import(&b, &file, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let import_requests = b.requests() - before;
    assert_eq!(b.emu.control().method_calls("crm.deal.add"), n);
    // A second run resumes from the checkpoint: nothing left to send.
    let again = b.requests();
    let o = import(&b, &file, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(b.requests(), again);

    let file_b = b.path("deals-b.jsonl");
    let o = export(&b, &file_b);
    assert_eq!(o.status.code(), Some(0));
    let strip = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("ID");
                v
            })
            .collect()
    };
    assert_eq!(
        strip(&exported),
        strip(&std::fs::read_to_string(&file_b).unwrap())
    );
    println!(
        "round trip N={n}: export {export_requests} requests (ceil(N/50)={}, ceil(N/2500)={}), import {import_requests} requests (ceil(N/50)={})",
        n.div_ceil(50),
        n.div_ceil(2500),
        n.div_ceil(50)
    );
    assert!(export_requests <= n.div_ceil(2500) + 1);
    assert_eq!(import_requests, n.div_ceil(50));
    // One audit row per request, each allowed and ok; the writes carry their batch's key.
    let rows = audit_rows(&b);
    let writes: Vec<&Value> = rows.iter().filter(|r| r["risk"] == "write").collect();
    assert_eq!(writes.len() as u64, n.div_ceil(50));
    assert!(writes.iter().all(|r| {
        r["status"] == "ok"
            && r["method"] == "crm.deal.add"
            && r["idempotency_key"]
                .as_str()
                .is_some_and(|k| k.contains("|auto:"))
    }));
    assert_eq!(
        audit_rows(&a).len() as u64,
        export_requests,
        "one row per export request"
    );
    secret_free(&a.dir);
    secret_free(&b.dir);
}

#[test]
fn export_import_round_trip() {
    round_trip(1_000);
}

#[test]
#[ignore = "10,000 deals: run with --ignored for the full figure"]
fn export_import_round_trip_10k() {
    round_trip(10_000);
}

#[test]
fn export_and_import_are_refused_like_call() {
    let p = portal(3);
    let file = p.path("in.jsonl");
    write_deals(&file, 3);
    let out = p.path("out.jsonl");
    let out = out.to_str().unwrap();
    refused(
        &p,
        &["export", "im.recent.list", "--out", out],
        &["im.recent.list", "outside the allowlist"],
    );
    refused(
        &p,
        &["export", "crm.deal.list", "--packs", "none", "--out", out],
        &["outside the allowlist"],
    );
    refused(
        &p,
        &["import", "crm.deal.add", file.to_str().unwrap()],
        &["crm.deal.add", "risk write", "--confirm-write"],
    );
    refused(
        &p,
        &[
            "import",
            "crm.deal.delete",
            file.to_str().unwrap(),
            "--confirm-write",
        ],
        &["line 1", "--confirm-destructive"],
    );
    // Refusals are audited.
    let rows = audit_rows(&p);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["status"] == "refused"));
    // The same import, confirmed, sent once: a second run without the checkpoint replays
    // every batch from the idempotency store instead of creating the deals again.
    let o = import(&p, &file, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_file(p.path("deals.checkpoint")).unwrap();
    let before = p.requests();
    let o = import(&p, &file, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("idempotent replay"), "{}", stderr(&o));
    assert_eq!(p.requests(), before);
    assert_eq!(p.emu.control().method_calls("crm.deal.add"), 3);
}

/// A resumed import refuses (exit 2, nothing sent), naming the lost batch's lines.
fn resume_refused(p: &Portal, file: &Path, lines: &str) {
    let before = p.requests();
    let o = import(p, file, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(lines), "{}", stderr(&o));
    assert!(stderr(&o).contains("--lost-batch"), "{}", stderr(&o));
    assert_eq!(p.requests(), before);
}

/// Waits until the portal has seen `n` requests.
fn wait_requests(p: &Portal, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while p.requests() < n {
        assert!(std::time::Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_lost_batch_answer_is_never_sent_again() {
    // Every request takes 200 ms, so the fault can be switched on between two batches.
    let slow = Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    };
    let p = portal_with(Emulator::builder().faults(slow.clone()));
    let file = p.path("in.jsonl");
    write_deals(&file, 150);
    let before = p.requests();
    let (o, ()) = std::thread::scope(|s| {
        let run = s.spawn(|| import(&p, &file, &[]));
        // Batch 1 (lines 1-50) arrived: the answer of batch 2 (lines 51-100) is lost.
        wait_requests(&p, before + 1);
        p.emu.control().set_faults(Faults {
            lose_response_after_write_ratio: 1.0,
            ..slow.clone()
        });
        (run.join().unwrap(), ())
    });
    p.emu.control().set_faults(Faults::default());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lines 51-100") && err.contains("--lost-batch"),
        "{err}"
    );
    assert_eq!(
        p.requests(),
        before + 2,
        "nothing re-sent after the lost answer"
    );
    assert_eq!(
        p.emu.control().entity_count("crm.deal"),
        100,
        "batch 2 was applied"
    );

    // The checkpoint holds the batch in flight; its idempotency key is kept as unknown.
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p.path(name)).unwrap()).unwrap()
    };
    let key = read("deals.checkpoint")["in_flight"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(read("idem.json")["entries"][&key]["status"], "unknown");

    // Resuming without saying what happened refuses, naming the batch, and sends nothing.
    let before = p.requests();
    resume_refused(&p, &file, "lines 51-100");
    // Told it was applied: only batch 3 is sent; every line exists exactly once.
    let o = import(&p, &file, &["--lost-batch", "applied"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.requests(), before + 1);
    assert!(read("idem.json")["entries"].get(&key).is_none(), "settled");
    assert!(read("deals.checkpoint")["in_flight"].is_null());
    let o = p.b24(&[
        "export",
        "crm.deal.list",
        "--select",
        "TITLE",
        "--out",
        p.path("out.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut titles: Vec<String> = std::fs::read_to_string(p.path("out.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["TITLE"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    titles.sort();
    let mut want: Vec<String> = (1..=150).map(|i| format!("Deal {i}")).collect();
    want.sort();
    assert_eq!(titles, want, "no line lost, none twice");
    secret_free(&p.dir);
}

#[test]
fn a_lost_batch_checked_as_not_applied_is_sent_again() {
    let p = portal(0);
    let file = p.path("in.jsonl");
    write_deals(&file, 3);
    let cp = json!({"method": "crm.deal.add", "done": 0, "ok": 0, "failed": 0,
        "in_flight": {"first": 0, "count": 3, "key": "127.0.0.1|crm.deal.add|auto:x"}});
    std::fs::write(p.path("deals.checkpoint"), cp.to_string()).unwrap();
    resume_refused(&p, &file, "lines 1-3");
    let o = import(&p, &file, &["--lost-batch", "resend"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(p.emu.control().entity_count("crm.deal"), 3);
}
