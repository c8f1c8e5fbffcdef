//! The method table: every served method (lower case) and the scope that opens it.

use crate::core::{ApiError, AuthKind, Caller};
use crate::entity::Family;
use crate::routes::{Route, Scope};
use std::collections::BTreeMap;

/// Builds the method -> scope table (`""` for global methods) from the hand-written routes and
/// the methods each family serves.
pub(crate) fn method_table<'a>(
    routes: impl Iterator<Item = &'a Route>,
    families: &[Family],
) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    for r in routes {
        let scope = match r.scope {
            Scope::Global => Some(String::new()),
            Scope::Fixed(s) => Some(s.to_string()),
            Scope::Store(key) => families
                .iter()
                .find(|f| f.custom && f.spec.prefix == key)
                .map(|f| f.spec.scope.clone()),
        };
        if let Some(s) = scope {
            t.insert(r.name.to_string(), s);
        }
    }
    for f in families {
        for a in &f.served {
            t.insert(
                format!("{}.{a}", f.spec.prefix).to_ascii_lowercase(),
                f.spec.scope.clone(),
            );
        }
    }
    t
}

pub(crate) fn insufficient_scope(c: &Caller, in_batch: bool) -> ApiError {
    // Inside a batch the documented result_error carries an empty description (batch.md).
    if in_batch {
        return ApiError::new(401, "insufficient_scope", "");
    }
    let who = if c.kind == AuthKind::Webhook {
        "webhook token"
    } else {
        "access token"
    };
    ApiError::new(
        401,
        "insufficient_scope",
        format!("The request requires higher privileges than provided by the {who}"),
    )
}
