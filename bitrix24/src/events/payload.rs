//! Typed events: the auth block, the payload per event family, and the scrubber that keeps
//! secrets out of anything persisted or printed.

use serde_json::{Map, Value};

use super::name::EventName;
use crate::auth::OAuthTokens;
use crate::secret::Secret;

/// Keys whose values are secrets wherever they appear in a payload (the `auth` block, the
/// chat-bot `BOT[..][AUTH]` blocks, the install POST).
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "application_token",
    "client_secret",
    "AUTH_ID",
    "REFRESH_ID",
    "APPLICATION_TOKEN",
];

/// A copy of `value` with every [`SECRET_KEYS`] value replaced by `"***"`, at any depth: what
/// the inbox, the dead-letter queue and logs keep.
pub fn scrub(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                        (k.clone(), Value::String("***".into()))
                    } else {
                        (k.clone(), scrub(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(scrub).collect()),
        other => other.clone(),
    }
}

/// Why an event was refused or could not be read. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The body broke a bound or is not a form.
    #[error("bad form body: {0}")]
    Form(#[from] super::form::FormError),
    /// No `auth` block, or one without `member_id` / `application_token`.
    #[error("the event has no auth block with member_id and application_token")]
    MissingAuth,
    /// No tenant with this `member_id` is stored (not installed, or uninstalled).
    #[error("unknown tenant {member_id}")]
    UnknownTenant {
        /// The `member_id` the event named.
        member_id: String,
    },
    /// The `application_token` does not match the one stored for the tenant.
    #[error("wrong application_token for tenant {member_id}")]
    WrongToken {
        /// The `member_id` the event named.
        member_id: String,
    },
    /// The `event` field is missing or empty.
    #[error("the event has no name")]
    MissingName,
    /// No spec lists the event name.
    #[error("unknown event {0}")]
    UnknownEvent(String),
    /// The payload does not have the documented shape for its event.
    #[error("{event}: malformed payload: {reason}")]
    Malformed {
        /// The event name.
        event: String,
        /// What was wrong.
        reason: String,
    },
    /// The same event was already received.
    #[error("{event} already received (replay)")]
    Replay {
        /// The event name.
        event: String,
    },
    /// The store could not be read or written.
    #[error("store: {0}")]
    Store(String),
}

impl EventError {
    /// A short stable code for logs, metrics and the dead-letter queue.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Form(super::form::FormError::TooLarge { .. }) => "TOO_LARGE",
            EventError::Form(_) => "BAD_FORM",
            EventError::MissingAuth => "MISSING_AUTH",
            EventError::UnknownTenant { .. } => "UNKNOWN_TENANT",
            EventError::WrongToken { .. } => "WRONG_APPLICATION_TOKEN",
            EventError::MissingName => "MISSING_NAME",
            EventError::UnknownEvent(_) => "UNKNOWN_EVENT",
            EventError::Malformed { .. } => "MALFORMED",
            EventError::Replay { .. } => "REPLAY",
            EventError::Store(_) => "STORE",
        }
    }
}

/// The `auth` block of an event (`auth[...]`). Tokens are [`Secret`]s.
///
/// What it holds depends on the situation (auth-events-v3 §4.3): the full block with a user's
/// tokens; without tokens when no user acted (robots, agents) and for `ONAPPUNINSTALL`;
/// `refresh_token` only for `ONAPPINSTALL`, `ONAPPUPDATE`, `ONAPPTEST` and `ONOFFLINEEVENT`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EventAuth {
    /// The stable portal id.
    pub member_id: String,
    /// The portal host.
    pub domain: Option<String>,
    /// The portal REST base (`https://<portal>/rest/`).
    pub client_endpoint: Option<String>,
    /// The authorization server REST base.
    pub server_endpoint: Option<String>,
    /// The app's token on this portal: the only proof an event came from Bitrix24.
    pub application_token: Secret,
    /// The acting user's access token, when sent.
    pub access_token: Option<Secret>,
    /// The refresh token, for the events that carry one.
    pub refresh_token: Option<Secret>,
    /// Unix time the access token expires.
    pub expires: Option<u64>,
    /// Access token lifetime in seconds.
    pub expires_in: Option<u64>,
    /// Granted scopes (the docs say space-separated, real payloads use commas: both parse).
    pub scope: Vec<String>,
    /// App status (`L`, `F`, `D`, `T`, `P`, `S`).
    pub status: Option<String>,
    /// The user the tokens belong to.
    pub user_id: Option<u64>,
}

/// A field as trimmed text (a string, or a number as the portal may send one); `None` when
/// absent or blank.
pub(crate) fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A field as a number (a number, or a string of digits).
pub(crate) fn number(map: &Map<String, Value>, key: &str) -> Option<u64> {
    match map.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl EventAuth {
    /// Reads an `auth` block (an object of strings, as the form parser or a JSON body gives).
    /// `None` without `member_id` or `application_token`.
    pub fn from_map(map: &Map<String, Value>) -> Option<Self> {
        let member_id = text(map, "member_id")?;
        let application_token = text(map, "application_token")?;
        Some(EventAuth {
            member_id,
            domain: text(map, "domain"),
            client_endpoint: text(map, "client_endpoint"),
            server_endpoint: text(map, "server_endpoint"),
            application_token: Secret::new(application_token),
            access_token: text(map, "access_token").map(Secret::new),
            refresh_token: text(map, "refresh_token").map(Secret::new),
            expires: number(map, "expires"),
            expires_in: number(map, "expires_in"),
            scope: text(map, "scope")
                .map(|s| {
                    s.split([',', ' '])
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            status: text(map, "status"),
            user_id: number(map, "user_id"),
        })
    }

    /// The token pair, when the block carries both tokens (install, update, offline ping).
    /// `now` is the current unix time, for `expires_in`.
    pub fn tokens(&self, now: u64) -> Option<OAuthTokens> {
        let (Some(access), Some(refresh)) = (&self.access_token, &self.refresh_token) else {
            return None;
        };
        let mut tokens = OAuthTokens::new(
            access.clone(),
            refresh.clone(),
            self.client_endpoint.clone().unwrap_or_default(),
        );
        if self.client_endpoint.is_none() {
            tokens.client_endpoint = self.domain.as_ref().map(|d| format!("https://{d}/rest/"));
        }
        tokens.server_endpoint.clone_from(&self.server_endpoint);
        tokens.member_id = Some(self.member_id.clone());
        tokens.user_id = self.user_id;
        tokens.expires_at = self
            .expires
            .or_else(|| self.expires_in.map(|s| now.saturating_add(s)));
        Some(tokens)
    }
}

/// A CRM entity event (`ONCRMDEALADD`, `ONCRMCONTACTUPDATE`, `ONCRMDYNAMICITEMDELETE`, ...):
/// `data[FIELDS][ID]`, and the other `FIELDS` the event sends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CrmEntityEvent {
    /// `FIELDS.ID`: the entity to re-read.
    pub id: u64,
    /// `FIELDS.ENTITY_TYPE_ID` (smart processes and other typed events).
    pub entity_type_id: Option<u64>,
    /// The other `FIELDS` (`CATEGORY_ID`, `STAGE_ID` for `ONCRMDEALMOVETOCATEGORY`, ...).
    pub fields: Map<String, Value>,
}

/// A task or task-comment event (`ONTASKADD`, `ONTASKUPDATE`, `ONTASKDELETE`,
/// `ONTASKCOMMENT*`): `FIELDS_BEFORE`/`FIELDS_AFTER` hold `ID` (and `TASK_ID` for comments),
/// or the string `undefined`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskEvent {
    /// `FIELDS_AFTER.ID` (absent for deletions).
    pub id_after: Option<u64>,
    /// `FIELDS_BEFORE.ID` (absent for additions).
    pub id_before: Option<u64>,
    /// `FIELDS_AFTER.TASK_ID` or `FIELDS_BEFORE.TASK_ID` (comment events).
    pub task_id: Option<u64>,
    /// `IS_ACCESSIBLE_BEFORE`: `Y`, `N` or `undefined`.
    pub is_accessible_before: Option<String>,
    /// `IS_ACCESSIBLE_AFTER`: `Y`, `N` or `undefined`.
    pub is_accessible_after: Option<String>,
}

impl TaskEvent {
    /// The task (or comment) the event is about: after, else before.
    pub fn id(&self) -> Option<u64> {
        self.id_after.or(self.id_before)
    }
}

/// One `BOT[<id>]` or `COMMAND[<id>]` block of a chat-bot event. Its tokens are
/// [`crate::Secret`]s, which `Debug` does not show.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BotBlock {
    /// The map key (the bot id for `BOT`, the command id for `COMMAND`).
    pub key: String,
    /// `BOT_ID`.
    pub bot_id: Option<u64>,
    /// `BOT_CODE`.
    pub bot_code: Option<String>,
    /// `COMMAND` (command events).
    pub command: Option<String>,
    /// `COMMAND_PARAMS` (command events).
    pub command_params: Option<String>,
    /// The bot's own auth block (`AUTH`, or the block's top-level token fields).
    pub auth: Option<EventAuth>,
}

/// A chat-bot event (`ONIMBOTMESSAGEADD/UPDATE/DELETE`, `ONIMBOTJOINCHAT`, `ONIMBOTDELETE`,
/// `ONIMCOMMANDADD`): the `BOT` or `COMMAND` blocks, `PARAMS` and `USER`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImBotEvent {
    /// The `BOT` blocks, one per bot the event is for.
    pub bots: Vec<BotBlock>,
    /// The `COMMAND` blocks (`ONIMCOMMANDADD`).
    pub commands: Vec<BotBlock>,
    /// `PARAMS.MESSAGE_ID`.
    pub message_id: Option<u64>,
    /// `PARAMS.DIALOG_ID` (a user id, or `chat<N>`).
    pub dialog_id: Option<String>,
    /// `PARAMS.TO_CHAT_ID` or `PARAMS.CHAT_ID`.
    pub chat_id: Option<u64>,
    /// `PARAMS.FROM_USER_ID`.
    pub from_user_id: Option<u64>,
    /// `PARAMS.MESSAGE`: the text.
    pub message: Option<String>,
    /// The whole `PARAMS` block.
    pub params: Map<String, Value>,
    /// The `USER` block (`ID`, `NAME`, `IS_BOT`, ...), when sent.
    pub user: Option<Map<String, Value>>,
}

/// `ONAPPINSTALL` / `ONAPPUPDATE` data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppLifecycle {
    /// `VERSION`.
    pub version: Option<String>,
    /// `PREVIOUS_VERSION` (`ONAPPUPDATE`).
    pub previous_version: Option<String>,
    /// `LANGUAGE_ID`.
    pub language_id: Option<String>,
}

/// `ONAPPUNINSTALL` data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppUninstall {
    /// `LANGUAGE_ID`.
    pub language_id: Option<String>,
    /// `CLEAN`: whether the admin asked to delete the app's data.
    pub clean: bool,
}

/// An event's payload, typed per event family.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// CRM entity events: `FIELDS.ID`.
    Crm(CrmEntityEvent),
    /// Task and task-comment events: `FIELDS_AFTER` / `FIELDS_BEFORE`.
    Task(TaskEvent),
    /// Chat-bot events: `BOT`/`COMMAND`, `PARAMS`, `USER`.
    ImBot(ImBotEvent),
    /// `ONAPPINSTALL`.
    AppInstall(AppLifecycle),
    /// `ONAPPUPDATE`.
    AppUpdate(AppLifecycle),
    /// `ONAPPUNINSTALL`.
    AppUninstall(AppUninstall),
    /// `ONOFFLINEEVENT`: the offline queue has new records (no data).
    OfflineWakeup,
    /// An event whose docs give no shape: its `data`, with secrets scrubbed.
    Other(Value),
}

/// An event's name and typed payload (what both online deliveries and offline records carry).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TypedEvent {
    /// The event name.
    pub name: EventName,
    /// The typed payload.
    pub payload: Payload,
}

impl TypedEvent {
    /// Types `data` for `name`. An unknown name is [`EventError::UnknownEvent`]; a payload
    /// without its family's documented fields is [`EventError::Malformed`].
    pub fn parse(name: &str, data: &Value) -> Result<Self, EventError> {
        let name = EventName::parse(name);
        if name.as_str().is_empty() {
            return Err(EventError::MissingName);
        }
        if name.is_unknown() {
            return Err(EventError::UnknownEvent(name.as_str().to_owned()));
        }
        let payload = payload(&name, data)?;
        Ok(TypedEvent { name, payload })
    }

    /// The id of the object the event is about (CRM entity, task, message), when it has one.
    pub fn object_id(&self) -> Option<String> {
        match &self.payload {
            Payload::Crm(c) => Some(c.id.to_string()),
            Payload::Task(t) => t.id().map(|i| i.to_string()),
            Payload::ImBot(m) => m.message_id.map(|i| i.to_string()),
            _ => None,
        }
    }
}

fn malformed(name: &EventName, reason: impl Into<String>) -> EventError {
    EventError::Malformed {
        event: name.as_str().to_owned(),
        reason: reason.into(),
    }
}

/// `data` as an object; a missing `data` (the portal omits an empty one) is an empty object.
fn data_map<'a>(
    name: &EventName,
    data: &'a Value,
) -> Result<Option<&'a Map<String, Value>>, EventError> {
    match data {
        Value::Object(m) => Ok(Some(m)),
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Array(a) if a.is_empty() => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        _ => Err(malformed(name, "data is not an object")),
    }
}

fn payload(name: &EventName, data: &Value) -> Result<Payload, EventError> {
    let n = name.as_str();
    let empty = Map::new();
    let map = data_map(name, data)?.unwrap_or(&empty);
    Ok(match n {
        "ONAPPINSTALL" | "ONAPPUPDATE" => {
            let life = AppLifecycle {
                version: text(map, "VERSION"),
                previous_version: text(map, "PREVIOUS_VERSION"),
                language_id: text(map, "LANGUAGE_ID"),
            };
            if n == "ONAPPINSTALL" {
                Payload::AppInstall(life)
            } else {
                Payload::AppUpdate(life)
            }
        }
        "ONAPPUNINSTALL" => Payload::AppUninstall(AppUninstall {
            language_id: text(map, "LANGUAGE_ID"),
            clean: matches!(text(map, "CLEAN").as_deref(), Some("1" | "Y" | "true")),
        }),
        "ONOFFLINEEVENT" => Payload::OfflineWakeup,
        _ if n.starts_with("ONCRM") && map.contains_key("FIELDS") => {
            let Some(Value::Object(fields)) = map.get("FIELDS") else {
                return Err(malformed(name, "FIELDS is not an object"));
            };
            let Some(id) = number(fields, "ID") else {
                return Err(malformed(name, "FIELDS.ID is missing or not a number"));
            };
            let mut rest = fields.clone();
            rest.remove("ID");
            let entity_type_id = number(fields, "ENTITY_TYPE_ID");
            rest.remove("ENTITY_TYPE_ID");
            Payload::Crm(CrmEntityEvent {
                id,
                entity_type_id,
                fields: rest,
            })
        }
        _ if n.starts_with("ONCRM") && name.pack() == Some("core") => {
            return Err(malformed(name, "FIELDS is missing"));
        }
        _ if n.starts_with("ONTASK") => {
            let side = |key: &str| -> Result<Option<&Map<String, Value>>, EventError> {
                match map.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if s == "undefined" || s.is_empty() => Ok(None),
                    Some(Value::Object(m)) => Ok(Some(m)),
                    Some(_) => Err(malformed(
                        name,
                        format!("{key} is neither an object nor `undefined`"),
                    )),
                }
            };
            let (before, after) = (side("FIELDS_BEFORE")?, side("FIELDS_AFTER")?);
            let id_of =
                |m: Option<&Map<String, Value>>, key: &str| -> Result<Option<u64>, EventError> {
                    match m {
                        None => Ok(None),
                        Some(m) if !m.contains_key(key) => Ok(None),
                        Some(m) => number(m, key)
                            .map(Some)
                            .ok_or_else(|| malformed(name, format!("{key} is not a number"))),
                    }
                };
            let event = TaskEvent {
                id_after: id_of(after, "ID")?,
                id_before: id_of(before, "ID")?,
                task_id: id_of(after, "TASK_ID")?.or(id_of(before, "TASK_ID")?),
                is_accessible_before: text(map, "IS_ACCESSIBLE_BEFORE"),
                is_accessible_after: text(map, "IS_ACCESSIBLE_AFTER"),
            };
            if event.id().is_none() {
                return Err(malformed(
                    name,
                    "neither FIELDS_AFTER.ID nor FIELDS_BEFORE.ID",
                ));
            }
            Payload::Task(event)
        }
        _ if n.starts_with("ONIMBOT") || n == "ONIMCOMMANDADD" => Payload::ImBot(imbot(name, map)?),
        _ => Payload::Other(scrub(data)),
    })
}

fn blocks(
    name: &EventName,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Vec<BotBlock>, EventError> {
    let Some(value) = map.get(key) else {
        return Ok(Vec::new());
    };
    let Value::Object(entries) = value else {
        return Err(malformed(name, format!("{key} is not an object")));
    };
    entries
        .iter()
        .map(|(k, v)| {
            let Value::Object(block) = v else {
                return Err(malformed(name, format!("{key}[{k}] is not an object")));
            };
            let auth = match block.get("AUTH") {
                Some(Value::Object(a)) => EventAuth::from_map(a),
                _ => EventAuth::from_map(block),
            };
            Ok(BotBlock {
                key: k.clone(),
                bot_id: number(block, "BOT_ID"),
                bot_code: text(block, "BOT_CODE"),
                command: text(block, "COMMAND"),
                command_params: text(block, "COMMAND_PARAMS"),
                auth,
            })
        })
        .collect()
}

fn imbot(name: &EventName, map: &Map<String, Value>) -> Result<ImBotEvent, EventError> {
    let params = match map.get("PARAMS") {
        Some(Value::Object(p)) => p.clone(),
        None => Map::new(),
        Some(_) => return Err(malformed(name, "PARAMS is not an object")),
    };
    let user = match map.get("USER") {
        Some(Value::Object(u)) => Some(u.clone()),
        None => None,
        Some(_) => return Err(malformed(name, "USER is not an object")),
    };
    Ok(ImBotEvent {
        bots: blocks(name, map, "BOT")?,
        commands: blocks(name, map, "COMMAND")?,
        message_id: number(&params, "MESSAGE_ID"),
        dialog_id: text(&params, "DIALOG_ID"),
        chat_id: number(&params, "TO_CHAT_ID").or_else(|| number(&params, "CHAT_ID")),
        from_user_id: number(&params, "FROM_USER_ID"),
        message: text(&params, "MESSAGE"),
        params,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn families_from_the_docs_examples() {
        let crm = TypedEvent::parse(
            "ONCRMDEALMOVETOCATEGORY",
            &json!({"FIELDS": {"ID": "6675", "CATEGORY_ID": "1", "STAGE_ID": "C1:NEW"}}),
        )
        .unwrap();
        let Payload::Crm(c) = &crm.payload else {
            panic!("{crm:?}")
        };
        assert_eq!(c.id, 6675);
        assert_eq!(c.fields["STAGE_ID"], "C1:NEW");
        let task = TypedEvent::parse(
            "ONTASKADD",
            &json!({"FIELDS_BEFORE": "undefined", "FIELDS_AFTER": {"ID": 123}, "IS_ACCESSIBLE_BEFORE": "N", "IS_ACCESSIBLE_AFTER": "undefined"}),
        )
        .unwrap();
        assert_eq!(task.object_id().as_deref(), Some("123"));
        let comment = TypedEvent::parse(
            "ONTASKCOMMENTADD",
            &json!({"FIELDS_BEFORE": "undefined", "FIELDS_AFTER": {"ID": 123, "TASK_ID": 555}}),
        )
        .unwrap();
        let Payload::Task(t) = comment.payload else {
            panic!()
        };
        assert_eq!(t.task_id, Some(555));
        let bot = TypedEvent::parse(
            "ONIMBOTMESSAGEADD",
            &json!({"BOT": {"567": {"access_token": "SECRET-A", "member_id": "m", "application_token": "SECRET-T", "BOT_ID": "567", "BOT_CODE": "BOT1"}},
                   "PARAMS": {"MESSAGE": "Hello", "DIALOG_ID": "27", "TO_CHAT_ID": "1407", "FROM_USER_ID": "27", "MESSAGE_ID": "84331"},
                   "USER": {"ID": "27", "NAME": "Svetlana Ivanova"}}),
        )
        .unwrap();
        let shown = format!("{bot:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let Payload::ImBot(m) = bot.payload else {
            panic!()
        };
        assert_eq!((m.message_id, m.chat_id), (Some(84331), Some(1407)));
        assert_eq!(m.bots[0].bot_code.as_deref(), Some("BOT1"));
        assert!(matches!(
            TypedEvent::parse("ONOFFLINEEVENT", &Value::Null)
                .unwrap()
                .payload,
            Payload::OfflineWakeup
        ));
        let gone =
            TypedEvent::parse("ONAPPUNINSTALL", &json!({"LANGUAGE_ID": "de", "CLEAN": 1})).unwrap();
        assert!(matches!(
            gone.payload,
            Payload::AppUninstall(AppUninstall { clean: true, .. })
        ));
    }

    #[test]
    fn bad_payloads_are_typed() {
        for (name, data) in [
            ("ONCRMDEALADD", json!({"FIELDS": {"ID": "x"}})),
            ("ONCRMDEALADD", json!({})),
            ("ONCRMDEALADD", json!("text")),
            (
                "ONTASKUPDATE",
                json!({"FIELDS_AFTER": "undefined", "FIELDS_BEFORE": "undefined"}),
            ),
            ("ONIMBOTMESSAGEADD", json!({"PARAMS": "x"})),
        ] {
            assert!(
                matches!(
                    TypedEvent::parse(name, &data),
                    Err(EventError::Malformed { .. })
                ),
                "{name} {data}"
            );
        }
        assert!(matches!(
            TypedEvent::parse("ONNOSUCHTHING", &json!({})),
            Err(EventError::UnknownEvent(_))
        ));
    }

    #[test]
    fn scrub_masks_secrets_at_any_depth() {
        let v = json!({"auth": {"access_token": "a", "member_id": "m"}, "BOT": {"1": {"AUTH": {"refresh_token": "r"}}}});
        let s = scrub(&v).to_string();
        assert!(
            !s.contains("\"a\"") && !s.contains("\"r\"") && s.contains("\"m\""),
            "{s}"
        );
    }
}
