//! Issue 9 (duplicated writes, lost data): whether a call is re-sent after an ambiguous failure
//! comes from the specs. Every test runs the emulator with its lose-response-after-write fault at
//! 100% (the method runs, then the connection closes without an answer) and counts how often the
//! portal executed the method.

// reads back a legacy crm.deal.* record an idempotency test wrote
#[allow(deprecated)]
use bitrix24::packs::core::{
    CrmDealGet, EventBind, EventOfflineClear, EventOfflineGet, EventOfflineList,
};
use bitrix24::smart::{ItemUpdate, SmartProcessItem};
use bitrix24::{Client, Error, ErrorKind};
use bitrix24_emulator::{Faults, RunningEmulator};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::support::{add_deal, emulator_app, hook_client, portal};

/// Every response is lost after the method ran.
fn lose_every_response(emu: &RunningEmulator) {
    emu.control().set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
}

/// Binds `ONCRMDEALUPDATE` as an offline event, then fires it for deal `id`: one queued event.
async fn queue_deal_update(c: &Client, emu: &RunningEmulator, id: &str) {
    c.send(&EventBind::new("ONCRMDEALUPDATE").event_type("offline"))
        .await
        .unwrap();
    emu.control()
        .emit_event("ONCRMDEALUPDATE", json!({"FIELDS": {"ID": id}}));
}

/// A deal as `crm.item.*` (entityTypeId 2) sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DealItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
}

impl SmartProcessItem for DealItem {
    const ENTITY_TYPE_ID: u64 = 2;
    fn item_id(&self) -> Option<u64> {
        self.id
    }
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn idempotency_a_typed_crm_item_update_whose_response_is_lost_is_sent_once() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id = add_deal(&c, "before").await;
    lose_every_response(&emu);
    let before = emu.control().method_calls("crm.item.update");
    let update = ItemUpdate::new(
        id,
        DealItem {
            title: Some("after".into()),
            ..DealItem::default()
        },
    );
    let err = c.send(&update).await.unwrap_err();
    assert_eq!(
        emu.control().method_calls("crm.item.update") - before,
        1,
        "an update is never re-sent"
    );
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    emu.control().set_faults(Faults::default());
    let deal = c.send(&CrmDealGet::new(id)).await.unwrap();
    assert_eq!(deal.title.as_deref(), Some("after"), "applied once");
}

#[tokio::test]
async fn idempotency_untyped_get_external_link_whose_response_is_lost_is_sent_once() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    lose_every_response(&emu);
    for method in ["disk.file.getExternalLink", "disk.folder.getExternalLink"] {
        let counted = method.to_ascii_lowercase();
        let before = emu.control().method_calls(&counted);
        let err = c.call(method, json!({"id": 1})).await.unwrap_err();
        assert_eq!(
            emu.control().method_calls(&counted) - before,
            1,
            "{method} is a write in the specs: never re-sent"
        );
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{method}: {err:?}"
        );
    }
}

#[tokio::test]
async fn idempotency_a_raw_batch_command_the_specs_call_a_write_is_sent_once() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    lose_every_response(&emu);
    let mut batch = c.batch();
    let link = batch
        .add_raw("link", "disk.file.getExternalLink", json!({"id": 1}))
        .unwrap();
    let before = emu.control().method_calls("batch");
    let out = batch.send().await.unwrap();
    let err = out.get(&link).unwrap_err();
    assert_eq!(emu.control().method_calls("batch") - before, 1, "{err:?}");
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err:?}");
}

#[tokio::test]
async fn idempotency_a_typed_event_offline_get_whose_response_is_lost_is_sent_once() {
    let emu = portal().await;
    let c = emulator_app(&emu, None);
    queue_deal_update(&c, &emu, "1").await;
    assert_eq!(emu.control().offline_queue_len(), 1);
    lose_every_response(&emu);
    let before = emu.control().method_calls("event.offline.get");
    // `clear = 0`: the events are reserved, not deleted, so a lost answer loses nothing.
    let err = c.send(&EventOfflineGet::new(0)).await.unwrap_err();
    assert_eq!(
        emu.control().method_calls("event.offline.get") - before,
        1,
        "event.offline.get changes the queue: never re-sent"
    );
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    emu.control().set_faults(Faults::default());
    let queued = c.send(&EventOfflineList::new()).await.unwrap();
    assert_eq!(
        queued.len(),
        1,
        "the event is still queued, reserved: {queued:?}"
    );
    assert_eq!(queued[0].event_name.as_deref(), Some("ONCRMDEALUPDATE"));
    assert!(
        queued[0]
            .process_id
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    );
}

#[tokio::test]
async fn idempotency_typed_offline_events_reserve_then_clear() {
    let emu = portal().await;
    let c = emulator_app(&emu, None);
    queue_deal_update(&c, &emu, "7").await;
    let batch = c.send(&EventOfflineGet::new(0).limit(10)).await.unwrap();
    assert_eq!(batch.events.as_ref().map(Vec::len), Some(1), "{batch:?}");
    let event = &batch.events.as_ref().unwrap()[0];
    assert_eq!(event.event_name.as_deref(), Some("ONCRMDEALUPDATE"));
    assert_eq!(
        event.event_data.as_ref().map(|d| d["FIELDS"]["ID"].clone()),
        Some(json!("7"))
    );
    let process = batch
        .process_id
        .clone()
        .expect("clear = 0 reserves under a process");
    assert_eq!(
        emu.control().offline_queue_len(),
        1,
        "reserved, not deleted"
    );
    assert!(c.send(&EventOfflineClear::new(process)).await.unwrap());
    assert_eq!(
        emu.control().offline_queue_len(),
        0,
        "cleared after processing"
    );
}
