//! The arguments of the `b24 mcp` tools: one declaration per tool gives both its JSON Schema
//! (what `tools/list` shows) and the strict check of what a client sends (unknown names,
//! wrong types and missing arguments are refused before anything runs).

use bitrix24::error::json_kind;
use serde_json::{Map, Value, json};

/// The JSON type of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`.
    Int {
        /// The smallest value taken.
        min: i64,
        /// The largest value taken.
        max: i64,
    },
    /// A JSON object.
    Object,
    /// An array of strings.
    StrList,
}

/// One argument of a tool.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// The name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether the tool needs it.
    pub required: bool,
    /// What it is, for the schema.
    pub doc: &'static str,
}

impl Arg {
    /// An optional argument.
    pub const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Arg {
            name,
            kind,
            required: false,
            doc,
        }
    }

    /// A required argument.
    pub const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Arg {
            name,
            kind,
            required: true,
            doc,
        }
    }

    fn schema(&self) -> Value {
        let mut s = match self.kind {
            Kind::Str => json!({"type": "string"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Kind::Object => json!({"type": "object"}),
            Kind::StrList => json!({"type": "array", "items": {"type": "string"}}),
        };
        s["description"] = json!(self.doc);
        s
    }

    fn check(&self, v: &Value) -> Result<(), String> {
        let ok = match self.kind {
            Kind::Str => v.is_string(),
            Kind::Bool => v.is_boolean(),
            Kind::Int { min, max } => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => true,
                Some(n) => {
                    return Err(format!(
                        "`{}` is {n}; it must be in {min}..={max}",
                        self.name
                    ));
                }
                None => false,
            },
            Kind::Object => v.is_object(),
            Kind::StrList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{}` must be {}, got {}",
                self.name,
                self.kind.noun(),
                json_kind(v)
            ))
        }
    }
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Bool => "true or false",
            Kind::Int { .. } => "an integer",
            Kind::Object => "a JSON object",
            Kind::StrList => "an array of strings",
        }
    }
}

/// The JSON Schema of a tool's arguments (no other property allowed).
pub fn schema(args: &[Arg]) -> Map<String, Value> {
    let props: Map<String, Value> = args
        .iter()
        .map(|a| (a.name.to_owned(), a.schema()))
        .collect();
    let required: Vec<&str> = args.iter().filter(|a| a.required).map(|a| a.name).collect();
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    m.insert("properties".into(), Value::Object(props));
    m.insert("required".into(), json!(required));
    m.insert("additionalProperties".into(), json!(false));
    m
}

/// Checks what a client sent against the declaration: every name known, every type right,
/// every required argument there. The message names the argument.
pub fn check(tool: &str, args: &[Arg], given: &Map<String, Value>) -> Result<(), String> {
    for (name, v) in given {
        let Some(a) = args.iter().find(|a| a.name == name) else {
            let known: Vec<&str> = args.iter().map(|a| a.name).collect();
            return Err(format!(
                "{tool}: unknown argument `{name}` (arguments: {})",
                known.join(", ")
            ));
        };
        a.check(v).map_err(|e| format!("{tool}: {e}"))?;
    }
    if let Some(a) = args
        .iter()
        .find(|a| a.required && !given.contains_key(a.name))
    {
        return Err(format!("{tool}: missing argument `{}`", a.name));
    }
    Ok(())
}

/// Typed access to checked arguments.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a>(pub &'a Map<String, Value>);

impl<'a> Given<'a> {
    /// A string argument (empty when absent).
    pub fn str(self, name: &str) -> &'a str {
        self.0.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// A boolean argument (`false` when absent).
    pub fn flag(self, name: &str) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// An integer argument, or `default`.
    pub fn int(self, name: &str, default: i64) -> i64 {
        self.0.get(name).and_then(Value::as_i64).unwrap_or(default)
    }

    /// An object argument (`{}` when absent).
    pub fn object(self, name: &str) -> Value {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// A string-list argument.
    pub fn strings(self, name: &str) -> Vec<&'a str> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGS: &[Arg] = &[
        Arg::req("method", Kind::Str, "m"),
        Arg::opt("limit", Kind::Int { min: 1, max: 10 }, "l"),
    ];

    fn given(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            other => panic!("test arguments are an object, got {other}"),
        }
    }

    #[test]
    fn refuses_unknown_mistyped_missing_and_out_of_range() {
        let e = check("t", ARGS, &given(json!({"method": "x", "mehtod": 1}))).unwrap_err();
        assert!(e.contains("unknown argument `mehtod`"), "{e}");
        let e = check("t", ARGS, &given(json!({"method": 3}))).unwrap_err();
        assert!(e.contains("`method` must be a string, got a number"), "{e}");
        let e = check("t", ARGS, &given(json!({}))).unwrap_err();
        assert!(e.contains("missing argument `method`"), "{e}");
        let e = check("t", ARGS, &given(json!({"method": "x", "limit": 11}))).unwrap_err();
        assert!(e.contains("in 1..=10"), "{e}");
        check("t", ARGS, &given(json!({"method": "x", "limit": 10}))).unwrap();
    }

    #[test]
    fn schema_lists_required_and_forbids_others() {
        let s = Value::Object(schema(ARGS));
        assert_eq!(s["required"], json!(["method"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["limit"]["maximum"], json!(10));
    }
}
