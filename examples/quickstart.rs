//! Quickstart: a realistic CRM flow, shortest path first.
//!
//! With no configuration it starts the embedded emulator (a local Bitrix24 portal) with a
//! webhook and runs against it. With `B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/` it
//! runs the same flow against your portal (it creates, updates and finally deletes a few test
//! records). Only the events part needs an OAuth application; it comes last.
//!
//! Leads and deals go through the universal `crm.item.*` methods (the `entityTypeId` says which
//! object type: 1 lead, 2 deal, 3 contact, 4 company); the docs mark the older `crm.deal.*`,
//! `crm.lead.*`, `crm.contact.*` and `crm.company.*` methods deprecated.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use bitrix24::packs::core::{
    CrmItemAdd, CrmItemDelete, CrmItemGet, CrmItemList, CrmItemUpdate, EventBind,
    EventOfflineClear, EventOfflineGet, EventUnbind, Item, UserCurrent,
};
use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{Client, Decimal, Error, OptionalExt};
use bitrix24_emulator::{Emulator, Limits};
use bitrix24_examples::app_client;
use futures::TryStreamExt;

/// The `entityTypeId` of leads in `crm.item.*`.
const LEAD: i64 = 1;
/// The `entityTypeId` of deals in `crm.item.*`.
const DEAL: i64 = 2;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The shortest path: a webhook URL is all a client needs.
    let emulator = match std::env::var("B24_WEBHOOK_URL") {
        Ok(_) => None,
        Err(_) => Some(
            Emulator::builder()
                .webhook(1, "quickstartcode")
                .limits(Limits::Standard)
                .start()
                .await?,
        ),
    };
    let url = match &emulator {
        Some(emu) => emu.webhook_url(),
        None => std::env::var("B24_WEBHOOK_URL")?,
    };
    let client = Client::webhook(&url)?;
    println!("portal: {}", bitrix24::Webhook::parse(&url)?.portal());

    let now = client.send(&ServerTime::new()).await?;
    let me = client.send(&UserCurrent::new()).await?;
    println!(
        "1. connected: portal time {now}, acting as user {}",
        me.id.unwrap_or_default()
    );

    // Leads and deals in batches: 3 leads in one batch request, 120 deals 50 per request.
    let mut batch = client.batch();
    let mut lead_handles = Vec::new();
    for i in 1..=3 {
        let lead = Item::new()
            .title(format!("Quickstart lead {i}"))
            .name("Ada");
        lead_handles.push(batch.add(&CrmItemAdd::new(LEAD, lead))?);
    }
    let leads = batch.send().await?;
    let lead_ids: Vec<u64> = lead_handles
        .iter()
        .map(|h| Ok(leads.get(h)?.item.id.unwrap_or_default()))
        .collect::<Result<_, Error>>()?;
    println!("2. created {} leads in one batch request", lead_ids.len());
    let requests: Vec<CrmItemAdd> = (1..=120u64)
        .map(|i| {
            let deal = Item::new()
                .title(format!("Quickstart deal {i}"))
                .opportunity(i * 100);
            CrmItemAdd::new(DEAL, deal)
        })
        .collect();
    let created = client.send_all(&requests).await?;
    let ids: Vec<u64> = created
        .into_iter()
        .map(|added| Ok(added?.item.id.unwrap_or_default()))
        .collect::<Result<_, Error>>()?;
    println!(
        "3. created {} deals with send_all (3 batch requests)",
        ids.len()
    );

    // How many match costs one request: the portal's `total`, no rows read.
    let list = CrmItemList::new(DEAL)
        .select([Item::ID, Item::TITLE, Item::OPPORTUNITY])
        .filter(Item::filter().title().contains("Quickstart deal"));
    let matching = client.count(&list).await?;
    println!("4. {matching} deals match the filter (counted in one request)");

    // Stream them back: keyset pagination, 2,500 rows per request, bounded memory.
    let mut stream = client.stream(&list);
    let mut count = 0;
    let mut sum = 0.0;
    while let Some(deal) = stream.try_next().await? {
        count += 1;
        sum += deal
            .opportunity
            .as_ref()
            .and_then(Decimal::to_f64)
            .unwrap_or(0.0);
    }
    assert_eq!(count, matching, "the stream reads every deal it counted");
    println!("5. streamed {count} deals back, total opportunity {sum}");

    // Events: bind an offline handler, change a deal, drain the queue. Events need an OAuth
    // application (the emulator hands one out; on your portal a webhook gets an error here).
    // The portal does not queue an app's own changes for its own handler, so the queue gets
    // its own connector key.
    let client = match &emulator {
        Some(emu) => app_client(emu)?,
        None => client,
    };
    let connector = "quickstart";
    let bind = EventBind::new("ONCRMDEALUPDATE")
        .event_type("offline")
        .auth_connector(connector);
    match client.send(&bind).await {
        Ok(_) => {
            let won = Item::new().stage_id("WON");
            client.send(&CrmItemUpdate::new(DEAL, ids[0], won)).await?;
            // `clear = 0` reserves the events under a process id instead of deleting them.
            let taken = client
                .send(&EventOfflineGet::new(0).limit(50).auth_connector(connector))
                .await?;
            let events = taken.events.unwrap_or_default();
            println!("6. offline queue: {} event(s) reserved", events.len());
            for event in &events {
                println!(
                    "   {} {}",
                    event.event_name.as_deref().unwrap_or("?"),
                    event.event_data.clone().unwrap_or_default()
                );
            }
            if let Some(process_id) = taken.process_id {
                // Acknowledge only after processing: nothing is lost if we crash before this.
                client
                    .send(&EventOfflineClear::new(process_id.clone()).auth_connector(connector))
                    .await?;
                println!("   cleared after processing (process {process_id})");
            }
            let unbind = EventUnbind::new("ONCRMDEALUPDATE")
                .event_type("offline")
                .auth_connector(connector);
            client.send(&unbind).await?;
        }
        Err(e) => {
            println!("6. events skipped: {e} (events need an OAuth application, not a webhook)");
        }
    }

    // Clean up what the example created.
    let deletes: Vec<CrmItemDelete> = ids.iter().map(|&id| CrmItemDelete::new(DEAL, id)).collect();
    let deleted = client.send_all(&deletes).await?;
    let ok = deleted.iter().filter(|r| r.is_ok()).count();
    let lead_deletes: Vec<CrmItemDelete> = lead_ids
        .iter()
        .map(|&id| CrmItemDelete::new(LEAD, id))
        .collect();
    let removed = client.send_all(&lead_deletes).await?;
    let leads_state = if removed.iter().all(Result::is_ok) {
        "the leads"
    } else {
        "not every lead"
    };
    // A record that is not there is a value, not an error to match by its text.
    let gone = client
        .send(&CrmItemGet::new(DEAL, ids[0]))
        .await
        .optional()?;
    println!(
        "7. deleted {ok} deals and {leads_state}; deal {} is {}; done",
        ids[0],
        if gone.is_none() {
            "gone"
        } else {
            "still there"
        }
    );
    Ok(())
}
