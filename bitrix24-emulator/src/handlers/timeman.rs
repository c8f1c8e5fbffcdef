//! The workday of a user (`timeman.status`, `timeman.open`, `timeman.pause`, `timeman.close`,
//! `timeman/base/timeman-*.md`), one day per user in the side table `timeman.day`, answered
//! in the documented shape (`STATUS`, `TIME_START`, `TIME_FINISH`, `DURATION`, `TIME_LEAKS`,
//! ...). The portal runs on UTC, so `TZ_OFFSET` is 0. A user who never opened a day reads as
//! `CLOSED` with no start.

use super::side::{self, id_p};
use crate::clock::{iso, parse_datetime};
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_f64, as_str, param};
use crate::routes::{Route, Scope, routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const DAYS: &str = "timeman.day";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("timeman");
    "timeman." { "status" => status, "open" => open, "pause" => pause, "close" => close }
);

/// The user a call is about (`USER_ID`, else the caller), which must exist.
fn user_of(data: &Data, c: &Caller, p: &Map<String, Value>) -> Result<i64, ApiError> {
    let uid = id_p(p, "USER_ID").unwrap_or(c.user_id as i64);
    if data.users.contains_key(&(uid as u64)) {
        Ok(uid)
    } else {
        Err(ApiError::new(400, "", "User not found"))
    }
}

fn wrong_datetime(desc: &str) -> ApiError {
    ApiError::new(400, "WRONG_DATETIME", desc)
}

/// `HH:MM:SS` of a number of seconds.
fn hms(secs: i64) -> String {
    let s = secs.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The documented answer for a stored day (`None`: never opened).
fn render(day: Option<&Value>) -> Value {
    let Some(d) = day else {
        return json!({
            "STATUS": "CLOSED", "TIME_START": null, "TIME_FINISH": null,
            "DURATION": "00:00:00", "TIME_LEAKS": "00:00:00", "ACTIVE": true,
            "IP_OPEN": "", "IP_CLOSE": "", "LAT_OPEN": 0, "LON_OPEN": 0,
            "LAT_CLOSE": 0, "LON_CLOSE": 0, "TZ_OFFSET": 0,
        });
    };
    let start = d["start"].as_i64().unwrap_or_default();
    let finish = d["finish"].as_i64();
    let leaks = d["leaks"].as_i64().unwrap_or_default();
    json!({
        "STATUS": d["status"],
        "TIME_START": iso(start as f64),
        "TIME_FINISH": finish.map(|f| iso(f as f64)),
        "DURATION": hms(finish.map_or(0, |f| f - start - leaks)),
        "TIME_LEAKS": hms(leaks),
        "ACTIVE": true,
        "IP_OPEN": "",
        "IP_CLOSE": "",
        "LAT_OPEN": d["lat_open"],
        "LON_OPEN": d["lon_open"],
        "LAT_CLOSE": d["lat_close"],
        "LON_CLOSE": d["lon_close"],
        "TZ_OFFSET": 0,
    })
}

/// The `TIME` of a call as unix seconds (`Ok(None)` without one).
fn time_of(p: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match param(p, "TIME").and_then(as_str) {
        None => Ok(None),
        Some(t) => parse_datetime(&t)
            .map(Some)
            .ok_or_else(|| ApiError::argument("TIME", "Invalid value of the TIME parameter")),
    }
}

fn coord(p: &Map<String, Value>, name: &str) -> Value {
    param(p, name)
        .and_then(as_f64)
        .map_or(json!(0), |x| json!(x))
}

/// Runs `change` on the day of the caller (or of `USER_ID`) at the portal's time, then answers
/// the day as `timeman.status` prints it.
fn change_day(
    inner: &Arc<Inner>,
    c: &Caller,
    p: &Map<String, Value>,
    change: impl FnOnce(&mut Data, i64, i64) -> Result<(), ApiError>,
) -> MethodResult {
    let now = inner.now() as i64;
    let mut data = inner.write_data();
    let uid = user_of(&data, c, p)?;
    change(&mut data, uid, now)?;
    Ok(Outcome::of(render(side::get(&data, DAYS, uid))))
}

/// Whether two unix times fall on the same UTC day.
fn same_day(a: i64, b: i64) -> bool {
    a.div_euclid(86_400) == b.div_euclid(86_400)
}

fn status(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let uid = user_of(&data, c, p)?;
    Ok(Outcome::of(render(side::get(&data, DAYS, uid))))
}

/// `timeman.open`: starts a day (at `TIME`, which must be today) or resumes a paused one.
fn open(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let time = time_of(p)?;
    change_day(inner, c, p, |data, uid, now| {
        let day = side::get_mut(data, DAYS, uid);
        match day {
            Some(d) if d["status"] == "PAUSED" => {
                if time.is_some() {
                    return Err(ApiError::new(
                        400,
                        "TIME",
                        "Unable to set time, work day is paused",
                    ));
                }
                let paused = d["paused_at"].as_i64().unwrap_or(now);
                let leaks = d["leaks"].as_i64().unwrap_or_default() + (now - paused);
                d["leaks"] = json!(leaks);
                d["status"] = json!("OPENED");
            }
            Some(d) if d["status"] == "OPENED" => {}
            _ => {
                let start = time.unwrap_or(now);
                if !same_day(start, now) {
                    return Err(wrong_datetime(
                        "Day open date should correspond to the current date",
                    ));
                }
                let row = json!({
                    "status": "OPENED", "start": start, "finish": null, "leaks": 0,
                    "lat_open": coord(p, "LAT"), "lon_open": coord(p, "LON"),
                    "lat_close": 0, "lon_close": 0,
                });
                side::table(data, DAYS).insert(uid, row);
            }
        }
        Ok(())
    })
}

/// `timeman.pause`: pauses an open day.
fn pause(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    change_day(inner, c, p, |data, uid, now| {
        if let Some(d) = side::get_mut(data, DAYS, uid)
            && d["status"] == "OPENED"
        {
            d["status"] = json!("PAUSED");
            d["paused_at"] = json!(now);
        }
        Ok(())
    })
}

/// `timeman.close`: ends an open or paused day (at `TIME`, which must be the day's date).
fn close(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let time = time_of(p)?;
    change_day(inner, c, p, |data, uid, now| {
        if let Some(d) = side::get_mut(data, DAYS, uid)
            && d["status"] != "CLOSED"
        {
            let start = d["start"].as_i64().unwrap_or(now);
            let finish = time.unwrap_or(now);
            if !same_day(start, finish) {
                return Err(wrong_datetime(
                    "Day close date should correspond to the day open date",
                ));
            }
            if d["status"] == "PAUSED" {
                let paused = d["paused_at"].as_i64().unwrap_or(finish);
                d["leaks"] = json!(d["leaks"].as_i64().unwrap_or_default() + (finish - paused));
            }
            d["status"] = json!("CLOSED");
            d["finish"] = json!(finish);
            d["lat_close"] = coord(p, "LAT");
            d["lon_close"] = coord(p, "LON");
        }
        Ok(())
    })
}
