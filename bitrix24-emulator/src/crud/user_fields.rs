//! The user fields of a family defined through `<prefix>.userfield.add` (deals, leads,
//! contacts, companies): which `UF_*` keys a write keeps, and how `<prefix>.fields` describes
//! each of them.

use crate::entity::{Family, Flavor, View};
use crate::handlers::userfieldconfig::crm_fields;
use crate::state::Inner;
use serde_json::{Map, Value, json};

/// The definitions of `fam`'s user fields as `<prefix>.userfield.get` renders them, oldest
/// first; `None` when the family has no user field methods.
fn definitions(inner: &Inner, fam: &Family) -> Option<Vec<Map<String, Value>>> {
    let defs = format!("{}.userfield", fam.spec.prefix);
    let def_fam = inner.family(&defs)?;
    let data = inner.read_data();
    let Some(store) = data.stores.get(&defs) else {
        return Some(Vec::new());
    };
    let view = View::native(def_fam);
    Some(
        store
            .rows
            .keys()
            .filter_map(|id| match store.render_full(def_fam, view, *id) {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            })
            .collect(),
    )
}

/// A definition's field name: its `FIELD_NAME` with the `UF_CRM_` prefix the portal adds to a
/// code given without it (`crm-deal-userfield-add.md`).
fn field_name(def: &Map<String, Value>) -> String {
    let name = def
        .get("FIELD_NAME")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    if name.starts_with("UF_") {
        name
    } else {
        format!("UF_CRM_{name}")
    }
}

/// The `entityId` `userfieldconfig.*` names the family's objects by: `CRM_<id>` for a smart
/// process, by its `crm.type` id (`userfieldconfig-add.md`: `CRM_7`, fields `UF_CRM_7_...`),
/// `CRM_DEAL`, `CRM_LEAD`, ... for a legacy CRM family; `None` for other families.
fn config_entity(inner: &Inner, fam: &Family) -> Option<String> {
    let Some(etid) = fam.spec.prefix.strip_prefix("crm.dynamic.") else {
        let own = fam.spec.prefix.strip_prefix("crm.")?;
        return (fam.spec.flavor == Flavor::LegacyCrm && fam.spec.entity_type_id.is_some())
            .then(|| format!("CRM_{}", own.to_ascii_uppercase()));
    };
    let types = inner.family("crm.type")?;
    let data = inner.read_data();
    let store = data.stores.get("crm.type")?;
    let view = View::native(types);
    store.rows.keys().find_map(|id| {
        let row = store.render_full(types, view, *id)?;
        (row.get("entityTypeId").map(Value::to_string).as_deref() == Some(etid))
            .then(|| format!("CRM_{id}"))
    })
}

/// The names of the defined user fields: those of `<prefix>.userfield.add` and of
/// `userfieldconfig.add` for the family's objects; `None` when the family has neither kind
/// of definition (every `UF_*` key is then kept).
pub(super) fn defined(inner: &Inner, fam: &Family) -> Option<Vec<String>> {
    let own = definitions(inner, fam).map(|defs| defs.iter().map(field_name).collect());
    let Some(entity) = config_entity(inner, fam) else {
        return own;
    };
    let mut names: Vec<String> = own.unwrap_or_default();
    names.extend(crm_fields(&inner.read_data(), &entity));
    Some(names)
}

/// `Y`, `"1"`, `1` or `true`: a definition's flag (`MULTIPLE`, `MANDATORY`) is set.
fn flag(def: &Map<String, Value>, key: &str) -> bool {
    match def.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "Y" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A label as the portal's language (English) shows it: a text, or the `en` entry of a map
/// language -> text; `LABEL` when the label is not given ("the value passed in `LABEL` is set
/// for all language identifiers", `crm-deal-userfield-add.md`).
fn label(def: &Map<String, Value>, key: &str) -> Value {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Object(m)) => m.get("en").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    text(def.get(key))
        .or_else(|| text(def.get("LABEL")))
        .map_or(Value::Null, Value::String)
}

/// The `<prefix>.fields` entries of the defined user fields (`crm.company.fields` of the docs:
/// `"UF_CRM_64A29A1CD5CC2": {"type": "string", ..., "isDynamic": true, "title":
/// "UF_CRM_64A29A1CD5CC2", "listLabel": ..., "formLabel": ..., "filterLabel": ..., "settings":
/// {...}}`).
pub(super) fn described(inner: &Inner, fam: &Family) -> Vec<(String, Value)> {
    definitions(inner, fam)
        .unwrap_or_default()
        .iter()
        .map(|def| {
            let name = field_name(def);
            let settings = match def.get("SETTINGS") {
                Some(Value::Object(s)) => Value::Object(s.clone()),
                _ => json!({}),
            };
            let d = json!({
                "type": def.get("USER_TYPE_ID").cloned().unwrap_or(Value::Null),
                "isRequired": flag(def, "MANDATORY"),
                "isReadOnly": false,
                "isImmutable": false,
                "isMultiple": flag(def, "MULTIPLE"),
                "isDynamic": true,
                "title": name,
                "listLabel": label(def, "LIST_COLUMN_LABEL"),
                "formLabel": label(def, "EDIT_FORM_LABEL"),
                "filterLabel": label(def, "LIST_FILTER_LABEL"),
                "settings": settings,
            });
            (name, d)
        })
        .collect()
}
