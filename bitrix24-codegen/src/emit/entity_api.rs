//! What every entity gets besides its fields: `new()` and one builder setter per field, field
//! name constants (`Deal::TITLE`), user fields without a trait (`set_uf`, `uf`), `From<Map>` and
//! `TryFrom<Value>` for untyped data, and, for the rows of a filtered list method, a typed filter
//! (`Deal::filter().title_starts_with("x")`, methods of `crate::filter::Filter<Deal>`).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::convert::arg_conversion;
use super::ctx::{Ctx, doc, ident, lit};
use crate::naming;
use crate::spec::{EntitySpec, FieldSpec, Ty};

/// Setter names that would hide an inherent or trait method of the entity: suffixed with `_`.
const TAKEN: &[&str] = &[
    "new",
    "filter",
    "uf",
    "uf_opt",
    "set_uf",
    "extra",
    "extra_mut",
    "record_id",
    "user_fields",
    "set_user_fields",
];

/// Whether `name` is the row of a list method that takes a `filter` object.
pub(super) fn is_filterable(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.specs.iter().flat_map(|s| s.methods.values()).any(|m| {
        matches!(m.response.list_item(), Some(Ty::Entity(n)) if n == name)
            && m.params
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case("filter") && p.ty == Ty::Object)
    })
}

/// The inherent API of entity `name` (see the module docs).
pub(super) fn entity_api(ctx: &Ctx<'_>, name: &str, e: &EntitySpec, legacy: bool) -> TokenStream {
    let ty = format_ident!("{name}");
    let mut consts = TokenStream::new();
    let mut setters = TokenStream::new();
    for f in &e.fields {
        let fname = naming::field_ident(&f.name);
        let fid = ident(&fname);
        let wire = lit(&f.name);
        let cid = format_ident!("{}", fname.to_uppercase());
        let cd = doc(&format!(
            "`{}`: the wire name, for `select`, filters and orders.",
            f.name
        ));
        consts.extend(quote!(#cd pub const #cid: &'static str = #wire;));
        let setter = if TAKEN.contains(&fname.as_str()) {
            format_ident!("{fname}_")
        } else {
            fid.clone()
        };
        let (arg_ty, conv) = arg_conversion(ctx, &f.ty, &quote!(value));
        let sd = doc(&format!("Sets `{}` (`{}`).", f.name, f.ty));
        setters.extend(quote! {
            #sd
            #[must_use]
            pub fn #setter(mut self, value: #arg_ty) -> Self {
                self.#fid = Some(#conv);
                self
            }
        });
    }
    let (filter, conditions) = if is_filterable(ctx, name) {
        filter_api(ctx, &ty, e, legacy)
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    quote! {
        impl #ty {
            /// An entity with no field set (build it with the setters).
            pub fn new() -> Self {
                Self::default()
            }
            #consts
            #setters
            /// Sets the user field `name` (`UF_...`; `uf...` for D7 entities) to `value`.
            /// Errors name the field when `name` is not a user field or `value` does not
            /// serialize. A real portal keeps only user fields that exist: create them first
            /// (`crm.<entity>.userfield.add`).
            pub fn set_uf(&mut self, name: &str, value: impl ::serde::Serialize) -> Result<&mut Self, crate::Error> {
                crate::entity::set_uf(#name, &mut self.extra, name, value)?;
                Ok(self)
            }
            /// The user field `name`, decoded leniently (`"1234"` reads as a `u64`); an error
            /// names the field when it is absent, empty or of another type.
            pub fn uf<T: crate::lenient::LenientDecode>(&self, name: &str) -> Result<T, crate::Error> {
                crate::entity::uf(#name, &self.extra, name)
            }
            /// [`Self::uf`], with an absent or empty field as `None`.
            pub fn uf_opt<T: crate::lenient::LenientDecode>(&self, name: &str) -> Result<Option<T>, crate::Error> {
                crate::entity::uf_opt(#name, &self.extra, name)
            }
            #filter
        }
        impl From<::serde_json::Map<String, ::serde_json::Value>> for #ty {
            /// Untyped fields, decoded leniently; when a value does not fit its typed field,
            /// every field is kept in `extra` as given (and still sent as is).
            #[inline]
            fn from(map: ::serde_json::Map<String, ::serde_json::Value>) -> Self {
                crate::entity::from_map(map)
            }
        }
        impl TryFrom<::serde_json::Value> for #ty {
            type Error = crate::Error;
            /// A JSON object, decoded leniently; errors name the JSON path.
            #[inline]
            fn try_from(value: ::serde_json::Value) -> Result<Self, crate::Error> {
                crate::entity::from_value(&value)
            }
        }
        #conditions
    }
}

/// `Entity::filter()` (inside `impl Entity`) and the typed conditions of
/// `crate::filter::Filter<Entity>` (an impl block of its own).
fn filter_api(
    ctx: &Ctx<'_>,
    ty: &Ident,
    e: &EntitySpec,
    legacy: bool,
) -> (TokenStream, TokenStream) {
    let mut methods = TokenStream::new();
    for f in &e.fields {
        methods.extend(field_conditions(ctx, f, legacy));
    }
    let fd = doc(&format!(
        "A typed filter over the fields of `{ty}` (`{ty}::filter().id_gt(10)`), for the `filter` \
         of the list methods that return it; `Filter::op` takes any other condition."
    ));
    (
        quote! {
            #fd
            pub fn filter() -> crate::filter::Filter<Self> {
                crate::filter::Filter::new()
            }
        },
        quote! {
            impl crate::filter::Filter<#ty> {
                #methods
            }
        },
    )
}

/// What a field's conditions compare: ordered values, text, or values that are only equal.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Ordered,
    Text,
    Equal,
    Flag,
}

fn kind(ty: &Ty) -> Option<Kind> {
    match ty {
        Ty::Int | Ty::Id | Ty::Float | Ty::Decimal | Ty::Date | Ty::Datetime => Some(Kind::Ordered),
        Ty::String => Some(Kind::Text),
        Ty::Enum(_) => Some(Kind::Equal),
        Ty::Bool | Ty::Flag => Some(Kind::Flag),
        _ => None,
    }
}

/// The conditions on one field: `=`/`!=` always; `@`/`!@` for ids, numbers, text and enums;
/// `>`, `>=`, `<`, `<=` for numbers and dates; `%` and `=%` (contains, starts/ends with, like)
/// for text. Lists, objects and entities have none (use `Filter::op`).
fn field_conditions(ctx: &Ctx<'_>, f: &FieldSpec, legacy: bool) -> TokenStream {
    let Some(kind) = kind(&f.ty) else {
        return TokenStream::new();
    };
    let base = naming::field_ident(&f.name);
    let wire = lit(&f.name);
    let (arg_ty, conv) = arg_conversion(ctx, &f.ty, &quote!(value));
    let rty = ctx.rust_ty(&f.ty);
    let mut out = TokenStream::new();
    let mut add = |suffix: &str, op: &str, what: &str, arg: TokenStream, value: TokenStream| {
        let m = format_ident!("{base}_{suffix}");
        let op_id = format_ident!("{op}");
        let prefix = match op {
            "Eq" => "=",
            "Ne" => "!=",
            "Gt" => ">",
            "Ge" => ">=",
            "Lt" => "<",
            "Le" => "<=",
            "In" => "@",
            "NotIn" => "!@",
            "Contains" => "%",
            _ => "=%",
        };
        let d = doc(&format!("`{prefix}{}`: {what}.", f.name));
        out.extend(quote! {
            #d
            pub fn #m(self, value: #arg) -> Self {
                self.op(crate::filter::Op::#op_id, #wire, #value)
            }
        });
    };
    if kind == Kind::Flag {
        // Legacy entities (and `flag` fields) filter by "Y"/"N", as they write them.
        let value = if legacy || f.ty == Ty::Flag {
            quote!(if value { "Y" } else { "N" })
        } else {
            quote!(value)
        };
        add("eq", "Eq", "equal to `value`", quote!(bool), value);
        return out;
    }
    add("eq", "Eq", "equal to `value`", arg_ty.clone(), conv.clone());
    add(
        "ne",
        "Ne",
        "not equal to `value`",
        arg_ty.clone(),
        conv.clone(),
    );
    let list_arg = match &f.ty {
        Ty::Id | Ty::Int => quote!(impl IntoIterator<Item = #rty>),
        _ => quote!(impl IntoIterator<Item = impl Into<#rty>>),
    };
    let list_value = match &f.ty {
        Ty::Id | Ty::Int => quote!(value.into_iter().collect::<Vec<#rty>>()),
        _ => quote!(value.into_iter().map(Into::into).collect::<Vec<#rty>>()),
    };
    if !matches!(f.ty, Ty::Float | Ty::Decimal | Ty::Date | Ty::Datetime) {
        add(
            "in",
            "In",
            "one of `value`",
            list_arg.clone(),
            list_value.clone(),
        );
        add("not_in", "NotIn", "none of `value`", list_arg, list_value);
    }
    match kind {
        Kind::Ordered => {
            add(
                "gt",
                "Gt",
                "greater than `value`",
                arg_ty.clone(),
                conv.clone(),
            );
            add(
                "ge",
                "Ge",
                "greater than or equal to `value`",
                arg_ty.clone(),
                conv.clone(),
            );
            add(
                "lt",
                "Lt",
                "less than `value`",
                arg_ty.clone(),
                conv.clone(),
            );
            add("le", "Le", "less than or equal to `value`", arg_ty, conv);
        }
        Kind::Text => {
            let s = quote!(impl Into<String>);
            add(
                "contains",
                "Contains",
                "contains `value` (no `%` in it)",
                s.clone(),
                quote!(value.into()),
            );
            add(
                "starts_with",
                "Like",
                "starts with `value` (sent as `value%`; `%` and `_` in it are wildcards)",
                s.clone(),
                quote!(format!("{}%", value.into())),
            );
            add(
                "ends_with",
                "Like",
                "ends with `value` (sent as `%value`)",
                s.clone(),
                quote!(format!("%{}", value.into())),
            );
            add(
                "like",
                "Like",
                "matches the pattern `value` (`%` any text, `_` one character)",
                s,
                quote!(value.into()),
            );
        }
        Kind::Equal | Kind::Flag => {}
    }
    out
}
