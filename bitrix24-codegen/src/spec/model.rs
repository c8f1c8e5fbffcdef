//! What a spec says: the packs, the items of one file, and the errors found in them.

use std::collections::BTreeMap;
use std::fmt;

use super::types::{Pagination, Response, Risk, Ty};

/// The twelve packs, in their canonical order (one cargo feature each).
pub const PACKS: [&str; 12] = [
    "core",
    "comms",
    "automation",
    "collab",
    "content",
    "boards",
    "commerce",
    "services",
    "platform",
    "sites",
    "compliance",
    "diagnostics",
];

/// One problem found in a spec: the file, the item (method, entity, enum, pack) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec file as the user knows it (`specs/core.toml`).
    pub file: String,
    /// The item, such as ``method `crm.deal.add` `` or ``entity `Deal` ``.
    pub item: Option<String>,
    /// The key inside the item, such as `params.fields.type` or `risk`.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(
        file: &str,
        item: Option<String>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        SpecError {
            file: file.to_owned(),
            item,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a set of specs (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// The `[pack]` table plus everything the file defines.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The file as shown in messages and `@generated` markers (`specs/core.toml`).
    pub file: String,
    /// Pack name (equals the file stem).
    pub pack: String,
    /// One-line summary of the pack.
    pub summary: String,
    /// What users say -> this pack.
    pub terms: Vec<String>,
    /// Event names as sent on the wire (`ONCRMDEALADD`).
    pub events: Vec<String>,
    /// The docs page of an event, by event name (`crm/deals/events/on-crm-deal-add.md`).
    pub event_docs: BTreeMap<String, String>,
    /// Enums by name.
    pub enums: BTreeMap<String, EnumSpec>,
    /// Entities by name.
    pub entities: BTreeMap<String, EntitySpec>,
    /// Methods by name.
    pub methods: BTreeMap<String, MethodSpec>,
    /// REST 3.0 methods (`[v3."name"]`) by their v3 name: the v3-only ones, and the v3 twins of
    /// v2 methods whose parameters or response differ (`tasks.task.get`).
    pub v3_methods: BTreeMap<String, MethodSpec>,
}

impl Spec {
    /// Every method of the file: the v2 ones (`[method]`), then the REST 3.0 ones (`[v3]`).
    pub fn all_methods(&self) -> impl Iterator<Item = &MethodSpec> {
        self.methods.values().chain(self.v3_methods.values())
    }
}

/// An `[enum.Name]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumSpec {
    /// Doc line.
    pub doc: String,
    /// Wire value -> doc, sorted by wire value.
    pub values: Vec<(String, String)>,
}

/// An `[entity.Name]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitySpec {
    /// Doc line.
    pub doc: String,
    /// Docs page of the fields (optional).
    pub docs: Option<String>,
    /// Wire name of the id field.
    pub id: Option<String>,
    /// Fields, sorted by wire name.
    pub fields: Vec<FieldSpec>,
}

impl EntitySpec {
    /// The field holding the id, when `id` is set.
    pub fn id_field(&self) -> Option<&FieldSpec> {
        let id = self.id.as_deref()?;
        self.fields.iter().find(|f| f.name == id)
    }
}

/// One entity field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// Wire name.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Optional doc.
    pub doc: Option<String>,
}

/// One method parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// Wire name.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Whether `new(..)` takes it.
    pub required: bool,
    /// Optional doc.
    pub doc: Option<String>,
}

/// A `[method."name"]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSpec {
    /// v2 method name.
    pub name: String,
    /// One-line summary.
    pub summary: String,
    /// Docs page path (`crm/deals/crm-deal-add.md`).
    pub docs: String,
    /// Risk class.
    pub risk: Risk,
    /// Scopes any one of which allows the call.
    pub scopes: Vec<String>,
    /// Whether a repeat has the same effect.
    pub idempotent: bool,
    /// Response shape.
    pub response: Response,
    /// REST 3.0 name.
    pub v3: Option<String>,
    /// Whether the method is a `[v3]` entry: it exists only on REST 3.0 in the shape this spec
    /// describes (its `name` is the v3 name).
    pub v3_only: bool,
    /// Pagination style.
    pub pagination: Pagination,
    /// Parameters, sorted by wire name.
    pub params: Vec<ParamSpec>,
    /// Example response (JSON text), for the generated decoding test.
    pub example: Option<String>,
    /// Rust name override of the request struct.
    pub rust_name: Option<String>,
    /// The field keyset pagination orders and filters by, when it differs from the entity's
    /// id field as returned (`tasks.task.list`: `ID` in requests, `id` in rows).
    pub keyset_field: Option<String>,
    /// Why the answer is an untyped `value` (a payload the user defines, such as `entity.item`).
    pub value_why: Option<String>,
    /// Why the spec knowingly differs from its docs page (`check --docs` then reports nothing).
    pub docs_differs: Option<String>,
    /// What to use instead, when the docs mark the method deprecated (`"use crm.item.add"`):
    /// the request struct is generated `#[deprecated]` with this note.
    pub deprecated: Option<String>,
}

impl MethodSpec {
    /// The scopes as code spans joined by `sep` (`` `crm` or `task` ``), or `none` for a global
    /// method.
    pub fn scopes_text(&self, sep: &str, none: &str) -> String {
        if self.scopes.is_empty() {
            return none.to_owned();
        }
        self.scopes
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// The docs URL of the method.
    pub fn docs_url(&self) -> String {
        docs_url(&self.docs)
    }

    /// The request struct's name (`CrmDealAdd`, or `rust_name`).
    pub fn struct_name(&self) -> String {
        crate::naming::request_struct(&self.name, self.rust_name.as_deref())
    }
}

/// `https://apidocs.bitrix24.com/api-reference/<path>.html` (or `/settings/...` for pages of the
/// `settings/` folder).
pub fn docs_url(path: &str) -> String {
    let html = path
        .strip_suffix(".md")
        .map_or_else(|| path.to_owned(), |p| format!("{p}.html"));
    if html.starts_with("settings/") {
        format!("https://apidocs.bitrix24.com/{html}")
    } else {
        format!("https://apidocs.bitrix24.com/api-reference/{html}")
    }
}
