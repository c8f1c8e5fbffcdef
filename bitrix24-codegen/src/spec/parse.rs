//! Parsing one spec file: the raw TOML shapes, then every item checked on its own (keys, types,
//! docs paths, names); the rules across items and files are in `validate`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::model::{
    EntitySpec, EnumSpec, FieldSpec, MethodSpec, PACKS, ParamSpec, Spec, SpecError, SpecErrors,
};
use super::types::{Pagination, Response, Risk, Ty, check_type_name};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pack: Option<toml::Value>,
    #[serde(default, rename = "enum")]
    enums: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "entity")]
    entities: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "method")]
    methods: BTreeMap<String, toml::Value>,
    #[serde(default, rename = "v3")]
    v3_methods: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    terms: Vec<String>,
    #[serde(default)]
    events: Vec<RawEvent>,
}

/// An event: its name, or `{ name = "ONCRMDEALADD", docs = "crm/deals/events/on-crm-deal-add.md" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawEvent {
    Name(String),
    Full(RawEventFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventFull {
    name: String,
    docs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnum {
    doc: Option<String>,
    values: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Short(String),
    Long(RawFieldLong),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldLong {
    #[serde(rename = "type")]
    ty: String,
    doc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    doc: Option<String>,
    docs: Option<String>,
    id: Option<String>,
    fields: Option<BTreeMap<String, RawField>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawParam {
    Short(String),
    Long(RawParamLong),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParamLong {
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(default)]
    required: bool,
    doc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    summary: Option<String>,
    docs: Option<String>,
    risk: Option<String>,
    scopes: Option<Vec<String>>,
    idempotent: Option<bool>,
    response: Option<String>,
    v3: Option<String>,
    pagination: Option<String>,
    keyset_field: Option<String>,
    /// In document order (the `preserve_order` feature of `toml`): `new` takes the required
    /// parameters in the order the docs list them.
    #[serde(default)]
    params: toml::Table,
    example: Option<String>,
    rust_name: Option<String>,
    value_why: Option<String>,
    docs_differs: Option<String>,
    deprecated: Option<String>,
}

/// An `[enum.X]`/`[entity.X]` table read as `T`, after checking that `name` is a usable type
/// name; problems go to `errs`, naming the item (returned for later messages).
fn named_table<T: serde::de::DeserializeOwned>(
    file: &str,
    errs: &mut Vec<SpecError>,
    kind: &str,
    name: &str,
    value: toml::Value,
) -> (Option<String>, Option<T>) {
    let item = Some(format!("{kind} `{name}`"));
    if let Err(e) = check_type_name(name) {
        errs.push(SpecError::new(file, item.clone(), None, e));
    }
    match value.try_into::<T>() {
        Ok(r) => (item, Some(r)),
        Err(e) => {
            errs.push(SpecError::new(
                file,
                item.clone(),
                None,
                clean_toml_error(&e),
            ));
            (item, None)
        }
    }
}

fn clean_toml_error(e: &impl fmt::Display) -> String {
    e.to_string().trim().replace('\n', "\n    ")
}

/// Checks a `docs` path: relative, ends in `.md`, no `..`, no spaces or backslashes.
#[allow(clippy::case_sensitive_file_extension_comparisons)] // the docs repo uses `.md` only
pub fn check_docs_path(docs: &str) -> Result<(), String> {
    if docs.trim().is_empty() {
        return Err("broken docs path: empty".into());
    }
    if docs.starts_with('/') || docs.contains("://") {
        return Err(format!(
            "broken docs path `{docs}`: must be relative to api-reference/ (like `crm/deals/crm-deal-add.md`)"
        ));
    }
    if !docs.ends_with(".md") {
        return Err(format!("broken docs path `{docs}`: must end in `.md`"));
    }
    if docs
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || docs.contains(char::is_whitespace)
        || docs.contains('\\')
    {
        return Err(format!(
            "broken docs path `{docs}`: empty, `.` or `..` segment, space or backslash"
        ));
    }
    Ok(())
}

/// Parses one spec file's text. `file` is the name used in messages (`specs/core.toml`); the pack
/// name must equal its stem.
pub fn parse_spec(file: &str, text: &str) -> Result<Spec, SpecErrors> {
    let mut errs = Vec::new();
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| SpecErrors(vec![SpecError::new(file, None, None, clean_toml_error(&e))]))?;
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();

    // [pack]
    let pack_item = Some("[pack]".to_owned());
    let mut spec = Spec {
        file: file.to_owned(),
        pack: stem.clone(),
        summary: String::new(),
        terms: Vec::new(),
        events: Vec::new(),
        event_docs: BTreeMap::new(),
        enums: BTreeMap::new(),
        entities: BTreeMap::new(),
        methods: BTreeMap::new(),
        v3_methods: BTreeMap::new(),
    };
    match raw.pack.map(toml::Value::try_into::<RawPack>) {
        None => errs.push(SpecError::new(
            file,
            None,
            None,
            "missing the `[pack]` table",
        )),
        Some(Err(e)) => errs.push(SpecError::new(
            file,
            pack_item.clone(),
            None,
            clean_toml_error(&e),
        )),
        Some(Ok(p)) => {
            match p.name {
                Some(n) if n == stem => {}
                Some(n) => errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    format!("pack name `{n}` must equal the file name `{stem}`"),
                )),
                None => errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    "missing",
                )),
            }
            if !PACKS.contains(&stem.as_str()) {
                errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("name"),
                    format!(
                        "unknown pack `{stem}` (expected one of {})",
                        PACKS.join(", ")
                    ),
                ));
            }
            spec.summary = p.summary.unwrap_or_default();
            if spec.summary.trim().is_empty() {
                errs.push(SpecError::new(
                    file,
                    pack_item.clone(),
                    Some("summary"),
                    "missing or empty",
                ));
            }
            spec.terms = p.terms;
            for ev in p.events {
                let (name, docs) = match ev {
                    RawEvent::Name(n) => (n, None),
                    RawEvent::Full(RawEventFull { name, docs }) => (name, docs),
                };
                if let Some(d) = docs {
                    spec.event_docs.insert(name.clone(), d);
                }
                spec.events.push(name);
            }
            errs.extend(check_events(file, &spec));
        }
    }

    for (name, value) in raw.enums {
        let (item, Some(r)) = named_table::<RawEnum>(file, &mut errs, "enum", &name, value) else {
            continue;
        };
        let values = r.values.unwrap_or_default();
        if values.is_empty() {
            errs.push(SpecError::new(
                file,
                item.clone(),
                Some("values"),
                "missing or empty",
            ));
        }
        spec.enums.insert(
            name,
            EnumSpec {
                doc: r.doc.unwrap_or_default(),
                values: values.into_iter().collect(),
            },
        );
    }

    for (name, value) in raw.entities {
        let (item, Some(r)) = named_table::<RawEntity>(file, &mut errs, "entity", &name, value)
        else {
            continue;
        };
        if let Some(d) = &r.docs
            && let Err(e) = check_docs_path(d)
        {
            errs.push(SpecError::new(file, item.clone(), Some("docs"), e));
        }
        let mut fields = Vec::new();
        for (fname, f) in r.fields.unwrap_or_default() {
            let (ty, doc) = match f {
                RawField::Short(t) => (t, None),
                RawField::Long(RawFieldLong { ty, doc }) => (ty, doc),
            };
            match Ty::parse(&ty) {
                Ok(ty) => fields.push(FieldSpec {
                    name: fname,
                    ty,
                    doc,
                }),
                Err(e) => errs.push(SpecError::new(
                    file,
                    item.clone(),
                    Some(&format!("fields.{fname}")),
                    e,
                )),
            }
        }
        if let Some(id) = &r.id
            && !fields.iter().any(|f| &f.name == id)
            && !errs.iter().any(|e| e.item == item)
        {
            errs.push(SpecError::new(
                file,
                item.clone(),
                Some("id"),
                format!("`{id}` is not one of the entity's fields"),
            ));
        }
        spec.entities.insert(
            name,
            EntitySpec {
                doc: r.doc.unwrap_or_default(),
                docs: r.docs,
                id: r.id,
                fields,
            },
        );
    }

    for (name, value) in raw.methods {
        match parse_method(file, &name, value, false) {
            Ok(m) => {
                spec.methods.insert(name, m);
            }
            Err(mut e) => errs.append(&mut e),
        }
    }
    for (name, value) in raw.v3_methods {
        match parse_method(file, &name, value, true) {
            Ok(m) => {
                // A method both versions have with different params: the REST 3.0 form takes the
                // plain name (`TasksTaskGet`, what `ApiVersion::Auto` sends) and the v2 form gets
                // `V2` (`TasksTaskGetV2`), unless the spec names it.
                if let Some(v2) = spec.methods.get_mut(&name)
                    && v2.rust_name.is_none()
                {
                    v2.rust_name =
                        Some(format!("{}V2", crate::naming::request_struct(&name, None)));
                }
                spec.v3_methods.insert(name, m);
            }
            Err(mut e) => errs.append(&mut e),
        }
    }

    if errs.is_empty() {
        Ok(spec)
    } else {
        Err(SpecErrors(errs))
    }
}

/// The `events` of `[pack]`: names, docs pages, and Rust variant names that are unique.
fn check_events(file: &str, spec: &Spec) -> Vec<SpecError> {
    let item = Some("[pack]".to_owned());
    let err = |msg: String| SpecError::new(file, item.clone(), Some("events"), msg);
    let mut errs = Vec::new();
    let mut wire = BTreeSet::new();
    let mut variants = BTreeMap::new();
    for ev in &spec.events {
        if ev.is_empty()
            || !ev.starts_with(|c: char| c.is_ascii_alphabetic())
            || !ev
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            errs.push(err(format!(
                "event name `{ev}` must be ASCII letters, digits, `_` and `.`"
            )));
            continue;
        }
        if !wire.insert(ev.to_ascii_uppercase()) {
            errs.push(err(format!(
                "event `{ev}` is listed twice (names compare case-insensitively)"
            )));
        }
        let docs = spec.event_docs.get(ev).map(String::as_str);
        if let Some(d) = docs {
            if let Err(e) = check_docs_path(d) {
                errs.push(err(format!("event `{ev}`: {e}")));
                continue;
            }
            if !crate::naming::page_names_event(d, ev) {
                errs.push(err(format!(
                    "event `{ev}`: the docs page `{d}` is not the event's page (its file name \
                     spells another name)"
                )));
                continue;
            }
        }
        match crate::naming::event_variant(ev, docs) {
            Some(v) => {
                if let Some(prev) = variants.insert(v.clone(), ev) {
                    errs.push(err(format!(
                        "events `{prev}` and `{ev}` both become the Rust variant `{v}`"
                    )));
                }
            }
            None => errs.push(err(format!(
                "event `{ev}` runs its words together: write it as \
                 `{{ name = \"{ev}\", docs = \"<path of its docs page>\" }}`; the page's file \
                 name (`on-crm-deal-add.md`) gives the words of the Rust variant"
            ))),
        }
    }
    errs
}

/// One `[method."name"]` entry, or with `v3_only` one `[v3."name"]` entry (named by its REST 3.0
/// name, which it may not repeat in a `v3` key; paged by `offset` or `cursor`, never `keyset`).
fn parse_method(
    file: &str,
    name: &str,
    value: toml::Value,
    v3_only: bool,
) -> Result<MethodSpec, Vec<SpecError>> {
    let item = Some(if v3_only {
        format!("v3 method `{name}`")
    } else {
        format!("method `{name}`")
    });
    let err = |field: Option<&str>, msg: String| SpecError::new(file, item.clone(), field, msg);
    let mut errs = Vec::new();
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
    {
        errs.push(err(
            None,
            "a method name starts with a letter and is ASCII letters, digits, `_` and single dots"
                .into(),
        ));
    }
    let raw: RawMethod = match value.try_into() {
        Ok(r) => r,
        Err(e) => return Err(vec![err(None, clean_toml_error(&e))]),
    };
    let summary = raw.summary.unwrap_or_default();
    if summary.trim().is_empty() {
        errs.push(err(Some("summary"), "missing or empty".into()));
    }
    let docs = raw.docs.unwrap_or_default();
    if let Err(e) = check_docs_path(&docs) {
        errs.push(err(Some("docs"), e));
    }
    let risk = match raw.risk.as_deref() {
        Some(r) => match Risk::parse(r) {
            Some(risk) => Some(risk),
            None => {
                errs.push(err(
                    Some("risk"),
                    format!(
                        "unknown risk class `{r}` (expected {})",
                        Risk::spellings("")
                    ),
                ));
                None
            }
        },
        None => {
            errs.push(err(
                Some("risk"),
                format!("missing risk class ({})", Risk::spellings("")),
            ));
            None
        }
    };
    let scopes = match raw.scopes {
        Some(s) => s,
        None => {
            errs.push(err(
                Some("scopes"),
                "missing (use `scopes = []` for global methods)".into(),
            ));
            Vec::new()
        }
    };
    for s in &scopes {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            errs.push(err(Some("scopes"), format!("bad scope name `{s}`")));
        }
    }
    let response = match raw.response.as_deref() {
        None => {
            errs.push(err(Some("response"), "missing".into()));
            None
        }
        Some(r) => match Response::parse(r) {
            Ok(r) => Some(r),
            Err(e) => {
                errs.push(err(Some("response"), e));
                None
            }
        },
    };
    let pagination = match raw.pagination.as_deref() {
        None | Some("none") => Pagination::None,
        Some("offset") => Pagination::Offset,
        Some("keyset") => Pagination::Keyset,
        Some("cursor") => Pagination::Cursor,
        Some(other) => {
            errs.push(err(
                Some("pagination"),
                format!("unknown pagination `{other}` (expected none, offset, keyset or cursor)"),
            ));
            Pagination::None
        }
    };
    if pagination != Pagination::None
        && let Some(r) = &response
        && r.list_item().is_none()
    {
        errs.push(err(
            Some("pagination"),
            format!(
                "`{}` is set but the response `{r}` is not a list",
                pagination.as_str()
            ),
        ));
    }
    if v3_only && raw.v3.is_some() {
        errs.push(err(
            Some("v3"),
            "a `[v3]` entry is named by its REST 3.0 name; drop `v3`".into(),
        ));
    }
    if v3_only && matches!(pagination, Pagination::Keyset) {
        errs.push(err(
            Some("pagination"),
            "REST 3.0 lists page by `offset` (pagination.page/limit) or `cursor`, not `keyset`"
                .into(),
        ));
    }
    if !v3_only && matches!(pagination, Pagination::Cursor) {
        errs.push(err(
            Some("pagination"),
            "`cursor` is the REST 3.0 form: only for `[v3]` entries".into(),
        ));
    }
    if let Some(v3) = &raw.v3
        && (v3.is_empty() || v3.contains(char::is_whitespace) || v3.contains('/'))
    {
        errs.push(err(Some("v3"), format!("bad REST 3.0 name `{v3}`")));
    }
    if let Some(ex) = &raw.example
        && let Err(e) = serde_json::from_str::<serde_json::Value>(ex)
    {
        errs.push(err(Some("example"), format!("not valid JSON: {e}")));
    }
    if let Some(rn) = &raw.rust_name
        && let Err(e) = check_type_name(rn)
    {
        errs.push(err(Some("rust_name"), e));
    }
    let mut params = Vec::new();
    for (pname, pvalue) in raw.params {
        let field = format!("params.{pname}");
        if pname.is_empty() {
            errs.push(err(Some(&field), "empty parameter name".into()));
            continue;
        }
        let p = match pvalue.try_into::<RawParam>() {
            Ok(RawParam::Short(t)) => RawParamLong {
                ty: Some(t),
                required: false,
                doc: None,
            },
            Ok(RawParam::Long(l)) => l,
            Err(e) => {
                errs.push(err(
                    Some(&field),
                    format!(
                        "expected a type string or {{ type = \"...\", required = bool, doc = \"...\" }}: {}",
                        clean_toml_error(&e)
                    ),
                ));
                continue;
            }
        };
        let Some(ty) = p.ty else {
            errs.push(err(Some(&format!("{field}.type")), "missing".into()));
            continue;
        };
        match Ty::parse(&ty) {
            Ok(ty) => params.push(ParamSpec {
                name: pname,
                ty,
                required: p.required,
                doc: p.doc,
            }),
            Err(e) => errs.push(err(Some(&format!("{field}.type")), e)),
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let risk = risk.expect("checked");
    Ok(MethodSpec {
        name: name.to_owned(),
        summary,
        docs,
        risk,
        scopes,
        idempotent: raw.idempotent.unwrap_or(risk.default_idempotent()),
        response: response.expect("checked"),
        v3: if v3_only {
            Some(name.to_owned())
        } else {
            raw.v3
        },
        v3_only,
        pagination,
        params,
        example: raw.example,
        rust_name: raw.rust_name,
        keyset_field: raw.keyset_field,
        value_why: raw.value_why,
        docs_differs: raw.docs_differs,
        deprecated: raw.deprecated,
    })
}
