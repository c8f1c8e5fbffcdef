//! The rules that span items and files, and loading a directory of specs.

use std::collections::BTreeMap;
use std::path::Path;

use super::model::{PACKS, Spec, SpecError, SpecErrors};
use super::parse::parse_spec;
use super::types::{Pagination, Ref, Ty};

/// The owner of every entity and enum across a set of specs.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// Entity name -> pack.
    pub entities: BTreeMap<String, String>,
    /// Enum name -> pack.
    pub enums: BTreeMap<String, String>,
}

impl Index {
    /// Builds the index (after [`validate`] passed).
    pub fn new(specs: &[Spec]) -> Index {
        let mut idx = Index::default();
        for s in specs {
            for n in s.entities.keys() {
                idx.entities.insert(n.clone(), s.pack.clone());
            }
            for n in s.enums.keys() {
                idx.enums.insert(n.clone(), s.pack.clone());
            }
        }
        idx
    }

    /// The pack that defines a referenced item.
    pub fn owner(&self, r: &Ref) -> Option<&str> {
        match r {
            Ref::Entity(n) => self.entities.get(n).map(String::as_str),
            Ref::Enum(n) => self.enums.get(n).map(String::as_str),
        }
    }
}

/// A user field created on one portal, by the prefix the portal gives it: `UF_CRM_...` (legacy
/// CRM entities, `crm.<entity>.userfield.add`) or `ufCrm...` (D7 items), `UF_USR_...` (users,
/// user/userfields/user-userfield-add.md) and `UF_AUTO_...` (tasks, the `UF_AUTO_291715100499`
/// of tasks/template/tasks-template-fields.md). Each is named after its portal
/// (`UF_CRM_64A29A1CD5CC2`), so no spec can know them. The documented system fields named `UF_*`
/// (`UF_DEPARTMENT` of `user.get`, `UF_HEAD` of `department.get`) are fields like any other.
fn is_portal_user_field(name: &str) -> bool {
    ["UF_CRM_", "ufCrm", "UF_USR_", "UF_AUTO_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Checks the rules that span items and files: duplicates across packs, dangling references,
/// keyset pagination needing an entity with an id, Rust name clashes, user fields in entities.
pub fn validate(specs: &[Spec]) -> Result<(), SpecErrors> {
    let mut errs = Vec::new();
    let mut packs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut methods: BTreeMap<String, &str> = BTreeMap::new();
    let mut types: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for s in specs {
        if let Some(prev) = packs.insert(&s.pack, &s.file) {
            errs.push(SpecError::new(
                &s.file,
                None,
                None,
                format!("pack `{}` is also defined in {prev}", s.pack),
            ));
        }
        // Method names are case-insensitive on the portal; v2 and REST 3.0 names are apart.
        for (kind, names) in [("method", &s.methods), ("v3 method", &s.v3_methods)] {
            for name in names.keys() {
                let key = format!("{kind} {}", name.to_ascii_lowercase());
                if let Some(prev) = methods.insert(key, &s.file) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("{kind} `{name}`")),
                        None,
                        format!("duplicate {kind}: also defined in {prev}"),
                    ));
                }
            }
        }
        for (kind, names) in [
            ("entity", s.entities.keys().collect::<Vec<_>>()),
            ("enum", s.enums.keys().collect::<Vec<_>>()),
        ] {
            for name in names {
                if let Some((pk, pf)) = types.insert(name, (kind, &s.file)) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("{kind} `{name}`")),
                        None,
                        format!("duplicate {kind}: the name is also defined as {pk} in {pf}"),
                    ));
                }
            }
        }
    }
    let idx = Index::new(specs);
    let check_refs = |errs: &mut Vec<SpecError>, s: &Spec, item: &str, field: &str, ty: &Ty| {
        let mut refs = Vec::new();
        ty.refs(&mut refs);
        for r in refs {
            if idx.owner(&r).is_none() {
                let (kind, n) = match &r {
                    Ref::Entity(n) => ("entity", n),
                    Ref::Enum(n) => ("enum", n),
                };
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.to_owned()),
                    Some(field),
                    format!("unknown type `{kind}:{n}`: no {kind} `{n}` is defined in any spec"),
                ));
            }
        }
    };
    for s in specs {
        for (ename, e) in &s.entities {
            let item = format!("entity `{ename}`");
            let mut rust = BTreeMap::new();
            for f in &e.fields {
                let field = format!("fields.{}", f.name);
                check_refs(&mut errs, s, &item, &field, &f.ty);
                let mut fail = |message: String| {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&field),
                        message,
                    ));
                };
                let ident = crate::naming::field_ident(&f.name);
                if ident == "extra" {
                    fail("the Rust name `extra` is reserved for unknown fields".into());
                }
                if is_portal_user_field(&f.name) {
                    fail(format!(
                        "`{}` is a user field: those belong to one portal, not to the \
                         entity (they are kept in `extra`; read and write them with `uf`/`set_uf`)",
                        f.name
                    ));
                }
                if let Some(prev) = rust.insert(ident.clone(), &f.name) {
                    fail(format!("Rust name `{ident}` clashes with field `{prev}`"));
                }
            }
            if let Some(f) = e.id_field()
                && !matches!(f.ty, Ty::Id | Ty::Int | Ty::String)
            {
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.clone()),
                    Some("id"),
                    format!(
                        "the id field `{}` must be of type id, int or string, not {}",
                        f.name, f.ty
                    ),
                ));
            }
        }
        for (ename, e) in &s.enums {
            let mut rust = BTreeMap::new();
            for (wire, label) in &e.values {
                let v = crate::naming::enum_variant(wire, label);
                if v == "Unknown" {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("enum `{ename}`")),
                        Some(&format!("values.{wire}")),
                        "the variant name `Unknown` is reserved",
                    ));
                }
                if let Some(prev) = rust.insert(v.clone(), wire) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(format!("enum `{ename}`")),
                        Some(&format!("values.{wire}")),
                        format!("variant name `{v}` clashes with value `{prev}`"),
                    ));
                }
            }
        }
        // Rust type names inside the pack module.
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for n in s.entities.keys() {
            names.insert(n.clone(), format!("entity `{n}`"));
        }
        for n in s.enums.keys() {
            names.insert(n.clone(), format!("enum `{n}`"));
        }
        names.insert("Event".into(), "the pack's `Event` enum".into());
        for m in s.all_methods() {
            let mname = &m.name;
            let item = if m.v3_only {
                format!("v3 method `{mname}`")
            } else {
                format!("method `{mname}`")
            };
            // A REST 3.0 list pages through its `pagination` object.
            if m.v3_only
                && m.pagination != Pagination::None
                && !m
                    .params
                    .iter()
                    .any(|p| p.name == "pagination" && matches!(p.ty, Ty::Object))
            {
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.clone()),
                    Some("pagination"),
                    "a REST 3.0 list needs a `pagination` parameter of type `object`",
                ));
            }
            for p in &m.params {
                check_refs(&mut errs, s, &item, &format!("params.{}", p.name), &p.ty);
            }
            let mut rust = BTreeMap::new();
            for p in &m.params {
                let ident = crate::naming::field_ident(&p.name);
                if let Some(prev) = rust.insert(ident.clone(), &p.name) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("params.{}", p.name)),
                        format!("Rust name `{ident}` clashes with parameter `{prev}`"),
                    ));
                }
            }
            check_refs(&mut errs, s, &item, "response", m.response.ty());
            if m.pagination != Pagination::None
                && let Some(row) = m.response.list_item()
                && !matches!(row, Ty::Entity(_) | Ty::Enum(_) | Ty::Value)
            {
                errs.push(SpecError::new(
                    &s.file,
                    Some(item.clone()),
                    Some("pagination"),
                    format!(
                        "a paginated method's rows must be an entity, an enum or `value`, not `{row}`"
                    ),
                ));
            }
            if m.pagination == Pagination::Keyset {
                let ok = match m.response.list_item() {
                    Some(Ty::Entity(n)) => specs
                        .iter()
                        .find_map(|s| s.entities.get(n))
                        .is_some_and(|e| e.id_field().is_some()),
                    _ => false,
                };
                if !ok {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some("pagination"),
                        "`keyset` needs a list of an entity whose `id` field is set",
                    ));
                }
                // The walk sets `order` to {ID: ASC} and adds `>ID` to `filter`: both must be
                // objects on the wire.
                for needed in ["order", "filter"] {
                    let object = m
                        .params
                        .iter()
                        .any(|p| p.name.eq_ignore_ascii_case(needed) && matches!(p.ty, Ty::Object));
                    if !object {
                        errs.push(SpecError::new(
                            &s.file,
                            Some(item.clone()),
                            Some("pagination"),
                            format!("`keyset` needs an `{needed}` parameter of type `object`; use `offset`"),
                        ));
                    }
                }
            }
            for p in &m.params {
                // The portal reads the page offset only as lowercase `start`.
                if p.name.eq_ignore_ascii_case("start") && p.name != "start" {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        Some(&format!("params.{}", p.name)),
                        "the page offset is read only as lowercase `start`",
                    ));
                }
            }
            let rname = m.struct_name();
            for n in [rname.clone(), format!("{rname}Response")] {
                if let Some(prev) = names.insert(n.clone(), item.clone()) {
                    errs.push(SpecError::new(
                        &s.file,
                        Some(item.clone()),
                        None,
                        format!("Rust type name `{n}` clashes with {prev}; set `rust_name`"),
                    ));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(SpecErrors(errs))
    }
}

/// Reads and parses every `*.toml` file of a directory (sorted by name), then [`validate`]s them.
/// `label_dir` is the directory name used in messages (`specs`).
pub fn load_dir(dir: &Path, label_dir: &str) -> Result<Vec<Spec>, SpecErrors> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(SpecErrors(vec![SpecError::new(
                &dir.display().to_string(),
                None,
                None,
                format!("cannot read the spec directory: {e}"),
            )]));
        }
    };
    files.sort();
    let mut specs = Vec::new();
    let mut errs = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let label = format!("{label_dir}/{name}");
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_spec(&label, &text) {
                Ok(s) => specs.push(s),
                Err(mut e) => errs.append(&mut e.0),
            },
            Err(e) => errs.push(SpecError::new(
                &label,
                None,
                None,
                format!("cannot read: {e}"),
            )),
        }
    }
    if !errs.is_empty() {
        return Err(SpecErrors(errs));
    }
    validate(&specs)?;
    specs.sort_by_key(|s| {
        PACKS
            .iter()
            .position(|p| *p == s.pack)
            .unwrap_or(usize::MAX)
    });
    Ok(specs)
}
