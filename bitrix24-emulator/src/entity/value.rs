//! Stored values and rows: conversion from request JSON, rendering in a view's number style, and the
//! comparisons filters and sorts use.

use super::model::{FieldType, NumberStyle};
use crate::clock;
use crate::core::{as_f64, as_i64, as_str};
use serde_json::{Value, json};
use std::cmp::Ordering;

/// A stored value.
#[derive(Debug, Clone)]
pub(crate) enum V {
    Null,
    Int(i64),
    Num(f64),
    Str(std::sync::Arc<str>),
    Time(i64),
    Json(Box<Value>),
}

/// A stored row: one value per family field plus user fields.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) vals: Box<[V]>,
    pub(crate) extra: Vec<(Box<str>, Value)>,
}

/// Converts an input JSON value to a stored value of type `ty`.
pub(crate) fn to_v(ty: FieldType, v: &Value) -> V {
    if v.is_null() {
        return V::Null;
    }
    match ty {
        FieldType::Id | FieldType::Int => match as_i64(v) {
            Some(n) => V::Int(n),
            None => match v {
                Value::String(s) if s.trim().is_empty() => V::Null,
                Value::String(s) => V::Str(s.as_str().into()),
                _ => V::Json(Box::new(v.clone())),
            },
        },
        FieldType::Money | FieldType::Float => match as_f64(v) {
            Some(n) => V::Num(n),
            None => match v {
                Value::String(s) if s.trim().is_empty() => V::Null,
                _ => as_str(v).map_or(V::Null, |s| V::Str(s.into())),
            },
        },
        FieldType::String => {
            as_str(v).map_or_else(|| V::Json(Box::new(v.clone())), |s| V::Str(s.into()))
        }
        FieldType::Char => {
            let yes = match v {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => {
                    let s = s.trim().to_ascii_uppercase();
                    s == "Y" || s == "1" || s == "TRUE"
                }
                _ => false,
            };
            V::Str(if yes { "Y" } else { "N" }.into())
        }
        FieldType::Date => match to_v(FieldType::DateTime, v) {
            V::Time(t) => V::Time(t - t.rem_euclid(86_400)),
            other => other,
        },
        FieldType::DateTime => match v {
            Value::String(s) if s.trim().is_empty() => V::Null,
            Value::String(s) => {
                clock::parse_datetime(s).map_or_else(|| V::Str(s.as_str().into()), V::Time)
            }
            Value::Number(n) => n.as_i64().map_or(V::Null, V::Time),
            _ => V::Null,
        },
        FieldType::Json => V::Json(Box::new(v.clone())),
    }
}

pub(crate) fn render_v(ty: FieldType, v: &V, numbers: NumberStyle) -> Value {
    match v {
        V::Null => Value::Null,
        V::Int(n) => match numbers {
            NumberStyle::String => Value::String(n.to_string()),
            NumberStyle::Native => json!(n),
        },
        V::Num(f) => match (numbers, ty) {
            (NumberStyle::String, FieldType::Money) => Value::String(format!("{f:.2}")),
            (NumberStyle::String, _) => Value::String(fmt_float(*f)),
            (NumberStyle::Native, _) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    json!(*f as i64)
                } else {
                    json!(f)
                }
            }
        },
        V::Str(s) => Value::String(s.to_string()),
        V::Time(t) => Value::String(clock::iso(*t as f64)),
        V::Json(j) => (**j).clone(),
    }
}

pub(crate) fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

pub(crate) fn cmp_v(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (V::Int(x), V::Int(y)) | (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Int(x), V::Num(y)) => (*x as f64).partial_cmp(y),
        (V::Num(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
        (V::Num(x), V::Num(y)) => x.partial_cmp(y),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Json(x), V::Json(y)) => Some(x.to_string().cmp(&y.to_string())),
        (V::Null, V::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

pub(crate) fn sort_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Less,
        (_, V::Null) => Ordering::Greater,
        _ => cmp_v(a, b).unwrap_or_else(|| v_text(a).cmp(&v_text(b))),
    }
}

pub(crate) fn v_text(v: &V) -> String {
    match v {
        V::Null => String::new(),
        V::Int(n) | V::Time(n) => n.to_string(),
        V::Num(f) => fmt_float(*f),
        V::Str(s) => s.to_string(),
        V::Json(j) => match &**j {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}
