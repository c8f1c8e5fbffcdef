//! The events an entity family fires on `add`, `update` and `delete`: the pack's event names
//! (`fam.events`) or `event_prefix` + action with the flavor's payload.

use crate::core::{Caller, as_str};
use crate::entity::{Family, Flavor, View};
use crate::events::{self, Origin};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Fires the family's events for `action` (`ADD`/`UPDATE`/`DELETE`).
pub(crate) fn fire(inner: &Arc<Inner>, c: &Caller, fam: &Family, action: &str, id: i64) {
    if let Some(names) = fam.events.get(action) {
        for name in names {
            let mut fields = Map::new();
            fields.insert("ID".into(), json!(id.to_string()));
            if name == "ONSALEORDERSAVED" {
                // on-sale-order-saved.md: XML_ID and the constant ACTION `save`.
                let xml = inner
                    .data
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .stores
                    .get(&fam.spec.prefix)
                    .and_then(|s| s.render_full(fam, View::native(fam), id))
                    .and_then(|r| r.get("xmlId").and_then(as_str))
                    .unwrap_or_default();
                fields.insert("XML_ID".into(), json!(xml));
                fields.insert("ACTION".into(), json!("save"));
            }
            events::emit(inner, name, &json!({ "FIELDS": fields }), &Origin::of(c));
        }
        return;
    }
    if let Some(prefix) = &fam.spec.event_prefix {
        let name = format!("{prefix}{action}");
        events::emit(inner, &name, &event_data(fam, action, id), &Origin::of(c));
    }
}

fn event_data(fam: &Family, action: &str, id: i64) -> Value {
    match fam.spec.flavor {
        Flavor::LegacyCrm | Flavor::D7 => json!({"FIELDS": {"ID": id.to_string()}}),
        Flavor::Tasks => match action {
            "ADD" => json!({"FIELDS_AFTER": {"ID": id.to_string()}}),
            "DELETE" => json!({"FIELDS_BEFORE": {"ID": id.to_string()}}),
            _ => {
                json!({"FIELDS_BEFORE": {"ID": id.to_string()}, "FIELDS_AFTER": {"ID": id.to_string()}})
            }
        },
    }
}
