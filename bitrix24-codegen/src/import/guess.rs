//! What the importer guesses from names and documented types: spec types, risk, response
//! shape, entity names and our own doc words. Every guess is marked `# review:` in the draft.

use serde_json::Value;

use super::page::{Param, example_shape};

/// Maps one documented type to a spec type; the bool says whether it was a guess.
pub(super) fn map_doc_type(doc: &str, name: &str) -> (String, bool) {
    let d = doc.trim().to_ascii_lowercase();
    if let Some(inner) = d.strip_suffix("[]") {
        let (t, g) = map_doc_type(inner, "");
        // `crm_multifield[]` is already a list.
        return if t.starts_with("list<") {
            (t, g)
        } else {
            (format!("list<{t}>"), g)
        };
    }
    if let Some(inner) = d.strip_prefix("array<").and_then(|x| x.strip_suffix('>')) {
        let (t, g) = map_doc_type(inner, "");
        return (format!("list<{t}>"), g);
    }
    // A status is named by letters ("N", "P"): sale/data-types.md calls `sale_status.id` the
    // character identifier of the status.
    if d == "sale_status.id" {
        return ("string".to_string(), false);
    }
    if let Some((_, "id")) = d.rsplit_once('.') {
        return ("id".to_string(), false);
    }
    let is_id_name = name.eq_ignore_ascii_case("id");
    let t = match d.as_str() {
        "integer" | "int" | "number" if is_id_name => "id",
        "integer" | "int" | "long" => "int",
        "number" | "float" => "float",
        "double" | "decimal" | "money" => "decimal",
        // `char` is a one-letter code: `Y`/`N`, or more letters (`Y`/`N`/`D`, status ids); its
        // listed values decide (`resolve_type`), never a guess of `bool`.
        "string" | "text" | "crm_status" | "crm_currency" | "char" | "char(1)" | "url"
        | "email" | "phone" | "enum" => "string",
        "y/n" => "flag",
        "boolean" | "bool" => "bool",
        "date" => "date",
        "datetime" | "time" | "isodate" => "datetime",
        "object" | "json" => "object",
        "array" | "list" => "list<value>",
        "user" | "crm_company" | "crm_contact" | "crm_lead" | "crm_deal" | "crm_category"
        | "crm_quote" | "group" | "sonet_group" | "task" => "id",
        "crm_multifield" => "list<object>",
        "any" | "mixed" => "value",
        _ => return ("value".to_string(), true),
    };
    (t.to_string(), d == "char" || d == "number")
}

/// The spec type of a parameter, with a review note when it had to be guessed.
pub(super) fn map_param_type(name: &str, types: &[String]) -> (String, Option<String>) {
    let lower = name.to_ascii_lowercase();
    if types.is_empty() {
        return ("value".to_string(), Some("no type documented".to_string()));
    }
    if types.len() > 1 {
        return (
            "value".to_string(),
            Some(format!("several types documented: {}", types.join(", "))),
        );
    }
    let (mut t, guessed) = map_doc_type(&types[0], name);
    if lower == "select" && t == "list<value>" {
        t = "list<string>".to_string();
    }
    let note = if guessed {
        Some(format!("documented as `{}`", types[0]))
    } else {
        None
    };
    (t, note)
}

pub(super) fn is_objectish(types: &[String]) -> bool {
    types.is_empty()
        || types.iter().any(|t| {
            let t = t.to_ascii_lowercase();
            t == "object" || t == "array" || t.ends_with("[]")
        })
}

/// Risk class from the last segment of the method name, and whether it was a guess.
pub(super) fn guess_risk(method: &str) -> (&'static str, bool) {
    let last = method
        .rsplit('.')
        .next()
        .unwrap_or(method)
        .to_ascii_lowercase();
    let read = [
        "get",
        "list",
        "fields",
        "getlist",
        "getfields",
        "search",
        "count",
        "status",
        "current",
        "time",
    ];
    let destructive = [
        "delete",
        "remove",
        "terminate",
        "kill",
        "clear",
        "unbind",
        "unregister",
        "deletetask",
    ];
    if read.iter().any(|r| last == *r) {
        ("read", false)
    } else if destructive.iter().any(|d| last == *d) {
        ("destructive", false)
    } else if last.starts_with("get") || last.starts_with("list") {
        ("read", true)
    } else if last.starts_with("delete") || last.starts_with("remove") {
        ("destructive", true)
    } else {
        ("write", true)
    }
}

/// `crm.deal.add` -> `Deal`, `tasks.api.scrum.sprint.list` -> `Sprint`, `user.get` -> `User`.
pub(super) fn entity_name_for(method: &str) -> String {
    let segs: Vec<&str> = method.split('.').collect();
    let seg = if segs.len() >= 2 {
        segs[segs.len() - 2]
    } else {
        segs[0]
    };
    camel(seg)
}

/// `sonet_group` -> `SonetGroup`, `externalCall` -> `ExternalCall`.
pub(super) fn camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split(['_', '-', '.']) {
        let mut chars = part.chars();
        if let Some(f) = chars.next() {
            out.extend(f.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// Response shape from the example `result` (or the documented result type).
pub(super) fn guess_response(
    method: &str,
    result: Option<&Value>,
    doc_type: Option<&str>,
    entity: &str,
) -> (String, Option<String>) {
    let last = method.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match result {
        Some(Value::Bool(_)) => ("bool".into(), None),
        Some(Value::Number(_))
            if last.starts_with("add") || last == "register" || last == "start" =>
        {
            ("id".into(), None)
        }
        Some(Value::String(s)) if s.parse::<u64>().is_ok() && last.starts_with("add") => {
            ("id".into(), None)
        }
        Some(Value::String(_)) => ("string".into(), None),
        Some(Value::Number(_)) => ("value".into(), Some("numeric result".into())),
        Some(Value::Array(items)) => {
            if items.iter().all(|i| matches!(i, Value::Object(_))) {
                (format!("list:{entity}"), Some("entity name guessed".into()))
            } else {
                ("value".into(), Some("list of scalars".into()))
            }
        }
        Some(Value::Object(entries)) => {
            if entries.len() == 1
                && let Some((k, v)) = entries.iter().next()
            {
                match v {
                    Value::Array(_) => {
                        return (
                            format!("wrapped_list:{k}:{entity}"),
                            Some("entity name guessed".into()),
                        );
                    }
                    Value::Object(_) => {
                        return (
                            format!("wrapped:{k}:{entity}"),
                            Some("entity name guessed".into()),
                        );
                    }
                    _ => {}
                }
            }
            if !entries.is_empty()
                && entries
                    .iter()
                    .all(|(k, v)| k.parse::<u64>().is_ok() && matches!(v, Value::Object(_)))
            {
                return (format!("map:{entity}"), Some("entity name guessed".into()));
            }
            if last.contains("get") || last == "current" {
                (
                    format!("entity:{entity}"),
                    Some("entity name guessed".into()),
                )
            } else {
                ("value".into(), Some("object result".into()))
            }
        }
        Some(Value::Null) | None => match doc_type.map(str::to_ascii_lowercase).as_deref() {
            Some("boolean" | "bool") => {
                ("bool".into(), Some("from the Returned Data table".into()))
            }
            Some("integer") if last.starts_with("add") => {
                ("id".into(), Some("from the Returned Data table".into()))
            }
            Some("string") => ("string".into(), Some("from the Returned Data table".into())),
            _ => ("value".into(), Some("no example response".into())),
        },
    }
}

pub(super) fn default_summary(method: &str) -> String {
    let last = method.rsplit('.').next().unwrap_or(method);
    format!("{last} ({method}).")
}

/// Our own generic words for common parameters; anything else gets its name spelled out.
pub(super) fn param_doc(name: &str, method: &str) -> String {
    let entity = entity_name_for(method).to_ascii_lowercase();
    match name.to_ascii_lowercase().as_str() {
        "id" => format!("Identifier of the {entity}."),
        "fields" => format!("Field values of the {entity}."),
        "select" => "Fields to return.".into(),
        "filter" => "Field filter; keys may carry operator prefixes.".into(),
        "order" => "Sort order: field -> ASC | DESC.".into(),
        "start" => "Offset of the first record (pages of 50).".into(),
        "params" => "Extra options of the call.".into(),
        "entitytypeid" => "CRM object type id (deal 2, contact 3, ...).".into(),
        _ => {
            let words = split_words(name);
            format!("{}.", capitalize(&words))
        }
    }
}

/// `DIALOG_ID` -> `dialog id`, `entityTypeId` -> `entity type id`.
pub(super) fn split_words(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// What [`resolve_type`] makes of a parameter or field.
pub(crate) struct Resolved {
    /// The spec type (`enum:<name>` for an enum to draft).
    pub(crate) ty: String,
    /// A `# review:` note when something is left to the reviewer.
    pub(super) note: Option<String>,
    /// The values of the enum to draft, when `ty` is one.
    pub(super) enum_values: Option<Vec<(String, String)>>,
}

/// The spec type of a documented parameter or field, from its documented type, the values its
/// description lists and how the request examples (`code`) send it. Listed values `Y`/`N` make a
/// `flag`, other listed values of a string an enum named `enum_name`; an `array` is a list only
/// when an example sends a list (`"data": {..}` is an object), and `value` with a note when no
/// example shows it.
pub(crate) fn resolve_type(p: &Param, code: &str, enum_name: &str) -> Resolved {
    let plain = |(ty, note): (String, Option<String>)| Resolved {
        ty,
        note,
        enum_values: None,
    };
    let [doc] = p.types.as_slice() else {
        return plain(map_param_type(&p.name, &p.types));
    };
    let d = doc.trim().to_ascii_lowercase();
    let stringish = matches!(
        d.as_str(),
        "string" | "char" | "char(1)" | "enum" | "y/n" | "boolean" | "bool"
    );
    if stringish && !p.values.is_empty() {
        let mut wires: Vec<&str> = p.values.iter().map(|(w, _)| w.as_str()).collect();
        wires.sort_unstable();
        if wires == ["N", "Y"] {
            return plain(("flag".into(), None));
        }
        if d != "boolean" && d != "bool" {
            return Resolved {
                ty: format!("enum:{enum_name}"),
                note: Some(format!(
                    "the docs list the values {}: enum drafted below",
                    wires.join(", ")
                )),
                enum_values: Some(p.values.clone()),
            };
        }
    }
    if d == "array" || d == "list" {
        let lower = p.name.to_ascii_lowercase();
        return plain(match example_shape(code, &p.name) {
            // `select` names the fields to return: a list of names on every page.
            Some('[') | None if lower == "select" => ("list<string>".into(), None),
            Some('[') => ("list<value>".into(), None),
            Some(_) => (
                "object".into(),
                Some(format!(
                    "documented as `{doc}`; the examples send an object"
                )),
            ),
            None => (
                "value".into(),
                Some(format!(
                    "documented as `{doc}`; no example sends it: a list or an object?"
                )),
            ),
        });
    }
    if d == "char" {
        return plain((
            "string".into(),
            Some("documented as `char` with no values listed: a flag, an enum or a code?".into()),
        ));
    }
    plain(map_param_type(&p.name, &p.types))
}
