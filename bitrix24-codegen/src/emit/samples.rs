//! Entity samples in the portal's string-typed wire form, for the generated decoding tests.

use super::ctx::Ctx;
use crate::spec::{EntitySpec, Ty};

/// The field name added to entity samples to check that unknown fields are kept.
pub const SAMPLE_UNKNOWN_FIELD: &str = "UF_CRM_SAMPLE";

/// An entity as the portal might send it: every field in its string-typed wire form (`"42"`,
/// `"Y"`, lists as PHP maps, empty objects as `[]`), plus an unknown user field.
pub(super) fn entity_sample(ctx: &Ctx<'_>, e: &EntitySpec, depth: usize) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for f in &e.fields {
        map.insert(f.name.clone(), wire_sample(ctx, &f.ty, depth));
    }
    map.insert(SAMPLE_UNKNOWN_FIELD.into(), serde_json::Value::from("kept"));
    serde_json::Value::Object(map)
}

pub(super) fn wire_sample(ctx: &Ctx<'_>, ty: &Ty, depth: usize) -> serde_json::Value {
    use serde_json::{Value, json};
    match ty {
        Ty::String | Ty::Secret => json!("text"),
        Ty::Int => json!("-7"),
        Ty::Id => json!("42"),
        Ty::Float => json!("1.5"),
        Ty::Decimal => json!("1000.50"),
        Ty::Bool | Ty::Flag => json!("Y"),
        Ty::Date => json!("2024-01-31"),
        Ty::Datetime => json!("2024-01-31T10:00:00+03:00"),
        Ty::Object => json!([]),
        Ty::Value => json!({"any": [1, "two"]}),
        Ty::List(t) => json!({"0": wire_sample(ctx, t, depth + 1)}),
        Ty::Map(t) => json!([wire_sample(ctx, t, depth + 1)]),
        Ty::Entity(n) => match ctx.find_entity(n) {
            Some(e) if depth < 2 => entity_sample(ctx, e, depth + 1),
            _ => json!({}),
        },
        Ty::Enum(n) => ctx
            .find_enum(n)
            .and_then(|e| e.values.first())
            .map_or_else(|| json!("X"), |v| Value::from(v.0.clone())),
    }
}
