//! What the REST 3.0 lists of the emulator share: condition filters (`[field, op, value]`,
//! `[field, value]`, `{logic, conditions}` groups), `order`, `pagination` (page, limit, offset),
//! a plain `select`, and the field descriptions of `*.field.list` / `*.field.get`.

use crate::core::{as_i64, as_str};
use crate::filter::{self, Collation};
use crate::handlers::side;
use crate::state::{Data, Inner};
use crate::v3_common::{V3Error, bad_pagination, err, validation};
use crate::v3_served::Family;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

/// Whether the caller is an administrator of the portal.
pub(crate) fn is_admin(inner: &Inner, caller: &crate::core::Caller) -> bool {
    inner
        .read_data()
        .users
        .get(&caller.user_id)
        .is_some_and(|u| u.admin)
}

/// REST 3.0 compares by the row's JSON type, case-sensitively.
pub(crate) fn cmp_json(a: &Value, b: &Value) -> Option<Ordering> {
    filter::compare(a, b, Collation::Strict)
}

fn unknown_field(field: &str, entity: &str) -> V3Error {
    err(
        400,
        "UNKNOWNDTOPROPERTYEXCEPTION",
        format!("Unknown field \"{field}\" found in entity \"{entity}\"."),
    )
}

fn invalid_filter() -> V3Error {
    err(400, "INVALIDFILTEREXCEPTION", "Invalid filter \"filter\".")
}

/// Whether `row` passes the condition list `f` (all of them, or any with `or`); a field not
/// among `known` is `UNKNOWNDTOPROPERTYEXCEPTION` naming `entity`.
pub(crate) fn matches(
    row: &Map<String, Value>,
    f: &Value,
    or: bool,
    known: &dyn Fn(&str) -> bool,
    entity: &str,
) -> Result<bool, V3Error> {
    let Value::Array(conds) = f else {
        return Err(invalid_filter());
    };
    let mut acc = !or;
    for c in conds {
        let hit = match c {
            Value::Object(g) => {
                let logic_or = g
                    .get("logic")
                    .and_then(Value::as_str)
                    .is_some_and(|l| l.eq_ignore_ascii_case("or"));
                let inner = g.get("conditions").unwrap_or(&Value::Null);
                matches(row, inner, logic_or, known, entity)?
            }
            Value::Array(a) if a.len() == 2 || a.len() == 3 => {
                let field = a[0].as_str().unwrap_or("");
                if !known(field) {
                    return Err(unknown_field(field, entity));
                }
                let (op, val) = if a.len() == 3 {
                    (a[1].as_str().unwrap_or("="), &a[2])
                } else if a[1].is_array() {
                    ("in", &a[1])
                } else {
                    ("=", &a[1])
                };
                condition(row.get(field).unwrap_or(&Value::Null), op, val)?
            }
            _ => return Err(invalid_filter()),
        };
        if or {
            acc |= hit;
        } else {
            acc &= hit;
        }
    }
    Ok(acc)
}

/// One condition: `have op val`.
fn condition(have: &Value, op: &str, val: &Value) -> Result<bool, V3Error> {
    let o = |v: &Value| cmp_json(have, v);
    let at_least = |v: &Value| matches!(o(v), Some(Ordering::Greater | Ordering::Equal));
    let at_most = |v: &Value| matches!(o(v), Some(Ordering::Less | Ordering::Equal));
    Ok(match op {
        "=" => o(val) == Some(Ordering::Equal),
        "!=" => o(val) != Some(Ordering::Equal),
        ">" => o(val) == Some(Ordering::Greater),
        ">=" => at_least(val),
        "<" => o(val) == Some(Ordering::Less),
        "<=" => at_most(val),
        "in" => val
            .as_array()
            .is_some_and(|l| l.iter().any(|x| o(x) == Some(Ordering::Equal))),
        "between" => val
            .as_array()
            .is_some_and(|l| l.len() == 2 && at_least(&l[0]) && at_most(&l[1])),
        other => {
            return Err(err(
                400,
                "UNKNOWNFILTEROPERATOREXCEPTION",
                format!("Unknown filter operator \"{other}\"."),
            ));
        }
    })
}

/// Sorts `rows` by the `order` param (`{field: ASC|DESC}`); a field not among `known` (or an
/// order that is not an object) is `INVALIDORDEREXCEPTION`.
pub(crate) fn sort(
    rows: &mut [Map<String, Value>],
    order: Option<&Value>,
    known: &dyn Fn(&str) -> bool,
) -> Result<(), V3Error> {
    let order = match order {
        None => return Ok(()),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(err(
                400,
                "INVALIDORDEREXCEPTION",
                "Invalid sort order \"order\".",
            ));
        }
    };
    let keys: Vec<(&String, bool)> = order
        .iter()
        .map(|(k, v)| {
            let desc = v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("desc"));
            (k, desc)
        })
        .collect();
    if let Some((k, _)) = keys.iter().find(|(k, _)| !known(k)) {
        return Err(err(
            400,
            "INVALIDORDEREXCEPTION",
            format!("Invalid sort order \"{k}\"."),
        ));
    }
    rows.sort_by(|a, b| {
        for (k, desc) in &keys {
            let o = cmp_json(
                a.get(*k).unwrap_or(&Value::Null),
                b.get(*k).unwrap_or(&Value::Null),
            )
            .unwrap_or(Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(())
}

/// `(limit, offset)` from the `pagination` param: `limit` 1..=`max` (default 50), then `page`
/// (from 1) or `offset`. Anything else is `INVALIDPAGINATIONEXCEPTION`: `wording` (the method
/// page's) and the object in backquotes.
pub(crate) fn pagination(
    p: &Map<String, Value>,
    max: i64,
    wording: &str,
) -> Result<(usize, usize), V3Error> {
    let bad = |v: &Value| bad_pagination(format!("{wording} `{v}`"));
    let pg = match p.get("pagination") {
        None | Some(Value::Null) => return Ok((50, 0)),
        Some(Value::Object(pg)) => pg,
        Some(other) => return Err(bad(other)),
    };
    let whole = |k: &str| match pg.get(k) {
        None => Ok(None),
        Some(v) => match as_i64(v) {
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Err(bad(&Value::Object(pg.clone()))),
        },
    };
    let limit = match whole("limit")? {
        None => 50,
        Some(0) => return Err(bad(&Value::Object(pg.clone()))),
        Some(n) => n.min(max),
    };
    let offset = match (whole("page")?, whole("offset")?) {
        (Some(page), _) if page >= 1 => (page - 1).saturating_mul(limit),
        (_, Some(offset)) => offset,
        _ => 0,
    };
    Ok((
        usize::try_from(limit).unwrap_or(usize::MAX),
        usize::try_from(offset).unwrap_or(usize::MAX),
    ))
}

/// The names a `select` param lists; `None` without one (or `null`), and
/// `INVALIDSELECTEXCEPTION` for one that is not a list.
pub(crate) fn select_names(select: Option<&Value>) -> Result<Option<Vec<String>>, V3Error> {
    match select {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.iter().filter_map(as_str).collect())),
        Some(_) => Err(err(
            400,
            "INVALIDSELECTEXCEPTION",
            "Invalid select expression \"select\".",
        )),
    }
}

/// The `select`ed fields of `row` (all of them without `select`); a field not among `known`
/// is `UNKNOWNDTOPROPERTYEXCEPTION` naming `entity`.
pub(crate) fn select(
    row: &Map<String, Value>,
    select: Option<&Value>,
    known: &dyn Fn(&str) -> bool,
    entity: &str,
) -> Result<Value, V3Error> {
    let Some(names) = select_names(select)? else {
        return Ok(Value::Object(row.clone()));
    };
    let mut out = Map::new();
    for n in names {
        if !known(&n) {
            return Err(unknown_field(&n, entity));
        }
        out.insert(n.clone(), row.get(&n).cloned().unwrap_or(Value::Null));
    }
    Ok(Value::Object(out))
}

/// The field `f` of `family` described, with the keys the family's descriptions have.
fn describe(family: &Family, f: &crate::v3_served::Field) -> Value {
    let mut out = Map::new();
    let label = family.labels.get(&f.0);
    for key in &family.described {
        let v = match key.as_str() {
            "name" => json!(f.0),
            "title" => json!(label.map_or(&f.0, |l| &l.0)),
            "description" => label.map_or(Value::Null, |l| json!(l.1)),
            "type" => json!(f.1),
            "filterable" => json!(f.2),
            "sortable" => json!(f.3),
            "multiple" | "editable" => json!(false),
            "validationRules" => json!([]),
            _ => Value::Null,
        };
        out.insert(key.clone(), v);
    }
    Value::Object(out)
}

/// `*.field.list`: every field described.
pub(crate) fn field_list(family: &Family) -> Value {
    let items: Vec<Value> = family.fields.iter().map(|f| describe(family, f)).collect();
    json!({ "items": items })
}

/// `*.field.get`: the field `name` described, with the documented errors for a missing or
/// unknown name.
pub(crate) fn field_get(family: &Family, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let Some(name) = p.get("name") else {
        let message = format!("{} field `name` is not specified", family.wording);
        return Err(validation("name", &message));
    };
    let name = name.as_str().unwrap_or_default();
    family
        .fields
        .iter()
        .find(|f| f.0 == name)
        .map(|f| json!({ "item": describe(family, f) }))
        .ok_or_else(|| V3Error {
            status: 400,
            code: "BITRIX_REST_V3_REALISATION_EXCEPTION_FIELDNOTFOUNDEXCEPTION".into(),
            message: format!("Field `{name}` not found"),
            validation: None,
        })
}

/// The documented `id` checks: present, and an integer.
pub(crate) fn id_param(p: &Map<String, Value>) -> Result<i64, V3Error> {
    int_param(p, "id")
}

/// The same checks on the integer param `key`.
pub(crate) fn int_param(p: &Map<String, Value>, key: &str) -> Result<i64, V3Error> {
    match p.get(key) {
        None => Err(validation(
            key,
            &format!("Required field `{key}` is not specified"),
        )),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
        Some(_) => Err(validation(
            key,
            &format!("Field `{key}` requires data type `int` for this request"),
        )),
    }
}

/// The rows of the side table `table` that pass the `filter` param (fields among
/// `filterable`), by id.
pub(crate) fn filtered(
    inner: &Inner,
    table: &str,
    p: &Map<String, Value>,
    filterable: &dyn Fn(&str) -> bool,
    entity: &str,
) -> Result<Vec<Map<String, Value>>, V3Error> {
    let rows: Vec<Map<String, Value>> = inner
        .read_data()
        .side
        .get(table)
        .map(|t| t.values().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut hits = Vec::new();
    for row in rows {
        if let Some(f) = p.get("filter")
            && !matches(&row, f, false, filterable, entity)?
        {
            continue;
        }
        hits.push(row);
    }
    Ok(hits)
}

/// `{items: [...]}` of the rows, each with the `select`ed fields.
pub(crate) fn items<'a>(
    rows: impl Iterator<Item = &'a Map<String, Value>>,
    p: &Map<String, Value>,
    known: &dyn Fn(&str) -> bool,
    entity: &str,
) -> Result<Value, V3Error> {
    let items = rows
        .map(|r| select(r, p.get("select"), known, entity))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "items": items }))
}

/// The rows of the side table `table` that pass `keep`, by id.
pub(crate) fn rows(
    data: &Data,
    table: &str,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> Vec<Map<String, Value>> {
    side::rows(data, table)
        .filter_map(Value::as_object)
        .filter(|r| keep(r))
        .cloned()
        .collect()
}

/// The row `id` of the side table `table`, as stored.
pub(crate) fn side_row(inner: &Inner, table: &str, id: i64) -> Option<Value> {
    inner
        .read_data()
        .side
        .get(table)
        .and_then(|t| t.get(&id))
        .cloned()
}
