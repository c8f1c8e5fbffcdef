//! Generated, fully typed methods through the client, against the emulator.

// the generated legacy crm.deal.* structs and their wire shape
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealGet, CrmDealList, CrmDealUpdate, Deal};
use bitrix24::{Method, Risk, catalog};
use futures::TryStreamExt;

use crate::canned::{Canned, json};
use crate::support::{hook_client, portal};

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn typed_deal_roundtrip_with_flags_as_y_n() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let fields = Deal {
        title: Some("Typed deal".into()),
        opened: Some(false),
        opportunity: Some("1000.50".into()),
        ..Deal::default()
    };
    // Legacy entities write flags as "Y"/"N", never JSON booleans.
    let wire = serde_json::to_value(CrmDealAdd::new(fields.clone())).unwrap();
    assert_eq!(wire["fields"]["OPENED"], "N");
    let id: u64 = c.send(&CrmDealAdd::new(fields)).await.unwrap();
    let deal: Deal = c.send(&CrmDealGet::new(id)).await.unwrap();
    assert_eq!(deal.id, Some(id));
    assert_eq!(deal.title.as_deref(), Some("Typed deal"));
    assert_eq!(deal.opened, Some(false), "decoded from \"N\"");
    let update = CrmDealUpdate::new(
        id,
        Deal {
            opened: Some(true),
            ..Deal::default()
        },
    );
    c.send(&update).await.unwrap();
    assert_eq!(
        c.send(&CrmDealGet::new(id)).await.unwrap().opened,
        Some(true)
    );

    emu.control().seed_deals(120);
    let deals: Vec<Deal> = c.stream(&CrmDealList::new()).try_collect().await.unwrap();
    assert_eq!(deals.len(), 121);
    assert!(
        deals.windows(2).all(|w| w[0].id < w[1].id),
        "keyset walk, ascending ids"
    );
}

/// Plain results decode leniently straight into the plain type (`"394"` is a `u64`, `"Y"` a
/// `bool`), through `send` and through a batch alike.
// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn plain_results_decode_leniently_into_plain_types() {
    let batch = r#"{"result":{"result":{"c0":"395","c1":"Y"},"result_error":[],"result_total":[],"result_next":[],"result_time":[]},"time":{}}"#;
    let server = Canned::start(vec![
        json(200, r#"{"result":"394","time":{}}"#),
        json(200, r#"{"result":1,"time":{}}"#),
        json(200, batch),
    ])
    .await;
    let c = hook_client(&server.webhook());
    let fields = Deal {
        title: Some("Plain".into()),
        ..Deal::default()
    };
    let id: u64 = c.send(&CrmDealAdd::new(fields.clone())).await.unwrap();
    assert_eq!(id, 394);
    let updated: bool = c
        .send(&CrmDealUpdate::new(id, fields.clone()))
        .await
        .unwrap();
    assert!(updated);
    let mut b = c.batch();
    let add = b.add(&CrmDealAdd::new(fields.clone())).unwrap();
    let update = b.add(&CrmDealUpdate::new(395, fields)).unwrap();
    let results = b.send().await.unwrap();
    assert_eq!(results.get(&add).unwrap(), 395);
    assert!(results.get(&update).unwrap());
}

// the reason is on the imports
#[allow(deprecated)]
#[test]
fn generated_metadata_answers_guardrail_questions() {
    assert_eq!(<CrmDealAdd as Method>::RISK, Risk::Write);
    let info = catalog::method_info("crm.deal.add").unwrap();
    assert_eq!((info.pack, info.risk), ("core", Risk::Write));
    assert_eq!(
        catalog::least_privilege_scopes(["crm.deal.add", "crm.deal.list"]),
        vec!["crm"]
    );
    assert_eq!(catalog::pack_for_term("open lines"), Some("comms"));
    assert!(catalog::METHODS.len() >= 300);
    // Method names are case-insensitive on the portal, and so is the lookup.
    assert_eq!(
        catalog::method_info("CRM.DEAL.ADD").map(|m| m.name),
        Some("crm.deal.add")
    );
}
