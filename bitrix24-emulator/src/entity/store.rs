//! One entity store: rows ordered by id, with list, render, add, update and seed.

use super::model::{Family, FieldDefault, FieldType, Flavor, KeyStyle, View, uf_in, uf_out};
use super::query::{Cond, FieldRef, ListQuery, Selection, parse_select};
use super::value::{Row, V, render_v, sort_cmp, to_v};
use crate::core::{ApiError, as_i64, as_str, list_items};
use crate::filter::Op;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One store: rows ordered by id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub rows: BTreeMap<i64, Row>,
    pub next_id: i64,
}

/// A list page.
pub(crate) struct Page {
    pub rows: Vec<Value>,
    pub total: Option<i64>,
    pub next: Option<i64>,
}

impl Store {
    /// Runs a list query. `start = -1` skips counting.
    pub(crate) fn list(
        &self,
        fam: &Family,
        view: View,
        q: &ListQuery,
        start: i64,
        page: usize,
    ) -> Page {
        let count = start != -1;
        let start = if start < 0 { 0 } else { (start / 50) * 50 } as usize;
        // Narrow the id range from conditions on the id.
        let (mut lo, mut hi) = (i64::MIN, i64::MAX);
        for c in &q.conds {
            if let (FieldRef::Slot(0), Some(V::Int(n))) = (&c.field, c.vals.first()) {
                match c.op {
                    Op::Gt => lo = lo.max(n.saturating_add(1)),
                    Op::Ge => lo = lo.max(*n),
                    Op::Lt => hi = hi.min(n.saturating_sub(1)),
                    Op::Le => hi = hi.min(*n),
                    Op::Eq if c.vals.len() == 1 => {
                        lo = lo.max(*n);
                        hi = hi.min(*n);
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        let mut total = 0usize;
        if lo > hi {
            return Page {
                rows: out,
                total: count.then_some(0),
                next: None,
            };
        }
        // The conditions on the id that narrowed the range are not tested again row by row (a
        // counted page walks every row of the range).
        let in_range = |c: &&Cond| {
            matches!(
                (&c.field, c.vals.as_slice()),
                (FieldRef::Slot(0), [V::Int(_)])
            ) && matches!(c.op, Op::Gt | Op::Ge | Op::Lt | Op::Le | Op::Eq)
        };
        let rest: Vec<&Cond> = q.conds.iter().filter(|c| !in_range(c)).collect();
        let matches = |r: &Row| rest.iter().all(|c| c.matches(r));
        let by_id_only =
            q.order.is_empty() || (q.order.len() == 1 && matches!(q.order[0].0, FieldRef::Slot(0)));
        if by_id_only {
            let desc = q.order.first().is_some_and(|o| o.1);
            let range = self.rows.range(lo..=hi);
            let iter: Box<dyn Iterator<Item = (&i64, &Row)>> = if desc {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            for (id, row) in iter {
                if !matches(row) {
                    continue;
                }
                if total >= start && out.len() < page {
                    out.push(self.render(fam, view, *id, row, &q.select));
                }
                total += 1;
                if !count && out.len() >= page {
                    break;
                }
            }
        } else {
            let mut hits: Vec<(i64, &Row)> = self
                .rows
                .range(lo..=hi)
                .filter(|(_, r)| matches(r))
                .map(|(i, r)| (*i, r))
                .collect();
            let key = |r: &Row, f: &FieldRef| -> V {
                match f {
                    FieldRef::Slot(i) => r.vals[*i].clone(),
                    FieldRef::Group(..) => V::Null,
                    FieldRef::Extra(n) => r
                        .extra
                        .iter()
                        .find(|(k, _)| &**k == n.as_str())
                        .map_or(V::Null, |(_, v)| {
                            V::Str(as_str(v).unwrap_or_default().into())
                        }),
                }
            };
            hits.sort_by(|a, b| {
                for (f, desc) in &q.order {
                    let o = sort_cmp(&key(a.1, f), &key(b.1, f));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.0.cmp(&b.0)
            });
            total = hits.len();
            out = hits
                .iter()
                .skip(start)
                .take(page)
                .map(|(id, r)| self.render(fam, view, *id, r, &q.select))
                .collect();
        }
        let (total_out, next) = if count {
            let next =
                (start + out.len() < total && !out.is_empty()).then(|| (start + page) as i64);
            (Some(total as i64), next)
        } else {
            (None, None)
        };
        Page {
            rows: out,
            total: total_out,
            next,
        }
    }

    #[allow(clippy::unused_self)]
    fn render(&self, fam: &Family, view: View, _id: i64, row: &Row, sel: &Selection) -> Value {
        let mut m = Map::with_capacity(sel.slots.len() + sel.uf.len());
        for &i in &sel.slots {
            let f = &fam.spec.fields[i];
            let key = match view.keys {
                KeyStyle::Upper => f.name.clone(),
                KeyStyle::Camel => f.camel.clone(),
            };
            let v = &row.vals[i];
            if !view.crm_item && f.multifield && is_empty(v) {
                continue;
            }
            let out = match (&f.empty, v) {
                (Some(e), V::Null) if !view.crm_item => e.clone(),
                // `crm.item.get` of a lead: `"observers":[]`, `"contactIds":[]`.
                (_, V::Null) if view.crm_item && f.multiple && !f.multifield => json!([]),
                _ => render_v(f.ty, v, view.numbers),
            };
            m.insert(key, out);
        }
        // Whole `crm.item.*` rows name their type (`"entityTypeId": 2` in the docs'
        // `crm.item.add`), also for the legacy families, whose own rows have no such field.
        let listed = |f: &&super::model::FieldSpec| f.in_list && f.answers.shown(view);
        let whole = sel.slots.len() >= fam.spec.fields.iter().filter(listed).count();
        if view.crm_item
            && whole
            && let Some(t) = fam.spec.entity_type_id
            && fam.slot("entityTypeId", true).is_none()
        {
            m.insert("entityTypeId".into(), json!(t));
        }
        for (k, v) in &row.extra {
            if sel.all_uf || sel.uf.iter().any(|u| u.as_str() == &**k) {
                // A relation id is a number like the family's others (`"PARENT_ID_1220":"22"`).
                let v = match v {
                    Value::Number(_) if k.starts_with("PARENT_ID_") => {
                        render_v(FieldType::Int, &to_v(FieldType::Int, v), view.numbers)
                    }
                    _ => v.clone(),
                };
                m.insert(uf_out(k, view), v);
            }
        }
        Value::Object(m)
    }

    pub(crate) fn render_full(&self, fam: &Family, view: View, id: i64) -> Option<Value> {
        let row = self.rows.get(&id)?;
        Some(self.render(fam, view, id, row, &Selection::all(fam, view, false)))
    }

    pub(crate) fn render_sel(
        &self,
        fam: &Family,
        view: View,
        id: i64,
        sel: Option<&Value>,
    ) -> Option<Value> {
        let row = self.rows.get(&id)?;
        let s = parse_select(fam, view, sel, false);
        Some(self.render(fam, view, id, row, &s))
    }

    /// Applies input fields to a row (add or update).
    fn apply(fam: &Family, view: View, row: &mut Row, fields: &Map<String, Value>, adding: bool) {
        for (k, v) in fields {
            if let Some(i) = fam.slot_in(k, view) {
                let f = &fam.spec.fields[i];
                if f.read_only || i == 0 {
                    continue;
                }
                let mut v = v.clone();
                if f.multifield {
                    v = merge_multifield(&f.name, &row.vals[i], &v, adding);
                }
                row.vals[i] = to_v(f.ty, &v);
            } else if let Some(uf) = uf_in(k, view) {
                if let Some(e) = row.extra.iter_mut().find(|(n, _)| **n == *uf) {
                    e.1 = v.clone();
                } else {
                    row.extra.push((uf.into(), v.clone()));
                }
            }
        }
        for (i, f) in fam.spec.fields.iter().enumerate() {
            if let Some((source, value_type)) = f.flag_of {
                let has = fam.slot(source, false).is_some_and(|s| match &row.vals[s] {
                    V::Json(j) => list_items(j).iter().any(|it| {
                        value_type
                            .is_none_or(|t| it.get("VALUE_TYPE").and_then(Value::as_str) == Some(t))
                    }),
                    _ => false,
                });
                row.vals[i] = V::Str(if has { "Y" } else { "N" }.into());
            }
        }
    }

    /// `add`: validates required fields and stores a new row with id `at` (`None`: the next
    /// free one); returns its id.
    pub(crate) fn add(
        &mut self,
        fam: &Family,
        view: View,
        fields: &Map<String, Value>,
        user: u64,
        now: f64,
        at: Option<i64>,
    ) -> Result<i64, ApiError> {
        for f in &fam.spec.fields {
            if f.required {
                let given = fields
                    .iter()
                    .find(|(k, _)| {
                        fam.slot(k, view.camel_in)
                            .is_some_and(|i| fam.spec.fields[i].name == f.name)
                    })
                    .map(|(_, v)| v);
                let empty = given
                    .is_none_or(|v| v.is_null() || as_str(v).is_some_and(|s| s.trim().is_empty()));
                if empty {
                    // The item factory behind `crm.item.*` (`crm-item-batch-import.md`:
                    // `"CRM_FIELD_ERROR_REQUIRED"`, `The "Name" field is required`).
                    if view.crm_item {
                        return Err(ApiError::new(
                            400,
                            "CRM_FIELD_ERROR_REQUIRED",
                            format!("The \"{}\" field is required", f.title),
                        ));
                    }
                    return Err(match fam.spec.flavor {
                        Flavor::Tasks => ApiError::new(
                            400,
                            "ERROR_CORE",
                            format!("{} is not specified<br>", f.title),
                        ),
                        Flavor::LegacyCrm => {
                            ApiError::crm(&format!("The field \"{}\" is required.", f.title))
                        }
                        Flavor::D7 => ApiError::no_value(&f.camel),
                    });
                }
            }
        }
        let mut row = Row {
            vals: fam
                .spec
                .fields
                .iter()
                .map(|f| {
                    f.default
                        .as_ref()
                        .map_or(V::Null, |d| default_value(f.ty, d, user, now))
                })
                .collect(),
            extra: Vec::new(),
        };
        Self::apply(fam, view, &mut row, fields, true);
        let id = at.unwrap_or_else(|| {
            self.next_id = self
                .next_id
                .max(self.rows.keys().next_back().copied().unwrap_or(0))
                + 1;
            self.next_id
        });
        row.vals[0] = V::Int(id);
        self.rows.insert(id, row);
        Ok(id)
    }

    /// `update`: returns false when the row does not exist.
    pub(crate) fn update(
        &mut self,
        fam: &Family,
        view: View,
        id: i64,
        fields: &Map<String, Value>,
        user: u64,
        now: f64,
    ) -> bool {
        let Some(row) = self.rows.get_mut(&id) else {
            return false;
        };
        Self::apply(fam, view, row, fields, false);
        for (i, f) in fam.spec.fields.iter().enumerate() {
            let n = f.name.as_str();
            if matches!(n, "DATE_MODIFY" | "CHANGED_DATE") {
                row.vals[i] = V::Time(now as i64);
            } else if matches!(n, "MODIFY_BY_ID" | "CHANGED_BY") {
                row.vals[i] = V::Int(user as i64);
            }
        }
        true
    }

    /// Sets one field by UPPER name to what `d` gives for `user` at `now`.
    pub(crate) fn set_default(
        &mut self,
        fam: &Family,
        id: i64,
        name: &str,
        d: &FieldDefault,
        user: u64,
        now: f64,
    ) {
        if let (Some(row), Some(i)) = (self.rows.get_mut(&id), fam.slot(name, false)) {
            row.vals[i] = default_value(fam.spec.fields[i].ty, d, user, now);
        }
    }

    /// Sets one field by UPPER name.
    pub(crate) fn set(&mut self, fam: &Family, id: i64, name: &str, v: &Value) {
        if let (Some(row), Some(i)) = (self.rows.get_mut(&id), fam.slot(name, false)) {
            row.vals[i] = to_v(fam.spec.fields[i].ty, v);
        }
    }

    /// Seeds `n` synthetic rows (no events) using `make(id)` for field values.
    pub(crate) fn seed(
        &mut self,
        fam: &Family,
        n: u64,
        now: f64,
        mut make: impl FnMut(i64, &mut Vec<(usize, V)>),
    ) {
        let base = self
            .rows
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .max(self.next_id);
        let mut buf = Vec::new();
        // Shared defaults: string values are reference-counted, so rows share them.
        let defaults: Vec<V> = fam
            .spec
            .fields
            .iter()
            .map(|f| match &f.default {
                None | Some(FieldDefault::Now | FieldDefault::Guid) => V::Null,
                Some(FieldDefault::Caller) => V::Int(1),
                Some(FieldDefault::Value(v)) => to_v(f.ty, v),
            })
            .collect();
        let now_slots: Vec<(usize, FieldType)> = fam
            .spec
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.default, Some(FieldDefault::Now)))
            .map(|(i, f)| (i, f.ty))
            .collect();
        let guid_slots: Vec<usize> = fam
            .spec
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.default, Some(FieldDefault::Guid)))
            .map(|(i, _)| i)
            .collect();
        for k in 1..=n as i64 {
            let id = base + k;
            let mut vals = defaults.clone();
            for &(i, ty) in &now_slots {
                vals[i] = to_v(ty, &json!(now as i64 - (n as i64 - k)));
            }
            for &i in &guid_slots {
                vals[i] = V::Str(guid().into());
            }
            vals[0] = V::Int(id);
            buf.clear();
            make(id, &mut buf);
            for (i, v) in buf.drain(..) {
                if i < vals.len() {
                    vals[i] = v;
                }
            }
            self.rows.insert(
                id,
                Row {
                    vals: vals.into_boxed_slice(),
                    extra: Vec::new(),
                },
            );
        }
        self.next_id = base + n as i64;
    }
}

/// No value: null, or an empty list or object.
fn is_empty(v: &V) -> bool {
    match v {
        V::Null => true,
        V::Json(j) => match &**j {
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            other => other.is_null(),
        },
        _ => false,
    }
}

/// The stored value of a default: the time `now`, the caller `user`, or the fixed value.
fn default_value(ty: FieldType, d: &FieldDefault, user: u64, now: f64) -> V {
    match d {
        FieldDefault::Now => to_v(ty, &json!(now as i64)),
        FieldDefault::Caller => V::Int(user as i64),
        FieldDefault::Value(v) => to_v(ty, v),
        FieldDefault::Guid => V::Str(guid().into()),
    }
}

/// A random version-4 GUID in braces, as tasks print theirs
/// (`"guid":"{c2794da9-c7fe-404d-a709-ddab4578717a}"` in the docs' `tasks.task.add`).
fn guid() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    format!(
        "{{{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}}}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn merge_multifield(name: &str, old: &V, new: &Value, adding: bool) -> Value {
    // Legacy multi-fields: list of {VALUE, VALUE_TYPE}; stored with ID and TYPE_ID.
    let mut items: Vec<Value> = match (old, adding) {
        (V::Json(j), false) => match &**j {
            Value::Array(a) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut next = items
        .iter()
        .filter_map(|i| i.get("ID").and_then(as_i64))
        .max()
        .unwrap_or(0);
    for it in list_items(new) {
        let Value::Object(o) = it else { continue };
        let value = o.get("VALUE").cloned().unwrap_or(Value::Null);
        let vtype = o
            .get("VALUE_TYPE")
            .cloned()
            .unwrap_or_else(|| json!("WORK"));
        if let Some(id) = o.get("ID").and_then(as_i64) {
            if let Some(pos) = items
                .iter()
                .position(|i| i.get("ID").and_then(as_i64) == Some(id))
            {
                if as_str(&value).is_none_or(|s| s.is_empty()) {
                    items.remove(pos);
                } else {
                    items[pos]["VALUE"] = value;
                    items[pos]["VALUE_TYPE"] = vtype;
                }
            }
            continue;
        }
        if as_str(&value).is_none_or(|s| s.is_empty()) {
            continue;
        }
        next += 1;
        items.push(
            json!({"ID": next.to_string(), "VALUE_TYPE": vtype, "VALUE": value, "TYPE_ID": name}),
        );
    }
    Value::Array(items)
}
