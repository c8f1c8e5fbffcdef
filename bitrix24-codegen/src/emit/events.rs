//! The pack's `Event` enum.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::ctx::{doc, lit};
use crate::naming;
use crate::spec::Spec;

pub(super) fn emit_events(s: &Spec) -> TokenStream {
    let wire: Vec<Literal> = s.events.iter().map(|e| lit(e)).collect();
    let upper: Vec<Literal> = s
        .events
        .iter()
        .map(|e| lit(&e.to_ascii_uppercase()))
        .collect();
    let vars: Vec<Ident> = s
        .events
        .iter()
        .map(|e| {
            let docs = s.event_docs.get(e).map(String::as_str);
            // Validated: every event has a variant.
            format_ident!("{}", naming::event_variant(e, docs).unwrap_or_default())
        })
        .collect();
    let docs: Vec<TokenStream> = s
        .events
        .iter()
        .map(|e| match s.event_docs.get(e) {
            Some(page) => doc(&format!("`{e}`: <{}>", crate::spec::docs_url(page))),
            None => doc(&format!("`{e}`")),
        })
        .collect();
    let example = s.events.first().map_or_else(String::new, |e| {
        let v =
            naming::event_variant(e, s.event_docs.get(e).map(String::as_str)).unwrap_or_default();
        format!(
            "\n\n```\nuse bitrix24::packs::{pack}::Event;\n\n\
             let event: Event = {e:?}.parse().unwrap();\n\
             assert_eq!(event, Event::{v});\n\
             assert_eq!(event.to_string(), {e:?});\n```",
            pack = s.pack
        )
    });
    let d = doc(&format!(
        "Events of the `{}` pack, by name (as `event.bind` takes them and handlers receive them).\n\n\
         Parsing is case-insensitive and never fails: names this version does not know become \
         `Unknown`; `Display` and `as_str` give the name as sent.{example}",
        s.pack
    ));
    let from_str = if s.events.is_empty() {
        quote!(Self::Unknown(value.to_owned()))
    } else {
        quote! {
            match value.to_ascii_uppercase().as_str() {
                #( #upper => Self::#vars, )*
                _ => Self::Unknown(value.to_owned()),
            }
        }
    };
    let from_string = if s.events.is_empty() {
        quote!(Self::Unknown(value))
    } else {
        quote! {
            match Self::from(value.as_str()) {
                Self::Unknown(_) => Self::Unknown(value),
                known => known,
            }
        }
    };
    let text_impls = super::types::text_enum_impls(&quote::format_ident!("Event"));
    quote! {
        #d
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Event {
            #( #docs #vars, )*
            /// An event this version of the SDK does not know, as sent.
            Unknown(String),
        }
        impl Event {
            /// Every event name of the pack.
            pub const ALL: &'static [&'static str] = &[#(#wire),*];
            /// The event name.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#vars => #wire, )*
                    Self::Unknown(value) => value,
                }
            }
        }
        impl From<&str> for Event {
            fn from(value: &str) -> Self {
                #from_str
            }
        }
        impl From<String> for Event {
            fn from(value: String) -> Self {
                #from_string
            }
        }
        #text_impls
    }
}
