//! The scrum specs decode what their docs pages' tables allow beyond the examples (stage ids
//! and sorts sent as strings, story points as text or a number, an epic's files as the user
//! field or as ids, sprint states) and send what the pages ask for. Sources:
//! sonet-group/scrum/sprint/tasks-api-scrum-sprint-add.md and -get.md,
//! sonet-group/scrum/kanban/tasks-api-scrum-kanban-get-stages.md and -add-stage.md,
//! sonet-group/scrum/epic/tasks-api-scrum-epic-get.md, sonet-group/scrum/task/tasks-api-scrum-task-get.md
//! and -update.md, sonet-group/scrum/sprint/tasks-api-scrum-sprint-get-fields.md.
#![cfg(feature = "boards")]

mod decode_support;

use bitrix24::Method;
use bitrix24::packs::boards::{
    Epic, ScrumStage, ScrumStageType, ScrumTask, ScrumTaskUpdateResult, Sprint, SprintStatus,
    TasksApiScrumKanbanAddStage, TasksApiScrumSprintGetFields,
};
use decode_support::decode;
use serde_json::json;

#[test]
fn sprints_have_states_and_iso_dates() {
    let s: Sprint = decode(json!({
        "id": 2, "groupId": "143", "status": "completed", "goal": "",
        "dateStart": "2024-07-19T15:03:01+00:00", "dateEnd": null
    }));
    assert_eq!((s.id, s.group_id), (Some(2), Some(143)));
    assert_eq!(s.status, Some(SprintStatus::Completed));
    assert_eq!(s.goal, None);
    assert_eq!(s.date_end, None);
    assert!(s.date_start.is_some());
    let fields = TasksApiScrumSprintGetFields::decode_response(
        json!({"fields": {"sort": {"type": "integer"}, "status": {"type": "string"}}}),
    )
    .unwrap();
    assert_eq!(fields.fields["sort"].r#type.as_deref(), Some("integer"));
}

#[test]
fn kanban_stages_come_as_strings_and_are_sent_typed() {
    let st: ScrumStage = decode(json!({
        "id": "58", "name": "New", "sort": "100", "type": "NEW", "sprintId": "5", "color": "00C4FB"
    }));
    assert_eq!(
        (st.id, st.sort, st.sprint_id),
        (Some(58), Some(100), Some(5))
    );
    assert_eq!(st.r#type, Some(ScrumStageType::New));
    let sent = serde_json::to_value(TasksApiScrumKanbanAddStage::new(
        ScrumStage::new()
            .sprint_id(5)
            .name("Review")
            .r#type(ScrumStageType::Work)
            .sort(200),
    ))
    .unwrap();
    assert_eq!(
        sent,
        json!({"fields": {"sprintId": 5, "name": "Review", "type": "WORK", "sort": 200}})
    );
}

#[test]
fn story_points_are_text_and_epic_files_either_shape() {
    let t: ScrumTask = decode(json!({"entityId": 2, "storyPoints": "XL", "epicId": 0}));
    assert_eq!(t.story_points.as_deref(), Some("XL"));
    let t: ScrumTask = decode(json!({"storyPoints": 2}));
    assert_eq!(t.story_points.as_deref(), Some("2"));
    // epic.get answers the files user field; an update sends ids.
    let e: Epic =
        decode(json!({"id": 1, "files": {"FIELD_NAME": "UF_SCRUM_EPIC_FILES", "VALUE": []}}));
    assert_eq!(e.files.unwrap()["FIELD_NAME"], "UF_SCRUM_EPIC_FILES");
    let e: Epic = decode(json!({"id": 1, "files": ["n426", "n427"]}));
    assert_eq!(e.files.unwrap()[1], "n427");
    // task.update: `data` is null when it failed.
    let r: ScrumTaskUpdateResult =
        decode(json!({"status": "error", "data": null, "errors": [{"message": "x"}]}));
    assert_eq!((r.status.as_deref(), r.data), (Some("error"), None));
    assert_eq!(r.errors.map(|e| e.len()), Some(1));
}
