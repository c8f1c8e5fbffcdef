//! A record that does not exist is recognisable in every form the emulator (after the docs)
//! answers it, and `.optional()` turns it into `None`. (`tasks.task.get`'s docs give no
//! not-found answer, so it is not pinned here.)

use bitrix24::packs::core::{CrmDealAdd, CrmDealGet, CrmItemGet, CrmLeadGet, Deal};
use bitrix24::{Client, Method, OptionalExt};
use bitrix24_emulator::Emulator;
use serde_json::json;

use crate::support::hook_client;

/// `method` fails as not found, and `.optional()` makes that `None`.
async fn is_not_found<M: Method>(c: &Client, method: &M)
where
    M::Response: std::fmt::Debug,
{
    let err = c.send(method).await.unwrap_err();
    assert!(err.is_not_found(), "{}: {err:?}", M::NAME);
    assert!(
        c.send(method).await.optional().unwrap().is_none(),
        "{}",
        M::NAME
    );
}

#[tokio::test]
async fn missing_records_are_not_found_and_optional_gives_none() {
    let emu = Emulator::builder()
        .webhook(1, "n0tf0und")
        .start()
        .await
        .unwrap();
    let c = hook_client(&emu.webhook_url());
    is_not_found(&c, &CrmDealGet::new(987_654)).await;
    is_not_found(&c, &CrmLeadGet::new(987_654)).await;
    is_not_found(&c, &CrmItemGet::new(2, 987_654)).await;
    // A present record stays Some, and other errors stay errors.
    let id = c
        .send(&CrmDealAdd::new(Deal {
            title: Some("here".into()),
            ..Deal::default()
        }))
        .await
        .unwrap();
    let found = c.send(&CrmDealGet::new(id)).await.optional();
    assert!(found.unwrap().is_some());
    let err = c
        .call("no.such.method", json!({}))
        .await
        .optional()
        .unwrap_err();
    assert!(!err.is_not_found(), "{err:?}");
}
