//! The `b24 mcp` tools that answer from the specs' catalog alone (find, describe, scopes), and
//! the check of a call's params against the types the specs give them. Nothing here calls
//! the portal: every answer comes from `bitrix24::catalog`, so a method added to a spec is
//! found, described and checked with no code here.

use bitrix24::catalog::{self, MethodInfo, ParamInfo};
use bitrix24::policy::{Policy, normalize_method};
use serde_json::{Value, json};

use crate::mcp_args::Given;
use bitrix24::error::json_kind;

/// The method's entry, or a message saying how to find one.
pub fn lookup(method: &str) -> Result<&'static MethodInfo, String> {
    let name = normalize_method(method).map_err(|e| e.to_string())?;
    catalog::method_info(&name).ok_or_else(|| {
        format!("`{name}` is not in the specs; find_methods with a term or text finds methods")
    })
}

fn required(m: &MethodInfo) -> Vec<&'static str> {
    m.params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect()
}

/// `find_methods`: by what a user calls it (`term`), by pack, or by words of the name or
/// summary (`text`), best match first; at most `limit` rows.
pub fn find(g: Given<'_>, policy: &Policy) -> Result<Value, String> {
    let (term, pack, text) = (g.str("term").trim(), g.str("pack").trim(), g.str("text"));
    if term.is_empty() && pack.is_empty() && text.trim().is_empty() {
        return Err("find_methods: give a `term`, a `pack` or a `text`".to_owned());
    }
    let pack = if term.is_empty() {
        pack.to_ascii_lowercase()
    } else {
        let found = catalog::pack_for_term(term)
            .ok_or_else(|| format!("find_methods: no pack for the term '{term}'"))?;
        if !pack.is_empty() && pack != found {
            return Err(format!(
                "find_methods: the term '{term}' is in the pack {found}, not {pack}"
            ));
        }
        found.to_owned()
    };
    if !pack.is_empty() && catalog::pack_info(&pack).is_none() {
        return Err(format!(
            "find_methods: unknown pack '{pack}' (packs: {})",
            pack_names().join(", ")
        ));
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let matches = |m: &MethodInfo| {
        (pack.is_empty() || m.pack == pack)
            && words.iter().all(|w| {
                m.name.contains(w.as_str()) || m.summary.to_lowercase().contains(w.as_str())
            })
    };
    let limit = usize::try_from(g.int("limit", 20)).unwrap_or(20);
    let mut all: Vec<&MethodInfo> = catalog::METHODS.iter().filter(|m| matches(m)).collect();
    // Best first: the more words are whole parts of the name (`deal list` -> `crm.deal.list`
    // before `crm.deal.contact.items.get`, which has `list` only in its summary), then the
    // shorter name; the catalog's order otherwise.
    all.sort_by_key(|m| {
        let parts: Vec<&str> = m.name.split('.').collect();
        let whole = words
            .iter()
            .filter(|w| parts.iter().any(|p| p.eq_ignore_ascii_case(w)))
            .count();
        (std::cmp::Reverse(whole), parts.len())
    });
    let rows: Vec<Value> = all
        .iter()
        .take(limit)
        .map(|m| {
            json!({
                "method": m.name,
                "risk": m.risk.as_str(),
                "scopes": m.scopes,
                "required": required(m),
                "summary": m.summary,
                "allowed": policy.is_listed(m.name),
            })
        })
        .collect();
    let mut v = json!({"pack": pack, "matches": all.len(), "methods": rows});
    if all.len() > limit {
        v["next"] = json!(format!(
            "{} more: narrow with `text`, or raise `limit`",
            all.len() - limit
        ));
    }
    Ok(v)
}

fn pack_names() -> Vec<&'static str> {
    catalog::PACKS.iter().map(|p| p.name).collect()
}

/// `describe_method`: what the specs say of one method, and whether this server may call it.
pub fn describe(method: &str, policy: &Policy) -> Result<Value, String> {
    let m = lookup(method)?;
    let params: Vec<Value> = m
        .params
        .iter()
        .map(|p| json!({"name": p.name, "type": p.ty, "required": p.required, "doc": p.doc}))
        .collect();
    Ok(json!({
        "method": m.name,
        "pack": m.pack,
        "summary": m.summary,
        "risk": m.risk.as_str(),
        "idempotent": m.idempotent,
        "scopes": m.scopes,
        "params": params,
        "response": m.response,
        "paginated": m.paginated,
        "v3": m.v3,
        "docs": m.docs,
        "allowed": policy.is_listed(m.name),
    }))
}

/// `least_privilege_scopes`: the smallest scope set for the methods, and the names the specs
/// do not know.
pub fn scopes(methods: &[&str]) -> Result<Value, String> {
    if methods.is_empty() {
        return Err("least_privilege_scopes: `methods` is empty".to_owned());
    }
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for m in methods {
        let n = normalize_method(m).map_err(|e| format!("least_privilege_scopes: {e}"))?;
        match catalog::method_info(&n) {
            Some(info) => known.push(info.name),
            None => unknown.push(n),
        }
    }
    Ok(json!({
        "scopes": catalog::least_privilege_scopes(known.iter().copied()),
        "methods": known,
        "unknown": unknown,
    }))
}

/// Checks `params` against the method's parameters in the specs: a required one missing or a
/// value of the wrong JSON type is refused (naming the parameter and the type it takes);
/// names the specs do not list are sent as given, with a note. Methods the specs do not know
/// are not checked.
pub fn check_params(method: &str, params: &Value) -> Result<Vec<String>, String> {
    let Some(m) = catalog::method_info(method) else {
        return Ok(vec![format!(
            "{method} is not in the specs: params not checked"
        )]);
    };
    let Some(given) = params.as_object() else {
        return Err(format!("{method}: params must be a JSON object"));
    };
    if let Some(p) = m
        .params
        .iter()
        .find(|p| p.required && !given.contains_key(p.name))
    {
        return Err(format!(
            "{method}: missing parameter `{}` ({}); describe_method lists them",
            p.name, p.ty
        ));
    }
    let mut notes = Vec::new();
    for (k, v) in given {
        match m.param(k) {
            Some(p) if !fits(p, v) => {
                return Err(format!(
                    "{method}: parameter `{k}` takes {}, got {}",
                    p.ty,
                    json_kind(v)
                ));
            }
            Some(_) => {}
            None => notes.push(
                match m.params.iter().find(|p| p.name.eq_ignore_ascii_case(k)) {
                    Some(p) => format!(
                        "`{k}` is not a parameter of {method}; did you mean `{}`?",
                        p.name
                    ),
                    None => {
                        format!("`{k}` is not a parameter of {method} in the specs; sent as given")
                    }
                },
            ),
        }
    }
    Ok(notes)
}

/// Whether `v` can be what the portal takes for a parameter of type `p.ty` (the portal reads
/// numbers from strings and `Y`/`N` for booleans, so those pass too).
fn fits(p: &ParamInfo, v: &Value) -> bool {
    let numeric =
        |v: &Value| v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok());
    let ty = p.ty;
    if ty.starts_with("list<") {
        return v.is_array() || v.is_object();
    }
    if ty.starts_with("map<") || ty.starts_with("entity:") || ty == "object" {
        // PHP sends an empty object as `[]`.
        return v.is_object() || v.as_array().is_some_and(Vec::is_empty);
    }
    match ty {
        "int" | "id" => {
            v.is_i64() || v.is_u64() || v.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok())
        }
        "float" | "decimal" => numeric(v),
        "bool" | "flag" => {
            v.is_boolean()
                || matches!(
                    v.as_str(),
                    Some("Y" | "N" | "y" | "n" | "true" | "false" | "0" | "1")
                )
                || matches!(v.as_i64(), Some(0 | 1))
        }
        "string" | "date" | "datetime" => v.is_string() || v.is_number(),
        _ if ty.starts_with("enum:") => v.is_string() || v.is_number(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked_against_the_spec_types() {
        // crm.deal.get takes `id` (id, required), as its docs page lists it.
        let info = catalog::method_info("crm.deal.get").unwrap();
        assert!(info.param("id").is_some_and(|p| p.required && p.ty == "id"));
        assert!(
            check_params("crm.deal.get", &json!({"id": 5}))
                .unwrap()
                .is_empty()
        );
        assert!(check_params("crm.deal.get", &json!({"id": "5"})).is_ok());
        let e = check_params("crm.deal.get", &json!({"id": "five"})).unwrap_err();
        assert!(e.contains("parameter `id` takes id, got a string"), "{e}");
        let e = check_params("crm.deal.get", &json!({})).unwrap_err();
        assert!(e.contains("missing parameter `id`"), "{e}");
        let notes = check_params("crm.deal.get", &json!({"id": 1, "ID": 1})).unwrap();
        assert!(notes[0].contains("did you mean `id`"), "{notes:?}");
    }

    #[test]
    fn describe_gives_types_response_and_docs() {
        let policy = Policy::from_lists("core", "").unwrap();
        let d = describe("CRM.DEAL.ADD", &policy).unwrap();
        assert_eq!(d["method"], "crm.deal.add");
        assert_eq!(d["risk"], "write");
        assert_eq!(d["response"], "id");
        assert!(d["docs"].as_str().unwrap().ends_with("crm-deal-add.html"));
        assert!(
            d["params"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fields" && p["required"] == true)
        );
        assert!(describe("no.such.method", &policy).is_err());
    }
}
