//! Several clients of one portal in one process draw on one request budget: together they
//! never send a request over the portal's bucket.

use bitrix24::packs::core::{CrmDealAdd, CrmDealList, Deal};
use bitrix24::{Client, RateLimit, RetryPolicy};
use bitrix24_emulator::Limits;

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
