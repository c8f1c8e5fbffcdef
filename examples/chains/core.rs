//! The `core` chains of references/chains-core.md, each a function run against the embedded
//! emulator by `cargo test -p bitrix24-examples --test chains_core`: a chain that stops
//! working fails the build. Each function is the snippet the reference shows.

use bitrix24::packs::core::{
    CrmItemAdd, CrmItemList, CrmItemUpdate, EventBind, EventOfflineClear, EventOfflineGet,
    EventOfflineList, Item, TaskFields, TasksTaskAddV2,
};
use bitrix24::{Client, Error};
use bitrix24_examples::{app_client, webhook_portal as portal};
use serde_json::json;

/// The `entityTypeId` of leads in `crm.item.*`.
const LEAD: i64 = 1;
/// The `entityTypeId` of deals in `crm.item.*`.
const DEAL: i64 = 2;

/// Chain 1, lead intake and qualification: add, look for the same request, qualify.
/// Returns the lead and how many leads carry the same title.
async fn lead_intake(client: &Client, title: &str) -> Result<(u64, usize), Error> {
    // 1. crm.item.add of a lead (a write: `--confirm-write` in b24, `confirm_write` in b24 mcp)
    let lead = Item::new().title(title).name("Ada").source_id("WEB");
    let id = client.send(&CrmItemAdd::new(LEAD, lead)).await?.item.id;
    let id = id.unwrap_or_default();
    // 2. crm.item.list: the same request already there? A fixed filter and order.
    let same = client
        .send(
            &CrmItemList::new(LEAD)
                .filter(json!({ "title": title }))
                .order(json!({ "id": "ASC" }))
                .select([Item::ID, Item::TITLE]),
        )
        .await?
        .items;
    // 3. crm.item.update: owner and qualification note.
    let qualified = Item::new()
        .assigned_by_id(1)
        .comments("Qualified: 20 seats");
    client
        .send(&CrmItemUpdate::new(LEAD, id, qualified))
        .await?;
    Ok((id, same.len()))
}

/// Chain 2, deal change to task assignment: deals at a stage, a task bound to each (the
/// `UF_CRM_TASK` binding `D_<id>`), the task's id noted on the deal. Returns the task ids.
async fn deal_to_task(client: &Client, stage: &str) -> Result<Vec<u64>, Error> {
    // 1. crm.item.list of the deals with a stage filter
    let deals = client
        .send(
            &CrmItemList::new(DEAL)
                .filter(json!({ "stageId": stage }))
                .select([Item::ID, Item::TITLE]),
        )
        .await?
        .items;
    let mut tasks = Vec::new();
    for deal in deals {
        let Some(deal_id) = deal.id else { continue };
        // 2. tasks.task.add, bound to the deal
        let title = format!("Follow up: {}", deal.title.unwrap_or_default());
        let mut fields = TaskFields::new().title(title).responsible_id(1);
        fields.set_uf("UF_CRM_TASK", [format!("D_{deal_id}")])?;
        let task = client.send(&TasksTaskAddV2::new(fields)).await?.task;
        let task_id = task.id.unwrap_or_default();
        // 3. crm.item.update of the deal with the task reference
        let note = Item::new().comments(format!("Follow-up task {task_id}"));
        client
            .send(&CrmItemUpdate::new(DEAL, deal_id, note))
            .await?;
        tasks.push(task_id);
    }
    Ok(tasks)
}

/// Chain 3, event bootstrap for reliable sync (an OAuth application: a webhook gets
/// `WRONG_AUTH_TYPE`): bind offline, peek, reserve, persist, then clear. `persist` runs for
/// every event before the clear, so a crash before it loses nothing.
async fn event_bootstrap(
    client: &Client,
    connector: &str,
    mut persist: impl FnMut(&str),
) -> Result<usize, Error> {
    // 1. event.bind, offline, under a connector key of this integration
    let bind = EventBind::new("ONCRMLEADADD")
        .event_type("offline")
        .auth_connector(connector);
    client.send(&bind).await?;
    // (something happens on the portal)
    client
        .send(&CrmItemAdd::new(LEAD, Item::new().title("Queued lead")))
        .await?;
    // 2. event.offline.list: what waits, without taking it
    let waiting = client
        .send(&EventOfflineList::new().auth_connector(connector))
        .await?;
    // 3. event.offline.get with clear=0: reserved under a process id, not deleted
    let taken = client
        .send(&EventOfflineGet::new(0).limit(50).auth_connector(connector))
        .await?;
    let events = taken.events.unwrap_or_default();
    for e in &events {
        persist(e.event_name.as_deref().unwrap_or_default());
    }
    // 4. event.offline.clear only after every event was persisted
    if let Some(process_id) = taken.process_id {
        client
            .send(&EventOfflineClear::new(process_id).auth_connector(connector))
            .await?;
    }
    assert!(waiting.len() >= events.len());
    Ok(events.len())
}

#[tokio::test]
async fn chain_1_lead_intake_and_qualification() {
    let (emu, client) = portal().await;
    let (first, same) = lead_intake(&client, "Website request: 20 seats")
        .await
        .unwrap();
    assert_eq!(same, 1);
    let (second, same) = lead_intake(&client, "Website request: 20 seats")
        .await
        .unwrap();
    assert_eq!(same, 2, "the second intake sees the first as a duplicate");
    assert_ne!(first, second);
    assert_eq!(emu.control().method_calls("crm.item.update"), 2);
}

#[tokio::test]
async fn chain_2_deal_change_to_task_assignment() {
    let (emu, client) = portal().await;
    for (title, stage) in [("Big order", "PREPARATION"), ("Other", "NEW")] {
        let deal = Item::new().title(title).stage_id(stage);
        client.send(&CrmItemAdd::new(DEAL, deal)).await.unwrap();
    }
    let tasks = deal_to_task(&client, "PREPARATION").await.unwrap();
    assert_eq!(tasks.len(), 1, "only the deal at the stage");
    assert_eq!(emu.control().method_calls("tasks.task.add"), 1);
    assert_eq!(emu.control().method_calls("crm.item.update"), 1);
}

#[tokio::test]
async fn chain_3_event_bootstrap_for_reliable_sync() {
    let (emu, _) = portal().await;
    let app = app_client(&emu).unwrap();
    let mut stored = Vec::new();
    let n = event_bootstrap(&app, "chains", |name| stored.push(name.to_owned()))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(stored, ["ONCRMLEADADD"]);
    // Cleared: nothing waits any more.
    let left = app
        .send(&EventOfflineList::new().auth_connector("chains"))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-core.md"),
        include_str!("core.rs"),
        3,
    );
}
