//! Calendars (`calendar.section.add`, `calendar.section.get`, `calendar.event.add`,
//! `calendar.event.update`, `calendar.event.getbyid`, `calendar/calendar-section-*.md`,
//! `calendar/calendar-event/*.md`): sections in the side table `calendar.section`, events in
//! `calendar.event`, printed with the documented keys (ids as strings, dates in the portal's
//! `MM/DD/YYYY hh:mm:ss am` form, UTC). A missing required parameter is the documented
//! error with an empty code, a section that does not exist the documented "invalid calendar
//! section ID" one; the docs give no answer for an event id that does not exist, so it is an
//! error with an empty code (`Event not found`). Recurrence and CRM links are stored as sent.

use super::side::{self, id_p, text};
use crate::clock::{parse_datetime, plain_datetime};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const SECTIONS: &str = "calendar.section";
const EVENTS: &str = "calendar.event";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("calendar");
    "calendar.section." { "add" => section_add, "get" => section_get }
    "calendar.event." { "add" => event_add, "update" => event_update, "getbyid" => event_get }
);

/// The documented error of a required parameter that is not set.
fn required(p: &Map<String, Value>, name: &str, method: &str) -> Result<String, ApiError> {
    text(p, name).ok_or_else(|| {
        ApiError::new(
            400,
            "",
            format!("The required parameter \"{name}\" for the method \"{method}\" is not set"),
        )
    })
}

/// `MM/DD/YYYY hh:mm:ss am|pm`, as the docs' answers print dates.
pub(crate) fn us_date(ts: i64) -> String {
    let plain = plain_datetime(ts);
    let (date, time) = plain.split_once(' ').unwrap_or((&plain, "00:00:00"));
    let (year, rest) = date.split_once('-').unwrap_or(("", ""));
    let (month, day) = rest.split_once('-').unwrap_or(("", ""));
    let hour: u32 = time[..2].parse().unwrap_or(0);
    let half = if hour >= 12 { "pm" } else { "am" };
    let h12 = match hour % 12 {
        0 => 12,
        x => x,
    };
    format!("{month}/{day}/{year} {h12:02}{} {half}", &time[2..])
}

/// `calendar.section.add`: a calendar of `type`/`ownerId`; answers its id.
fn section_add(inner: &Arc<Inner>, c: &Caller, m: &str, p: &Map<String, Value>) -> MethodResult {
    let ty = required(p, "type", m)?;
    let owner = required(p, "ownerId", m)?;
    let name = required(p, "name", m)?;
    let now = plain_datetime(inner.now() as i64);
    let mut data = inner.write_data();
    let id = side::insert(&mut data, SECTIONS, |id| {
        json!({
            "ID": id.to_string(), "NAME": name, "GAPI_CALENDAR_ID": null,
            "DESCRIPTION": text(p, "description").unwrap_or_default(),
            "COLOR": text(p, "color").unwrap_or_else(|| "#9cbeee".into()),
            "TEXT_COLOR": text(p, "text_color").unwrap_or_else(|| "#283000".into()),
            "EXPORT": {"ALLOW": true}, "CAL_TYPE": ty, "OWNER_ID": owner,
            "CREATED_BY": c.user_id.to_string(), "DATE_CREATE": now, "TIMESTAMP_X": now,
            "CAL_DAV_CON": null, "SYNC_TOKEN": null, "PAGE_TOKEN": null,
            "EXTERNAL_TYPE": "local", "ACCESS": {}, "IS_COLLAB": false,
            "PERM": {"view_time": true, "view_title": true, "view_full": true, "add": true,
                     "edit": true, "edit_section": true, "access": true},
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `calendar.section.get`: the calendars of `type`/`ownerId`.
fn section_get(inner: &Arc<Inner>, _: &Caller, m: &str, p: &Map<String, Value>) -> MethodResult {
    let ty = json!(required(p, "type", m)?);
    let owner = json!(required(p, "ownerId", m)?);
    let data = inner.read_data();
    let rows = side::rows(&data, SECTIONS)
        .filter(|s| s["CAL_TYPE"] == ty && s["OWNER_ID"] == owner)
        .cloned()
        .collect();
    Ok(Outcome::of(Value::Array(rows)))
}

/// A time parameter (`from`/`to` as a date text, or `from_ts`/`to_ts` as unix seconds).
fn time_p(p: &Map<String, Value>, name: &str) -> Option<i64> {
    param(p, &format!("{name}_ts"))
        .and_then(as_i64)
        .or_else(|| text(p, name).and_then(|s| parse_datetime(&s)))
}

/// Writes the request's fields into an event row (`from`/`to` also set the dates).
fn apply(row: &mut Value, p: &Map<String, Value>) {
    let (from, to) = (time_p(p, "from"), time_p(p, "to"));
    if let Some(f) = from {
        row["DATE_FROM_TS_UTC"] = json!(f.to_string());
        row["DATE_FROM"] = json!(us_date(f));
    }
    if let Some(t) = to {
        row["DATE_TO_TS_UTC"] = json!(t.to_string());
        row["DATE_TO"] = json!(us_date(t));
    }
    let ts = |k: &str| {
        row[k]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    row["DT_LENGTH"] = json!(ts("DATE_TO_TS_UTC") - ts("DATE_FROM_TS_UTC"));
    for (param_name, key) in [
        ("name", "NAME"),
        ("description", "DESCRIPTION"),
        ("accessibility", "ACCESSIBILITY"),
        ("importance", "IMPORTANCE"),
        ("location", "LOCATION"),
        ("private_event", "PRIVATE_EVENT"),
        ("skip_time", "DT_SKIP_TIME"),
    ] {
        if let Some(v) = text(p, param_name) {
            row[key] = json!(v);
        }
    }
    if let Some(s) = id_p(p, "section") {
        row["SECTION_ID"] = json!(s.to_string());
        row["SECT_ID"] = json!(s.to_string());
    }
    for (param_name, key) in [
        ("remind", "REMIND"),
        ("rrule", "RRULE"),
        ("crm_fields", "UF_CRM_CAL_EVENT"),
    ] {
        if let Some(v) = param(p, param_name) {
            row[key] = v.clone();
        }
    }
}

fn bad_section() -> ApiError {
    ApiError::new(
        400,
        "",
        "You specified an invalid calendar section ID or the user does not have access to it.",
    )
}

/// `calendar.event.add`: `type`, `ownerId`, `from`, `to`, `section` and `name` required.
fn event_add(inner: &Arc<Inner>, c: &Caller, m: &str, p: &Map<String, Value>) -> MethodResult {
    let ty = required(p, "type", m)?;
    let owner = required(p, "ownerId", m)?;
    for name in ["from", "to", "section", "name"] {
        if name != "from" && name != "to" || time_p(p, name).is_none() {
            required(p, name, m)?;
        }
    }
    let now = us_date(inner.now() as i64);
    let mut data = inner.write_data();
    let section = id_p(p, "section").unwrap_or_default();
    if side::get(&data, SECTIONS, section).is_none() {
        return Err(bad_section());
    }
    let id = side::insert(&mut data, EVENTS, |id| {
        let mut row = json!({
            "ID": id.to_string(), "PARENT_ID": id.to_string(), "DELETED": "N", "CAL_TYPE": ty,
            "OWNER_ID": owner, "TZ_FROM": "UTC", "TZ_TO": "UTC", "TZ_OFFSET_FROM": "0",
            "TZ_OFFSET_TO": "0", "DT_SKIP_TIME": "N", "EVENT_TYPE": null,
            "CREATED_BY": c.user_id.to_string(), "DATE_CREATE": now, "TIMESTAMP_X": now,
            "DESCRIPTION": "", "PRIVATE_EVENT": "", "ACCESSIBILITY": "busy",
            "IMPORTANCE": "normal", "IS_MEETING": false, "LOCATION": "", "REMIND": [],
            "RRULE": "", "VERSION": "1",
        });
        apply(&mut row, p);
        row
    });
    Ok(Outcome::of(json!(id)))
}

/// `calendar.event.update`: `id`, `type` and `ownerId` required; answers the id.
fn event_update(inner: &Arc<Inner>, _: &Caller, m: &str, p: &Map<String, Value>) -> MethodResult {
    let id: i64 = required(p, "id", m)?.parse().unwrap_or(0);
    required(p, "type", m)?;
    required(p, "ownerId", m)?;
    let now = us_date(inner.now() as i64);
    let mut data = inner.write_data();
    let row = side::get_mut(&mut data, EVENTS, id)
        .ok_or_else(|| ApiError::new(400, "", "Event not found"))?;
    apply(row, p);
    let version = row["VERSION"]
        .as_str()
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1);
    row["VERSION"] = json!((version + 1).to_string());
    row["TIMESTAMP_X"] = json!(now);
    Ok(Outcome::of(json!(id)))
}

/// `calendar.event.getbyid`: the event row.
fn event_get(inner: &Arc<Inner>, _: &Caller, m: &str, p: &Map<String, Value>) -> MethodResult {
    let id: i64 = required(p, "id", m)?.parse().unwrap_or(0);
    let data = inner.read_data();
    side::get(&data, EVENTS, id)
        .cloned()
        .map(Outcome::of)
        .ok_or_else(|| ApiError::new(400, "", "Event not found"))
}
