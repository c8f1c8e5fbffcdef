//! Methods the docs document and clients use, answered from the emulator's own state in their
//! documented shape (issue 12 item 7): `crm.status.entity.items`, `crm.dealcategory.stage.list`,
//! `crm.company.contact.items.get`, `user.fields`, `socialnetwork.api.workgroup.list`,
//! `task.elapseditem.add`/`getlist`, `crm.item.productrow.*`, `crm.stagehistory.list`,
//! `lists.add`/`lists.element.add`.

mod support;

use serde_json::{Value, json};
use support::{assert_error, hook, post};

/// `crm/status/crm-status-entity-items.md`: the items of one directory by `SORT`, each
/// `{"NAME", "SORT", "STATUS_ID"}` with `SORT` a native number (a pipeline's book, which a new
/// portal does not have); without `entityId` the documented error.
#[tokio::test]
async fn status_entity_items_list_one_directory_by_sort() {
    let p = hook().await;
    for (entity, id, name, sort) in [
        ("DEAL_STAGE_3", "C3:WON", "Deal successful", 60),
        ("DEAL_STAGE_3", "C3:NEW", "New", 10),
        ("DEAL_STAGE_4", "C4:NEW", "New", 10),
    ] {
        let f =
            json!({"fields": {"ENTITY_ID": entity, "STATUS_ID": id, "NAME": name, "SORT": sort}});
        p.call("crm.status.add", f).await;
    }
    let b = p
        .call(
            "crm.status.entity.items",
            json!({"entityId": "DEAL_STAGE_3"}),
        )
        .await;
    assert_eq!(
        b["result"],
        json!([
            {"NAME": "New", "SORT": 10, "STATUS_ID": "C3:NEW"},
            {"NAME": "Deal successful", "SORT": 60, "STATUS_ID": "C3:WON"},
        ]),
        "{b}"
    );
    let (s, b) = post(
        &format!("{}crm.status.entity.items", p.emu.webhook_url()),
        &json!({}),
    )
    .await;
    assert_error(
        s,
        &b,
        400,
        "The parameter entityId is not defined or invalid.",
    );
}

/// `crm/companies/contacts/crm-company-contact-items-get.md`: native numbers `CONTACT_ID`,
/// `SORT`, `ROLE_ID` next to `"IS_PRIMARY":"Y"` for the first binding; the contacts the company
/// names and those naming the company, once each; `id` missing: the documented error.
#[tokio::test]
async fn company_contact_items_are_the_bindings_with_native_numbers() {
    let p = hook().await;
    let contact = |name: &str| json!({"fields": {"NAME": name}});
    let first = p.call("crm.contact.add", contact("A")).await["result"].clone();
    let unbound = p.call("crm.contact.add", contact("B")).await["result"].clone();
    let company = p
        .call(
            "crm.company.add",
            json!({"fields": {"TITLE": "Co", "CONTACT_ID": [first]}}),
        )
        .await["result"]
        .clone();
    let named = p
        .call(
            "crm.contact.add",
            json!({"fields": {"NAME": "C", "COMPANY_IDS": [company]}}),
        )
        .await["result"]
        .clone();
    let r = p
        .call("crm.company.contact.items.get", json!({"id": company}))
        .await;
    let n = |v: &Value| {
        v.as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or(v.as_i64())
    };
    let (first, named) = (n(&first).unwrap(), n(&named).unwrap());
    assert_eq!(
        r["result"],
        json!([
            {"CONTACT_ID": first, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
            {"CONTACT_ID": named, "SORT": 110, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        ]),
        "{r} (contact {unbound} is not bound)"
    );
    let url = format!("{}crm.company.contact.items.get", p.emu.webhook_url());
    let (status, e) = post(&url, &json!({"id": 0})).await;
    assert_error(status, &e, 400, "");
    assert_eq!(
        e["error_description"],
        "The parameter ownerEntityID is invalid or not defined."
    );
}

/// `user/user-fields.md`: a flat map field -> title that names every key a user row has.
#[tokio::test]
async fn user_fields_title_every_key_of_a_user_row() {
    let p = hook().await;
    let f = p.call("user.fields", json!({})).await;
    let fields = f["result"].as_object().expect("a map");
    assert_eq!(fields["NAME"], "First Name", "{f}");
    assert!(fields.values().all(Value::is_string), "{f}");
    let u = p.call("user.current", json!({})).await;
    for k in u["result"].as_object().unwrap().keys() {
        assert!(fields.contains_key(k), "user.fields lacks {k}: {f}");
    }
}

/// `sonet-group/socialnetwork-api-workgroup-list.md`: `{"workgroups": [...]}` of the selected
/// fields in camelCase, `AVATAR` as `imageId`/`avatarType`/`avatar`, `additionalData` in the
/// mobile mode, `dialogId` when asked; a full page has `next` even when nothing remains.
#[tokio::test]
async fn workgroup_list_answers_the_selected_fields_in_camel_case() {
    let p = hook().await;
    p.call("sonet_group.create", json!({"NAME": "Open group"}))
        .await;
    p.call(
        "sonet_group.create",
        json!({"NAME": "A project group", "PROJECT": "Y"}),
    )
    .await;
    let req = json!({"filter": {"ACTIVE": "Y", "%NAME": "group"}, "select": ["ID", "NAME", "TYPE", "AVATAR"],
        "order": {"ID": "DESC"}, "params": {"mode": "mobile", "shouldSelectDialogId": "Y"}});
    let b = p.call("socialnetwork.api.workgroup.list", req).await;
    let extra = json!({"additionalData": {"role": "A", "initiatedByType": ""}, "dialogId": ""});
    let row = |id: &str, name: &str, ty: &str| {
        let mut r = json!({"id": id, "name": name, "type": ty, "imageId": null, "avatarType": null, "avatar": ""});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    assert_eq!(
        b["result"],
        json!({"workgroups": [row("2", "A project group", "project"), row("1", "Open group", "group")]}),
        "{b}"
    );
    assert_eq!((b["total"].clone(), b.get("next")), (json!(2), None), "{b}");
    // Without a select only `id`.
    let b = p.call("socialnetwork.api.workgroup.list", json!({})).await;
    assert_eq!(b["result"]["workgroups"][0], json!({"id": "1"}), "{b}");
    for i in 3..=50 {
        p.call("sonet_group.create", json!({"NAME": format!("G{i}")}))
            .await;
    }
    let b = p.call("socialnetwork.api.workgroup.list", json!({})).await;
    assert_eq!(
        (b["total"].clone(), b["next"].clone()),
        (json!(50), json!(50)),
        "{b}"
    );
}

/// `tasks/elapsed-item/task-elapsed-item-get-list.md`: string numbers and ISO dates, `total`;
/// by name or by position (`[TASKID, ORDER, FILTER]`); per task in a batch, a task without
/// records answers `[]` next to another's rows; an unknown task: `ERROR_CORE`.
#[tokio::test]
async fn elapsed_items_are_listed_per_task() {
    let p = hook().await;
    for t in ["One", "Two"] {
        p.call("tasks.task.add", json!({"fields": {"TITLE": t}}))
            .await;
    }
    let add = json!({"TASKID": 1, "ARFIELDS": {"SECONDS": 3600, "COMMENT_TEXT": "work"}});
    assert_eq!(p.call("task.elapseditem.add", add).await["result"], 1);
    let positional = json!([1, {"SECONDS": 113, "COMMENT_TEXT": "more"}]);
    assert_eq!(
        p.call("task.elapseditem.add", positional).await["result"],
        2
    );
    let listed = p
        .call(
            "task.elapseditem.getlist",
            json!([1, {"ID": "desc"}, {">=SECONDS": 100}]),
        )
        .await;
    let rows = listed["result"].as_array().expect("rows");
    assert_eq!(
        (rows.len(), listed["total"].clone()),
        (2, json!(2)),
        "{listed}"
    );
    let row = &rows[0];
    assert_eq!(
        (
            &row["ID"],
            &row["TASK_ID"],
            &row["SECONDS"],
            &row["MINUTES"]
        ),
        (&json!("2"), &json!("1"), &json!("113"), &json!("2")),
        "{listed}"
    );
    assert_eq!(
        (&row["USER_ID"], &row["COMMENT_TEXT"], &row["SOURCE"]),
        (&json!("1"), &json!("more"), &json!("2")),
        "{listed}"
    );
    assert_eq!(
        row["CREATED_DATE"].as_str().map(str::len),
        Some(25),
        "{listed}"
    );
    let cmd = json!({"cmd": {"a": "task.elapseditem.getlist?TASKID=1", "b": "task.elapseditem.getlist?TASKID=2"}});
    let listed = p.call("batch", cmd).await;
    let per_task = &listed["result"]["result"];
    assert_eq!(per_task["a"].as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(per_task["b"], json!([]), "{listed}");
    let url = format!("{}task.elapseditem.getlist", p.emu.webhook_url());
    let (status, e) = post(&url, &json!({"TASKID": 99})).await;
    assert_error(status, &e, 400, "ERROR_CORE");
}

/// `crm/universal/product-rows/crm-item-productrow-list.md`: `{"productRows": [...]}` of the
/// owner's rows with the derived prices of the docs' example (price 90000, tax 10% included,
/// discount 10%: 81818.18 without tax, 90909.09 before the discount, 100000 gross), a whole
/// `quantity` as a number, `taxRate: null` when untaxed; the filter must name the owner.
#[tokio::test]
async fn product_rows_carry_the_derived_prices() {
    let p = hook().await;
    let deal = p
        .call("crm.deal.add", json!({"fields": {"TITLE": "D"}}))
        .await["result"]
        .clone();
    let taxed = json!({"fields": {"ownerId": deal, "ownerType": "D", "productName": "iphone 14",
        "price": 90000, "quantity": 3, "discountTypeId": 2, "discountRate": 10, "taxRate": 10,
        "taxIncluded": "Y", "sort": 20}});
    let added = p.call("crm.item.productrow.add", taxed).await;
    let row = &added["result"]["productRow"];
    assert_eq!(
        (
            &row["priceExclusive"],
            &row["priceNetto"],
            &row["priceBrutto"],
            &row["discountSum"]
        ),
        (
            &json!(81818.18),
            &json!(90909.09),
            &json!(100_000),
            &json!(9090.91)
        ),
        "{added}"
    );
    let plain = json!({"fields": {"ownerId": deal, "ownerType": "D", "productName": "case", "price": 5550, "sort": 10}});
    p.call("crm.item.productrow.add", plain).await;
    let filter = json!({"filter": {"=ownerType": "D", "=ownerId": deal}});
    let listed = p.call("crm.item.productrow.list", filter).await;
    let rows = listed["result"]["productRows"]
        .as_array()
        .expect("productRows");
    let names: Vec<&Value> = rows.iter().map(|r| &r["productName"]).collect();
    assert_eq!(names, [&json!("case"), &json!("iphone 14")], "{listed}");
    assert_eq!(
        (&rows[0]["taxRate"], &rows[0]["quantity"]),
        (&Value::Null, &json!(1)),
        "{listed}"
    );
    assert_eq!(
        (&rows[1]["quantity"], &listed["total"]),
        (&json!(3), &json!(2)),
        "{listed}"
    );
    let url = format!("{}crm.item.productrow.list", p.emu.webhook_url());
    let (status, e) = post(&url, &json!({"filter": {"=ownerType": "D"}})).await;
    assert_error(status, &e, 400, "INVALID_ARG_VALUE");
    let url = format!("{}crm.item.productrow.get", p.emu.webhook_url());
    let (status, e) = post(&url, &json!({"id": 99})).await;
    assert_error(status, &e, 400, "NOT_FOUND");
}

/// `crm/crm-stage-history-list.md`: `{"items": [...]}` of UPPER keys with native numbers: the
/// creation (`TYPE_ID` 1), a move to an intermediate stage (2) and to a final one (3, `S`);
/// leads name `STATUS_ID`/`STATUS_SEMANTIC_ID`.
#[tokio::test]
async fn stage_history_records_creation_and_moves() {
    let p = hook().await;
    let deal = p
        .call("crm.deal.add", json!({"fields": {"TITLE": "D"}}))
        .await["result"]
        .clone();
    for stage in ["PREPARATION", "PREPARATION", "WON"] {
        let f = json!({"id": deal, "fields": {"STAGE_ID": stage}});
        p.call("crm.deal.update", f).await;
    }
    let req = json!({"entityTypeId": 2, "order": {"ID": "ASC"}, "filter": {"OWNER_ID": deal}});
    let listed = p.call("crm.stagehistory.list", req).await;
    let items = listed["result"]["items"].as_array().expect("items");
    let moves: Vec<(i64, &str, &str)> = (items.iter())
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default();
            (
                r["TYPE_ID"].as_i64().unwrap_or(0),
                text("STAGE_ID"),
                text("STAGE_SEMANTIC_ID"),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [(1, "NEW", "P"), (2, "PREPARATION", "P"), (3, "WON", "S")],
        "{listed}"
    );
    assert_eq!(
        (&items[0]["CATEGORY_ID"], &listed["total"]),
        (&json!(0), &json!(3)),
        "{listed}"
    );
    assert!(items[0]["OWNER_ID"].is_number(), "{listed}");
    let req = json!({"entityTypeId": 2, "select": ["ID", "STAGE_ID", "CREATED_TIME"]});
    let picked = p.call("crm.stagehistory.list", req).await;
    let keys = support::keys(&picked["result"]["items"][0]);
    assert_eq!(keys, ["ID", "CREATED_TIME", "STAGE_ID"], "{picked}");
    p.call("crm.lead.add", json!({"fields": {"TITLE": "L"}}))
        .await;
    let leads = p
        .call("crm.stagehistory.list", json!({"entityTypeId": 1}))
        .await;
    assert_eq!(leads["result"]["items"][0]["STATUS_ID"], "NEW", "{leads}");
    let url = format!("{}crm.stagehistory.list", p.emu.webhook_url());
    let (status, e) = post(&url, &json!({})).await;
    assert_error(status, &e, 400, "100");
}

/// `crm/outdated/category-old/crm-deal-category-stage-list.md`: the `crm.status.list` rows of
/// `DEAL_STAGE` for pipeline 0 or no `id`, of `DEAL_STAGE_<id>` otherwise; none for a pipeline
/// that does not exist.
#[tokio::test]
async fn deal_category_stages_are_the_pipelines_directory() {
    let p = hook().await;
    let f = json!({"fields": {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "C1:NEW", "NAME": "New", "SORT": 10}});
    p.call("crm.status.add", f).await;
    let all = p
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE_1"}}),
        )
        .await;
    let one = p
        .call("crm.dealcategory.stage.list", json!({"id": "1"}))
        .await;
    assert_eq!(one["result"], all["result"], "{one}");
    assert_eq!(one["result"][0]["STATUS_ID"], "C1:NEW", "{one}");
    let default = p.call("crm.dealcategory.stage.list", json!({})).await;
    assert_eq!(default["result"][0]["STATUS_ID"], "NEW", "{default}");
    let none = p
        .call("crm.dealcategory.stage.list", json!({"id": 10}))
        .await;
    assert_eq!(none["result"], json!([]), "{none}");
}

/// `lists/elements/lists-element-add.md`: the new element's id; the list by `IBLOCK_ID` or
/// `IBLOCK_CODE`; the documented errors for a missing list, a taken code and a missing name.
#[tokio::test]
async fn list_elements_are_added_to_an_existing_list() {
    let p = hook().await;
    let list =
        json!({"IBLOCK_TYPE_ID": "lists", "IBLOCK_CODE": "my_list", "FIELDS": {"NAME": "My list"}});
    let iblock = p.call("lists.add", list).await["result"].clone();
    let element = json!({"IBLOCK_TYPE_ID": "lists", "IBLOCK_ID": iblock, "ELEMENT_CODE": "e1",
        "FIELDS": {"NAME": "Test Element", "PROPERTY_951": ["1269", "1271"]}});
    assert_eq!(
        p.call("lists.element.add", element.clone()).await["result"],
        1
    );
    let by_code = json!({"IBLOCK_TYPE_ID": "lists", "IBLOCK_CODE": "my_list", "ELEMENT_CODE": "e2",
        "FIELDS": {"NAME": "Second"}});
    assert_eq!(p.call("lists.element.add", by_code).await["result"], 2);
    let url = format!("{}lists.element.add", p.emu.webhook_url());
    let (status, e) = post(&url, &element).await;
    assert_error(status, &e, 400, "ERROR_ELEMENT_ALREADY_EXISTS");
    let mut missing = element.clone();
    missing["IBLOCK_ID"] = json!(99);
    let (status, e) = post(&url, &missing).await;
    assert_error(status, &e, 400, "ERROR_IBLOCK_NOT_FOUND");
    let mut nameless = element;
    nameless["FIELDS"] = json!({"PROPERTY_951": "1"});
    let (status, e) = post(&url, &nameless).await;
    assert_error(status, &e, 400, "ERROR_REQUIRED_PARAMETERS_MISSING");
}

/// `crm/universal/crm-item-list.md`: a numbered filter key holding a map is a group of its own,
/// its members joined by its `logic` (`{"0": {"logic": "OR", "0": {"!=name": ""}, "1":
/// {"!=lastName": ""}}}`: a name or a last name), next to the plain conditions.
#[tokio::test]
async fn item_list_filters_take_or_groups() {
    let p = hook().await;
    for (name, last, amount) in [
        ("Ann", "", 6000),
        ("", "Bo", 7000),
        ("", "", 8000),
        ("Cy", "", 10),
    ] {
        let f = json!({"entityTypeId": 1, "fields": {"title": "L", "name": name, "lastName": last, "opportunity": amount}});
        p.call("crm.item.add", f).await;
    }
    let filter = json!({"0": {"logic": "OR", "0": {"!=name": ""}, "1": {"!=lastName": ""}},
        ">=opportunity": 5000});
    let listed = p
        .call(
            "crm.item.list",
            json!({"entityTypeId": 1, "select": ["id", "name", "lastName"], "filter": filter}),
        )
        .await;
    let ids: Vec<&Value> = listed["result"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2)], "{listed}");
    // `crm/universal/crm-item-get.md`: the lead's empty lists are `[]`, its phones `fm` and
    // strings, and its disabled fields `null`.
    let f = json!({"entityTypeId": 1, "id": 1, "fields": {"fm": {"n0": {"typeId": "PHONE", "valueType": "MOBILE", "value": "+1"}}}});
    p.call("crm.item.update", f).await;
    let got = p
        .call("crm.item.get", json!({"entityTypeId": 1, "id": 1}))
        .await;
    let item = &got["result"]["item"];
    assert_eq!(
        (&item["observers"], &item["contactIds"], &item["isConvert"]),
        (&json!([]), &json!([]), &Value::Null),
        "{got}"
    );
    assert_eq!(
        (
            &item["phone"],
            &item["phoneMobile"],
            &item["phoneWork"],
            &item["hasPhone"]
        ),
        (&json!("+1"), &json!("+1"), &json!(""), &json!("Y")),
        "{got}"
    );
}
