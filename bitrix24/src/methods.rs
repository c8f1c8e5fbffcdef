//! Hand-written methods that exercise the client's machinery (single calls, batch,
//! pagination, wrapped lists). Generated, fully typed methods for every pack live in the pack
//! modules; these stay small and untyped in their rows ([`Record`]). Their `NAME`, `RISK`,
//! `IDEMPOTENT` and `SCOPES` come from the method's entry in `specs/` (the catalog), never from
//! a hand-written value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::from_spec;
use crate::method::{Keyset, ListMethod, Method};

/// A row as the portal sent it: every field kept, values as JSON.
pub type Record = Map<String, Value>;

/// Reads an id that may be a number or a numeric string.
pub(crate) fn lenient_id(row: &Record, field: &str) -> Option<u64> {
    match row.get(field)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Keeps a JSON object; anything else is remembered as an error for `validate`.
fn object(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("expected a JSON object, got {other}")),
    }
}

/// A params field that must be a JSON object; an invalid value fails the call in `validate`
/// (before sending) with the field's name.
#[derive(Debug, Clone)]
struct Object(Result<Map<String, Value>, String>);

impl Object {
    fn new(value: Value) -> Self {
        Object(object(value))
    }

    fn check(&self, field: &str) -> Result<(), String> {
        self.0
            .as_ref()
            .map(|_| ())
            .map_err(|e| format!("`{field}`: {e}"))
    }
}

impl Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(map) => map.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// `user.current`: the user the webhook or token acts as.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct UserCurrent;

impl Method for UserCurrent {
    from_spec!("user.current");
    type Response = Record;
}

/// `server.time`: the portal's current time (ISO 8601).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ServerTime;

impl Method for ServerTime {
    from_spec!("server.time");
    type Response = String;
}

/// `crm.deal.add`: creates a deal, returns its id.
#[derive(Debug, Clone, Serialize)]
#[must_use]
pub struct DealAdd {
    fields: Object,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Object>,
}

impl DealAdd {
    /// A deal with these fields (`{"TITLE": "…", "OPPORTUNITY": 1000}`).
    pub fn new(fields: Value) -> Self {
        DealAdd {
            fields: Object::new(fields),
            params: None,
        }
    }

    /// Options such as `{"REGISTER_SONET_EVENT": "N"}`.
    pub fn params(mut self, params: Value) -> Self {
        self.params = Some(Object::new(params));
        self
    }
}

impl Method for DealAdd {
    from_spec!("crm.deal.add");
    type Response = u64;

    fn validate(&self) -> Result<(), String> {
        self.fields.check("fields")?;
        self.params.as_ref().map_or(Ok(()), |p| p.check("params"))
    }
}

/// `crm.deal.get`: one deal by id.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DealGet {
    id: u64,
}

impl DealGet {
    /// The deal with this id.
    pub fn new(id: u64) -> Self {
        DealGet { id }
    }
}

impl Method for DealGet {
    from_spec!("crm.deal.get");
    type Response = Record;
}

/// `crm.deal.update`: changes fields of a deal.
#[derive(Debug, Clone, Serialize)]
#[must_use]
pub struct DealUpdate {
    id: u64,
    fields: Object,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Object>,
}

impl DealUpdate {
    /// Sets `fields` on deal `id`.
    pub fn new(id: u64, fields: Value) -> Self {
        DealUpdate {
            id,
            fields: Object::new(fields),
            params: None,
        }
    }

    /// Options such as `{"REGISTER_SONET_EVENT": "N"}`.
    pub fn params(mut self, params: Value) -> Self {
        self.params = Some(Object::new(params));
        self
    }
}

impl Method for DealUpdate {
    // Not idempotent in the spec: a repeated update adds multi-field values (PHONE, EMAIL)
    // again and fires automation twice.
    from_spec!("crm.deal.update");
    type Response = bool;

    fn validate(&self) -> Result<(), String> {
        self.fields.check("fields")?;
        self.params.as_ref().map_or(Ok(()), |p| p.check("params"))
    }
}

/// `crm.deal.delete`: deletes a deal.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DealDelete {
    id: u64,
}

impl DealDelete {
    /// Deletes deal `id`.
    pub fn new(id: u64) -> Self {
        DealDelete { id }
    }
}

impl Method for DealDelete {
    from_spec!("crm.deal.delete");
    type Response = bool;
}

/// `crm.deal.list`: deals with filter, order and select (50 per page).
#[derive(Debug, Clone, Default, Serialize)]
#[must_use]
pub struct DealList {
    #[serde(skip_serializing_if = "Option::is_none")]
    select: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<Object>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Object>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<i64>,
}

impl DealList {
    /// All deals, default fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fields to return (`*` and `UF_*` allowed).
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Filter (`{">OPPORTUNITY": 1000, "@STAGE_ID": ["NEW", "WON"]}`).
    pub fn filter(mut self, filter: Value) -> Self {
        self.filter = Some(Object::new(filter));
        self
    }

    /// Order (`{"DATE_CREATE": "DESC"}`). Setting it makes streams use offset pages.
    pub fn order(mut self, order: Value) -> Self {
        self.order = Some(Object::new(order));
        self
    }

    /// One page starting at this offset (a single `send`; streams set it themselves).
    pub fn start(mut self, start: i64) -> Self {
        self.start = Some(start);
        self
    }
}

impl Method for DealList {
    from_spec!("crm.deal.list");
    type Response = Vec<Record>;

    fn validate(&self) -> Result<(), String> {
        self.filter.as_ref().map_or(Ok(()), |f| f.check("filter"))?;
        self.order.as_ref().map_or(Ok(()), |o| o.check("order"))
    }
}

impl ListMethod for DealList {
    type Item = Record;
    const KEYSET: Option<Keyset> = Some(Keyset::new("ID", "ID"));

    fn item_id(item: &Record) -> Option<u64> {
        lenient_id(item, "ID")
    }
}

/// The result of `tasks.task.list`: rows wrapped under `tasks`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct TaskListResult {
    /// The tasks of this page.
    #[serde(default)]
    pub tasks: Vec<Record>,
}

/// `tasks.task.list`: tasks (rows wrapped in `result.tasks`).
#[derive(Debug, Clone, Default, Serialize)]
#[must_use]
pub struct TaskList {
    #[serde(skip_serializing_if = "Option::is_none")]
    select: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<Object>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Object>,
}

impl TaskList {
    /// All tasks visible to the caller.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fields to return (upper-case names, `ID`, `TITLE`...).
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Filter (`{"RESPONSIBLE_ID": 1}`).
    pub fn filter(mut self, filter: Value) -> Self {
        self.filter = Some(Object::new(filter));
        self
    }

    /// Order (`{"ID": "desc"}`).
    pub fn order(mut self, order: Value) -> Self {
        self.order = Some(Object::new(order));
        self
    }
}

impl Method for TaskList {
    from_spec!("tasks.task.list");
    type Response = TaskListResult;

    fn validate(&self) -> Result<(), String> {
        self.filter.as_ref().map_or(Ok(()), |f| f.check("filter"))?;
        self.order.as_ref().map_or(Ok(()), |o| o.check("order"))
    }
}

impl ListMethod for TaskList {
    type Item = Record;
    const WRAPPER: Option<&'static str> = Some("tasks");
    const KEYSET: Option<Keyset> = Some(Keyset::new("ID", "id"));

    fn item_id(item: &Record) -> Option<u64> {
        lenient_id(item, "id")
    }
}
