//! The hand-written families: `crm.deal`, `crm.lead`, `crm.contact`, `crm.company`,
//! `tasks.task`, `crm.type` and the smart-process item families.

use super::model::{
    EntityFamily, Family, FieldDefault, FieldSpec, FieldType, Flavor, KeyStyle, NumberStyle, Shape,
};
use serde_json::json;

fn s(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::String)
}
fn int(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::Int)
}
fn chr(name: &str, default: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::Char).default(FieldDefault::Value(json!(default)))
}
fn dt(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::DateTime)
}
fn money(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::Money)
}
fn multi(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::Json).multi()
}

fn audit_fields() -> Vec<FieldSpec> {
    vec![
        int("ASSIGNED_BY_ID")
            .camel("assignedById")
            .default(FieldDefault::Caller),
        int("CREATED_BY_ID")
            .camel("createdBy")
            .default(FieldDefault::Caller)
            .read_only(),
        int("MODIFY_BY_ID")
            .camel("updatedBy")
            .default(FieldDefault::Caller)
            .read_only(),
        dt("DATE_CREATE")
            .camel("createdTime")
            .default(FieldDefault::Now)
            .read_only(),
        dt("DATE_MODIFY")
            .camel("updatedTime")
            .default(FieldDefault::Now)
            .read_only(),
    ]
}

/// The built-in families: `crm.deal`, `crm.lead`, `crm.contact`, `crm.company`, `tasks.task`.
pub(crate) fn builtin_families() -> Vec<EntityFamily> {
    let mut deal = EntityFamily::legacy_crm("crm.deal", 2, "ONCRMDEAL").with_fields(vec![
        s("TITLE"),
        s("TYPE_ID").status("DEAL_TYPE"),
        int("CATEGORY_ID").default(FieldDefault::Value(json!(0))),
        s("STAGE_ID")
            .default(FieldDefault::Value(json!("NEW")))
            .status("DEAL_STAGE"),
        s("STAGE_SEMANTIC_ID")
            .default(FieldDefault::Value(json!("P")))
            .read_only(),
        chr("IS_NEW", "Y"),
        chr("IS_RECURRING", "N"),
        chr("IS_RETURN_CUSTOMER", "N"),
        chr("IS_REPEATED_APPROACH", "N"),
        int("PROBABILITY"),
        s("CURRENCY_ID").default(FieldDefault::Value(json!("USD"))),
        money("OPPORTUNITY").default(FieldDefault::Value(json!(0))),
        chr("IS_MANUAL_OPPORTUNITY", "N"),
        money("TAX_VALUE").default(FieldDefault::Value(json!(0))),
        int("COMPANY_ID").default(FieldDefault::Value(json!(0))),
        int("CONTACT_ID"),
        FieldSpec::new("CONTACT_IDS", FieldType::Json).multi(),
        int("QUOTE_ID"),
        FieldSpec::new("BEGINDATE", FieldType::Date).default(FieldDefault::Now),
        FieldSpec::new("CLOSEDATE", FieldType::Date),
        chr("OPENED", "Y"),
        chr("CLOSED", "N"),
        s("COMMENTS"),
        s("SOURCE_ID").status("SOURCE"),
        s("SOURCE_DESCRIPTION"),
        int("LEAD_ID"),
        s("ADDITIONAL_INFO"),
        s("ORIGINATOR_ID"),
        s("ORIGIN_ID"),
    ]);
    deal.fields.extend(audit_fields());
    for f in &mut deal.fields {
        if f.name == "CONTACT_IDS" {
            f.multiple = true;
        }
    }
    let person = |prefix: &str, etid: u32, ev: &str, extra: Vec<FieldSpec>| {
        let mut fam = EntityFamily::legacy_crm(prefix, etid, ev).with_fields(extra);
        fam.fields.extend(vec![
            s("SOURCE_ID").status("SOURCE"),
            s("SOURCE_DESCRIPTION"),
            s("COMMENTS"),
            chr("OPENED", "Y"),
            chr("HAS_PHONE", "N"),
            chr("HAS_EMAIL", "N"),
            chr("HAS_IMOL", "N"),
            s("ORIGINATOR_ID"),
            s("ORIGIN_ID"),
        ]);
        fam.fields.extend(audit_fields());
        fam.fields.extend(vec![
            multi("PHONE"),
            multi("EMAIL"),
            multi("WEB"),
            multi("IM"),
        ]);
        fam
    };
    let lead = person(
        "crm.lead",
        1,
        "ONCRMLEAD",
        vec![
            s("TITLE"),
            s("HONORIFIC"),
            s("NAME"),
            s("SECOND_NAME"),
            s("LAST_NAME"),
            FieldSpec::new("BIRTHDATE", FieldType::Date),
            s("COMPANY_TITLE"),
            s("STATUS_ID")
                .camel("stageId")
                .default(FieldDefault::Value(json!("NEW")))
                .status("STATUS"),
            s("STATUS_DESCRIPTION"),
            s("STATUS_SEMANTIC_ID")
                .default(FieldDefault::Value(json!("P")))
                .read_only(),
            s("POST"),
            s("ADDRESS"),
            s("CURRENCY_ID").default(FieldDefault::Value(json!("USD"))),
            money("OPPORTUNITY").default(FieldDefault::Value(json!(0))),
            chr("IS_MANUAL_OPPORTUNITY", "N"),
            int("COMPANY_ID"),
            int("CONTACT_ID"),
            chr("IS_RETURN_CUSTOMER", "N"),
            dt("DATE_CLOSED"),
        ],
    );
    let contact = person(
        "crm.contact",
        3,
        "ONCRMCONTACT",
        vec![
            s("HONORIFIC"),
            s("NAME"),
            s("SECOND_NAME"),
            s("LAST_NAME"),
            FieldSpec::new("BIRTHDATE", FieldType::Date),
            s("TYPE_ID").status("CONTACT_TYPE"),
            s("POST"),
            s("ADDRESS"),
            chr("EXPORT", "Y"),
            int("COMPANY_ID"),
            int("LEAD_ID"),
        ],
    );
    let company = person(
        "crm.company",
        4,
        "ONCRMCOMPANY",
        vec![
            s("TITLE"),
            s("COMPANY_TYPE").camel("typeId").status("COMPANY_TYPE"),
            s("ADDRESS"),
            s("BANKING_DETAILS"),
            s("INDUSTRY").status("INDUSTRY"),
            s("EMPLOYEES").status("EMPLOYEES"),
            s("CURRENCY_ID").default(FieldDefault::Value(json!("USD"))),
            money("REVENUE"),
            chr("IS_MY_COMPANY", "N"),
            int("LEAD_ID"),
        ],
    );
    for f in [&lead, &contact, &company] {
        debug_assert!(f.fields[0].name == "ID");
    }
    let mut title = s("TITLE").required();
    title.title = "Task title".to_string();
    let task = EntityFamily {
        prefix: "tasks.task".to_string(),
        scope: "task".to_string(),
        entity_type_id: None,
        event_prefix: Some("ONTASK".to_string()),
        id_param: "taskId".to_string(),
        keys: KeyStyle::Camel,
        numbers: NumberStyle::String,
        add: Shape::Wrapped("task".into(), Box::new(Shape::Row)),
        get: Shape::Wrapped("task".into(), Box::new(Shape::Row)),
        update: Shape::Wrapped("task".into(), Box::new(Shape::Row)),
        delete: Shape::Wrapped("task".into(), Box::new(Shape::True)),
        list_wrapper: Some("tasks".to_string()),
        default_desc: true,
        flavor: Flavor::Tasks,
        fields: vec![
            FieldSpec::new("ID", FieldType::Id),
            int("PARENT_ID"),
            title,
            s("DESCRIPTION"),
            s("MARK"),
            int("PRIORITY").default(FieldDefault::Value(json!(1))),
            chr("MULTITASK", "N"),
            chr("NOT_VIEWED", "N"),
            chr("REPLICATE", "N"),
            int("STAGE_ID").default(FieldDefault::Value(json!(0))),
            int("CREATED_BY").default(FieldDefault::Caller),
            dt("CREATED_DATE").default(FieldDefault::Now).read_only(),
            int("RESPONSIBLE_ID").default(FieldDefault::Caller),
            int("CHANGED_BY").default(FieldDefault::Caller).read_only(),
            dt("CHANGED_DATE").default(FieldDefault::Now).read_only(),
            int("STATUS_CHANGED_BY"),
            int("CLOSED_BY"),
            dt("CLOSED_DATE"),
            dt("DATE_START"),
            dt("DEADLINE"),
            dt("START_DATE_PLAN"),
            dt("END_DATE_PLAN"),
            s("XML_ID"),
            int("STATUS").default(FieldDefault::Value(json!(2))),
            int("GROUP_ID").default(FieldDefault::Value(json!(0))),
            FieldSpec::new("ACCOMPLICES", FieldType::Json).default(FieldDefault::Value(json!([]))),
            FieldSpec::new("AUDITORS", FieldType::Json).default(FieldDefault::Value(json!([]))),
            FieldSpec::new("UF_CRM_TASK", FieldType::Json),
        ],
    };
    vec![deal, lead, contact, company, task]
}

fn d7(upper: &str, camel: &str, ty: FieldType) -> FieldSpec {
    FieldSpec::new(upper, ty).camel(camel)
}

/// `crm.type.*`: the smart-process types (camelCase, wrapped in `type` / `types`).
pub(crate) fn crm_type_family() -> Family {
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
        flavor: Flavor::D7,
        fields,
    };
    let mut f = Family::new(spec);
    f.origin = "crm.type".into();
    f.fields_wrapper = Some("fields".into());
    f.not_found = Some(("0".into(), "SPA not found".into()));
    f
}

/// The item family of a smart process created with `crm.type.add` (served by `crm.item.*`).
pub(crate) fn dynamic_family(etid: u32, title: &str) -> Family {
    let mut title_f = d7("TITLE", "title", FieldType::String);
    title_f.title = "Name".into();
    let fields = vec![
        d7("ID", "id", FieldType::Id),
        d7("XML_ID", "xmlId", FieldType::String),
        title_f,
        d7("CREATED_BY", "createdBy", FieldType::Int)
            .default(FieldDefault::Caller)
            .read_only(),
        d7("UPDATED_BY", "updatedBy", FieldType::Int)
            .default(FieldDefault::Caller)
            .read_only(),
        d7("CREATED_TIME", "createdTime", FieldType::DateTime)
            .default(FieldDefault::Now)
            .read_only(),
        d7("UPDATED_TIME", "updatedTime", FieldType::DateTime)
            .default(FieldDefault::Now)
            .read_only(),
        d7("ASSIGNED_BY_ID", "assignedById", FieldType::Int).default(FieldDefault::Caller),
        d7("OPENED", "opened", FieldType::Char),
        d7("CATEGORY_ID", "categoryId", FieldType::Int),
        d7("STAGE_ID", "stageId", FieldType::String),
        d7("BEGINDATE", "begindate", FieldType::Date),
        d7("CLOSEDATE", "closedate", FieldType::Date),
        d7("COMPANY_ID", "companyId", FieldType::Int),
        d7("CONTACT_ID", "contactId", FieldType::Int),
        d7("OPPORTUNITY", "opportunity", FieldType::Money),
        d7("CURRENCY_ID", "currencyId", FieldType::String),
        d7("SOURCE_ID", "sourceId", FieldType::String),
        d7("SOURCE_DESCRIPTION", "sourceDescription", FieldType::String),
        d7("OBSERVERS", "observers", FieldType::Json),
        d7("CONTACT_IDS", "contactIds", FieldType::Json),
        d7("ENTITY_TYPE_ID", "entityTypeId", FieldType::Int)
            .default(FieldDefault::Value(json!(etid)))
            .read_only(),
    ];
    let spec = EntityFamily {
        prefix: format!("crm.dynamic.{etid}"),
        scope: "crm".into(),
        entity_type_id: Some(etid),
        event_prefix: None,
        id_param: "id".into(),
        keys: KeyStyle::Camel,
        numbers: NumberStyle::Native,
        add: Shape::BareId,
        get: Shape::Row,
        update: Shape::True,
        delete: Shape::True,
        list_wrapper: None,
        default_desc: false,
        flavor: Flavor::D7,
        fields,
    };
    let mut f = Family::new(spec);
    f.origin = format!("crm.type:{title}");
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
