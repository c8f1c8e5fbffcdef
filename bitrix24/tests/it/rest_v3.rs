//! REST 3.0 methods from the specs (issue 15): `tasks.task.*` (the REST 3.0 form is the plain
//! type, the v2 form `...V2`) and the v3-only `note.collection.*`, against the emulator. A
//! method the portal has on v3 costs one request per call; one it lacks falls back to v2 once and
//! is remembered (one request per call after that); a v3-only method it lacks is
//! `Error::NotOnPortal`, never a v2 404.

use futures::TryStreamExt;
use serde_json::{Value, json};

use bitrix24::packs::collab::{
    NoteCollection, NoteCollectionAdd, NoteCollectionArchive, NoteCollectionDelete,
    NoteCollectionGet, NoteCollectionList, NoteCollectionUpdate,
};
use bitrix24::packs::core::RestScopeList;
use bitrix24::packs::core::{
    TaskFields, TaskV3, TasksTaskAdd, TasksTaskAddV2, TasksTaskGet, TasksTaskGetV2, TasksTaskList,
};
use bitrix24::packs::diagnostics::{
    EventLogEntry, MainEventlogFieldGet, MainEventlogGet, MainEventlogList, MainEventlogTail,
};
use bitrix24::{ApiVersion, Error, Method, Risk};
use bitrix24_emulator::RunningEmulator;

use crate::support::{emulator, hook_client, portal};

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
        .send(&TasksTaskAdd::new(new_task("Prepare a report")))
        .await
        .unwrap();
    let id = added.item.id.unwrap();
    assert_eq!(added.item.title.as_deref(), Some("Prepare a report"));
    let read = c
        .send(&TasksTaskGet::new(id).select(["id", "title", "responsible.name"]))
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

/// A method both versions have with other params: the plain name is the REST 3.0 form (what
/// `ApiVersion::Auto` sends), the v2 form is the `V2` type.
#[test]
fn the_plain_task_types_are_the_rest_v3_form() {
    assert_eq!(
        (
            TasksTaskGet::NAME,
            TasksTaskGet::V3_NAME,
            TasksTaskGet::V3_ONLY
        ),
        ("tasks.task.get", Some("tasks.task.get"), true)
    );
    assert_eq!(
        (TasksTaskGetV2::NAME, TasksTaskGetV2::V3_NAME),
        ("tasks.task.get", None)
    );
    const { assert!(TasksTaskAdd::V3_ONLY && TasksTaskList::V3_ONLY) };
    assert_eq!(TasksTaskAddV2::V3_NAME, None);
}

/// A portal whose methods are all still v2: the REST 3.0 form is `NotOnPortal` after one
/// request and none after that (never a v2 call with v3 params), and the v2 form works.
#[tokio::test]
async fn on_a_v2_only_portal_the_v3_form_is_not_on_portal_and_the_v2_form_works() {
    let emu = crate::support::emulator()
        .rest_v3(false)
        .start()
        .await
        .unwrap();
    let c = hook_client(&emu.webhook_url());
    for expected_requests in [1, 0] {
        let (sent, err) = requests(&emu, c.send(&TasksTaskAdd::new(new_task("v3 form")))).await;
        let err = err.unwrap_err();
        assert!(
            matches!(&err, Error::NotOnPortal { method } if method == "tasks.task.add"),
            "{err:?}"
        );
        assert_eq!(sent, expected_requests);
    }
    assert_eq!(
        emu.control().method_calls("tasks.task.add"),
        0,
        "no v2 call"
    );
    let fields = TaskFields::new().title("v2 form").responsible_id(1);
    let (sent, added) = requests(&emu, c.send(&TasksTaskAddV2::new(fields))).await;
    let id = added.unwrap().task.id.unwrap();
    assert_eq!(sent, 1);
    let task = c.send(&TasksTaskGetV2::new(id)).await.unwrap().task;
    assert_eq!(task.title.as_deref(), Some("v2 form"));
    assert_eq!(emu.control().method_calls("tasks.task.add"), 1);
}

#[tokio::test]
async fn a_v3_list_streams_page_by_page_through_pagination() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    for i in 0..7 {
        c.send(&TasksTaskAdd::new(new_task(&format!("t{i}"))))
            .await
            .unwrap();
    }
    let list = TasksTaskList::new()
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
    let emu = emulator().rest_v3(false).start().await.unwrap();
    let c = hook_client(&emu.webhook_url());
    let (sent, err) = requests(&emu, c.send(&RestScopeList::new())).await;
    let err = err.unwrap_err();
    assert!(
        matches!(&err, Error::NotOnPortal { method } if method == "rest.scope.list"),
        "{err:?}"
    );
    assert_eq!(sent, 1, "one REST 3.0 request, no v2 request");
    assert_eq!(emu.control().method_calls("rest.scope.list"), 0);
    assert!(c.v3_unavailable("rest.scope.list"));
    let (sent, again) = requests(&emu, c.send(&RestScopeList::new())).await;
    assert!(matches!(again, Err(Error::NotOnPortal { .. })));
    assert_eq!(sent, 0, "remembered: refused without a request");
    // A client pinned to v2 refuses it before sending.
    let v2 = c.with_api_version(ApiVersion::V2);
    let err = v2.send(&RestScopeList::new()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
async fn a_mixed_portal_costs_one_request_per_call_after_the_first() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id = c
        .send(&TasksTaskAdd::new(new_task("mixed")))
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
        let (sent, r) = requests(&emu, c.send(&TasksTaskGet::new(id))).await;
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
    let err = bitrix24::envelope::decode_typed::<TasksTaskGet>(200, v2_shape).unwrap_err();
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
    let err = bitrix24::envelope::decode_typed::<TasksTaskGetV2>(200, v3_shape).unwrap_err();
    assert!(
        matches!(&err, Error::Decode { method, path, message, .. }
            if method == "tasks.task.get" && path == "result" && message.contains("`task`")),
        "{err}"
    );
}

#[tokio::test]
async fn knowledge_bases_round_trip_and_page_by_cursor() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    for (i, position) in [30, 10, 20, 10, 40].into_iter().enumerate() {
        let fields = NoteCollection::new()
            .name(format!("kb{i}"))
            .position(position);
        c.send(&NoteCollectionAdd::new(fields)).await.unwrap();
    }
    let list = NoteCollectionList::new().pagination(json!({"limit": 2}));
    let (sent, rows) = requests(&emu, c.stream(&list).try_collect::<Vec<_>>()).await;
    let rows = rows.unwrap();
    let order: Vec<(Option<i64>, Option<u64>)> = rows.iter().map(|r| (r.position, r.id)).collect();
    assert_eq!(
        order,
        [(10, 2), (10, 4), (20, 3), (30, 1), (40, 5)].map(|(p, i)| (Some(p), Some(i))),
        "by position, then id"
    );
    assert_eq!(
        sent, 3,
        "pages of 2, 2 and 1, the last with nextCursor null"
    );

    let renamed = c
        .send(&NoteCollectionUpdate::new(
            3,
            NoteCollection::new().name("Product documentation"),
        ))
        .await
        .unwrap()
        .item;
    assert_eq!(renamed.name.as_deref(), Some("Product documentation"));
    assert!(c.send(&NoteCollectionArchive::new(3)).await.unwrap().result);
    let err = c.send(&NoteCollectionGet::new(3)).await.unwrap_err();
    assert_eq!(
        err.code().map(bitrix24::ErrorCode::as_str),
        Some("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION")
    );
    assert!(c.send(&NoteCollectionDelete::new(1)).await.unwrap().result);
}

#[tokio::test]
async fn knowledge_base_input_is_checked_as_documented() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let v3 = c.with_api_version(ApiVersion::V3);
    for (name, field, message) in [
        (json!(""), "name", "Knowledge base name cannot be empty"),
        (
            json!("x".repeat(256)),
            "name",
            "Knowledge base name must not exceed 255 characters",
        ),
        (
            json!(5),
            "name",
            "Field `name` requires data type `string` for such a request",
        ),
    ] {
        let err = v3
            .call("note.collection.add", json!({ "fields": { "name": name } }))
            .await
            .unwrap_err();
        let api = err.api().expect("an API error");
        assert_eq!(
            api.code.as_str(),
            "BITRIX_REST_V3_EXCEPTION_VALIDATION_DTOVALIDATIONEXCEPTION"
        );
        assert_eq!(
            api.validation,
            [(Some(field.to_owned()), message.to_owned())]
        );
    }
    let err = c
        .send(&NoteCollectionAdd::new(NoteCollection::new().position(1)))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().unwrap().validation,
        [(
            Some("name".to_owned()),
            "Mandatory field \"name\" is not filled".to_owned()
        )]
    );
    let err = v3.call("note.collection.get", json!({})).await.unwrap_err();
    assert_eq!(
        err.api().unwrap().validation,
        [(
            Some("id".to_owned()),
            "Required field `id` is not specified".to_owned()
        )]
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_methods() {
    let emu = portal().await;
    let v3 = hook_client(&emu.webhook_url()).with_api_version(ApiVersion::V3);
    let doc = v3
        .call("rest.documentation.openapi", Value::Null)
        .await
        .unwrap();
    assert_eq!(
        doc,
        v3.call("documentation", Value::Null).await.unwrap(),
        "the synonym"
    );
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.trim_start_matches('/'))
        .collect();
    let typed: Vec<&str> = bitrix24::catalog::METHODS
        .iter()
        .filter(|m| {
            m.v3.is_some()
                && (m.pack == "collab"
                    || m.name.starts_with("tasks.task.")
                    || m.name.starts_with("main.eventlog.")
                    || m.name.starts_with("timeman.record.")
                    || m.name.starts_with("call.followup.")
                    || m.name.starts_with("humanresources.")
                    || m.name.starts_with("mail."))
        })
        .filter_map(|m| m.v3)
        .collect();
    for name in &paths {
        assert!(typed.contains(name), "{name} is served but not specced");
        // Every listed method is served: an empty body is a validation answer, not a 404.
        let err = v3.call(name, json!({})).await.err();
        assert!(
            err.as_ref().and_then(Error::status) != Some(404),
            "{name}: {err:?}"
        );
    }
    assert_eq!(paths.len(), 25 + 48 + 33, "{paths:?}");
    // rest.scope.list is served beside the document: module -> controller -> method -> scope.
    let scopes = v3.send(&RestScopeList::new()).await.unwrap();
    assert_eq!(
        scopes["tasks"]["task.result"]["list"]["scope"],
        json!("tasks")
    );
    assert_eq!(
        scopes["note"]["document.search"]["list"]["scope"],
        json!("note")
    );
    let listed: usize = scopes
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values())
        .map(|c| c.as_object().unwrap().len())
        .sum();
    assert_eq!(listed, paths.len(), "every served method, once");
}

/// `call.followup.list` pages by the `afterCursor` of each answer until `hasMore` is false
/// (api-reference/telephony/follow-up/call-followup-list.md), sending it back as
/// `pagination.afterCursor`.
#[tokio::test]
async fn a_cursor_list_follows_after_cursor_until_has_more_is_false() {
    use bitrix24::packs::comms::CallFollowupList;
    let server = crate::canned::Canned::start(vec![
        crate::canned::json(
            200,
            r#"{"result":{"items":[{"callId":12345}],"hasMore":true,"afterCursor":{"startDate":"2026-01-12T14:30:00.000000+00:00","id":12345}},"time":{}}"#,
        ),
        crate::canned::json(
            200,
            r#"{"result":{"items":[{"callId":12330}],"hasMore":false,"afterCursor":{"startDate":"2026-01-10T09:00:00.000000+00:00","id":12330}},"time":{}}"#,
        ),
    ])
    .await;
    let c = hook_client(&server.webhook());
    let filter = json!({"startDate": {"from": "2026-01-01T00:00:00+00:00", "to": "2026-02-01T00:00:00+00:00"}});
    let rows: Vec<_> = c
        .stream(&CallFollowupList::new(crate::support::object(filter)))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<Option<u64>> = rows.iter().map(|r| r.call_id).collect();
    assert_eq!(ids, [Some(12345), Some(12330)]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "hasMore: false ends the walk");
    assert!(
        seen.iter().all(|s| s.path.contains("/rest/api/")),
        "REST 3.0 only"
    );
    let second: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        second["pagination"]["afterCursor"],
        json!({"startDate": "2026-01-12T14:30:00.000000+00:00", "id": 12345})
    );
}

/// The event log the portal writes itself (loaded here with `seed_records`), read through the
/// typed `main.eventlog.*`: get, a filtered and sorted list paged by `pagination.page`, the
/// tail after a cursor value, a field description, and the documented errors.
#[tokio::test]
async fn the_event_log_reads_back_typed_with_the_documented_errors() {
    let emu = portal().await;
    let entries: Vec<Value> = (0..5)
        .map(|i| {
            json!({
                "timestampX": format!("2026-01-30T15:5{i}:24+03:00"),
                "severity": "SECURITY",
                "auditTypeId": if i % 2 == 0 { "USER_AUTHORIZE" } else { "USER_LOGOUT" },
                "moduleId": "main",
                "itemId": "1",
                "userId": 1,
                "guestId": 0,
            })
        })
        .collect();
    let ids: Vec<u64> = emu
        .control()
        .seed_records("main.eventlog", &entries)
        .into_iter()
        .map(|id| u64::try_from(id).unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    let c = hook_client(&emu.webhook_url());
    let one = c
        .send(&MainEventlogGet::new(ids[2]).select(["id", "auditTypeId"]))
        .await
        .unwrap()
        .item;
    assert_eq!(
        (one.id, one.audit_type_id.as_deref(), one.module_id),
        (Some(ids[2]), Some("USER_AUTHORIZE"), None),
        "only the selected fields"
    );
    let list = MainEventlogList::new()
        .filter(vec![json!(["auditTypeId", "USER_AUTHORIZE"])])
        .order(json!({"id": "DESC"}))
        .pagination(json!({"limit": 2}));
    let (sent, rows) = requests(&emu, c.stream(&list).try_collect::<Vec<EventLogEntry>>()).await;
    let got: Vec<Option<u64>> = rows.unwrap().iter().map(|r| r.id).collect();
    let want: Vec<Option<u64>> = [4, 2, 0].iter().map(|&i| Some(ids[i])).collect();
    assert_eq!(got, want);
    assert_eq!(sent, 2, "pages of 2 and 1");
    let tail = c
        .send(&MainEventlogTail::new().cursor(json!({"value": ids[2], "limit": 10})))
        .await
        .unwrap()
        .items;
    let after: Vec<Option<u64>> = tail.iter().map(|r| r.id).collect();
    assert_eq!(after, [Some(ids[3]), Some(ids[4])]);
    let field = c
        .send(&MainEventlogFieldGet::new("userId"))
        .await
        .unwrap()
        .item;
    assert_eq!((field.filterable, field.sortable), (Some(true), Some(true)));

    let code = |e: Error| e.code().map(|c| c.as_str().to_owned());
    let missing = c.send(&MainEventlogGet::new(999_999)).await.unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("Entry with ID = `999999` not found"),
        "{missing}"
    );
    assert_eq!(
        code(missing).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION")
    );
    let bad_page = c
        .send(&MainEventlogList::new().pagination(json!({"limit": "abc"})))
        .await
        .unwrap_err();
    assert_eq!(
        code(bad_page).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_INVALIDPAGINATIONEXCEPTION")
    );
    let cursor_filtered = MainEventlogTail::new()
        .filter(vec![json!(["id", ">", 1])])
        .cursor(json!({"field": "id"}));
    let err = c.send(&cursor_filtered).await.unwrap_err();
    assert_eq!(
        code(err).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_INVALIDFILTEREXCEPTION")
    );
    let err = c
        .send(&MainEventlogFieldGet::new("nope"))
        .await
        .unwrap_err();
    assert_eq!(
        code(err).as_deref(),
        Some("BITRIX_REST_V3_REALISATION_EXCEPTION_FIELDNOTFOUNDEXCEPTION")
    );
}

/// Time tracking records (loaded with `seed_records`) read through the typed
/// `timeman.record.*`: one employee's records by `startTime`, paged, and the documented
/// errors for a filter without `userId` or with two.
#[tokio::test]
async fn time_tracking_records_list_by_employee_with_the_documented_errors() {
    use bitrix24::packs::services::{TimemanRecordFieldGet, TimemanRecordList};
    let emu = portal().await;
    let records: Vec<Value> = [(1, 9), (2, 10), (1, 11), (1, 8)]
        .iter()
        .map(|(user, hour)| {
            json!({
                "userId": user,
                "startTime": format!("2026-06-02T{hour:02}:00:00+02:00"),
                "endTime": format!("2026-06-02T{:02}:30:00+02:00", hour),
                "duration": 1800,
            })
        })
        .collect();
    emu.control().seed_records("timeman.record", &records);
    let c = hook_client(&emu.webhook_url());
    let list = TimemanRecordList::new(vec![
        json!(["userId", 1]),
        json!(["startTime", ">=", "2026-06-02T09:00:00+02:00"]),
    ])
    .order(json!({"startTime": "ASC"}))
    .pagination(json!({"limit": 1}));
    let (sent, rows) = requests(&emu, c.stream(&list).try_collect::<Vec<_>>()).await;
    let starts: Vec<String> = rows
        .unwrap()
        .iter()
        .filter_map(|r| r.start_time.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(
        starts,
        ["2026-06-02T09:00:00+02:00", "2026-06-02T11:00:00+02:00"]
    );
    assert_eq!(sent, 3, "pages of 1, 1 and an empty one");
    let field = c
        .send(&TimemanRecordFieldGet::new("startTime"))
        .await
        .unwrap()
        .item;
    assert_eq!(field.filterable, Some(true));

    let no_user = c
        .send(&TimemanRecordList::new(vec![json!([
            "startTime",
            ">",
            "2026-01-01T00:00:00+00:00"
        ])]))
        .await
        .unwrap_err();
    assert_eq!(
        no_user.api().unwrap().validation,
        [(
            Some("filter.userId".to_owned()),
            "Required field `filter.userId` is not specified".to_owned()
        )]
    );
    let two = c
        .send(&TimemanRecordList::new(vec![
            json!(["userId", 1]),
            json!(["userId", 2]),
        ]))
        .await
        .unwrap_err();
    assert_eq!(
        two.code().map(bitrix24::ErrorCode::as_str),
        Some("BITRIX_REST_V3_EXCEPTION_INVALIDFILTEREXCEPTION")
    );
}

/// Call follow-ups (loaded with `seed_records`) read through the typed `call.followup.*`: the
/// calls of a period newest first, paged by `afterCursor` until `hasMore` is false, one read by
/// its call id, and the documented errors.
#[tokio::test]
async fn call_follow_ups_page_by_after_cursor_from_the_emulator() {
    use bitrix24::packs::comms::{CallFollowupGet, CallFollowupList};
    let emu = portal().await;
    let calls: Vec<Value> = [10, 12, 11, 14]
        .iter()
        .map(|day| {
            json!({
                "callType": 1,
                "initiatorId": 1,
                "startDate": format!("2026-01-{day}T10:00:00+00:00"),
                "participants": [{"userId": 1, "name": "John Smith"}],
            })
        })
        .collect();
    let ids = emu.control().seed_records("call.followup", &calls);
    let c = hook_client(&emu.webhook_url());
    let filter = json!({"startDate": {"from": "2026-01-11T00:00:00+00:00", "to": "2026-01-31T00:00:00+00:00"}});
    let list = CallFollowupList::new(crate::support::object(filter.clone()))
        .pagination(json!({"limit": 2}));
    let (sent, rows) = requests(&emu, c.stream(&list).try_collect::<Vec<_>>()).await;
    let got: Vec<Option<u64>> = rows.unwrap().iter().map(|r| r.call_id).collect();
    let want: Vec<Option<u64>> = [3, 1, 2]
        .iter()
        .map(|&i| u64::try_from(ids[i]).ok())
        .collect();
    assert_eq!(got, want, "newest first: the 14th, 12th and 11th");
    assert_eq!(sent, 2, "2 rows with hasMore, then 1 without");
    let one = c
        .send(&CallFollowupGet::new(u64::try_from(ids[0]).unwrap()).select(["startDate"]))
        .await
        .unwrap()
        .item;
    assert_eq!(
        one.call_id,
        u64::try_from(ids[0]).ok(),
        "callId always comes back"
    );
    assert!(one.start_date.is_some() && one.call_type.is_none());

    let code = |e: Error| e.code().map(|c| c.as_str().to_owned());
    let no_range = CallFollowupList::new(crate::support::object(
        json!({"startDate": {"from": "2026-01-11T00:00:00+00:00"}}),
    ));
    let err = c.send(&no_range).await.unwrap_err();
    assert_eq!(code(err).as_deref(), Some("invalid_date_range"));
    let err = c
        .send(
            &CallFollowupList::new(crate::support::object(filter))
                .order(json!({"startDate": "up"})),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err).as_deref(), Some("invalid_order"));
    let err = c.send(&CallFollowupGet::new(999_999)).await.unwrap_err();
    assert_eq!(
        code(err).as_deref(),
        Some("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION")
    );
}
