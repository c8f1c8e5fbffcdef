//! How generated code converts arguments: the setter/constructor argument types of a
//! parameter or field, and the reading of an entity's id as a `u64`.

use proc_macro2::TokenStream;
use quote::quote;

use super::ctx::Ctx;
use crate::spec::Ty;

/// Numbers and booleans are taken as they are (so that literals infer: `new(5)`), lists as any
/// iterator, everything else as `impl Into<T>`. Returns the argument type and the conversion of
/// `expr` into the field type.
pub(super) fn arg_conversion(
    ctx: &Ctx<'_>,
    ty: &Ty,
    expr: &TokenStream,
) -> (TokenStream, TokenStream) {
    let scalar = |t: &Ty| matches!(t, Ty::Id | Ty::Int | Ty::Float | Ty::Bool | Ty::Flag);
    let rty = ctx.rust_ty(ty);
    match ty {
        t if scalar(t) => (rty, quote!(#expr)),
        Ty::List(inner) if scalar(inner) => {
            let it = ctx.rust_ty(inner);
            (
                quote!(impl IntoIterator<Item = #it>),
                quote!(#expr.into_iter().collect()),
            )
        }
        Ty::List(inner) => {
            let it = ctx.rust_ty(inner);
            (
                quote!(impl IntoIterator<Item = impl Into<#it>>),
                quote!(#expr.into_iter().map(Into::into).collect()),
            )
        }
        _ => (quote!(impl Into<#rty>), quote!(#expr.into())),
    }
}

/// How an entity's id field (`Id`, `Int` or a numeric `String`) reads as an `Option<u64>`.
pub(super) fn id_conversion(ty: &Ty, expr: &TokenStream) -> TokenStream {
    match ty {
        Ty::Id => quote!(#expr),
        Ty::Int => quote!(#expr.and_then(|v| u64::try_from(v).ok())),
        Ty::String => quote!(#expr.as_deref().and_then(|v| v.trim().parse().ok())),
        _ => quote!(None),
    }
}
