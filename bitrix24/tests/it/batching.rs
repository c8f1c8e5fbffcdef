//! Batch splitting, `$result` grouping, encoding and per-command results.

use bitrix24::packs::collab::{SonetGroupCreate, SonetGroupSetowner};
use bitrix24::packs::comms::{ImChatAdd, ImChatSetOwner};
// batch machinery pinned on the legacy crm.deal.* shapes: an id-returning add for handle links, flat rows
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealGet, CrmDealList, Deal, UserCurrent};
use bitrix24::{BatchRef, Client, Error, ErrorCode};
use serde_json::{Value, json};

use crate::canned::{Canned, json};
use crate::support::{hook_client, object};

const EMPTY: &str = r#"{"result":{"result":[],"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{}}"#;

/// The `cmd` maps of every batch request the server saw.
fn commands(server: &Canned) -> Vec<serde_json::Map<String, Value>> {
    server
        .seen()
        .iter()
        .map(|s| {
            assert!(s.path.ends_with("/batch"), "{}", s.path);
            let body: Value = serde_json::from_str(&s.body).unwrap();
            body["cmd"].as_object().unwrap().clone()
        })
        .collect()
}

// the reason is on the imports
#[allow(deprecated)]
async fn split(n: u64) -> Vec<usize> {
    let server = Canned::start(vec![json(200, EMPTY); 60]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    for i in 0..n {
        batch.add(&CrmDealGet::new(i + 1)).unwrap();
    }
    let results = batch.send().await.unwrap();
    assert_eq!(results.len() as u64, n);
    let cmds = commands(&server);
    let mut keys: Vec<String> = cmds.iter().flat_map(|m| m.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len() as u64, n, "every command sent exactly once");
    let mut sizes: Vec<usize> = cmds.iter().map(serde_json::Map::len).collect();
    sizes.sort_unstable();
    sizes
}

#[tokio::test]
async fn splits_0_1_50_51_and_2600_commands() {
    assert_eq!(split(0).await, Vec::<usize>::new());
    assert_eq!(split(1).await, vec![1]);
    assert_eq!(split(50).await, vec![50]);
    assert_eq!(split(51).await, vec![1, 50]);
    let sizes = split(2600).await;
    assert_eq!(sizes.len(), 52);
    assert!(sizes.iter().all(|&s| s == 50));
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn linked_commands_stay_in_one_request() {
    let server = Canned::start(vec![json(200, EMPTY); 3]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    for i in 0..49 {
        batch.add(&CrmDealGet::new(i + 1)).unwrap();
    }
    batch.add_named("me", &UserCurrent::new()).unwrap();
    batch
        .add_linked(
            "mine",
            &CrmDealList::new(),
            [("filter[ASSIGNED_BY_ID]", BatchRef::result("me").key("ID"))],
        )
        .unwrap();
    batch.send().await.unwrap();
    let cmds = commands(&server);
    assert_eq!(cmds.len(), 2);
    let with_me = cmds.iter().find(|m| m.contains_key("me")).unwrap();
    assert!(
        with_me.contains_key("mine"),
        "the linked pair shares a request"
    );
    assert_eq!(
        with_me["mine"],
        "crm.deal.list?filter[ASSIGNED_BY_ID]=%24result%5Bme%5D%5BID%5D"
    );
}

#[tokio::test]
async fn record_id_params_take_the_handle_of_an_id_returning_command() {
    // `CHAT_ID` and `GROUP_ID` are record ids: the chat and the group made earlier in the batch
    // are sent as `$result[..]`, and the ids the portal answers come back typed.
    let answer = r#"{"result":{"result":{"c0":1417,"c1":true,"c2":"25","c3":true},"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{}}"#;
    let server = Canned::start(vec![json(200, answer)]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    let chat = batch.add(&ImChatAdd::new().title("Ops")).unwrap();
    let owner = batch.add(&ImChatSetOwner::new(&chat, 7)).unwrap();
    let group = batch.add(&SonetGroupCreate::new("Ops team")).unwrap();
    let handed = batch.add(&SonetGroupSetowner::new(&group, 7)).unwrap();
    let results = batch.send().await.unwrap();
    let cmds = commands(&server);
    assert_eq!(cmds.len(), 1, "linked commands share a request");
    assert_eq!(
        cmds[0]["c1"],
        "im.chat.setOwner?CHAT_ID=%24result%5Bc0%5D&USER_ID=7"
    );
    assert_eq!(
        cmds[0]["c3"],
        "sonet_group.setowner?GROUP_ID=%24result%5Bc2%5D&USER_ID=7"
    );
    assert_eq!(results.get(&chat).unwrap(), 1417);
    assert_eq!(results.get(&group).unwrap(), 25);
    assert!(results.get(&owner).unwrap() && results.get(&handed).unwrap());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_linked_group_over_50_is_refused() {
    let server = Canned::start(vec![]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    batch.add_named("k0", &CrmDealGet::new(1)).unwrap();
    for i in 1..51 {
        batch
            .add_linked(
                &format!("k{i}"),
                &CrmDealGet::new(1),
                [("id", BatchRef::result(&format!("k{}", i - 1)).key("ID"))],
            )
            .unwrap();
    }
    let err = batch.send().await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { message, .. } if message.contains("51 commands")),
        "{err}"
    );
    assert!(server.seen().is_empty());
}

#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(method = "batch", risk = "mixed", scopes = [], response = Value)]
struct NestedBatch;

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn bad_commands_are_refused_when_added() {
    let server = Canned::start(vec![]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    assert!(
        batch
            .add(&NestedBatch)
            .unwrap_err()
            .to_string()
            .contains("batch cannot contain a batch")
    );
    let err = batch
        .add_linked(
            "x",
            &CrmDealGet::new(1),
            [("id", BatchRef::result("later"))],
        )
        .unwrap_err();
    assert!(err.to_string().contains("`later`"), "{err}");
    batch.add_named("a", &CrmDealGet::new(1)).unwrap();
    assert!(
        batch
            .add_named("a", &CrmDealGet::new(2))
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
    assert!(batch.add_named("a b", &CrmDealGet::new(2)).is_err());
    assert!(batch.add_raw("r", "crm.deal.get", json!("x")).is_err());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn params_are_encoded_as_the_portal_parses_them() {
    let server = Canned::start(vec![json(200, EMPTY)]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    batch
        .add_named(
            "add",
            &CrmDealAdd::new(Deal {
                title: Some("A & B".into()),
                opened: Some(true),
                contact_ids: Some(vec![84, 83]),
                ..Deal::default()
            })
            .params(object(json!({"REGISTER_SONET_EVENT": "N"}))),
        )
        .unwrap();
    batch
        .add_named(
            "list",
            &CrmDealList::new()
                .select(["ID", "UF_*"])
                .filter(object(json!({">ID": 10}))),
        )
        .unwrap();
    batch.send().await.unwrap();
    let cmds = commands(&server);
    assert_eq!(
        cmds[0]["add"],
        "crm.deal.add?fields[CONTACT_IDS][0]=84&fields[CONTACT_IDS][1]=83&fields[OPENED]=Y&fields[TITLE]=A%20%26%20B&params[REGISTER_SONET_EVENT]=N"
    );
    assert_eq!(
        cmds[0]["list"],
        "crm.deal.list?filter[%3EID]=10&select[0]=ID&select[1]=UF_%2A"
    );
    let body: Value = serde_json::from_str(&server.seen()[0].body).unwrap();
    assert_eq!(body["halt"], 0);
    // A query string cannot carry an empty list: refused with its path, not silently dropped.
    let mut batch = c.batch();
    let err = batch
        .add(&CrmDealList::new().filter(object(json!({"@ASSIGNED_BY_ID": []}))))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`filter[@ASSIGNED_BY_ID]` is empty"),
        "{err}"
    );
    // Params that are not an object cannot be built: `fields` is a `Deal`, `filter` a map.
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn each_command_gets_its_own_result_or_error() {
    // The documented shape, with one failing command (halt=0 collects failures).
    let answer = r#"{"result":{"result":{"get_user":{"ID":"1","NAME":"John","UF_DEPARTMENT":[1]},"deals":[{"ID":"37","TITLE":"[A] Deal"}]},"result_error":{"missing":{"error":"","error_description":"Not found"}},"result_total":{"deals":120},"result_next":{"deals":50},"result_time":{"get_user":{"start":1724916859.46156,"finish":1724916859.5,"duration":0.04,"processing":0.01,"date_start":"2024-08-29T10:34:19+03:00","date_finish":"2024-08-29T10:34:19+03:00","operating":2.69}}},"time":{}}"#;
    let server = Canned::start(vec![json(200, answer)]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    let user = batch.add_named("get_user", &UserCurrent::new()).unwrap();
    let deals = batch.add_named("deals", &CrmDealList::new()).unwrap();
    let missing = batch.add_named("missing", &CrmDealGet::new(999)).unwrap();
    let results = batch.send().await.unwrap();
    assert_eq!(results.get(&user).unwrap().name.as_deref(), Some("John"));
    assert_eq!(results.get(&deals).unwrap().len(), 1);
    assert_eq!(
        (results.total(&deals), results.next(&deals)),
        (Some(120), Some(50))
    );
    let err = results.get(&missing).unwrap_err();
    assert_eq!(err.api().unwrap().code, ErrorCode::Empty);
    assert_eq!(err.api().unwrap().method, "crm.deal.get");
    assert!(!results.all_ok());
    // result_time is attributed to the command's own method, not to `batch`.
    assert_eq!(c.operating_time("user.current"), Some(2.69));
    assert_eq!(c.operating_time("batch"), None);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_command_result_of_the_wrong_shape_names_its_path() {
    let answer = r#"{"result":{"result":{"c0":{"ID":"1"}},"result_error":[],"result_total":[],"result_next":[],"result_time":[]}}"#;
    let server = Canned::start(vec![json(200, answer)]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch();
    let h = batch
        .add(&CrmDealAdd::new(Deal {
            title: Some("x".into()),
            ..Deal::default()
        }))
        .unwrap();
    let err = batch.send().await.unwrap().get(&h).unwrap_err();
    match err {
        Error::Decode { method, path, .. } => {
            assert_eq!(method, "crm.deal.add");
            assert!(path.starts_with("result.result.c0"), "{path}");
        }
        other => panic!("{other:?}"),
    }
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn halt_stops_at_the_first_failing_request() {
    let failing = r#"{"result":{"result":[],"result_error":{"c0":{"error":"insufficient_scope","error_description":""}},"result_total":[],"result_next":[],"result_time":[]}}"#;
    let server = Canned::start(vec![json(200, failing), json(200, EMPTY)]).await;
    let c = hook_client(&server.webhook());
    let mut batch = c.batch().halt(true);
    let handles: Vec<_> = (0..60)
        .map(|i| batch.add(&CrmDealGet::new(i)).unwrap())
        .collect();
    let results = batch.send().await.unwrap();
    assert_eq!(server.seen().len(), 1, "the second request is not sent");
    let body: Value = serde_json::from_str(&server.seen()[0].body).unwrap();
    assert_eq!(body["halt"], 1);
    assert_eq!(
        results.get(&handles[0]).unwrap_err().code(),
        Some(&ErrorCode::InsufficientScope)
    );
    assert!(matches!(
        results.get(&handles[55]).unwrap_err(),
        Error::NotExecuted { .. }
    ));
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn a_failed_request_fails_only_its_commands() {
    // 2 requests: the first gets a non-retryable error, the second succeeds.
    let ok = r#"{"result":{"result":{"c50":true},"result_error":[],"result_total":[],"result_next":[],"result_time":[]}}"#;
    let server = Canned::start(vec![
        json(
            403,
            r#"{"error":"ACCESS_DENIED","error_description":"Access denied!"}"#,
        ),
        json(200, ok),
    ])
    .await;
    let c = Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .batch_concurrency(1)
        .build()
        .unwrap();
    let requests: Vec<CrmDealGet> = (0..51).map(CrmDealGet::new).collect();
    let results = c.send_all(&requests).await.unwrap();
    assert_eq!(results.len(), 51);
    match &results[0] {
        Err(Error::BatchRequest { source, .. }) => {
            assert_eq!(source.code(), Some(&ErrorCode::AccessDenied));
        }
        other => panic!("{other:?}"),
    }
    // c50 decoded `true` into a Deal: a decode error naming the command path.
    assert!(matches!(&results[50], Err(Error::Decode { path, .. }) if path.contains("c50")));
}
