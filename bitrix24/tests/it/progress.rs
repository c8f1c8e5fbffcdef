//! Pagination that cannot make progress ends with a typed error after a bounded number of
//! requests: a portal that ignores `start` or the `>ID` filter, a `next` that goes back, an
//! empty page that still announces `next`, and a `total` too large to plan.
//!
//! Every walk runs under a tokio timeout: a guard against a hang, not a timing assertion.

use std::time::Duration;

// legacy crm.deal.list pages that make no progress (start and >ID)
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealList, Deal};
use bitrix24::{Client, Error, ErrorKind, ListMethod, Strategy};
use futures::{Stream, TryStreamExt};
use serde_json::{Value, json};

use crate::canned::{Answer, Canned, json};
use crate::support::{fast_retry, hook_client, object};

/// Rows read before a walk gives up (bounds memory when a walk does not stop).
const MAX_ROWS: usize = 20_000;

fn rows(from: u64, n: u64) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| json!({"ID": i.to_string(), "TITLE": format!("Deal {i}")}))
            .collect(),
    )
}

/// A plain list answer (the documented envelope: `result`, `next`, `total`, `time`).
fn page(rows: Value, next: Option<Value>, total: Option<Value>) -> Answer {
    let mut v =
        json!({"result": null, "time": {"start": 1_724_916_859.4, "finish": 1_724_916_859.5}});
    v["result"] = rows;
    if let Some(n) = next {
        v["next"] = n;
    }
    if let Some(t) = total {
        v["total"] = t;
    }
    json(200, &v.to_string())
}

/// A batch answer: `results` under `result.result`, `nexts` under `result.result_next`.
fn batch(results: &[(String, Value)], nexts: &[(String, u64)]) -> Answer {
    let map: serde_json::Map<String, Value> = results.iter().cloned().collect();
    let next: serde_json::Map<String, Value> =
        nexts.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
    let next = if next.is_empty() {
        json!([])
    } else {
        Value::Object(next)
    };
    json(
        200,
        &json!({"result": {"result": map, "result_error": [], "result_total": [],
            "result_next": next, "result_time": []}, "time": {}})
        .to_string(),
    )
}

/// Reads a stream to its end, its first error, or [`MAX_ROWS`]; the tokio timeout guards
/// against a walk that hangs.
async fn walk<S>(stream: S) -> (Vec<Deal>, Option<Error>)
where
    S: Stream<Item = Result<Deal, Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(60), async move {
        let mut stream = stream;
        let mut out = Vec::new();
        loop {
            match stream.try_next().await {
                Ok(Some(row)) => {
                    out.push(row);
                    if out.len() >= MAX_ROWS {
                        return (out, None);
                    }
                }
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    })
    .await
    .expect("the walk never hangs")
}

// the reason is on the imports
#[allow(deprecated)]
fn ids(rows: &[Deal]) -> Vec<u64> {
    rows.iter()
        .map(|r| CrmDealList::item_id(r).expect("every row has an id"))
        .collect()
}

/// The error is the typed no-progress error naming the method, and says what was wrong.
#[track_caller]
fn no_progress(err: Option<Error>, what: &str) {
    let err = err.expect("the walk ends with an error, not quietly or never");
    match &err {
        Error::Pagination { method, message } => {
            assert_eq!(method, "crm.deal.list");
            assert!(message.contains(what), "`{what}` not in: {message}");
        }
        other => panic!("expected Error::Pagination, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(!err.is_retryable());
}

// the reason is on the imports
#[allow(deprecated)]
fn offset(c: &Client) -> impl Stream<Item = Result<Deal, Error>> + Unpin {
    c.stream_with(
        &CrmDealList::new().select(["ID", "TITLE"]),
        Strategy::Offset,
    )
}

/// Serves `answers`, walks them by offset, and checks that the walk ended with the
/// no-progress error saying `what`: the rows read and the server (for what it saw).
async fn stopped_offset_walk(answers: Vec<Answer>, what: &str) -> (Vec<Deal>, Canned) {
    let server = Canned::start(answers).await;
    let (rows, err) = walk(offset(&hook_client(&server.webhook()))).await;
    no_progress(err, what);
    (rows, server)
}

/// A client of `server` with one batch request in flight at a time, so that the requests a
/// walk sends are counted exactly.
fn one_batch_at_a_time(server: &Canned) -> Client {
    Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .retry(fast_retry())
        .batch_concurrency(1)
        .build()
        .unwrap()
}

/// Walks the deals whose id is above `bound` (as the caller wrote it) against a server that
/// answers `answer`: the rows, the error the walk ended with, and the server.
// the reason is on the imports
#[allow(deprecated)]
async fn walk_above(bound: &Value, answer: Answer) -> (Vec<Deal>, Option<Error>, Canned) {
    let server = Canned::start(vec![answer]).await;
    let c = hook_client(&server.webhook());
    let (rows, err) =
        walk(c.stream(&CrmDealList::new().filter(object(json!({">ID": bound}))))).await;
    (rows, err, server)
}

fn starts(server: &Canned) -> Vec<Value> {
    server
        .seen()
        .iter()
        .map(|s| serde_json::from_str::<Value>(&s.body).unwrap()["start"].clone())
        .collect()
}

#[tokio::test]
async fn an_offset_walk_stops_when_the_portal_ignores_start() {
    // Every answer is the first page again, with `next: 50` and no `total`.
    let (rows, server) = stopped_offset_walk(
        vec![page(rows(1, 50), Some(json!(50)), None); 40],
        "does not move past",
    )
    .await;
    assert_eq!(ids(&rows), (1..=50).collect::<Vec<_>>(), "no row repeated");
    assert_eq!(starts(&server), vec![json!(0), json!(50)]);
}

#[tokio::test]
async fn an_offset_walk_stops_when_next_goes_back() {
    let mut answers = vec![
        page(rows(1, 50), Some(json!(50)), None),
        page(rows(51, 50), Some(json!(30)), None),
    ];
    answers.extend(vec![page(rows(31, 50), Some(json!(80)), None); 40]);
    let (rows, server) = stopped_offset_walk(answers, "next 30").await;
    assert_eq!(ids(&rows), (1..=50).collect::<Vec<_>>());
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_offset_walk_stops_when_next_stands_still_on_the_first_page() {
    let (rows, server) =
        stopped_offset_walk(vec![page(rows(1, 50), Some(json!(0)), None); 40], "next 0").await;
    assert!(rows.is_empty());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn an_offset_walk_stops_at_an_empty_page_that_announces_next() {
    let mut answers = vec![page(rows(1, 50), Some(json!(50)), None)];
    answers.extend((2..40).map(|i| page(json!([]), Some(json!(i * 50)), None)));
    let (rows, server) = stopped_offset_walk(answers, "empty page").await;
    assert_eq!(rows.len(), 50);
    assert_eq!(server.seen().len(), 2);

    // The first page already empty, with `next`.
    let answers = (1..40)
        .map(|i| page(json!([]), Some(json!(i * 50)), None))
        .collect();
    let (rows, server) = stopped_offset_walk(answers, "empty page").await;
    assert!(rows.is_empty());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn an_offset_walk_stops_when_pages_repeat_with_a_moving_next() {
    // The portal ignores `start` but counts `next` on: the same rows come back each time.
    let answers = (1..40)
        .map(|i| page(rows(1, 50), Some(json!(i * 50)), None))
        .collect();
    let (rows, server) = stopped_offset_walk(answers, "repeats").await;
    assert_eq!(ids(&rows), (1..=50).collect::<Vec<_>>(), "no row repeated");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn batched_offset_pages_whose_next_does_not_move_end_the_walk() {
    // `total` is known, so the other pages go by batch; the portal ignores `start` in them
    // and says `next: 50` for each.
    let results: Vec<(String, Value)> = (1..=50u64)
        .map(|i| (format!("p{}", i * 50), rows(1, 50)))
        .collect();
    let nexts: Vec<(String, u64)> = (1..=50u64).map(|i| (format!("p{}", i * 50), 50)).collect();
    let mut answers = vec![page(rows(1, 50), Some(json!(50)), Some(json!(10_000)))];
    answers.extend(vec![batch(&results, &nexts); 10]);
    let server = Canned::start(answers).await;
    let c = one_batch_at_a_time(&server);
    let (rows, err) = walk(offset(&c)).await;
    no_progress(err, "does not move past");
    assert_eq!(ids(&rows), (1..=50).collect::<Vec<_>>(), "no row repeated");
    assert_eq!(server.seen().len(), 2);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_keyset_walk_stops_when_the_portal_ignores_the_id_filter() {
    // The first plain call and every batch command answer the first 50 rows again.
    let results: Vec<(String, Value)> = (0..50).map(|i| (format!("k{i}"), rows(1, 50))).collect();
    let mut answers = vec![page(rows(1, 50), None, None)];
    answers.extend(vec![batch(&results, &[]); 10]);
    let server = Canned::start(answers).await;
    let c = hook_client(&server.webhook());
    let chain = bitrix24::StreamOptions::new()
        .strategy(Strategy::Keyset)
        .sequential(true);
    let (rows, err) = walk(c.stream_with_options(&CrmDealList::new().select(["ID"]), chain)).await;
    no_progress(err, "not above");
    assert_eq!(ids(&rows), (1..=50).collect::<Vec<_>>(), "no row repeated");
    assert_eq!(server.seen().len(), 2);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_keyset_walk_never_hands_out_rows_the_callers_bound_excludes() {
    // The caller asked for ids above 1000; the portal ignores `>ID` (the first page is
    // command `f` of the walk's first request).
    let first = batch(&[("f".to_owned(), rows(1, 50))], &[]);
    let server = Canned::start(vec![first; 10]).await;
    let c = hook_client(&server.webhook());
    let (rows, err) =
        walk(c.stream(&CrmDealList::new().filter(object(json!({">ID": 1000}))))).await;
    no_progress(err, "not above");
    assert!(rows.is_empty(), "{:?}", ids(&rows));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_huge_total_is_refused_with_a_typed_error_not_planned() {
    // `1e20` is read as the largest u64: planning every `start` up to it would exhaust memory.
    let (rows, server) = stopped_offset_walk(
        vec![page(rows(1, 50), Some(json!(50)), Some(json!(1e20)))],
        "total",
    )
    .await;
    assert_eq!(rows.len(), 50, "the first page's rows come first");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_large_total_is_planned_lazily_and_the_walk_ends_at_an_empty_page() {
    // 500 million rows announced, but the portal runs dry at start 100.
    let mut results: Vec<(String, Value)> = vec![("p50".to_owned(), rows(51, 50))];
    results.extend((2..=50u64).map(|i| (format!("p{}", i * 50), json!([]))));
    let server = Canned::start(vec![
        page(rows(1, 50), Some(json!(50)), Some(json!(500_000_000u64))),
        batch(&results, &[("p50".to_owned(), 100)]),
    ])
    .await;
    let c = one_batch_at_a_time(&server);
    let (rows, err) = walk(offset(&c)).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(ids(&rows), (1..=100).collect::<Vec<_>>());
    assert_eq!(
        server.seen().len(),
        2,
        "no batch after the one with an empty page"
    );
}

#[tokio::test]
async fn the_callers_id_bound_is_kept_in_every_written_form() {
    for bound in [
        json!(100),
        json!(100.0),
        json!("100 "),
        json!(" 100"),
        json!("100"),
    ] {
        let first = batch(&[("f".to_owned(), rows(101, 2))], &[]);
        let (rows, err, server) = walk_above(&bound, first).await;
        assert!(err.is_none(), "{bound}: {err:?}");
        assert_eq!(ids(&rows), vec![101, 102], "{bound}");
        let sent: Value = serde_json::from_str(&server.seen()[0].body).unwrap();
        let page = sent["cmd"]["f"].as_str().unwrap();
        assert!(page.ends_with("&filter[%3EID]=100"), "{bound}: {page}");
    }
}

#[tokio::test]
async fn an_unreadable_id_bound_is_refused_naming_the_filter_key() {
    for bound in [
        json!("abc"),
        json!(100.5),
        json!(-1),
        json!(true),
        json!(""),
    ] {
        let (rows, err, server) = walk_above(&bound, page(rows(1, 2), None, None)).await;
        assert!(rows.is_empty(), "{bound}");
        let err = err.unwrap_or_else(|| panic!("{bound}: accepted"));
        assert!(
            matches!(&err, Error::InvalidInput { method, message }
                if method == "crm.deal.list" && message.contains("filter[>ID]")),
            "{bound}: {err}"
        );
        assert!(server.seen().is_empty(), "{bound}: nothing is sent");
    }
}
