//! The crm requisite, timeline, activity and reference-book specs (issue 16, crm part 1), pinned by
//! what their docs pages allow beyond the examples (which the generated tests already decode):
//! the values of the type tables (`0` "not defined" enum values, Y/N flags, `""` for a date never
//! set, `null` ids, `[]` for an empty object) and what the requests send.
//! Sources: crm/data-types.md (activity enumerations, crm_activity_binding),
//! crm/timeline/activities/activity-base/crm-activity-fields.md, crm/requisites/presets/
//! crm-requisite-preset-get.md, crm/status/crm-status-add.md and crm-status-delete.md,
//! crm/timeline/bindings/crm-timeline-bindings-list.md, crm/duplicates/crm-duplicate-find-by-comm.md,
//! crm/timeline/layout-blocks/crm-timeline-layout-blocks-set.md, crm/call-list/crm-calllist-add.md.
#![cfg(feature = "core")]

use bitrix24::Method;
use bitrix24::packs::core::{
    Activity, ActivityDirection, ActivityNotifyType, ActivityPriority, ActivityStatus,
    ActivityTypeId, Address, CallListEntityType, ContentType, CrmCalllistAdd,
    CrmDuplicateFindbycomm, CrmStatusDelete, CrmTimelineLayoutBlocksSet, DuplicateCommType,
    DuplicateEntityType, LayoutBlocks, RequisitePreset, StageSemantic, Status, TimelineBinding,
    TimelineBindingType,
};
use serde_json::{Value, json};

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("decodes")
}

#[test]
fn activity_enums_take_every_documented_value_and_keep_unknown_ones() {
    let a: Activity = decode(json!({
        "TYPE_ID": "6", "STATUS": "3", "PRIORITY": "0", "NOTIFY_TYPE": "2",
        "DIRECTION": "1", "DESCRIPTION_TYPE": "3", "COMPLETED": "N", "IS_INCOMING_CHANNEL": "Y"
    }));
    assert_eq!(a.type_id, Some(ActivityTypeId::Provider));
    assert_eq!(a.status, Some(ActivityStatus::CompletedAutomatically));
    assert_eq!(a.priority, Some(ActivityPriority::NotSpecified));
    assert_eq!(a.notify_type, Some(ActivityNotifyType::Hours));
    assert_eq!(a.direction, Some(ActivityDirection::Incoming));
    assert_eq!(a.description_type, Some(ContentType::Html));
    assert_eq!(
        (a.completed, a.is_incoming_channel),
        (Some(false), Some(true))
    );
    // Numbers as numbers, "0" as "not defined", a type a newer portal adds as Unknown.
    let a: Activity = decode(json!({"TYPE_ID": 2, "STATUS": "0", "DIRECTION": "7"}));
    assert_eq!(a.type_id, Some(ActivityTypeId::Call));
    assert_eq!(a.status, Some(ActivityStatus::NotDefined));
    assert_eq!(a.direction, Some(ActivityDirection::Unknown("7".into())));
}

#[test]
fn activity_communications_and_bindings_are_typed_rows() {
    let a: Activity = decode(json!({
        "ID": "999",
        "COMMUNICATIONS": [{"ID": "5", "ENTITY_ID": "15", "ENTITY_TYPE_ID": "3", "TYPE": "PHONE", "VALUE": "+15550100"}],
        "BINDINGS": [{"OWNER_TYPE_ID": "2", "OWNER_ID": "40"}, {"OWNER_TYPE_ID": 3, "OWNER_ID": 15}],
        "SETTINGS": [], "PROVIDER_PARAMS": []
    }));
    let c = &a.communications.as_ref().unwrap()[0];
    assert_eq!((c.entity_id, c.entity_type_id), (Some(15), Some(3)));
    assert_eq!(c.value.as_deref(), Some("+15550100"));
    let b = a.bindings.unwrap();
    assert_eq!((b[0].owner_type_id, b[0].owner_id), (Some(2), Some(40)));
    assert_eq!((b[1].owner_type_id, b[1].owner_id), (Some(3), Some(15)));
    // PHP's empty array for an object with nothing set.
    assert_eq!((a.settings, a.provider_params), (None, None));
    // A new activity sends its flags and enums the way the portal reads them.
    let sent = serde_json::to_value(
        Activity::new()
            .type_id(ActivityTypeId::Call)
            .completed(true)
            .priority(ActivityPriority::High),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"TYPE_ID": "2", "COMPLETED": "Y", "PRIORITY": "3"})
    );
}

#[test]
fn requisite_template_never_changed_has_no_modify_date() {
    // crm-requisite-preset-get.md: DATE_MODIFY "" until the first change, MODIFY_BY_ID null.
    let p: RequisitePreset = decode(json!({
        "ID": "347", "DATE_CREATE": "2024-05-24T15:45:44+02:00", "DATE_MODIFY": "",
        "MODIFY_BY_ID": null, "ACTIVE": "N", "SORT": "520"
    }));
    assert_eq!(
        (p.id, p.sort, p.active),
        (Some(347), Some(520), Some(false))
    );
    assert_eq!((p.date_modify, p.modify_by_id), (None, None));
    assert!(p.date_create.is_some());
}

#[test]
fn address_parent_id_is_the_documented_string() {
    let a: Address = decode(
        json!({"TYPE_ID": "1", "ENTITY_TYPE_ID": "8", "ENTITY_ID": "7335", "COUNTRY_CODE": null}),
    );
    assert_eq!(a.entity_id.as_deref(), Some("7335"));
    assert_eq!((a.type_id, a.country_code), (Some(1), None));
}

#[test]
fn status_semantics_in_progress_is_none() {
    // crm-status-add.md: "S" success, "F" failure, "" in progress; crm.status.list answers null.
    for (wire, semantics) in [
        (json!("S"), Some(StageSemantic::Success)),
        (json!("F"), Some(StageSemantic::Failure)),
        (json!(""), None),
        (json!(null), None),
    ] {
        let s: Status = decode(json!({"STATUS_ID": "WON", "SEMANTICS": wire, "SYSTEM": "Y"}));
        assert_eq!(s.semantics, semantics);
        assert_eq!(s.system, Some(true));
    }
    // The EXTRA object is no named field: it stays in `extra`.
    let s: Status = decode(json!({"EXTRA": {"SEMANTICS": "process", "COLOR": "#39A8EF"}}));
    assert_eq!(s.extra["EXTRA"]["SEMANTICS"], "process");
}

#[test]
fn status_delete_sends_forced_as_an_object() {
    let sent =
        serde_json::to_value(CrmStatusDelete::new(733).params(json!({"FORCED": "Y"}))).unwrap();
    assert_eq!(sent, json!({"id": 733, "params": {"FORCED": "Y"}}));
    let e = serde_json::to_value(CrmStatusDelete::new(733).params(json!("FORCED"))).unwrap_err();
    assert!(e.to_string().contains("params"), "{e}");
}

#[test]
fn timeline_binding_types_are_the_documented_five() {
    let b: TimelineBinding =
        decode(json!({"OWNER_ID": "999", "ENTITY_ID": "39", "ENTITY_TYPE": "order"}));
    assert_eq!(b.entity_type, Some(TimelineBindingType::Order));
    assert_eq!((b.owner_id, b.entity_id), (Some(999), Some(39)));
    let b: TimelineBinding = decode(json!({"ENTITY_TYPE": "dynamic_130"}));
    assert_eq!(
        b.entity_type,
        Some(TimelineBindingType::Unknown("dynamic_130".into()))
    );
}

#[test]
fn duplicate_search_answers_only_the_kinds_it_found() {
    let sent = serde_json::to_value(
        CrmDuplicateFindbycomm::new(DuplicateCommType::Phone, ["8976543", "11223355"])
            .entity_type(DuplicateEntityType::Contact),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"type": "PHONE", "values": ["8976543", "11223355"], "entity_type": "CONTACT"})
    );
    let found = CrmDuplicateFindbycomm::decode_response(json!({"LEAD": ["12"], "COMPANY": [4, 9]}))
        .unwrap();
    assert_eq!(found.lead, Some(vec![12]));
    assert_eq!(found.company, Some(vec![4, 9]));
    assert_eq!(found.contact, None);
}

#[test]
fn layout_blocks_travel_as_the_documented_object() {
    let layout: LayoutBlocks = decode(json!({"blocks": {
        "block_1": {"type": "text", "properties": {"value": "Hello!", "bold": true}},
        "block_2": {"type": "link", "properties": {"text": "Open deal", "action": {"type": "redirect", "uri": "/crm/deal/details/123/"}}}
    }}));
    let blocks = layout.blocks.clone().unwrap();
    assert_eq!(blocks["block_1"].r#type.as_deref(), Some("text"));
    assert_eq!(
        blocks["block_2"].properties.as_ref().unwrap()["text"],
        "Open deal"
    );
    let sent = serde_json::to_value(CrmTimelineLayoutBlocksSet::new(2, 4, 8, layout)).unwrap();
    assert_eq!(sent["timelineId"], 8);
    assert_eq!(
        sent["layout"]["blocks"]["block_1"]["properties"]["bold"],
        true
    );
}

#[test]
fn call_list_sends_its_entity_type_and_ids() {
    let sent = serde_json::to_value(
        CrmCalllistAdd::new(CallListEntityType::Company, [3, 17]).webform_id(1),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"ENTITY_TYPE": "COMPANY", "ENTITIES": [3, 17], "WEBFORM_ID": 1})
    );
}
