//! The tasks specs (task.checklistitem.*, task.elapseditem.*, task.stages.*, tasks.flow.*,
//! tasks.template.*, tasks.task.* user actions, counters, access and history) decode what their
//! docs pages' tables allow beyond the examples, and send what the pages ask for. Sources:
//! tasks/fields.md, tasks/checklist-item/task-checklist-item-add.md and -get.md,
//! tasks/stages/task-stages-get.md, tasks/flow/tasks-flow-flow-get.md,
//! tasks/tasks-task-counters-get.md, tasks/tasks-task-get-access.md,
//! tasks/tasks-task-history-list.md, tasks/user-actions/tasks-task-pin.md,
//! tasks/template/checklist/tasks-template-checklist-list.md and -get.md,
//! tasks/template/tasks-template-delete.md, tasks/planner/task-planner-get-list.md.
#![cfg(feature = "core")]

use std::collections::BTreeMap;

use bitrix24::envelope::decode_typed;
use bitrix24::packs::core::{
    Task, TaskChecklistItem, TaskChecklistMember, TaskChecklistitemGet, TaskFlow, TaskHistoryField,
    TaskMemberRole, TaskPlannerGetlist, TaskPriority, TaskStage, TaskStageEntityType,
    TaskStageSystemType, TaskStagesGet, TaskStatus, TasksTaskCountersGet, TasksTaskGetaccess,
    TasksTaskHistoryList, TasksTaskPin, TasksTemplateChecklistGet, TasksTemplateChecklistList,
    TasksTemplateDelete,
};
use bitrix24::{Error, Method};
use serde_json::{Value, json};

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("decodes")
}

fn body(result: Value) -> Vec<u8> {
    let envelope = serde_json::Map::from_iter([
        ("result".to_owned(), result),
        ("time".to_owned(), json!({})),
    ]);
    serde_json::to_vec(&envelope).unwrap()
}

/// `result` decoded as the client decodes `M`'s answer.
fn result<M: Method>(result: Value) -> M::Response {
    decode_typed::<M>(200, &body(result))
        .expect("decodes")
        .result
}

#[test]
fn task_fields_read_ids_as_strings_flags_and_php_empties() {
    // tasks/fields.md: ids and counts are strings, flags Y/N, `mark` empty when unrated, and
    // the objects (`checklist`, `group`, `accomplicesData`) are `[]` when empty.
    let t: Task = decode(json!({
        "id": "8017", "parentId": null, "status": "5", "priority": "0", "mark": "",
        "multitask": "N", "isMuted": "Y", "favorite": "N", "closedBy": "0", "timeEstimate": "101580",
        "auditors": ["61", "103"], "accomplices": [], "checklist": [], "group": [],
        "accomplicesData": [], "auditorsData": {"61": {"id": "61", "name": "Ivan"}},
        "action": {"complete": false, "checklist.add": true}, "checkListTree": {
            "nodeId": 0, "fields": {"id": null, "userId": 503, "isComplete": false},
            "action": [], "descendants": [{"nodeId": 1, "fields": {"id": 431, "title": "Checklist 1"},
            "action": {"modify": true}, "descendants": []}]
        },
        "ufCrmTask": ["D_1723"]
    }));
    assert_eq!((t.id, t.parent_id), (Some(8017), None));
    assert_eq!(t.status, Some(TaskStatus::Completed));
    assert_eq!(t.priority, Some(TaskPriority::Low));
    assert_eq!(t.mark, None);
    assert_eq!(
        (t.multitask, t.is_muted, t.favorite),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!((t.closed_by, t.time_estimate), (Some(0), Some(101_580)));
    assert_eq!(t.auditors, Some(vec![61, 103]));
    assert_eq!(t.accomplices, Some(vec![]));
    assert_eq!(
        (t.checklist, t.group, t.accomplices_data),
        (None, None, None)
    );
    assert_eq!(t.auditors_data.unwrap()["61"].name.as_deref(), Some("Ivan"));
    let action = t.action.unwrap();
    assert!(action["checklist.add"] && !action["complete"]);
    let tree = t.check_list_tree.unwrap();
    assert_eq!(tree.action, None);
    let child = &tree.descendants.unwrap()[0];
    assert_eq!(child.fields.as_ref().unwrap().id, Some(431));
    assert_eq!(child.descendants, Some(vec![]));
    // User fields are not named: they stay in `extra`.
    assert_eq!(t.extra["ufCrmTask"], json!(["D_1723"]));
}

#[test]
fn checklist_item_members_go_out_keyed_by_user_and_come_back_as_a_list() {
    let mut members = BTreeMap::new();
    members.insert(
        "547".to_owned(),
        TaskChecklistMember::new().r#type(TaskMemberRole::Participant),
    );
    let sent = serde_json::to_value(
        TaskChecklistItem::new()
            .title("Prepare the report")
            .is_important(true)
            .is_complete(false)
            .members(members),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"TITLE": "Prepare the report", "IS_IMPORTANT": "Y", "IS_COMPLETE": "N",
               "MEMBERS": {"547": {"TYPE": "A"}}})
    );
    // A root item nobody toggled: null and "" for the toggle, `[]` for no attachments.
    let item = result::<TaskChecklistitemGet>(json!({
        "ID": "431", "PARENT_ID": 0, "IS_COMPLETE": "Y", "TOGGLED_BY": null, "TOGGLED_DATE": "",
        "MEMBERS": [{"ID": "3", "TYPE": "U"}, {"ID": "11", "TYPE": "X"}], "ATTACHMENTS": []
    }));
    assert_eq!((item.id, item.parent_id), (Some(431), Some(0)));
    assert_eq!(item.is_complete, Some(true));
    assert_eq!((item.toggled_by, item.toggled_date), (None, None));
    assert_eq!(item.attachments, None);
    let members: Vec<_> = item.members.unwrap().into_values().collect();
    assert_eq!(members[0].r#type, Some(TaskMemberRole::Observer));
    assert_eq!(members[1].r#type, Some(TaskMemberRole::Unknown("X".into())));
}

#[test]
fn stages_decode_system_types_and_owner_kinds() {
    let stages = result::<TaskStagesGet>(json!({
        "5": {"ID": "5", "SYSTEM_TYPE": "NEW", "ENTITY_ID": "1", "ENTITY_TYPE": "U", "ADDITIONAL_FILTER": []},
        "7": {"ID": "7", "SYSTEM_TYPE": null, "ENTITY_ID": "125", "ENTITY_TYPE": "G", "TO_UPDATE_ACCESS": null}
    }));
    let (new, plain): (&TaskStage, &TaskStage) = (&stages["5"], &stages["7"]);
    assert_eq!(new.system_type, Some(TaskStageSystemType::New));
    assert_eq!(new.entity_type, Some(TaskStageEntityType::User));
    assert_eq!(new.additional_filter, Some(vec![]));
    assert_eq!(plain.system_type, None);
    assert_eq!(
        (plain.entity_id, plain.entity_type.clone()),
        (Some(125), Some(TaskStageEntityType::Group))
    );
}

#[test]
fn counters_and_access_read_an_empty_array_as_nothing_to_report() {
    // No such user, or no right to see their counters: `"result": []`.
    let none = result::<TasksTaskCountersGet>(json!([]));
    assert!(none.is_empty());
    let c = result::<TasksTaskCountersGet>(json!({"expired": {"counter": "1", "code": 6_291_456}}));
    assert_eq!(c["expired"].counter, Some(1));
    // The caller has no access to the task: `"allowedActions": []`.
    let a = result::<TasksTaskGetaccess>(json!({"allowedActions": []}));
    assert!(a.allowed_actions.is_empty());
    let a = result::<TasksTaskGetaccess>(
        json!({"allowedActions": {"9999": {"EDIT": false, "EDIT.PLAN": false}}}),
    );
    assert!(!a.allowed_actions["9999"]["EDIT.PLAN"]);
}

#[test]
fn history_of_a_missing_task_is_an_empty_list() {
    let h = result::<TasksTaskHistoryList>(json!({"list": []}));
    assert!(h.list.is_empty());
    let h = result::<TasksTaskHistoryList>(
        json!({"list": [{"id": 1, "field": "MOVE_TO_SPRINT", "value": {"from": "", "to": 7}},
                              {"id": 2, "field": "SOMETHING_NEW", "value": {"from": null, "to": null}}]}),
    );
    assert_eq!(h.list[0].field, Some(TaskHistoryField::MoveToSprint));
    assert_eq!(h.list[0].value.as_ref().unwrap().to, Some(json!(7)));
    assert_eq!(
        h.list[1].field,
        Some(TaskHistoryField::Unknown("SOMETHING_NEW".into()))
    );
}

#[test]
fn pin_on_a_task_the_user_cannot_see_is_a_decode_error_naming_the_method() {
    // tasks/user-actions/tasks-task-pin.md: `"result": []` without access or for no such task.
    let e = decode_typed::<TasksTaskPin>(200, &body(json!([]))).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("tasks.task.pin"), "{e}");
}

#[test]
fn template_checklist_flags_read_y_n_in_lists_and_booleans_in_items() {
    // tasks.template.checklist.list answers strings ("N", "0"); .get answers booleans and numbers.
    let list = result::<TasksTemplateChecklistList>(json!({"checkListItems": {
        "23": {"id": "23", "parentId": 0, "isComplete": "N", "isImportant": "Y"}
    }}));
    let root = &list.check_list_items["23"];
    assert_eq!(
        (root.parent_id, root.is_complete, root.is_important),
        (Some(0), Some(false), Some(true))
    );
    let none = result::<TasksTemplateChecklistList>(json!({"checkListItems": []}));
    assert!(none.check_list_items.is_empty());
    // An unknown item: "empty field values".
    let item = result::<TasksTemplateChecklistGet>(json!({"checkListItem": {
        "id": null, "title": "", "isComplete": false, "members": [], "attachments": []
    }}))
    .check_list_item;
    assert_eq!(
        (item.id, item.title, item.is_complete),
        (None, None, Some(false))
    );
    assert_eq!((item.members, item.attachments), (Some(vec![]), None));
}

#[test]
fn flows_keep_null_thresholds_and_pairs() {
    let f: TaskFlow = decode(json!({
        "id": 517, "active": true, "distributionType": "queue", "notifyOnQueueOverflow": null,
        "notifyWhenEfficiencyDecreases": 40, "responsibleList": [["user", "3"], ["department", "17:F"]],
        "taskCreators": [["meta-user", "all-users"]]
    }));
    assert_eq!(f.notify_on_queue_overflow, None);
    assert_eq!(f.notify_when_efficiency_decreases, Some(40));
    assert_eq!(f.responsible_list.unwrap()[1], ["department", "17:F"]);
}

#[test]
fn template_delete_and_planner_take_their_documented_empties() {
    // tasks.template.delete always answers false (the template is deleted all the same).
    let r = result::<TasksTemplateDelete>(json!(false));
    assert!(!r);
    // An empty daily plan is `[]`; ids may come as strings.
    let ids = result::<TaskPlannerGetlist>(json!([]));
    assert!(ids.is_empty());
    let ids = result::<TaskPlannerGetlist>(json!(["7811", 8017]));
    assert_eq!(ids, [7811, 8017]);
}
