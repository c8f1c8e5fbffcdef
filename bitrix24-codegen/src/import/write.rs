//! Writing TOML: strings, keys, and a drafted entity.

use std::fmt::Write as _;

use super::guess::{camel, resolve_type};
use super::page::Param;

/// Renders an entity draft from a field list.
pub(super) fn draft_entity(
    name: &str,
    docs_path: &str,
    fields: &[Param],
    origin: &str,
    code: &str,
) -> String {
    let mut out = String::new();
    let mut enums = String::new();
    let _ = writeln!(
        out,
        "# review: entity drafted from the {origin}; merge with an existing entity if there is one"
    );
    let _ = writeln!(out, "[entity.{name}]");
    let _ = writeln!(
        out,
        "doc = {}  # review: write our own words",
        toml_str(&format!("{name} as the docs describe it."))
    );
    let _ = writeln!(out, "docs = {}", toml_str(docs_path));
    if let Some(id) = fields.iter().find(|f| f.name == "ID" || f.name == "id") {
        let _ = writeln!(out, "id = {}", toml_str(&id.name));
    }
    let mut parts = Vec::new();
    let mut notes = Vec::new();
    for f in fields {
        if super::is_name_pattern(&f.name) {
            notes.push(format!("{} (pattern, kept in extra)", f.name));
            continue;
        }
        let enum_name = format!("{name}{}", camel(&f.name));
        let r = resolve_type(f, code, &enum_name);
        let mut ty = r.ty;
        if (f.name == "ID" || f.name == "id") && ty == "int" {
            ty = "id".to_string();
        }
        if let Some(values) = &r.enum_values {
            enums.push_str(&draft_enum(&enum_name, values));
        }
        if let Some(note) = r.note {
            notes.push(format!("{} ({note})", f.name));
        }
        parts.push(format!("{} = {}", toml_key(&f.name), toml_str(&ty)));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "# review: guessed or skipped: {}", notes.join(", "));
    }
    let _ = writeln!(out, "fields = {{ {} }}", parts.join(", "));
    out.push_str(&enums);
    out
}

/// An `[enum.<name>]` draft from the values a docs table lists (labels are the docs' words for
/// each value; the reviewer shortens them).
pub(super) fn draft_enum(name: &str, values: &[(String, String)]) -> String {
    let vals: Vec<String> = values
        .iter()
        .map(|(w, l)| {
            let label = if l.is_empty() { w.as_str() } else { l.as_str() };
            format!("{} = {}", toml_key(w), toml_str(label))
        })
        .collect();
    format!(
        "\n# review: enum drafted from the values the docs list; check the labels\n[enum.{name}]\n\
         doc = {}  # review: write our own words\nvalues = {{ {} }}\n",
        toml_str(&format!("{name} as the docs list it.")),
        vals.join(", ")
    )
}

/// A TOML basic string.
pub(super) fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when possible, quoted otherwise.
pub(super) fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}
