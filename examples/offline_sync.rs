//! An offline worker that syncs deals into a local SQLite table, with no loss.
//!
//! With no configuration it starts the embedded emulator, installs the app as a tenant, binds
//! `ONCRMDEALADD`/`ONCRMDEALUPDATE` as **offline** events with the `auth_connector` `deal-sync`,
//! creates and updates some deals, then drains the queue: each record re-reads its deal
//! (`crm.item.get`, `entityTypeId` 2) and upserts it into the `deals` table. Every portal call is a typed method
//! from `bitrix24::packs::core`; the worker's own reads queue nothing, and its writes would
//! carry the connector so they do not come back. Stop it with ctrl-c or SIGTERM; a restart resumes where
//! it stopped (at least once: the upsert makes a repeat harmless).
//!
//! ```sh
//! cargo run --example offline_sync
//! ```

use std::sync::{Arc, Mutex};

use bitrix24::events::{
    Durability, HandlerError, OfflineDelivery, OfflineWorker, Payload, SqliteStore, Tenant,
    TenantStore, WorkerConfig, shutdown_signal, tenant_client,
};
use bitrix24::packs::core::{CrmItemAdd, CrmItemGet, CrmItemUpdate, EventBind, Item};
use bitrix24::{Client, OAuthApp, OAuthTokens, Secret};
use bitrix24_emulator::Emulator;

const CONNECTOR: &str = "deal-sync";
/// The `entityTypeId` of deals in `crm.item.*`.
const DEAL: i64 = 2;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::temp_dir().join(format!("b24-offline-sync-{}.db", std::process::id()));
    let store = SqliteStore::open_with(&db, Durability::Full).await?;
    let local = Arc::new(Mutex::new(rusqlite::Connection::open(&db)?));
    local.lock().map_err(|_| "lock")?.execute_batch(
        "CREATE TABLE IF NOT EXISTS deals (id INTEGER PRIMARY KEY, title TEXT, stage TEXT, synced INTEGER)",
    )?;

    // The portal: the embedded emulator, and the app installed on it as a tenant.
    let emulator = Emulator::builder().start().await?;
    let a = emulator.oauth_app();
    let app =
        OAuthApp::new(a.client_id.clone(), a.client_secret.clone()).token_url(a.token_url.clone());
    let mut tenant = Tenant::new(a.member_id.clone());
    tenant.application_token = Some(Secret::new(a.application_token.clone()));
    tenant.client_endpoint = Some(a.client_endpoint.clone());
    let tokens = OAuthTokens::new(
        a.access_token.clone(),
        a.refresh_token.clone(),
        a.client_endpoint.clone(),
    );
    store.save_tenant(&tenant, Some(&tokens)).await?;
    let client: Client = tenant_client(&store, app, &a.member_id, Client::builder()).await?;

    for event in ["ONCRMDEALADD", "ONCRMDEALUPDATE"] {
        client
            .send(
                &EventBind::new(event)
                    .event_type("offline")
                    .auth_connector(CONNECTOR),
            )
            .await?;
    }
    // Changes made elsewhere (here: by the app without the connector) are queued.
    for i in 1..=120 {
        let deal = Item::new().title(format!("Deal {i}"));
        let added = client.send(&CrmItemAdd::new(DEAL, deal)).await?;
        if i % 3 == 0 {
            let id = added.item.id.unwrap_or_default();
            let won = Item::new().stage_id("WON");
            client.send(&CrmItemUpdate::new(DEAL, id, won)).await?;
        }
    }
    println!(
        "1. queued {} offline records",
        emulator.control().offline_queue_len()
    );

    let sink = Arc::clone(&local);
    let handler = move |d: OfflineDelivery| {
        let sink = Arc::clone(&sink);
        async move {
            let Payload::Crm(deal) = &d.event.payload else {
                return Err(HandlerError::permanent("not a CRM event"));
            };
            // Re-read the deal with the delivery's client (the tenant's own tokens): the queue
            // keeps only the latest state per object. (A read queues no event; a handler that
            // writes back to the portal passes `with_connector(params, &d.connector)` so its
            // writes do not come back.)
            let row = d
                .client
                .send(&CrmItemGet::new(DEAL, deal.id))
                .await
                .map_err(|e| HandlerError::retry(e.to_string()))?
                .item;
            let (title, stage) = (
                row.title.unwrap_or_default(),
                row.stage_id.unwrap_or_default(),
            );
            let id = deal.id as i64;
            tokio::task::spawn_blocking(move || {
                sink.lock()
                    .map_err(|_| HandlerError::retry("lock"))?
                    .execute(
                        "INSERT INTO deals (id, title, stage, synced) VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (id) DO UPDATE SET title = ?2, stage = ?3, synced = synced + 1",
                        rusqlite::params![id, title, stage],
                    )
                    .map(|_| ())
                    .map_err(|e| HandlerError::retry(e.to_string()))
            })
            .await
            .map_err(|e| HandlerError::retry(e.to_string()))?
        }
    };
    let mut config = WorkerConfig::default();
    config.connector = Some(CONNECTOR.into());
    config.stop_when_idle = std::env::var("B24_FOREVER").is_err();
    let stats = OfflineWorker::new(
        client,
        Arc::new(store.clone()),
        a.member_id.clone(),
        handler,
    )
    .config(config)
    .run(shutdown_signal())
    .await?;
    let (count, won): (i64, i64) = local.lock().map_err(|_| "lock")?.query_row(
        "SELECT COUNT(*), COALESCE(SUM(stage = 'WON'), 0) FROM deals",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    println!(
        "2. drained: {} records handled in {} requests; {count} deals in the local table ({won} won); queue left {}",
        stats.processed,
        stats.requests,
        emulator.control().offline_queue_len()
    );
    emulator.shutdown().await;
    // The database and its WAL and shared-memory files (the store is still open).
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(())
}
