//! REST 3.0 methods from the specs (issue 15): the v3 twins of `tasks.task.*` and the v3-only
//! `note.collection.*`, against the emulator. A method the portal has on v3 costs one request
//! per call; one it lacks falls back to v2 once and is remembered (one request per call after
//! that); a v3-only method it lacks is `Error::NotOnPortal`, never a v2 404.

use futures::TryStreamExt;
use serde_json::{Value, json};

use bitrix24::packs::collab::NoteCollectionList;
use bitrix24::packs::core::{
    TaskV3, TasksTaskAddV3, TasksTaskGet, TasksTaskGetV3, TasksTaskListV3,
};
use bitrix24::{ApiVersion, Error, Method, Risk};
use bitrix24_emulator::RunningEmulator;

use crate::support::{hook_client, portal};

/// `crm.deal.list` declared with a REST 3.0 name the emulator does not serve there: the
/// "some methods not on v3" half of a mixed portal.
#[derive(serde::Serialize)]
struct DealListViaV3 {}

impl Method for DealListViaV3 {
    const NAME: &'static str = "crm.deal.list";
    const RISK: Risk = Risk::Read;
    const IDEMPOTENT: bool = true;
    const SCOPES: &'static [&'static str] = &["crm"];
    const V3_NAME: Option<&'static str> = Some("crm.deal.list");
    type Response = Value;
}

fn new_task(title: &str) -> TaskV3 {
    TaskV3::new().title(title).creator_id(1).responsible_id(1)
}

/// HTTP requests the emulator received while `f` ran.
async fn requests<F: std::future::Future>(emu: &RunningEmulator, f: F) -> (u64, F::Output) {
    let before = emu.control().request_count();
    let out = f.await;
    (emu.control().request_count() - before, out)
}

#[tokio::test]
async fn v3_task_twins_add_and_read_back_on_rest_v3() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let added = c
        .send(&TasksTaskAddV3::new(new_task("Prepare a report")))
        .await
        .unwrap();
    let id = added.item.id.unwrap();
    assert_eq!(added.item.title.as_deref(), Some("Prepare a report"));
    let read = c
        .send(&TasksTaskGetV3::new(id).select(["id", "title", "responsible.name"]))
        .await
        .unwrap()
        .item;
    assert_eq!(
        (read.id, read.title.as_deref()),
        (Some(id), Some("Prepare a report"))
    );
    assert!(read.responsible.is_some(), "the related object is selected");
    assert_eq!(emu.control().method_calls("api:tasks.task.add"), 1);
    assert_eq!(emu.control().method_calls("api:tasks.task.get"), 1);
    assert_eq!(
        emu.control().method_calls("tasks.task.add"),
        0,
        "never sent to v2"
    );
}

#[tokio::test]
async fn a_v3_list_streams_page_by_page_through_pagination() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    for i in 0..7 {
        c.send(&TasksTaskAddV3::new(new_task(&format!("t{i}"))))
            .await
            .unwrap();
    }
    let list = TasksTaskListV3::new()
        .select(["id", "title"])
        .pagination(json!({"limit": 3}));
    let (sent, rows) = requests(&emu, c.stream(&list).try_collect::<Vec<_>>()).await;
    let rows = rows.unwrap();
    assert_eq!(rows.len(), 7);
    let mut ids: Vec<u64> = rows.iter().filter_map(|t| t.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 7, "no row twice");
    assert_eq!(sent, 3, "pages of 3, 3 and 1: the short page ends the walk");
}

#[tokio::test]
async fn a_v3_only_method_the_portal_lacks_is_not_on_portal_and_remembered() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let (sent, err) = requests(
        &emu,
        c.stream(&NoteCollectionList::new()).try_collect::<Vec<_>>(),
    )
    .await;
    let err = err.unwrap_err();
    assert!(
        matches!(&err, Error::NotOnPortal { method } if method == "note.collection.list"),
        "{err:?}"
    );
    assert_eq!(sent, 1, "one REST 3.0 request, no v2 request");
    assert_eq!(emu.control().method_calls("note.collection.list"), 0);
    assert!(c.v3_unavailable("note.collection.list"));
    let (sent, again) = requests(&emu, c.send(&NoteCollectionList::new())).await;
    assert!(matches!(again, Err(Error::NotOnPortal { .. })));
    assert_eq!(sent, 0, "remembered: refused without a request");
    // A client pinned to v2 refuses it before sending.
    let v2 = c.with_api_version(ApiVersion::V2);
    let err = v2.send(&NoteCollectionList::new()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
async fn a_mixed_portal_costs_one_request_per_call_after_the_first() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id = c
        .send(&TasksTaskAddV3::new(new_task("mixed")))
        .await
        .unwrap()
        .item
        .id
        .unwrap();
    // First call of the method the portal lacks on v3: v3, then v2.
    let (sent, first) = requests(&emu, c.send(&DealListViaV3 {})).await;
    first.unwrap();
    assert_eq!(sent, 2);
    assert!(c.v3_unavailable("crm.deal.list"));
    let mut per_call = Vec::new();
    for _ in 0..10 {
        let (sent, r) = requests(&emu, c.send(&DealListViaV3 {})).await;
        r.unwrap();
        per_call.push(sent);
        let (sent, r) = requests(&emu, c.send(&TasksTaskGetV3::new(id))).await;
        r.unwrap();
        per_call.push(sent);
    }
    println!("mixed portal: requests per call after the first: {per_call:?}");
    assert!(per_call.iter().all(|&n| n == 1), "{per_call:?}");
    assert_eq!(emu.control().method_calls("api:tasks.task.get"), 10);
}

#[test]
fn a_v3_answer_in_the_v2_shape_is_a_decode_error_naming_method_and_path() {
    // v2's tasks.task.get answers {"task": {...}}; the v3 twin expects {"item": {...}}.
    let v2_shape = br#"{"result":{"task":{"id":"8017","title":"x"}},"time":{}}"#;
    let err = bitrix24::envelope::decode_typed::<TasksTaskGetV3>(200, v2_shape).unwrap_err();
    match &err {
        Error::Decode {
            method,
            path,
            message,
            ..
        } => {
            assert_eq!(
                (method.as_str(), path.as_str()),
                ("tasks.task.get", "result")
            );
            assert!(message.contains("`item`"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    // The reverse: the v2 method answered in the REST 3.0 shape.
    let v3_shape = br#"{"result":{"item":{"id":8017,"title":"x"}},"time":{}}"#;
    let err = bitrix24::envelope::decode_typed::<TasksTaskGet>(200, v3_shape).unwrap_err();
    assert!(
        matches!(&err, Error::Decode { method, path, message, .. }
            if method == "tasks.task.get" && path == "result" && message.contains("`task`")),
        "{err}"
    );
}
