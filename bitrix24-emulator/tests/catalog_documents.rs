//! Inventory documents and their product positions against the docs' examples
//! (`catalog/document/catalog-document-add.md`, `document-element/catalog-document-element-add.md`,
//! `document-element/catalog-document-element-list.md`).

mod support;

use serde_json::{Value, json};
use support::{assert_error, emu, keys, ok, post};

#[tokio::test]
async fn document_elements_are_listed_in_the_documented_shape() {
    let e = emu().await;
    let base = e.webhook_url();
    let b = ok(
        format!("{base}catalog.document.add"),
        json!({"fields": {"docType": "A", "currency": "USD", "responsibleId": 1, "title": "Receipt from Supplier-1", "commentary": "Planned warehouse replenishment", "docNumber": "IN-00042"}}),
    )
    .await;
    let doc = &b["result"]["document"];
    // The keys of the docs' answer, in its order.
    assert_eq!(
        keys(doc),
        [
            "commentary",
            "createdBy",
            "currency",
            "dateCreate",
            "dateDocument",
            "dateModify",
            "dateStatus",
            "docNumber",
            "docType",
            "id",
            "modifiedBy",
            "responsibleId",
            "siteId",
            "status",
            "statusBy",
            "title",
            "total"
        ]
    );
    assert_eq!(doc["status"], "N");
    assert_eq!(doc["siteId"], "s1");
    assert_eq!(doc["dateDocument"], Value::Null);
    let doc_id = doc["id"].as_i64().expect("a native id");
    // The docs' two positions.
    let mut ids = Vec::new();
    for (element, amount, price) in [(312, 5, 1180), (420, 12, 560)] {
        let b = ok(
            format!("{base}catalog.document.element.add"),
            json!({"fields": {"docId": doc_id, "elementId": element, "amount": amount, "purchasingPrice": price, "storeTo": 2}}),
        )
        .await;
        let row = &b["result"]["documentElement"];
        assert_eq!(row["amount"], amount, "an integer amount stays an integer");
        ids.push(row["id"].as_i64().expect("a native id"));
    }
    let (s, b) = post(
        &format!("{base}catalog.document.element.list"),
        &json!({"select": ["id", "docId", "elementId", "amount", "purchasingPrice", "storeFrom", "storeTo"], "filter": {"docId": doc_id}, "order": {"id": "ASC"}}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(keys(&b), ["result", "total", "time"]);
    assert_eq!(b["total"], 2);
    assert_eq!(
        b["result"],
        json!({"documentElements": [
            {"amount": 5, "docId": doc_id, "elementId": 312, "id": ids[0], "purchasingPrice": 1180, "storeFrom": null, "storeTo": 2},
            {"amount": 12, "docId": doc_id, "elementId": 420, "id": ids[1], "purchasingPrice": 560, "storeFrom": null, "storeTo": 2}
        ]})
    );
    // `select` narrows the rows, `filter` takes the prefixes, `order` turns them around.
    let b = ok(
        format!("{base}catalog.document.element.list"),
        json!({"select": ["id", "amount"], "filter": {">=amount": 6}, "order": {"id": "DESC"}}),
    )
    .await;
    assert_eq!(
        b["result"],
        json!({"documentElements": [{"amount": 12, "id": ids[1]}]})
    );
}

#[tokio::test]
async fn documented_errors() {
    let e = emu().await;
    let base = e.webhook_url();
    let (s, b) = post(
        &format!("{base}catalog.document.add"),
        &json!({"fields": {"docType": "X", "currency": "USD", "responsibleId": 1}}),
    )
    .await;
    assert_error(s, &b, 400, "0");
    assert_eq!(b["error_description"], "DOC_TYPE isn't available");
    let (s, b) = post(
        &format!("{base}catalog.document.element.add"),
        &json!({"fields": {"docId": 999, "elementId": 1}}),
    )
    .await;
    assert_error(s, &b, 400, "ERROR_DOCUMENT_STATUS");
    let (s, b) = post(&format!("{base}catalog.document.element.add"), &json!({})).await;
    assert_error(s, &b, 400, "100");
}
