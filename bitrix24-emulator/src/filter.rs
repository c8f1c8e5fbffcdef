//! Filter operators and the one JSON value comparator.
//!
//! `[op]FIELD` keys (`>=ID`, `%TITLE`, `!@STAGE_ID`) are split by [`split_op`]; [`like`] is SQL
//! `LIKE`; [`compare`] orders two JSON values for the filters and sorts over plain JSON rows,
//! under the [`Collation`] its caller needs; [`JsonCond`] is one `[op]FIELD => value` condition.

use crate::clock;
use crate::core::{as_f64, as_str, list_items};
use serde_json::Value;
use std::cmp::Ordering;

/// A filter operator (the prefix of a filter key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    NotLike,
    In,
    NotIn,
    LikeRaw,
}

/// Splits `[op]FIELD` into the operator and the field name (no prefix: `Eq`).
pub(crate) fn split_op(key: &str) -> (Op, &str) {
    const OPS: [(&str, Op); 14] = [
        ("!@", Op::NotIn),
        ("!=%", Op::NotLike),
        ("!%=", Op::NotLike),
        ("!%", Op::NotLike),
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=%", Op::LikeRaw),
        ("%=", Op::LikeRaw),
        ("@", Op::In),
        ("!", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("%", Op::Like),
    ];
    for (p, op) in OPS {
        if let Some(rest) = key.strip_prefix(p) {
            return (op, rest);
        }
    }
    if let Some(rest) = key.strip_prefix('=') {
        return (Op::Eq, rest);
    }
    (Op::Eq, key)
}

/// SQL `LIKE` with `%` and `_` wildcards, case-insensitive.
pub(crate) fn like(hay: &str, pat: &str) -> bool {
    let h: Vec<char> = hay.to_lowercase().chars().collect();
    let p: Vec<char> = pat.to_lowercase().chars().collect();
    let (mut hi, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while hi < h.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == h[hi]) {
            hi += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = hi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            hi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// One condition of a filter over plain JSON rows (`user.get`): `[op]FIELD => value`.
pub(crate) struct JsonCond {
    /// The field name (upper case).
    pub field: String,
    op: Op,
    want: Vec<Value>,
}

impl JsonCond {
    /// Parses `key` (with its operator prefix) and the wanted value(s).
    pub(crate) fn new(key: &str, want: &Value) -> Self {
        let (op, name) = split_op(key);
        let vals: Vec<Value> = match want {
            Value::Array(_) | Value::Object(_) => list_items(want).into_iter().cloned().collect(),
            other => vec![other.clone()],
        };
        let op = match (op, want) {
            (Op::Eq, Value::Array(_) | Value::Object(_)) => Op::In,
            (Op::Ne, Value::Array(_) | Value::Object(_)) => Op::NotIn,
            (o, _) => o,
        };
        Self {
            field: name.to_ascii_uppercase(),
            op,
            want: vals,
        }
    }

    /// The first wanted value.
    pub(crate) fn wanted(&self) -> Option<&Value> {
        self.want.first()
    }

    /// Whether `have` (the row's value of the field) satisfies the condition.
    pub(crate) fn matches(&self, have: &Value) -> bool {
        let haves: Vec<&Value> = match have {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let any = |f: &dyn Fn(&Value, &Value) -> bool| {
            haves.iter().any(|h| self.want.iter().any(|w| f(h, w)))
        };
        match self.op {
            Op::Eq | Op::In => {
                any(&|h, w| compare(h, w, Collation::Loose) == Some(Ordering::Equal))
            }
            Op::Ne | Op::NotIn => {
                !any(&|h, w| compare(h, w, Collation::Loose) == Some(Ordering::Equal))
            }
            Op::Gt => any(&|h, w| compare(h, w, Collation::Loose) == Some(Ordering::Greater)),
            Op::Ge => any(&|h, w| compare(h, w, Collation::Loose).is_some_and(Ordering::is_ge)),
            Op::Lt => any(&|h, w| compare(h, w, Collation::Loose) == Some(Ordering::Less)),
            Op::Le => any(&|h, w| compare(h, w, Collation::Loose).is_some_and(Ordering::is_le)),
            Op::Like => any(&|h, w| text(h).to_lowercase().contains(&text(w).to_lowercase())),
            Op::LikeRaw => any(&|h, w| like(&text(h), &text(w))),
            Op::NotLike => !any(&|h, w| {
                let (t, p) = (text(h), text(w));
                if p.contains('%') {
                    like(&t, &p)
                } else {
                    t.to_lowercase().contains(&p.to_lowercase())
                }
            }),
        }
    }
}

/// A value as filter text: flags as `Y`/`N`, scalars as printed, lists and objects empty.
fn text(v: &Value) -> String {
    match v {
        Value::Bool(true) => "Y".into(),
        Value::Bool(false) => "N".into(),
        other => as_str(other).unwrap_or_default(),
    }
}

/// How [`compare`] treats JSON types and letter case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collation {
    /// The v2 portal's SQL-like filters and sorts over plain rows (`user.get`, `department.get`):
    /// a numeric string is a number on either side, `true` equals `Y`/`1`/`true`, `null` equals
    /// `""`, and text compares without case.
    Loose,
    /// REST 3.0 filters and orders: the row's JSON type decides. A number compares with a number
    /// or a numeric string, a string only with a string (case-sensitive), a flag only with a flag,
    /// `null` only with `null`; anything else does not compare (`None`).
    Strict,
}

/// Compares the row's value `have` with the wanted value `want`: numbers as numbers, two dates
/// as dates, the rest as text; [`Collation`] says how loose types and case are. `None` when the
/// two do not compare (every operator but `!=` then fails).
pub(crate) fn compare(have: &Value, want: &Value, c: Collation) -> Option<Ordering> {
    let loose = c == Collation::Loose;
    match have {
        Value::Bool(b) if loose => {
            let w = text(want).to_ascii_uppercase();
            return Some(b.cmp(&matches!(w.as_str(), "Y" | "1" | "TRUE")));
        }
        Value::Bool(b) => return want.as_bool().map(|w| b.cmp(&w)),
        Value::Null => {
            let equal = if loose {
                text(want).is_empty()
            } else {
                want.is_null()
            };
            return equal.then_some(Ordering::Equal);
        }
        _ => {}
    }
    let number = if loose { as_f64(have) } else { have.as_f64() };
    if let Some(h) = number {
        match as_f64(want) {
            Some(w) => return h.partial_cmp(&w),
            None if !loose => return None,
            None => {}
        }
    }
    let both_text = have.is_string() && want.is_string();
    if !(loose || both_text) {
        return None;
    }
    let (ht, wt) = (text(have), text(want));
    if let (Some(a), Some(b)) = (clock::parse_datetime(&ht), clock::parse_datetime(&wt)) {
        return Some(a.cmp(&b));
    }
    Some(if loose {
        ht.to_lowercase().cmp(&wt.to_lowercase())
    } else {
        ht.cmp(&wt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[allow(clippy::needless_pass_by_value)]
    fn loose(a: Value, b: Value) -> Option<Ordering> {
        compare(&a, &b, Collation::Loose)
    }

    #[allow(clippy::needless_pass_by_value)]
    fn strict(a: Value, b: Value) -> Option<Ordering> {
        compare(&a, &b, Collation::Strict)
    }

    #[test]
    fn operators_and_like() {
        assert_eq!(split_op(">=ID"), (Op::Ge, "ID"));
        assert_eq!(split_op("!@STAGE_ID"), (Op::NotIn, "STAGE_ID"));
        assert_eq!(split_op("=%TITLE"), (Op::LikeRaw, "TITLE"));
        assert_eq!(split_op("=ID"), (Op::Eq, "ID"));
        assert_eq!(split_op("ID"), (Op::Eq, "ID"));
        assert!(like("Hello World", "%lo w%"));
        assert!(like("Hello", "h_llo"));
        assert!(!like("Hello", "x%"));
    }

    /// `user.get`, `department.get` and their sorts: the portal's SQL rules.
    #[test]
    fn loose_is_sql_like() {
        assert_eq!(loose(json!("Smith"), json!("SMITH")), Some(Equal));
        assert_eq!(loose(json!("abc"), json!("ABD")), Some(Less));
        assert_eq!(loose(json!("5"), json!(5)), Some(Equal));
        assert_eq!(loose(json!(10), json!("9")), Some(Greater));
        assert_eq!(loose(json!(5), json!("abc")), Some(Less), "then as text");
        assert_eq!(loose(json!(true), json!("Y")), Some(Equal));
        assert_eq!(loose(json!(true), json!(1)), Some(Equal));
        assert_eq!(loose(json!(false), json!("Y")), Some(Less));
        assert_eq!(loose(json!(null), json!("")), Some(Equal));
        assert_eq!(loose(json!(null), json!(null)), Some(Equal));
        assert_eq!(loose(json!(null), json!("x")), None);
        assert_eq!(
            loose(json!("2024-01-02T00:00:00+00:00"), json!("2024-01-01")),
            Some(Greater)
        );
    }

    /// REST 3.0 `filter` and `order`: JSON types must agree, text keeps its case.
    #[test]
    fn strict_follows_json_types() {
        assert_eq!(strict(json!("Smith"), json!("SMITH")), Some(Greater));
        assert_eq!(strict(json!("a"), json!("a")), Some(Equal));
        assert_eq!(strict(json!(5), json!("5")), Some(Equal));
        assert_eq!(strict(json!(5), json!(7)), Some(Less));
        assert_eq!(strict(json!("5"), json!(5)), None);
        assert_eq!(strict(json!(5), json!("abc")), None);
        assert_eq!(strict(json!(true), json!(true)), Some(Equal));
        assert_eq!(strict(json!(true), json!("Y")), None);
        assert_eq!(strict(json!(null), json!(null)), Some(Equal));
        assert_eq!(strict(json!(null), json!("")), None);
        assert_eq!(strict(json!(1), json!(null)), None);
        assert_eq!(
            strict(json!("2024-01-02T00:00:00+00:00"), json!("2024-01-01")),
            Some(Greater)
        );
    }

    #[test]
    fn conditions_over_plain_rows() {
        let c = JsonCond::new(">=SORT", &json!("100"));
        assert_eq!(c.field, "SORT");
        assert!(c.matches(&json!(500)));
        assert!(!c.matches(&json!(50)));
        let c = JsonCond::new("NAME", &json!(["ann", "bob"]));
        assert!(
            c.matches(&json!("Bob")),
            "a list is @, and text ignores case"
        );
        assert!(JsonCond::new("%NAME", &json!("MIT")).matches(&json!("Smith")));
        assert!(JsonCond::new("!ID", &json!(1)).matches(&json!("2")));
    }
}
