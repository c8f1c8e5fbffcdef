//! What the derives generate, used through the `bitrix24` re-exports.

use bitrix24::smart::{ItemAdd, ItemGet, ItemList, ItemResponse, SmartProcessItem};
use bitrix24::{ListMethod, Method, Risk, UserFields};
use serde_json::json;

#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(
    method = "crm.deal.add",
    risk = "write",
    scopes = ["crm"],
    response = bitrix24::lenient::Lenient<u64>,
    v3 = "crm.deal.add"
)]
struct DealAdd {
    fields: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(method = "crm.deal.get", risk = "read", scopes = ["crm"], idempotent = false, response = serde_json::Value, crate = "::bitrix24")]
struct DealGet<'a> {
    id: &'a str,
}

#[test]
fn method_constants() {
    assert_eq!(DealAdd::NAME, "crm.deal.add");
    assert_eq!(DealAdd::RISK, Risk::Write);
    const { assert!(!DealAdd::IDEMPOTENT) };
    assert_eq!(DealAdd::SCOPES, &["crm"]);
    assert_eq!(DealAdd::V3_NAME, Some("crm.deal.add"));
    const { assert!(!<DealGet<'static> as Method>::IDEMPOTENT) };
    assert_eq!(<DealGet<'static> as Method>::V3_NAME, None);
    let r: <DealAdd as Method>::Response = serde_json::from_value(json!("42")).unwrap();
    assert_eq!(*r, 42);
    let _ = DealAdd {
        fields: serde_json::Map::new(),
    };
    let _ = DealGet { id: "1" };
}

#[derive(Debug, PartialEq, bitrix24::UserFields)]
struct DealExtras {
    #[bitrix24(field = "UF_CRM_BUDGET")]
    budget: Option<String>,
    #[bitrix24(field = "UF_CRM_SEATS", with = "bitrix24::lenient::option")]
    seats: Option<u64>,
    #[bitrix24(field = "UF_CRM_VIP", with = "bitrix24::lenient::option")]
    vip: Option<bool>,
}

#[test]
fn user_fields_round_trip() {
    let extra =
        json!({"UF_CRM_BUDGET": "100", "UF_CRM_SEATS": "12", "UF_CRM_VIP": "Y", "UF_OTHER": 1});
    let mut map = extra.as_object().unwrap().clone();
    let uf = DealExtras::from_extra(&map).unwrap();
    assert_eq!(
        uf,
        DealExtras {
            budget: Some("100".into()),
            seats: Some(12),
            vip: Some(true)
        }
    );
    assert_eq!(
        DealExtras::FIELDS,
        &["UF_CRM_BUDGET", "UF_CRM_SEATS", "UF_CRM_VIP"]
    );
    let missing = DealExtras::from_extra(&serde_json::Map::new()).unwrap();
    assert_eq!(missing.seats, None);
    // `None` is not written; set values replace.
    let update = DealExtras {
        budget: None,
        seats: Some(3),
        vip: None,
    };
    update.write_extra(&mut map).unwrap();
    assert_eq!(map["UF_CRM_SEATS"], json!(3));
    assert_eq!(map["UF_CRM_BUDGET"], json!("100"));
    // Errors name the field.
    let bad = json!({"UF_CRM_SEATS": "many"});
    let err = DealExtras::from_extra(bad.as_object().unwrap()).unwrap_err();
    assert!(err.to_string().contains("UF_CRM_SEATS"), "{err}");
}

#[derive(Debug, Default, PartialEq, bitrix24::SmartProcessItem)]
#[bitrix24(entity_type_id = 1036)]
struct Project {
    id: Option<u64>,
    title: Option<String>,
    stage_id: Option<String>,
    #[bitrix24(field = "ufCrm5_Budget", with = "bitrix24::lenient::option")]
    budget: Option<f64>,
    #[bitrix24(extra)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[test]
fn smart_process_items() {
    assert_eq!(Project::ENTITY_TYPE_ID, 1036);
    let resp: ItemResponse<Project> = serde_json::from_value(json!({
        "item": {"id": 7, "title": "Launch", "stageId": "DT1036_1:NEW", "ufCrm5_Budget": "99.5", "assignedById": 1}
    }))
    .unwrap();
    let item = resp.item;
    assert_eq!(item.item_id(), Some(7));
    assert_eq!(item.stage_id.as_deref(), Some("DT1036_1:NEW"));
    assert_eq!(item.budget, Some(99.5));
    assert_eq!(item.rest.get("assignedById"), Some(&json!(1)));
    assert!(!item.rest.contains_key("title"));

    let add = ItemAdd::new(Project {
        title: Some("New".into()),
        ..Project::default()
    });
    assert_eq!(
        serde_json::to_value(&add).unwrap(),
        json!({"entityTypeId": 1036, "fields": {"title": "New"}})
    );
    assert_eq!(
        serde_json::to_value(ItemGet::<Project>::new(7)).unwrap(),
        json!({"entityTypeId": 1036, "id": 7})
    );
    let list = ItemList::<Project>::new().select(["id", "title"]);
    assert_eq!(
        serde_json::to_value(&list).unwrap(),
        json!({"entityTypeId": 1036, "select": ["id", "title"]})
    );
    assert_eq!(<ItemList<Project> as ListMethod>::WRAPPER, Some("items"));
    assert_eq!(<ItemList<Project> as ListMethod>::item_id(&item), Some(7));
}
