//! The typed API of issue 11 against the emulator: entities as add/update inputs, typed filters,
//! orders and selects, builder setters with the newtypes, enums, and user fields without a trait.

use bitrix24::Error;
use bitrix24::filter::Sort;
#[allow(deprecated)]
// issue 11's typed API on the legacy entities (Deal, Lead, Contact, Company) and their wire
use bitrix24::packs::core::{
    Company, Contact, CrmCompanyAdd, CrmCompanyGet, CrmCompanyUpdate, CrmContactAdd, CrmContactGet,
    CrmDealAdd, CrmDealGet, CrmDealList, CrmDealUpdate, CrmLeadAdd, CrmLeadList, CrmLeadUpdate,
    Deal, Lead, StageSemantic,
};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::{hook_client, portal};

#[allow(deprecated)] // the reason is on the imports
#[tokio::test]
async fn adds_and_updates_take_their_entity() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let id: u64 = c
        .send(&CrmCompanyAdd::new(Company::new().title("Acme")))
        .await
        .unwrap();
    assert!(
        c.send(&CrmCompanyUpdate::new(id, Company::new().title("Acme Ltd")))
            .await
            .unwrap()
    );
    let company: Company = c.send(&CrmCompanyGet::new(id)).await.unwrap();
    assert_eq!(company.title.as_deref(), Some("Acme Ltd"));

    let contact = Contact::new().name("Ada").last_name("Lovelace");
    let id: u64 = c.send(&CrmContactAdd::new(contact)).await.unwrap();
    let got: Contact = c.send(&CrmContactGet::new(id)).await.unwrap();
    assert_eq!(got.last_name.as_deref(), Some("Lovelace"));

    // Untyped data still goes in: a map, or a JSON value checked on the way.
    let untyped = json!({"TITLE": "From a map"}).as_object().unwrap().clone();
    let id: u64 = c.send(&CrmCompanyAdd::new(untyped)).await.unwrap();
    let company: Company = c.send(&CrmCompanyGet::new(id)).await.unwrap();
    assert_eq!(company.title.as_deref(), Some("From a map"));
    let e = Deal::try_from(json!({"ID": "12", "OPPORTUNITY": {"x": 1}})).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { method, message } if method == "Deal" && message.contains("OPPORTUNITY")),
        "{e}"
    );
    let e = Deal::try_from(json!("TITLE")).unwrap_err();
    assert!(e.to_string().contains("got a string"), "{e}");
}

#[allow(deprecated)] // the reason is on the imports
#[tokio::test]
async fn typed_filters_orders_and_selects() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    for (title, amount) in [
        ("bulk one", 500),
        ("bulk two", 2000),
        ("bulk three", 3000),
        ("other", 9000),
    ] {
        c.send(&CrmLeadAdd::new(
            Lead::new().title(title).opportunity(amount),
        ))
        .await
        .unwrap();
    }
    let request = CrmLeadList::new()
        .filter(
            Lead::filter()
                .title()
                .starts_with("bulk")
                .opportunity()
                .gt(1000),
        )
        .select([Lead::ID, Lead::TITLE, Lead::OPPORTUNITY]);
    let mut titles: Vec<String> = c
        .stream(&request)
        .map_ok(|l: Lead| l.title.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    titles.sort();
    assert_eq!(titles, ["bulk three", "bulk two"]);

    // The docs' own spelling works too, and an order reads as one.
    let request = CrmLeadList::new()
        .filter(json!({"=%TITLE": "bulk%", "!@TITLE": ["bulk one"]}))
        .order(Sort::new().desc(Lead::OPPORTUNITY));
    let page = c.send(&request).await.unwrap();
    let titles: Vec<_> = page.iter().filter_map(|l| l.title.as_deref()).collect();
    assert_eq!(titles, ["bulk three", "bulk two"]);

    // Anything that is not an object is refused before sending, naming method and parameter.
    let e = c
        .send(&CrmLeadList::new().filter(json!(["TITLE"])))
        .await
        .unwrap_err();
    match &e {
        Error::InvalidInput { method, message } => {
            assert_eq!(method, "crm.lead.list");
            assert!(
                message.contains("`filter` must be a JSON object"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[allow(deprecated)] // the reason is on the imports
#[tokio::test]
async fn entities_build_with_setters_and_read_back_typed() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let deal = Deal::new()
        .title("Engines")
        .company_id(7)
        .opportunity(15000.50)
        .begindate("2024-03-01");
    let wire = serde_json::to_value(CrmDealAdd::new(deal.clone())).unwrap();
    assert_eq!(
        wire["fields"],
        json!({"TITLE": "Engines", "COMPANY_ID": 7, "OPPORTUNITY": "15000.5", "BEGINDATE": "2024-03-01"})
    );
    let id: u64 = c.send(&CrmDealAdd::new(deal)).await.unwrap();
    let got: Deal = c.send(&CrmDealGet::new(id)).await.unwrap();
    assert_eq!(got.opportunity.and_then(|o| o.to_f64()), Some(15000.5));
    assert_eq!(got.company_id, Some(7));

    // Stage groups are the documented enum; unknown values stay readable.
    let d: Deal = serde_json::from_value(json!({"STAGE_SEMANTIC_ID": "S"})).unwrap();
    assert_eq!(d.stage_semantic_id, Some(StageSemantic::Success));
    let d: Deal = serde_json::from_value(json!({"STAGE_SEMANTIC_ID": "Z"})).unwrap();
    assert_eq!(
        d.stage_semantic_id,
        Some(StageSemantic::Unknown("Z".into()))
    );
    let lead = Lead::new().status_semantic_id(StageSemantic::InProgress);
    assert_eq!(
        serde_json::to_value(&lead).unwrap(),
        json!({"STATUS_SEMANTIC_ID": "P"})
    );
    let _ = CrmLeadUpdate::new(1, lead);
}

#[test]
fn user_fields_without_a_trait_import() -> Result<(), Error> {
    let mut deal = Deal::new().title("Budgeted");
    deal.set_uf("UF_CRM_BUDGET", 1234)?;
    let budget: u64 = deal.uf("UF_CRM_BUDGET")?;
    assert_eq!(budget, 1234);
    assert_eq!(serde_json::to_value(&deal).unwrap()["UF_CRM_BUDGET"], 1234);

    // As a portal sends it: text, decoded leniently; absent is an error, or None with uf_opt.
    let read: Deal = serde_json::from_value(json!({"UF_CRM_BUDGET": "1234"})).unwrap();
    assert_eq!(read.uf::<u64>("UF_CRM_BUDGET")?, 1234);
    let missing = read.uf::<u64>("UF_CRM_OTHER").unwrap_err();
    assert!(missing.to_string().contains("UF_CRM_OTHER"), "{missing}");
    assert_eq!(read.uf_opt::<u64>("UF_CRM_OTHER")?, None);

    // Only user fields: the entity's own fields have setters.
    let e = deal.set_uf("TITLE", "x").unwrap_err();
    assert!(
        e.to_string().contains("`TITLE` is not a user field name"),
        "{e}"
    );
    Ok(())
}

#[allow(deprecated)] // the reason is on the imports
#[tokio::test]
async fn batch_handles_link_into_id_parameters() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let mut batch = c.batch();
    let added = batch
        .add(&CrmDealAdd::new(Deal::new().title("Linked")))
        .unwrap();
    let got = batch.add(&CrmDealGet::new(&added)).unwrap();
    let results = batch.send().await.unwrap();
    let id = results.get(&added).unwrap();
    let deal = results.get(&got).unwrap();
    assert_eq!((deal.id, deal.title.as_deref()), (Some(id), Some("Linked")));

    // A link key naming no parameter of the method is refused when the batch is built: `ID`
    // would have been sent beside `id`.
    let mut batch = c.batch();
    batch
        .add_named("new_deal", &CrmDealAdd::new(Deal::new().title("x")))
        .unwrap();
    let e = batch
        .add_linked(
            "g",
            &CrmDealGet::new(0),
            [("ID", bitrix24::BatchRef::result("new_deal"))],
        )
        .unwrap_err();
    match &e {
        Error::InvalidInput { method, message } => {
            assert_eq!(method, "crm.deal.get");
            assert!(
                message.contains("link key `ID` names no parameter")
                    && message.contains("did you mean `id`?"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Nested keys are checked by their parameter.
    batch
        .add_linked(
            "l",
            &CrmDealList::new(),
            [("filter[>ID]", bitrix24::BatchRef::result("new_deal"))],
        )
        .unwrap();
}

#[allow(deprecated)] // the reason is on the imports
#[tokio::test]
async fn a_batch_handle_is_refused_outside_its_batch() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let mut first = c.batch();
    let added = first
        .add(&CrmDealAdd::new(Deal::new().title("First")))
        .unwrap();
    let first_id = first.send().await.unwrap().get(&added).unwrap();

    // In another batch `$result[c0]` would read that batch's own `c0`: the other deal.
    let mut second = c.batch();
    let own = second
        .add(&CrmDealAdd::new(Deal::new().title("Second")))
        .unwrap();
    let e = second
        .add(&CrmDealUpdate::new(&added, Deal::new().comments("lost")))
        .unwrap_err();
    let message = invalid_input(&e, "crm.deal.update");
    assert!(
        message.contains("command `c0` of another batch"),
        "{message}"
    );
    assert_eq!(second.len(), 1, "the refused command is not in the batch");

    // A plain call would send the text `$result[c0]` as the id.
    let e = c.send(&CrmDealGet::new(&added)).await.unwrap_err();
    let message = invalid_input(&e, "crm.deal.get");
    assert!(
        message.contains("only inside the batch that made it"),
        "{message}"
    );

    // Results answer only their own batch's handles: `c0` of these is the other deal.
    let second_results = second.send().await.unwrap();
    let e = second_results.get(&added).unwrap_err();
    let message = invalid_input(&e, "crm.deal.add");
    assert!(message.contains("comes from another batch"), "{message}");
    // Nor do its per-command details: the timing of `c0` is the other deal's.
    assert!(second_results.time(&own).is_some());
    assert!(second_results.time(&added).is_none());

    // The id itself works anywhere, and the first deal was never touched.
    let deal = c.send(&CrmDealGet::new(first_id)).await.unwrap();
    assert_eq!(
        (deal.title.as_deref(), deal.comments),
        (Some("First"), None)
    );
}

fn invalid_input<'e>(e: &'e Error, expected: &str) -> &'e str {
    match e {
        Error::InvalidInput { method, message } if method == expected => message,
        other => panic!("{other:?}"),
    }
}

#[test]
fn crm_user_field_methods_are_typed() {
    use bitrix24::packs::core::{CrmDealUserfieldAdd, CrmDealUserfieldList, CrmUserField};
    use bitrix24::{Method, Risk};
    // A real portal keeps a UF_* value only when the field exists: create it first.
    let add = CrmDealUserfieldAdd::new(
        CrmUserField::new()
            .entity_id("CRM_DEAL")
            .field_name("BUDGET")
            .user_type_id("double")
            .mandatory(false),
    );
    assert_eq!(
        serde_json::to_value(&add).unwrap(),
        json!({"fields": {"ENTITY_ID": "CRM_DEAL", "FIELD_NAME": "BUDGET", "USER_TYPE_ID": "double", "MANDATORY": "N"}})
    );
    assert_eq!(CrmDealUserfieldAdd::RISK, Risk::Write);
    let list =
        CrmDealUserfieldList::new().filter(CrmUserField::filter().user_type_id().eq("double"));
    assert_eq!(
        serde_json::to_value(&list).unwrap(),
        json!({"filter": {"=USER_TYPE_ID": "double"}})
    );
}

#[test]
fn legacy_flags_filter_as_y_n() {
    let f = Deal::filter()
        .opened()
        .eq(true)
        .stage_semantic_id()
        .one_of([StageSemantic::Success]);
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"=OPENED": "Y", "@STAGE_SEMANTIC_ID": ["S"]})
    );
}

#[test]
fn task_priority_status_and_mark_are_the_documented_enums() {
    use bitrix24::packs::core::{Task, TaskMark, TaskPriority, TaskStatus};
    let t: Task =
        serde_json::from_value(json!({"id": "5", "priority": "2", "status": "5", "mark": null}))
            .unwrap();
    assert_eq!(t.priority, Some(TaskPriority::High));
    assert_eq!(t.status, Some(TaskStatus::Completed));
    assert_eq!(t.mark, None::<TaskMark>);
}

#[tokio::test]
async fn task_add_and_update_take_upper_snake_task_fields() {
    use bitrix24::DateTime;
    use bitrix24::packs::core::{
        TaskFields, TaskPriority, TasksTaskAddV2, TasksTaskGetV2, TasksTaskUpdateV2,
    };
    let fields = TaskFields::new()
        .title("Call the supplier")
        .responsible_id(1)
        .priority(TaskPriority::High)
        .deadline(DateTime::from("2025-12-31T23:59:00+02:00"))
        .auditors([1])
        .task_control(true);
    // The wire keys are the UPPER_SNAKE ones tasks.task.add documents, not the camelCase answer.
    let body = serde_json::to_value(TasksTaskAddV2::new(fields.clone())).unwrap();
    assert_eq!(
        body,
        json!({"fields": {"TITLE": "Call the supplier", "RESPONSIBLE_ID": 1, "PRIORITY": "2",
            "DEADLINE": "2025-12-31T23:59:00+02:00", "AUDITORS": [1], "TASK_CONTROL": "Y"}})
    );

    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let added = c.send(&TasksTaskAddV2::new(fields)).await.unwrap().task;
    let id = added.id.expect("the added task has an id");
    assert_eq!(added.title.as_deref(), Some("Call the supplier"));
    let update = TasksTaskUpdateV2::new(id, TaskFields::new().title("Call the supplier again"));
    assert_eq!(
        serde_json::to_value(&update).unwrap()["fields"],
        json!({"TITLE": "Call the supplier again"})
    );
    c.send(&update).await.unwrap();
    let task = c.send(&TasksTaskGetV2::new(id)).await.unwrap().task;
    assert_eq!(task.title.as_deref(), Some("Call the supplier again"));
    assert_eq!(task.responsible_id, Some(1));
    assert_eq!(task.priority, Some(TaskPriority::High));
    let deadline = task.deadline.expect("the deadline reads back");
    assert_eq!(
        deadline.to_offset_date_time().unwrap(),
        DateTime::from("2025-12-31T23:59:00+02:00")
            .to_offset_date_time()
            .unwrap()
    );
    // `auditors` is `list<id>` in `Task`: the docs answer `["503"]`, decoded as numbers.
    assert_eq!(task.auditors, Some(vec![1]));

    // Untyped data still goes in, under the same keys.
    let untyped = json!({"TITLE": "From a map"}).as_object().unwrap().clone();
    let task = c.send(&TasksTaskAddV2::new(untyped)).await.unwrap().task;
    assert_eq!(task.title.as_deref(), Some("From a map"));
    // UF_* fields (the CRM binding `UF_CRM_TASK`) go through `set_uf`, read back camelCase.
    let mut bound = TaskFields::new().title("Bound to a deal");
    bound.set_uf("UF_CRM_TASK", ["D_10"]).unwrap();
    let task = c.send(&TasksTaskAddV2::new(bound)).await.unwrap().task;
    assert_eq!(task.extra.get("ufCrmTask"), Some(&json!(["D_10"])));
    let e = TaskFields::try_from(json!({"RESPONSIBLE_ID": {"x": 1}})).unwrap_err();
    assert!(e.to_string().contains("RESPONSIBLE_ID"), "{e}");
}
