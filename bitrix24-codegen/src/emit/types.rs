//! Enums and entities.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::convert::id_conversion;
use super::ctx::{Ctx, doc, ident, lit};
use crate::naming;
use crate::spec::{EntitySpec, EnumSpec};

/// What an enum of wire strings (a spec enum, a pack's `Event`) implements on top of its
/// `as_str` and `From<&str>`: `FromStr`, `Display`, and serde as the wire string (decoded
/// leniently: numbers and booleans read as their text).
pub(super) fn text_enum_impls(ty: &Ident) -> TokenStream {
    quote! {
        impl ::std::str::FromStr for #ty {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }
        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::lenient::string_like(deserializer).map(Self::from)
            }
        }
    }
}

pub(super) fn emit_enum(name: &str, e: &EnumSpec) -> TokenStream {
    let ty = format_ident!("{name}");
    let text_impls = text_enum_impls(&ty);
    let text = if e.doc.trim().is_empty() {
        format!("The `{name}` values.")
    } else {
        e.doc.trim().to_owned()
    };
    let d = doc(&format!(
        "{text}\n\nUnknown values decode to `Unknown` (never an error), so new portal values do \
         not break decoding."
    ));
    let wire: Vec<Literal> = e.values.iter().map(|(w, _)| lit(w)).collect();
    let vars: Vec<Ident> = e
        .values
        .iter()
        .map(|(w, label)| format_ident!("{}", naming::enum_variant(w, label)))
        .collect();
    let docs: Vec<TokenStream> = e
        .values
        .iter()
        .map(|(w, d)| {
            if d.trim().is_empty() {
                doc(&format!("`{w}`"))
            } else {
                doc(&format!("`{w}`: {}", d.trim()))
            }
        })
        .collect();
    quote! {
        #d
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #ty {
            #( #docs #vars, )*
            /// A value this version of the SDK does not know, as sent.
            Unknown(String),
        }
        impl #ty {
            /// Every known wire value.
            pub const VALUES: &'static [&'static str] = &[#(#wire),*];
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#vars => #wire, )*
                    Self::Unknown(value) => value,
                }
            }
        }
        impl From<&str> for #ty {
            fn from(value: &str) -> Self {
                match value {
                    #( #wire => Self::#vars, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }
        impl From<String> for #ty {
            fn from(value: String) -> Self {
                match value.as_str() {
                    #( #wire => Self::#vars, )*
                    _ => Self::Unknown(value),
                }
            }
        }
        #text_impls
        impl crate::lenient::LenientDecode for #ty {
            fn decode_opt<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                Ok(crate::lenient::string_like_opt(deserializer)?.map(Self::from))
            }
        }
    }
}

pub(super) fn emit_entity(ctx: &Ctx<'_>, name: &str, e: &EntitySpec) -> TokenStream {
    let ty = format_ident!("{name}");
    let mut text = if e.doc.trim().is_empty() {
        format!("The `{name}` entity.")
    } else {
        e.doc.trim().to_owned()
    };
    if let Some(d) = &e.docs {
        text.push_str(&format!("\n\nFields: <{}>", crate::spec::docs_url(d)));
    }
    text.push_str(
        "\n\nEvery field is optional (the portal omits fields that are not selected). Fields the \
         spec does not name, user fields `UF_*` included, are kept in `extra`; numbers and \
         booleans decode from Bitrix24's strings (`\"42\"`, `\"Y\"`).",
    );
    let d = doc(&text);
    // Legacy entities (UPPER_SNAKE fields: crm.deal.*, crm.lead.*, user.*...) write flags as
    // "Y"/"N" (v2 protocol notes, data conventions); D7 (camelCase) ones take JSON booleans.
    let legacy = e
        .fields
        .iter()
        .all(|f| !f.name.chars().any(|c| c.is_ascii_lowercase()));
    let mut fields = TokenStream::new();
    let mut takes = TokenStream::new();
    // `(wire name, member)` in the spec's order, for `crate::ser::write`.
    let mut members = Vec::new();
    for f in &e.fields {
        let fid = ident(&naming::field_ident(&f.name));
        let wire = lit(&f.name);
        let rty = ctx.rust_ty(&f.ty);
        // Legacy flags travel as "Y"/"N".
        if matches!(f.ty, crate::spec::Ty::Flag)
            || (legacy && matches!(f.ty, crate::spec::Ty::Bool))
        {
            members.push(quote!((#wire, &crate::ser::YesNo(&self.#fid))));
        } else {
            members.push(quote!((#wire, &self.#fid)));
        }
        let fd = match &f.doc {
            Some(x) if !x.trim().is_empty() => {
                doc(&format!("`{}` (`{}`): {}", f.name, f.ty, x.trim()))
            }
            _ => doc(&format!("`{}` (`{}`).", f.name, f.ty)),
        };
        fields.extend(quote! {
            #fd
            pub #fid: Option<#rty>,
        });
        takes.extend(quote!(#fid: fields.opt(#wire),));
    }
    let record_id = match e.id_field() {
        Some(f) => {
            let fid = ident(&naming::field_ident(&f.name));
            let conv = id_conversion(&f.ty, &quote!(self.#fid));
            quote! {
                fn record_id(&self) -> Option<u64> {
                    #conv
                }
            }
        }
        None => TokenStream::new(),
    };
    let name_lit = lit(name);
    let api = super::entity_api::entity_api(ctx, name, e, legacy);
    quote! {
        #d
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct #ty {
            #fields
            /// Every field the spec does not name (user fields `UF_*` included), as sent.
            pub extra: ::serde_json::Map<String, ::serde_json::Value>,
        }
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::ser::write(serializer, &[#(#members),*], Some(&self.extra))
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut fields = crate::entity::Fields::read(deserializer)?;
                let entity = Self { #takes extra: ::serde_json::Map::new() };
                fields.finish(entity)
            }
        }
        impl crate::lenient::LenientDecode for #ty {
            fn decode_opt<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                crate::lenient::entity_opt(deserializer)
            }
        }
        impl crate::Entity for #ty {
            const NAME: &'static str = #name_lit;
            fn extra(&self) -> &::serde_json::Map<String, ::serde_json::Value> {
                &self.extra
            }
            fn extra_mut(&mut self) -> &mut ::serde_json::Map<String, ::serde_json::Value> {
                &mut self.extra
            }
            #record_id
        }
        #api
    }
}
