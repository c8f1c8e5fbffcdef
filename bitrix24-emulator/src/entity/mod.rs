//! In-memory entity stores and the data-driven family model (`crm.deal`, `tasks.task`, ...).
//!
//! [`model`] describes families, [`value`] the stored values, [`query`] list requests, [`store`]
//! the rows and [`meta`] the non-row answers; [`crm_type`] is the one family no spec describes.

pub(crate) mod crm_type;
pub(crate) mod meta;
pub(crate) mod model;
pub(crate) mod query;
pub(crate) mod store;
pub(crate) mod value;

pub use model::{
    Answers, EntityFamily, FieldDefault, FieldSpec, FieldType, Flavor, KeyStyle, NumberStyle,
    Partition, Shape, camelize,
};
pub(crate) use model::{Described, Family, RowCtx, RowView, View};
pub(crate) use query::ListQuery;
pub(crate) use store::{Page, Store};
