//! What the generic methods answer besides rows: `*.fields` metadata, result shapes and list
//! outcomes.

use super::model::{Described, Family, FieldSpec, Flavor, KeyStyle, Shape, View};
use super::store::Page;
use crate::core::Outcome;
use serde_json::{Map, Value, json};

/// `*.fields` metadata map.
pub(crate) fn fields_meta(fam: &Family, view: View) -> Value {
    // D7 controllers (`sale.order.getFields`) describe a field with four keys only.
    let short = fam.spec.flavor == Flavor::D7 && !view.crm_item;
    let mut m = Map::new();
    for f in fam.spec.fields.iter().filter(|f| f.answers.shown(view)) {
        let mut d = describe(f, short);
        // `crm.item.*` types a legacy `Y`/`N` field `boolean` (`crm/universal/object-fields.md`:
        // `isNew`, `hasPhone`, `opened` ...), though its value stays `"Y"`/`"N"`.
        if view.crm_item && d.get("type").is_some_and(|t| t == "char") {
            d.insert("type".into(), json!("boolean"));
        }
        if view.keys == KeyStyle::Camel && view.crm_item {
            d.insert("upperName".into(), json!(f.name));
        }
        if view.keys == KeyStyle::Camel && (view.crm_item || view.camel_in) {
            m.insert(f.camel.clone(), Value::Object(d));
        } else {
            m.insert(f.name.clone(), Value::Object(d));
        }
    }
    Value::Object(m)
}

/// One field's description: the documented one when the overlay has it, else derived from the
/// field's settings. Keys in the portal's order (`crm-deal-fields.md`): `type`, the flags,
/// `isDeprecated`, `statusType`, `title`, `settings`.
fn describe(f: &FieldSpec, short: bool) -> Map<String, Value> {
    let derived = || Described {
        ty: if f.status_type.is_some() {
            "crm_status"
        } else if f.multifield {
            "crm_multifield"
        } else {
            f.ty.type_name()
        }
        .to_string(),
        required: f.required,
        read_only: f.read_only,
        immutable: false,
        multiple: f.multiple,
        deprecated: false,
        settings: None,
    };
    let desc = f.described.clone().unwrap_or_else(derived);
    let mut d = Map::new();
    d.insert("type".into(), json!(desc.ty));
    d.insert("isRequired".into(), json!(desc.required));
    d.insert("isReadOnly".into(), json!(desc.read_only));
    d.insert("isImmutable".into(), json!(desc.immutable));
    if !short {
        d.insert("isMultiple".into(), json!(desc.multiple));
        d.insert("isDynamic".into(), json!(false));
        if desc.deprecated {
            d.insert("isDeprecated".into(), json!(true));
        }
    }
    if let Some(st) = &f.status_type {
        d.insert("statusType".into(), json!(st));
    }
    if !short {
        d.insert("title".into(), json!(f.title));
    }
    if let Some(s) = desc.settings {
        d.insert("settings".into(), s);
    }
    d
}

/// Wraps a value into a family shape.
pub(crate) fn shape(s: &Shape, id: i64, row: impl FnOnce() -> Value) -> Value {
    match s {
        Shape::BareId => json!(id),
        Shape::True => Value::Bool(true),
        Shape::EmptyArray => Value::Array(Vec::new()),
        Shape::Row => row(),
        Shape::Wrapped(k, inner) => {
            let mut m = Map::new();
            m.insert(k.clone(), shape(inner, id, row));
            Value::Object(m)
        }
    }
}

/// Builds a list outcome in the family's wrapper.
pub(crate) fn list_outcome(page: Page, wrapper: Option<&str>) -> Outcome {
    let rows = Value::Array(page.rows);
    let result = match wrapper {
        Some(w) => {
            let mut m = Map::new();
            m.insert(w.to_string(), rows);
            Value::Object(m)
        }
        None => rows,
    };
    Outcome {
        result,
        total: page.total,
        next: page.next,
    }
}
