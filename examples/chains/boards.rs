//! The `boards` chains of references/chains-boards.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_boards`.

use bitrix24::packs::boards::{
    Epic, ScrumTask, Sprint, SprintStatus, TasksApiScrumBacklogGet, TasksApiScrumEpicAdd,
    TasksApiScrumEpicList, TasksApiScrumKanbanAddTask, TasksApiScrumKanbanGetStages,
    TasksApiScrumSprintAdd, TasksApiScrumSprintComplete, TasksApiScrumSprintList,
    TasksApiScrumSprintStart, TasksApiScrumTaskUpdate,
};
use bitrix24::packs::collab::SonetGroupCreate;
use bitrix24::packs::core::{TaskFields, TasksTaskAddV2};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal as portal;
use serde_json::{Value, json};

/// Chain 1, sprint kickoff: the sprint, started, and its kanban stages. Returns the sprint
/// id and the stage ids.
async fn sprint_kickoff(client: &Client, group: u64) -> Result<(u64, Vec<u64>), Error> {
    // 1. tasks.api.scrum.sprint.add
    let sprint = Sprint::new()
        .group_id(group)
        .name("Sprint 1")
        .date_start("2024-07-19T15:03:01+00:00")
        .date_end("2024-08-02T15:03:01+00:00");
    let added = client.send(&TasksApiScrumSprintAdd::new(sprint)).await?;
    let id = added.id.unwrap_or_default();
    // 2. tasks.api.scrum.sprint.start: planned -> active
    let started = client.send(&TasksApiScrumSprintStart::new(id)).await?;
    assert_eq!(started.status, Some(SprintStatus::Active));
    // 3. tasks.api.scrum.kanban.getStages
    let stages = client.send(&TasksApiScrumKanbanGetStages::new(id)).await?;
    let ids = stages.iter().filter_map(|s| s.id).collect();
    Ok((id, ids))
}

/// Chain 2, backlog to sprint: the group's backlog, the task placed on the sprint's first
/// stage, its story points set. Returns the backlog id.
async fn backlog_to_sprint(
    client: &Client,
    group: u64,
    sprint: u64,
    stage: u64,
    task: u64,
) -> Result<u64, Error> {
    // 1. tasks.api.scrum.backlog.get (by group id)
    let backlog = client.send(&TasksApiScrumBacklogGet::new(group)).await?;
    // 2. tasks.api.scrum.kanban.addTask: the task must belong to the sprint's group
    client
        .send(&TasksApiScrumKanbanAddTask::new(sprint, task, stage))
        .await?;
    // 3. tasks.api.scrum.task.update: story points and the sprint
    let scrum = ScrumTask::new().entity_id(sprint).story_points("5");
    client
        .send(&TasksApiScrumTaskUpdate::new(task, scrum))
        .await?;
    Ok(backlog.id.unwrap_or_default())
}

/// Chain 3, sprint completion: complete the sprint, list the group's epics, and hand the
/// final state to your reporting store. Returns what was exported.
async fn sprint_completion(
    client: &Client,
    sprint: u64,
    mut export: impl FnMut(Value),
) -> Result<usize, Error> {
    // 1. tasks.api.scrum.sprint.complete: active -> completed
    let done = client
        .send(&TasksApiScrumSprintComplete::new(sprint))
        .await?;
    // 2. tasks.api.scrum.epic.list of the sprint's group
    let epics = client
        .send(&TasksApiScrumEpicList::new().filter(json!({ "groupId": done.group_id })))
        .await?;
    // 3. the final status, exported
    let n = epics.len();
    export(json!({ "sprint": done.id, "status": done.status, "epics": n }));
    Ok(n)
}

/// A scrum group, a task in it, and its started sprint with the stage ids.
async fn started_sprint(client: &Client) -> (u64, u64, u64, Vec<u64>) {
    let (group, task) = scrum_group(client).await;
    let (sprint, stages) = sprint_kickoff(client, group).await.unwrap();
    (group, task, sprint, stages)
}

/// A scrum group and a task in it.
async fn scrum_group(client: &Client) -> (u64, u64) {
    let group = client
        .send(&SonetGroupCreate::new("Platform team").project(true))
        .await
        .unwrap();
    let task = TaskFields::new()
        .title("Login page")
        .responsible_id(1)
        .group_id(group);
    let task = client.send(&TasksTaskAddV2::new(task)).await.unwrap();
    (group, task.task.id.unwrap())
}

#[tokio::test]
async fn chain_1_sprint_kickoff() {
    let (_emu, client) = portal().await;
    let (_, _, sprint, stages) = started_sprint(&client).await;
    assert_eq!(stages.len(), 3, "New, In Progress, Done");
    // A sprint starts once.
    let e = client
        .send(&TasksApiScrumSprintStart::new(sprint))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Sprint must be planned"), "{e}");
}

#[tokio::test]
async fn chain_2_backlog_to_sprint() {
    let (emu, client) = portal().await;
    let (group, task, sprint, stages) = started_sprint(&client).await;
    let backlog = backlog_to_sprint(&client, group, sprint, stages[0], task)
        .await
        .unwrap();
    assert!(backlog > 0);
    assert_eq!(
        emu.control().method_calls("tasks.api.scrum.kanban.addtask"),
        1
    );
    // A task of another group is refused.
    let (_, other) = scrum_group(&client).await;
    let e = backlog_to_sprint(&client, group, sprint, stages[0], other)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("GROUP_ID"), "{e}");
}

#[tokio::test]
async fn chain_3_sprint_completion() {
    let (_emu, client) = portal().await;
    let (group, _, sprint, _) = started_sprint(&client).await;
    let epic = Epic::new().name("Auth").group_id(group);
    client.send(&TasksApiScrumEpicAdd::new(epic)).await.unwrap();
    let mut report = Vec::new();
    let n = sprint_completion(&client, sprint, |row| report.push(row))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(report[0]["status"], "completed");
    // The sprint lists by its group, completed.
    let listed = client
        .send(&TasksApiScrumSprintList::new().filter(json!({ "GROUP_ID": group })))
        .await
        .unwrap();
    assert_eq!(listed[0].status, Some(SprintStatus::Completed));
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-boards.md"),
        include_str!("boards.rs"),
        3,
    );
}
