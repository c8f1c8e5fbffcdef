//! List requests: `filter` conditions over stored rows, `order` and `select`.

use super::model::{Family, FieldType, Flavor, View, uf_in};
use super::value::{Row, V, cmp_v, to_v, v_text};
use crate::core::{ApiError, as_str, list_items, param};
use crate::filter::{Op, like, split_op};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A filter or order field: a family slot or a user field; in a filter also a group of
/// conditions (`true`: any of them, `false`: all).
#[derive(Debug)]
pub(crate) enum FieldRef {
    Slot(usize),
    Extra(String),
    Group(bool, Vec<Cond>),
}

/// One `filter` condition over stored rows.
#[derive(Debug)]
pub(crate) struct Cond {
    pub(crate) field: FieldRef,
    pub(crate) op: Op,
    pub(crate) vals: Vec<V>,
    raw: Vec<String>,
}

impl Cond {
    fn get<'r>(&self, row: &'r Row) -> Option<std::borrow::Cow<'r, V>> {
        match &self.field {
            FieldRef::Group(..) => None,
            FieldRef::Slot(i) => row.vals.get(*i).map(std::borrow::Cow::Borrowed),
            FieldRef::Extra(name) => Some(std::borrow::Cow::Owned(
                row.extra
                    .iter()
                    .find(|(k, _)| &**k == name.as_str())
                    .map_or(V::Null, |(_, v)| match v {
                        Value::Null => V::Null,
                        Value::String(s) => V::Str(s.as_str().into()),
                        Value::Number(n) => n
                            .as_i64()
                            .map_or_else(|| V::Num(n.as_f64().unwrap_or(0.0)), V::Int),
                        other => V::Json(Box::new(other.clone())),
                    }),
            )),
        }
    }

    pub(crate) fn matches(&self, row: &Row) -> bool {
        if let FieldRef::Group(any, conds) = &self.field {
            return if *any {
                conds.iter().any(|c| c.matches(row))
            } else {
                conds.iter().all(|c| c.matches(row))
            };
        }
        let Some(v) = self.get(row) else { return false };
        match &*v {
            // A multi-field (`PHONE`) matches by the values of its items: a positive condition
            // when one item matches, a negative one when every item does.
            V::Json(j) if j.is_array() => {
                let items: Vec<V> = list_items(j)
                    .into_iter()
                    .map(|it| {
                        it.get("VALUE")
                            .or(Some(it))
                            .and_then(as_str)
                            .map_or(V::Null, |s| V::Str(s.into()))
                    })
                    .collect();
                if matches!(self.op, Op::Ne | Op::NotIn | Op::NotLike) {
                    items.iter().all(|it| self.test(it))
                } else {
                    items.iter().any(|it| self.test(it))
                }
            }
            v => self.test(v),
        }
    }

    /// Whether one stored value meets the condition.
    fn test(&self, v: &V) -> bool {
        let eq = |x: &V| -> bool {
            match x {
                V::Str(s) if s.is_empty() => {
                    matches!(v, V::Null) || matches!(v, V::Str(t) if t.is_empty())
                }
                _ => {
                    cmp_v(v, x) == Some(Ordering::Equal)
                        || (!matches!(v, V::Null) && v_text(v) == v_text(x))
                }
            }
        };
        match self.op {
            Op::Eq | Op::In => self.vals.iter().any(eq),
            Op::Ne | Op::NotIn => !self.vals.iter().any(eq),
            Op::Gt | Op::Ge | Op::Lt | Op::Le => self.vals.first().is_some_and(|x| {
                cmp_v(v, x).is_some_and(|o| match self.op {
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                    Op::Lt => o == Ordering::Less,
                    _ => o != Ordering::Greater,
                })
            }),
            Op::Like => {
                let t = v_text(v).to_lowercase();
                self.raw.iter().any(|r| t.contains(&r.to_lowercase()))
            }
            Op::LikeRaw => {
                let t = v_text(v);
                self.raw.iter().any(|r| like(&t, r))
            }
            Op::NotLike => {
                let t = v_text(v).to_lowercase();
                !self.raw.iter().any(|r| {
                    if r.contains('%') {
                        like(&t, r)
                    } else {
                        t.contains(&r.to_lowercase())
                    }
                })
            }
        }
    }
}

/// The parsed list request.
pub(crate) struct ListQuery {
    pub(crate) conds: Vec<Cond>,
    pub(crate) order: Vec<(FieldRef, bool)>,
    pub select: Selection,
}

/// Which fields a response includes.
pub(crate) struct Selection {
    pub(crate) slots: Vec<usize>,
    pub(crate) all_uf: bool,
    pub(crate) uf: Vec<String>,
}

impl Selection {
    /// Every field (list calls: only those returned without a select), less the fields the
    /// family's own methods return only when selected by name.
    pub(crate) fn all(fam: &Family, view: View, list: bool) -> Self {
        let shown = |f: &super::model::FieldSpec| {
            (!list || f.in_list) && (view.crm_item || !f.on_request) && f.answers.shown(view)
        };
        Self {
            slots: (0..fam.spec.fields.len())
                .filter(|&i| shown(&fam.spec.fields[i]))
                .collect(),
            all_uf: !list,
            uf: Vec::new(),
        }
    }
}

/// Parses `select` (`*`, `UF_*`, field names in the view's request style).
pub(crate) fn parse_select(fam: &Family, view: View, v: Option<&Value>, list: bool) -> Selection {
    let items: Vec<String> = v
        .map(list_items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(as_str)
        .collect();
    if items.is_empty() {
        return Selection::all(fam, view, list);
    }
    let mut sel = Selection {
        slots: vec![0],
        all_uf: false,
        uf: Vec::new(),
    };
    for it in items {
        if it == "*" {
            for i in 0..fam.spec.fields.len() {
                let f = &fam.spec.fields[i];
                if f.in_list && f.answers.shown(view) && !sel.slots.contains(&i) {
                    sel.slots.push(i);
                }
            }
        } else if it.eq_ignore_ascii_case("UF_*") || it == "uf*" {
            sel.all_uf = true;
        } else if let Some(i) = fam.slot_in(&it, view) {
            if !sel.slots.contains(&i) {
                sel.slots.push(i);
            }
        } else if let Some(uf) = uf_in(&it, view) {
            sel.uf.push(uf);
        }
    }
    sel.slots.sort_unstable();
    sel
}

fn field_ref(fam: &Family, view: View, name: &str) -> Option<FieldRef> {
    fam.slot_in(name, view)
        .map(FieldRef::Slot)
        .or_else(|| uf_in(name, view).map(FieldRef::Extra))
}

/// The conditions of a `filter` map: one per key, and for a numbered key whose value is a map
/// a group of its own (`{"0": {"logic": "OR", "0": {"!=name": ""}, "1": {"!=lastName": ""}}}`
/// in `crm/universal/crm-item-list.md`), its members joined by its `logic` (`AND` by default).
fn conds_of(fam: &Family, view: View, m: &Map<String, Value>) -> Result<Vec<Cond>, ApiError> {
    let mut conds = Vec::new();
    for (k, v) in m {
        if k.eq_ignore_ascii_case("logic") {
            continue;
        }
        if let (true, Value::Object(sub)) = (k.bytes().all(|b| b.is_ascii_digit()), v) {
            let any = sub
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("logic"))
                .and_then(|(_, l)| as_str(l))
                .is_some_and(|l| l.eq_ignore_ascii_case("OR"));
            conds.push(Cond {
                field: FieldRef::Group(any, conds_of(fam, view, sub)?),
                op: Op::Eq,
                vals: Vec::new(),
                raw: Vec::new(),
            });
        } else if let Some(c) = leaf(fam, view, k, v)? {
            conds.push(c);
        }
    }
    Ok(conds)
}

/// The condition of one `filter` key (`">=opportunity": 5000`); `None` for a field the family
/// does not have, which only `crm.item.*` rejects.
fn leaf(fam: &Family, view: View, k: &str, v: &Value) -> Result<Option<Cond>, ApiError> {
    let (op, name) = split_op(k);
    let Some(field) = field_ref(fam, view, name) else {
        if view.crm_item {
            return Err(ApiError::new(
                400,
                "INVALID_ARG_VALUE",
                format!("Invalid filter: field '{name}' is not allowed in filter"),
            ));
        }
        return Ok(None);
    };
    let ty = match field {
        FieldRef::Slot(i) => fam.spec.fields[i].ty,
        FieldRef::Extra(_) | FieldRef::Group(..) => FieldType::String,
    };
    let items: Vec<&Value> = match v {
        Value::Array(_) | Value::Object(_) => list_items(v),
        other => vec![other],
    };
    let op = match (op, v) {
        (Op::Eq, Value::Array(_) | Value::Object(_)) => Op::In,
        (Op::Ne, Value::Array(_) | Value::Object(_)) => Op::NotIn,
        (o, _) => o,
    };
    let vals = items
        .iter()
        .map(|x| match (ty, x) {
            (_, Value::String(s)) if s.is_empty() => V::Str("".into()),
            (FieldType::Json, other) => as_str(other).map_or(V::Null, |s| V::Str(s.into())),
            _ => to_v(ty, x),
        })
        .collect();
    let raw = items.iter().filter_map(|x| as_str(x)).collect();
    Ok(Some(Cond {
        field,
        op,
        vals,
        raw,
    }))
}

impl ListQuery {
    pub(crate) fn parse(
        fam: &Family,
        view: View,
        params: &Map<String, Value>,
        camel_params: bool,
    ) -> Result<Self, ApiError> {
        let get = |n: &str| {
            if camel_params {
                params.get(n)
            } else {
                param(params, n)
            }
        };
        let select = parse_select(fam, view, get("select"), true);
        let conds = match get("filter") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => conds_of(fam, view, m)?,
            Some(Value::Array(a)) if a.is_empty() => Vec::new(),
            Some(_) => {
                return Err(if fam.spec.flavor == Flavor::LegacyCrm && !view.camel_in {
                    ApiError::crm("Parameter 'filter' must be array.")
                } else {
                    ApiError::new(400, "INVALID_ARG_VALUE", "Invalid filter")
                });
            }
        };
        let mut order = Vec::new();
        if let Some(Value::Object(m)) = get("order") {
            for (k, v) in m {
                let Some(f) = field_ref(fam, view, k) else {
                    if fam.spec.flavor == Flavor::Tasks {
                        return Err(ApiError::new(
                            400,
                            "0",
                            "Invalid sorting key (internal error)",
                        ));
                    }
                    continue;
                };
                let desc = as_str(v).is_some_and(|s| s.eq_ignore_ascii_case("desc"));
                order.push((f, desc));
            }
        }
        if order.is_empty() && fam.spec.default_desc {
            order.push((FieldRef::Slot(0), true));
        }
        if let (true, Some(slot)) = (
            order.is_empty(),
            fam.spec
                .partition
                .as_ref()
                .and_then(|pt| fam.slot(&pt.order_by, true)),
        ) {
            order.push((FieldRef::Slot(slot), false));
        }
        Ok(Self {
            conds,
            order,
            select,
        })
    }
}
