//! Drafts spec entries from pages of the official docs (`bitrix24/b24restdocs`).
//!
//! A b24restdocs method page has a fixed layout: an H1 title that ends with the method name, a
//! `> Scope: [`crm`](...)` quote, a `## Method Parameters` section with YFM tables (`#| ... |#`,
//! one `|| **NAME*** [`type`](...) | description ||` row per parameter, `*` after the bold name
//! marks a required one), optional `### Parameter fields` sections with the nested field tables,
//! and a `## Response Handling` section with an example response in a ```` ```json ```` block.
//!
//! [`draft_from_markdown`] turns such a page into a `[method."<name>"]` TOML entry in the format of
//! `specs/README.md`; [`draft_entity_from_markdown`] turns a `*.fields` page into an
//! `[entity.<Name>]` draft. Everything the importer had to guess is marked with a `# review:`
//! comment: a draft is reviewed by hand before it is committed. Doc strings are never copied from
//! the page; the importer writes short generic words that the reviewer replaces.

pub(crate) mod guess;
pub mod openapi;
pub(crate) mod page;
#[cfg(test)]
mod tests;
mod write;

use std::fmt::Write as _;

use serde_json::Value;

use guess::{
    default_summary, entity_name_for, guess_response, guess_risk, is_objectish, param_doc,
    resolve_type,
};
use page::{Page, Param};
use write::{draft_entity, toml_key, toml_str};

/// Drafts one `[method."<name>"]` spec entry from the markdown of a b24restdocs method page.
///
/// `docs_path` is the page's path under `api-reference/` (or `settings/...`); it is written to the
/// `docs` key as given. The draft guesses the risk class from the method name (`get`/`list`/
/// `fields` read, `delete`/`remove`/`terminate`/`kill`/`clear` destructive, anything else write),
/// maps the documented types to spec types, turns nested field tables into a draft entity, guesses
/// the response shape and pagination from the example response and the parameters, and copies the
/// example `result` into `example`. Every guess carries a `# review:` comment.
///
/// # Errors
///
/// Returns an error naming `docs_path` when the page names no method (an index or overview page).
pub fn draft_from_markdown(markdown: &str, docs_path: &str) -> Result<String, String> {
    let page = Page::parse(markdown);
    let method = page
        .method
        .clone()
        .ok_or_else(|| format!("{docs_path}: no method name in the title"))?;
    let mut out = String::new();
    let mut tail = String::new();
    let entity_name = entity_name_for(&method);

    let (risk, risk_guessed) = guess_risk(&method);
    match (&page.title_mismatch, &page.curl_mismatch) {
        (Some(title), None) => {
            let _ = writeln!(
                out,
                "# review: the title says `{title}`, the examples call `{method}`"
            );
        }
        (_, Some(called)) => {
            let _ = writeln!(
                out,
                "# review: the examples call `{called}`, not `{method}` as the title says"
            );
        }
        _ => {}
    }
    let _ = writeln!(out, "[method.\"{method}\"]");
    let _ = writeln!(
        out,
        "summary = {}  # review: write our own words",
        toml_str(&default_summary(&method))
    );
    let _ = writeln!(out, "docs = {}", toml_str(docs_path));
    if risk_guessed {
        let _ = writeln!(
            out,
            "risk = \"{risk}\"  # review: guessed from the method name"
        );
    } else {
        let _ = writeln!(out, "risk = \"{risk}\"");
    }
    if page.scopes.is_empty() {
        let _ = writeln!(out, "scopes = []  # review: no scope line on the page");
    } else {
        let list: Vec<String> = page.scopes.iter().map(|s| toml_str(s)).collect();
        let _ = writeln!(out, "scopes = [{}]", list.join(", "));
    }

    // Response shape.
    let result = page.example.as_ref().and_then(|j| j.get("result"));
    let (response, response_note) =
        guess_response(&method, result, page.result_type.as_deref(), &entity_name);
    match response_note {
        Some(note) => {
            let _ = writeln!(out, "response = {}  # review: {note}", toml_str(&response));
        }
        None => {
            let _ = writeln!(out, "response = {}", toml_str(&response));
        }
    }

    // Pagination.
    let names: Vec<&str> = page.params.iter().map(|p| p.name.as_str()).collect();
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    if response.starts_with("list:") || response.starts_with("wrapped_list:") {
        if has("start") && has("filter") && has("order") {
            let _ = writeln!(
                out,
                "pagination = \"keyset\"  # review: start + filter + order; check that ID is sortable"
            );
        } else if has("start") {
            let _ = writeln!(out, "pagination = \"offset\"");
        }
    }

    // Parameters. A name pattern (`UF_`, `UF_*`) stands for the user fields of a portal: no
    // parameter of its own.
    for p in &page.params {
        if is_name_pattern(&p.name) {
            let _ = writeln!(
                out,
                "# review: `{}` is a pattern of user-field names, not a parameter: left out",
                p.name
            );
            continue;
        }
        let nested = page
            .nested
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p.name));
        let (ty, note) = match nested {
            Some((_, fields))
                if !fields.is_empty()
                    && is_objectish(&p.types)
                    && p.name.eq_ignore_ascii_case("fields") =>
            {
                let sub = entity_name.clone();
                tail.push_str(&draft_entity(
                    &sub,
                    docs_path,
                    fields,
                    &format!("nested table of `{}` in {method}", p.name),
                    &page.code,
                ));
                (
                    format!("entity:{sub}"),
                    Some("nested field table drafted as an entity below".to_string()),
                )
            }
            Some((_, fields)) if !fields.is_empty() => {
                // Nested keys make an object, whatever the type column says (`array` included).
                let r = resolve_type(p, &page.code, "");
                let t = if r.ty == "value" || r.ty == "list<value>" && is_objectish(&p.types) {
                    match page::example_shape(&page.code, &p.name) {
                        Some('[') => r.ty,
                        _ => "object".to_string(),
                    }
                } else {
                    r.ty
                };
                let keys: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                (t, Some(format!("documented keys: {}", keys.join(", "))))
            }
            _ => {
                let enum_name = format!("{}{}", entity_name, guess::camel(&p.name));
                let r = resolve_type(p, &page.code, &enum_name);
                if let Some(values) = &r.enum_values {
                    tail.push_str(&write::draft_enum(&enum_name, values));
                }
                (r.ty, r.note)
            }
        };
        let mut line = format!("params.{} = {{ type = {}", toml_key(&p.name), toml_str(&ty));
        if p.required {
            line.push_str(", required = true");
        }
        let _ = write!(
            line,
            ", doc = {} }}",
            toml_str(&param_doc(&p.name, &method))
        );
        if let Some(n) = note {
            let _ = write!(line, "  # review: {n}");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(res) = result
        && !matches!(res, Value::Null)
    {
        let text = res.to_string();
        if !text.contains("'''") && text.len() <= 4000 {
            let _ = writeln!(out, "example = '''{text}'''");
        } else {
            let _ = writeln!(
                out,
                "# review: example response too large or not embeddable; left out"
            );
        }
    }
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(&tail);
    }
    Ok(out)
}

/// Drafts an `[entity.<name>]` section from a `*.fields` docs page.
///
/// Fields come from the example response when it describes each field as
/// `{"type": ..., "isMultiple": ...}` (the shape of `crm.*.fields`, `crm.item.fields` and
/// `tasks.task.getfields`, optionally wrapped in one key such as `{"fields": {...}}`), else from the
/// object table of the response section whose heading contains `name` (`#### Message Object`),
/// and last from the first field table of the page. `id` in the entity is set when a field named
/// `ID`/`id` exists.
///
/// # Errors
///
/// Returns an error naming `docs_path` when the page describes no fields.
pub fn draft_entity_from_markdown(
    markdown: &str,
    docs_path: &str,
    name: &str,
) -> Result<String, String> {
    let page = Page::parse(markdown);
    let mut fields: Vec<Param> = Vec::new();
    if let Some(mut res) = page.example.as_ref().and_then(|j| j.get("result")) {
        // `{"fields": {...}}`, `{"order": {...}}`, `{"section": {...}}`: one wrapper key.
        if let Value::Object(entries) = res
            && entries.len() == 1
            && let Some(inner @ (Value::Object(_) | Value::Array(_))) = entries.values().next()
            && !is_field_descriptor(inner)
        {
            res = inner;
        }
        let push = |fields: &mut Vec<Param>, name: &str, v: &Value| {
            let t = match v.get("type").or_else(|| v.get("TYPE")) {
                Some(Value::String(t)) => t.clone(),
                _ => return,
            };
            let multiple = matches!(v.get("isMultiple"), Some(Value::Bool(true)));
            let ty = if multiple { format!("{t}[]") } else { t };
            fields.push(Param {
                name: name.to_string(),
                types: vec![ty],
                required: false,
                values: Vec::new(),
            });
        };
        match res {
            // Only a map whose values are (mostly) field descriptions; an ordinary object that
            // happens to hold one `{"type": ...}` value is not a field list.
            Value::Object(entries)
                if entries
                    .iter()
                    .filter(|(_, v)| is_field_descriptor(v))
                    .count()
                    * 2
                    > entries.len() =>
            {
                for (k, v) in entries {
                    push(&mut fields, k, v);
                }
            }
            // `[{"title"|"name": "id", "type": "integer"}, ...]`
            Value::Array(items) => {
                for v in items {
                    if let Some(Value::String(n)) = v.get("name").or_else(|| v.get("title")) {
                        push(&mut fields, n, v);
                    }
                }
            }
            _ => {}
        }
    }
    if fields.is_empty() {
        // An object table of the response section whose heading names the entity.
        let lower = name.to_ascii_lowercase();
        if let Some((_, f)) = page
            .response_tables
            .iter()
            .find(|(h, _)| h.to_ascii_lowercase().contains(&lower))
        {
            fields.clone_from(f);
        }
    }
    if fields.is_empty() {
        fields.clone_from(&page.params);
        if fields.is_empty()
            && let Some((_, f)) = page.nested.first()
        {
            fields.clone_from(f);
        }
    }
    if fields.is_empty() {
        return Err(format!("{docs_path}: no field description found"));
    }
    Ok(draft_entity(
        name,
        docs_path,
        &fields,
        "fields page",
        &page.code,
    ))
}

/// Whether a JSON value looks like one field's description (`{"type": ...}`).
fn is_field_descriptor(v: &Value) -> bool {
    matches!(
        v.get("type").or_else(|| v.get("TYPE")),
        Some(Value::String(_))
    )
}

/// A documented name that stands for many (`UF_`, `UF_*`, `PROPERTY_...`).
pub(crate) fn is_name_pattern(name: &str) -> bool {
    name.ends_with("...")
        || name.ends_with('_')
        || name.ends_with('\\')
        || name.contains('*')
        || name.contains('.')
}
