//! What the generic methods answer besides rows: `*.fields` metadata, result shapes and list
//! outcomes.

use super::model::{Family, Flavor, KeyStyle, Shape, View};
use super::store::Page;
use crate::core::Outcome;
use serde_json::{Map, Value, json};

/// `*.fields` metadata map.
pub(crate) fn fields_meta(fam: &Family, view: View) -> Value {
    // D7 controllers (`sale.order.getFields`) describe a field with four keys only.
    let short = fam.spec.flavor == Flavor::D7 && !view.crm_item;
    let mut m = Map::new();
    for f in &fam.spec.fields {
        let mut d = Map::new();
        d.insert(
            "type".into(),
            json!(if f.status_type.is_some() {
                "crm_status"
            } else if f.multifield {
                "crm_multifield"
            } else {
                f.ty.type_name()
            }),
        );
        d.insert("isRequired".into(), json!(f.required));
        d.insert("isReadOnly".into(), json!(f.read_only));
        d.insert("isImmutable".into(), json!(false));
        if !short {
            d.insert("isMultiple".into(), json!(f.multiple));
            d.insert("isDynamic".into(), json!(false));
            d.insert("title".into(), json!(f.title));
        }
        if let Some(st) = &f.status_type {
            d.insert("statusType".into(), json!(st));
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
