//! `b24 doctor` against the emulator: every check it prints, on a healthy portal, a wrong
//! webhook, an unreachable portal, a webhook without the scope, a feature off and a broken
//! configuration, with their exit codes.

mod common;

use std::process::Output;

use bitrix24_emulator::Emulator;
use common::{Portal, portal, portal_with, stderr, stdout_json};
use serde_json::Value;

const CHECKS: &[&str] = &[
    "config",
    "reachability",
    "auth",
    "scopes",
    "method crm.deal.list",
    "method user.current",
    "offline events",
    "limits",
];

/// The status of each check, by name, in the order printed.
fn statuses(o: &Output) -> Vec<(String, String)> {
    let v = stdout_json(o);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn detail(o: &Output, check: &str) -> String {
    let v: Value = stdout_json(o);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .map(|c| c["detail"].as_str().unwrap().to_owned())
        .unwrap()
}

fn expect(o: &Output, code: i32, want: &[(&str, &str)]) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    let got = statuses(o);
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(got, want);
}

fn all(status_of: impl Fn(&str) -> &'static str) -> Vec<(&'static str, &'static str)> {
    CHECKS.iter().map(|c| (*c, status_of(c))).collect()
}

fn doctor(p: &Portal, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["doctor"];
    args.extend_from_slice(extra);
    let o = p
        .cmd()
        .env("B24_WEBHOOK_URL", url)
        .args(&args)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(common::SECRET));
    assert!(!stderr(&o).contains(common::SECRET));
    o
}

#[test]
fn a_healthy_portal_passes_every_check() {
    let p = portal(0);
    let o = doctor(&p, &p.emu.webhook_url(), &[]);
    expect(&o, 0, &all(|_| "ok"));
    assert_eq!(detail(&o, "auth"), "user 1");
    assert!(detail(&o, "reachability").starts_with("server.time "));
    assert!(detail(&o, "limits").contains("time.operating"));
    // A feature the portal does not have is a warning, not a failure.
    let o = doctor(&p, &p.emu.webhook_url(), &["--feature", "no_such_feature"]);
    expect(
        &o,
        0,
        &all(|c| if c == "offline events" { "warn" } else { "ok" }),
    );
}

#[test]
fn a_wrong_webhook_fails_auth_and_skips_the_rest() {
    let p = portal(0);
    let wrong = p.emu.webhook_url().replace(common::SECRET, "wrongcode123");
    let o = doctor(&p, &wrong, &[]);
    expect(
        &o,
        1,
        &all(|c| match c {
            "config" | "reachability" | "limits" => "ok",
            "auth" => "fail",
            _ => "skipped",
        }),
    );
    assert!(
        detail(&o, "auth").contains("INVALID_CREDENTIALS"),
        "{}",
        detail(&o, "auth")
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("wrongcode123"));
}

#[test]
fn an_unreachable_portal_fails_reachability() {
    let p = portal(0);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let o = doctor(&p, &format!("http://127.0.0.1:{port}/rest/1/abc123/"), &[]);
    expect(
        &o,
        1,
        &all(|c| match c {
            "config" | "limits" => "ok",
            "reachability" => "fail",
            _ => "skipped",
        }),
    );
}

#[test]
fn a_webhook_without_the_scope_fails_scopes_and_the_method() {
    let p = portal_with(Emulator::builder().webhook_with_scopes(2, "limited77", &["user"]));
    let url = p
        .emu
        .webhook_url()
        .replace(common::SECRET, "limited77")
        .replace("/1/", "/2/");
    let o = doctor(&p, &url, &[]);
    expect(
        &o,
        1,
        &all(|c| match c {
            "scopes" | "method crm.deal.list" => "fail",
            _ => "ok",
        }),
    );
    assert!(
        detail(&o, "scopes").contains("crm.deal.list needs crm"),
        "{}",
        detail(&o, "scopes")
    );
}

#[test]
fn a_broken_configuration_exits_2_and_sends_nothing() {
    let p = portal(0);
    let before = p.requests();
    let o = p
        .cmd()
        .env_remove("B24_WEBHOOK_URL")
        .env("B24_DOMAIN", p.emu.base_url())
        .env("B24_AUTH_MODE", "nope")
        .arg("doctor")
        .output()
        .unwrap();
    expect(&o, 2, &[("config", "fail")]);
    assert!(stderr(&o).contains("B24_AUTH_MODE"));
    let o = p
        .cmd()
        .args(["doctor", "--methods", "crm deal"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(p.requests(), before);
}
