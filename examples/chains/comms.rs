//! The `comms` chains of references/chains-comms.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_comms`.
//!
//! The bot chain uses the first chat-bot API (`imbot.register`, `imbot.command.*`), which the
//! docs mark deprecated for `imbot.v2.*`: portals still answer it and the emulator serves it,
//! while `imbot.v2.*` is specced but not yet served by the emulator.
#![allow(deprecated)]

use bitrix24::packs::comms::{
    ImChatAdd, ImMessageAdd, ImbotCommandAnswer, ImbotCommandRegister, ImbotRegister,
    TelephonyExternalCallFinish, TelephonyExternalCallRegister,
};
use bitrix24::packs::core::{
    CrmItemAdd, CrmItemUpdate, EventBind, EventOfflineClear, EventOfflineGet, Item,
};
use bitrix24::{Client, Error};
use bitrix24_examples::{app_client, webhook_portal as portal};
use serde_json::{Value, json};

/// Chain 1, chat notification from a CRM trigger (an OAuth application for the events): bind
/// the deal update offline, take the events, post one message per changed deal to the chat,
/// clear after posting. Returns the message ids.
async fn notify_on_deal_change(client: &Client, chat: u64) -> Result<Vec<u64>, Error> {
    // 1. event.bind on the CRM update (offline: nothing is lost while the worker is down)
    let bind = EventBind::new("ONCRMDEALUPDATE")
        .event_type("offline")
        .auth_connector("notify");
    client.send(&bind).await?;
    // (a deal changes on the portal; the worker wakes up)
    let deal = client
        .send(&CrmItemAdd::new(2, Item::new().title("Big order")))
        .await?;
    let won = Item::new().stage_id("WON");
    let deal_id = deal.item.id.unwrap_or_default();
    client.send(&CrmItemUpdate::new(2, deal_id, won)).await?;
    let taken = client
        .send(&EventOfflineGet::new(0).limit(50).auth_connector("notify"))
        .await?;
    let mut sent = Vec::new();
    for e in taken.events.unwrap_or_default() {
        // 2. the message text, built in the worker from the event's deal id
        let id = e
            .event_data
            .as_ref()
            .and_then(|d| d["FIELDS"]["ID"].as_u64());
        let text = format!("Deal {} changed: check its stage", id.unwrap_or_default());
        // 3. im.message.add to the target dialog
        sent.push(
            client
                .send(&ImMessageAdd::new(format!("chat{chat}"), text))
                .await?,
        );
    }
    if let Some(process_id) = taken.process_id {
        let clear = EventOfflineClear::new(process_id).auth_connector("notify");
        client.send(&clear).await?;
    }
    Ok(sent)
}

/// Chain 2, chat-bot command loop: register the bot and its command, then answer each
/// `ONIMCOMMANDADD` your handler receives. Returns the bot and command ids.
async fn bot_setup(client: &Client, handler: &str) -> Result<(u64, u64), Error> {
    // 1. imbot.register (the handler URLs receive the bot's events)
    let bot = ImbotRegister::new(
        "ops_bot",
        handler,
        handler,
        handler,
        json!({ "NAME": "Ops bot", "COLOR": "GREEN" }),
    );
    let bot_id = client.send(&bot).await?;
    // 2. imbot.command.register: `/status`, with its help text per language
    let lang = [json!({ "LANGUAGE_ID": "en", "TITLE": "Service status", "PARAMS": "service" })];
    let command = ImbotCommandRegister::new(bot_id, "status", handler, lang);
    let command_id = client.send(&command).await?;
    Ok((bot_id, command_id))
}

/// Chain 2, continued: the answer to one `ONIMCOMMANDADD` event (`data[COMMAND][<id>]`).
/// Returns the answer's message id per command.
async fn answer_commands(client: &Client, data: &Value) -> Result<Vec<u64>, Error> {
    let mut answers = Vec::new();
    // 3. handle ONIMCOMMANDADD: each command of the event
    for cmd in data["COMMAND"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let num = |k: &str| cmd[k].as_str().and_then(|s| s.parse::<u64>().ok());
        let (Some(command_id), Some(message_id)) = (num("COMMAND_ID"), num("MESSAGE_ID")) else {
            continue;
        };
        let name = cmd["COMMAND"].as_str().unwrap_or_default();
        let asked = cmd["COMMAND_PARAMS"].as_str().unwrap_or("all");
        // 4. imbot.command.answer
        let answer = ImbotCommandAnswer::new(command_id, name, message_id)
            .message(format!("{asked}: all systems normal"));
        answers.push(client.send(&answer).await?);
    }
    Ok(answers)
}

/// Chain 3, telephony record flow (an OAuth application): register the external call, then
/// finish it with its duration, status and the record's URL. Returns the finished call row.
async fn telephony_record(client: &Client, phone: &str, record: &str) -> Result<Value, Error> {
    // 1. telephony.externalCall.register: TYPE 2 is an incoming call
    let call = TelephonyExternalCallRegister::new(1, "101", phone, 2).crm_entity_type("CONTACT");
    let registered = client.send(&call).await?;
    let call_id = registered["CALL_ID"].as_str().unwrap_or_default();
    // 2. telephony.externalCall.finish, 3. the record attached by URL
    let finish = TelephonyExternalCallFinish::new(call_id, 1, "101")
        .duration(95)
        .status_code("200")
        .record_url(record);
    client.send(&finish).await
}

#[tokio::test]
async fn chain_1_chat_notification_from_crm_trigger() {
    let (emu, _) = portal().await;
    let app = app_client(&emu).unwrap();
    let chat = app
        .send(&ImChatAdd::new().title("Sales").users([1]))
        .await
        .unwrap();
    let sent = notify_on_deal_change(&app, chat).await.unwrap();
    assert_eq!(sent.len(), 1, "one update, one message");
    assert_eq!(emu.control().method_calls("im.message.add"), 1);
    assert_eq!(
        emu.control().offline_queue_len(),
        0,
        "cleared after posting"
    );
}

#[tokio::test]
async fn chain_2_chat_bot_command_loop() {
    let (emu, client) = portal().await;
    let app = app_client(&emu).unwrap();
    let (bot, command) = bot_setup(&app, "https://bot.example.com/events")
        .await
        .unwrap();
    // The event as the portal posts it to EVENT_COMMAND_ADD (im/.../on-im-command-add.md).
    let data = json!({ "COMMAND": { command.to_string(): {
        "BOT_ID": bot.to_string(), "BOT_CODE": "ops_bot", "COMMAND": "status",
        "COMMAND_ID": command.to_string(), "COMMAND_PARAMS": "billing",
        "COMMAND_CONTEXT": "TEXTAREA", "MESSAGE_ID": "33899",
    }}});
    let answers = answer_commands(&app, &data).await.unwrap();
    assert_eq!(answers.len(), 1);
    // A webhook without CLIENT_ID has no application to own a bot.
    let e = bot_setup(&client, "https://bot.example.com/events")
        .await
        .unwrap_err();
    bitrix24_examples::assert_code(&e, "ACCESS_DENIED");
}

#[tokio::test]
async fn chain_3_telephony_record_flow() {
    let (emu, client) = portal().await;
    let app = app_client(&emu).unwrap();
    let rec = "https://pbx.example.com/rec/1.mp3";
    let done = telephony_record(&app, "+1 906 219-50-47", rec)
        .await
        .unwrap();
    assert_eq!(done["CALL_DURATION"], 95);
    assert_eq!(done["PHONE_NUMBER"], "19062195047");
    let e = telephony_record(&client, "+1 906 219-50-47", rec)
        .await
        .unwrap_err();
    bitrix24_examples::assert_code(&e, "WRONG_AUTH_TYPE");
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-comms.md"),
        include_str!("comms.rs"),
        4,
    );
}
