//! Field and parameter types, response shapes, risk classes and pagination styles, as a spec
//! writes them.

use std::fmt;

/// A field or parameter type (the "Types" table of `specs/README.md`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// `string`
    String,
    /// A string that must not show itself (`secret`: passwords, tokens): `bitrix24::Secret`.
    Secret,
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
            "secret" => Some(Ty::Secret),
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
            "unknown type `{s}` (expected string, secret, int, id, float, decimal, bool, date, datetime, \
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
            Ty::Secret => f.write_str("secret"),
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

pub(super) fn check_type_name(name: &str) -> Result<(), String> {
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

    /// The type the shape holds (the entity of `list:Deal`, the element of `map:string`...).
    pub fn ty(&self) -> &Ty {
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

pub use crate::risk::Risk;

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
    /// REST 3.0 cursor: `pagination.afterCursor` set to the `nextCursor` of the previous page.
    Cursor,
}

impl Pagination {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pagination::None => "none",
            Pagination::Offset => "offset",
            Pagination::Keyset => "keyset",
            Pagination::Cursor => "cursor",
        }
    }
}
