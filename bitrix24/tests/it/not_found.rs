//! A record that does not exist is recognisable in every form the emulator (after the docs)
//! answers it, and `.optional()` turns it into `None`. (`tasks.task.get`'s docs give no
//! not-found answer, so it is not pinned here.)

// the legacy crm.deal.get/crm.lead.get not-found answers are what is pinned
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealGet, CrmItemGet, CrmLeadGet};
use bitrix24::{Client, Method, OptionalExt};
use serde_json::json;

use crate::support::{add_deal, hook_client, portal};

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

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn missing_records_are_not_found_and_optional_gives_none() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    is_not_found(&c, &CrmDealGet::new(987_654)).await;
    is_not_found(&c, &CrmLeadGet::new(987_654)).await;
    is_not_found(&c, &CrmItemGet::new(2, 987_654)).await;
    // A present record stays Some, and other errors stay errors.
    let id = add_deal(&c, "here").await;
    let found = c.send(&CrmDealGet::new(id)).await.optional();
    assert!(found.unwrap().is_some());
    let err = c
        .call("no.such.method", json!({}))
        .await
        .optional()
        .unwrap_err();
    assert!(!err.is_not_found(), "{err:?}");
}
