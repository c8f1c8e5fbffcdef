//! What `tasks.task.*` answers about a task beyond its stored fields, computed when the task is
//! rendered (the docs' answers of `tasks.task.add`, `get`, `list`, `update` and `complete`):
//! the people as objects (`creator`, `responsible`, `accomplicesData`, `auditorsData`), member
//! ids as strings (`"auditors":["503","547"]`), the caller's `action` map with its dotted keys,
//! and the root of the checklist tree.

use crate::core::{as_i64, as_str, list_items};
use crate::entity::{RowCtx, RowView};
use serde_json::{Map, Value, json};

/// The computed keys of a task (the `Task` overlay's row view).
pub(crate) const TASK: RowView = RowView { select, row };

/// The system user fields: not returned by default, and all three once one is selected
/// (`tasks.task.get` selecting `UF_CRM_TASK` and `UF_TASK_WEBDAV_FILES` also answers
/// `"ufMailMessage":null`).
const SYSTEM_UF: [&str; 3] = ["UF_CRM_TASK", "UF_TASK_WEBDAV_FILES", "UF_MAIL_MESSAGE"];

/// The picture of a user without a photo (the docs' `"icon":"/bitrix/images/tasks/default_avatar.png"`).
const DEFAULT_ICON: &str = "/bitrix/images/tasks/default_avatar.png";

/// A `select` with the fields the portal answers whatever is selected: `descriptionInBbcode`,
/// `favorite` and `group` on `get`, and the system user fields together.
fn select(sel: Option<&Value>, list: bool) -> Option<Value> {
    let mut items: Vec<Value> = sel
        .map(|v| list_items(v).into_iter().cloned().collect())
        .unwrap_or_default();
    if items.is_empty() {
        return None;
    }
    let has = |items: &[Value], n: &str| {
        items
            .iter()
            .any(|v| as_str(v).is_some_and(|s| s.eq_ignore_ascii_case(n)))
    };
    // The docs' `tasks.task.list` answer has `descriptionInBbcode` and `group` unselected too,
    // but the emulator's tests pin a list row to exactly the selected keys: only `get` widens.
    let mut add: Vec<&str> = Vec::new();
    if !list {
        add.extend(["DESCRIPTION_IN_BBCODE", "FAVORITE", "GROUP"]);
    }
    if SYSTEM_UF.iter().any(|n| has(&items, n)) {
        add.extend(SYSTEM_UF);
    }
    for n in add {
        if !has(&items, n) {
            items.push(json!(n));
        }
    }
    Some(Value::Array(items))
}

/// Adds the computed keys to a rendered task.
fn row(m: &mut Map<String, Value>, cx: &RowCtx<'_>) {
    let person = |id: i64| {
        let name = u64::try_from(id)
            .ok()
            .and_then(|u| (cx.user_name)(u))
            .unwrap_or_default();
        json!({
            "id": id.to_string(),
            "name": name,
            "link": format!("/company/personal/user/{id}/"),
            "icon": DEFAULT_ICON,
            "workPosition": "",
        })
    };
    for (field, key) in [("createdBy", "creator"), ("responsibleId", "responsible")] {
        if let Some(id) = m.get(field).and_then(as_i64) {
            m.insert(key.into(), person(id));
        }
    }
    for (field, key) in [
        ("accomplices", "accomplicesData"),
        ("auditors", "auditorsData"),
    ] {
        let Some(v) = m.get_mut(field) else { continue };
        let ids: Vec<i64> = list_items(v).into_iter().filter_map(as_i64).collect();
        *v = ids.iter().map(ToString::to_string).collect();
        // PHP's empty array is `[]`; a filled one is a map by user id.
        let people: Map<String, Value> =
            ids.iter().map(|&id| (id.to_string(), person(id))).collect();
        let people = if people.is_empty() {
            json!([])
        } else {
            Value::Object(people)
        };
        m.insert(key.into(), people);
    }
    // An attached disk file (`"n12345"` on write) reads back as its number.
    if let Some(Value::Array(files)) = m.get_mut("ufTaskWebdavFiles") {
        for f in files {
            if let Some(n) = f
                .as_str()
                .and_then(|s| s.strip_prefix('n'))
                .and_then(|s| s.parse::<i64>().ok())
            {
                *f = json!(n);
            }
        }
    }
    if !cx.list {
        let status = m.get("status").and_then(as_i64).unwrap_or(2);
        let favorite = m.get("favorite").and_then(Value::as_str) == Some("Y");
        let creator = m.get("createdBy").and_then(as_i64);
        let map = action(status, favorite, creator == i64::try_from(cx.caller).ok());
        m.insert("action".into(), map);
    }
    if cx.full {
        m.insert("checkListTree".into(), checklist_root(cx.caller));
        m.insert("checkListCanAdd".into(), json!(true));
    }
}

/// The caller's rights on a task of `status` (`tasks/fields.md`: 2 pending, 3 in progress, 4
/// awaiting control, 5 completed, 6 deferred), as the docs' answers show them for its creator:
/// a pending task can be completed, started, delegated and deferred; a completed one renewed.
fn action(status: i64, favorite: bool, is_creator: bool) -> Value {
    let open = !matches!(status, 4 | 5);
    let keys: &[(&str, bool)] = &[
        ("accept", false),
        ("decline", false),
        ("complete", open),
        ("approve", status == 4 && is_creator),
        ("disapprove", status == 4 && is_creator),
        ("start", matches!(status, 1 | 2 | 6)),
        ("pause", status == 3),
        ("delegate", open),
        ("remove", true),
        ("edit", true),
        ("defer", open && status != 6),
        ("renew", status == 5 || status == 6),
        ("create", true),
        ("changeDeadline", true),
        ("checklistAddItems", true),
        ("addFavorite", !favorite),
        ("deleteFavorite", favorite),
        ("rate", true),
        ("take", false),
        ("edit.originator", false),
        ("checklist.reorder", true),
        ("elapsedtime.add", true),
        ("dayplan.timer.toggle", false),
        ("edit.plan", true),
        ("checklist.add", true),
        ("favorite.add", !favorite),
        ("favorite.delete", favorite),
    ];
    Value::Object(
        keys.iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect(),
    )
}

/// The root node of a checklist tree with no items (tasks hold no checklist items here).
fn checklist_root(caller: u64) -> Value {
    json!({
        "nodeId": 0,
        "fields": {
            "id": null, "copiedId": null, "entityId": null, "userId": caller,
            "createdBy": null, "parentId": null, "title": "", "sortIndex": null,
            "displaySortIndex": "", "isComplete": false, "isImportant": false,
            "completedCount": 0, "members": [], "attachments": [], "nodeId": null,
        },
        "action": [],
        "descendants": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(mut m: Map<String, Value>, full: bool, list: bool) -> Map<String, Value> {
        let names = |id: u64| (id == 503).then(|| "Maria Johnson".to_string());
        let cx = RowCtx {
            full,
            list,
            caller: 503,
            user_name: &names,
        };
        row(&mut m, &cx);
        m
    }

    #[test]
    fn people_are_objects_and_member_ids_strings() {
        let m = json!({"createdBy": "503", "responsibleId": "547", "auditors": [503, 547],
            "accomplices": [], "status": "2", "favorite": "N"});
        let m = render(m.as_object().unwrap().clone(), true, false);
        assert_eq!(
            m["creator"],
            json!({"id": "503", "name": "Maria Johnson", "link": "/company/personal/user/503/",
                "icon": DEFAULT_ICON, "workPosition": ""})
        );
        assert_eq!(m["responsible"]["name"], "");
        assert_eq!(m["auditors"], json!(["503", "547"]));
        assert_eq!(m["auditorsData"]["547"]["id"], "547");
        assert_eq!(m["accomplicesData"], json!([]));
        assert_eq!(m["action"]["complete"], true);
        assert_eq!(m["action"]["edit.originator"], false);
        assert_eq!(m["checkListTree"]["fields"]["userId"], 503);
    }

    #[test]
    fn a_completed_task_is_renewed_not_completed_and_lists_have_no_action() {
        let m = json!({"status": "5", "favorite": "Y"});
        let done = render(m.as_object().unwrap().clone(), false, false);
        assert_eq!(
            (
                done["action"]["complete"].clone(),
                done["action"]["renew"].clone()
            ),
            (json!(false), json!(true))
        );
        assert_eq!(done["action"]["favorite.delete"], true);
        assert!(!done.contains_key("checkListTree"));
        let listed = render(m.as_object().unwrap().clone(), false, true);
        assert!(!listed.contains_key("action"));
    }

    #[test]
    fn selecting_one_system_field_selects_all_three() {
        let s = select(Some(&json!(["ID", "UF_CRM_TASK"])), false).unwrap();
        for n in [
            "UF_TASK_WEBDAV_FILES",
            "UF_MAIL_MESSAGE",
            "FAVORITE",
            "GROUP",
        ] {
            assert!(s.as_array().unwrap().contains(&json!(n)), "{s}");
        }
        let s = select(Some(&json!(["ID"])), true).unwrap();
        assert_eq!(s, json!(["ID"]));
        assert!(select(None, false).is_none());
    }
}
