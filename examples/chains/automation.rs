//! The `automation` chains of references/chains-automation.md, each a function run against
//! the embedded emulator by `cargo test -p bitrix24-examples --test chains_automation`.

use bitrix24::packs::automation::{
    BizprocRobotAdd, BizprocRobotList, BizprocRobotUpdate, BizprocWorkflowInstances,
    BizprocWorkflowStart, BizprocWorkflowTemplateAdd, BizprocWorkflowTerminate,
};
use bitrix24::packs::core::EventBind;
use bitrix24::{Client, Error};
use bitrix24_emulator::{Emulator, RunningEmulator};
use bitrix24_examples::app_client;
use serde_json::{Value, json};

/// Chain 1, start a workflow from a CRM event (an OAuth application): bind the deal update to
/// your handler, and for each `ONCRMDEALUPDATE` it receives start the template on that deal
/// and read its state back. Returns the workflow id.
async fn bind_deal_updates(client: &Client, handler: &str) -> Result<(), Error> {
    // 1. event.bind on the deal update, to your handler
    client
        .send(&EventBind::new("ONCRMDEALUPDATE").handler(handler))
        .await?;
    Ok(())
}

/// Chain 1, continued: the handler's work for one event (`data[FIELDS][ID]`).
async fn start_for_event(client: &Client, template: u64, data: &Value) -> Result<String, Error> {
    let deal = data["FIELDS"]["ID"].as_str().unwrap_or_default();
    // 2. bizproc.workflow.start on the deal: [module, document class, DEAL_<id>]
    let document = ["crm", "CCrmDocumentDeal", &format!("DEAL_{deal}")];
    let workflow = client
        .send(&BizprocWorkflowStart::new(template, document))
        .await?;
    // 3. track its state: bizproc.workflow.instances by workflow id
    let running = client
        .send(&BizprocWorkflowInstances::new().filter(json!({ "ID": workflow })))
        .await?;
    assert_eq!(running[0]["DOCUMENT_ID"], format!("DEAL_{deal}"));
    Ok(workflow)
}

/// Chain 2, robot configuration rollout: the application's robots, then add the robot or
/// update the one that is there. Returns whether it was added.
async fn rollout_robot(client: &Client, code: &str, handler: &str) -> Result<bool, Error> {
    // 1. bizproc.robot.list: the codes this application registered
    let codes = client.send(&BizprocRobotList::new()).await?;
    let present = codes
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x == code));
    if present {
        // 2b. bizproc.robot.update: the new handler
        let fields = json!({ "HANDLER": handler });
        client.send(&BizprocRobotUpdate::new(code, fields)).await?;
    } else {
        // 2a. bizproc.robot.add
        let robot = BizprocRobotAdd::new(code, handler, json!({ "en": "Send SMS" }))
            .properties(json!({ "phone": { "Name": "Phone", "Type": "string" } }));
        client.send(&robot).await?;
    }
    // 3. validate on a test entity before a broader rollout (your own check)
    Ok(!present)
}

/// Chain 3, controlled stop: the running workflows of a document, each terminated normally;
/// `bizproc.workflow.kill` only for an emergency cleanup. Returns how many were stopped.
async fn controlled_stop(client: &Client, document: &str, emergency: bool) -> Result<usize, Error> {
    // 1. the active workflow ids
    let running = client
        .send(&BizprocWorkflowInstances::new().filter(json!({ "DOCUMENT_ID": document })))
        .await?;
    let ids: Vec<String> = running
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["ID"].as_str().map(str::to_owned))
        .collect();
    for id in &ids {
        if emergency {
            // 3. bizproc.workflow.kill (untyped: the spec types ID as an integer, as its docs
            //    table does, while workflow ids are strings)
            client
                .call("bizproc.workflow.kill", json!({ "ID": id }))
                .await?;
        } else {
            // 2. bizproc.workflow.terminate, the normal stop
            let stop = BizprocWorkflowTerminate::new(id.as_str()).status("Stopped by sync");
            client.send(&stop).await?;
        }
    }
    Ok(ids.len())
}

async fn app_portal() -> (RunningEmulator, Client) {
    let emu = Emulator::builder()
        .start()
        .await
        .expect("the emulator starts");
    let app = app_client(&emu).unwrap();
    (emu, app)
}

/// A deal template, as an application adds it (`TEMPLATE_DATA` is the `.bpt` file).
async fn deal_template(app: &Client) -> u64 {
    let add = BizprocWorkflowTemplateAdd::new(
        ["crm", "CCrmDocumentDeal", "DEAL"],
        "Approve discount",
        json!(["approve.bpt", "YnB0"]),
    );
    app.send(&add).await.unwrap()
}

#[tokio::test]
async fn chain_1_start_workflow_from_crm_event() {
    let (emu, app) = app_portal().await;
    bind_deal_updates(&app, "https://app.example.com/deal-updated")
        .await
        .unwrap();
    let template = deal_template(&app).await;
    let event = json!({ "FIELDS": { "ID": "7" } });
    let id = start_for_event(&app, template, &event).await.unwrap();
    assert!(!id.is_empty());
    assert_eq!(emu.control().method_calls("bizproc.workflow.start"), 1);
}

#[tokio::test]
async fn chain_2_robot_configuration_rollout() {
    let (_emu, app) = app_portal().await;
    assert!(
        rollout_robot(&app, "sms_robot", "https://app.example.com/v1")
            .await
            .unwrap()
    );
    assert!(
        !rollout_robot(&app, "sms_robot", "https://app.example.com/v2")
            .await
            .unwrap()
    );
    let e = rollout_robot(&app, "sms_robot", "ftp://app.example.com")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Unsupported handler protocol"),
        "{e}"
    );
}

#[tokio::test]
async fn chain_3_controlled_stop() {
    let (_emu, app) = app_portal().await;
    let template = deal_template(&app).await;
    for deal in ["DEAL_1", "DEAL_1", "DEAL_2"] {
        let doc = ["crm", "CCrmDocumentDeal", deal];
        app.send(&BizprocWorkflowStart::new(template, doc))
            .await
            .unwrap();
    }
    assert_eq!(controlled_stop(&app, "DEAL_1", false).await.unwrap(), 2);
    assert_eq!(controlled_stop(&app, "DEAL_1", false).await.unwrap(), 0);
    assert_eq!(controlled_stop(&app, "DEAL_2", true).await.unwrap(), 1);
    let left = app.send(&BizprocWorkflowInstances::new()).await.unwrap();
    assert_eq!(left, json!([]));
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-automation.md"),
        include_str!("automation.rs"),
        4,
    );
}
