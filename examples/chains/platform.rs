//! The `platform` chains of references/chains-platform.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_platform`.

use bitrix24::packs::platform::{
    AiEngineList, AiEngineRegister, AiEngineUnregister, BiConnector, BiSource,
    BiconnectorConnectorAdd, BiconnectorConnectorList, BiconnectorSourceAdd, BiconnectorSourceList,
    EntityAdd, EntityItemAdd, EntityItemGet,
};
use bitrix24::{Client, Error};
use bitrix24_examples::{app_client, webhook_portal as portal};
use serde_json::{Map, json};

/// Chain 1, custom storage flow (an application's storage: a webhook gets `ACCESS_DENIED`):
/// the storage, an item in it, the item read back. Returns the item id and the items found.
async fn custom_storage(client: &Client, storage: &str) -> Result<(u64, usize), Error> {
    // 1. entity.add: the storage, once per application
    client
        .send(&EntityAdd::new(storage, "Sync cursors"))
        .await?;
    // 2. entity.item.add
    let item = EntityItemAdd::new(storage).name("deals-cursor");
    let id = client.send(&item).await?;
    // 3. entity.item.get with a filter (a page of 50, `total` beside it)
    let found = client
        .send(&EntityItemGet::new(storage).filter(json!({ "NAME": "deals-cursor" })))
        .await?;
    Ok((id, found.as_array().map_or(0, Vec::len)))
}

/// Chain 2, BI connector source rollout: look for the source, add it when missing, and check
/// the connector it reads from is there. Returns the source id.
async fn bi_source_rollout(client: &Client, connector: u64, title: &str) -> Result<u64, Error> {
    // 1. biconnector.source.list: is the source there already?
    let present = client
        .send(&BiconnectorSourceList::new().filter(json!({ "title": title })))
        .await?;
    let id = if let Some(id) = present.first().and_then(|s| s.id) {
        id
    } else {
        // 2. biconnector.source.add (a write: `--confirm-write`)
        let source = BiSource::new()
            .title(title)
            .connector_id(connector)
            .settings(Map::from_iter([("host".into(), json!("db.example.com"))]));
        let added = client.send(&BiconnectorSourceAdd::new(source)).await?;
        added["id"].as_u64().unwrap_or_default()
    };
    // 3. biconnector.connector.list: the connector the source uses
    let connectors = client
        .send(&BiconnectorConnectorList::new().filter(json!({ "id": connector })))
        .await?;
    assert_eq!(connectors.len(), 1, "the source's connector exists");
    Ok(id)
}

/// Chain 3, AI engine registration: list, register when missing, and unregister (destructive:
/// `--confirm-destructive`) only for a controlled cleanup. Returns whether it was removed.
async fn ai_engine_registration(client: &Client, code: &str, url: &str) -> Result<bool, Error> {
    // 1. ai.engine.list: registered already?
    let engines = client
        .send(&AiEngineList::new().filter(json!({ "code": code })))
        .await?;
    if engines.as_array().is_none_or(Vec::is_empty) {
        // 2. ai.engine.register: the service answers at `completions_url`
        let engine = AiEngineRegister::new("Acme GPT", code, "text", url)
            .settings(json!({ "code_alias": "ChatGPT", "model_context_limit": 15666 }));
        client.send(&engine).await?;
    }
    // 3. ai.engine.unregister, the controlled cleanup
    client.send(&AiEngineUnregister::new(code)).await
}

#[tokio::test]
async fn chain_1_custom_storage_flow() {
    let (emu, webhook) = portal().await;
    let app = app_client(&emu).unwrap();
    let (id, found) = custom_storage(&app, "cursors").await.unwrap();
    assert!(id > 0);
    assert_eq!(found, 1);
    // A storage belongs to an application: a webhook is refused.
    let e = webhook
        .send(&EntityItemGet::new("cursors"))
        .await
        .unwrap_err();
    bitrix24_examples::assert_code(&e, "ACCESS_DENIED");
}

#[tokio::test]
async fn chain_2_bi_connector_source_rollout() {
    let (emu, client) = portal().await;
    let connector = BiConnector::new()
        .title("Warehouse")
        .url_check("https://bi.example.com/check")
        .url_data("https://bi.example.com/data")
        .url_table_list("https://bi.example.com/tables")
        .url_table_description("https://bi.example.com/describe");
    let added = client
        .send(&BiconnectorConnectorAdd::new(connector))
        .await
        .unwrap();
    let connector = added["id"].as_u64().unwrap();
    let first = bi_source_rollout(&client, connector, "Orders DB")
        .await
        .unwrap();
    let again = bi_source_rollout(&client, connector, "Orders DB")
        .await
        .unwrap();
    assert_eq!(first, again, "the second rollout finds the source");
    assert_eq!(emu.control().method_calls("biconnector.source.add"), 1);
}

#[tokio::test]
async fn chain_3_ai_engine_registration() {
    let (emu, client) = portal().await;
    let url = "https://ai.example.com/completions";
    assert!(
        ai_engine_registration(&client, "acme_gpt", url)
            .await
            .unwrap()
    );
    let left = client.send(&AiEngineList::new()).await.unwrap();
    assert_eq!(left, json!([]), "cleaned up");
    assert_eq!(emu.control().method_calls("ai.engine.register"), 1);
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-platform.md"),
        include_str!("platform.rs"),
        3,
    );
}
