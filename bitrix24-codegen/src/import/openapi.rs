//! Spec entries from a portal's REST 3.0 OpenAPI document (`rest.documentation.openapi`, or its
//! synonym `documentation`; api-reference/rest-v3.md, "OpenAPI documentation").
//!
//! Each path `/<method>` of the document is a REST 3.0 method of that portal. [`draft`] compares
//! them with the specs: a method no spec has becomes a `[v3."<method>"]` draft (params from the
//! JSON request schema, scope from the tag, risk guessed from the name, every guess marked
//! `# review:`); a method a spec has (a `[v3]` entry, or a `[method]` with that `v3` name) gets a
//! diff of its params: the ones only the portal lists, the ones only the spec lists, and those
//! required on one side only.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::guess::guess_risk;
use super::write::{toml_key, toml_str};
use crate::spec::{MethodSpec, Spec};

/// One parameter of a method's request schema: name, spec type, required.
type Param = (String, String, bool);

/// What the document says about one method.
struct Operation {
    name: String,
    tag: Option<String>,
    summary: Option<String>,
    params: Vec<Param>,
}

/// Drafts spec entries for the methods of `document` (the whole answer `{"result": {...}}` or
/// the document alone) against `specs`: new methods as `[v3]` drafts, existing ones as diffs
/// (comment lines). The text is TOML with comments, to review before it goes into a spec.
///
/// # Errors
///
/// A message naming the JSON path when the document is not an OpenAPI object with `paths`.
pub fn draft(document: &Value, specs: &[Spec]) -> Result<String, String> {
    let doc = match document.get("result") {
        Some(inner) if inner.get("paths").is_some() => inner,
        _ => document,
    };
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Err("not an OpenAPI document: `paths` is missing or not an object".into());
    };
    let mut out = String::new();
    let (mut new, mut same, mut changed) = (0, 0, 0);
    for (path, item) in paths {
        let op = operation(path, item)?;
        match find(specs, &op.name) {
            Some((spec, m)) => {
                let diff = diff(m, &op.params);
                if diff.is_empty() {
                    same += 1;
                } else {
                    changed += 1;
                    let _ = writeln!(
                        out,
                        "# `{}` ({}): differs from the portal",
                        op.name, spec.file
                    );
                    for line in diff {
                        let _ = writeln!(out, "#   {line}");
                    }
                    out.push('\n');
                }
            }
            None => {
                new += 1;
                write_draft(&mut out, &op);
            }
        }
    }
    let header = format!(
        "# From an OpenAPI document of {} methods: {new} new (drafted below), {changed} differ \
         from the specs, {same} match.\n\n",
        paths.len()
    );
    Ok(header + &out)
}

/// The method of one path: `/tasks.task.get` -> `tasks.task.get`, with its POST (or GET)
/// operation's tag, summary and JSON request schema.
fn operation(path: &str, item: &Value) -> Result<Operation, String> {
    let name = path.trim_start_matches('/').to_owned();
    if name.is_empty() || name.contains('/') {
        return Err(format!("paths.{path}: not a method path (`/<method>`)"));
    }
    let op = item
        .get("post")
        .or_else(|| item.get("get"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tag = op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    let summary = op.get("summary").and_then(Value::as_str).map(str::to_owned);
    let schema = op
        .get("requestBody")
        .and_then(|b| b.pointer("/content/application~1json/schema"));
    let params = match schema {
        Some(s) => schema_params(path, s)?,
        None => Vec::new(),
    };
    Ok(Operation {
        name,
        tag,
        summary,
        params,
    })
}

/// The properties of an object schema as params (`required` from its list).
fn schema_params(path: &str, schema: &Value) -> Result<Vec<Param>, String> {
    let empty = Map::new();
    let props = match schema.get("properties") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(format!(
                "paths.{path}: the request schema's `properties` is not an object"
            ));
        }
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Ok(props
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                spec_type(name, p),
                required.contains(&name.as_str()),
            )
        })
        .collect())
}

/// The spec type of an OpenAPI schema (`id` for an integer named `id` or `...Id`).
fn spec_type(name: &str, schema: &Value) -> String {
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "integer" if name == "id" || name.ends_with("Id") => "id".into(),
        "integer" => "int".into(),
        "number" => "float".into(),
        "boolean" => "bool".into(),
        "string" if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
            "datetime".into()
        }
        "string" => "string".into(),
        "array" => match schema.get("items") {
            Some(items) if items.get("type").is_some() => {
                format!("list<{}>", spec_type("", items))
            }
            _ => "list<value>".into(),
        },
        "object" => "object".into(),
        _ => "value".into(),
    }
}

/// The spec entry for REST 3.0 method `name`: a `[v3]` entry, or a `[method]` whose `v3` it is.
fn find<'a>(specs: &'a [Spec], name: &str) -> Option<(&'a Spec, &'a MethodSpec)> {
    specs.iter().find_map(|s| {
        s.v3_methods
            .get(name)
            .or_else(|| s.methods.values().find(|m| m.v3.as_deref() == Some(name)))
            .map(|m| (s, m))
    })
}

/// How the portal's params differ from the spec's (empty when they agree).
fn diff(m: &MethodSpec, portal: &[Param]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, ty, required) in portal {
        match m.params.iter().find(|p| &p.name == name) {
            None => out.push(format!(
                "param `{name}` ({ty}{}) only on the portal",
                if *required { ", required" } else { "" }
            )),
            Some(p) if p.required != *required => out.push(format!(
                "param `{name}`: required on the {} only",
                if *required { "portal" } else { "spec" }
            )),
            Some(_) => {}
        }
    }
    // A document without a request schema says nothing about params.
    if !portal.is_empty() {
        for p in &m.params {
            if !portal.iter().any(|(n, ..)| n == &p.name) {
                out.push(format!("param `{}` only in the spec", p.name));
            }
        }
    }
    out
}

fn write_draft(out: &mut String, op: &Operation) {
    let (risk, guessed) = guess_risk(&op.name);
    let _ = writeln!(out, "[v3.{}]", toml_str(&op.name));
    match &op.summary {
        Some(s) => {
            let _ = writeln!(
                out,
                "summary = {}  # review: the portal's words; write our own",
                toml_str(s)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "summary = {}  # review: write one line",
                toml_str(&op.name)
            );
        }
    }
    let _ = writeln!(
        out,
        "docs = \"rest-v3.md\"  # review: the method's own page"
    );
    let _ = writeln!(
        out,
        "risk = \"{risk}\"{}",
        if guessed {
            "  # review: guessed from the method name"
        } else {
            ""
        }
    );
    match &op.tag {
        Some(t) => {
            let _ = writeln!(
                out,
                "scopes = [{}]  # review: the document's tag",
                toml_str(t)
            );
        }
        None => {
            let _ = writeln!(out, "scopes = []  # review: the document names no tag");
        }
    }
    let _ = writeln!(
        out,
        "response = \"value\"  # review: the document gives no answer schema"
    );
    for (name, ty, required) in &op.params {
        let _ = writeln!(
            out,
            "params.{} = {{ type = \"{ty}\"{} }}",
            toml_key(name),
            if *required { ", required = true" } else { "" }
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_spec;

    const SPEC: &str = r#"
[pack]
name = "core"
summary = "Core."

[v3."tasks.task.get"]
summary = "Read a task."
docs = "tasks/tasks-task-get-rest-v3.md"
risk = "read"
scopes = ["tasks"]
response = "value"
params.id = { type = "id", required = true }
params.select = "list<string>"
"#;

    fn specs() -> Vec<Spec> {
        vec![parse_spec("specs/core.toml", SPEC).unwrap()]
    }

    /// The example of api-reference/rest-v3.md ("OpenAPI documentation").
    #[test]
    fn the_documented_example_matches_the_spec() {
        let doc = serde_json::json!({
            "openapi": "3.0.0",
            "info": {"title": "Bitrix24 REST V3 API", "version": "1.0.0"},
            "tags": [{"name": "tasks", "description": "tasks module methods"}],
            "paths": {"/tasks.task.get": {}}
        });
        let text = draft(&doc, &specs()).unwrap();
        assert!(text.contains("1 methods: 0 new"), "{text}");
        assert!(text.contains("1 match"), "{text}");
    }

    #[test]
    fn new_methods_are_drafted_and_existing_ones_diffed() {
        let doc = serde_json::json!({"result": {"paths": {
            "/tasks.task.get": {"post": {"requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer"}, "expand": {"type": "array"}}}}}}}},
            "/note.collection.add": {"post": {"tags": ["note"], "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "required": ["fields"],
                "properties": {"fields": {"type": "object"}}}}}}}}
        }}});
        let text = draft(&doc, &specs()).unwrap();
        assert!(text.contains("1 new"), "{text}");
        assert!(
            text.contains("param `expand` (list<value>) only on the portal"),
            "{text}"
        );
        assert!(text.contains("param `select` only in the spec"), "{text}");
        assert!(text.contains("[v3.\"note.collection.add\"]"), "{text}");
        assert!(
            text.contains("params.fields = { type = \"object\", required = true }"),
            "{text}"
        );
        // The draft is a valid spec entry once a [pack] is put in front of it.
        let pack = "[pack]\nname = \"collab\"\nsummary = \"x\"\n";
        let start = text.find("[v3.").unwrap();
        parse_spec("specs/collab.toml", &format!("{pack}{}", &text[start..])).unwrap();
        assert!(draft(&serde_json::json!({"openapi": "3.0.0"}), &specs()).is_err());
    }
}
