//! The `commerce` chains of references/chains-commerce.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_commerce`.

use bitrix24::packs::commerce::{
    CatalogPriceAdd, CatalogPriceList, CatalogProductAdd, CatalogProductList, CatalogProductUpdate,
    Order, Payment, Price, Product, SaleDeliveryAdd, SaleDeliveryGetlist, SaleOrderAdd,
    SaleOrderGet, SaleOrderUpdate, SalePaymentAdd, SaleShipmentAdd, Shipment,
};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal as portal;
use serde_json::json;

/// Chain 1, order intake to payment: the order, its payment, then the order's status and
/// note. Returns the order and payment ids.
async fn order_to_payment(client: &Client, buyer: u64) -> Result<(u64, u64), Error> {
    // 1. sale.order.add: site, payer type, currency and buyer
    let order = Order::new()
        .lid("s1")
        .person_type_id(1)
        .currency("USD")
        .user_id(buyer);
    let order = client.send(&SaleOrderAdd::new(order)).await?.order;
    let order_id = order.id.unwrap_or_default();
    // 2. sale.payment.add for the order
    let payment = Payment::new().order_id(order_id).pay_system_id(1).sum(100);
    let payment = client.send(&SalePaymentAdd::new(payment)).await?.payment;
    // 3. sale.order.update: status and a note for the manager
    let status = Order::new()
        .status_id("P")
        .comments(format!("Payment {} issued", payment.id.unwrap_or_default()));
    client.send(&SaleOrderUpdate::new(order_id, status)).await?;
    Ok((order_id, payment.id.unwrap_or_default()))
}

/// Chain 2, product and price sync: the products of a catalog, each one's prices, then a
/// base price added where none exists (else the purchasing price updated). Returns how many
/// prices were added.
async fn product_price_sync(client: &Client, iblock: i64, base: f64) -> Result<usize, Error> {
    // 1. catalog.product.list (select and filter are required; iblockId picks the catalog)
    let products = client
        .send(&CatalogProductList::new(
            ["id", "iblockId", "name"],
            json!({ "iblockId": iblock }),
        ))
        .await?
        .products;
    let mut added = 0;
    for product in products {
        let Some(id) = product.id else { continue };
        // 2. catalog.price.list of the product
        let prices = client
            .send(&CatalogPriceList::new().filter(json!({ "productId": id })))
            .await?
            .prices;
        if prices.iter().any(|p| p.catalog_group_id == Some(1)) {
            // 3a. catalog.product.update when the base price is there
            let cost = Product::new().purchasing_price(format!("{:.2}", base * 0.6));
            client.send(&CatalogProductUpdate::new(id, cost)).await?;
        } else {
            // 3b. catalog.price.add: the base price (price type 1)
            let price = Price::new()
                .product_id(id)
                .catalog_group_id(1)
                .price(base)
                .currency("USD");
            client.send(&CatalogPriceAdd::new(price)).await?;
            added += 1;
        }
    }
    Ok(added)
}

/// Chain 3, delivery assignment: the active delivery services, the first one chosen, and a
/// shipment of the order with it. Returns the delivery service id.
async fn delivery_assignment(client: &Client, order_id: u64) -> Result<u64, Error> {
    // 1. sale.delivery.getlist: active services, cheapest sort first
    let services = client
        .send(
            &SaleDeliveryGetlist::new()
                .select(["ID", "NAME", "CURRENCY"])
                .filter(json!({ "ACTIVE": "Y" }))
                .order(json!({ "SORT": "ASC" })),
        )
        .await?;
    // 2. choose the delivery service id
    let delivery = services[0]["ID"].as_u64().unwrap_or_default();
    // 3. sale.shipment.add: the order's shipment with that service
    let shipment = Shipment::new()
        .order_id(order_id)
        .delivery_id(delivery)
        .allow_delivery(true);
    client.send(&SaleShipmentAdd::new(shipment)).await?;
    Ok(delivery)
}

#[tokio::test]
async fn chain_1_order_intake_to_payment() {
    let (emu, client) = portal().await;
    let (order, payment) = order_to_payment(&client, 1).await.unwrap();
    assert!(order > 0 && payment > 0);
    let saved = client.send(&SaleOrderGet::new(order)).await.unwrap().order;
    assert_eq!(saved.status_id.as_deref(), Some("P"));
    assert_eq!(emu.control().method_calls("sale.order.update"), 1);
}

#[tokio::test]
async fn chain_2_product_and_price_sync() {
    let (emu, client) = portal().await;
    for name in ["Chair", "Desk"] {
        let p = Product::new().iblock_id(23).name(name);
        client.send(&CatalogProductAdd::new(p)).await.unwrap();
    }
    assert_eq!(product_price_sync(&client, 23, 100.0).await.unwrap(), 2);
    // A second run finds the prices and updates the products instead.
    assert_eq!(product_price_sync(&client, 23, 100.0).await.unwrap(), 0);
    assert_eq!(emu.control().method_calls("catalog.price.add"), 2);
    assert_eq!(emu.control().method_calls("catalog.product.update"), 2);
}

#[tokio::test]
async fn chain_3_delivery_assignment() {
    let (emu, client) = portal().await;
    for (name, sort) in [("Courier", 200), ("Pickup", 100)] {
        let add = SaleDeliveryAdd::new("courier", name, json!("USD")).sort(sort);
        client.send(&add).await.unwrap();
    }
    let (order, _) = order_to_payment(&client, 1).await.unwrap();
    let delivery = delivery_assignment(&client, order).await.unwrap();
    assert_eq!(delivery, 2, "the service with the lowest sort");
    assert_eq!(emu.control().method_calls("sale.shipment.add"), 1);
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-commerce.md"),
        include_str!("commerce.rs"),
        3,
    );
}
