//! The rules `bitrix24-codegen check` adds to [`validate`](super::validate): an untyped answer
//! says why, a method that takes the page offset declares its pagination, an add or update takes
//! the entity its family's reads answer, and every enum value makes a Rust variant. They run in `check` (and `coverage`), not in the build script, because
//! the specs written before them carry untyped answers that the coverage report records
//! (`references/coverage.md`): those are the known debt, and only they are let through.

use std::collections::BTreeSet;

use super::model::{MethodSpec, Spec, SpecError};
use super::types::{Pagination, Response, Ty};

/// Whether a response is an untyped `value` (as a whole, or the rows or entries it holds).
pub fn is_untyped(r: &Response) -> bool {
    matches!(r.ty(), Ty::Value)
}

/// The entity an `add`/`update` method's `fields` should take when it takes an untyped `object`:
/// the one its family's `get` or `list` answers (`crm.deal.add` beside a `crm.deal.get` answering
/// `Deal`), in the same spec.
fn untyped_entity_fields<'s>(s: &'s Spec, m: &MethodSpec) -> Option<&'s str> {
    let (family, verb) = m.name.rsplit_once('.')?;
    if !matches!(verb, "add" | "update") {
        return None;
    }
    let fields = m.params.iter().find(|p| p.name == "fields")?;
    if fields.ty != Ty::Object {
        return None;
    }
    let reads = if m.v3_only { &s.v3_methods } else { &s.methods };
    ["get", "list"].iter().find_map(|read| {
        match reads.get(&format!("{family}.{read}"))?.response.ty() {
            Ty::Entity(e) => Some(e.as_str()),
            _ => None,
        }
    })
}

/// Checks every method and enum of `specs`. `untyped_debt` holds the (lowercase) names of methods
/// the recorded coverage report lists with an untyped answer and no reason: they may stay so.
pub fn lint(specs: &[Spec], untyped_debt: &BTreeSet<String>) -> Vec<SpecError> {
    let mut errs = Vec::new();
    for s in specs {
        for m in s.all_methods() {
            let name = &m.name;
            let kind = if m.v3_only { "v3 method" } else { "method" };
            let item = Some(format!("{kind} `{name}`"));
            let mut fail = |field: &str, msg: String| {
                errs.push(SpecError::new(&s.file, item.clone(), Some(field), msg));
            };
            let untyped = is_untyped(&m.response);
            let debt = untyped_debt.contains(&name.to_ascii_lowercase());
            match m.value_why.as_deref().map(str::trim) {
                Some("") => fail(
                    "value_why",
                    "empty: say why the answer cannot be typed".into(),
                ),
                Some(_) if !untyped => fail(
                    "value_why",
                    format!("the answer `{}` is typed: drop `value_why`", m.response),
                ),
                None if untyped && !debt => fail(
                    "response",
                    format!(
                        "`{}` is an untyped answer: give the answer's type, or say why it \
                         cannot have one with `value_why = \"...\"`",
                        m.response
                    ),
                ),
                _ => {}
            }
            if let Some("") = m.docs_differs.as_deref().map(str::trim) {
                fail(
                    "docs_differs",
                    "empty: say how and why the spec differs from its docs page".into(),
                );
            }
            if let Some(entity) = untyped_entity_fields(s, m) {
                fail(
                    "params.fields",
                    format!(
                        "`fields` is an untyped `object`, but this family's records are the \
                         entity `{entity}`: take `entity:{entity}` (its setters, user fields and \
                         `From<Map>` for untyped data)"
                    ),
                );
            }
            let pages = m.params.iter().any(|p| p.name == "start");
            if pages && m.pagination == Pagination::None && !debt {
                fail(
                    "pagination",
                    "the method takes the page offset `start`: declare `pagination = \"offset\"` \
                     (or `\"keyset\"` when the docs allow `>ID` filters) so `client.stream` \
                     walks it"
                        .into(),
                );
            }
        }
        for (ename, e) in &s.enums {
            for (wire, label) in &e.values {
                let field = format!("values.{wire}");
                let fail = |msg: String| {
                    SpecError::new(&s.file, Some(format!("enum `{ename}`")), Some(&field), msg)
                };
                if wire.trim().is_empty() {
                    errs.push(fail(
                        "an empty wire value is the portal's \"not set\" (it decodes as `None`), \
                         not an enum value"
                            .into(),
                    ));
                    continue;
                }
                // The generator keeps ASCII letters and digits only: a label in other letters
                // loses them (`Größe` -> `GrE`), and a value of punctuation alone names nothing.
                if !label.is_ascii() {
                    errs.push(fail(format!(
                        "the label `{label}` is not ASCII: the Rust variant would drop its other \
                         letters (`{}`); write the label in ASCII words",
                        crate::naming::enum_variant(wire, label)
                    )));
                }
                let label_names = crate::naming::upper_camel(label)
                    .starts_with(|c: char| c.is_ascii_alphabetic());
                if !label_names && !wire.chars().any(|c| c.is_ascii_alphanumeric()) {
                    errs.push(fail(format!(
                        "neither the value `{wire}` nor its label `{label}` has a letter or digit \
                         to name the Rust variant: give a label in words"
                    )));
                }
            }
        }
    }
    errs
}

/// A spec's `deprecated` key against the docs (`docs_deprecated`: the lowercase names the
/// recorded coverage report marks deprecated): a note is never empty, and only a method the docs
/// mark deprecated carries one. Returns the errors, and the methods the docs mark deprecated that
/// carry no note yet (reported by `check`, not failed: the legacy `crm.deal.*` family the
/// examples still teach is among them).
pub fn lint_deprecated(
    specs: &[Spec],
    docs_deprecated: &BTreeSet<String>,
) -> (Vec<SpecError>, Vec<String>) {
    let mut errs = Vec::new();
    let mut pending = Vec::new();
    for s in specs {
        for m in s.all_methods() {
            let listed = docs_deprecated.contains(&m.name.to_ascii_lowercase());
            let msg = match (m.deprecated.as_deref().map(str::trim), listed) {
                (Some(""), _) => "empty: name what to use instead (`use crm.item.add`)",
                (Some(_), false) => {
                    "the docs do not mark this method deprecated (references/coverage.md): drop \
                     `deprecated`"
                }
                (None, true) => {
                    pending.push(m.name.clone());
                    continue;
                }
                _ => continue,
            };
            errs.push(SpecError::new(
                &s.file,
                Some(format!("method `{}`", m.name)),
                Some("deprecated"),
                msg.to_owned(),
            ));
        }
    }
    (errs, pending)
}
