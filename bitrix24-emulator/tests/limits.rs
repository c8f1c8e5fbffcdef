//! Limits and faults: the request-rate bucket, the operating-time limit, injected faults.
#![allow(clippy::many_single_char_names)]

mod support;

use bitrix24_emulator::{Emulator, Faults, Limits};
use serde_json::{Value, json};
use std::time::Duration;
use support::{assert_error, client, emu, get, post};

#[tokio::test]
async fn request_rate_limit() {
    let e = Emulator::builder()
        .webhook(1, "C")
        .limits(Limits::Custom {
            drain_per_sec: 0.0001,
            burst: 3,
        })
        .start()
        .await
        .unwrap();
    let url = format!("{}server.time", e.webhook_url());
    for _ in 0..3 {
        assert_eq!(get(&url).await.0, 200);
    }
    let (s, b) = get(&url).await;
    assert_error(s, &b, 503, "QUERY_LIMIT_EXCEEDED");
    assert_eq!(b["error_description"], "Too many requests");
    e.control().advance_clock(Duration::from_secs(20_000));
    assert_eq!(get(&url).await.0, 200);
}

#[tokio::test]
async fn operating_time_limit() {
    let mut faults = Faults::default();
    faults
        .method_processing
        .insert("crm.deal.list".into(), Duration::from_secs(200));
    let e = Emulator::builder()
        .webhook(1, "C")
        .faults(faults)
        .start()
        .await
        .unwrap();
    let url = format!("{}crm.deal.list", e.webhook_url());
    let mut last = Value::Null;
    for _ in 0..3 {
        let (s, b) = get(&url).await;
        assert_eq!(s, 200);
        last = b;
    }
    assert!(last["time"]["operating"].as_f64().unwrap() >= 600.0);
    let (s, b) = get(&url).await;
    assert_error(s, &b, 429, "OPERATION_TIME_LIMIT");
    // Other methods are not blocked; in a batch the blocked command lands in result_error.
    assert_eq!(get(&format!("{}server.time", e.webhook_url())).await.0, 200);
    let (_, b) = post(
        &format!("{}batch", e.webhook_url()),
        &json!({"cmd": {"x": "crm.deal.list"}}),
    )
    .await;
    assert_eq!(
        b["result"]["result_error"]["x"]["error"],
        "OPERATION_TIME_LIMIT"
    );
    // The window expires.
    e.control().advance_clock(Duration::from_secs(601));
    assert_eq!(get(&url).await.0, 200);
}

#[tokio::test]
async fn faults() {
    let e = emu().await;
    let c = e.control();
    let url = format!("{}crm.deal.add", e.webhook_url());
    c.set_faults(Faults {
        error_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let (s, b) = post(&url, &json!({"fields": {"TITLE": "x"}})).await;
    assert_error(s, &b, 500, "INTERNAL_SERVER_ERROR");
    assert_eq!(c.entity_count("crm.deal"), 0);
    c.set_faults(Faults {
        drop_connection_ratio: 1.0,
        ..Faults::default()
    });
    assert!(unanswered(&url, &json!({"fields": {"TITLE": "x"}})).await);
    assert_eq!(c.entity_count("crm.deal"), 0);
    c.set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
    assert!(unanswered(&url, &json!({"fields": {"TITLE": "x"}})).await);
    assert_eq!(c.entity_count("crm.deal"), 1, "the write was applied");
    c.set_faults(Faults {
        truncate_body_ratio: 1.0,
        ..Faults::default()
    });
    let r = client()
        .post(&url)
        .json(&json!({"fields": {"TITLE": "x"}}))
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(r) => r
            .bytes()
            .await
            .map_or(true, |b| serde_json::from_slice::<Value>(&b).is_err()),
    };
    assert!(broken);
    c.set_faults(Faults {
        latency: Duration::from_millis(50),
        ..Faults::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(get(&format!("{}server.time", e.webhook_url())).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(50));
    // Determinism: same seed, same sequence.
    let mut seqs = Vec::new();
    for _ in 0..2 {
        c.set_faults(Faults {
            error_5xx_ratio: 0.5,
            seed: 7,
            ..Faults::default()
        });
        let mut seq = Vec::new();
        for _ in 0..10 {
            seq.push(get(&format!("{}server.time", e.webhook_url())).await.0);
        }
        seqs.push(seq);
    }
    assert_eq!(seqs[0], seqs[1]);
    assert!(seqs[0].contains(&500) && seqs[0].contains(&200));
}

/// Whether a POST of `body` to `url` got no answer (the connection failed or was dropped).
async fn unanswered(url: &str, body: &Value) -> bool {
    client().post(url).json(body).send().await.is_err()
}
