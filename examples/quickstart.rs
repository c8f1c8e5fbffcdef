//! Quickstart: a realistic CRM flow.
//!
//! With no configuration it starts the embedded emulator (a local Bitrix24 portal) and runs
//! against it. With `B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/` it runs the same
//! flow against your portal (it creates, updates and finally deletes a few test records).
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use bitrix24::methods::{DealAdd, DealDelete, DealList, DealUpdate, ServerTime, UserCurrent};
use bitrix24::{Client, Error, OAuthApp, OAuthTokens};
use bitrix24_emulator::{Emulator, Limits, RunningEmulator};
use futures::TryStreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _emulator) = connect().await?;

    let now = client.send(&ServerTime).await?;
    let me = client.send(&UserCurrent).await?;
    println!(
        "1. connected: portal time {now}, acting as user {}",
        me["ID"]
    );

    // Leads and deals in batches: 3 leads (untyped method) and 120 deals, 50 per request.
    let mut batch = client.batch();
    for i in 1..=3 {
        batch.add_raw(
            &format!("lead{i}"),
            "crm.lead.add",
            json!({"fields": {"TITLE": format!("Quickstart lead {i}"), "NAME": "Ada"}}),
        )?;
    }
    let leads = batch.send().await?;
    println!("2. created {} leads in one batch request", leads.len());
    let created = client
        .send_all((1..=120).map(|i| {
            DealAdd::new(json!({"TITLE": format!("Quickstart deal {i}"), "OPPORTUNITY": i * 100}))
        }))
        .await?;
    let ids: Vec<u64> = created.into_iter().collect::<Result<_, Error>>()?;
    println!(
        "3. created {} deals with send_all (3 batch requests)",
        ids.len()
    );

    // Stream them back: keyset pagination, 2,500 rows per request, bounded memory.
    let mut stream = client.stream(
        DealList::new()
            .select(["ID", "TITLE", "OPPORTUNITY"])
            .filter(json!({"%TITLE": "Quickstart deal"})),
    );
    let mut count = 0;
    let mut sum = 0.0;
    while let Some(deal) = stream.try_next().await? {
        count += 1;
        sum += deal["OPPORTUNITY"]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    println!("4. streamed {count} deals back, total opportunity {sum}");

    // Events: bind an offline handler, change a deal, drain the queue. The portal does not
    // queue an app's own changes for its own handler, so the queue gets its own connector key.
    let queue = json!({"event": "ONCRMDEALUPDATE", "event_type": "offline", "auth_connector": "quickstart"});
    match client.call("event.bind", queue.clone()).await {
        Ok(_) => {
            client
                .send(&DealUpdate::new(ids[0], json!({"STAGE_ID": "WON"})))
                .await?;
            let batch = client
                .call(
                    "event.offline.get",
                    json!({"clear": 0, "limit": 50, "auth_connector": "quickstart"}),
                )
                .await?;
            let events = batch["events"].as_array().cloned().unwrap_or_default();
            println!("5. offline queue: {} event(s) reserved", events.len());
            for event in &events {
                println!("   {} {}", event["EVENT_NAME"], event["EVENT_DATA"]);
            }
            if let Some(process_id) = batch["process_id"].as_str() {
                // Acknowledge only after processing: nothing is lost if we crash before this.
                client
                    .call(
                        "event.offline.clear",
                        json!({"process_id": process_id, "auth_connector": "quickstart"}),
                    )
                    .await?;
                println!("   cleared after processing (process {process_id})");
            }
            client.call("event.unbind", queue).await?;
        }
        Err(e) => {
            println!("5. events skipped: {e} (events need an OAuth application, not a webhook)");
        }
    }

    // Clean up what the example created.
    let deleted = client
        .send_all(ids.iter().copied().map(DealDelete::new))
        .await?;
    let ok = deleted.iter().filter(|r| r.is_ok()).count();
    let mut cleanup = client.batch();
    for i in 1..=3 {
        if let Some(id) = leads.raw(&format!("lead{i}")) {
            cleanup.add_raw(
                &format!("del{i}"),
                "crm.lead.delete",
                json!({"id": id.get()}),
            )?;
        }
    }
    let removed = cleanup.send().await?;
    let leads_state = if removed.all_ok() {
        "the leads"
    } else {
        "not every lead"
    };
    println!("6. deleted {ok} deals and {leads_state}; done");
    Ok(())
}

/// Your portal when `B24_WEBHOOK_URL` is set, else the embedded emulator (kept alive by the
/// returned handle).
async fn connect() -> Result<(Client, Option<RunningEmulator>), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("B24_WEBHOOK_URL") {
        println!(
            "portal: your webhook ({})",
            bitrix24::Webhook::parse(&url)?.portal()
        );
        return Ok((Client::webhook(&url)?, None));
    }
    let emulator = Emulator::builder()
        .webhook(1, "quickstartcode")
        .limits(Limits::Standard)
        .start()
        .await?;
    println!("portal: embedded emulator at {}", emulator.base_url());
    // Events need an application (OAuth) context, so the example acts as an app.
    let app = emulator.oauth_app();
    let client = Client::builder()
        .oauth(
            OAuthApp::new(app.client_id.clone(), app.client_secret.clone())
                .token_url(app.token_url.clone()),
            OAuthTokens::new(
                app.access_token.clone(),
                app.refresh_token.clone(),
                app.client_endpoint.clone(),
            ),
        )
        .build()?;
    Ok((client, Some(emulator)))
}
