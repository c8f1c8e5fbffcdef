//! Pagination strategies: the exact requests each one sends, and how pages become rows.

// legacy crm.deal.list paging: flat pages, start=-1 and >ID keyset, the requests it sends
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealList, CrmItemList, TasksTaskListV2};
use bitrix24::{Error, ListMethod, Strategy, StreamOptions};
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::canned::{Answer, Canned, json};
use crate::support::{hook_client, object, seeded_portal};

pub(crate) fn rows(from: u64, n: u64) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| json!({"ID": i.to_string(), "TITLE": format!("Deal {i}")}))
            .collect(),
    )
}

/// A plain list answer of rows `from..from + n`.
fn page(from: u64, n: u64, total: Option<u64>, next: Option<u64>) -> Answer {
    let mut v = json!({"result": rows(from, n), "time": {}});
    if let Some(t) = total {
        v["total"] = json!(t);
    }
    if let Some(n) = next {
        v["next"] = json!(n);
    }
    json(200, &v.to_string())
}

/// A batch answer with `results` per command key.
pub(crate) fn batch_answer(results: &[(&str, Value)]) -> Answer {
    let map: serde_json::Map<String, Value> = results
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    json(
        200,
        &json!({"result": {"result": map, "result_error": [], "result_total": [], "result_next": [], "result_time": []}, "time": {}}).to_string(),
    )
}

/// The options of a walk whose requests follow one another (a keyset walk as one chain).
fn one_chain(strategy: Strategy) -> StreamOptions {
    StreamOptions::new().strategy(strategy).sequential(true)
}

/// Serves `answers` and collects every row of `request` walked by `strategy` (keyset as one
/// chain).
async fn walked<M: ListMethod + 'static>(
    answers: Vec<Answer>,
    request: &M,
    strategy: Strategy,
) -> (Vec<M::Item>, Canned) {
    let server = Canned::start(answers).await;
    let rows = hook_client(&server.webhook())
        .stream_with_options(request, one_chain(strategy))
        .try_collect()
        .await
        .unwrap();
    (rows, server)
}

fn body(server: &Canned, i: usize) -> Value {
    serde_json::from_str(&server.seen()[i].body).unwrap()
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn offset_strategy_learns_total_then_batches_the_other_pages() {
    let (deals, server) = walked(
        vec![
            page(1, 50, Some(120), Some(50)),
            batch_answer(&[("p50", rows(51, 50)), ("p100", rows(101, 20))]),
        ],
        &CrmDealList::new().select(["ID", "TITLE"]),
        Strategy::Offset,
    )
    .await;
    let ids: Vec<u64> = deals.iter().map(|d| d.id.unwrap()).collect();
    assert_eq!(ids, (1..=120).collect::<Vec<_>>());
    assert_eq!(
        body(&server, 0),
        json!({"select": ["ID", "TITLE"], "start": 0})
    );
    let cmd = &body(&server, 1)["cmd"];
    assert_eq!(
        cmd["p50"],
        "crm.deal.list?select[0]=ID&select[1]=TITLE&start=50"
    );
    assert_eq!(
        cmd["p100"],
        "crm.deal.list?select[0]=ID&select[1]=TITLE&start=100"
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_custom_order_makes_auto_use_offsets() {
    let (deals, server) = walked(
        vec![page(1, 3, Some(3), None)],
        &CrmDealList::new().order(object(json!({"TITLE": "ASC"}))),
        Strategy::Auto,
    )
    .await;
    assert_eq!(deals.len(), 3);
    assert_eq!(body(&server, 0)["start"], 0);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn keyset_strategy_chains_50_commands_by_id() {
    let (deals, server) = walked(
        vec![
            // The first plain call: a full page, so there is more.
            page(1, 50, None, None),
            // One batch: k0 full, k1 short (end). k2.. are ignored.
            batch_answer(&[("k0", rows(51, 50)), ("k1", rows(101, 7))]),
        ],
        &CrmDealList::new()
            .select(["ID"])
            .filter(object(json!({"CATEGORY_ID": 1}))),
        Strategy::Auto,
    )
    .await;
    assert_eq!(deals.len(), 107);
    assert_eq!(
        body(&server, 0),
        json!({"select": ["ID"], "filter": {"CATEGORY_ID": 1, ">ID": 0}, "order": {"ID": "ASC"}, "start": -1})
    );
    let cmd = body(&server, 1)["cmd"].as_object().unwrap().clone();
    assert_eq!(cmd.len(), 50, "50 chained pages in one request");
    assert_eq!(
        cmd["k0"],
        "crm.deal.list?filter[CATEGORY_ID]=1&select[0]=ID&order[ID]=ASC&start=-1&filter[%3EID]=50"
    );
    assert_eq!(
        cmd["k1"],
        "crm.deal.list?filter[CATEGORY_ID]=1&select[0]=ID&order[ID]=ASC&start=-1&filter[%3EID]=%24result%5Bk0%5D%5B49%5D%5BID%5D"
    );
    assert_eq!(server.seen().len(), 2, "the short page ends the walk");
}

#[tokio::test]
async fn keyset_on_a_wrapped_list_references_inside_the_wrapper() {
    let tasks = |from: u64, n: u64| json!({"tasks": (from..from + n).map(|i| json!({"id": i.to_string()})).collect::<Vec<_>>()});
    let (rows, server) = walked(
        vec![
            json(
                200,
                &json!({"result": tasks(1, 50), "time": {}}).to_string(),
            ),
            batch_answer(&[("k0", tasks(51, 2))]),
        ],
        &TasksTaskListV2::new().select(["ID"]),
        Strategy::Auto,
    )
    .await;
    assert_eq!(rows.len(), 52);
    assert_eq!(rows[51].id, Some(52));
    let cmd = &body(&server, 1)["cmd"];
    assert!(
        cmd["k1"]
            .as_str()
            .unwrap()
            .ends_with("filter[%3EID]=%24result%5Bk0%5D%5Btasks%5D%5B49%5D%5Bid%5D"),
        "{}",
        cmd["k1"]
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_callers_own_greater_than_id_is_where_the_walk_starts() {
    let (deals, server) = walked(
        vec![page(1001, 2, None, None)],
        &CrmDealList::new().filter(object(json!({">ID": "1000"}))),
        Strategy::Auto,
    )
    .await;
    assert_eq!(deals.len(), 2);
    assert_eq!(body(&server, 0)["filter"], json!({">ID": 1000}));
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_page_error_ends_the_stream_with_it() {
    let server = Canned::start(vec![json(
        400,
        r#"{"error":"","error_description":"Parameter 'filter' must be array."}"#,
    )])
    .await;
    let mut stream = hook_client(&server.webhook()).stream(&CrmDealList::new());
    let err = stream.try_next().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().description,
        "Parameter 'filter' must be array."
    );
    assert!(stream.try_next().await.unwrap().is_none());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn keyset_rows_without_ids_are_a_clear_error() {
    let rows = Value::Array((0..50).map(|_| json!({"TITLE": "no id"})).collect());
    // The first request of a split walk: the first page is command `f`.
    let server = Canned::start(vec![batch_answer(&[("f", rows)])]).await;
    let err = hook_client(&server.webhook())
        .list_all(&CrmDealList::new().select(["TITLE"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { message, .. } if message.contains("select the id")),
        "{err}"
    );
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn rows_read_before_a_failing_page_are_not_lost() {
    let failing = json!({"result": {
        "result": {"k0": rows(51, 50)},
        "result_error": {"k1": {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}},
        "result_total": [], "result_next": [], "result_time": []}});
    let server = Canned::start(vec![
        page(1, 50, None, None),
        json(200, &failing.to_string()),
    ])
    .await;
    let mut stream = hook_client(&server.webhook()).stream_with_options(
        &CrmDealList::new().select(["ID"]),
        one_chain(Strategy::Auto),
    );
    let mut seen = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("the error was swallowed"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 100, "both full pages arrive before the error");
    assert!(
        err.to_string().contains("OPERATION_TIME_LIMIT") || matches!(err, Error::Api(_)),
        "{err}"
    );
    assert!(stream.try_next().await.unwrap().is_none());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn count_reads_total_from_one_request_that_selects_only_the_id() {
    let server = Canned::start(vec![
        page(1, 50, Some(7531), Some(50)),
        // `total` as a string, rows under `items`.
        json(
            200,
            r#"{"result":{"items":[{"id":5}]},"total":"12","next":50,"time":{}}"#,
        ),
    ])
    .await;
    let c = hook_client(&server.webhook());
    let deals = CrmDealList::new()
        .select(["ID", "TITLE"])
        .filter(object(json!({"CATEGORY_ID": 1})))
        .start(-1);
    assert_eq!(c.count(&deals).await.unwrap(), 7531);
    assert_eq!(
        body(&server, 0),
        json!({"filter": {"CATEGORY_ID": 1}, "select": ["ID"], "start": 0}),
        "the caller's filter, the first page (which is counted), only the id"
    );
    assert_eq!(c.count(&CrmItemList::new(2)).await.unwrap(), 12);
    assert_eq!(
        body(&server, 1),
        json!({"entityTypeId": 2, "select": ["id"], "start": 0})
    );
    assert_eq!(server.seen().len(), 2, "one request per count");
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn count_without_total_is_the_one_page_or_an_error() {
    let server = Canned::start(vec![page(1, 3, None, None), page(1, 50, None, Some(50))]).await;
    let c = hook_client(&server.webhook());
    assert_eq!(
        c.count(&CrmDealList::new()).await.unwrap(),
        3,
        "no next: the page is all"
    );
    let err = c.count(&CrmDealList::new()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Pagination { message, .. } if message.contains("no `total`")),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 2, "never walks the list");
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn count_agrees_with_the_walk_against_the_emulator() {
    let (emu, c) = seeded_portal(120).await;
    let all = CrmDealList::new();
    let above_100 = CrmDealList::new().filter(object(json!({">ID": 100})));
    for (deals, want) in [(all, 120), (above_100, 20)] {
        let filter = serde_json::to_value(&deals).unwrap();
        let before = emu.control().method_calls("crm.deal.list");
        assert_eq!(c.count(&deals).await.unwrap(), want, "{filter}");
        assert_eq!(
            emu.control().method_calls("crm.deal.list") - before,
            1,
            "{filter}: one request"
        );
        assert_eq!(c.list_all(&deals).await.unwrap().len() as u64, want);
    }
}
