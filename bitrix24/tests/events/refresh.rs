//! The refresh race across processes: 100 concurrent calls on an expired token from 2
//! processes sharing one SQLite store reach the token endpoint exactly once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bitrix24::events::{SqliteStore, TenantStore};
use serde_json::json;

use crate::support::{child, install, is_child, portal, temp_db};

const CHILD_NAME: &str = "refresh::refresh_child";
const PER_PROCESS: usize = 50;

#[tokio::test]
async fn refresh_child() {
    if !is_child(CHILD_NAME) {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap();
    let store = SqliteStore::open(var("B24_DB")).await.unwrap();
    let app = bitrix24::OAuthApp::new(var("B24_CLIENT_ID"), var("B24_CLIENT_SECRET"))
        .token_url(format!("{}/oauth/token/", var("B24_URL")));
    let client = bitrix24::events::tenant_client(
        &store,
        app,
        &var("B24_MEMBER"),
        bitrix24::Client::builder().no_rate_limit(),
    )
    .await
    .unwrap();
    std::fs::write(var("B24_READY"), b"ready").unwrap();
    while !std::path::Path::new(&var("B24_GO")).exists() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let calls: Vec<_> = (0..PER_PROCESS)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.call("user.current", json!({})).await })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => eprintln!("call failed: {e}"),
        }
    }
    println!("SUCCESSES {ok} REFRESHES {}", client.token_refreshes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_one_refresh() {
    if std::env::var(crate::support::CHILD).is_ok() {
        return;
    }
    let emu = portal().await;
    let db = temp_db("refresh");
    let store = SqliteStore::open(&db).await.unwrap();
    let a = install(&store, &emu).await;
    let before = store.tokens(&a.member_id).await.unwrap().unwrap();
    emu.control().expire_access_tokens();
    let dir = db.parent().unwrap().to_path_buf();
    let go = dir.join("go");
    let procs: Vec<_> = (0..2)
        .map(|i| {
            let mut envs = crate::support::child_envs(&db, &emu, &a);
            envs.push((
                "B24_READY",
                dir.join(format!("ready{i}")).display().to_string(),
            ));
            envs.push(("B24_GO", go.display().to_string()));
            child(CHILD_NAME, &envs)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(dir.join("ready0").exists() && dir.join("ready1").exists()) {
        assert!(Instant::now() < deadline, "children not ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let tokens_before = emu.control().token_requests();
    std::fs::write(&go, b"go").unwrap();
    let mut successes = 0;
    let mut refreshes = 0;
    for p in procs {
        let out = p.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.starts_with("SUCCESSES"))
            .unwrap_or_else(|| panic!("no result: {text}"));
        let nums: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        successes += nums[0];
        refreshes += nums[1];
    }
    let token_requests = emu.control().token_requests() - tokens_before;
    println!(
        "refresh race: 2 processes x {PER_PROCESS} calls: {successes} successes, \
         {token_requests} token request(s) at the endpoint, {refreshes} sent by the clients"
    );
    assert_eq!(successes, 2 * PER_PROCESS as u64);
    assert_eq!(token_requests, 1);
    let after = store.tokens(&a.member_id).await.unwrap().unwrap();
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "the rotated pair was saved"
    );
}
