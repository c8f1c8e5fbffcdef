//! The REST 3.0 task objects besides the task (issue 15) through the typed calls against the
//! emulator: the caller's access to a task, messages in its chat, Drive files attached to it,
//! its results (made from text or from a chat message, changed, listed, deleted), the field
//! descriptions, and the validation errors the pages document.

use serde_json::{Value, json};

use bitrix24::Client;
use bitrix24::packs::core::{
    TaskChatMessageV3, TaskResultV3, TaskV3, TasksTaskAccessFieldList, TasksTaskAccessGet,
    TasksTaskAdd, TasksTaskChatMessageFieldGet, TasksTaskChatMessageSend, TasksTaskFieldGet,
    TasksTaskFieldList, TasksTaskFileAttach, TasksTaskFileFieldList, TasksTaskResultAdd,
    TasksTaskResultAddfromchatmessage, TasksTaskResultDelete, TasksTaskResultList,
    TasksTaskResultUpdate,
};

use crate::support::{emulator, hook_client, invalid, refusal, v3_refusal};

const DTO: &str = "BITRIX_REST_V3_EXCEPTION_VALIDATION_DTOVALIDATIONEXCEPTION";
const REQUEST: &str = "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION";
const DENIED: &str = "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION";

/// A portal with the administrator's webhook and one of user 7 (not an administrator), and
/// their clients.
async fn two_users() -> (bitrix24_emulator::RunningEmulator, Client, Client) {
    let emu = emulator().webhook(7, "other").start().await.unwrap();
    let urls = emu.webhook_urls();
    let (admin, user) = (hook_client(&urls[0]), hook_client(&urls[1]));
    (emu, admin, user)
}

/// A task of user 1 for `responsible`; answers its id.
async fn task(c: &Client, responsible: u64) -> u64 {
    let fields = TaskV3::new()
        .title("Report")
        .creator_id(1)
        .responsible_id(responsible);
    c.send(&TasksTaskAdd::new(fields))
        .await
        .unwrap()
        .item
        .id
        .unwrap()
}

/// A result of `task` (none: the fields of an update) with `text`.
fn result_text(task: Option<u64>, text: &str) -> TaskResultV3 {
    let mut r = TaskResultV3::new();
    r.task_id = task;
    r.text = Some(text.to_owned());
    r
}

#[tokio::test]
async fn access_flags_follow_who_has_the_task() {
    let (_emu, admin, user) = two_users().await;
    let theirs = task(&admin, 7).await;
    let not_theirs = task(&admin, 1).await;
    let flags = admin.send(&TasksTaskAccessGet::new(theirs)).await.unwrap();
    assert_eq!(flags.len(), 45);
    assert_eq!(
        (flags["read"], flags["admin"], flags["approve"]),
        (true, true, false)
    );
    let mine = user.send(&TasksTaskAccessGet::new(theirs)).await.unwrap();
    assert_eq!(
        (mine["read"], mine["edit"], mine["admin"]),
        (true, true, false)
    );
    let none = user
        .send(&TasksTaskAccessGet::new(not_theirs))
        .await
        .unwrap();
    assert!(none.values().all(|v| !v), "{none:?}");
    let missing = v3_refusal(&admin, "tasks.task.access.get", json!({})).await;
    assert_eq!(
        missing,
        (
            REQUEST.to_owned(),
            invalid("id", "Required field `id` is not specified")
        )
    );
}

#[tokio::test]
async fn chat_messages_become_results_that_are_changed_listed_and_deleted() {
    let (_emu, admin, user) = two_users().await;
    let id = task(&admin, 7).await;
    let other = task(&admin, 1).await;
    let mut message = TaskChatMessageV3::new().task_id(id);
    message.text = Some("Work completed".into());
    assert!(
        user.send(&TasksTaskChatMessageSend::new(message))
            .await
            .unwrap()
            .result
    );

    let first = user
        .send(&TasksTaskResultAdd::new(result_text(
            Some(id),
            "Task completed",
        )))
        .await
        .unwrap()
        .item;
    assert_eq!(
        (first.task_id, first.author_id, first.status.as_deref()),
        (Some(id), Some(7), Some("open"))
    );
    assert_eq!(first.rights.as_ref().map(|r| r["edit"]), Some(true));
    let mut from_chat = TaskResultV3::new();
    from_chat.message_id = Some(1);
    let second = user
        .send(&TasksTaskResultAddfromchatmessage::new(from_chat))
        .await
        .unwrap()
        .item;
    assert_eq!(
        (second.text.as_deref(), second.message_id),
        (Some("Work completed"), Some(1))
    );
    admin
        .send(&TasksTaskResultAdd::new(result_text(
            Some(other),
            "Elsewhere",
        )))
        .await
        .unwrap();

    let changed = user
        .send(&TasksTaskResultUpdate::new(
            first.id.unwrap(),
            result_text(None, "Verified"),
        ))
        .await
        .unwrap()
        .item;
    assert_eq!(changed.text.as_deref(), Some("Verified"));
    assert!(changed.updated_at.is_some());

    let list = TasksTaskResultList::new([json!(["taskId", id])]).order(json!({"id": "DESC"}));
    let rows = user.send(&list).await.unwrap().items;
    let ids: Vec<Option<u64>> = rows.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [second.id, first.id],
        "the task's results, newest first"
    );
    assert!(rows[0].rights.is_none(), "not a default field");
    let picked = TasksTaskResultList::new([json!(["taskId", id]), json!(["messageId", 1])])
        .select(["id", "author", "rights"]);
    let picked = user.send(&picked).await.unwrap().items;
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].author.as_ref().unwrap()["id"], json!(7));

    let by_admin = admin
        .send(&TasksTaskResultDelete::new(first.id.unwrap()))
        .await;
    assert!(by_admin.unwrap().result, "an administrator may delete it");
    let (code, _) = refusal(user.send(&TasksTaskResultDelete::new(3)).await);
    assert_eq!(code, DENIED, "not the author of result 3");
    assert!(
        user.send(&TasksTaskResultDelete::new(second.id.unwrap()))
            .await
            .unwrap()
            .result
    );
}

/// A refused call: method, params, error code and the validation entries (field, message).
type Refusal = (
    &'static str,
    Value,
    &'static str,
    Vec<(Option<String>, String)>,
);

#[tokio::test]
async fn result_input_is_checked_as_documented() {
    let (_emu, admin, user) = two_users().await;
    let id = task(&admin, 1).await;
    let cases: [Refusal; 6] = [
        (
            "tasks.task.result.add",
            json!({}),
            REQUEST,
            invalid("fields", "Required field `fields` is not specified"),
        ),
        (
            "tasks.task.result.add",
            json!({"fields": {"taskId": id}}),
            DTO,
            invalid("text", "The required field \"text\" is not filled"),
        ),
        (
            "tasks.task.result.add",
            json!({"fields": {"taskId": id, "text": "x", "fileIds": [1]}}),
            DTO,
            invalid("fileIds", "Field `fileIds` is not available for filling"),
        ),
        (
            "tasks.task.result.add",
            json!({"fields": {"taskId": 999, "text": "x"}}),
            REQUEST,
            invalid("taskId", "Task not found"),
        ),
        (
            "tasks.task.result.addfromchatmessage",
            json!({"fields": {"messageId": 5}}),
            REQUEST,
            invalid("messageId", "Message is not from task chat"),
        ),
        (
            "tasks.task.result.list",
            json!({"filter": [["id", 1]]}),
            "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTFILTERVALIDATIONEXCEPTION",
            invalid(
                "filter.taskId",
                "A filter for the required field `taskId` must be specified",
            ),
        ),
    ];
    for (method, params, code, validation) in cases {
        let got = v3_refusal(&admin, method, params.clone()).await;
        assert_eq!(got, (code.to_owned(), validation), "{method} {params}");
    }
    let (code, _) = refusal(
        user.send(&TasksTaskResultAdd::new(result_text(Some(id), "x")))
            .await,
    );
    assert_eq!(code, DENIED, "user 7 does not have the task");
    let both = v3_refusal(
        &admin,
        "tasks.task.result.delete",
        json!({"id": 1, "filter": []}),
    )
    .await;
    assert_eq!(both.0, REQUEST);
    let unknown = json!({"filter": [["taskId", id]], "select": ["nope"]});
    let (code, _) = v3_refusal(&admin, "tasks.task.result.list", unknown).await;
    assert_eq!(code, "BITRIX_REST_V3_EXCEPTION_UNKNOWNDTOPROPERTYEXCEPTION");
    let chat = v3_refusal(
        &admin,
        "tasks.task.chat.message.send",
        json!({"fields": {"text": "x"}}),
    );
    assert_eq!(
        chat.await,
        (
            DTO.to_owned(),
            invalid("taskId", "The required field \"taskId\" is not filled")
        )
    );
}

#[tokio::test]
async fn drive_files_attach_to_a_task_the_caller_has() {
    let (_emu, admin, user) = two_users().await;
    let id = task(&admin, 1).await;
    let upload =
        json!({"id": 1, "data": {"NAME": "plan.txt"}, "fileContent": ["plan.txt", "aGVsbG8="]});
    let file = admin.call("disk.storage.uploadfile", upload).await.unwrap();
    let file: u64 = file["ID"]
        .as_u64()
        .or_else(|| file["ID"].as_str()?.parse().ok())
        .unwrap();
    let attach = TasksTaskFileAttach::new(id, [file]);
    assert!(admin.send(&attach).await.unwrap().result);
    assert!(
        admin.send(&attach).await.unwrap().result,
        "again: no change"
    );
    let insufficient = |r| refusal(r).1[0].1.clone();
    assert_eq!(
        insufficient(
            admin
                .send(&TasksTaskFileAttach::new(id, [file + 100]))
                .await
        ),
        "Insufficient permissions",
        "no such Drive file"
    );
    assert_eq!(
        insufficient(user.send(&attach).await),
        "Insufficient permissions",
        "not user 7's task"
    );
    let missing = v3_refusal(&admin, "tasks.task.file.attach", json!({"taskId": id})).await;
    assert_eq!(
        missing.1,
        invalid("fileIds", "The required field `fileIds` is missing")
    );
}

#[tokio::test]
async fn the_task_objects_describe_their_fields() {
    let (_emu, admin, _) = two_users().await;
    let task = admin.send(&TasksTaskFieldList::new()).await.unwrap().items;
    assert_eq!(task.len(), 87);
    assert_eq!(
        (
            task[0].name.as_deref(),
            task[0].filterable,
            task[1].filterable
        ),
        (Some("id"), Some(true), Some(false))
    );
    let created = admin
        .send(&TasksTaskFieldGet::new("created"))
        .await
        .unwrap()
        .item;
    assert_eq!(created.r#type.as_deref(), Some("object"));
    let access = admin
        .send(&TasksTaskAccessFieldList::new())
        .await
        .unwrap()
        .items;
    assert_eq!(
        (access[0].title.as_deref(), access[0].description.as_deref()),
        (Some("ID"), Some("Identifier"))
    );
    assert_eq!(access[0].validation_rules, Some(vec![]));
    assert_eq!(access[0].editable, Some(false));
    let file = admin
        .send(&TasksTaskFileFieldList::new())
        .await
        .unwrap()
        .items;
    assert_eq!(file[1].r#type.as_deref(), Some("array"));
    let text = admin
        .send(&TasksTaskChatMessageFieldGet::new("text"))
        .await
        .unwrap()
        .item;
    assert_eq!(
        (text.r#type.as_deref(), text.multiple),
        (Some("string"), Some(false))
    );
}
