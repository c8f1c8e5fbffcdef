//! The family model: field types and specs, key and number styles, result shapes, flavors,
//! [`EntityFamily`] (the public description of a family), [`Family`] (its compiled form) and
//! [`View`] (how one call addresses it).

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The type of an entity field (drives parsing, filtering and output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// The integer id.
    Id,
    /// An integer (ids of other objects, counters).
    Int,
    /// Money: printed `"1000000.00"` by legacy methods, a JSON number by `crm.item.*`.
    Money,
    /// A floating-point number.
    Float,
    /// A string.
    String,
    /// A `Y`/`N` flag.
    Char,
    /// A date and time (ISO 8601 on output).
    DateTime,
    /// A date (legacy methods print it as a datetime at midnight).
    Date,
    /// Any JSON value (lists, multi-fields), stored as given.
    Json,
}

impl FieldType {
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Self::Id | Self::Int => "integer",
            Self::Money | Self::Float => "double",
            Self::String | Self::Json => "string",
            Self::Char => "char",
            Self::DateTime => "datetime",
            Self::Date => "date",
        }
    }
}

/// What a field holds when `add` does not set it.
#[derive(Debug, Clone)]
pub enum FieldDefault {
    /// The current time.
    Now,
    /// The calling user's id.
    Caller,
    /// A fixed JSON value.
    Value(Value),
    /// A new GUID, `{xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx}` (a task's `guid`).
    Guid,
}

/// One field of an entity family.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Wire name in UPPER_SNAKE (legacy methods and task requests).
    pub name: String,
    /// camelCase name (`crm.item.*` and task responses).
    pub camel: String,
    /// Field type.
    pub ty: FieldType,
    /// Human title for `*.fields`.
    pub title: String,
    /// Required on add.
    pub required: bool,
    /// Read-only (ignored on add/update).
    pub read_only: bool,
    /// Holds several values.
    pub multiple: bool,
    /// Returned by list calls without an explicit select (`false` for multi-fields).
    pub in_list: bool,
    /// Value set on add when absent.
    pub default: Option<FieldDefault>,
    /// `statusType` of `crm_status` fields.
    pub status_type: Option<String>,
    /// What the family's own methods print for a field with no value (`""` for the dates of
    /// legacy rows), `null` when `None`; `crm.item.*` always prints `null`.
    pub empty: Option<Value>,
    /// A legacy multi-field (`PHONE`: items of `VALUE`, `VALUE_TYPE`, merged by `ID` on
    /// update), left out of the family's own answers while empty.
    pub multifield: bool,
    /// Returned by the family's own `get`/`list` only when selected by name (`CONTACT_IDS`).
    pub on_request: bool,
    /// A `Y`/`N` flag the emulator computes on every write: `Y` when the named multi-field
    /// holds a value (of the given `VALUE_TYPE`, when set).
    pub flag_of: Option<(&'static str, Option<&'static str>)>,
    /// What `*.fields` answers for the field when the docs describe it (see [`Described`]);
    /// `None` derives the description from the field's own settings.
    pub(crate) described: Option<Described>,
    /// Which answers carry the field (a lead's address parts are not in `crm.item.*` rows).
    pub answers: Answers,
}

/// Which methods of a legacy CRM family read and write a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// The family's own methods and `crm.item.*`.
    Both,
    /// Only the family's own methods (`crm.lead.*`).
    Own,
    /// Only `crm.item.*`.
    Item,
}

impl Answers {
    /// Whether a call in `view` sees the field.
    pub(crate) fn shown(self, view: View) -> bool {
        match self {
            Self::Both => true,
            Self::Own => !view.crm_item,
            Self::Item => view.crm_item,
        }
    }
}

/// A field's description in `*.fields` as the docs' example answer gives it. It describes the
/// legacy methods (`crm.deal.*`); the emulator's behaviour stays with the [`FieldSpec`] flags,
/// since `crm.item.*` writes fields the legacy methods list as read-only (`leadId`, `quoteId`
/// of a deal).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
pub(crate) struct Described {
    /// `type` (`user`, `crm_company`, `crm_currency`, `crm_status`, ...).
    pub ty: String,
    /// `isRequired`.
    pub required: bool,
    /// `isReadOnly`.
    pub read_only: bool,
    /// `isImmutable` (a deal's `CATEGORY_ID`).
    pub immutable: bool,
    /// `isMultiple`.
    pub multiple: bool,
    /// `isDeprecated: true` (a deal's single `CONTACT_ID`), left out when `false`.
    pub deprecated: bool,
    /// `settings` (`{"parentEntityTypeId": 4}`), left out when `None`.
    pub settings: Option<Value>,
}

impl FieldSpec {
    /// A field with the camelCase name derived from the UPPER name.
    pub fn new(name: &str, ty: FieldType) -> Self {
        Self {
            name: name.to_string(),
            camel: camelize(name),
            ty,
            title: name.to_string(),
            required: false,
            read_only: ty == FieldType::Id,
            multiple: false,
            in_list: true,
            default: None,
            status_type: None,
            empty: None,
            multifield: false,
            on_request: false,
            flag_of: None,
            described: None,
            answers: Answers::Both,
        }
    }

    /// Sets what the family's own methods print when the field has no value.
    #[must_use]
    pub fn empty(mut self, v: Value) -> Self {
        self.empty = Some(v);
        self
    }

    /// A list of related ids (`CONTACT_IDS`): multiple, and returned by the family's own
    /// `get`/`list` only when selected by name.
    #[must_use]
    pub fn on_request(self) -> Self {
        Self {
            on_request: true,
            ..self.selected_only()
        }
    }

    /// Multiple, and left out of lists unless selected.
    fn selected_only(self) -> Self {
        Self {
            multiple: true,
            in_list: false,
            ..self
        }
    }

    /// A `Y`/`N` flag computed from multi-field `field` (items of `value_type` only, when set).
    #[must_use]
    pub fn flag_of(mut self, field: &'static str, value_type: Option<&'static str>) -> Self {
        self.flag_of = Some((field, value_type));
        self.read_only = true;
        self
    }

    /// Overrides the camelCase name.
    #[must_use]
    pub fn camel(mut self, camel: &str) -> Self {
        self.camel = camel.to_string();
        self
    }

    /// Sets the default value.
    #[must_use]
    pub fn default(mut self, d: FieldDefault) -> Self {
        self.default = Some(d);
        self
    }

    /// Marks the field required on add.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the field read-only.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Marks a legacy multi-field (`PHONE`, `EMAIL`): multiple, returned by lists only when
    /// selected explicitly, and left out of the family's own answers while empty.
    #[must_use]
    pub fn multi(self) -> Self {
        Self {
            multifield: true,
            ..self.selected_only()
        }
    }

    /// Sets the `statusType`.
    #[must_use]
    pub fn status(mut self, st: &str) -> Self {
        self.status_type = Some(st.to_string());
        self
    }
}

/// `UPPER_SNAKE` -> `camelCase`.
pub fn camelize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, part) in name.split('_').filter(|p| !p.is_empty()).enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(c) = cs.next() {
                out.push(c.to_ascii_uppercase());
                out.push_str(cs.as_str());
            }
        }
    }
    out
}

/// Key style of responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// `UPPER_SNAKE` keys (legacy CRM).
    Upper,
    /// `camelCase` keys (`crm.item.*`, `tasks.task.*` responses).
    Camel,
}

/// How numbers are printed in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberStyle {
    /// As strings (`"ID":"410"`).
    String,
    /// As JSON numbers.
    Native,
}

/// The shape of an action's `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The bare new id (`"result": 394`).
    BareId,
    /// `true`.
    True,
    /// `[]` (an empty PHP array).
    EmptyArray,
    /// The entity itself.
    Row,
    /// `{"<key>": <inner>}`.
    Wrapped(String, Box<Shape>),
}

/// Which conventions (errors, events, extra actions) a family follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Legacy `crm.*`: errors with an empty code, `data[FIELDS][ID]` events.
    LegacyCrm,
    /// `tasks.task.*`: numeric-string error codes, `FIELDS_AFTER`/`FIELDS_BEFORE` events,
    /// `complete`, and `getfields` in `{"fields": {...}}`.
    Tasks,
    /// D7 controllers (`sale.*`, `catalog.*`, ...): camelCase requests and responses, error `100`
    /// for a missing parameter.
    D7,
}

/// A family of REST methods over one entity store: `{prefix}.add|get|list|update|delete|fields`.
#[derive(Debug, Clone)]
pub struct EntityFamily {
    /// Method prefix, e.g. `crm.deal`.
    pub prefix: String,
    /// Scope that opens the methods.
    pub scope: String,
    /// CRM entity type id (makes it reachable through `crm.item.*`).
    pub entity_type_id: Option<u32>,
    /// Event name prefix (`ONCRMDEAL` -> `ONCRMDEALADD`...).
    pub event_prefix: Option<String>,
    /// Name of the id parameter of get/update/delete (`id` or `taskId`).
    pub id_param: String,
    /// Response key style.
    pub keys: KeyStyle,
    /// Response number style.
    pub numbers: NumberStyle,
    /// `add` result shape.
    pub add: Shape,
    /// `get` result shape.
    pub get: Shape,
    /// `update` result shape.
    pub update: Shape,
    /// `delete` result shape.
    pub delete: Shape,
    /// Wrapper key of list results (`tasks`), `None` for a bare list.
    pub list_wrapper: Option<String>,
    /// Default list order is id descending (tasks).
    pub default_desc: bool,
    /// Rows kept apart per value of a request parameter (`crm.category.*`), when set.
    pub partition: Option<Partition>,
    /// Error/event conventions.
    pub flavor: Flavor,
    /// The fields; the first must be the id.
    pub fields: Vec<FieldSpec>,
}

/// A family whose rows belong to the value of one request parameter (`crm.category.*`: the
/// pipelines of one `entityTypeId`): each value has its own rows, starting with a default row,
/// the value is stored in the field of the same name, and a list answers every row of the
/// value in one page, ordered by a field.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The request parameter, also the (camelCase) field that holds its value.
    pub param: String,
    /// The row a value starts with: its id (`None`: the first free one) and fields.
    pub first_row: fn(i64) -> (Option<i64>, Value),
    /// The (camelCase) field lists are ordered by, ascending, ties by id.
    pub order_by: String,
}

impl EntityFamily {
    /// A legacy CRM family (`crm.deal`-like): UPPER keys, string numbers, bare id on add.
    pub fn legacy_crm(prefix: &str, entity_type_id: u32, event_prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            scope: "crm".to_string(),
            entity_type_id: Some(entity_type_id),
            event_prefix: Some(event_prefix.to_string()),
            id_param: "id".to_string(),
            keys: KeyStyle::Upper,
            numbers: NumberStyle::String,
            add: Shape::BareId,
            get: Shape::Row,
            update: Shape::True,
            delete: Shape::True,
            list_wrapper: None,
            default_desc: false,
            partition: None,
            flavor: Flavor::LegacyCrm,
            fields: vec![FieldSpec::new("ID", FieldType::Id)],
        }
    }

    /// Adds fields (builder style).
    #[must_use]
    pub fn with_fields(mut self, fields: Vec<FieldSpec>) -> Self {
        self.fields.extend(fields);
        self
    }
}

/// A compiled family: spec plus name lookups.
#[derive(Debug)]
pub(crate) struct Family {
    pub spec: EntityFamily,
    by_upper: HashMap<String, usize>,
    by_camel: HashMap<String, usize>,
    /// Requests to the family's own methods use camelCase keys.
    pub camel_in: bool,
    /// Extra method actions (lower case) served as a standard action (`getfields` -> `fields`).
    pub aliases: HashMap<String, String>,
    /// Wrapper key of the `fields` result (`{"order": {...}}`), when the family has one.
    pub fields_wrapper: Option<String>,
    /// The documented "not found" error (code, description) of the family's `get`.
    pub not_found: Option<(String, String)>,
    /// Where the family comes from (`custom`, `specs/core.toml`, `crm.type`, `crm.type:<title>`).
    pub origin: String,
    /// Event names fired per action (`ADD`/`UPDATE`/`DELETE`), from the pack's `events` list;
    /// when empty, `spec.event_prefix` decides.
    pub events: HashMap<&'static str, Vec<String>>,
    /// The actions (lower case) served under the prefix: by default the generic CRUD of the
    /// flavor; a spec family serves the standard six plus its aliases, or only the methods its
    /// spec lists when the documented API has no generic CRUD (`catalog.catalog` is read-only).
    pub served: Vec<String>,
    /// Extra actions that update fixed fields (`tasks.task.complete`: `STATUS` 5, `CLOSED_BY`,
    /// `CLOSED_DATE`), lower case.
    pub actions: HashMap<String, Vec<(String, FieldDefault)>>,
    /// Served by hand-written handlers under the documented method names (`disk.*`, `im.*`,
    /// `sonet_group.*`): the prefix is only the store key.
    pub custom: bool,
    /// What the family's own methods add to the rows they render (the task's `creator`),
    /// when it has such keys.
    pub row_view: Option<RowView>,
}

/// The keys a family's own answers compute at render time from other state (people, the
/// caller), which no stored field holds: `tasks.task.*` answers `creator`, `responsible`,
/// `auditorsData` and the caller's `action` map next to the stored fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowView {
    /// The `select` a `get` (`list: false`) or `list` renders with, from the request's.
    pub select: fn(Option<&Value>, bool) -> Option<Value>,
    /// Adds the computed keys to one rendered row.
    pub row: fn(&mut Map<String, Value>, &RowCtx<'_>),
}

/// What [`RowView::row`] knows of the call.
pub(crate) struct RowCtx<'a> {
    /// The whole row was rendered (no `select`): `add`, `update`, a `get` without `select`.
    pub full: bool,
    /// A row of a `list` answer.
    pub list: bool,
    /// The calling user.
    pub caller: u64,
    /// The display name of a portal user, `None` for an unknown id.
    pub user_name: &'a dyn Fn(u64) -> Option<String>,
}

/// The generic actions of a family of `flavor` that no spec describes.
fn default_actions(flavor: Flavor) -> Vec<String> {
    let extra: &[&str] = match flavor {
        Flavor::LegacyCrm | Flavor::D7 => &["fields"],
        Flavor::Tasks => &["complete", "getfields"],
    };
    ["add", "get", "list", "update", "delete"]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_string())
        .collect()
}

impl Family {
    pub(crate) fn new(spec: EntityFamily) -> Self {
        let mut by_upper = HashMap::new();
        let mut by_camel = HashMap::new();
        for (i, f) in spec.fields.iter().enumerate() {
            by_upper.insert(f.name.to_ascii_uppercase(), i);
            by_camel.insert(f.camel.clone(), i);
        }
        let mut fam = Self {
            camel_in: spec.flavor == Flavor::D7,
            served: default_actions(spec.flavor),
            spec,
            by_upper,
            by_camel,
            aliases: HashMap::new(),
            fields_wrapper: None,
            not_found: None,
            origin: String::new(),
            events: HashMap::new(),
            actions: HashMap::new(),
            custom: false,
            row_view: None,
        };
        if fam.spec.flavor == Flavor::Tasks {
            // `getFields` answers `{"fields": {...}}`; `complete` closes the task.
            fam.aliases.insert("getfields".into(), "fields".into());
            fam.fields_wrapper = Some("fields".into());
            let status = FieldDefault::Value(Value::from(5));
            fam.actions.insert(
                "complete".into(),
                vec![
                    ("STATUS".into(), status),
                    ("CLOSED_BY".into(), FieldDefault::Caller),
                    ("CLOSED_DATE".into(), FieldDefault::Now),
                    ("STATUS_CHANGED_BY".into(), FieldDefault::Caller),
                    ("STATUS_CHANGED_DATE".into(), FieldDefault::Now),
                ],
            );
        }
        fam
    }

    pub(crate) fn slot(&self, name: &str, camel: bool) -> Option<usize> {
        if camel {
            self.by_camel.get(name).copied()
        } else {
            self.by_upper.get(&name.to_ascii_uppercase()).copied()
        }
    }

    /// The slot of a field a call in `view` names in its request and sees in its answer.
    pub(crate) fn slot_in(&self, name: &str, view: View) -> Option<usize> {
        self.slot(name, view.camel_in)
            .filter(|&i| self.spec.fields[i].answers.shown(view))
    }
}

/// How the current call addresses a family: through its own methods or through `crm.item.*`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    /// Request keys (fields/select/filter/order) are camelCase.
    pub camel_in: bool,
    pub keys: KeyStyle,
    pub numbers: NumberStyle,
    /// `crm.item.*` conventions: unknown filter fields are errors, `ufCrm_` names, `upperName`.
    pub crm_item: bool,
}

impl View {
    pub(crate) fn native(fam: &Family) -> Self {
        Self {
            camel_in: fam.camel_in,
            keys: fam.spec.keys,
            numbers: fam.spec.numbers,
            crm_item: false,
        }
    }

    pub(crate) fn crm_item() -> Self {
        Self {
            camel_in: true,
            keys: KeyStyle::Camel,
            numbers: NumberStyle::Native,
            crm_item: true,
        }
    }
}

/// The response key of a user field (or a `PARENT_ID_<type>` relation) in `view`.
pub(crate) fn uf_out(name: &str, view: View) -> String {
    match view.keys {
        KeyStyle::Upper => name.to_string(),
        KeyStyle::Camel if view.crm_item => crm_item_name(name),
        KeyStyle::Camel => camelize(name),
    }
}

/// The `crm.item.*` name of a user field, by the docs' two conversions
/// (`crm/universal/index.md`, "Field Naming Conventions"): *regular* when only digits or only
/// letters follow `UF_CRM_<type>_` (`UF_CRM_10_5186744711` -> `ufCrm10_5186744711`,
/// `UF_CRM_10_DIGIT` -> `ufCrm10Digit`), otherwise *simplified*, the prefix only
/// (`UF_CRM_10_DIGIT10` -> `ufCrm_10_DIGIT10`, `UF_CRM_1747309879` -> `ufCrm_1747309879`).
/// `PARENT_ID_1220` is `parentId1220`.
fn crm_item_name(name: &str) -> String {
    if let Some(n) = name.strip_prefix("PARENT_ID_") {
        return format!("parentId{n}");
    }
    let Some(rest) = name.strip_prefix("UF_CRM_") else {
        return camelize(name);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some((num, tail)) = rest.split_once('_')
        && digits(num)
    {
        let parts: Vec<&str> = tail.split('_').collect();
        if parts.iter().all(|p| digits(p)) {
            return format!("ufCrm{num}_{}", parts.join("_"));
        }
        if parts.iter().all(|p| letters(p)) {
            let mut out = format!("ufCrm{num}");
            for p in parts {
                out.push_str(&p[..1]);
                out.push_str(&p[1..].to_ascii_lowercase());
            }
            return out;
        }
    }
    format!("ufCrm_{rest}")
}

/// The stored (UPPER) name of a `crm.item.*` user-field name: the inverse of
/// [`crm_item_name`].
fn crm_item_upper(name: &str) -> Option<String> {
    if let Some(rest) = name.strip_prefix("ufCrm_") {
        return Some(format!("UF_CRM_{rest}"));
    }
    if let Some(n) = name.strip_prefix("parentId")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(format!("PARENT_ID_{n}"));
    }
    let rest = name.strip_prefix("ufCrm")?;
    let num_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (num, tail) = rest.split_at(num_len);
    if num.is_empty() {
        return None;
    }
    if let Some(d) = tail.strip_prefix('_') {
        return Some(format!("UF_CRM_{num}_{d}"));
    }
    let mut out = format!("UF_CRM_{num}");
    for c in tail.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    Some(out)
}

/// Whether an UPPER name is a relation to a smart-process item (`PARENT_ID_1220`).
fn is_parent_id(upper: &str) -> bool {
    upper
        .strip_prefix("PARENT_ID_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The stored name of a user field (or a `PARENT_ID_<type>` relation) named in a request,
/// `None` when `name` is not one.
pub(crate) fn uf_in(name: &str, view: View) -> Option<String> {
    if view.crm_item {
        if name.starts_with("UF_") || is_parent_id(name) {
            return Some(name.to_string());
        }
        return crm_item_upper(name);
    }
    let upper = name.to_ascii_uppercase();
    (upper.starts_with("UF_") || is_parent_id(&upper)).then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_item_user_field_names_follow_the_docs_table() {
        // crm/universal/index.md, "Field Naming Conventions".
        for (upper, camel) in [
            ("UF_CRM_3_DIGIT", "ufCrm3Digit"),
            ("UF_CRM_3_1747309727", "ufCrm3_1747309727"),
            ("UF_CRM_3_DIGIT10", "ufCrm_3_DIGIT10"),
            ("UF_CRM_3_DIGIT_10", "ufCrm_3_DIGIT_10"),
            ("UF_CRM_1747309879", "ufCrm_1747309879"),
            ("UF_CRM_10_5186744711", "ufCrm10_5186744711"),
            ("UF_CRM_7_NEW_REST_LIST", "ufCrm7NewRestList"),
            ("PARENT_ID_1220", "parentId1220"),
        ] {
            assert_eq!(crm_item_name(upper), camel, "{upper}");
            assert_eq!(crm_item_upper(camel).as_deref(), Some(upper), "{camel}");
        }
    }

    #[test]
    fn camel() {
        assert_eq!(camelize("ASSIGNED_BY_ID"), "assignedById");
        assert_eq!(camelize("UF_CRM_TASK"), "ufCrmTask");
    }
}
