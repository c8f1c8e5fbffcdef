//! Several clients of one portal in one process draw on one request budget: together they
//! never send a request over the portal's bucket.

use std::time::Duration;

// a request budget drawn by legacy crm.deal.* calls, comparable with earlier runs
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealList, Deal};
use bitrix24::{Client, RateLimit, RetryPolicy};
use bitrix24_emulator::{Faults, Limits};

use crate::support::emulator;

/// A client with the standard quota and no retries: a single `QUERY_LIMIT_EXCEEDED` fails it.
fn strict_client(webhook: &str) -> Client {
    Client::builder()
        .webhook(webhook)
        .rate_limit(RateLimit::standard())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// One client reads 10,000 deals (6 requests) while another writes 2,600 (52 batch requests):
/// 58 requests against a bucket of 50, none rejected.
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn two_clients_of_one_portal_share_its_bucket() {
    let emu = emulator()
        .seed_deals(10_000)
        .limits(Limits::Standard)
        .start()
        .await
        .unwrap();
    let reader = strict_client(&emu.webhook_url());
    let writer = strict_client(&emu.webhook_url());
    let adds: Vec<CrmDealAdd> = (0..2_600)
        .map(|i| {
            CrmDealAdd::new(Deal {
                title: Some(format!("bulk {i}")),
                ..Deal::default()
            })
        })
        .collect();
    let list = CrmDealList::new().select(["ID"]);
    let (rows, written) = tokio::join!(reader.list_all(&list), writer.send_all(&adds));
    let rows = rows.unwrap();
    let written = written.unwrap();
    assert!(rows.len() >= 10_000, "{} rows", rows.len());
    assert_eq!(written.len(), 2_600);
    for (i, r) in written.iter().enumerate() {
        assert!(r.is_ok(), "write {i}: {r:?}");
    }
    assert!(
        emu.control().request_count() >= 58,
        "the clients went over the burst together: the test proves something"
    );
}

/// A bulk write uses the bucket's burst at once, then the drain rate: with a second of
/// latency per request, the whole burst (the bucket less the client's headroom: 50 - 5) has
/// reached the portal before it applied the first batch, and the 60 batches still meet no
/// `QUERY_LIMIT_EXCEEDED` on a strict bucket (retries off: one rejection would fail a write).
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_bulk_write_sends_its_burst_at_once_then_follows_the_drain() {
    let emu = emulator()
        .limits(Limits::Custom {
            drain_per_sec: 20.0,
            burst: 50,
        })
        .faults(Faults {
            latency: Duration::from_secs(1),
            ..Faults::default()
        })
        .start()
        .await
        .unwrap();
    let writer = Client::builder()
        .webhook(&emu.webhook_url())
        .rate_limit(RateLimit::custom(20.0, 50).unwrap())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let adds: Vec<CrmDealAdd> = (0..3_000)
        .map(|i| CrmDealAdd::new(Deal::new().title(format!("burst {i}"))))
        .collect();
    let control = emu.control();
    let watch = tokio::spawn(async move {
        // Requests that reached the portal while it had applied none of them.
        let mut before_first = 0;
        loop {
            let arrived = control.request_count();
            if control.entity_count("crm.deal") > 0 {
                return before_first;
            }
            before_first = arrived;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let written = writer.send_all(&adds).await.unwrap();
    for (i, r) in written.iter().enumerate() {
        assert!(r.is_ok(), "write {i}: {r:?}");
    }
    assert_eq!(emu.control().entity_count("crm.deal"), 3_000);
    assert_eq!(emu.control().request_count(), 60);
    let before_first = watch.await.unwrap();
    assert_eq!(
        before_first, 45,
        "the burst was not sent at once (4 in flight is the old width)"
    );
}
