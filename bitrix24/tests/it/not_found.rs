//! A record that does not exist is recognisable in every form the emulator (after the docs)
//! answers it, and `.optional()` turns it into `None`. (`tasks.task.get`'s docs give no
//! not-found answer, so it is not pinned here.)

use bitrix24::OptionalExt;
use bitrix24_emulator::Emulator;
use serde_json::json;

use crate::support::hook_client;

#[tokio::test]
async fn missing_records_are_not_found_and_optional_gives_none() {
    let emu = Emulator::builder()
        .webhook(1, "n0tf0und")
        .start()
        .await
        .unwrap();
    let c = hook_client(&emu.webhook_url());
    for (method, params) in [
        ("crm.deal.get", json!({"id": 987_654})),
        ("crm.lead.get", json!({"id": 987_654})),
        ("crm.item.get", json!({"entityTypeId": 2, "id": 987_654})),
    ] {
        let err = c.call(method, params.clone()).await.unwrap_err();
        assert!(err.is_not_found(), "{method}: {err:?}");
        assert_eq!(
            c.call(method, params).await.optional().unwrap(),
            None,
            "{method}"
        );
    }
    // A present record stays Some, and other errors stay errors.
    let id = c
        .call("crm.deal.add", json!({"fields": {"TITLE": "here"}}))
        .await
        .unwrap();
    let found = c.call("crm.deal.get", json!({"id": id})).await.optional();
    assert!(found.unwrap().is_some());
    let err = c
        .call("no.such.method", json!({}))
        .await
        .optional()
        .unwrap_err();
    assert!(!err.is_not_found(), "{err:?}");
}
