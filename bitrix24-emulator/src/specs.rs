//! Entity families derived from the method specs (`specs/*.toml`).
//!
//! An entity of a spec becomes a family when the spec has methods `<prefix>.get|list` **and**
//! `<prefix>.add|update` that return or take it; the family then serves
//! `<prefix>.add|get|list|update|delete|fields` plus the spec's own aliases (`getFields`,
//! `getList`). Key style follows the entity's field names (UPPER_SNAKE = legacy, camelCase = D7)
//! and result shapes follow each method's `response`.
//!
//! The portal's own families (`crm.deal`, `crm.lead`, `crm.contact`, `crm.company`,
//! `tasks.task`) are spec entities too, with the emulator-only facts of [`crate::overlay`]; they
//! serve exactly the spec's methods of their prefix and render keys in the portal's order (that
//! of the fullest documented `example`).

use crate::entity::{
    EntityFamily, Family, FieldDefault, FieldSpec, FieldType, Flavor, KeyStyle, NumberStyle, Shape,
};
use crate::overlay::{self, Overlay};
use bitrix24_codegen::spec::{self, EntitySpec, MethodSpec, Response, Spec, Ty};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// The workspace specs, embedded at compile time.
const EMBEDDED: &[(&str, &str)] = &[
    ("specs/core.toml", include_str!("../../specs/core.toml")),
    ("specs/comms.toml", include_str!("../../specs/comms.toml")),
    (
        "specs/automation.toml",
        include_str!("../../specs/automation.toml"),
    ),
    ("specs/collab.toml", include_str!("../../specs/collab.toml")),
    (
        "specs/content.toml",
        include_str!("../../specs/content.toml"),
    ),
    ("specs/boards.toml", include_str!("../../specs/boards.toml")),
    (
        "specs/commerce.toml",
        include_str!("../../specs/commerce.toml"),
    ),
    (
        "specs/services.toml",
        include_str!("../../specs/services.toml"),
    ),
    (
        "specs/platform.toml",
        include_str!("../../specs/platform.toml"),
    ),
    ("specs/sites.toml", include_str!("../../specs/sites.toml")),
    (
        "specs/compliance.toml",
        include_str!("../../specs/compliance.toml"),
    ),
    (
        "specs/diagnostics.toml",
        include_str!("../../specs/diagnostics.toml"),
    ),
];

/// Parses the embedded specs (a file that fails to parse is skipped with a warning).
pub(crate) fn embedded() -> Vec<Spec> {
    EMBEDDED
        .iter()
        .filter_map(|(file, text)| match spec::parse_spec(file, text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("spec {file} skipped: {e}");
                None
            }
        })
        .collect()
}

/// Loads every `*.toml` of `dir`.
pub(crate) fn from_dir(dir: &std::path::Path) -> std::io::Result<Vec<Spec>> {
    spec::load_dir(dir, "specs").map_err(|e| std::io::Error::other(e.to_string()))
}

/// The documented "not found" errors of the `get` methods (code, description).
const NOT_FOUND: &[(&str, &str, &str)] = &[
    ("sale.order", "201240400001", "Order not found"),
    ("sale.payment", "200640400001", "Payment not found"),
    ("sale.shipment", "201140400001", "Shipment not found"),
    ("catalog.product", "0", "The product does not exist"),
    ("catalog.price", "0", "Price does not exist"),
    (
        "catalog.section",
        "200700300030",
        "Catalog section with this identifier does not exist",
    ),
    ("crm.category", "NOT_FOUND", "Element not found"),
    (
        "biconnector.source",
        "SOURCE_NOT_FOUND",
        "Source was not found.",
    ),
    (
        "biconnector.connector",
        "CONNECTOR_NOT_FOUND",
        "Connector was not found.",
    ),
    ("tasks.api.scrum.sprint", "0", "Sprint not found"),
];

/// Families whose `add` answers `{"id": <new id>}` (`biconnector-source-add.md`,
/// `biconnector-connector-add.md`), where the spec's response is a plain `value`.
const ADD_ANSWERS_ID_OBJECT: &[&str] = &["biconnector.source", "biconnector.connector"];

const STANDARD: [&str; 6] = ["add", "get", "list", "update", "delete", "fields"];

/// Maps a spec method's last segment to a standard action.
fn action_of(last: &str) -> Option<&'static str> {
    match last.to_ascii_lowercase().as_str() {
        "add" => Some("add"),
        "get" => Some("get"),
        "list" | "getlist" => Some("list"),
        "update" => Some("update"),
        "delete" => Some("delete"),
        "fields" | "getfields" => Some("fields"),
        _ => None,
    }
}

fn refers_to(m: &MethodSpec, entity: &str) -> bool {
    let is = |t: &Ty| matches!(t, Ty::Entity(n) if n == entity);
    let resp = match &m.response {
        Response::Plain(t)
        | Response::List(t)
        | Response::Wrapped(_, t)
        | Response::WrappedList(_, t)
        | Response::Map(t) => is(t),
    };
    resp || m.params.iter().any(|p| is(&p.ty))
}

/// `camelCase` -> `UPPER_SNAKE` (`dateInsert` -> `DATE_INSERT`, `id1c` -> `ID1C`).
fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn is_upper_style(e: &EntitySpec) -> bool {
    e.fields
        .iter()
        .any(|f| f.name.len() > 1 && f.name.chars().all(|c| !c.is_ascii_lowercase()))
        && !e.fields.iter().any(|f| {
            f.name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
        })
}

fn field_type(t: &Ty) -> FieldType {
    match t {
        Ty::Id | Ty::Int => FieldType::Int,
        Ty::Float => FieldType::Float,
        Ty::Decimal => FieldType::Money,
        Ty::Bool | Ty::Flag => FieldType::Char,
        Ty::Date => FieldType::Date,
        Ty::Datetime => FieldType::DateTime,
        Ty::String | Ty::Secret | Ty::Enum(_) => FieldType::String,
        Ty::Object | Ty::Value | Ty::List(_) | Ty::Map(_) | Ty::Entity(_) => FieldType::Json,
    }
}

fn shape_of(resp: Option<&Response>, default: Shape) -> Shape {
    match resp {
        Some(Response::Plain(Ty::Id | Ty::Int)) => Shape::BareId,
        Some(Response::Plain(Ty::Bool | Ty::Flag)) => Shape::True,
        Some(Response::Plain(Ty::Entity(_))) => Shape::Row,
        Some(Response::Wrapped(k, _)) => Shape::Wrapped(k.clone(), Box::new(Shape::Row)),
        _ => default,
    }
}

/// Prefixes whose spec lists only reads (and `delete`/`fields`) while the docs also document
/// `add`/`update`/`delete` (`crm-activity-add.md`, `crm-status-add.md`, ... at b24restdocs
/// `5988ed13`): they get the full generic family. Every other read-only prefix serves only the
/// methods its spec lists (`catalog.catalog` has no documented `add`).
const DOCUMENTED_CRUD: &[&str] = &["crm.activity", "crm.status"];

/// Entities whose documented API is not a generic family: they get a store under the given key
/// and hand-written handlers (`crate::handlers`) under the spec's method names.
pub(crate) const CUSTOM: &[(&str, &str)] = &[
    ("Workgroup", "sonet_group"),
    ("Chat", "im.chat"),
    ("Message", "im.message"),
    ("Storage", "disk.storage"),
    ("DiskFolder", "disk.folder"),
    ("DiskFile", "disk.file"),
];

/// The pack's event names a family fires per action: `ON<PREFIX>ADD|UPDATE|DELETE`,
/// `ON<PREFIX>SAVED`, `ON<LAST>ENTITYSAVED` and `ON<LAST>DELETED` (`sale.payment` ->
/// `ONPAYMENTENTITYSAVED`), kept only when the pack's `events` list names them.
pub(crate) fn pack_events(pack: &[String], prefix: &str) -> HashMap<&'static str, Vec<String>> {
    let whole: String = prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let last = prefix
        .rsplit('.')
        .next()
        .unwrap_or(prefix)
        .replace('_', "")
        .to_ascii_uppercase();
    let saved = [format!("ON{whole}SAVED"), format!("ON{last}ENTITYSAVED")];
    let mut out = HashMap::new();
    for (action, mut names) in [
        ("ADD", vec![format!("ON{whole}ADD")]),
        ("UPDATE", vec![format!("ON{whole}UPDATE")]),
        (
            "DELETE",
            vec![format!("ON{whole}DELETE"), format!("ON{last}DELETED")],
        ),
    ] {
        if action != "DELETE" {
            names.extend(saved.iter().cloned());
        }
        names.retain(|n| pack.iter().any(|e| e.eq_ignore_ascii_case(n)));
        if !names.is_empty() {
            out.insert(action, names);
        }
    }
    out
}

/// Builds the spec-driven families, skipping prefixes in `taken`.
pub(crate) fn families(specs: &[Spec], taken: &[String]) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for s in specs {
        for (ename, ent) in &s.entities {
            if let Some(o) = overlay::of(ename) {
                if !taken.iter().any(|t| t == o.prefix)
                    && !out.iter().any(|f| f.spec.prefix == o.prefix)
                {
                    out.push(overlaid(s, ent, o));
                }
                continue;
            }
            // prefix -> action -> method
            let mut by_prefix: BTreeMap<String, HashMap<&'static str, &MethodSpec>> =
                BTreeMap::new();
            for m in s.methods.values() {
                if !refers_to(m, ename) {
                    continue;
                }
                let Some((prefix, last)) = m.name.rsplit_once('.') else {
                    continue;
                };
                if let Some(a) = action_of(last) {
                    by_prefix
                        .entry(prefix.to_string())
                        .or_default()
                        .insert(a, m);
                }
            }
            let mut covered = false;
            for (prefix, acts) in &by_prefix {
                let readable = acts.contains_key("get") || acts.contains_key("list");
                let writable = acts.contains_key("add") || acts.contains_key("update");
                if !readable || !writable {
                    continue;
                }
                covered = true;
                if taken.iter().any(|t| t == prefix) || out.iter().any(|f| &f.spec.prefix == prefix)
                {
                    continue;
                }
                out.push(build(s, prefix, ent, acts));
            }
            if covered {
                continue;
            }
            if let Some((_, key)) = CUSTOM.iter().find(|(e, _)| e == ename) {
                if taken.iter().any(|t| t == key) || out.iter().any(|f| &f.spec.prefix == key) {
                    continue;
                }
                // Methods returning the entity, whatever their names (for scope and shapes).
                let mut acts: HashMap<&'static str, &MethodSpec> = HashMap::new();
                for m in s.methods.values().filter(|m| refers_to(m, ename)) {
                    acts.entry("get").or_insert(m);
                }
                let mut fam = build(s, key, ent, &acts);
                fam.custom = true;
                fam.aliases.clear();
                fam.served.clear();
                out.push(fam);
                continue;
            }
            // A read-only spec: the prefix of its get/list methods.
            for (prefix, acts) in &by_prefix {
                if !(acts.contains_key("get") || acts.contains_key("list"))
                    || taken.iter().any(|t| t == prefix)
                    || out.iter().any(|f| &f.spec.prefix == prefix)
                {
                    continue;
                }
                let mut fam = build(s, prefix, ent, acts);
                if !DOCUMENTED_CRUD.contains(&prefix.as_str()) {
                    fam.served = methods_of(s, prefix)
                        .into_iter()
                        .filter(|l| action_of(l).is_some())
                        .collect();
                }
                out.push(fam);
            }
        }
    }
    out
}

fn build(
    s: &Spec,
    prefix: &str,
    ent: &EntitySpec,
    acts: &HashMap<&'static str, &MethodSpec>,
) -> Family {
    compile(s, entity_family(prefix, ent, acts))
}

/// The UPPER name of a spec field (`dateInsert` -> `DATE_INSERT` for camelCase entities).
pub(crate) fn upper_name(ent: &EntitySpec, name: &str) -> String {
    if is_upper_style(ent) {
        name.to_string()
    } else {
        upper_snake(name)
    }
}

/// The family description of a spec entity under `prefix`: its fields (the id first; `UF_*`
/// fields of the docs' example portal are left to the per-row user fields), key and number
/// style, scope, id parameter and result shapes from the methods in `acts`.
pub(crate) fn entity_family(
    prefix: &str,
    ent: &EntitySpec,
    acts: &HashMap<&'static str, &MethodSpec>,
) -> EntityFamily {
    let upper = is_upper_style(ent);
    let id_name = ent.id.clone().unwrap_or_else(|| {
        if upper {
            "ID".to_string()
        } else {
            "id".to_string()
        }
    });
    let mk = |name: &str, ty: FieldType| {
        let fs = FieldSpec::new(&upper_name(ent, name), ty);
        if upper { fs } else { fs.camel(name) }
    };
    let mut fields = vec![mk(&id_name, FieldType::Id)];
    for f in &ent.fields {
        if f.name == id_name || upper_name(ent, &f.name).starts_with("UF_") {
            continue;
        }
        let mut fs = mk(&f.name, field_type(&f.ty));
        if let Some(d) = &f.doc {
            fs.title.clone_from(d);
        }
        fields.push(fs);
    }
    let resp = |a: &str| acts.get(a).map(|m| &m.response);
    let scope = acts
        .get("get")
        .or_else(|| acts.get("list"))
        .or_else(|| acts.values().next())
        .and_then(|m| m.scopes.first().cloned())
        .unwrap_or_default();
    // The required `id` parameter, else a required integer (`crm.category.get` has both
    // `entityTypeId` and `id`: the id is `id`).
    let required = || {
        ["get", "update", "delete"]
            .iter()
            .filter_map(|a| acts.get(a))
            .flat_map(|m| m.params.iter())
            .filter(|p| p.required)
    };
    let id_param = required()
        .find(|p| p.ty == Ty::Id)
        .or_else(|| required().find(|p| p.ty == Ty::Int))
        .map_or_else(|| "id".to_string(), |p| p.name.clone());
    let list_wrapper = match resp("list") {
        Some(Response::WrappedList(k, _)) => Some(k.clone()),
        _ => None,
    };
    EntityFamily {
        prefix: prefix.to_string(),
        scope,
        entity_type_id: None,
        event_prefix: None,
        id_param,
        keys: if upper {
            KeyStyle::Upper
        } else {
            KeyStyle::Camel
        },
        numbers: if upper {
            NumberStyle::String
        } else {
            NumberStyle::Native
        },
        add: if ADD_ANSWERS_ID_OBJECT.contains(&prefix) {
            Shape::Wrapped("id".into(), Box::new(Shape::BareId))
        } else {
            shape_of(resp("add"), Shape::BareId)
        },
        get: shape_of(resp("get"), Shape::Row),
        update: shape_of(resp("update"), Shape::True),
        delete: shape_of(resp("delete"), Shape::True),
        list_wrapper,
        default_desc: false,
        partition: None,
        flavor: if upper { Flavor::LegacyCrm } else { Flavor::D7 },
        fields,
    }
}

/// Compiles a spec family: the pack's events, the `fields` wrapper of a wrapped `get`, the
/// documented "not found" error, the spec's aliases (`getFields`, `getList`), and the standard
/// six actions plus the aliases as the served methods.
fn compile(s: &Spec, spec: EntityFamily) -> Family {
    let prefix = spec.prefix.clone();
    let get = spec.get.clone();
    let mut fam = Family::new(spec);
    fam.origin.clone_from(&s.file);
    fam.events = pack_events(&s.events, &prefix);
    if let (None, Shape::Wrapped(k, _)) = (&fam.fields_wrapper, &get) {
        fam.fields_wrapper = Some(k.clone());
    }
    fam.not_found = NOT_FOUND
        .iter()
        .find(|(p, _, _)| *p == prefix)
        .map(|(_, c, d)| ((*c).to_string(), (*d).to_string()));
    // Every method of the prefix (getFields takes and returns no entity).
    for last in methods_of(s, &prefix) {
        if let Some(a) = action_of(&last)
            && !STANDARD.contains(&last.as_str())
        {
            fam.aliases.insert(last, a.to_string());
        }
    }
    fam.served = STANDARD.iter().map(|s| (*s).to_string()).collect();
    fam.served.extend(fam.aliases.keys().cloned());
    fam
}

/// The last segments (lower case) of the spec's methods named `<prefix>.<last>`.
fn methods_of(s: &Spec, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .methods
        .values()
        .filter_map(|m| {
            let (p, last) = m.name.rsplit_once('.')?;
            (p == prefix).then(|| last.to_ascii_lowercase())
        })
        .collect();
    v.sort();
    v
}

/// The spec's methods named `<prefix>.<action>`, by standard action.
fn actions_of<'s>(s: &'s Spec, prefix: &str) -> HashMap<&'static str, &'s MethodSpec> {
    s.methods
        .values()
        .filter_map(|m| {
            let (p, last) = m.name.rsplit_once('.')?;
            (p == prefix).then_some(())?;
            Some((action_of(last)?, m))
        })
        .collect()
}

/// An overlaid entity (`crm.deal`, `tasks.task`): the spec's family with the overlay applied,
/// serving exactly the spec's methods of the prefix that it can serve.
fn overlaid(s: &Spec, ent: &EntitySpec, o: &Overlay) -> Family {
    let acts = actions_of(s, o.prefix);
    let mut spec = entity_family(o.prefix, ent, &acts);
    o.apply(&mut spec);
    portal_order(&mut spec, [s]);
    let mut fam = compile(s, spec);
    fam.row_view = o.row_view;
    fam.served = methods_of(s, o.prefix)
        .into_iter()
        .filter(|l| action_of(l).is_some() || fam.actions.contains_key(l))
        .collect();
    fam
}

/// The fields of a smart-process item: the spec's `Item` with its overlay (an id alone when no
/// pack has the entity).
pub(crate) fn item_template(specs: &[Spec]) -> EntityFamily {
    let o = &overlay::ITEM;
    let found = specs
        .iter()
        .find_map(|s| s.entities.get(o.entity).map(|e| (s, e)));
    let mut spec = if let Some((s, ent)) = found {
        entity_family(o.prefix, ent, &actions_of(s, o.prefix))
    } else {
        let ent = EntitySpec {
            doc: String::new(),
            docs: None,
            id: Some("id".into()),
            fields: Vec::new(),
        };
        entity_family(o.prefix, &ent, &HashMap::new())
    };
    o.apply(&mut spec);
    portal_order(&mut spec, specs);
    spec.scope = "crm".into();
    spec
}

/// Puts the fields after the id in the portal's key order: that of the fullest documented
/// `example` among the spec's methods of the family's prefix (`crm.deal.get`, `tasks.task.add`);
/// fields no example shows keep their order after them.
fn portal_order<'s>(fam: &mut EntityFamily, specs: impl IntoIterator<Item = &'s Spec>) {
    let mut best: Vec<String> = Vec::new();
    for s in specs {
        for m in s.methods.values() {
            let Some((p, _)) = m.name.rsplit_once('.') else {
                continue;
            };
            let Some(text) = m.example.as_deref().filter(|_| p == fam.prefix) else {
                continue;
            };
            let keys = serde_json::from_str::<Value>(text)
                .ok()
                .as_ref()
                .and_then(example_row)
                .map(|row| row.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            if keys.len() > best.len() {
                best = keys;
            }
        }
    }
    let camel = fam.keys == KeyStyle::Camel;
    let rank = |f: &FieldSpec| {
        let wire = if camel { &f.camel } else { &f.name };
        best.iter().position(|k| k == wire).unwrap_or(usize::MAX)
    };
    if let Some(rest) = fam.fields.get_mut(1..) {
        rest.sort_by_key(rank);
    }
}

/// The entity object of a documented result: the object itself, the first row of a list, or
/// the value of a one-key wrapper (`{"task": {...}}`, `{"items": [...]}`).
fn example_row(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Array(a) => a.first().and_then(example_row),
        Value::Object(m) if m.len() == 1 => m
            .values()
            .next()
            .filter(|x| x.is_object() || x.is_array())
            .and_then(example_row)
            .or(Some(m)),
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The item family of a smart process created with `crm.type.add` (served by `crm.item.*`).
pub(crate) fn dynamic_family(template: &EntityFamily, etid: u32, title: &str) -> Family {
    let mut spec = template.clone();
    spec.prefix = format!("crm.dynamic.{etid}");
    spec.entity_type_id = Some(etid);
    for f in &mut spec.fields {
        if f.name == "ENTITY_TYPE_ID" {
            f.default = Some(FieldDefault::Value(etid.into()));
        }
    }
    let mut f = Family::new(spec);
    f.origin = format!("crm.type:{title}");
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_specs_make_families() {
        let specs = embedded();
        assert_eq!(specs.len(), 12);
        let fams = families(&specs, &["crm.deal".to_string()]);
        let names: Vec<&str> = fams.iter().map(|f| f.spec.prefix.as_str()).collect();
        assert!(names.contains(&"sale.order"), "{names:?}");
        assert!(!names.contains(&"crm.deal"));
        let order = fams.iter().find(|f| f.spec.prefix == "sale.order").unwrap();
        assert_eq!(order.spec.keys, KeyStyle::Camel);
        assert_eq!(order.spec.list_wrapper.as_deref(), Some("orders"));
        assert_eq!(
            order.aliases.get("getfields").map(String::as_str),
            Some("fields")
        );
        assert_eq!(upper_snake("dateInsert"), "DATE_INSERT");
        // The read-only and hand-served entities get families too.
        for p in [
            "crm.activity",
            "crm.status",
            "catalog.catalog",
            "sonet_group",
            "im.chat",
            "im.message",
            "disk.storage",
            "disk.folder",
            "disk.file",
        ] {
            assert!(names.contains(&p), "{p}: {names:?}");
        }
        let cat = fams
            .iter()
            .find(|f| f.spec.prefix == "catalog.catalog")
            .unwrap();
        assert_eq!(cat.served, ["get", "getfields", "list"]);
        assert!(
            fams.iter()
                .any(|f| f.spec.prefix == "disk.file" && f.custom)
        );
        assert_eq!(
            order.events["ADD"],
            ["ONSALEORDERSAVED", "ONORDERENTITYSAVED"]
        );
        assert_eq!(order.events["DELETE"], ["ONORDERDELETED"]);
        let act = fams
            .iter()
            .find(|f| f.spec.prefix == "crm.activity")
            .unwrap();
        assert_eq!(act.events["UPDATE"], ["ONCRMACTIVITYUPDATE"]);
        assert_eq!(act.served.len(), 6);
    }

    /// The portal's own families are the spec's entities with the overlay: every spec field,
    /// the portal's key order, exactly the spec's methods.
    #[test]
    fn overlaid_families_come_from_the_specs() {
        let fams = families(&embedded(), &[]);
        let fam = |p: &str| fams.iter().find(|f| f.spec.prefix == p).unwrap();
        let deal = fam("crm.deal");
        assert_eq!(deal.origin, "specs/core.toml");
        assert_eq!(deal.spec.entity_type_id, Some(2));
        let names: Vec<&str> = deal.spec.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[..4], ["ID", "TITLE", "TYPE_ID", "STAGE_ID"]);
        for n in [
            "UTM_SOURCE",
            "MOVED_BY_ID",
            "LAST_ACTIVITY_TIME",
            "CONTACT_IDS",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        let stage = &deal.spec.fields[deal.slot("STAGE_ID", false).unwrap()];
        assert_eq!(stage.status_type.as_deref(), Some("DEAL_STAGE"));
        let moved = &deal.spec.fields[deal.slot("MOVED_BY_ID", false).unwrap()];
        assert!(moved.read_only);
        assert_eq!(moved.camel, "movedBy");
        assert_eq!(
            deal.served,
            ["add", "delete", "fields", "get", "list", "update"]
        );
        assert_eq!(deal.events["ADD"], ["ONCRMDEALADD"]);
        // Companies have no source; `UF_*` example fields stay per-row user fields.
        let company = fam("crm.company");
        assert!(company.slot("SOURCE_ID", false).is_none());
        assert!(company.slot("UF_CRM_64A29A1CD5CC2", false).is_none());
        let task = fam("tasks.task");
        assert_eq!(task.spec.flavor, Flavor::Tasks);
        assert_eq!(task.spec.id_param, "taskId");
        assert_eq!(
            task.served,
            [
                "add",
                "complete",
                "delete",
                "get",
                "getfields",
                "list",
                "update"
            ]
        );
        assert_eq!(task.fields_wrapper.as_deref(), Some("fields"));
        let camels: Vec<&str> = task.spec.fields.iter().map(|f| f.camel.as_str()).collect();
        assert_eq!(camels[..4], ["id", "parentId", "title", "description"]);
        assert!(camels.contains(&"groupId") && camels.contains(&"favorite"));
        let item = dynamic_family(&item_template(&embedded()), 128, "P");
        assert_eq!(item.spec.prefix, "crm.dynamic.128");
        let etid = &item.spec.fields[item.slot("entityTypeId", true).unwrap()];
        assert!(matches!(&etid.default, Some(FieldDefault::Value(v)) if v == 128));
    }

    /// Every rule names a field of its spec entity, and no extra field duplicates one: the spec
    /// stays the one source of the field list.
    #[test]
    fn overlays_annotate_spec_fields_only() {
        let packs = embedded();
        for o in overlay::OVERLAYS.iter().chain([&overlay::ITEM]) {
            let ent = packs
                .iter()
                .find_map(|s| s.entities.get(o.entity))
                .unwrap_or_else(|| panic!("no spec entity {}", o.entity));
            let names: Vec<String> = ent
                .fields
                .iter()
                .map(|f| upper_name(ent, &f.name))
                .collect();
            for (n, _) in o.rules() {
                assert!(
                    names.iter().any(|x| x == n),
                    "{}: {n} is not in the spec",
                    o.entity
                );
            }
            // An extra the spec lists now stays only for what the spec cannot say (a portal
            // default, a read-only or empty form); a bare one repeats the spec.
            let mut bare = Vec::new();
            for x in (o.extra)() {
                let adds = x.default.is_some() || x.read_only || x.empty.is_some() || x.on_request;
                if names.contains(&x.name) && !adds {
                    bare.push(x.name);
                }
            }
            assert!(
                bare.is_empty(),
                "{}: extras {bare:?} are in the spec now; drop them from the overlay",
                o.entity
            );
        }
    }
}
