//! Typed decoding straight from the body bytes versus a detour through `serde_json::Value`
//! (what a client that first parses the envelope generically does). Report the ratio of the
//! two, measured in the same run.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use std::hint::black_box;

/// A deal row as `crm.deal.list` returns it (numbers as strings).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Deal {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "TITLE")]
    title: String,
    #[serde(rename = "STAGE_ID")]
    stage_id: String,
    #[serde(rename = "OPPORTUNITY")]
    opportunity: String,
    #[serde(rename = "CURRENCY_ID")]
    currency_id: String,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

fn page() -> Vec<u8> {
    let rows: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            serde_json::json!({
                "ID": i.to_string(), "TITLE": format!("Deal #{i} for \u{41a}\u{43e}\u{43c}\u{43f}\u{430}\u{43d}\u{438}\u{44f}"),
                "STAGE_ID": "C1:NEW", "OPPORTUNITY": "19999.99", "CURRENCY_ID": "EUR",
                "UF_CRM_1721244482250": "Hello", "DATE_CREATE": "2024-08-30T14:29:00+02:00"
            })
        })
        .collect();
    // The documented `time` block.
    let time: serde_json::Value = serde_json::from_str(
        r#"{"start":1721722262.960948,"finish":1721722262.985244,"duration":0.0242,"processing":0.0013,
            "date_start":"2024-07-23T08:11:02+00:00","date_finish":"2024-07-23T08:11:02+00:00",
            "operating_reset_at":1721722862,"operating":0}"#,
    )
    .unwrap();
    serde_json::to_vec(
        &serde_json::json!({"result": rows, "next": 50, "total": 7531, "time": time}),
    )
    .unwrap()
}

fn decode(c: &mut Criterion) {
    let body = page();
    let mut group = c.benchmark_group("decode_50_deals");
    group.bench_function("typed_from_bytes", |b| {
        b.iter(|| {
            let r = bitrix24::envelope::decode_response::<Vec<Deal>>(
                "crm.deal.list",
                200,
                black_box(&body),
            )
            .unwrap();
            black_box(r.result.len())
        });
    });
    group.bench_function("via_value", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
            let rows: Vec<Deal> = serde_json::from_value(v["result"].clone()).unwrap();
            black_box(rows.len())
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = decode
}
criterion_main!(benches);
