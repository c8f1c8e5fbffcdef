//! The specs of the last missing methods decode what their pages' tables allow beyond the
//! examples: a filter mode other than Y/N (`E`), Y/N flags, the HR system's `UNKNOWN` field type,
//! a job status the page does not list, `null` for no stage semantic, `[]` for no settings and
//! `false` for a plain timeline record. Sources: user/userfields/user-userfield-list.md,
//! sign/hcm-link/humanresources-hcmlink-company-list.md, humanresources-hcmlink-job-update.md,
//! outdated/rpa/stage/rpa-stage-get.md, outdated/rpa/type/rpa-type-get.md,
//! outdated/rpa/timeline/rpa-timeline-list-for-item.md.
#![cfg(all(feature = "core", feature = "automation"))]

mod decode_support;

use bitrix24::packs::automation::{RpaStage, RpaStageSemantic, RpaTimelineEntry, RpaType};
use bitrix24::packs::core::{
    HcmLinkCompany, HcmLinkFieldType, HcmLinkJobFields, HcmLinkJobStatus, UserUserField,
};
use decode_support::decode;
use serde_json::json;

#[test]
fn employee_user_fields_keep_other_filter_modes() {
    let f: UserUserField = decode(json!({
        "ID": "177", "FIELD_NAME": "UF_USR_MONEY", "MULTIPLE": "N", "MANDATORY": "Y",
        "SHOW_FILTER": "E", "XML_ID": null, "SORT": "100", "LIST": [],
        "EDIT_FORM_LABEL": {"en": "Money"}
    }));
    assert_eq!(f.id, Some(177));
    assert_eq!((f.multiple, f.mandatory), (Some(false), Some(true)));
    assert_eq!(f.show_filter.as_deref(), Some("E"));
    assert_eq!(f.xml_id, None);
    assert_eq!(f.list, Some(vec![]));
    assert_eq!(f.edit_form_label, Some(json!({"en": "Money"})));
}

#[test]
fn hcm_link_fields_take_the_unknown_type_and_other_statuses() {
    let c: HcmLinkCompany = decode(json!({
        "id": "15", "crmCompanyId": "12", "data": [],
        "fields": [{"field": "f", "type": "UNKNOWN", "entityType": "EMPLOYEE", "ttl": "86400"},
                   {"field": "g", "type": "SALARY"}]
    }));
    assert_eq!((c.id, c.crm_company_id, c.data), (Some(15), Some(12), None));
    let fields = c.fields.expect("fields");
    assert_eq!(fields[0].r#type, Some(HcmLinkFieldType::Unspecified));
    assert_eq!(fields[0].ttl, Some(86400));
    assert_eq!(
        fields[1].r#type,
        Some(HcmLinkFieldType::Unknown("SALARY".into()))
    );
    let j: HcmLinkJobFields = decode(json!({"status": "PAUSED", "total": "3", "sent": 1}));
    assert_eq!(j.status, Some(HcmLinkJobStatus::Unknown("PAUSED".into())));
    assert_eq!((j.total, j.sent), (Some(3), Some(1)));
}

#[test]
fn rpa_answers_take_null_empty_and_false() {
    let s: RpaStage =
        decode(json!({"id": 1, "semantic": null, "isFirst": true, "permissions": []}));
    assert_eq!(
        (s.semantic, s.is_first, s.permissions),
        (None, Some(true), None)
    );
    let s: RpaStage = decode(json!({"id": 2, "semantic": "FAIL"}));
    assert_eq!(s.semantic, Some(RpaStageSemantic::Fail));
    let t: RpaType = decode(json!({"id": "1", "settings": [], "permissions": []}));
    assert_eq!(
        (t.id, t.settings, t.permissions),
        (Some(1), None, Some(vec![]))
    );
    let e: RpaTimelineEntry =
        decode(json!({"id": 325, "action": false, "isFixed": "N", "users": []}));
    assert_eq!(e.action.as_deref(), Some("false"));
    assert_eq!((e.is_fixed, e.users), (Some(false), None));
}
