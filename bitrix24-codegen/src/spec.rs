//! The spec model: parsing `specs/<pack>.toml` files and checking them (the rules of
//! `specs/README.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

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
    fn new(
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

/// A field or parameter type (the "Types" table of `specs/README.md`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// `string`
    String,
    /// `int`
    Int,
    /// `id`
    Id,
    /// `float`
    Float,
    /// `decimal`
    Decimal,
    /// `bool`
    Bool,
    /// A boolean that travels as `"Y"`/`"N"` (`flag`).
    Flag,
    /// `date`
    Date,
    /// `datetime`
    Datetime,
    /// `object`
    Object,
    /// `value`
    Value,
    /// `list<T>`
    List(Box<Ty>),
    /// `map<T>`
    Map(Box<Ty>),
    /// `entity:Name`
    Entity(String),
    /// `enum:Name`
    Enum(String),
}

impl Ty {
    /// Parses a type as written in a spec.
    pub fn parse(s: &str) -> Result<Ty, String> {
        let s = s.trim();
        let simple = match s {
            "string" => Some(Ty::String),
            "int" => Some(Ty::Int),
            "id" => Some(Ty::Id),
            "float" => Some(Ty::Float),
            "decimal" => Some(Ty::Decimal),
            "bool" => Some(Ty::Bool),
            "flag" => Some(Ty::Flag),
            "date" => Some(Ty::Date),
            "datetime" => Some(Ty::Datetime),
            "object" => Some(Ty::Object),
            "value" => Some(Ty::Value),
            _ => None,
        };
        if let Some(t) = simple {
            return Ok(t);
        }
        if let Some(inner) = s.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return Ok(Ty::List(Box::new(Ty::parse(inner)?)));
        }
        if let Some(inner) = s.strip_prefix("map<").and_then(|r| r.strip_suffix('>')) {
            return Ok(Ty::Map(Box::new(Ty::parse(inner)?)));
        }
        if let Some(name) = s.strip_prefix("entity:") {
            check_type_name(name).map_err(|e| format!("unknown type `{s}`: {e}"))?;
            return Ok(Ty::Entity(name.to_owned()));
        }
        if let Some(name) = s.strip_prefix("enum:") {
            check_type_name(name).map_err(|e| format!("unknown type `{s}`: {e}"))?;
            return Ok(Ty::Enum(name.to_owned()));
        }
        Err(format!(
            "unknown type `{s}` (expected string, int, id, float, decimal, bool, date, datetime, \
             object, value, list<T>, map<T>, entity:Name or enum:Name)"
        ))
    }

    /// Every entity or enum name this type refers to.
    pub fn refs(&self, out: &mut Vec<Ref>) {
        match self {
            Ty::List(t) | Ty::Map(t) => t.refs(out),
            Ty::Entity(n) => out.push(Ref::Entity(n.clone())),
            Ty::Enum(n) => out.push(Ref::Enum(n.clone())),
            _ => {}
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => f.write_str("string"),
            Ty::Int => f.write_str("int"),
            Ty::Id => f.write_str("id"),
            Ty::Float => f.write_str("float"),
            Ty::Decimal => f.write_str("decimal"),
            Ty::Bool => f.write_str("bool"),
            Ty::Flag => f.write_str("flag"),
            Ty::Date => f.write_str("date"),
            Ty::Datetime => f.write_str("datetime"),
            Ty::Object => f.write_str("object"),
            Ty::Value => f.write_str("value"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Map(t) => write!(f, "map<{t}>"),
            Ty::Entity(n) => write!(f, "entity:{n}"),
            Ty::Enum(n) => write!(f, "enum:{n}"),
        }
    }
}

/// A reference from one item to an entity or an enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ref {
    /// `entity:Name`
    Entity(String),
    /// `enum:Name`
    Enum(String),
}

impl Ref {
    /// The referenced name.
    pub fn name(&self) -> &str {
        match self {
            Ref::Entity(n) | Ref::Enum(n) => n,
        }
    }
}

/// Names the generated code uses unqualified, which an entity, enum or request struct must not
/// shadow.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Self", "Option", "Some", "None", "Result", "Ok", "Err", "String", "Vec", "Box", "Default",
    "Clone", "Debug", "Send", "Sync", "Sized", "Into", "From", "Iterator",
];

fn check_type_name(name: &str) -> Result<(), String> {
    if RESERVED_TYPE_NAMES.contains(&name) {
        return Err(format!(
            "`{name}` is reserved (the generated code uses the standard `{name}`)"
        ));
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() => {}
        _ => {
            return Err(format!(
                "`{name}` must start with an upper-case ASCII letter"
            ));
        }
    }
    if !chars.all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "`{name}` must be UpperCamelCase ASCII letters and digits"
        ));
    }
    Ok(())
}

/// The shape of `result` (the "Response shapes" table of `specs/README.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `id`, `bool`, `string`, `value`, `entity:Name`, or any other type of the Types table.
    Plain(Ty),
    /// `list:Name`: `result` is the list.
    List(Ty),
    /// `wrapped:key:Name`: `{"key": {...}}`.
    Wrapped(String, Ty),
    /// `wrapped_list:key:Name`: `{"key": [...]}`.
    WrappedList(String, Ty),
    /// `map:Name`: `{"<id>": {...}}`.
    Map(Ty),
}

impl Response {
    /// Parses a response shape as written in a spec.
    pub fn parse(s: &str) -> Result<Response, String> {
        let s = s.trim();
        let elem = |rest: &str| -> Result<Ty, String> {
            if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
                check_type_name(rest)?;
                Ok(Ty::Entity(rest.to_owned()))
            } else {
                Ty::parse(rest)
            }
        };
        if let Some(rest) = s.strip_prefix("list:") {
            return Ok(Response::List(elem(rest)?));
        }
        if let Some(rest) = s.strip_prefix("map:") {
            return Ok(Response::Map(elem(rest)?));
        }
        for (prefix, list) in [("wrapped_list:", true), ("wrapped:", false)] {
            if let Some(rest) = s.strip_prefix(prefix) {
                let (key, name) = rest
                    .split_once(':')
                    .ok_or_else(|| format!("`{s}`: expected `{prefix}<key>:<Name>`"))?;
                if key.is_empty() {
                    return Err(format!("`{s}`: the wrapper key is empty"));
                }
                let ty = elem(name)?;
                return Ok(if list {
                    Response::WrappedList(key.to_owned(), ty)
                } else {
                    Response::Wrapped(key.to_owned(), ty)
                });
            }
        }
        Ty::parse(s)
            .map(Response::Plain)
            .map_err(|e| format!("unknown response shape: {e}"))
    }

    /// The type of one row when the response is a list.
    pub fn list_item(&self) -> Option<&Ty> {
        match self {
            Response::List(t) | Response::WrappedList(_, t) => Some(t),
            Response::Plain(Ty::List(t)) => Some(t),
            _ => None,
        }
    }

    /// The wrapper key of `wrapped:`/`wrapped_list:` shapes.
    pub fn wrapper(&self) -> Option<&str> {
        match self {
            Response::Wrapped(k, _) | Response::WrappedList(k, _) => Some(k),
            _ => None,
        }
    }

    fn ty(&self) -> &Ty {
        match self {
            Response::Plain(t)
            | Response::List(t)
            | Response::Wrapped(_, t)
            | Response::WrappedList(_, t)
            | Response::Map(t) => t,
        }
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = |t: &Ty| match t {
            Ty::Entity(n) => n.clone(),
            other => other.to_string(),
        };
        match self {
            Response::Plain(t) => write!(f, "{t}"),
            Response::List(t) => write!(f, "list:{}", inner(t)),
            Response::Wrapped(k, t) => write!(f, "wrapped:{k}:{}", inner(t)),
            Response::WrappedList(k, t) => write!(f, "wrapped_list:{k}:{}", inner(t)),
            Response::Map(t) => write!(f, "map:{}", inner(t)),
        }
    }
}

/// Guardrail risk class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Risk {
    /// `read`
    Read,
    /// `write`
    Write,
    /// `destructive`
    Destructive,
    /// `mixed`
    Mixed,
}

impl Risk {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Read => "read",
            Risk::Write => "write",
            Risk::Destructive => "destructive",
            Risk::Mixed => "mixed",
        }
    }
}

/// Pagination style of a list method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pagination {
    /// Not paginated.
    #[default]
    None,
    /// `start=0,50,100...`
    Offset,
    /// Offset, and keyset (`order ID ASC`, `filter >ID`, `start=-1`).
    Keyset,
}

impl Pagination {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pagination::None => "none",
            Pagination::Offset => "offset",
            Pagination::Keyset => "keyset",
        }
    }
}

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
}

impl MethodSpec {
    /// The docs URL of the method.
    pub fn docs_url(&self) -> String {
        docs_url(&self.docs)
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

// ---------------------------------------------------------------------------------------------
// Raw TOML shapes.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pack: Option<toml::Value>,
    #[serde(default, rename = "enum")]
    enums: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "entity")]
    entities: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "method")]
    methods: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    terms: Vec<String>,
    #[serde(default)]
    events: Vec<RawEvent>,
}

/// An event: its name, or `{ name = "ONCRMDEALADD", docs = "crm/deals/events/on-crm-deal-add.md" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawEvent {
    Name(String),
    Full(RawEventFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventFull {
    name: String,
    docs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnum {
    doc: Option<String>,
    values: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Short(String),
    Long(RawFieldLong),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldLong {
    #[serde(rename = "type")]
    ty: String,
    doc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    doc: Option<String>,
    docs: Option<String>,
    id: Option<String>,
    fields: Option<BTreeMap<String, RawField>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawParam {
    Short(String),
    Long(RawParamLong),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParamLong {
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(default)]
    required: bool,
    doc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    summary: Option<String>,
    docs: Option<String>,
    risk: Option<String>,
    scopes: Option<Vec<String>>,
    idempotent: Option<bool>,
    response: Option<String>,
    v3: Option<String>,
    pagination: Option<String>,
    keyset_field: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    example: Option<String>,
    rust_name: Option<String>,
}

fn clean_toml_error(e: &impl fmt::Display) -> String {
    e.to_string().trim().replace('\n', "\n    ")
}

/// Checks a `docs` path: relative, ends in `.md`, no `..`, no spaces or backslashes.
#[allow(clippy::case_sensitive_file_extension_comparisons)] // the docs repo uses `.md` only
pub fn check_docs_path(docs: &str) -> Result<(), String> {
    if docs.trim().is_empty() {
        return Err("broken docs path: empty".into());
    }
    if docs.starts_with('/') || docs.contains("://") {
        return Err(format!(
            "broken docs path `{docs}`: must be relative to api-reference/ (like `crm/deals/crm-deal-add.md`)"
        ));
    }
    if !docs.ends_with(".md") {
        return Err(format!("broken docs path `{docs}`: must end in `.md`"));
    }
    if docs
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || docs.contains(char::is_whitespace)
        || docs.contains('\\')
    {
        return Err(format!(
            "broken docs path `{docs}`: empty, `.` or `..` segment, space or backslash"
        ));
    }
    Ok(())
}

/// Parses one spec file's text. `file` is the name used in messages (`specs/core.toml`); the pack
/// name must equal its stem.
pub fn parse_spec(file: &str, text: &str) -> Result<Spec, SpecErrors> {
    let mut errs = Vec::new();
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| SpecErrors(vec![SpecError::new(file, None, None, clean_toml_error(&e))]))?;
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();

    // [pack]
    let pack_item = Some("[pack]".to_owned());
    let mut spec = Spec {
        file: file.to_owned(),
        pack: stem.clone(),
        summary: String::new(),
        terms: Vec::new(),
        events: Vec::new(),
        event_docs: BTreeMap::new(),
        enums: BTreeMap::new(),
        entities: BTreeMap::new(),
        methods: BTreeMap::new(),
    };
    match raw.pack.map(toml::Value::try_into::<RawPack>) {
        None => errs.push(SpecError::new(
            file,
            None,
            None,
            "missing the `[pack]` table",
        )),
        Some(Err(e)) => errs.push(SpecError::new(
            file,
            pack_item.clone(),
            None,
            clean_toml_error(&e),
        )),
        Some(Ok(p)) => {
            match p.name {
                Some(n) if n == stem => {}
                Some(n) => errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    format!("pack name `{n}` must equal the file name `{stem}`"),
                )),
                None => errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    "missing",
                )),
            }
            if !PACKS.contains(&stem.as_str()) {
                errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    format!(
                        "unknown pack `{stem}` (expected one of {})",
                        PACKS.join(", ")
                    ),
                ));
            }
            spec.summary = p.summary.unwrap_or_default();
            if spec.summary.trim().is_empty() {
                errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("summary"),
                    "missing or empty",
                ));
            }
            spec.terms = p.terms;
            for ev in p.events {
                let (name, docs) = match ev {
                    RawEvent::Name(n) => (n, None),
                    RawEvent::Full(RawEventFull { name, docs }) => (name, docs),
                };
                if let Some(d) = docs {
                    spec.event_docs.insert(name.clone(), d);
                }
                spec.events.push(name);
            }
            errs.extend(check_events(file, &spec));
        }
    }

    for (name, value) in raw.enums {
        let item = Some(format!("enum `{name}`"));
        if let Err(e) = check_type_name(&name) {
            errs.push(SpecError::new(file, item.clone(), None, e));
        }
        match value.try_into::<RawEnum>() {
            Err(e) => errs.push(SpecError::new(file, item, None, clean_toml_error(&e))),
            Ok(r) => {
                let values = r.values.unwrap_or_default();
                if values.is_empty() {
                    errs.push(SpecError::new(
                        file,
                        item.clone(),
                        Some("values"),
                        "missing or empty",
                    ));
                }
                spec.enums.insert(
                    name,
                    EnumSpec {
                        doc: r.doc.unwrap_or_default(),
                        values: values.into_iter().collect(),
                    },
                );
            }
        }
    }

    for (name, value) in raw.entities {
        let item = Some(format!("entity `{name}`"));
        if let Err(e) = check_type_name(&name) {
            errs.push(SpecError::new(file, item.clone(), None, e));
        }
        match value.try_into::<RawEntity>() {
            Err(e) => errs.push(SpecError::new(file, item, None, clean_toml_error(&e))),
            Ok(r) => {
                if let Some(d) = &r.docs
                    && let Err(e) = check_docs_path(d)
                {
                    errs.push(SpecError::new(file, item.clone(), Some("docs"), e));
                }
                let mut fields = Vec::new();
                for (fname, f) in r.fields.unwrap_or_default() {
                    let (ty, doc) = match f {
                        RawField::Short(t) => (t, None),
                        RawField::Long(RawFieldLong { ty, doc }) => (ty, doc),
                    };
                    match Ty::parse(&ty) {
                        Ok(ty) => fields.push(FieldSpec {
                            name: fname,
                            ty,
                            doc,
                        }),
                        Err(e) => errs.push(SpecError::new(
                            file,
                            item.clone(),
                            Some(&format!("fields.{fname}")),
                            e,
                        )),
                    }
                }
                if let Some(id) = &r.id
                    && !fields.iter().any(|f| &f.name == id)
                    && !errs.iter().any(|e| e.item == item)
                {
                    errs.push(SpecError::new(
                        file,
                        item.clone(),
                        Some("id"),
                        format!("`{id}` is not one of the entity's fields"),
                    ));
                }
                spec.entities.insert(
                    name,
                    EntitySpec {
                        doc: r.doc.unwrap_or_default(),
                        docs: r.docs,
                        id: r.id,
                        fields,
                    },
                );
            }
        }
    }

    for (name, value) in raw.methods {
        match parse_method(file, &name, value) {
            Ok(m) => {
                spec.methods.insert(name, m);
            }
            Err(mut e) => errs.append(&mut e),
        }
    }

    if errs.is_empty() {
        Ok(spec)
    } else {
        Err(SpecErrors(errs))
    }
}

/// The `events` of `[pack]`: names, docs pages, and Rust variant names that are unique.
fn check_events(file: &str, spec: &Spec) -> Vec<SpecError> {
    let item = Some("[pack]".to_owned());
    let err = |msg: String| SpecError::new(file, item.clone(), Some("events"), msg);
    let mut errs = Vec::new();
    let mut wire = BTreeSet::new();
    let mut variants = BTreeMap::new();
    for ev in &spec.events {
        if ev.is_empty()
            || !ev.starts_with(|c: char| c.is_ascii_alphabetic())
            || !ev
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            errs.push(err(format!(
                "event name `{ev}` must be ASCII letters, digits, `_` and `.`"
            )));
            continue;
        }
        if !wire.insert(ev.to_ascii_uppercase()) {
            errs.push(err(format!(
                "event `{ev}` is listed twice (names compare case-insensitively)"
            )));
        }
        let docs = spec.event_docs.get(ev).map(String::as_str);
        if let Some(d) = docs {
            if let Err(e) = check_docs_path(d) {
                errs.push(err(format!("event `{ev}`: {e}")));
                continue;
            }
            if !crate::naming::page_names_event(d, ev) {
                errs.push(err(format!(
                    "event `{ev}`: the docs page `{d}` is not the event's page (its file name \
                     spells another name)"
                )));
                continue;
            }
        }
        match crate::naming::event_variant(ev, docs) {
            Some(v) => {
                if let Some(prev) = variants.insert(v.clone(), ev) {
                    errs.push(err(format!(
                        "events `{prev}` and `{ev}` both become the Rust variant `{v}`"
                    )));
                }
            }
            None => errs.push(err(format!(
                "event `{ev}` runs its words together: write it as \
                 `{{ name = \"{ev}\", docs = \"<path of its docs page>\" }}`; the page's file \
                 name (`on-crm-deal-add.md`) gives the words of the Rust variant"
            ))),
        }
    }
    errs
}

fn parse_method(file: &str, name: &str, value: toml::Value) -> Result<MethodSpec, Vec<SpecError>> {
    let item = Some(format!("method `{name}`"));
    let err = |field: Option<&str>, msg: String| SpecError::new(file, item.clone(), field, msg);
    let mut errs = Vec::new();
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
    {
        errs.push(err(
            None,
            "a method name starts with a letter and is ASCII letters, digits, `_` and single dots"
                .into(),
        ));
    }
    let raw: RawMethod = match value.try_into() {
        Ok(r) => r,
        Err(e) => return Err(vec![err(None, clean_toml_error(&e))]),
    };
    let summary = raw.summary.unwrap_or_default();
    if summary.trim().is_empty() {
        errs.push(err(Some("summary"), "missing or empty".into()));
    }
    let docs = raw.docs.unwrap_or_default();
    if let Err(e) = check_docs_path(&docs) {
        errs.push(err(Some("docs"), e));
    }
    let risk = match raw.risk.as_deref() {
        Some("read") => Some(Risk::Read),
        Some("write") => Some(Risk::Write),
        Some("destructive") => Some(Risk::Destructive),
        Some("mixed") => Some(Risk::Mixed),
        Some(other) => {
            errs.push(err(
                Some("risk"),
                format!(
                    "unknown risk class `{other}` (expected read, write, destructive or mixed)"
                ),
            ));
            None
        }
        None => {
            errs.push(err(
                Some("risk"),
                "missing risk class (read, write, destructive or mixed)".into(),
            ));
            None
        }
    };
    let scopes = match raw.scopes {
        Some(s) => s,
        None => {
            errs.push(err(
                Some("scopes"),
                "missing (use `scopes = []` for global methods)".into(),
            ));
            Vec::new()
        }
    };
    for s in &scopes {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            errs.push(err(Some("scopes"), format!("bad scope name `{s}`")));
        }
    }
    let response = match raw.response.as_deref() {
        None => {
            errs.push(err(Some("response"), "missing".into()));
            None
        }
        Some(r) => match Response::parse(r) {
            Ok(r) => Some(r),
            Err(e) => {
                errs.push(err(Some("response"), e));
                None
            }
        },
    };
    let pagination = match raw.pagination.as_deref() {
        None | Some("none") => Pagination::None,
        Some("offset") => Pagination::Offset,
        Some("keyset") => Pagination::Keyset,
        Some(other) => {
            errs.push(err(
                Some("pagination"),
                format!("unknown pagination `{other}` (expected none, offset or keyset)"),
            ));
            Pagination::None
        }
    };
    if pagination != Pagination::None
        && let Some(r) = &response
        && r.list_item().is_none()
    {
        errs.push(err(
            Some("pagination"),
            format!(
                "`{}` is set but the response `{r}` is not a list",
                pagination.as_str()
            ),
        ));
    }
    if let Some(v3) = &raw.v3
        && (v3.is_empty() || v3.contains(char::is_whitespace) || v3.contains('/'))
    {
        errs.push(err(Some("v3"), format!("bad REST 3.0 name `{v3}`")));
    }
    if let Some(ex) = &raw.example
        && let Err(e) = serde_json::from_str::<serde_json::Value>(ex)
    {
        errs.push(err(Some("example"), format!("not valid JSON: {e}")));
    }
    if let Some(rn) = &raw.rust_name
        && let Err(e) = check_type_name(rn)
    {
        errs.push(err(Some("rust_name"), e));
    }
    let mut params = Vec::new();
    for (pname, pvalue) in raw.params {
        let field = format!("params.{pname}");
        if pname.is_empty() {
            errs.push(err(Some(&field), "empty parameter name".into()));
            continue;
        }
        let p = match pvalue.try_into::<RawParam>() {
            Ok(RawParam::Short(t)) => RawParamLong {
                ty: Some(t),
                required: false,
                doc: None,
            },
            Ok(RawParam::Long(l)) => l,
            Err(e) => {
                errs.push(err(
                    Some(&field),
                    format!(
                        "expected a type string or {{ type = \"...\", required = bool, doc = \"...\" }}: {}",
                        clean_toml_error(&e)
                    ),
                ));
                continue;
            }
        };
        let Some(ty) = p.ty else {
            errs.push(err(Some(&format!("{field}.type")), "missing".into()));
            continue;
        };
        match Ty::parse(&ty) {
            Ok(ty) => params.push(ParamSpec {
                name: pname,
                ty,
                required: p.required,
                doc: p.doc,
            }),
            Err(e) => errs.push(err(Some(&format!("{field}.type")), e)),
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let risk = risk.expect("checked");
    Ok(MethodSpec {
        name: name.to_owned(),
        summary,
        docs,
        risk,
        scopes,
        idempotent: raw.idempotent.unwrap_or(risk == Risk::Read),
        response: response.expect("checked"),
        v3: raw.v3,
        pagination,
        params,
        example: raw.example,
        rust_name: raw.rust_name,
        keyset_field: raw.keyset_field,
    })
}

/// The owner of every entity and enum across a set of specs.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// Entity name -> pack.
    pub entities: BTreeMap<String, String>,
    /// Enum name -> pack.
    pub enums: BTreeMap<String, String>,
}

impl Index {
    /// Builds the index (after [`validate`] passed).
    pub fn new(specs: &[Spec]) -> Index {
        let mut idx = Index::default();
        for s in specs {
            for n in s.entities.keys() {
                idx.entities.insert(n.clone(), s.pack.clone());
            }
            for n in s.enums.keys() {
                idx.enums.insert(n.clone(), s.pack.clone());
            }
        }
        idx
    }

    /// The pack that defines a referenced item.
    pub fn owner(&self, r: &Ref) -> Option<&str> {
        match r {
            Ref::Entity(n) => self.entities.get(n).map(String::as_str),
            Ref::Enum(n) => self.enums.get(n).map(String::as_str),
        }
    }
}

/// Checks the rules that span items and files: duplicates across packs, dangling references,
/// keyset pagination needing an entity with an id, Rust name clashes.
pub fn validate(specs: &[Spec]) -> Result<(), SpecErrors> {
    let mut errs = Vec::new();
    let mut packs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut methods: BTreeMap<String, &str> = BTreeMap::new();
    let mut types: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for s in specs {
        if let Some(prev) = packs.insert(&s.pack, &s.file) {
            errs.push(SpecError::new(
                &s.file,
                None,
                None,
                format!("pack `{}` is also defined in {prev}", s.pack),
            ));
        }
        for name in s.methods.keys() {
            // Method names are case-insensitive on the portal.
            if let Some(prev) = methods.insert(name.to_ascii_lowercase(), &s.file) {
                errs.push(SpecError::new(
                    &s.file,
                    Some(format!("method `{name}`")),
                    None,
                    format!("duplicate method: also defined in {prev}"),
                ));
            }
        }
        for (kind, names) in [
            ("entity", s.entities.keys().collect::<Vec<_>>()),
            ("enum", s.enums.keys().collect::<Vec<_>>()),
        ] {
            for name in names {
                if let Some((pk, pf)) = types.insert(name, (kind, &s.file)) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("{kind} `{name}`")),
                        None,
                        format!("duplicate {kind}: the name is also defined as {pk} in {pf}"),
                    ));
                }
            }
        }
    }
    let idx = Index::new(specs);
    let check_refs = |errs: &mut Vec<SpecError>, s: &Spec, item: &str, field: &str, ty: &Ty| {
        let mut refs = Vec::new();
        ty.refs(&mut refs);
        for r in refs {
            if idx.owner(&r).is_none() {
                let (kind, n) = match &r {
                    Ref::Entity(n) => ("entity", n),
                    Ref::Enum(n) => ("enum", n),
                };
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.to_owned()),
                    Some(field),
                    format!("unknown type `{kind}:{n}`: no {kind} `{n}` is defined in any spec"),
                ));
            }
        }
    };
    for s in specs {
        for (ename, e) in &s.entities {
            let item = format!("entity `{ename}`");
            let mut rust = BTreeMap::new();
            for f in &e.fields {
                check_refs(&mut errs, s, &item, &format!("fields.{}", f.name), &f.ty);
                let ident = crate::naming::field_ident(&f.name);
                if ident == "extra" {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("fields.{}", f.name)),
                        "the Rust name `extra` is reserved for unknown fields",
                    ));
                }
                if let Some(prev) = rust.insert(ident.clone(), &f.name) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("fields.{}", f.name)),
                        format!("Rust name `{ident}` clashes with field `{prev}`"),
                    ));
                }
            }
            if let Some(f) = e.id_field()
                && !matches!(f.ty, Ty::Id | Ty::Int | Ty::String)
            {
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.clone()),
                    Some("id"),
                    format!(
                        "the id field `{}` must be of type id, int or string, not {}",
                        f.name, f.ty
                    ),
                ));
            }
        }
        for (ename, e) in &s.enums {
            let mut rust = BTreeMap::new();
            for (wire, label) in &e.values {
                let v = crate::naming::enum_variant(wire, label);
                if v == "Unknown" {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("enum `{ename}`")),
                        Some(&format!("values.{wire}")),
                        "the variant name `Unknown` is reserved",
                    ));
                }
                if let Some(prev) = rust.insert(v.clone(), wire) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("enum `{ename}`")),
                        Some(&format!("values.{wire}")),
                        format!("variant name `{v}` clashes with value `{prev}`"),
                    ));
                }
            }
        }
        // Rust type names inside the pack module.
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for n in s.entities.keys() {
            names.insert(n.clone(), format!("entity `{n}`"));
        }
        for n in s.enums.keys() {
            names.insert(n.clone(), format!("enum `{n}`"));
        }
        names.insert("Event".into(), "the pack's `Event` enum".into());
        for (mname, m) in &s.methods {
            let item = format!("method `{mname}`");
            for p in &m.params {
                check_refs(&mut errs, s, &item, &format!("params.{}", p.name), &p.ty);
            }
            let mut rust = BTreeMap::new();
            for p in &m.params {
                let ident = crate::naming::field_ident(&p.name);
                if let Some(prev) = rust.insert(ident.clone(), &p.name) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("params.{}", p.name)),
                        format!("Rust name `{ident}` clashes with parameter `{prev}`"),
                    ));
                }
            }
            check_refs(&mut errs, s, &item, "response", m.response.ty());
            if m.pagination != Pagination::None
                && let Some(row) = m.response.list_item()
                && !matches!(row, Ty::Entity(_) | Ty::Enum(_) | Ty::Value)
            {
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.clone()),
                    Some("pagination"),
                    format!(
                        "a paginated method's rows must be an entity, an enum or `value`, not `{row}`"
                    ),
                ));
            }
            if m.pagination == Pagination::Keyset {
                let ok = match m.response.list_item() {
                    Some(Ty::Entity(n)) => specs
                        .iter()
                        .find_map(|s| s.entities.get(n))
                        .is_some_and(|e| e.id_field().is_some()),
                    _ => false,
                };
                if !ok {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some("pagination"),
                        "`keyset` needs a list of an entity whose `id` field is set",
                    ));
                }
                // The walk sets `order` to {ID: ASC} and adds `>ID` to `filter`: both must be
                // objects on the wire.
                for needed in ["order", "filter"] {
                    let object = m
                        .params
                        .iter()
                        .any(|p| p.name.eq_ignore_ascii_case(needed) && matches!(p.ty, Ty::Object));
                    if !object {
                        errs.push(SpecError::new(
                            &s.file,
                            Some(item.clone()),
                            Some("pagination"),
                            format!("`keyset` needs an `{needed}` parameter of type `object`; use `offset`"),
                        ));
                    }
                }
            }
            for p in &m.params {
                // The portal reads the page offset only as lowercase `start`.
                if p.name.eq_ignore_ascii_case("start") && p.name != "start" {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("params.{}", p.name)),
                        "the page offset is read only as lowercase `start`",
                    ));
                }
            }
            let rname = crate::naming::method_struct(m);
            for n in [rname.clone(), format!("{rname}Response")] {
                if let Some(prev) = names.insert(n.clone(), item.clone()) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        None,
                        format!("Rust type name `{n}` clashes with {prev}; set `rust_name`"),
                    ));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(SpecErrors(errs))
    }
}

/// Reads and parses every `*.toml` file of a directory (sorted by name), then [`validate`]s them.
/// `label_dir` is the directory name used in messages (`specs`).
pub fn load_dir(dir: &Path, label_dir: &str) -> Result<Vec<Spec>, SpecErrors> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(SpecErrors(vec![SpecError::new(
                &dir.display().to_string(),
                None,
                None,
                format!("cannot read the spec directory: {e}"),
            )]));
        }
    };
    files.sort();
    let mut specs = Vec::new();
    let mut errs = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let label = format!("{label_dir}/{name}");
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_spec(&label, &text) {
                Ok(s) => specs.push(s),
                Err(mut e) => errs.append(&mut e.0),
            },
            Err(e) => errs.push(SpecError::new(
                &label,
                None,
                None,
                format!("cannot read: {e}"),
            )),
        }
    }
    if !errs.is_empty() {
        return Err(SpecErrors(errs));
    }
    validate(&specs)?;
    specs.sort_by_key(|s| {
        PACKS
            .iter()
            .position(|p| *p == s.pack)
            .unwrap_or(usize::MAX)
    });
    Ok(specs)
}
