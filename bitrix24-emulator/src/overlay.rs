//! What the emulator adds to the spec entities it serves as the portal's own families
//! (`crm.deal`, `crm.lead`, `crm.contact`, `crm.company`, `tasks.task`) and to the spec's `Item`
//! (the fields of a smart-process item): one [`Overlay`] per entity.
//!
//! The spec (`specs/<pack>.toml`) is the one source of an entity's field list, names and types,
//! and of its methods, shapes and scopes; an overlay holds only what no spec says: defaults on
//! `add`, read-only fields, `statusType` links, multi-fields, the `crm.item.*` names of legacy
//! fields, and the family's conventions (entity type id, flavor, number style). A rule naming a
//! field the spec does not list is an error the unit tests catch; fields the portal has and the
//! spec does not list yet go to `extra`, until the spec lists them. What `<prefix>.fields`
//! answers for the legacy CRM families (types, titles, flags, `statusType`) is the docs' example
//! answer, one table per entity in `data/field_meta.toml`, read by [`meta`]; a documented field the spec lacks is added from it.

use crate::entity::{
    Answers, EntityFamily, Family, FieldDefault, FieldSpec, FieldType, Flavor, NumberStyle,
    Partition, RowView, Shape, Store,
};
use serde_json::{Value, json};

mod item_row;
mod meta;
mod status;

pub(crate) use item_row::{finish as finish_item_row, fm_in};

/// A field rule: what the emulator adds to the spec's field (builder style).
pub(crate) type Rule = fn(FieldSpec) -> FieldSpec;

/// Rules by UPPER field name.
type Rules = &'static [(&'static str, Rule)];

/// The emulator-only facts of one spec entity.
pub(crate) struct Overlay {
    /// The spec entity (`Deal`).
    pub entity: &'static str,
    /// Its method prefix (`crm.deal`).
    pub prefix: &'static str,
    /// The CRM entity type id of a legacy CRM family (`2` for deals).
    pub entity_type_id: Option<u32>,
    /// Family settings no spec carries (entity type id, flavor, number style, shapes the spec
    /// leaves as `value`).
    pub family: fn(&mut EntityFamily),
    /// Field rules, in groups (a group may serve several entities).
    pub fields: &'static [Rules],
    /// Fields the portal has that the spec does not list yet.
    pub extra: fn() -> Vec<FieldSpec>,
    /// Keys the family's answers compute from other state when rendering a row.
    pub row_view: Option<RowView>,
    /// The rows a new portal's store of the family starts with.
    pub initial: Option<fn(&Family, &mut Store, f64)>,
}

impl Overlay {
    /// Applies the overlay to a family built from the spec: settings, field rules, then the
    /// extra fields the spec does not have.
    pub(crate) fn apply(&self, fam: &mut EntityFamily) {
        if self.entity_type_id.is_some() {
            fam.entity_type_id = self.entity_type_id;
        }
        (self.family)(fam);
        for f in &mut fam.fields {
            for (name, rule) in self.rules() {
                if *name == f.name {
                    *f = rule(f.clone());
                }
            }
        }
        // An extra field the spec has come to list keeps what the overlay says of it (type,
        // default, empty value, flags) under the spec's title.
        for x in (self.extra)() {
            if let Some(f) = fam.fields.iter_mut().find(|f| f.name == x.name) {
                let title = std::mem::take(&mut f.title);
                *f = FieldSpec { title, ..x };
            } else {
                fam.fields.push(x);
            }
        }
        // What `<prefix>.fields` answers for each documented field (type, title, flags); a
        // documented field the family lacks is added.
        for m in meta::of(self.prefix) {
            if let Some(f) = fam.fields.iter_mut().find(|f| f.name == m.name) {
                m.apply(f);
            } else {
                let mut f = m.new_field();
                m.apply(&mut f);
                fam.fields.push(f);
            }
        }
        // What `crm.item.*` reads and writes of a legacy type beyond the family's own fields.
        if let Some(iv) = meta::item_view(self.prefix) {
            for f in &mut fam.fields {
                if iv.own_only.contains(&f.name) {
                    f.answers = Answers::Own;
                }
            }
            for m in &iv.item_only {
                let mut f = m.new_field();
                m.apply(&mut f);
                f.answers = Answers::Item;
                fam.fields.push(f);
            }
        }
    }

    /// Every field rule of the overlay.
    pub(crate) fn rules(&self) -> impl Iterator<Item = &(&'static str, Rule)> {
        self.fields.iter().flat_map(|g| g.iter())
    }
}

/// The overlaid entities served under their own prefix.
pub(crate) const OVERLAYS: &[Overlay] =
    &[DEAL, LEAD, CONTACT, COMPANY, TASK, CATEGORY, status::STATUS];

/// The overlay of `entity`, when it has one.
pub(crate) fn of(entity: &str) -> Option<&'static Overlay> {
    OVERLAYS.iter().find(|o| o.entity == entity)
}

/// The store a new portal starts `fam` with: empty, or the rows its overlay seeds
/// (`crm.status`: the default reference books).
pub(crate) fn initial_store(fam: &Family, now: f64) -> Store {
    let mut store = Store::default();
    if let Some(seed) = OVERLAYS
        .iter()
        .find(|o| o.prefix == fam.spec.prefix)
        .and_then(|o| o.initial)
    {
        seed(fam, &mut store, now);
    }
    store
}

fn val(v: impl Into<Value>) -> FieldDefault {
    FieldDefault::Value(v.into())
}

/// A legacy CRM family: its entity type id, field rules and the fields the spec lacks.
const fn crm(
    entity: &'static str,
    prefix: &'static str,
    entity_type_id: u32,
    fields: &'static [Rules],
    extra: fn() -> Vec<FieldSpec>,
) -> Overlay {
    Overlay {
        entity,
        prefix,
        entity_type_id: Some(entity_type_id),
        family: |_| {},
        fields,
        extra,
        row_view: None,
        initial: None,
    }
}

/// Set to the caller on `add`, read-only afterwards (`CREATED_BY_ID`, `MOVED_BY`).
fn by_caller(f: FieldSpec) -> FieldSpec {
    f.default(FieldDefault::Caller).read_only()
}

/// Set to the time of the `add`, read-only afterwards (`DATE_CREATE`, `MOVED_TIME`).
fn stamped(f: FieldSpec) -> FieldSpec {
    f.default(FieldDefault::Now).read_only()
}

/// Who created and changed a CRM object, and when (`crm.item.*` names differ).
const AUDIT: Rules = &[
    ("ASSIGNED_BY_ID", |f| {
        f.camel("assignedById").default(FieldDefault::Caller)
    }),
    ("CREATED_BY_ID", |f| by_caller(f.camel("createdBy"))),
    ("MODIFY_BY_ID", |f| by_caller(f.camel("updatedBy"))),
    ("DATE_CREATE", |f| stamped(f.camel("createdTime"))),
    ("DATE_MODIFY", |f| stamped(f.camel("updatedTime"))),
    ("LAST_ACTIVITY_BY", by_caller),
    ("LAST_ACTIVITY_TIME", stamped),
];

/// A legacy date with no value, printed `""` (`crm.lead.get`: `"BIRTHDATE":""`, `"DATE_CLOSED":""`).
fn empty_date(f: FieldSpec) -> FieldSpec {
    f.empty(json!(""))
}

/// A file field (`PHOTO`, `LOGO`): `null` until a file is set.
fn file(name: &str) -> FieldSpec {
    FieldSpec::new(name, FieldType::Json)
}

/// The amount and the last stage move of a deal or lead.
const SALE: Rules = &[
    ("CURRENCY_ID", |f| f.default(val("USD"))),
    ("OPPORTUNITY", |f| f.default(val(0))),
    ("IS_MANUAL_OPPORTUNITY", |f| f.default(val("N"))),
    ("IS_RETURN_CUSTOMER", |f| f.default(val("N"))),
    ("MOVED_BY_ID", |f| by_caller(f.camel("movedBy"))),
    ("MOVED_TIME", stamped),
];

/// The contact data of leads, contacts and companies: flags and multi-fields.
const COMMS: Rules = &[
    ("OPENED", |f| f.default(val("Y"))),
    ("HAS_PHONE", |f| f.default(val("N")).flag_of("PHONE", None)),
    ("HAS_EMAIL", |f| f.default(val("N")).flag_of("EMAIL", None)),
    // "Is open line set": an `IM` item of type `OPENLINE`.
    ("HAS_IMOL", |f| {
        f.default(val("N")).flag_of("IM", Some("OPENLINE"))
    }),
    ("PHONE", FieldSpec::multi),
    ("EMAIL", FieldSpec::multi),
    ("WEB", FieldSpec::multi),
    ("IM", FieldSpec::multi),
    ("LINK", FieldSpec::multi),
];

const DEAL: Overlay = crm(
    "Deal",
    "crm.deal",
    2,
    &[
        &[
            ("CATEGORY_ID", |f| f.default(val(0))),
            ("STAGE_ID", |f| f.default(val("NEW"))),
            ("STAGE_SEMANTIC_ID", |f| f.default(val("P")).read_only()),
            ("IS_NEW", |f| f.default(val("Y"))),
            ("IS_RECURRING", |f| f.default(val("N"))),
            ("IS_REPEATED_APPROACH", |f| f.default(val("N"))),
            ("TAX_VALUE", |f| f.default(val(0))),
            ("COMPANY_ID", |f| f.default(val(0))),
            ("CONTACT_IDS", |f| f.on_request()),
            ("BEGINDATE", |f| f.default(FieldDefault::Now)),
            ("OPENED", |f| f.default(val("Y"))),
            ("CLOSED", |f| f.default(val("N"))),
        ],
        AUDIT,
        SALE,
    ],
    // `crm.deal.fields`: `LOCATION_ID` (location).
    || vec![FieldSpec::new("LOCATION_ID", FieldType::String)],
);

const LEAD: Overlay = crm(
    "Lead",
    "crm.lead",
    1,
    &[
        &[
            ("STATUS_ID", |f| f.camel("stageId").default(val("NEW"))),
            // `crm.item.get` of a lead: `"stageSemanticId":"P"`.
            ("STATUS_SEMANTIC_ID", |f| {
                f.camel("stageSemanticId").default(val("P")).read_only()
            }),
            ("BIRTHDATE", empty_date),
            ("DATE_CLOSED", empty_date),
            ("CONTACT_IDS", |f| f.on_request()),
        ],
        COMMS,
        AUDIT,
        SALE,
    ],
    Vec::new,
);

const CONTACT: Overlay = crm(
    "Contact",
    "crm.contact",
    3,
    &[
        &[
            ("EXPORT", |f| f.default(val("Y"))),
            ("BIRTHDATE", empty_date),
            ("COMPANY_IDS", |f| f.on_request()),
        ],
        COMMS,
        AUDIT,
    ],
    // `crm.contact.fields`: `PHOTO` (file), `FACE_ID` (integer).
    || vec![file("PHOTO"), FieldSpec::new("FACE_ID", FieldType::Int)],
);

const COMPANY: Overlay = crm(
    "Company",
    "crm.company",
    4,
    &[
        &[
            ("COMPANY_TYPE", |f| f.camel("typeId")),
            ("CURRENCY_ID", |f| f.default(val("USD"))),
            ("IS_MY_COMPANY", |f| f.default(val("N"))),
            // `crm.company.fields`: "Contact. Multiple".
            ("CONTACT_ID", |f| f.on_request()),
        ],
        COMMS,
        AUDIT,
    ],
    // `crm.company.fields`: `LOGO` (file).
    || vec![file("LOGO")],
);

/// `tasks.task.*`: UPPER request keys, camelCase responses with string numbers, `{"task": ...}`
/// results, newest first.
const TASK: Overlay = Overlay {
    entity: "Task",
    prefix: "tasks.task",
    entity_type_id: None,
    family: |f| {
        f.flavor = Flavor::Tasks;
        f.numbers = NumberStyle::String;
        f.event_prefix = Some("ONTASK".into());
        f.delete = Shape::Wrapped("task".into(), Box::new(Shape::True));
        f.default_desc = true;
    },
    fields: &[&[
        ("TITLE", |mut f| {
            f.title = "Task title".into();
            f.required()
        }),
        ("PRIORITY", |f| f.default(val(1))),
        ("CREATED_BY", |f| f.default(FieldDefault::Caller)),
        ("CREATED_DATE", stamped),
        ("RESPONSIBLE_ID", |f| f.default(FieldDefault::Caller)),
        ("STATUS", |f| f.default(val(2))),
        ("ACCOMPLICES", |f| f.default(val(json!([])))),
        ("AUDITORS", |f| f.default(val(json!([])))),
        // `tasks.task.add` (docs example): `"description":""`, `"favorite":"N"`.
        ("DESCRIPTION", |f| f.empty(json!(""))),
        ("FAVORITE", |f| f.default(val("N"))),
    ]],
    // The fields of `tasks.task.getFields` (and REST 3.0's TaskDto) the spec's `Task` lacks, and
    // the portal defaults of some it has, with the values of a new task in the docs'
    // `tasks.task.add` answer.
    extra: || {
        let flag = |n: &str| FieldSpec::new(n, FieldType::Char).default(val("N"));
        let int = |n: &str| FieldSpec::new(n, FieldType::Int);
        let dt = |n: &str| FieldSpec::new(n, FieldType::DateTime);
        let fixed = |f: FieldSpec, v: Value| f.default(val(v)).read_only();
        let mut fields = vec![
            flag("MULTITASK"),
            flag("NOT_VIEWED"),
            flag("REPLICATE"),
            int("STAGE_ID").default(val(0)),
            by_caller(int("CHANGED_BY")),
            stamped(dt("CHANGED_DATE")),
            stamped(dt("ACTIVITY_DATE")),
            FieldSpec::new("GUID", FieldType::String)
                .default(FieldDefault::Guid)
                .read_only(),
            int("COMMENTS_COUNT").read_only(),
            int("SERVICE_COMMENTS_COUNT").read_only(),
            flag("ALLOW_CHANGE_DEADLINE"),
            flag("ALLOW_TIME_TRACKING"),
            flag("TASK_CONTROL"),
            flag("ADD_IN_REPORT"),
            int("FORKED_BY_TEMPLATE_ID").read_only(),
            int("TIME_ESTIMATE").default(val(0)),
            int("TIME_SPENT_IN_LOGS").read_only(),
            flag("MATCH_WORK_TIME"),
            int("FORUM_TOPIC_ID").read_only(),
            int("FORUM_ID").read_only(),
            fixed(FieldSpec::new("SITE_ID", FieldType::String), json!("s1")),
            fixed(FieldSpec::new("SUBORDINATE", FieldType::Char), json!("Y")),
            dt("EXCHANGE_MODIFIED").read_only(),
            int("EXCHANGE_ID").read_only(),
            fixed(int("OUTLOOK_VERSION"), json!(1)),
            dt("VIEWED_DATE").read_only(),
            FieldSpec::new("SORTING", FieldType::Float).read_only(),
            int("DURATION_FACT").read_only(),
            fixed(flag("IS_MUTED"), json!("N")),
            fixed(flag("IS_PINNED"), json!("N")),
            fixed(flag("IS_PINNED_IN_GROUP"), json!("N")),
            stamped(dt("STATUS_CHANGED_DATE")),
            FieldSpec::new("DURATION_TYPE", FieldType::String).default(val("days")),
            int("GROUP_ID").default(val(0)),
            // A task bound to no CRM object answers `"ufCrmTask": false`.
            FieldSpec::new("UF_CRM_TASK", FieldType::Json).empty(json!(false)),
            // `tasks.task.add` (docs example): `"descriptionInBbcode":"Y"`, `"group":[]`,
            // `"checklist":[]`, and `"newCommentsCount":0` a native number among string ones.
            FieldSpec::new("DESCRIPTION_IN_BBCODE", FieldType::Char).default(val("Y")),
            fixed(FieldSpec::new("GROUP", FieldType::Json), json!([])),
            fixed(FieldSpec::new("CHECKLIST", FieldType::Json), json!([])),
            fixed(
                FieldSpec::new("NEW_COMMENTS_COUNT", FieldType::Json),
                json!(0),
            ),
        ];
        // A system user field answered only when selected (`tasks.task.get`).
        let mut mail = FieldSpec::new("UF_MAIL_MESSAGE", FieldType::Int).on_request();
        mail.multiple = false;
        fields.push(mail);
        fields
    },
    row_view: Some(crate::task_view::TASK),
    initial: None,
};

/// `crm.category.*`: the pipelines of one `entityTypeId` (`crm.category.list` answers them all
/// in one page, by `sort`, the default one included: `{"id":0,"name":"General","sort":300,
/// "entityTypeId":2,"isDefault":"Y"}`), `isDefault` as `"Y"`/`"N"`, `originId` and
/// `originatorId` as `""` when empty, and only on a deal pipeline other than the default one
/// (`crm-category-add.md`: "Exists only in deals"; the default row of `crm-category-list.md`
/// and the smart-process rows of `crm-category-add.md`/`update.md` have neither).
const CATEGORY: Overlay = Overlay {
    entity: "Category",
    prefix: "crm.category",
    entity_type_id: None,
    family: |f| {
        f.partition = Some(Partition {
            param: "entityTypeId".into(),
            first_row: default_category,
            order_by: "sort".into(),
        });
    },
    fields: &[&[
        ("ENTITY_TYPE_ID", FieldSpec::read_only),
        ("IS_DEFAULT", |mut f| {
            f.ty = FieldType::Char;
            f.default(val("N"))
        }),
        ("ORIGIN_ID", |f| f.empty(json!(""))),
        ("ORIGINATOR_ID", |f| f.empty(json!(""))),
    ]],
    extra: Vec::new,
    row_view: Some(RowView {
        select: |_, _| None,
        row: |m, _| {
            let num = |k: &str| m.get(k).and_then(Value::as_i64);
            if num("entityTypeId") != Some(2) || num("id") == Some(0) {
                m.shift_remove("originId");
                m.shift_remove("originatorId");
            }
        },
    }),
    initial: None,
};

/// The pipeline an object type starts with: id 0 for the legacy types (deals, contacts,
/// companies), the first id for a smart process (`crm.category.add` of the docs answers
/// `{"id":5,...,"entityTypeId":1152,"isDefault":"Y"}`).
fn default_category(entity_type_id: i64) -> (Option<i64>, Value) {
    let id = (entity_type_id < 128).then_some(0);
    (
        id,
        json!({"name": "General", "sort": 300, "isDefault": "Y"}),
    )
}

/// The fields of a smart-process item (`crm.type.add` makes one family per type from it).
pub(crate) const ITEM: Overlay = Overlay {
    entity: "Item",
    prefix: "crm.item",
    entity_type_id: None,
    family: |_| {},
    fields: &[&[
        ("TITLE", |mut f| {
            f.title = "Name".into();
            f
        }),
        ("CREATED_BY", by_caller),
        ("UPDATED_BY", by_caller),
        ("CREATED_TIME", stamped),
        ("UPDATED_TIME", stamped),
        ("ASSIGNED_BY_ID", |f| f.default(FieldDefault::Caller)),
        ("MOVED_BY", by_caller),
        ("MOVED_TIME", stamped),
        ("LAST_ACTIVITY_BY", by_caller),
        ("LAST_ACTIVITY_TIME", stamped),
    ]],
    // Set per type by `crm.type.add`.
    extra: || vec![FieldSpec::new("ENTITY_TYPE_ID", FieldType::Int).read_only()],
    row_view: None,
    initial: None,
};
