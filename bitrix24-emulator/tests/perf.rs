//! Throughput measurements (ignored by default; run with
//! `cargo test --release -p bitrix24-emulator --test perf -- --ignored --nocapture`).

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{post, seeded};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn keyset_batch(after: i64) -> Value {
    let mut cmd = serde_json::Map::new();
    for i in 0..50 {
        let from = if i == 0 {
            after.to_string()
        } else {
            format!("$result[c{}][49][ID]", i - 1)
        };
        cmd.insert(
            format!("c{i}"),
            json!(format!(
                "crm.deal.list?select[]=ID&select[]=TITLE&select[]=STAGE_ID&order[ID]=ASC&filter[>ID]={from}&start=-1"
            )),
        );
    }
    json!({"halt": 0, "cmd": cmd})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release"]
async fn measure_seed_and_list_throughput() {
    let rss0 = rss_mb();
    let t = Instant::now();
    let emu = seeded(1_000_000).await;
    println!(
        "seeded 1,000,000 deals in {:.2?}; RSS {:.0} MB -> {:.0} MB",
        t.elapsed(),
        rss0,
        rss_mb()
    );
    let url = format!("{}batch", emu.webhook_url());
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for w in 0..2i64 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut rows = 0usize;
            let mut after = w * 400_000;
            while Instant::now() < deadline {
                let b: Value = client
                    .post(&url)
                    .json(&keyset_batch(after))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let res = &b["result"]["result"];
                let mut last = after;
                for i in 0..50 {
                    if let Some(a) = res[format!("c{i}")].as_array() {
                        rows += a.len();
                        if let Some(id) = a.last().and_then(|r| r["ID"].as_str()) {
                            last = id.parse().unwrap();
                        }
                    }
                }
                after = if last >= 999_000 { 0 } else { last };
            }
            rows
        }));
    }
    let t = Instant::now();
    let mut rows = 0;
    for h in tasks {
        rows += h.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "listed {rows} rows in {secs:.2}s = {:.0} rows/s (2 clients, batches of 50 pages, 3 fields)",
        rows as f64 / secs
    );
    // A counted first page over 1M rows (total computed).
    let t = Instant::now();
    let b: Value = post(
        &format!("{}crm.deal.list", emu.webhook_url()),
        &json!({"select": ["ID"], "filter": {">OPPORTUNITY": 50000}}),
    )
    .await
    .1;
    println!(
        "counted filtered list over 1M: total={} in {:.2?}",
        b["total"],
        t.elapsed()
    );
}
