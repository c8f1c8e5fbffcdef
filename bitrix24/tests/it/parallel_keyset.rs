//! The parallel keyset walk: id ranges from one sampling request, walked at once; every row
//! once, the requests it costs, its fallbacks to one chain, and its wire format.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

// the >ID keyset walk over legacy crm.deal.list pages and its request counts
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealDelete, CrmDealList, CrmItemList, Deal};
use bitrix24::{Client, Error, RateLimit, RetryPolicy, RowOrder, Strategy, StreamOptions};
use bitrix24_emulator::{Faults, Limits};
use futures::{Stream, TryStreamExt};
use serde_json::{Value, json};

use crate::canned::{Canned, Seen};
use crate::paging::{batch_answer, rows};
use crate::support::{emulator, fast_retry, hook_client, object};

fn id_of(row: &Deal) -> u64 {
    row.id.expect("every row has an id")
}

/// A webhook client that keeps `width` batch requests in flight and has no limiter.
fn client_of_width(webhook: &str, width: usize) -> Client {
    Client::builder()
        .webhook(webhook)
        .no_rate_limit()
        .batch_concurrency(width)
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// Reads up to `n` ids from a stream (which stays paused afterwards: streams are lazy).
async fn take<S>(stream: &mut S, n: usize) -> Vec<u64>
where
    S: Stream<Item = Result<Deal, Error>> + Unpin,
{
    let mut ids = Vec::new();
    while ids.len() < n {
        match stream.try_next().await.unwrap() {
            Some(row) => ids.push(id_of(&row)),
            None => break,
        }
    }
    ids
}

fn ascending(ids: &[u64]) -> bool {
    ids.windows(2).all(|w| w[0] < w[1])
}

// the reason is on the imports
#[allow(deprecated)]
fn deals() -> CrmDealList {
    CrmDealList::new().select(["ID", "TITLE"])
}

// the reason is on the imports
#[allow(deprecated)]
fn late(i: usize) -> CrmDealAdd {
    CrmDealAdd::new(Deal {
        title: Some(format!("late {i}")),
        ..Deal::default()
    })
}

/// Rows deleted behind and ahead of the walk and added during it: the ranges read later see
/// the deletes, nothing is read twice, every row that existed throughout is read, in
/// ascending order.
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn ranges_read_every_row_once_while_rows_come_and_go() {
    let emu = emulator().seed_deals(12_000).start().await.unwrap();
    let c = client_of_width(&emu.webhook_url(), 2);
    let mut stream = c.stream(&deals());
    let mut ids = take(&mut stream, 50).await;
    // Behind the cursor, ahead of it (range 2 of 2,500 rows), and at the end.
    let ahead: Vec<u64> = (3_000..3_010).chain(8_000..8_005).collect();
    for id in (10..20).chain(ahead[..10].iter().copied()) {
        assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    }
    for i in 0..5 {
        c.send(&late(i)).await.unwrap();
    }
    ids.extend(take(&mut stream, 2_500).await);
    // Range 4 (ids 7,551..10,050) is not requested yet with two ranges in flight.
    for &id in &ahead[10..] {
        assert!(c.send(&CrmDealDelete::new(id)).await.unwrap());
    }
    ids.extend(take(&mut stream, usize::MAX).await);
    assert!(ascending(&ids), "ascending, hence no repeats");
    let seen: HashSet<u64> = ids.iter().copied().collect();
    for id in 1..=12_000u64 {
        assert_eq!(seen.contains(&id), !ahead.contains(&id), "row {id}");
    }
    assert_eq!(ids.len(), 12_000 - ahead.len() + 5, "the 5 late rows too");
}

/// Writers run next to a walk of 20,000 rows by ranges in any order: no row twice, every row
/// that existed throughout once.
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn concurrent_writers_never_make_a_row_repeat_or_go_missing() {
    const N: u64 = 20_000;
    let emu = emulator().seed_deals(N).start().await.unwrap();
    emu.control().set_faults(Faults {
        latency: Duration::from_millis(20),
        ..Faults::default()
    });
    let reader = client_of_width(&emu.webhook_url(), 2);
    let writer = hook_client(&emu.webhook_url());
    let walk = tokio::spawn(async move {
        let options = StreamOptions::new().row_order(RowOrder::PerRange);
        let rows: Vec<Deal> = reader
            .stream_with_options(&deals(), options)
            .try_collect()
            .await
            .unwrap();
        rows.iter().map(id_of).collect::<Vec<u64>>()
    });
    let (mut deleted, mut added) = (Vec::new(), Vec::new());
    let mut round = 0u64;
    while !walk.is_finished() {
        // Five deletes spread over the id space and one add, at once.
        let ids: Vec<u64> = (0..5).map(|j| 1 + ((round * 5 + j) * 977) % N).collect();
        let requests: Vec<CrmDealDelete> = ids.iter().map(|&id| CrmDealDelete::new(id)).collect();
        let add = late(round as usize);
        let deletes = futures::future::join_all(requests.iter().map(|r| writer.send(r)));
        let (gone, new) = tokio::join!(deletes, writer.send(&add));
        for (id, gone) in ids.into_iter().zip(gone) {
            if gone.unwrap() {
                deleted.push(id);
            }
        }
        added.push(new.unwrap());
        round += 1;
    }
    let ids = walk.await.unwrap();
    assert!(
        round >= 3,
        "the writers ran during the walk ({round} rounds)"
    );
    let seen: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(seen.len(), ids.len(), "no row twice");
    for id in (1..=N).filter(|id| !deleted.contains(id)) {
        assert!(
            seen.contains(&id),
            "row {id} existed throughout and was not read"
        );
    }
    let known: HashSet<u64> = (1..=N).chain(added.iter().copied()).collect();
    assert!(seen.is_subset(&known), "only rows that existed");
    assert!(
        deleted.iter().any(|id| !seen.contains(id)),
        "some rows were deleted before their range was read"
    );
}

/// The default order is ascending over the whole list, whatever order the ranges finish in.
#[tokio::test]
async fn merged_rows_come_out_in_ascending_id_order() {
    let emu = emulator().seed_deals(10_321).start().await.unwrap();
    emu.control().set_faults(Faults {
        latency: Duration::from_millis(3),
        ..Faults::default()
    });
    let c = client_of_width(&emu.webhook_url(), 16);
    let rows: Vec<Deal> = c.list_all(&deals()).await.unwrap();
    let ids: Vec<u64> = rows.iter().map(id_of).collect();
    assert_eq!(ids, (1..=10_321).collect::<Vec<_>>());
}

/// A read of N rows costs at most ceil(N / 2,500) + 2 requests (the first page and the
/// sample), all inside the standard burst: no limit error, with retries off.
#[tokio::test]
async fn a_walk_costs_at_most_two_requests_more_than_its_batches() {
    for n in [10_000u64, 10_050, 12_345] {
        let emu = emulator()
            .seed_deals(n)
            .limits(Limits::Standard)
            .start()
            .await
            .unwrap();
        let c = Client::builder()
            .webhook(&emu.webhook_url())
            .rate_limit(RateLimit::standard())
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let before = emu.control().request_count();
        let rows: Vec<Deal> = c.list_all(&deals()).await.unwrap();
        let requests = emu.control().request_count() - before;
        assert_eq!(rows.len() as u64, n);
        assert!(
            requests <= n.div_ceil(2_500) + 2,
            "{n} rows took {requests} requests"
        );
    }
}

/// The requests of one chain: the first page, then one batch per 2,500 rows.
fn chain_requests(n: u64) -> u64 {
    1 + (n - 50).div_ceil(2_500)
}

/// A filter that already bounds the id (other than `>ID`), and `sequential(true)`, keep one
/// chain: no sample is sent.
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn filters_on_the_id_and_the_sequential_option_keep_one_chain() {
    let emu = emulator().seed_deals(6_000).start().await.unwrap();
    let c = client_of_width(&emu.webhook_url(), 8);
    let walks: Vec<(CrmDealList, StreamOptions, u64)> = vec![
        (
            deals().filter(object(json!({"<ID": 5_001}))),
            StreamOptions::new(),
            5_000,
        ),
        (
            deals().filter(object(json!({"<=ID": 5_000, ">ID": 100}))),
            StreamOptions::new(),
            4_900,
        ),
        (
            deals().filter(object(json!({"!ID": 7}))),
            StreamOptions::new(),
            5_999,
        ),
        (
            deals(),
            StreamOptions::new()
                .strategy(Strategy::Keyset)
                .sequential(true),
            6_000,
        ),
    ];
    for (list, options, n) in walks {
        let before = emu.control().request_count();
        let rows: Vec<Deal> = c
            .stream_with_options(&list, options)
            .try_collect()
            .await
            .unwrap();
        let requests = emu.control().request_count() - before;
        let ids: Vec<u64> = rows.iter().map(id_of).collect();
        assert!(ascending(&ids));
        assert_eq!(ids.len() as u64, n);
        assert_eq!(requests, chain_requests(n), "{list:?}");
    }
    // The same list without the id filter is split: the sample travels with the first page,
    // so the ranges cost as many requests as the chain, in two round trips instead of four.
    let before = emu.control().request_count();
    let rows = c.list_all(&deals()).await.unwrap();
    assert_eq!(rows.len(), 6_000);
    assert_eq!(
        emu.control().request_count() - before,
        chain_requests(6_000)
    );
}

/// The first request is one batch: the first page (`f`) and the sample chained from its last
/// id, each sample command reading `start=2450` after the previous one's last id, the id
/// alone; a closed range is filtered by `<=ID` of its last id, and rows above it (a portal
/// that ignores `<=ID`) are left to the next range, never read twice.
#[tokio::test]
async fn the_sample_and_the_ranges_on_the_wire() {
    let server = Canned::serve(Arc::new(|seen: Seen| {
        let answer = if seen.body.contains("s0") {
            // f is full; s0 is full: range (50, 2550]; s1 is short: the final range (2550, ..).
            batch_answer(&[
                ("f", rows(1, 50)),
                ("s0", rows(2_501, 50)),
                ("s1", rows(5_001, 3)),
            ])
        } else if seen.body.contains("%3C%3DID") {
            // Past the range's end: the portal ignored `<=ID`.
            batch_answer(&[("k0", rows(2_541, 50))])
        } else {
            batch_answer(&[("k0", rows(2_551, 10))])
        };
        Box::pin(async move { Some(answer) })
    }))
    .await;
    let c = client_of_width(&server.webhook(), 2);
    let rows: Vec<Deal> = c.list_all(&deals()).await.unwrap();
    let ids: Vec<u64> = rows.iter().map(id_of).collect();
    let want: Vec<u64> = (1..=50).chain(2_541..=2_560).collect();
    assert_eq!(ids, want);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    let body = |i: usize| -> Value { serde_json::from_str(&seen[i].body).unwrap() };
    let first = body(0)["cmd"].as_object().unwrap().clone();
    assert_eq!(first.len(), 50);
    assert_eq!(
        first["f"],
        "crm.deal.list?select[0]=ID&select[1]=TITLE&order[ID]=ASC&start=-1&filter[%3EID]=0"
    );
    assert_eq!(
        first["s0"],
        "crm.deal.list?select[0]=ID&order[ID]=ASC&start=2450&filter[%3EID]=%24result%5Bf%5D%5B49%5D%5BID%5D"
    );
    assert_eq!(
        first["s1"],
        "crm.deal.list?select[0]=ID&order[ID]=ASC&start=2450&filter[%3EID]=%24result%5Bs0%5D%5B49%5D%5BID%5D"
    );
    let ranges: Vec<String> = (1..3)
        .map(|i| body(i)["cmd"]["k0"].as_str().unwrap().to_owned())
        .collect();
    let closed = "crm.deal.list?select[0]=ID&select[1]=TITLE&order[ID]=ASC&start=-1&filter[%3C%3DID]=2550&filter[%3EID]=50";
    let open =
        "crm.deal.list?select[0]=ID&select[1]=TITLE&order[ID]=ASC&start=-1&filter[%3EID]=2550";
    assert!(ranges.iter().any(|r| r == closed), "{ranges:?}");
    assert!(ranges.iter().any(|r| r == open), "{ranges:?}");
}

/// A short list costs no more requests than one chain: the sample rides in the first
/// request, and a list the first page ends takes that one request (2,550 rows fill the first
/// page and one closed range exactly, so the open range after it asks once more).
#[tokio::test]
async fn a_short_list_costs_the_requests_of_one_chain() {
    for (n, requests) in [(2_549u64, 2u64), (2_550, 3), (2_551, 3), (40, 1)] {
        let emu = emulator().seed_deals(n).start().await.unwrap();
        let c = client_of_width(&emu.webhook_url(), 8);
        let rows = c.list_all(&deals()).await.unwrap();
        let ids: Vec<u64> = rows.iter().map(id_of).collect();
        assert_eq!(ids, (1..=n).collect::<Vec<_>>());
        assert_eq!(emu.control().request_count(), requests, "{n} rows");
    }
}

/// A list whose rows sit under a wrapper (`crm.item.list`: `items`, the id field `id`) links
/// its sample to the first page through the wrapper: `$result[f][items][49][id]`.
#[tokio::test]
async fn a_wrapped_list_links_its_sample_through_the_wrapper() {
    let items = |from: u64, n: u64| -> Value {
        json!({"items": (from..from + n).map(|i| json!({"id": i})).collect::<Vec<_>>()})
    };
    let server = Canned::serve(Arc::new(move |seen: Seen| {
        let answer = if seen.body.contains("s0") {
            // The first page is full, the sample short: one open range after id 50.
            batch_answer(&[("f", items(1, 50)), ("s0", items(2_451, 10))])
        } else {
            batch_answer(&[("k0", items(51, 5))])
        };
        Box::pin(async move { Some(answer) })
    }))
    .await;
    let c = client_of_width(&server.webhook(), 2);
    let rows = c.list_all(&CrmItemList::new(2)).await.unwrap();
    let ids: Vec<u64> = rows.iter().filter_map(|r| r.id).collect();
    assert_eq!(ids, (1..=55).collect::<Vec<_>>());
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let first: Value = serde_json::from_str(&seen[0].body).unwrap();
    let s0 = first["cmd"]["s0"].as_str().unwrap();
    assert!(
        s0.ends_with("&filter[%3Eid]=%24result%5Bf%5D%5Bitems%5D%5B49%5D%5Bid%5D"),
        "{s0}"
    );
}
