//! An axum app that receives app installs and online events.
//!
//! With no configuration it starts the embedded emulator (a local Bitrix24 portal), installs
//! the app on it (the portal POSTs `ONAPPINSTALL` to `/b24/install`), binds `ONCRMDEALADD`
//! to `/b24/events`, creates a deal and prints the typed event the handler receives. Against
//! a real portal, run the same router behind https and register its URLs in the app card:
//! `B24_LISTEN=0.0.0.0:8080 B24_CLIENT_ID=... B24_CLIENT_SECRET=... cargo run --example events_server`.
//! There it also drains the offline queue of every installed portal (`TenantWorkers`).
//!
//! ```sh
//! cargo run --example events_server
//! ```

use std::sync::Arc;
use std::time::Duration;

use bitrix24::events::{
    EventService, InboundEvent, Installer, OfflineDelivery, Payload, SqliteStore, TenantWorkers,
    WakeupHub, router, shutdown_signal, tenant_client,
};
use bitrix24::packs::core::{CrmItemAdd, EventBind, Item};
use bitrix24::{Client, OAuthApp};
use bitrix24_emulator::Emulator;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::temp_dir().join(format!("b24-events-server-{}.db", std::process::id()));
    let store = SqliteStore::open(&db).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<InboundEvent>();
    // The handler runs after the event is stored; the portal already got its 200.
    let handler = move |event: InboundEvent| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event);
            Ok(())
        }
    };
    let listen = std::env::var("B24_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".into());

    let emulator = match (
        std::env::var("B24_CLIENT_ID"),
        std::env::var("B24_CLIENT_SECRET"),
    ) {
        (Ok(id), Ok(secret)) => {
            let app = OAuthApp::new(id, secret);
            let hub = WakeupHub::new();
            let service = service(&store, handler, app.clone()).wakeups(hub.clone());
            // Events stored before a crash or a restart, whose handler had not finished.
            let replayed = service.replay_pending().await?;
            println!("replayed {replayed} pending events");
            // Every installed portal's offline queue, each with its own tokens, woken by its
            // ONOFFLINEEVENT (bind it to /b24/events) instead of polling blindly.
            let offline = TenantWorkers::new(
                Arc::new(store.clone()),
                Arc::new(store.clone()),
                app,
                |d: OfflineDelivery| async move {
                    println!(
                        "offline {} {} from {}",
                        d.event.name, d.message_id, d.member_id
                    );
                    Ok(())
                },
            )
            .wakeups(hub);
            tokio::spawn(offline.run(shutdown_signal()));
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            println!(
                "listening on {} (POST /b24/install, /b24/events)",
                listener.local_addr()?
            );
            axum::serve(listener, axum::Router::new().nest("/b24", router(service))).await?;
            return Ok(());
        }
        _ => Emulator::builder().start().await?,
    };
    let a = emulator.oauth_app();
    let app =
        OAuthApp::new(a.client_id.clone(), a.client_secret.clone()).token_url(a.token_url.clone());
    let service = service(&store, handler, app.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().nest("/b24", router(service))).await;
    });
    println!("1. events server on http://{addr}/b24");

    // The portal installs the app: ONAPPINSTALL with tokens and application_token.
    let status = emulator
        .control()
        .install_app(&format!("http://{addr}/b24/install"))
        .await?;
    println!(
        "2. ONAPPINSTALL answered {status}; tenant {} stored",
        a.member_id
    );

    // A client for that tenant, from the stored tokens.
    let client: Client = tenant_client(&store, app, &a.member_id, Client::builder()).await?;
    client
        .send(&EventBind::new("ONCRMDEALADD").handler(format!("http://{addr}/b24/events")))
        .await?;
    // Deals are `crm.item.*` items of `entityTypeId` 2; adding one still fires `ONCRMDEALADD`.
    let deal = Item::new().title("Deal from the example");
    let added = client.send(&CrmItemAdd::new(2, deal)).await?;
    println!("3. created deal {}", added.item.id.unwrap_or_default());

    let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await?
        .ok_or("the server stopped")?;
    match &event.event.payload {
        Payload::Crm(deal) => println!(
            "4. received {} for deal {} from portal {} (verified application_token)",
            event.event.name,
            deal.id,
            event.member_id()
        ),
        other => println!("4. received {}: {other:?}", event.event.name),
    }
    emulator.shutdown().await;
    // The database and its WAL and shared-memory files (the store is still open).
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(())
}

fn service(
    store: &SqliteStore,
    handler: impl bitrix24::events::EventHandler,
    app: OAuthApp,
) -> EventService {
    EventService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        handler,
    )
    .installer(Installer::new(app, Arc::new(store.clone())))
}
