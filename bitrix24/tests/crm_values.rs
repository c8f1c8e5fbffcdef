//! The crm part 2 specs (smart-process types, currencies, bindings, recurring deals, document
//! templates, legacy product rows) decode what their docs pages' tables allow beyond the
//! examples, and send what the pages ask for. Sources: crm/data-types.md (`type`,
//! `type.relations`, `crm_currency_localization`), crm/universal/user-defined-object-types/
//! crm-type-add.md, crm/deals/recurring-deals/crm-deal-recurring-add.md,
//! crm/deals/contacts/crm-deal-contact-items-set.md, crm/document-generator/templates/
//! crm-document-generator-template-get.md and -list.md, crm/deals/crm-deal-productrows-get.md.
#![cfg(feature = "core")]

use bitrix24::packs::core::{
    CrmContactBinding, CrmDealContactItemsSet, CrmDocumentTemplate, CrmProductRow, CrmType,
    CrmTypeRelation, CrmTypeRelations, CurrencyLocalization, DealRecurring, RecurringLimit,
    ThousandsVariant,
};
use serde_json::{Value, json};

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("decodes")
}

#[test]
fn smart_process_flags_read_y_n_and_are_sent_as_y_n() {
    let t: CrmType = decode(json!({
        "id": 16, "entityTypeId": 2024, "isStagesEnabled": "Y", "isClientEnabled": "N",
        "customSectionId": null, "customSections": [],
        "linkedUserFields": {"CALENDAR_EVENT|UF_CRM_CAL_EVENT": "Y", "TASKS_TASK|UF_CRM_TASK": "N"},
        "relations": {"parent": [], "child": [{"entityTypeId": 3, "isChildrenListEnabled": "Y", "isPredefined": "N"}]}
    }));
    assert_eq!(
        (t.is_stages_enabled, t.is_client_enabled),
        (Some(true), Some(false))
    );
    assert_eq!(t.custom_section_id, None);
    assert_eq!(t.custom_sections, Some(vec![]));
    let linked = t.linked_user_fields.expect("linked fields");
    assert!(linked["CALENDAR_EVENT|UF_CRM_CAL_EVENT"]);
    assert!(!linked["TASKS_TASK|UF_CRM_TASK"]);
    let rel = t.relations.expect("relations");
    assert_eq!(rel.parent, Some(vec![]));
    let child = &rel.child.expect("child")[0];
    assert_eq!(
        (child.entity_type_id, child.is_children_list_enabled),
        (Some(3), Some(true))
    );
    // The type's flags go out as Y/N; a relation's `isChildrenListEnabled` as true/false
    // (the page: "Values Y and N do not work").
    let sent = serde_json::to_value(
        CrmType::new()
            .title("SPA")
            .is_stages_enabled(true)
            .is_automation_enabled(false)
            .relations(
                CrmTypeRelations::new().parent([CrmTypeRelation::new()
                    .entity_type_id(2)
                    .is_children_list_enabled(true)]),
            ),
    )
    .unwrap();
    assert_eq!(sent["isStagesEnabled"], "Y");
    assert_eq!(sent["isAutomationEnabled"], "N");
    assert_eq!(
        sent["relations"]["parent"],
        json!([{"entityTypeId": 2, "isChildrenListEnabled": true}])
    );
}

#[test]
fn currency_thousands_variants_are_the_five_the_docs_list() {
    for (wire, v) in [
        ("N", ThousandsVariant::None),
        ("C", ThousandsVariant::Comma),
        ("D", ThousandsVariant::Dot),
        ("S", ThousandsVariant::Space),
        ("B", ThousandsVariant::NonBreakingSpace),
    ] {
        let l: CurrencyLocalization =
            decode(json!({"THOUSANDS_VARIANT": wire, "THOUSANDS_SEP": null, "HIDE_ZERO": "N"}));
        assert_eq!(l.thousands_variant, Some(v), "{wire}");
        assert_eq!((l.thousands_sep, l.hide_zero), (None, Some(false)));
    }
    let l: CurrencyLocalization = decode(json!({"THOUSANDS_VARIANT": "X", "DECIMALS": "2"}));
    assert_eq!(
        l.thousands_variant,
        Some(ThousandsVariant::Unknown("X".into()))
    );
    assert_eq!(l.decimals, Some(2));
    let sent = serde_json::to_value(
        CurrencyLocalization::new()
            .hide_zero(true)
            .thousands_variant(ThousandsVariant::NonBreakingSpace),
    )
    .unwrap();
    assert_eq!(sent, json!({"HIDE_ZERO": "Y", "THOUSANDS_VARIANT": "B"}));
}

#[test]
fn recurring_limits_and_unset_dates() {
    for (wire, v) in [
        ("N", RecurringLimit::NoLimit),
        ("D", RecurringLimit::UntilADate),
        ("T", RecurringLimit::ANumberOfTimes),
    ] {
        let r: DealRecurring = decode(json!({"ID": "25", "IS_LIMIT": wire, "LAST_EXECUTION": ""}));
        assert_eq!(r.is_limit, Some(v), "{wire}");
        assert_eq!((r.id, r.last_execution), (Some(25), None));
    }
    // The list example's lower-case keys are kept, not lost.
    let r: DealRecurring = decode(json!({"deal_id": "575", "ACTIVE": "N", "LIMIT_REPEAT": null}));
    assert_eq!(
        (r.deal_id, r.active, r.limit_repeat),
        (None, Some(false), None)
    );
    assert_eq!(r.extra["deal_id"], "575");
}

#[test]
fn contact_bindings_are_sent_as_a_list_with_y_n() {
    let sent = serde_json::to_value(CrmDealContactItemsSet::new(
        1,
        [
            CrmContactBinding::new()
                .contact_id(1010)
                .sort(10)
                .is_primary(true),
            CrmContactBinding::new().contact_id(1020).is_primary(false),
        ],
    ))
    .unwrap();
    assert_eq!(
        sent["items"],
        json!([
            {"CONTACT_ID": 1010, "SORT": 10, "IS_PRIMARY": "Y"},
            {"CONTACT_ID": 1020, "IS_PRIMARY": "N"}
        ])
    );
    let b: CrmContactBinding = decode(json!({"CONTACT_ID": 55, "ROLE_ID": 0, "IS_PRIMARY": "Y"}));
    assert_eq!(
        (b.contact_id, b.role_id, b.is_primary),
        (Some(55), Some(0), Some(true))
    );
}

#[test]
fn template_access_codes_come_as_an_object_or_a_list() {
    // template.get sends `users` as {"UA":"UA"}, template.list as ["UA"].
    for users in [json!({"UA": "UA", "D5": "D5"}), json!(["UA", "D5"])] {
        let t: CrmDocumentTemplate = decode(json!({"id": "41", "active": "Y", "withStamps": "N",
            "isDeleted": "N", "sort": "500", "users": users, "code": null}));
        assert_eq!(t.users, Some(vec!["UA".to_string(), "D5".to_string()]));
        assert_eq!((t.id, t.sort, t.code), (Some(41), Some(500), None));
        assert_eq!(
            (t.active, t.with_stamps, t.is_deleted),
            (Some(true), Some(false), Some(false))
        );
    }
}

#[test]
fn legacy_product_rows_keep_prices_as_sent_and_unset_reserves_are_none() {
    let r: CrmProductRow = decode(json!({"ID": "1425", "OWNER_TYPE": "L", "PRICE": 22175.328,
        "PRICE_ACCOUNT": "10.00000000", "TAX_RATE": null, "TAX_INCLUDED": "N", "QUANTITY": 1,
        "STORE_ID": null, "DATE_RESERVE_END": null, "XML_ID": ""}));
    assert_eq!(r.price.map(|p| p.to_string()), Some("22175.328".into()));
    assert_eq!(
        r.price_account.map(|p| p.to_string()),
        Some("10.00000000".into())
    );
    assert_eq!(
        (r.tax_rate, r.store_id, r.date_reserve_end),
        (None, None, None)
    );
    assert_eq!((r.tax_included, r.xml_id), (Some(false), None));
}
