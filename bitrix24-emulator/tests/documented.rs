//! The entities whose specs only read them or whose documented methods are not a generic family:
//! `crm.activity`, `crm.status`, `catalog.catalog`, `sonet_group.*`, `im.*`, `disk.*`; the
//! pack events of spec families; `crm.type.update` / `crm.type.delete`.

mod support;

use serde_json::{Value, json};
use support::{emu, ok, post};

#[tokio::test]
async fn activity_full_family_with_pack_events() {
    let e = emu().await;
    let wh = e.webhook_url();
    let rest = format!("{}/rest/", e.base_url());
    let auth = e.oauth_app().access_token;
    // core.toml lists ONCRMACTIVITYADD/UPDATE/DELETE: bindable, and fired by the family.
    let b = ok(
        format!("{rest}event.bind"),
        json!({"auth": auth, "event": "ONCRMACTIVITYADD", "event_type": "offline"}),
    )
    .await;
    assert_eq!(b["result"], true, "{b}");
    let mut ids = Vec::new();
    for i in 0..60 {
        let b = ok(
            format!("{wh}crm.activity.add"),
            json!({"fields": {"OWNER_ID": 1, "SUBJECT": format!("Call {i}"),
                   "RESPONSIBLE_ID": if i % 3 == 0 { 7 } else { 1 }, "COMPLETED": "N"}}),
        )
        .await;
        ids.push(b["result"].as_i64().expect("bare id"));
    }
    let b = ok(
        format!("{rest}event.offline.get"),
        json!({"auth": auth, "limit": 100}),
    )
    .await;
    let evs = b["result"]["events"].as_array().unwrap();
    assert_eq!(evs.len(), 60, "{b}");
    assert_eq!(evs[0]["EVENT_NAME"], "ONCRMACTIVITYADD");
    assert_eq!(evs[0]["EVENT_DATA"]["FIELDS"]["ID"], ids[0].to_string());
    let b = ok(format!("{wh}crm.activity.get"), json!({"id": ids[3]})).await;
    assert_eq!(b["result"]["SUBJECT"], "Call 3");
    assert_eq!(b["result"]["ID"], ids[3].to_string());
    let b = ok(
        format!("{wh}crm.activity.list"),
        json!({"filter": {"RESPONSIBLE_ID": 1}, "select": ["ID", "SUBJECT"]}),
    )
    .await;
    assert_eq!(b["total"], 40, "{b}");
    assert!(b.get("next").is_none());
    assert_eq!(
        b["result"][0],
        json!({"ID": ids[1].to_string(), "SUBJECT": "Call 1"})
    );
    let b = ok(format!("{wh}crm.activity.list"), json!({})).await;
    assert_eq!(
        (b["total"].as_i64(), b["next"].as_i64()),
        (Some(60), Some(50))
    );
    let b = ok(format!("{wh}crm.activity.list"), json!({"start": 50})).await;
    assert_eq!(b["result"].as_array().unwrap().len(), 10);
    let b = ok(
        format!("{wh}crm.activity.update"),
        json!({"id": ids[0], "fields": {"COMPLETED": "Y"}}),
    )
    .await;
    assert_eq!(b["result"], true);
    let b = ok(format!("{wh}crm.activity.get"), json!({"id": ids[0]})).await;
    assert_eq!(b["result"]["COMPLETED"], "Y");
    let b = ok(format!("{wh}crm.activity.delete"), json!({"id": ids[0]})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{wh}crm.activity.get"), &json!({"id": ids[0]})).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Not found"))
    );
    let b = ok(format!("{wh}crm.activity.fields"), json!({})).await;
    assert!(b["result"]["SUBJECT"].is_object(), "{b}");
}

#[tokio::test]
async fn sale_order_fires_the_commerce_events() {
    let e = emu().await;
    let rest = format!("{}/rest/", e.base_url());
    let auth = e.oauth_app().access_token;
    for ev in ["ONSALEORDERSAVED", "ONORDERDELETED"] {
        let b = ok(
            format!("{rest}event.bind"),
            json!({"auth": auth, "event": ev, "event_type": "offline"}),
        )
        .await;
        assert_eq!(b["result"], true, "{b}");
    }
    let wh = e.webhook_url();
    let b = ok(
        format!("{wh}sale.order.add"),
        json!({"fields": {"lid": "s1", "currency": "USD", "personTypeId": 1, "xmlId": "X1"}}),
    )
    .await;
    let id = b["result"]["order"]["id"].as_i64().unwrap();
    ok(format!("{wh}sale.order.delete"), json!({"id": id})).await;
    let b = ok(
        format!("{rest}event.offline.get"),
        json!({"auth": auth, "limit": 10}),
    )
    .await;
    let evs = b["result"]["events"].as_array().unwrap();
    assert_eq!(evs.len(), 2, "{b}");
    assert_eq!(evs[0]["EVENT_NAME"], "ONSALEORDERSAVED");
    assert_eq!(
        evs[0]["EVENT_DATA"]["FIELDS"],
        json!({"ID": id.to_string(), "XML_ID": "X1", "ACTION": "save"})
    );
    assert_eq!(evs[1]["EVENT_NAME"], "ONORDERDELETED");
    assert_eq!(evs[1]["EVENT_DATA"]["FIELDS"]["ID"], id.to_string());
}

/// A book a new portal has no values in (`INDUSTRY`), filled, paged, updated and emptied.
#[tokio::test]
async fn status_full_family() {
    let e = emu().await;
    let wh = e.webhook_url();
    for i in 0..55 {
        let b = ok(
            format!("{wh}crm.status.add"),
            json!({"fields": {"ENTITY_ID": if i < 52 { "INDUSTRY" } else { "DEAL_TYPE" },
                   "STATUS_ID": format!("S{i}"), "NAME": format!("Industry {i}"), "SORT": i * 10}}),
        )
        .await;
        assert!(b["result"].is_u64(), "{b}");
    }
    let b = ok(
        format!("{wh}crm.status.list"),
        json!({"filter": {"ENTITY_ID": "INDUSTRY", ">=SORT": 10}, "order": {"SORT": "DESC"}}),
    )
    .await;
    assert_eq!(b["total"], 51, "{b}");
    assert_eq!(b["result"][0]["STATUS_ID"], "S51");
    let id: i64 = b["result"][0]["ID"].as_str().unwrap().parse().unwrap();
    let b = ok(
        format!("{wh}crm.status.list"),
        json!({"filter": {"ENTITY_ID": "INDUSTRY", ">=SORT": 10}, "start": 50}),
    )
    .await;
    assert_eq!(b["result"].as_array().unwrap().len(), 1);
    let b = ok(
        format!("{wh}crm.status.update"),
        json!({"id": id, "fields": {"NAME": "Web"}}),
    )
    .await;
    assert_eq!(b["result"], true);
    let b = ok(format!("{wh}crm.status.get"), json!({"id": id})).await;
    assert_eq!(b["result"]["NAME"], "Web");
    assert_eq!(b["result"]["SORT"], "510");
    let b = ok(format!("{wh}crm.status.delete"), json!({"id": id})).await;
    assert_eq!(b["result"], true);
}

#[tokio::test]
async fn catalog_serves_only_the_documented_reads() {
    let e = emu().await;
    let rows: Vec<Value> = (0..60)
        .map(|i| {
            json!({"iblockId": 20 + i, "name": format!("Catalog {i}"), "lid": "s1",
                        "iblockTypeId": if i % 2 == 0 { 1 } else { 2 }})
        })
        .collect();
    let ids = e.control().seed_entities("catalog.catalog", &rows);
    assert_eq!(ids.len(), 60);
    let wh = e.webhook_url();
    let b = ok(format!("{wh}catalog.catalog.get"), json!({"id": ids[1]})).await;
    assert_eq!(b["result"]["catalog"]["name"], "Catalog 1");
    assert_eq!(b["result"]["catalog"]["iblockId"], 21);
    let b = ok(
        format!("{wh}catalog.catalog.list"),
        json!({"filter": {"iblockTypeId": 2}, "select": ["id", "name"], "order": {"id": "desc"}}),
    )
    .await;
    assert_eq!(b["total"], 30, "{b}");
    assert_eq!(
        b["result"]["catalogs"][0],
        json!({"id": ids[59], "name": "Catalog 59"})
    );
    let b = ok(format!("{wh}catalog.catalog.list"), json!({"start": 50})).await;
    assert_eq!(b["result"]["catalogs"].as_array().unwrap().len(), 10);
    let b = ok(format!("{wh}catalog.catalog.getFields"), json!({})).await;
    assert!(b["result"]["catalog"]["iblockId"].is_object(), "{b}");
    // No add/update/delete in the docs: the portal does not know them.
    for m in ["add", "update", "delete"] {
        let (s, b) = post(&format!("{wh}catalog.catalog.{m}"), &json!({"id": 1})).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (404, Some("ERROR_METHOD_NOT_FOUND"))
        );
    }
}

#[tokio::test]
async fn sonet_groups() {
    let e = emu().await;
    let wh = e.webhook_url();
    let mut ids = Vec::new();
    for i in 0..55 {
        let b = ok(
            format!("{wh}sonet_group.create"),
            json!({"NAME": format!("Group {i}"), "PROJECT": if i % 5 == 0 { "Y" } else { "N" }}),
        )
        .await;
        ids.push(b["result"].as_i64().expect("id"));
    }
    let (s, b) = post(&format!("{wh}sonet_group.create"), &json!({})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("")));
    let b = ok(format!("{wh}sonet_group.get"), json!({})).await;
    assert_eq!(
        (b["total"].as_i64(), b["next"].as_i64()),
        (Some(55), Some(50))
    );
    assert_eq!(b["result"][0]["NAME"], "Group 0");
    assert_eq!(b["result"][0]["ID"], ids[0].to_string());
    assert_eq!(b["result"][0]["OWNER_ID"], "1");
    assert_eq!(b["result"][0]["ACTIVE"], "Y");
    let b = ok(
        format!("{wh}sonet_group.get"),
        json!({"FILTER": {"PROJECT": "Y"}, "ORDER": {"NAME": "DESC"}}),
    )
    .await;
    assert_eq!(b["total"], 11);
    assert_eq!(b["result"][0]["NAME"], "Group 50");
    let b = ok(
        format!("{wh}sonet_group.update"),
        json!({"GROUP_ID": ids[2], "NAME": "Renamed"}),
    )
    .await;
    assert_eq!(b["result"], ids[2]);
    let b = ok(
        format!("{wh}sonet_group.get"),
        json!({"FILTER": {"ID": ids[2]}}),
    )
    .await;
    assert_eq!(b["result"][0]["NAME"], "Renamed");
    let b = ok(
        format!("{wh}sonet_group.delete"),
        json!({"GROUP_ID": ids[2]}),
    )
    .await;
    assert_eq!(b["result"], true);
    let (s, b) = post(
        &format!("{wh}sonet_group.delete"),
        &json!({"GROUP_ID": ids[2]}),
    )
    .await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("Socialnetwork group not found"))
    );
}

#[tokio::test]
async fn chats_and_messages() {
    let e = emu().await;
    let wh = e.webhook_url();
    let b = ok(
        format!("{wh}im.chat.add"),
        json!({"TITLE": "Deal chat", "USERS": [7], "ENTITY_TYPE": "CRM", "ENTITY_ID": "DEAL|5",
               "MESSAGE": "Welcome"}),
    )
    .await;
    let chat = b["result"].as_i64().expect("chat id");
    let b = ok(
        format!("{wh}im.chat.get"),
        json!({"ENTITY_TYPE": "CRM", "ENTITY_ID": "DEAL|5"}),
    )
    .await;
    assert_eq!(b["result"], json!({"ID": chat}));
    let dialog = format!("chat{chat}");
    let mut ids = Vec::new();
    for i in 0..30 {
        let b = ok(
            format!("{wh}im.message.add"),
            json!({"DIALOG_ID": dialog, "MESSAGE": format!("m{i}")}),
        )
        .await;
        ids.push(b["result"].as_i64().expect("message id"));
    }
    let (s, b) = post(
        &format!("{wh}im.message.add"),
        &json!({"DIALOG_ID": dialog, "MESSAGE": " "}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("MESSAGE_EMPTY")));
    let b = ok(format!("{wh}im.dialog.get"), json!({"DIALOG_ID": dialog})).await;
    assert_eq!(b["result"]["name"], "Deal chat");
    assert_eq!(b["result"]["id"], chat);
    assert_eq!(b["result"]["owner"], 1);
    assert_eq!(b["result"]["extranet"], false);
    assert_eq!(b["result"]["user_counter"], 2);
    assert_eq!(b["result"]["message_count"], 31);
    assert_eq!(b["result"]["dialog_id"], dialog);
    // History: newest first, LIMIT, then LAST_ID backwards; FIRST_ID forwards.
    let b = ok(
        format!("{wh}im.dialog.messages.get"),
        json!({"DIALOG_ID": dialog, "LIMIT": 10}),
    )
    .await;
    let msgs = b["result"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 10);
    assert_eq!(msgs[0]["id"], ids[29]);
    assert_eq!(msgs[0]["text"], "m29");
    assert_eq!(msgs[0]["unread"], false);
    assert_eq!(b["result"]["chat_id"], chat);
    assert_eq!(b["result"]["users"][0]["id"], 1);
    let b = ok(
        format!("{wh}im.dialog.messages.get"),
        json!({"DIALOG_ID": dialog, "LAST_ID": ids[20], "LIMIT": 50}),
    )
    .await;
    assert_eq!(b["result"]["messages"].as_array().unwrap().len(), 21);
    let b = ok(
        format!("{wh}im.dialog.messages.get"),
        json!({"DIALOG_ID": dialog, "FIRST_ID": ids[25]}),
    )
    .await;
    assert_eq!(b["result"]["messages"].as_array().unwrap().len(), 4);
    let (s, b) = post(
        &format!("{wh}im.dialog.messages.get"),
        &json!({"DIALOG_ID": dialog, "FIRST_ID": "abc"}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("FIRST_ID_STRING")));
    let b = ok(
        format!("{wh}im.message.update"),
        json!({"MESSAGE_ID": ids[0], "MESSAGE": "edited"}),
    )
    .await;
    assert_eq!(b["result"], true);
    // Only the author may edit.
    let (s, b) = post(
        &format!("{}/rest/7/SEVEN/im.message.update", e.base_url()),
        &json!({"MESSAGE_ID": ids[0], "MESSAGE": "x"}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("CANT_EDIT_MESSAGE")));
    let b = ok(
        format!("{wh}im.message.delete"),
        json!({"MESSAGE_ID": ids[0]}),
    )
    .await;
    assert_eq!(b["result"], true);
    let (s, b) = post(
        &format!("{wh}im.message.delete"),
        &json!({"MESSAGE_ID": ids[0]}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("MESSAGE_ID_ERROR")));
    // Personal dialogs by user id; chat members and title.
    let b = ok(
        format!("{wh}im.message.add"),
        json!({"DIALOG_ID": "7", "MESSAGE": "hi"}),
    )
    .await;
    assert!(b["result"].is_i64());
    let (s, b) = post(
        &format!("{wh}im.message.add"),
        &json!({"DIALOG_ID": "999", "MESSAGE": "hi"}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("USER_NOT_FOUND")));
    ok(
        format!("{wh}im.chat.updateTitle"),
        json!({"CHAT_ID": chat, "TITLE": "New"}),
    )
    .await;
    let b = ok(format!("{wh}im.chat.user.list"), json!({"CHAT_ID": chat})).await;
    assert_eq!(b["result"], json!([1, 7]));
    ok(
        format!("{wh}im.chat.user.delete"),
        json!({"CHAT_ID": chat, "USER_ID": 7}),
    )
    .await;
    let b = ok(format!("{wh}im.dialog.get"), json!({"DIALOG_ID": dialog})).await;
    assert_eq!(b["result"]["name"], "New");
    assert_eq!(b["result"]["user_counter"], 1);
}

#[tokio::test]
async fn disk_storages_folders_files() {
    let e = emu().await;
    let wh = e.webhook_url();
    let b = ok(format!("{wh}disk.storage.getList"), json!({})).await;
    assert_eq!(b["total"], 3, "{b}");
    assert_eq!(b["result"][0]["ENTITY_TYPE"], "common");
    let b = ok(
        format!("{wh}disk.storage.getList"),
        json!({"filter": {"ENTITY_TYPE": "user", "ENTITY_ID": "7"}}),
    )
    .await;
    assert_eq!(b["total"], 1);
    let storage = b["result"][0]["ID"].as_str().unwrap().to_string();
    assert_eq!(b["result"][0]["MODULE_ID"], "disk");
    assert!(b["result"][0]["CODE"].is_null());
    let root = b["result"][0]["ROOT_OBJECT_ID"]
        .as_str()
        .unwrap()
        .to_string();
    let b = ok(
        format!("{wh}disk.storage.addFolder"),
        json!({"id": storage, "data": {"NAME": "Docs"}}),
    )
    .await;
    assert_eq!(b["result"]["TYPE"], "folder");
    assert_eq!(b["result"]["PARENT_ID"], root);
    assert_eq!(b["result"]["DELETED_TYPE"], "0");
    let docs = b["result"]["ID"].as_str().unwrap().to_string();
    let (s, b) = post(
        &format!("{wh}disk.storage.addFolder"),
        &json!({"id": storage, "data": {"NAME": "Docs"}}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("DISK_OBJ_22000")));
    let sub = ok(
        format!("{wh}disk.folder.addsubfolder"),
        json!({"id": docs, "data": {"NAME": "Sub"}}),
    )
    .await["result"]["ID"]
        .as_str()
        .unwrap()
        .to_string();
    // A folder cannot go into itself or below itself (the tree would be a cycle).
    for (method, target) in [
        ("moveTo", &docs),
        ("moveTo", &sub),
        ("copyTo", &docs),
        ("copyTo", &sub),
    ] {
        let (s, b) = post(
            &format!("{wh}disk.folder.{method}"),
            &json!({"id": docs, "targetFolderId": target}),
        )
        .await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("ERROR_ARGUMENT")),
            "{method} {b}"
        );
    }
    let mut files = Vec::new();
    for i in 0..55 {
        let b = ok(
            format!("{wh}disk.folder.uploadFile"),
            json!({"id": docs, "data": {"NAME": format!("f{i}.txt")},
                   "fileContent": ["f.txt", "aGVsbG8gd29ybGQ="]}),
        )
        .await;
        assert_eq!(b["result"]["SIZE"], "11", "{b}");
        files.push(b["result"]["ID"].as_str().unwrap().to_string());
    }
    // Folder and file ids share one space.
    assert!(!files.contains(&sub) && !files.contains(&docs));
    let b = ok(format!("{wh}disk.folder.getchildren"), json!({"id": docs})).await;
    assert_eq!(
        (b["total"].as_i64(), b["next"].as_i64()),
        (Some(56), Some(50))
    );
    assert_eq!(b["result"][0]["NAME"], "Sub");
    let b = ok(
        format!("{wh}disk.folder.getchildren"),
        json!({"id": docs, "filter": {"TYPE": "file", "%NAME": "f1"}}),
    )
    .await;
    assert_eq!(b["total"], 11, "{b}");
    let b = ok(
        format!("{wh}disk.folder.getchildren"),
        json!({"id": docs, "start": 50}),
    )
    .await;
    assert_eq!(b["result"].as_array().unwrap().len(), 6);
    let b = ok(
        format!("{wh}disk.storage.getChildren"),
        json!({"id": storage}),
    )
    .await;
    assert_eq!(b["result"][0]["NAME"], "Docs");
    let f0 = &files[0];
    let b = ok(format!("{wh}disk.file.get"), json!({"id": f0})).await;
    assert_eq!(b["result"]["NAME"], "f0.txt");
    let b = ok(
        format!("{wh}disk.file.rename"),
        json!({"id": f0, "newName": "a.txt"}),
    )
    .await;
    assert_eq!(b["result"]["NAME"], "a.txt");
    let b = ok(
        format!("{wh}disk.file.uploadversion"),
        json!({"id": f0, "fileContent": ["a.txt", "aGk="]}),
    )
    .await;
    assert_eq!(b["result"]["GLOBAL_CONTENT_VERSION"], "2");
    assert_eq!(b["result"]["SIZE"], "2");
    let b = ok(format!("{wh}disk.file.getVersions"), json!({"id": f0})).await;
    assert_eq!(b["result"].as_array().unwrap().len(), 2);
    let b = ok(
        format!("{wh}disk.file.moveto"),
        json!({"id": f0, "targetFolderId": sub}),
    )
    .await;
    assert_eq!(b["result"]["PARENT_ID"], sub);
    let b = ok(
        format!("{wh}disk.folder.copyto"),
        json!({"id": sub, "targetFolderId": root}),
    )
    .await;
    let copy = b["result"]["ID"].as_str().unwrap().to_string();
    let b = ok(format!("{wh}disk.folder.getchildren"), json!({"id": copy})).await;
    assert_eq!(b["result"][0]["NAME"], "a.txt");
    let b = ok(format!("{wh}disk.folder.markdeleted"), json!({"id": sub})).await;
    assert_eq!(b["result"]["DELETED_TYPE"], "3");
    let b = ok(format!("{wh}disk.file.get"), json!({"id": f0})).await;
    assert_eq!(b["result"]["DELETED_TYPE"], "4");
    let b = ok(format!("{wh}disk.folder.getchildren"), json!({"id": docs})).await;
    assert_eq!(b["total"], 54);
    ok(format!("{wh}disk.folder.restore"), json!({"id": sub})).await;
    let b = ok(format!("{wh}disk.file.delete"), json!({"id": files[1]})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{wh}disk.file.get"), &json!({"id": files[1]})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("ERROR_NOT_FOUND")));
    let b = ok(format!("{wh}disk.folder.deletetree"), json!({"id": sub})).await;
    assert_eq!(b["result"], true);
    let (s, b) = post(&format!("{wh}disk.file.get"), &json!({"id": f0})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("ERROR_NOT_FOUND")));
    let (s, b) = post(&format!("{wh}disk.folder.deletetree"), &json!({"id": root})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("DISK_OBJ_22000")));
    let (s, b) = post(&format!("{wh}disk.folder.get"), &json!({})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")));
    let b = ok(
        format!("{wh}disk.storage.rename"),
        json!({"id": storage, "newName": "Mine"}),
    )
    .await;
    assert_eq!(b["result"]["NAME"], "Mine");
    let b = ok(format!("{wh}disk.file.getFields"), json!({})).await;
    assert_eq!(b["result"]["ID"]["TYPE"], "integer");
}

#[tokio::test]
async fn crm_type_update_and_delete() {
    let e = emu().await;
    let wh = e.webhook_url();
    let b = ok(
        format!("{wh}crm.type.add"),
        json!({"fields": {"title": "Projects", "entityTypeId": 130}}),
    )
    .await;
    let id = b["result"]["type"]["id"].as_i64().unwrap();
    let b = ok(
        format!("{wh}crm.type.update"),
        json!({"id": id, "fields": {"title": "Renamed", "isStagesEnabled": "Y", "entityTypeId": 140}}),
    )
    .await;
    assert_eq!(b["result"]["type"]["title"], "Renamed");
    assert_eq!(b["result"]["type"]["isStagesEnabled"], "Y");
    assert_eq!(b["result"]["type"]["entityTypeId"], 130);
    let (s, b) = post(
        &format!("{wh}crm.type.update"),
        &json!({"id": 9999, "fields": {"title": "x"}}),
    )
    .await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("SPA not found"))
    );
    let item = ok(
        format!("{wh}crm.item.add"),
        json!({"entityTypeId": 130, "fields": {"title": "P1"}}),
    )
    .await["result"]["item"]["id"]
        .as_i64()
        .unwrap();
    let (s, b) = post(&format!("{wh}crm.type.delete"), &json!({"id": id})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("BX_ERROR")));
    ok(
        format!("{wh}crm.item.delete"),
        json!({"entityTypeId": 130, "id": item}),
    )
    .await;
    let b = ok(format!("{wh}crm.type.delete"), json!({"id": id})).await;
    assert_eq!(b["result"], json!([]));
    let b = ok(format!("{wh}crm.type.delete"), json!({})).await;
    assert!(b["result"].is_null());
    let (s, _) = post(&format!("{wh}crm.item.list"), &json!({"entityTypeId": 130})).await;
    assert_eq!(s, 400);
    let b = ok(format!("{wh}crm.type.list"), json!({})).await;
    assert_eq!(b["result"]["types"], json!([]));
}
