//! `crm.type.*`: the smart-process types, the one family no spec describes (camelCase,
//! wrapped in `type` / `types`).

use super::model::{
    EntityFamily, Family, FieldDefault, FieldSpec, FieldType, Flavor, KeyStyle, NumberStyle, Shape,
};
use serde_json::json;

fn d7(upper: &str, camel: &str, ty: FieldType) -> FieldSpec {
    FieldSpec::new(upper, ty).camel(camel)
}

/// `crm.type.*`: the smart-process types (camelCase, wrapped in `type` / `types`).
pub(crate) fn family() -> Family {
    let flag = |camel: &str, default: &str| {
        d7(&upper_of(camel), camel, FieldType::Char).default(FieldDefault::Value(json!(default)))
    };
    let mut fields = vec![
        d7("ID", "id", FieldType::Id),
        d7("TITLE", "title", FieldType::String).required(),
        d7("CODE", "code", FieldType::String),
        d7("CREATED_BY", "createdBy", FieldType::Int)
            .default(FieldDefault::Caller)
            .read_only(),
        d7("ENTITY_TYPE_ID", "entityTypeId", FieldType::Int),
    ];
    for (camel, default) in [
        ("isCategoriesEnabled", "N"),
        ("isStagesEnabled", "N"),
        ("isBeginCloseDatesEnabled", "N"),
        ("isClientEnabled", "N"),
        ("isUseInUserfieldEnabled", "N"),
        ("isLinkWithProductsEnabled", "N"),
        ("isMycompanyEnabled", "N"),
        ("isDocumentsEnabled", "N"),
        ("isSourceEnabled", "N"),
        ("isObserversEnabled", "N"),
        ("isRecyclebinEnabled", "N"),
        ("isAutomationEnabled", "N"),
        ("isBizProcEnabled", "N"),
        ("isSetOpenPermissions", "Y"),
        ("isPaymentsEnabled", "N"),
        ("isCountersEnabled", "N"),
    ] {
        fields.push(flag(camel, default));
    }
    fields.extend([
        d7("CREATED_TIME", "createdTime", FieldType::DateTime)
            .default(FieldDefault::Now)
            .read_only(),
        d7("UPDATED_TIME", "updatedTime", FieldType::DateTime)
            .default(FieldDefault::Now)
            .read_only(),
        d7("UPDATED_BY", "updatedBy", FieldType::Int)
            .default(FieldDefault::Caller)
            .read_only(),
        d7("RELATIONS", "relations", FieldType::Json)
            .default(FieldDefault::Value(json!({"parent": [], "child": []}))),
        d7("LINKED_USER_FIELDS", "linkedUserFields", FieldType::Json)
            .default(FieldDefault::Value(json!([]))),
        d7("CUSTOM_SECTIONS", "customSections", FieldType::Json)
            .default(FieldDefault::Value(json!([]))),
        d7("CUSTOM_SECTION_ID", "customSectionId", FieldType::Int),
    ]);
    let wrapped = |k: &str| Shape::Wrapped(k.into(), Box::new(Shape::Row));
    let spec = EntityFamily {
        prefix: "crm.type".into(),
        scope: "crm".into(),
        entity_type_id: None,
        event_prefix: None,
        id_param: "id".into(),
        keys: KeyStyle::Camel,
        numbers: NumberStyle::Native,
        add: wrapped("type"),
        get: wrapped("type"),
        update: wrapped("type"),
        delete: Shape::EmptyArray,
        list_wrapper: Some("types".into()),
        default_desc: false,
        partition: None,
        flavor: Flavor::D7,
        fields,
    };
    let mut f = Family::new(spec);
    f.origin = "crm.type".into();
    f.fields_wrapper = Some("fields".into());
    f.not_found = Some(("0".into(), "SPA not found".into()));
    f
}

fn upper_of(camel: &str) -> String {
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}
