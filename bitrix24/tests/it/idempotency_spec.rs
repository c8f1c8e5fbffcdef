//! Issue 9 (duplicated writes, lost data): whether a call is re-sent after an ambiguous failure
//! comes from the specs. Every test runs the emulator with its lose-response-after-write fault at
//! 100% (the method runs, then the connection closes without an answer) and counts how often the
//! portal executed the method.

use bitrix24::smart::{ItemUpdate, SmartProcessItem};
use bitrix24::{Error, ErrorKind};
use bitrix24_emulator::{Emulator, Faults, RunningEmulator};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::support::hook_client;

async fn portal() -> RunningEmulator {
    Emulator::builder()
        .webhook(1, "itcode")
        .start()
        .await
        .unwrap()
}

/// Every response is lost after the method ran.
fn lose_every_response(emu: &RunningEmulator) {
    emu.control().set_faults(Faults {
        lose_response_after_write_ratio: 1.0,
        ..Faults::default()
    });
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

#[tokio::test]
async fn idempotency_a_typed_crm_item_update_whose_response_is_lost_is_sent_once() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id = c
        .call("crm.deal.add", json!({"fields": {"TITLE": "before"}}))
        .await
        .unwrap()
        .as_u64()
        .unwrap();
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
    let deal = c.call("crm.deal.get", json!({"id": id})).await.unwrap();
    assert_eq!(deal["TITLE"], "after", "applied once");
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
