//! In-memory entity stores and the data-driven family registry (`crm.deal`, `tasks.task`, ...).

use crate::clock;
use crate::core::{ApiError, Outcome, as_f64, as_i64, as_str, list_items, param};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

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
    fn type_name(self) -> &'static str {
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
        }
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

    /// Marks a multi-field: multiple, and returned by lists only when selected explicitly.
    #[must_use]
    pub fn multi(mut self) -> Self {
        self.multiple = true;
        self.in_list = false;
        self
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
    /// `tasks.task.*`: numeric-string error codes, `FIELDS_AFTER`/`FIELDS_BEFORE` events, `complete`.
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
    /// Error/event conventions.
    pub flavor: Flavor,
    /// The fields; the first must be the id.
    pub fields: Vec<FieldSpec>,
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

/// A stored value.
#[derive(Debug, Clone)]
pub(crate) enum V {
    Null,
    Int(i64),
    Num(f64),
    Str(std::sync::Arc<str>),
    Time(i64),
    Json(Box<Value>),
}

/// A stored row: one value per family field plus user fields.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    vals: Box<[V]>,
    extra: Vec<(Box<str>, Value)>,
}

/// One store: rows ordered by id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
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
    /// Where the family comes from (`builtin`, `custom`, `specs/commerce.toml`, `crm.type`).
    pub origin: String,
    /// Event names fired per action (`ADD`/`UPDATE`/`DELETE`), from the pack's `events` list;
    /// when empty, `spec.event_prefix` decides.
    pub events: HashMap<&'static str, Vec<String>>,
    /// Serve only these actions (lower case) under the prefix: the documented API has no
    /// generic CRUD (`catalog.catalog` is read-only).
    pub only: Option<Vec<String>>,
    /// Served by hand-written handlers under the documented method names (`disk.*`, `im.*`,
    /// `sonet_group.*`): the prefix is only the store key.
    pub custom: bool,
}

impl Family {
    pub(crate) fn new(spec: EntityFamily) -> Self {
        let mut by_upper = HashMap::new();
        let mut by_camel = HashMap::new();
        for (i, f) in spec.fields.iter().enumerate() {
            by_upper.insert(f.name.to_ascii_uppercase(), i);
            by_camel.insert(f.camel.clone(), i);
        }
        Self {
            camel_in: spec.flavor == Flavor::D7,
            spec,
            by_upper,
            by_camel,
            aliases: HashMap::new(),
            fields_wrapper: None,
            not_found: None,
            origin: String::new(),
            events: HashMap::new(),
            only: None,
            custom: false,
        }
    }

    pub(crate) fn slot(&self, name: &str, camel: bool) -> Option<usize> {
        if camel {
            self.by_camel.get(name).copied()
        } else {
            self.by_upper.get(&name.to_ascii_uppercase()).copied()
        }
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

fn uf_out(name: &str, view: View) -> String {
    match view.keys {
        KeyStyle::Upper => name.to_string(),
        KeyStyle::Camel => {
            if view.crm_item {
                // crm.item: UF_CRM_1721244707107 -> ufCrm_1721244707107
                name.strip_prefix("UF_CRM_")
                    .map_or_else(|| camelize(name), |rest| format!("ufCrm_{rest}"))
            } else {
                camelize(name)
            }
        }
    }
}

fn uf_in(name: &str, view: View) -> Option<String> {
    if view.crm_item {
        if let Some(rest) = name.strip_prefix("ufCrm_") {
            return Some(format!("UF_CRM_{rest}"));
        }
        if name.starts_with("ufCrm") || name.starts_with("UF_") {
            return Some(name.to_string());
        }
        None
    } else if name.to_ascii_uppercase().starts_with("UF_") {
        Some(name.to_ascii_uppercase())
    } else {
        None
    }
}

/// Converts an input JSON value to a stored value of type `ty`.
fn to_v(ty: FieldType, v: &Value) -> V {
    if v.is_null() {
        return V::Null;
    }
    match ty {
        FieldType::Id | FieldType::Int => match as_i64(v) {
            Some(n) => V::Int(n),
            None => match v {
                Value::String(s) if s.trim().is_empty() => V::Null,
                Value::String(s) => V::Str(s.as_str().into()),
                _ => V::Json(Box::new(v.clone())),
            },
        },
        FieldType::Money | FieldType::Float => match as_f64(v) {
            Some(n) => V::Num(n),
            None => match v {
                Value::String(s) if s.trim().is_empty() => V::Null,
                _ => as_str(v).map_or(V::Null, |s| V::Str(s.into())),
            },
        },
        FieldType::String => {
            as_str(v).map_or_else(|| V::Json(Box::new(v.clone())), |s| V::Str(s.into()))
        }
        FieldType::Char => {
            let yes = match v {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => {
                    let s = s.trim().to_ascii_uppercase();
                    s == "Y" || s == "1" || s == "TRUE"
                }
                _ => false,
            };
            V::Str(if yes { "Y" } else { "N" }.into())
        }
        FieldType::Date => match to_v(FieldType::DateTime, v) {
            V::Time(t) => V::Time(t - t.rem_euclid(86_400)),
            other => other,
        },
        FieldType::DateTime => match v {
            Value::String(s) if s.trim().is_empty() => V::Null,
            Value::String(s) => {
                clock::parse_datetime(s).map_or_else(|| V::Str(s.as_str().into()), V::Time)
            }
            Value::Number(n) => n.as_i64().map_or(V::Null, V::Time),
            _ => V::Null,
        },
        FieldType::Json => V::Json(Box::new(v.clone())),
    }
}

fn render_v(ty: FieldType, v: &V, numbers: NumberStyle) -> Value {
    match v {
        V::Null => Value::Null,
        V::Int(n) => match numbers {
            NumberStyle::String => Value::String(n.to_string()),
            NumberStyle::Native => json!(n),
        },
        V::Num(f) => match (numbers, ty) {
            (NumberStyle::String, FieldType::Money) => Value::String(format!("{f:.2}")),
            (NumberStyle::String, _) => Value::String(fmt_float(*f)),
            (NumberStyle::Native, _) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    json!(*f as i64)
                } else {
                    json!(f)
                }
            }
        },
        V::Str(s) => Value::String(s.to_string()),
        V::Time(t) => Value::String(clock::iso(*t as f64)),
        V::Json(j) => (**j).clone(),
    }
}

fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn cmp_v(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (V::Int(x), V::Int(y)) | (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Int(x), V::Num(y)) => (*x as f64).partial_cmp(y),
        (V::Num(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
        (V::Num(x), V::Num(y)) => x.partial_cmp(y),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Json(x), V::Json(y)) => Some(x.to_string().cmp(&y.to_string())),
        (V::Null, V::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn sort_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Less,
        (_, V::Null) => Ordering::Greater,
        _ => cmp_v(a, b).unwrap_or_else(|| v_text(a).cmp(&v_text(b))),
    }
}

fn v_text(v: &V) -> String {
    match v {
        V::Null => String::new(),
        V::Int(n) | V::Time(n) => n.to_string(),
        V::Num(f) => fmt_float(*f),
        V::Str(s) => s.to_string(),
        V::Json(j) => match &**j {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    NotLike,
    In,
    NotIn,
    LikeRaw,
}

#[derive(Debug)]
enum FieldRef {
    Slot(usize),
    Extra(String),
}

#[derive(Debug)]
struct Cond {
    field: FieldRef,
    op: Op,
    vals: Vec<V>,
    raw: Vec<String>,
}

fn split_op(key: &str) -> (Op, &str) {
    const OPS: [(&str, Op); 14] = [
        ("!@", Op::NotIn),
        ("!=%", Op::NotLike),
        ("!%=", Op::NotLike),
        ("!%", Op::NotLike),
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=%", Op::LikeRaw),
        ("%=", Op::LikeRaw),
        ("@", Op::In),
        ("!", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("%", Op::Like),
    ];
    for (p, op) in OPS {
        if let Some(rest) = key.strip_prefix(p) {
            return (op, rest);
        }
    }
    if let Some(rest) = key.strip_prefix('=') {
        return (Op::Eq, rest);
    }
    (Op::Eq, key)
}

fn like(hay: &str, pat: &str) -> bool {
    // SQL LIKE with % and _ wildcards, case-insensitive.
    let h: Vec<char> = hay.to_lowercase().chars().collect();
    let p: Vec<char> = pat.to_lowercase().chars().collect();
    let (mut hi, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while hi < h.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == h[hi]) {
            hi += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = hi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            hi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

impl Cond {
    fn get<'r>(&self, row: &'r Row) -> Option<std::borrow::Cow<'r, V>> {
        match &self.field {
            FieldRef::Slot(i) => row.vals.get(*i).map(std::borrow::Cow::Borrowed),
            FieldRef::Extra(name) => Some(std::borrow::Cow::Owned(
                row.extra
                    .iter()
                    .find(|(k, _)| &**k == name.as_str())
                    .map_or(V::Null, |(_, v)| match v {
                        Value::Null => V::Null,
                        Value::String(s) => V::Str(s.as_str().into()),
                        Value::Number(n) => n
                            .as_i64()
                            .map_or_else(|| V::Num(n.as_f64().unwrap_or(0.0)), V::Int),
                        other => V::Json(Box::new(other.clone())),
                    }),
            )),
        }
    }

    fn matches(&self, row: &Row) -> bool {
        let Some(v) = self.get(row) else { return false };
        let v = &*v;
        let eq = |x: &V| -> bool {
            match x {
                V::Str(s) if s.is_empty() => {
                    matches!(v, V::Null) || matches!(v, V::Str(t) if t.is_empty())
                }
                _ => {
                    cmp_v(v, x) == Some(Ordering::Equal)
                        || (!matches!(v, V::Null) && v_text(v) == v_text(x))
                }
            }
        };
        match self.op {
            Op::Eq | Op::In => self.vals.iter().any(eq),
            Op::Ne | Op::NotIn => !self.vals.iter().any(eq),
            Op::Gt | Op::Ge | Op::Lt | Op::Le => self.vals.first().is_some_and(|x| {
                cmp_v(v, x).is_some_and(|o| match self.op {
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                    Op::Lt => o == Ordering::Less,
                    _ => o != Ordering::Greater,
                })
            }),
            Op::Like => {
                let t = v_text(v).to_lowercase();
                self.raw.iter().any(|r| t.contains(&r.to_lowercase()))
            }
            Op::LikeRaw => {
                let t = v_text(v);
                self.raw.iter().any(|r| like(&t, r))
            }
            Op::NotLike => {
                let t = v_text(v).to_lowercase();
                !self.raw.iter().any(|r| {
                    if r.contains('%') {
                        like(&t, r)
                    } else {
                        t.contains(&r.to_lowercase())
                    }
                })
            }
        }
    }
}

/// The parsed list request.
pub(crate) struct ListQuery {
    conds: Vec<Cond>,
    order: Vec<(FieldRef, bool)>,
    pub select: Selection,
}

/// Which fields a response includes.
pub(crate) struct Selection {
    slots: Vec<usize>,
    all_uf: bool,
    uf: Vec<String>,
}

impl Selection {
    fn all(fam: &Family, list: bool) -> Self {
        Self {
            slots: (0..fam.spec.fields.len())
                .filter(|&i| !list || fam.spec.fields[i].in_list)
                .collect(),
            all_uf: !list,
            uf: Vec::new(),
        }
    }
}

fn parse_select(fam: &Family, view: View, v: Option<&Value>, list: bool) -> Selection {
    let items: Vec<String> = v
        .map(list_items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(as_str)
        .collect();
    if items.is_empty() {
        return Selection::all(fam, list);
    }
    let mut sel = Selection {
        slots: vec![0],
        all_uf: false,
        uf: Vec::new(),
    };
    for it in items {
        if it == "*" {
            for i in 0..fam.spec.fields.len() {
                if fam.spec.fields[i].in_list && !sel.slots.contains(&i) {
                    sel.slots.push(i);
                }
            }
        } else if it.eq_ignore_ascii_case("UF_*") || it == "uf*" {
            sel.all_uf = true;
        } else if let Some(i) = fam.slot(&it, view.camel_in) {
            if !sel.slots.contains(&i) {
                sel.slots.push(i);
            }
        } else if let Some(uf) = uf_in(&it, view) {
            sel.uf.push(uf);
        }
    }
    sel.slots.sort_unstable();
    sel
}

fn field_ref(fam: &Family, view: View, name: &str) -> Option<FieldRef> {
    fam.slot(name, view.camel_in)
        .map(FieldRef::Slot)
        .or_else(|| uf_in(name, view).map(FieldRef::Extra))
}

impl ListQuery {
    pub(crate) fn parse(
        fam: &Family,
        view: View,
        params: &Map<String, Value>,
        camel_params: bool,
    ) -> Result<Self, ApiError> {
        let get = |n: &str| {
            if camel_params {
                params.get(n)
            } else {
                param(params, n)
            }
        };
        let select = parse_select(fam, view, get("select"), true);
        let mut conds = Vec::new();
        match get("filter") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let (op, name) = split_op(k);
                    let Some(field) = field_ref(fam, view, name) else {
                        if view.crm_item {
                            return Err(ApiError::new(
                                400,
                                "INVALID_ARG_VALUE",
                                format!("Invalid filter: field '{name}' is not allowed in filter"),
                            ));
                        }
                        continue;
                    };
                    let ty = match field {
                        FieldRef::Slot(i) => fam.spec.fields[i].ty,
                        FieldRef::Extra(_) => FieldType::String,
                    };
                    let items: Vec<&Value> = match v {
                        Value::Array(_) | Value::Object(_) => list_items(v),
                        other => vec![other],
                    };
                    let op = match (op, v) {
                        (Op::Eq, Value::Array(_) | Value::Object(_)) => Op::In,
                        (Op::Ne, Value::Array(_) | Value::Object(_)) => Op::NotIn,
                        (o, _) => o,
                    };
                    let vals = items
                        .iter()
                        .map(|x| match (ty, x) {
                            (_, Value::String(s)) if s.is_empty() => V::Str("".into()),
                            (FieldType::Json, other) => {
                                as_str(other).map_or(V::Null, |s| V::Str(s.into()))
                            }
                            _ => to_v(ty, x),
                        })
                        .collect();
                    let raw = items.iter().filter_map(|x| as_str(x)).collect();
                    conds.push(Cond {
                        field,
                        op,
                        vals,
                        raw,
                    });
                }
            }
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(_) => {
                return Err(if fam.spec.flavor == Flavor::LegacyCrm && !view.camel_in {
                    ApiError::crm("Parameter 'filter' must be array.")
                } else {
                    ApiError::new(400, "INVALID_ARG_VALUE", "Invalid filter")
                });
            }
        }
        let mut order = Vec::new();
        if let Some(Value::Object(m)) = get("order") {
            for (k, v) in m {
                let Some(f) = field_ref(fam, view, k) else {
                    if fam.spec.flavor == Flavor::Tasks {
                        return Err(ApiError::new(
                            400,
                            "0",
                            "Invalid sorting key (internal error)",
                        ));
                    }
                    continue;
                };
                let desc = as_str(v).is_some_and(|s| s.eq_ignore_ascii_case("desc"));
                order.push((f, desc));
            }
        }
        if order.is_empty() && fam.spec.default_desc {
            order.push((FieldRef::Slot(0), true));
        }
        Ok(Self {
            conds,
            order,
            select,
        })
    }
}

/// A list page.
pub(crate) struct Page {
    pub rows: Vec<Value>,
    pub total: Option<i64>,
    pub next: Option<i64>,
}

impl Store {
    /// Runs a list query. `start = -1` skips counting.
    pub(crate) fn list(
        &self,
        fam: &Family,
        view: View,
        q: &ListQuery,
        start: i64,
        page: usize,
    ) -> Page {
        let count = start != -1;
        let start = if start < 0 { 0 } else { (start / 50) * 50 } as usize;
        // Narrow the id range from conditions on the id.
        let (mut lo, mut hi) = (i64::MIN, i64::MAX);
        for c in &q.conds {
            if let (FieldRef::Slot(0), Some(V::Int(n))) = (&c.field, c.vals.first()) {
                match c.op {
                    Op::Gt => lo = lo.max(n.saturating_add(1)),
                    Op::Ge => lo = lo.max(*n),
                    Op::Lt => hi = hi.min(n.saturating_sub(1)),
                    Op::Le => hi = hi.min(*n),
                    Op::Eq if c.vals.len() == 1 => {
                        lo = lo.max(*n);
                        hi = hi.min(*n);
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        let mut total = 0usize;
        if lo > hi {
            return Page {
                rows: out,
                total: count.then_some(0),
                next: None,
            };
        }
        let matches = |r: &Row| q.conds.iter().all(|c| c.matches(r));
        let by_id_only =
            q.order.is_empty() || (q.order.len() == 1 && matches!(q.order[0].0, FieldRef::Slot(0)));
        if by_id_only {
            let desc = q.order.first().is_some_and(|o| o.1);
            let range = self.rows.range(lo..=hi);
            let iter: Box<dyn Iterator<Item = (&i64, &Row)>> = if desc {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            for (id, row) in iter {
                if !matches(row) {
                    continue;
                }
                if total >= start && out.len() < page {
                    out.push(self.render(fam, view, *id, row, &q.select));
                }
                total += 1;
                if !count && out.len() >= page {
                    break;
                }
            }
        } else {
            let mut hits: Vec<(i64, &Row)> = self
                .rows
                .range(lo..=hi)
                .filter(|(_, r)| matches(r))
                .map(|(i, r)| (*i, r))
                .collect();
            let key = |r: &Row, f: &FieldRef| -> V {
                match f {
                    FieldRef::Slot(i) => r.vals[*i].clone(),
                    FieldRef::Extra(n) => r
                        .extra
                        .iter()
                        .find(|(k, _)| &**k == n.as_str())
                        .map_or(V::Null, |(_, v)| {
                            V::Str(as_str(v).unwrap_or_default().into())
                        }),
                }
            };
            hits.sort_by(|a, b| {
                for (f, desc) in &q.order {
                    let o = sort_cmp(&key(a.1, f), &key(b.1, f));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.0.cmp(&b.0)
            });
            total = hits.len();
            out = hits
                .iter()
                .skip(start)
                .take(page)
                .map(|(id, r)| self.render(fam, view, *id, r, &q.select))
                .collect();
        }
        let (total_out, next) = if count {
            let next =
                (start + out.len() < total && !out.is_empty()).then(|| (start + page) as i64);
            (Some(total as i64), next)
        } else {
            (None, None)
        };
        Page {
            rows: out,
            total: total_out,
            next,
        }
    }

    #[allow(clippy::unused_self)]
    fn render(&self, fam: &Family, view: View, _id: i64, row: &Row, sel: &Selection) -> Value {
        let mut m = Map::with_capacity(sel.slots.len() + sel.uf.len());
        for &i in &sel.slots {
            let f = &fam.spec.fields[i];
            let key = match view.keys {
                KeyStyle::Upper => f.name.clone(),
                KeyStyle::Camel => f.camel.clone(),
            };
            m.insert(key, render_v(f.ty, &row.vals[i], view.numbers));
        }
        for (k, v) in &row.extra {
            if sel.all_uf || sel.uf.iter().any(|u| u.as_str() == &**k) {
                m.insert(uf_out(k, view), v.clone());
            }
        }
        Value::Object(m)
    }

    pub(crate) fn render_full(&self, fam: &Family, view: View, id: i64) -> Option<Value> {
        let row = self.rows.get(&id)?;
        Some(self.render(fam, view, id, row, &Selection::all(fam, false)))
    }

    pub(crate) fn render_sel(
        &self,
        fam: &Family,
        view: View,
        id: i64,
        sel: Option<&Value>,
    ) -> Option<Value> {
        let row = self.rows.get(&id)?;
        let s = parse_select(fam, view, sel, false);
        Some(self.render(fam, view, id, row, &s))
    }

    /// Applies input fields to a row (add or update).
    fn apply(fam: &Family, view: View, row: &mut Row, fields: &Map<String, Value>, adding: bool) {
        for (k, v) in fields {
            if let Some(i) = fam.slot(k, view.camel_in) {
                let f = &fam.spec.fields[i];
                if f.read_only || i == 0 {
                    continue;
                }
                let mut v = v.clone();
                if f.multiple && f.ty == FieldType::Json {
                    v = merge_multifield(&f.name, &row.vals[i], &v, adding);
                }
                row.vals[i] = to_v(f.ty, &v);
            } else if let Some(uf) = uf_in(k, view) {
                if let Some(e) = row.extra.iter_mut().find(|(n, _)| **n == *uf) {
                    e.1 = v.clone();
                } else {
                    row.extra.push((uf.into(), v.clone()));
                }
            }
        }
    }

    /// `add`: validates required fields and stores a new row; returns its id.
    pub(crate) fn add(
        &mut self,
        fam: &Family,
        view: View,
        fields: &Map<String, Value>,
        user: u64,
        now: f64,
    ) -> Result<i64, ApiError> {
        for f in &fam.spec.fields {
            if f.required {
                let given = fields
                    .iter()
                    .find(|(k, _)| {
                        fam.slot(k, view.camel_in)
                            .is_some_and(|i| fam.spec.fields[i].name == f.name)
                    })
                    .map(|(_, v)| v);
                let empty = given
                    .is_none_or(|v| v.is_null() || as_str(v).is_some_and(|s| s.trim().is_empty()));
                if empty {
                    return Err(match fam.spec.flavor {
                        Flavor::Tasks => ApiError::new(
                            400,
                            "ERROR_CORE",
                            format!("{} is not specified<br>", f.title),
                        ),
                        Flavor::LegacyCrm => {
                            ApiError::crm(&format!("The field \"{}\" is required.", f.title))
                        }
                        Flavor::D7 => ApiError::new(
                            400,
                            "100",
                            format!("Could not find value for parameter {{{}}}", f.camel),
                        ),
                    });
                }
            }
        }
        let mut row = Row {
            vals: fam
                .spec
                .fields
                .iter()
                .map(|f| match &f.default {
                    None => V::Null,
                    Some(FieldDefault::Now) => to_v(f.ty, &json!(now as i64)),
                    Some(FieldDefault::Caller) => V::Int(user as i64),
                    Some(FieldDefault::Value(v)) => to_v(f.ty, v),
                })
                .collect(),
            extra: Vec::new(),
        };
        Self::apply(fam, view, &mut row, fields, true);
        self.next_id = self
            .next_id
            .max(self.rows.keys().next_back().copied().unwrap_or(0))
            + 1;
        let id = self.next_id;
        row.vals[0] = V::Int(id);
        self.rows.insert(id, row);
        Ok(id)
    }

    /// `update`: returns false when the row does not exist.
    pub(crate) fn update(
        &mut self,
        fam: &Family,
        view: View,
        id: i64,
        fields: &Map<String, Value>,
        user: u64,
        now: f64,
    ) -> bool {
        let Some(row) = self.rows.get_mut(&id) else {
            return false;
        };
        Self::apply(fam, view, row, fields, false);
        for (i, f) in fam.spec.fields.iter().enumerate() {
            let n = f.name.as_str();
            if matches!(n, "DATE_MODIFY" | "CHANGED_DATE") {
                row.vals[i] = V::Time(now as i64);
            } else if matches!(n, "MODIFY_BY_ID" | "CHANGED_BY") {
                row.vals[i] = V::Int(user as i64);
            }
        }
        true
    }

    /// Sets one field by UPPER name.
    pub(crate) fn set(&mut self, fam: &Family, id: i64, name: &str, v: &Value) {
        if let (Some(row), Some(i)) = (self.rows.get_mut(&id), fam.slot(name, false)) {
            row.vals[i] = to_v(fam.spec.fields[i].ty, v);
        }
    }

    /// Seeds `n` synthetic rows (no events) using `make(id)` for field values.
    pub(crate) fn seed(
        &mut self,
        fam: &Family,
        n: u64,
        now: f64,
        mut make: impl FnMut(i64, &mut Vec<(usize, V)>),
    ) {
        let base = self
            .rows
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .max(self.next_id);
        let mut buf = Vec::new();
        // Shared defaults: string values are reference-counted, so rows share them.
        let defaults: Vec<V> = fam
            .spec
            .fields
            .iter()
            .map(|f| match &f.default {
                None | Some(FieldDefault::Now) => V::Null,
                Some(FieldDefault::Caller) => V::Int(1),
                Some(FieldDefault::Value(v)) => to_v(f.ty, v),
            })
            .collect();
        let now_slots: Vec<(usize, FieldType)> = fam
            .spec
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.default, Some(FieldDefault::Now)))
            .map(|(i, f)| (i, f.ty))
            .collect();
        for k in 1..=n as i64 {
            let id = base + k;
            let mut vals = defaults.clone();
            for &(i, ty) in &now_slots {
                vals[i] = to_v(ty, &json!(now as i64 - (n as i64 - k)));
            }
            vals[0] = V::Int(id);
            buf.clear();
            make(id, &mut buf);
            for (i, v) in buf.drain(..) {
                if i < vals.len() {
                    vals[i] = v;
                }
            }
            self.rows.insert(
                id,
                Row {
                    vals: vals.into_boxed_slice(),
                    extra: Vec::new(),
                },
            );
        }
        self.next_id = base + n as i64;
    }
}

fn merge_multifield(name: &str, old: &V, new: &Value, adding: bool) -> Value {
    // Legacy multi-fields: list of {VALUE, VALUE_TYPE}; stored with ID and TYPE_ID.
    let mut items: Vec<Value> = match (old, adding) {
        (V::Json(j), false) => match &**j {
            Value::Array(a) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut next = items
        .iter()
        .filter_map(|i| i.get("ID").and_then(as_i64))
        .max()
        .unwrap_or(0);
    for it in list_items(new) {
        let Value::Object(o) = it else { continue };
        let value = o.get("VALUE").cloned().unwrap_or(Value::Null);
        let vtype = o
            .get("VALUE_TYPE")
            .cloned()
            .unwrap_or_else(|| json!("WORK"));
        if let Some(id) = o.get("ID").and_then(as_i64) {
            if let Some(pos) = items
                .iter()
                .position(|i| i.get("ID").and_then(as_i64) == Some(id))
            {
                if as_str(&value).is_none_or(|s| s.is_empty()) {
                    items.remove(pos);
                } else {
                    items[pos]["VALUE"] = value;
                    items[pos]["VALUE_TYPE"] = vtype;
                }
            }
            continue;
        }
        if as_str(&value).is_none_or(|s| s.is_empty()) {
            continue;
        }
        next += 1;
        items.push(
            json!({"ID": next.to_string(), "VALUE_TYPE": vtype, "VALUE": value, "TYPE_ID": name}),
        );
    }
    Value::Array(items)
}

/// `*.fields` metadata map.
pub(crate) fn fields_meta(fam: &Family, view: View) -> Value {
    // D7 controllers (`sale.order.getFields`) describe a field with four keys only.
    let short = fam.spec.flavor == Flavor::D7 && !view.crm_item;
    let mut m = Map::new();
    for f in &fam.spec.fields {
        let mut d = Map::new();
        d.insert(
            "type".into(),
            json!(if f.status_type.is_some() {
                "crm_status"
            } else if f.multiple && f.ty == FieldType::Json {
                "crm_multifield"
            } else {
                f.ty.type_name()
            }),
        );
        d.insert("isRequired".into(), json!(f.required));
        d.insert("isReadOnly".into(), json!(f.read_only));
        d.insert("isImmutable".into(), json!(false));
        if !short {
            d.insert("isMultiple".into(), json!(f.multiple));
            d.insert("isDynamic".into(), json!(false));
            d.insert("title".into(), json!(f.title));
        }
        if let Some(st) = &f.status_type {
            d.insert("statusType".into(), json!(st));
        }
        if view.keys == KeyStyle::Camel && view.crm_item {
            d.insert("upperName".into(), json!(f.name));
        }
        if view.keys == KeyStyle::Camel && (view.crm_item || view.camel_in) {
            m.insert(f.camel.clone(), Value::Object(d));
        } else {
            m.insert(f.name.clone(), Value::Object(d));
        }
    }
    Value::Object(m)
}

/// Wraps a value into a family shape.
pub(crate) fn shape(s: &Shape, id: i64, row: impl FnOnce() -> Value) -> Value {
    match s {
        Shape::BareId => json!(id),
        Shape::True => Value::Bool(true),
        Shape::EmptyArray => Value::Array(Vec::new()),
        Shape::Row => row(),
        Shape::Wrapped(k, inner) => {
            let mut m = Map::new();
            m.insert(k.clone(), shape(inner, id, row));
            Value::Object(m)
        }
    }
}

/// Builds a list outcome in the family's wrapper.
pub(crate) fn list_outcome(page: Page, wrapper: Option<&str>) -> Outcome {
    let rows = Value::Array(page.rows);
    let result = match wrapper {
        Some(w) => {
            let mut m = Map::new();
            m.insert(w.to_string(), rows);
            Value::Object(m)
        }
        None => rows,
    };
    Outcome {
        result,
        total: page.total,
        next: page.next,
    }
}

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

/// One condition of a filter over plain JSON rows (`user.get`): `[op]FIELD => value`.
pub(crate) struct JsonCond {
    /// The field name (upper case).
    pub field: String,
    op: Op,
    want: Vec<Value>,
}

impl JsonCond {
    /// Parses `key` (with its operator prefix) and the wanted value(s).
    pub(crate) fn new(key: &str, want: &Value) -> Self {
        let (op, name) = split_op(key);
        let vals: Vec<Value> = match want {
            Value::Array(_) | Value::Object(_) => list_items(want).into_iter().cloned().collect(),
            other => vec![other.clone()],
        };
        let op = match (op, want) {
            (Op::Eq, Value::Array(_) | Value::Object(_)) => Op::In,
            (Op::Ne, Value::Array(_) | Value::Object(_)) => Op::NotIn,
            (o, _) => o,
        };
        Self {
            field: name.to_ascii_uppercase(),
            op,
            want: vals,
        }
    }

    /// The first wanted value.
    pub(crate) fn wanted(&self) -> Option<&Value> {
        self.want.first()
    }

    /// Whether `have` (the row's value of the field) satisfies the condition.
    pub(crate) fn matches(&self, have: &Value) -> bool {
        let haves: Vec<&Value> = match have {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let any = |f: &dyn Fn(&Value, &Value) -> bool| {
            haves.iter().any(|h| self.want.iter().any(|w| f(h, w)))
        };
        match self.op {
            Op::Eq | Op::In => any(&|h, w| json_cmp(h, w) == Some(Ordering::Equal)),
            Op::Ne | Op::NotIn => !any(&|h, w| json_cmp(h, w) == Some(Ordering::Equal)),
            Op::Gt => any(&|h, w| json_cmp(h, w) == Some(Ordering::Greater)),
            Op::Ge => any(&|h, w| json_cmp(h, w).is_some_and(Ordering::is_ge)),
            Op::Lt => any(&|h, w| json_cmp(h, w) == Some(Ordering::Less)),
            Op::Le => any(&|h, w| json_cmp(h, w).is_some_and(Ordering::is_le)),
            Op::Like => any(&|h, w| {
                json_text(h)
                    .to_lowercase()
                    .contains(&json_text(w).to_lowercase())
            }),
            Op::LikeRaw => any(&|h, w| like(&json_text(h), &json_text(w))),
            Op::NotLike => !any(&|h, w| {
                let (t, p) = (json_text(h), json_text(w));
                if p.contains('%') {
                    like(&t, &p)
                } else {
                    t.to_lowercase().contains(&p.to_lowercase())
                }
            }),
        }
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::Bool(true) => "Y".into(),
        Value::Bool(false) => "N".into(),
        other => as_str(other).unwrap_or_default(),
    }
}

/// Compares two plain JSON values the way a SQL filter would: numbers as numbers, dates as
/// dates, flags `true`/`Y`/`1`, everything else as case-insensitive text.
pub(crate) fn json_cmp(have: &Value, want: &Value) -> Option<Ordering> {
    if let Value::Bool(b) = have {
        let w = json_text(want).to_ascii_uppercase();
        let wb = matches!(w.as_str(), "Y" | "1" | "TRUE");
        return Some(b.cmp(&wb));
    }
    if have.is_null() {
        return if json_text(want).is_empty() {
            Some(Ordering::Equal)
        } else {
            None
        };
    }
    if let (Some(a), Some(b)) = (as_f64(have), as_f64(want)) {
        return a.partial_cmp(&b);
    }
    let (ht, wt) = (json_text(have), json_text(want));
    if let (Some(a), Some(b)) = (clock::parse_datetime(&ht), clock::parse_datetime(&wt)) {
        return Some(a.cmp(&b));
    }
    Some(ht.to_lowercase().cmp(&wt.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel() {
        assert_eq!(camelize("ASSIGNED_BY_ID"), "assignedById");
        assert_eq!(camelize("UF_CRM_TASK"), "ufCrmTask");
        assert!(like("Hello World", "%lo w%"));
        assert!(!like("Hello", "x%"));
    }
}
