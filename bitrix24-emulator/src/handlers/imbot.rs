//! Chat-bots (`imbot.register`, `imbot.command.register`, `imbot.command.answer`,
//! `chat-bots/outdated/**`): bots in the side table `imbot.bot`, commands in `imbot.command`,
//! command answers in `imbot.answer`, each owned by an application (the caller's client id,
//! or the `CLIENT_ID` a webhook passes). The emulator does not call the handler URLs: it checks
//! that they are http(s) URLs, and tests send `ONIMCOMMANDADD` themselves.

use super::side::{self, id_p, obj, text};
use crate::core::{ApiError, Caller, MethodResult, Outcome, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const BOTS: &str = "imbot.bot";
const COMMANDS: &str = "imbot.command";
const ANSWERS: &str = "imbot.answer";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("imbot");
    "imbot." { "register" => register }
    "imbot.command." { "register" => command_register, "answer" => command_answer }
);

/// The application a call acts for (documented `ACCESS_DENIED` without one).
fn app_of(c: &Caller, p: &Map<String, Value>) -> Result<String, ApiError> {
    c.client_id
        .clone()
        .or_else(|| text(p, "CLIENT_ID"))
        .ok_or_else(|| ApiError::access_denied(" Client ID not specified"))
}

/// A handler URL parameter: `required` ones must be there; any given must be http(s).
fn handler(
    p: &Map<String, Value>,
    name: &str,
    label: &str,
    required: bool,
) -> Result<(), ApiError> {
    let code = format!("{name}_ERROR");
    match text(p, name) {
        None if required => Err(ApiError::bad(
            &code,
            format!("Handler for \"{label}\" event isn't specified"),
        )),
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            Err(ApiError::bad(&code, "Wrong handler URL"))
        }
        _ => Ok(()),
    }
}

/// Row `id` of `table` when application `app` owns it: `missing` (code, text) when there is
/// no such row, `APP_ID_ERROR` with `other` when another application registered it.
fn owned<'a>(
    data: &'a Data,
    (table, id, app): (&str, Option<i64>, &str),
    missing: (&str, &str),
    other: &str,
) -> Result<&'a Value, ApiError> {
    let row = id
        .and_then(|id| side::get(data, table, id))
        .ok_or_else(|| ApiError::bad(missing.0, missing.1))?;
    if row["APP"] == json!(app) {
        Ok(row)
    } else {
        Err(ApiError::bad("APP_ID_ERROR", other))
    }
}

/// `imbot.register`: a bot with its code, handlers and `PROPERTIES.NAME`/`LAST_NAME`.
fn register(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let app = app_of(c, p)?;
    let code =
        text(p, "CODE").ok_or_else(|| ApiError::bad("CODE_ERROR", "Bot code isn't specified"))?;
    handler(p, "EVENT_MESSAGE_ADD", "Message add", true)?;
    handler(p, "EVENT_MESSAGE_UPDATE", "Message update", false)?;
    handler(p, "EVENT_MESSAGE_DELETE", "Message delete", false)?;
    handler(p, "EVENT_WELCOME_MESSAGE", "Welcome message", true)?;
    handler(p, "EVENT_BOT_DELETE", "Bot delete", true)?;
    let props = obj(p, "PROPERTIES");
    if text(&props, "NAME").is_none() && text(&props, "LAST_NAME").is_none() {
        return Err(ApiError::bad("NAME_ERROR", "Bot name isn't specified"));
    }
    let mut data = inner.write_data();
    if let Some(id) = side::rows(&data, BOTS)
        .find(|b| b["CODE"] == json!(code) && b["APP"] == json!(app))
        .and_then(|b| b["ID"].as_i64())
    {
        return Ok(Outcome::of(json!(id)));
    }
    let ty = text(p, "TYPE").unwrap_or_else(|| "B".into());
    let id = side::insert(
        &mut data,
        BOTS,
        |id| json!({"ID": id, "CODE": code, "TYPE": ty, "APP": app, "PROPERTIES": props}),
    );
    Ok(Outcome::of(json!(id)))
}

/// `imbot.command.register`: a command of the caller's bot; answers the command id.
fn command_register(
    inner: &Arc<Inner>,
    c: &Caller,
    _: &str,
    p: &Map<String, Value>,
) -> MethodResult {
    let app = app_of(c, p)?;
    handler(p, "EVENT_COMMAND_ADD", "Command add", true)?;
    let command = text(p, "COMMAND")
        .ok_or_else(|| ApiError::bad("COMMAND_ERROR", "Command isn't specified"))?;
    let lang = param(p, "LANG").filter(|l| !crate::core::list_items(l).is_empty());
    let lang = lang
        .cloned()
        .ok_or_else(|| ApiError::bad("LANG_ERROR", "Lang set can't be empty"))?;
    let mut data = inner.write_data();
    let bot = owned(
        &data,
        (BOTS, id_p(p, "BOT_ID"), &app),
        ("BOT_ID_ERROR", "Bot not found"),
        "Bot was installed by another REST application",
    )?;
    let bot_id = bot["ID"].clone();
    let id = side::insert(
        &mut data,
        COMMANDS,
        |id| json!({"ID": id, "BOT_ID": bot_id, "COMMAND": command, "LANG": lang, "APP": app}),
    );
    Ok(Outcome::of(json!(id)))
}

/// `imbot.command.answer`: the bot's reply to a command message; answers the new message id.
fn command_answer(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let app = app_of(c, p)?;
    let mut data = inner.write_data();
    let command = owned(
        &data,
        (COMMANDS, id_p(p, "COMMAND_ID"), &app),
        ("COMMAND_ID_ERROR", "Command not found"),
        "Command was installed by another rest application",
    )?;
    let command_id = command["ID"].clone();
    let message_id = id_p(p, "MESSAGE_ID")
        .ok_or_else(|| ApiError::bad("MESSAGE_ID_EMPTY", "Message ID can't be empty"))?;
    let message = text(p, "MESSAGE")
        .ok_or_else(|| ApiError::bad("MESSAGE_EMPTY", "Message can't be empty"))?;
    let id = side::insert(
        &mut data,
        ANSWERS,
        |id| json!({"ID": id, "COMMAND_ID": command_id, "REPLY_TO": message_id, "MESSAGE": message}),
    );
    Ok(Outcome::of(json!(id)))
}
