//! Rows a portal makes only in its UI or from outside (consent agreements, signed documents,
//! event-log entries, time records, call follow-ups, mailboxes, e-mails and the mail address
//! book): the tables `Control::seed_records` may load, and the loading. It sits above the handlers it names, so the handlers' shared row helpers
//! (`handlers::side`) do not depend on them.

use crate::handlers::side;
use crate::state::Data;
use serde_json::Value;

/// The seedable tables (the module's list) and the key each row's id goes under.
const SEEDABLE: &[(&str, &str)] = &[
    (crate::handlers::userconsent::AGREEMENTS, "ID"),
    (crate::handlers::sign_b2e::DOCUMENTS, "id"),
    (crate::v3_eventlog::TABLE, "id"),
    (crate::v3_timeman::TABLE, "id"),
    (crate::v3_followup::TABLE, "callId"),
    (crate::v3_mail::MAILBOXES, "id"),
    (crate::v3_mail::MESSAGES, "id"),
    (crate::v3_mail::CONTACTS, "id"),
];

/// Loads `rows` into the seedable table `kind` under new ids (an agreement's `ID` is a
/// string, as the docs print it); answers the ids, none for another `kind`.
pub(crate) fn seed(data: &mut Data, kind: &str, rows: &[Value]) -> Vec<i64> {
    let Some((key, id_key)) = SEEDABLE.iter().find(|(k, _)| *k == kind) else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(Value::as_object)
        .map(|r| {
            side::insert(data, key, |id| {
                let mut row = r.clone();
                let id_value = if *id_key == "ID" {
                    Value::String(id.to_string())
                } else {
                    Value::from(id)
                };
                row.insert((*id_key).to_string(), id_value);
                Value::Object(row)
            })
        })
        .collect()
}
