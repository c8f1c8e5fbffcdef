//! A `crm.item.*` row of a legacy type as the portal answers it (`crm/universal/crm-item-get.md`,
//! a lead): the disabled fields as `null`, the multi-fields as one `fm` list of
//! `{id, valueType, value, typeId}` and one string per kind (`phone`, `phoneWork`, `emailHome`,
//! `imol`, ...), and the full-text `searchContent`.

use super::meta;
use crate::core::as_i64;
use serde_json::{Map, Value, json};

/// The multi-fields of a legacy row, by their `crm.item.*` key and `TYPE_ID`.
const MULTIFIELDS: [(&str, &str); 5] = [
    ("phone", "PHONE"),
    ("email", "EMAIL"),
    ("web", "WEB"),
    ("im", "IM"),
    ("link", "LINK"),
];

/// The keys whose values make a row's `searchContent` (the docs' lead: `"250 Lead #250 Admins
/// Admin Admin Administrative Company ..."`).
const SEARCHED: [&str; 6] = [
    "id",
    "title",
    "lastName",
    "name",
    "secondName",
    "companyTitle",
];

/// Finishes a rendered `crm.item.*` row of the family served under `prefix` (`full`: rendered
/// without a `select`). Rows of a smart process, which has no such table, stay as they are.
pub(crate) fn finish(prefix: &str, row: &mut Map<String, Value>, full: bool) {
    let Some(iv) = meta::item_view(prefix) else {
        return;
    };
    if iv.comms {
        comms(row, full);
    }
    if !full {
        return;
    }
    for k in &iv.disabled {
        row.insert(k.clone(), Value::Null);
    }
    let words: Vec<String> = SEARCHED
        .iter()
        .filter_map(|k| match row.get(*k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    row.insert("searchContent".into(), json!(words.join(" ")));
}

/// The fields of a `crm.item.*` write with its `fm` as the multi-field writes it stands for
/// (`crm/universal/crm-item-update.md`): items listed or keyed `n0`, `n1`... are added, a
/// numeric key names the item to change, and an empty `value` deletes it. `None` when the
/// write has no `fm` or the family answers no multi-fields.
pub(crate) fn fm_in(prefix: &str, fields: &Map<String, Value>) -> Option<Map<String, Value>> {
    meta::item_view(prefix).filter(|iv| iv.comms)?;
    let fm = fields.get("fm")?;
    let entries: Vec<(Option<i64>, &Value)> = match fm {
        Value::Array(a) => a.iter().map(|v| (None, v)).collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.parse().ok(), v)).collect(),
        _ => Vec::new(),
    };
    let mut out = fields.clone();
    out.remove("fm");
    // The strings a row answers (`"phone":"+6111111111"`) are computed, not written.
    for k in meta::kinds() {
        if out.get(&k.key).is_some_and(|v| !v.is_array()) {
            out.remove(&k.key);
        }
    }
    for (id, it) in entries {
        let Some(type_id) = it.get("typeId").and_then(Value::as_str) else {
            continue;
        };
        let Some((key, _)) = MULTIFIELDS
            .iter()
            .find(|(_, t)| t.eq_ignore_ascii_case(type_id))
        else {
            continue;
        };
        let mut item = Map::new();
        item.insert(
            "VALUE".into(),
            it.get("value").cloned().unwrap_or(Value::Null),
        );
        if let Some(t) = it.get("valueType") {
            item.insert("VALUE_TYPE".into(), t.clone());
        }
        if let Some(id) = id {
            item.insert("ID".into(), json!(id));
        }
        if let Value::Array(list) = out.entry(*key).or_insert_with(|| json!([])) {
            list.push(Value::Object(item));
        }
    }
    Some(out)
}

/// Replaces the multi-field lists of a row by `fm` and the strings of [`meta::kinds`].
fn comms(row: &mut Map<String, Value>, full: bool) {
    let mut items = Vec::new();
    let mut present = false;
    for (key, type_id) in MULTIFIELDS {
        if let Some(v) = row.remove(key) {
            present = true;
            for it in v.as_array().into_iter().flatten() {
                items.push(json!({
                    "id": it.get("ID").and_then(as_i64),
                    "valueType": it.get("VALUE_TYPE").cloned().unwrap_or(Value::Null),
                    "value": it.get("VALUE").cloned().unwrap_or(Value::Null),
                    "typeId": type_id,
                }));
            }
        }
    }
    if !full && !present {
        return;
    }
    for k in meta::kinds() {
        let found = items.iter().find(|it| {
            it["typeId"] == k.type_id.as_str()
                && k.value_type
                    .as_ref()
                    .is_none_or(|t| it["valueType"] == t.as_str())
        });
        let none = if k.null { Value::Null } else { json!("") };
        row.insert(k.key.clone(), found.map_or(none, |it| it["value"].clone()));
    }
    row.insert("fm".into(), Value::Array(items));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_row_answers_its_phones_as_fm_and_strings() {
        let mut row = json!({
            "id": 250, "title": "Lead #250", "name": "Admin",
            "phone": [{"ID": "101", "VALUE_TYPE": "WORK", "VALUE": "+6111111111", "TYPE_ID": "PHONE"}],
            "email": [], "im": null,
        });
        let m = row.as_object_mut().unwrap();
        finish("crm.lead", m, true);
        assert_eq!(
            m["fm"],
            json!([{"id": 101, "valueType": "WORK", "value": "+6111111111", "typeId": "PHONE"}])
        );
        assert_eq!(
            (&m["phone"], &m["phoneWork"], &m["phoneMobile"]),
            (&json!("+6111111111"), &json!("+6111111111"), &json!(""))
        );
        assert_eq!((&m["skype"], &m["isConvert"]), (&Value::Null, &Value::Null));
        assert_eq!(m["searchContent"], json!("250 Lead #250 Admin"));
        assert!(!m.contains_key("im"));
    }

    #[test]
    fn fm_writes_become_multi_field_writes() {
        let fields = json!({"title": "L", "phone": "+1", "phoneWork": "", "fm": {
            "n0": {"typeId": "PHONE", "valueType": "WORK", "value": "+499991234567"},
            "16": {"typeId": "EMAIL", "value": ""},
        }});
        let out = fm_in("crm.lead", fields.as_object().unwrap()).expect("a lead has fm");
        assert_eq!(
            Value::Object(out),
            json!({"title": "L",
                "phone": [{"VALUE": "+499991234567", "VALUE_TYPE": "WORK"}],
                "email": [{"VALUE": "", "ID": 16}]})
        );
        assert!(fm_in("crm.deal", fields.as_object().unwrap()).is_none());
    }

    #[test]
    fn a_smart_process_row_is_left_alone() {
        let mut m = Map::new();
        m.insert("phone".into(), json!([]));
        finish("crm.item", &mut m, true);
        assert_eq!(m.len(), 1);
    }
}
