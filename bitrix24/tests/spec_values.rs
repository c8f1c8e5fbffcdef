//! The spec entries issue 16 found wrong, pinned by what the docs allow: the values of the type
//! tables (Y/N/D, status ids, `null`, `[]` for an empty object), not only the examples.
//! Sources: catalog/data-types.md (catalog_product), sale/order/sale-order-add.md,
//! imopenlines/openlines/imopenlines-config-get.md, disk/folder/disk-folder-upload-file.md,
//! biconnector/source/biconnector-source-add.md, entity/entities/entity-add.md, entity-get.md,
//! entity/sections/entity-section-add.md, catalog/product/catalog-product-list.md.
#![cfg(all(
    feature = "commerce",
    feature = "comms",
    feature = "content",
    feature = "platform"
))]

use bitrix24::packs::commerce::{CatalogProductList, CatalogTraceMode, Order, Product};
use bitrix24::packs::comms::ImopenlinesConfigGet;
use bitrix24::packs::content::DiskFolderUploadFile;
use bitrix24::packs::platform::{BiSource, EntityAdd, EntityGet, EntitySectionAdd};
use serde_json::{Value, json};

fn product(v: Value) -> Product {
    serde_json::from_value(v).expect("decodes")
}

#[test]
fn catalog_trace_modes_take_y_n_and_d() {
    for (wire, mode) in [
        ("Y", CatalogTraceMode::Yes),
        ("N", CatalogTraceMode::No),
        ("D", CatalogTraceMode::Default),
    ] {
        let p = product(json!({"id": 1, "quantityTrace": wire, "subscribe": wire}));
        assert_eq!(p.quantity_trace, Some(mode.clone()), "{wire}");
        assert_eq!(p.subscribe, Some(mode), "{wire}");
    }
    let p = product(json!({"quantityTrace": "X", "subscribe": null}));
    assert_eq!(
        p.quantity_trace,
        Some(CatalogTraceMode::Unknown("X".into()))
    );
    assert_eq!(p.subscribe, None);
    assert_eq!(product(json!({"quantityTrace": ""})).quantity_trace, None);
    // `char` fields whose values the docs do not list stay the letters sent.
    let p = product(json!({"priceType": "S", "negativeAmountTrace": "D"}));
    assert_eq!(p.price_type.as_deref(), Some("S"));
    assert_eq!(p.negative_amount_trace.as_deref(), Some("D"));
    // Y/N fields are sent as Y/N, as the table lists them.
    let sent = serde_json::to_value(
        Product::new()
            .active(true)
            .can_buy_zero(false)
            .quantity_trace(CatalogTraceMode::Default),
    )
    .unwrap();
    assert_eq!(sent["active"], "Y");
    assert_eq!(sent["canBuyZero"], "N");
    assert_eq!(sent["quantityTrace"], "D");
}

#[test]
fn catalog_product_list_requires_select_and_filter() {
    let sent = serde_json::to_value(CatalogProductList::new(
        ["id", "iblockId"],
        json!({"iblockId": 23}),
    ))
    .unwrap();
    assert_eq!(sent["select"], json!(["id", "iblockId"]));
    assert_eq!(sent["filter"], json!({"iblockId": 23}));
}

#[test]
fn order_ids_and_flags_are_what_the_docs_say() {
    let o: Order = serde_json::from_value(json!({
        "id": 299, "statusId": "N", "recurringId": "1", "lockedBy": "1",
        "marked": "Y", "canceled": "N", "externalOrder": "N", "updated1c": "N", "recountFlag": "Y"
    }))
    .unwrap();
    assert_eq!(o.status_id.as_deref(), Some("N"));
    assert_eq!(o.recurring_id, Some(1));
    assert_eq!(o.locked_by, Some(1));
    assert_eq!(o.marked, Some(true));
    assert_eq!(o.canceled, Some(false));
    assert_eq!(o.recount_flag, Some(true));
    // An order nobody locked, with no subscription: "" and null.
    let o: Order =
        serde_json::from_value(json!({"statusId": "P", "lockedBy": "", "recurringId": null}))
            .unwrap();
    assert_eq!(o.status_id.as_deref(), Some("P"));
    assert_eq!((o.locked_by, o.recurring_id), (None, None));
    let sent = serde_json::to_value(
        Order::new()
            .status_id("P")
            .marked(true)
            .canceled(false)
            .external_order(false)
            .updated1c(true)
            .recount_flag(false),
    )
    .unwrap();
    assert_eq!(
        (
            &sent["statusId"],
            &sent["marked"],
            &sent["canceled"],
            &sent["externalOrder"],
            &sent["updated1c"],
            &sent["recountFlag"]
        ),
        (
            &json!("P"),
            &json!("Y"),
            &json!("N"),
            &json!("N"),
            &json!("Y"),
            &json!("N")
        )
    );
}

#[test]
fn imopenlines_config_get_sends_y_n() {
    let sent = serde_json::to_value(
        ImopenlinesConfigGet::new(1)
            .with_queue(true)
            .show_offline(false),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"CONFIG_ID": 1, "WITH_QUEUE": "Y", "SHOW_OFFLINE": "N"})
    );
}

#[test]
fn disk_upload_data_is_an_object() {
    let sent =
        serde_json::to_value(DiskFolderUploadFile::new(8, json!({"NAME": "a.txt"}))).unwrap();
    assert_eq!(sent["data"], json!({"NAME": "a.txt"}));
    // A list is not what the method takes: refused before sending, naming the parameter.
    let e = serde_json::to_value(DiskFolderUploadFile::new(8, json!(["a.txt"]))).unwrap_err();
    assert!(e.to_string().contains("data"), "{e}");
}

#[test]
fn biconnector_source_settings_is_an_object() {
    let s: BiSource =
        serde_json::from_value(json!({"id": 6, "settings": {"host": "db", "port": "3306"}}))
            .unwrap();
    assert_eq!(s.settings.unwrap()["host"], "db");
    // PHP's empty array is how an empty object travels.
    let s: BiSource = serde_json::from_value(json!({"id": 6, "settings": []})).unwrap();
    assert_eq!(s.settings, None);
}

#[test]
fn entity_storage_required_marks_follow_the_docs() {
    // entity.add and entity.section.add: ENTITY and NAME required; entity.get: ENTITY optional.
    let add = serde_json::to_value(EntityAdd::new("menu", "Menu")).unwrap();
    assert_eq!(add, json!({"ENTITY": "menu", "NAME": "Menu"}));
    let section = serde_json::to_value(EntitySectionAdd::new("menu", "Dishes")).unwrap();
    assert_eq!(section["NAME"], "Dishes");
    assert_eq!(serde_json::to_value(EntityGet::new()).unwrap(), json!({}));
    assert_eq!(
        serde_json::to_value(EntityGet::new().entity("menu")).unwrap(),
        json!({"ENTITY": "menu"})
    );
}
