//! `check --docs <checkout>`: every spec method against its docs page. One [`Disagreement`] per
//! difference in the method name the page documents, the parameter names, the required marks,
//! the parameter types (the importer's reading of the page's table: listed values, the shape the
//! examples send) and the example response. A method with `docs_differs = "..."` is counted as
//! justified, not reported.

use std::path::Path;

use serde_json::{Value, json};

use crate::import::guess::resolve_type;
use crate::import::is_name_pattern;
use crate::import::page::Page;
use crate::spec::{MethodSpec, Spec, Ty};

/// One difference between a spec method and its docs page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The spec file (`specs/core.toml`).
    pub file: String,
    /// The method.
    pub method: String,
    /// The key of the spec it concerns (`params.NAME.required`, `docs`, `example`).
    pub key: String,
    /// What differs.
    pub message: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: method `{}`: field `{}`: {}",
            self.file, self.method, self.key, self.message
        )
    }
}

/// What [`compare_all`] found.
#[derive(Debug, Default)]
pub struct DocsCheck {
    /// The methods compared.
    pub methods: usize,
    /// The differences, in spec order.
    pub disagreements: Vec<Disagreement>,
    /// Methods whose differences `docs_differs` justifies.
    pub justified: usize,
}

/// Compares every method of `specs`, the `[v3]` entries too, with its page under `root` (a
/// b24restdocs checkout).
pub fn compare_all(root: &Path, specs: &[Spec]) -> DocsCheck {
    let mut out = DocsCheck::default();
    for s in specs {
        for m in s.all_methods() {
            out.methods += 1;
            let found = compare(root, s, m);
            if found.is_empty() {
                continue;
            }
            if m.docs_differs.is_some() {
                out.justified += 1;
            } else {
                out.disagreements.extend(found);
            }
        }
    }
    out
}

fn page_path(root: &Path, docs: &str) -> std::path::PathBuf {
    if docs.starts_with("settings/") {
        root.join(docs)
    } else {
        root.join("api-reference").join(docs)
    }
}

/// The differences of one method with its page.
pub fn compare(root: &Path, s: &Spec, m: &MethodSpec) -> Vec<Disagreement> {
    let md = match std::fs::read_to_string(page_path(root, &m.docs)) {
        Ok(md) => md,
        Err(e) => {
            return vec![diff(
                s,
                m,
                "docs",
                format!("page `{}` not read: {e}", m.docs),
            )];
        }
    };
    compare_page(s, m, &md)
}

fn diff(s: &Spec, m: &MethodSpec, key: &str, message: String) -> Disagreement {
    Disagreement {
        file: s.file.clone(),
        method: m.name.clone(),
        key: key.to_owned(),
        message,
    }
}

/// The differences of one method with the markdown of its page.
pub fn compare_page(s: &Spec, m: &MethodSpec, md: &str) -> Vec<Disagreement> {
    let page = Page::parse(md);
    let mut out = Vec::new();
    match &page.method {
        Some(name) if name.eq_ignore_ascii_case(&m.name) => {}
        Some(name) => out.push(diff(s, m, "docs", format!("the page documents `{name}`"))),
        None => out.push(diff(s, m, "docs", "the page names no method".into())),
    }
    let documented: Vec<_> = page
        .params
        .iter()
        .filter(|p| !is_name_pattern(&p.name))
        .collect();
    for p in &documented {
        let key = format!("params.{}", p.name);
        let Some(sp) = m.params.iter().find(|x| x.name == p.name) else {
            let case = m
                .params
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(&p.name));
            out.push(diff(
                s,
                m,
                &key,
                match case {
                    Some(x) => format!("specced as `{}`; the page writes `{}`", x.name, p.name),
                    None => "documented, not in the spec".into(),
                },
            ));
            continue;
        };
        if sp.required != p.required {
            out.push(diff(
                s,
                m,
                &format!("{key}.required"),
                format!(
                    "the spec says {}, the page {}",
                    if sp.required { "required" } else { "optional" },
                    if p.required { "required" } else { "optional" }
                ),
            ));
        }
        let doc_ty = resolve_type(p, &page.code, "DocsEnum").ty;
        if let Some(why) = type_mismatch(&sp.ty, &doc_ty) {
            let shown = if doc_ty.starts_with("enum:") {
                "enum"
            } else {
                &doc_ty
            };
            out.push(diff(
                s,
                m,
                &format!("{key}.type"),
                format!("`{}` in the spec, `{shown}` from the page: {why}", sp.ty),
            ));
        }
    }
    for sp in &m.params {
        if !documented
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&sp.name))
        {
            out.push(diff(
                s,
                m,
                &format!("params.{}", sp.name),
                "in the spec, not documented on the page".into(),
            ));
        }
    }
    if let (Some(ex), Some(doc)) = (&m.example, &page.example)
        && let Ok(ex) = serde_json::from_str::<Value>(ex)
    {
        let doc_result = doc.get("result").unwrap_or(doc);
        // A REST 3.0 page shows `{result, time}`; a spec's example may be that answer without
        // `time` (`{"result":{"result":true}}` for `wrapped:result:bool`).
        let v3_result = doc.get("time").and(doc.get("result"));
        if ex != *doc && ex != *doc_result && v3_result.is_none_or(|r| ex != json!({ "result": r }))
        {
            out.push(diff(
                s,
                m,
                "example",
                "differs from the page's example response".into(),
            ));
        }
    }
    out
}

/// Why a spec type cannot hold what the page documents, or `None` when they agree (or the page
/// says too little to tell).
fn type_mismatch(spec: &Ty, doc: &str) -> Option<&'static str> {
    let doc = Ty::parse(doc).ok()?;
    let kind = |t: &Ty| match t {
        Ty::String | Ty::Secret | Ty::Enum(_) => "text",
        Ty::Int | Ty::Id | Ty::Float | Ty::Decimal => "number",
        Ty::Bool => "bool",
        Ty::Flag => "flag",
        Ty::Date | Ty::Datetime => "time",
        Ty::Object | Ty::Map(_) | Ty::Entity(_) => "object",
        Ty::List(_) => "list",
        Ty::Value => "any",
    };
    match (kind(spec), kind(&doc)) {
        (_, "any") | ("any", _) => None,
        (a, b) if a == b => match (spec, &doc) {
            (Ty::String, Ty::Enum(_)) => Some("the page lists its values: an enum"),
            _ => None,
        },
        ("bool" | "text", "flag") => {
            Some("the page lists Y/N: a `flag` (sent as Y/N, not true/false or any text)")
        }
        ("list", "object") => Some("the examples send an object, not a list"),
        ("object", "list") => Some("the examples send a list, not an object"),
        // A flag is a bool that travels as Y/N; dates travel as text.
        ("flag", "bool") | ("text", "time") | ("time", "text") => None,
        ("bool", "text") => Some("the page documents letters, not a boolean"),
        _ => Some("different kinds of value"),
    }
}
