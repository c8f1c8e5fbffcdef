//! `user.current`, `user.get` and `user.fields`.

use super::common::{page_of, select_names, sort_rows};
use crate::clock;
use crate::core::{MethodResult, Outcome, param};
use crate::filter::JsonCond;
use crate::routes::{Route, Scope};
use crate::state::{Inner, User, lock};
use serde_json::{Map, Value, json};

/// The user methods.
pub(crate) const ROUTES: &[Route] = &[
    Route::new("user.current", Scope::Fixed("user"), |i, c, _, _| {
        Ok(current(i, c.user_id))
    }),
    Route::new("user.get", Scope::Fixed("user"), |i, _, _, p| {
        user_get(i, p)
    }),
    Route::new("user.fields", Scope::Fixed("user"), |_, _, _, _| {
        Ok(Outcome::of(fields()))
    }),
];

/// Every key of a user row here, with its title in `user/user-fields.md` (a field the portal
/// leaves untitled there is titled with its own name, as `"USER_TYPE":"USER_TYPE"`).
const FIELDS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("ACTIVE", "Activity"),
    ("NAME", "First Name"),
    ("LAST_NAME", "Last Name"),
    ("EMAIL", "E-Mail"),
    ("LAST_LOGIN", "Last Authorization"),
    ("DATE_REGISTER", "Registration Date"),
    ("IS_ONLINE", "IS_ONLINE"),
    ("TIME_ZONE_OFFSET", "TIME_ZONE_OFFSET"),
    ("LAST_ACTIVITY_DATE", "LAST_ACTIVITY_DATE"),
    ("PERSONAL_GENDER", "Gender"),
    ("PERSONAL_BIRTHDAY", "Date of Birth"),
    ("WORK_POSITION", "Job Title"),
    ("UF_EMPLOYMENT_DATE", "Hire Date"),
    ("UF_DEPARTMENT", "Units"),
    ("USER_TYPE", "USER_TYPE"),
];

/// `user.fields`: a flat map field -> title.
fn fields() -> Value {
    Value::Object(
        FIELDS
            .iter()
            .map(|(k, t)| ((*k).to_string(), json!(t)))
            .collect(),
    )
}

fn current(inner: &Inner, user_id: u64) -> Outcome {
    let data = inner.read_data();
    let u = data
        .users
        .get(&user_id)
        .map_or(Value::Null, |u| user_json(inner, u));
    Outcome::of(u)
}

fn user_json(inner: &Inner, u: &User) -> Value {
    let seen = lock(&inner.auth).last_seen.get(&u.id).copied();
    let mut m = Map::new();
    m.insert("ID".into(), json!(u.id.to_string()));
    m.insert("ACTIVE".into(), json!(u.active));
    m.insert("NAME".into(), json!(u.name));
    m.insert("LAST_NAME".into(), json!(u.last_name));
    m.insert("EMAIL".into(), json!(u.email));
    if let Some(t) = seen {
        m.insert("LAST_LOGIN".into(), json!(clock::iso(t)));
    }
    m.insert(
        "DATE_REGISTER".into(),
        json!(clock::iso(u.date_register as f64)),
    );
    // A user who has called the portal is online (`user.current` answers `"IS_ONLINE":"Y"`).
    m.insert(
        "IS_ONLINE".into(),
        json!(if seen.is_some() { "Y" } else { "N" }),
    );
    m.insert("TIME_ZONE_OFFSET".into(), json!("0"));
    if let Some(t) = seen {
        m.insert(
            "LAST_ACTIVITY_DATE".into(),
            json!(clock::plain_datetime(t as i64)),
        );
    }
    // Profile fields the portal answers `""` when empty, for every user in the docs'
    // `user.get` and `user.current` (a field the portal stores as NULL is left out instead).
    for k in [
        "PERSONAL_GENDER",
        "PERSONAL_BIRTHDAY",
        "WORK_POSITION",
        "UF_EMPLOYMENT_DATE",
    ] {
        m.insert(k.into(), json!(""));
    }
    m.insert("UF_DEPARTMENT".into(), json!([u.department]));
    m.insert("USER_TYPE".into(), json!("employee"));
    Value::Object(m)
}

/// `user.get`: filter (top-level keys or `FILTER`) with the documented operators, `sort` +
/// `order`, `select`, pages of 50.
#[allow(clippy::unnecessary_wraps)]
fn user_get(inner: &Inner, p: &Map<String, Value>) -> MethodResult {
    let users: Vec<User> = inner.read_data().users.values().cloned().collect();
    let mut conds: Vec<JsonCond> = Vec::new();
    if let Some(Value::Object(f)) = param(p, "filter") {
        conds.extend(f.iter().map(|(k, v)| JsonCond::new(k, v)));
    }
    for (k, v) in p {
        let ku = k.to_ascii_uppercase();
        if !matches!(
            ku.as_str(),
            "FILTER" | "SORT" | "ORDER" | "START" | "ADMIN_MODE" | "SELECT" | "IMAGE_RESIZE"
        ) {
            conds.push(JsonCond::new(k, v));
        }
    }
    let mut rows: Vec<Value> = users
        .iter()
        .map(|u| user_json(inner, u))
        .filter(|row| {
            conds.iter().all(|c| {
                if c.field == "NAME_SEARCH" {
                    let want = c.wanted().cloned().unwrap_or(Value::Null);
                    return ["NAME", "LAST_NAME", "EMAIL"].iter().any(|f| {
                        row.get(*f)
                            .is_some_and(|h| JsonCond::new(&format!("%{f}"), &want).matches(h))
                    });
                }
                // Unknown fields are ignored, as the portal ignores filters it cannot apply.
                row.get(&c.field).is_none_or(|h| c.matches(h))
            })
        })
        .collect();
    sort_rows(&mut rows, p, "ID", false);
    let select = select_names(param(p, "select"));
    if !select.is_empty() && !select.iter().any(|s| s == "*") {
        for r in &mut rows {
            if let Value::Object(m) = r {
                m.retain(|k, _| {
                    select.contains(k)
                        || (k.starts_with("UF_") && select.iter().any(|s| s == "UF_*"))
                });
            }
        }
    }
    Ok(page_of(rows, p))
}
