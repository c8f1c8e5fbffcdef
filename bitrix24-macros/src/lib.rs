//! Derive macros for the `bitrix24` crate (re-exported from it with the `macros` feature).
//!
//! - [`macro@Method`]: turn your own parameter struct into a `bitrix24::Method`, for methods the
//!   specs do not cover yet or portal-specific ones.
//! - [`macro@UserFields`]: a typed view of user fields (`UF_CRM_*`) that reads from and writes to
//!   the `extra` map of a generated entity (`Deal`, `Lead`, ...).
//! - [`macro@SmartProcessItem`]: a typed smart-process item for `bitrix24::smart::ItemGet` and
//!   the other `crm.item.*` requests.
//!
//! Every derive accepts `#[bitrix24(crate = "path")]` when `bitrix24` is not reachable as
//! `::bitrix24` (renamed dependency, re-export).

use bitrix24_codegen::risk::Risk;
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Error, Expr, ExprArray, Fields, Lit, LitBool, LitInt, LitStr, Path, Type,
};

/// Implements `bitrix24::Method` for a struct that serializes to the method's parameters.
///
/// ```
/// #[derive(serde::Serialize, bitrix24::Method)]
/// #[bitrix24(method = "crm.deal.get", risk = "read", scopes = ["crm"], response = serde_json::Value)]
/// struct DealGet {
///     id: u64,
/// }
///
/// use bitrix24::Method as _;
/// assert_eq!(DealGet::NAME, "crm.deal.get");
/// assert!(DealGet::IDEMPOTENT);
/// ```
///
/// Keys of `#[bitrix24(...)]`:
///
/// | key | required | meaning |
/// | --- | --- | --- |
/// | `method = "x.y"` | yes | the v2 method name |
/// | `risk = "read"` | yes | `read`, `write`, `destructive` or `mixed` |
/// | `scopes = ["crm"]` | yes | scopes any one of which allows the call (`[]` for global methods) |
/// | `response = Type` | yes | what `result` decodes into |
/// | `idempotent = true` | no | default: `true` for `read`, `false` otherwise |
/// | `v3 = "x.y"` | no | the REST 3.0 name, when it takes the same parameters |
/// | `crate = "path"` | no | path of the `bitrix24` crate (default `::bitrix24`) |
///
/// The struct must also implement `serde::Serialize` (derive it).
#[proc_macro_derive(Method, attributes(bitrix24))]
pub fn derive_method(input: TokenStream) -> TokenStream {
    derive(input, expand_method)
}

/// Implements `bitrix24::UserFields` for a struct of typed user fields.
///
/// ```
/// use bitrix24::UserFields as _;
///
/// #[derive(Debug, bitrix24::UserFields)]
/// struct DealExtras {
///     #[bitrix24(field = "UF_CRM_BUDGET")]
///     budget: Option<String>,
///     #[bitrix24(field = "UF_CRM_SEATS", with = "bitrix24::lenient::option")]
///     seats: Option<u64>,
/// }
///
/// // With a generated entity: `let extras: DealExtras = deal.user_fields()?;`
/// let extra = serde_json::json!({"UF_CRM_BUDGET": "100", "UF_CRM_SEATS": "12"});
/// let extras = DealExtras::from_extra(extra.as_object().unwrap()).unwrap();
/// assert_eq!(extras.seats, Some(12));
/// ```
///
/// Every field needs `field = "UF_..."` (the wire name). `with = "path"` decodes through a
/// `deserialize_with`-style function such as `bitrix24::lenient::option` (numbers from
/// strings, `"Y"`/`"N"` booleans). A missing field decodes from `null` (so `Option` fields become
/// `None`); `None` fields are not written back.
#[proc_macro_derive(UserFields, attributes(bitrix24))]
pub fn derive_user_fields(input: TokenStream) -> TokenStream {
    derive(input, expand_user_fields)
}

/// Implements `bitrix24::smart::SmartProcessItem` (plus `Serialize` and `Deserialize` in the
/// `crm.item.*` wire shape) for a struct of a smart process's item fields.
///
/// ```
/// use bitrix24::smart::{ItemGet, SmartProcessItem};
///
/// #[derive(Debug, Default, bitrix24::SmartProcessItem)]
/// #[bitrix24(entity_type_id = 128)]
/// struct Project {
///     id: Option<u64>,          // wire name `id`
///     title: Option<String>,    // `title`
///     stage_id: Option<String>, // `stageId` (lowerCamelCase by default)
///     #[bitrix24(field = "ufCrm5_Budget")]
///     budget: Option<String>,
///     #[bitrix24(extra)]
///     rest: serde_json::Map<String, serde_json::Value>, // every other field, as sent
/// }
///
/// let request = ItemGet::<Project>::new(7); // send it with the client
/// assert_eq!(Project::ENTITY_TYPE_ID, 128);
/// let item: Project = serde_json::from_value(serde_json::json!({
///     "id": 7, "title": "Launch", "stageId": "DT128_1:NEW", "ufCrm5_Budget": "100", "opportunity": 5
/// })).unwrap();
/// assert_eq!(item.item_id(), Some(7));
/// assert!(item.rest.contains_key("opportunity"));
/// ```
///
/// Field keys: `field = "wireName"` (default: the lowerCamelCase of the Rust name), `with =
/// "path"` (a `deserialize_with`-style function), `extra` (the one field that keeps unknown
/// fields). A field named `id` (`u64` or `Option<u64>`) gives the item id used by keyset
/// pagination. Do not also derive `Serialize`/`Deserialize`.
#[proc_macro_derive(SmartProcessItem, attributes(bitrix24))]
pub fn derive_smart_process_item(input: TokenStream) -> TokenStream {
    derive(input, expand_smart)
}

// ---------------------------------------------------------------------------------------------

/// Parses a derive's input and expands it with `expand`; a parse or expansion error becomes
/// a `compile_error!` at its span.
fn derive(
    input: TokenStream,
    expand: fn(&DeriveInput) -> syn::Result<TokenStream2>,
) -> TokenStream {
    match syn::parse::<DeriveInput>(input) {
        Ok(input) => expand(&input),
        Err(e) => Err(e),
    }
    .unwrap_or_else(Error::into_compile_error)
    .into()
}

fn default_crate() -> Path {
    syn::parse_quote!(::bitrix24)
}

fn parse_crate_path(value: &LitStr) -> syn::Result<Path> {
    value.parse::<Path>().map_err(|_| {
        Error::new(
            value.span(),
            "`crate` must be a path such as \"::bitrix24\"",
        )
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(Error::new(span, format!("duplicate `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// The value of a required key, or the error naming `key` (its form, such as
/// `method = "x.y"`) at the derive's type, followed by `hint`.
fn required<T>(slot: Option<T>, at: &syn::Ident, key: &str, hint: &str) -> syn::Result<T> {
    slot.ok_or_else(|| {
        Error::new(
            at.span(),
            format!("missing `{key}` in #[bitrix24(...)]{hint}"),
        )
    })
}

struct MethodAttrs {
    method: Option<LitStr>,
    risk: Option<LitStr>,
    scopes: Option<Vec<LitStr>>,
    idempotent: Option<LitBool>,
    response: Option<Type>,
    v3: Option<LitStr>,
    krate: Option<Path>,
}

fn expand_method(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let mut a = MethodAttrs {
        method: None,
        risk: None,
        scopes: None,
        idempotent: None,
        response: None,
        v3: None,
        krate: None,
    };
    let mut seen_attr = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("bitrix24")) {
        seen_attr = true;
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let span = meta.path.span();
            match key.as_str() {
                "method" => set_once(&mut a.method, meta.value()?.parse()?, "method", span),
                "risk" => set_once(&mut a.risk, meta.value()?.parse()?, "risk", span),
                "idempotent" => set_once(&mut a.idempotent, meta.value()?.parse()?, "idempotent", span),
                "response" => set_once(&mut a.response, meta.value()?.parse()?, "response", span),
                "v3" => set_once(&mut a.v3, meta.value()?.parse()?, "v3", span),
                "crate" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    set_once(&mut a.krate, parse_crate_path(&lit)?, "crate", span)
                }
                "scopes" => {
                    let arr: ExprArray = meta.value()?.parse()?;
                    let mut scopes = Vec::new();
                    for e in arr.elems {
                        match e {
                            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => scopes.push(s),
                            other => {
                                return Err(Error::new(other.span(), "scopes are string literals: `scopes = [\"crm\"]`"));
                            }
                        }
                    }
                    set_once(&mut a.scopes, scopes, "scopes", span)
                }
                _ => Err(meta.error(
                    "unknown key; expected one of `method`, `risk`, `scopes`, `idempotent`, `response`, `v3`, `crate`",
                )),
            }
        })?;
    }
    let ident = &input.ident;
    if !seen_attr {
        return Err(Error::new(
            ident.span(),
            "#[derive(Method)] needs #[bitrix24(method = \"...\", risk = \"...\", scopes = [...], response = Type)]",
        ));
    }
    let method = required(a.method, ident, "method = \"x.y\"", "")?;
    let name = method.value();
    if name.is_empty()
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Err(Error::new(
            method.span(),
            "a method name is ASCII letters, digits, `_` and single dots, like \"crm.deal.get\"",
        ));
    }
    let risk_key = Risk::ALL
        .iter()
        .map(|r| format!("\"{}\"", r.as_str()))
        .collect::<Vec<_>>()
        .join(" | ");
    let risk_lit = required(a.risk, ident, &format!("risk = {risk_key}"), "")?;
    // The classes, their spelling and their default idempotency come from the one table in
    // bitrix24-codegen (which also generates `bitrix24::Risk`).
    let Some(risk) = Risk::parse(&risk_lit.value()) else {
        return Err(Error::new(
            risk_lit.span(),
            format!(
                "unknown risk class `{}`; expected {}",
                risk_lit.value(),
                Risk::spellings("\"")
            ),
        ));
    };
    let risk_variant = format_ident!("{}", risk.variant());
    let default_idem = risk.default_idempotent();
    let scopes = required(
        a.scopes,
        ident,
        "scopes = [\"...\"]",
        " (use `scopes = []` for global methods)",
    )?;
    let response = required(a.response, ident, "response = Type", "")?;
    let idempotent = a.idempotent.map_or(default_idem, |b| b.value);
    let krate = a.krate.unwrap_or_else(default_crate);
    let v3 = a.v3.map(|v| quote!(const V3_NAME: ::core::option::Option<&'static str> = ::core::option::Option::Some(#v);));
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_g #krate::Method for #ident #ty_g #where_c {
            const NAME: &'static str = #method;
            const RISK: #krate::Risk = #krate::Risk::#risk_variant;
            const IDEMPOTENT: bool = #idempotent;
            const SCOPES: &'static [&'static str] = &[#(#scopes),*];
            #v3
            type Response = #response;
        }
    })
}

/// Container-level `#[bitrix24(...)]` of the field derives.
fn container_attrs(
    input: &DeriveInput,
    allow_entity_type: bool,
) -> syn::Result<(Path, Option<LitInt>)> {
    let mut krate = None;
    let mut entity_type_id: Option<LitInt> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("bitrix24")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut krate, parse_crate_path(&lit)?, "crate", span)
            } else if allow_entity_type && meta.path.is_ident("entity_type_id") {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<u64>()?;
                set_once(&mut entity_type_id, lit, "entity_type_id", span)
            } else if allow_entity_type {
                Err(meta.error("unknown key; expected `entity_type_id` or `crate`"))
            } else {
                Err(meta.error("unknown key; expected `crate`"))
            }
        })?;
    }
    Ok((krate.unwrap_or_else(default_crate), entity_type_id))
}

struct FieldInfo {
    ident: syn::Ident,
    wire: String,
    with: Option<Path>,
    extra: bool,
    span: Span,
}

fn named_fields<'a>(input: &'a DeriveInput, derive: &str) -> syn::Result<&'a syn::FieldsNamed> {
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            format!("#[derive({derive})] does not support generic structs"),
        ));
    }
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => Ok(n),
            _ => Err(Error::new(
                input.ident.span(),
                format!("#[derive({derive})] needs a struct with named fields"),
            )),
        },
        _ => Err(Error::new(
            input.ident.span(),
            format!("#[derive({derive})] needs a struct with named fields"),
        )),
    }
}

fn field_infos(fields: &syn::FieldsNamed, smart: bool) -> syn::Result<Vec<FieldInfo>> {
    let mut out = Vec::new();
    for f in &fields.named {
        let ident = f.ident.clone().expect("named field");
        let mut wire: Option<LitStr> = None;
        let mut with: Option<Path> = None;
        let mut extra = false;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("bitrix24")) {
            attr.parse_nested_meta(|meta| {
                let span = meta.path.span();
                if meta.path.is_ident("field") {
                    set_once(&mut wire, meta.value()?.parse()?, "field", span)
                } else if meta.path.is_ident("with") {
                    let lit: LitStr = meta.value()?.parse()?;
                    let p = lit
                        .parse::<Path>()
                        .map_err(|_| Error::new(lit.span(), "`with` must be a function path"))?;
                    set_once(&mut with, p, "with", span)
                } else if smart && meta.path.is_ident("extra") {
                    extra = true;
                    Ok(())
                } else if smart {
                    Err(meta.error("unknown key; expected `field`, `with` or `extra`"))
                } else {
                    Err(meta.error("unknown key; expected `field` or `with`"))
                }
            })?;
        }
        let wire = match wire {
            Some(w) if w.value().is_empty() => {
                return Err(Error::new(w.span(), "the wire name is empty"));
            }
            Some(w) => w.value(),
            None if smart => lower_camel(&ident.to_string()),
            None if extra => String::new(),
            None => {
                return Err(Error::new(
                    ident.span(),
                    "every user field needs #[bitrix24(field = \"UF_...\")] with its wire name",
                ));
            }
        };
        out.push(FieldInfo {
            ident,
            wire,
            with,
            extra,
            span: f.span(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &out {
        if !f.extra && !seen.insert(f.wire.clone()) {
            return Err(Error::new(
                f.span,
                format!("two fields map to the wire name `{}`", f.wire),
            ));
        }
    }
    if out.iter().filter(|f| f.extra).count() > 1 {
        return Err(Error::new(
            out.iter()
                .filter(|f| f.extra)
                .nth(1)
                .map_or_else(Span::call_site, |f| f.span),
            "only one field can be #[bitrix24(extra)]",
        ));
    }
    Ok(out)
}

/// `stage_id` -> `stageId`, `r#type` -> `type`.
fn lower_camel(s: &str) -> String {
    let s = s.strip_prefix("r#").unwrap_or(s);
    let mut out = String::new();
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `field(map, "wire")` or `field_with(map, "wire", with)`: a `Result<T, serde_json::Error>`.
fn read_field(krate: &Path, f: &FieldInfo, map: &TokenStream2) -> TokenStream2 {
    let wire = &f.wire;
    if let Some(with) = &f.with {
        quote!(#krate::__private::field_with(#map, #wire, #with))
    } else {
        quote!(#krate::__private::field(#map, #wire))
    }
}

fn expand_user_fields(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let (krate, _) = container_attrs(input, false)?;
    let fields = field_infos(named_fields(input, "UserFields")?, false)?;
    let ident = &input.ident;
    let wires: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
    let reads = fields.iter().map(|f| {
        let id = &f.ident;
        let read = read_field(&krate, f, &quote!(extra));
        quote!(#id: #read?)
    });
    let writes = fields.iter().map(|f| {
        let id = &f.ident;
        let wire = &f.wire;
        quote!(#krate::__private::put(extra, #wire, &self.#id)?;)
    });
    Ok(quote! {
        #[automatically_derived]
        impl #krate::UserFields for #ident {
            const FIELDS: &'static [&'static str] = &[#(#wires),*];
            fn from_extra(
                extra: &#krate::__private::serde_json::Map<::std::string::String, #krate::__private::serde_json::Value>,
            ) -> ::core::result::Result<Self, #krate::__private::serde_json::Error> {
                ::core::result::Result::Ok(Self { #(#reads),* })
            }
            fn write_extra(
                &self,
                extra: &mut #krate::__private::serde_json::Map<::std::string::String, #krate::__private::serde_json::Value>,
            ) -> ::core::result::Result<(), #krate::__private::serde_json::Error> {
                #(#writes)*
                ::core::result::Result::Ok(())
            }
        }
    })
}

fn expand_smart(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let (krate, entity_type_id) = container_attrs(input, true)?;
    let ident = &input.ident;
    let entity_type_id = entity_type_id.ok_or_else(|| {
        Error::new(
            ident.span(),
            "missing #[bitrix24(entity_type_id = N)]: the smart process's entityTypeId",
        )
    })?;
    let fields = field_infos(named_fields(input, "SmartProcessItem")?, true)?;
    let named: Vec<&FieldInfo> = fields.iter().filter(|f| !f.extra).collect();
    let extra = fields.iter().find(|f| f.extra);
    let wires: Vec<&String> = named.iter().map(|f| &f.wire).collect();
    let reads = named.iter().map(|f| {
        let id = &f.ident;
        let read = read_field(&krate, f, &quote!(&map));
        quote!(#id: #read.map_err(<D::Error as #krate::__private::serde::de::Error>::custom)?)
    });
    let extra_read = extra.map(|f| {
        let id = &f.ident;
        quote! {
            #id: {
                for key in [#(#wires),*] {
                    map.remove(key);
                }
                ::core::iter::FromIterator::from_iter(map)
            },
        }
    });
    let writes = named.iter().map(|f| {
        let id = &f.ident;
        let wire = &f.wire;
        quote!(#krate::__private::put(&mut map, #wire, &self.#id).map_err(<S::Error as #krate::__private::serde::ser::Error>::custom)?;)
    });
    let extra_write = extra.map(|f| {
        let id = &f.ident;
        quote! {
            for (key, value) in &self.#id {
                map.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    });
    let item_id = if named.iter().any(|f| f.ident == "id") {
        quote!(#krate::__private::IntoItemId::item_id_of(&self.id))
    } else {
        quote!(::core::option::Option::None)
    };
    let ty_check = entity_type_id.to_token_stream();
    Ok(quote! {
        #[automatically_derived]
        impl #krate::smart::SmartProcessItem for #ident {
            const ENTITY_TYPE_ID: u64 = #ty_check;
            fn item_id(&self) -> ::core::option::Option<u64> {
                #item_id
            }
        }
        #[automatically_derived]
        impl #krate::__private::serde::Serialize for #ident {
            fn serialize<S: #krate::__private::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                let mut map = #krate::__private::serde_json::Map::new();
                #(#writes)*
                #extra_write
                #krate::__private::serde::Serialize::serialize(&map, serializer)
            }
        }
        #[automatically_derived]
        impl<'de> #krate::__private::serde::Deserialize<'de> for #ident {
            fn deserialize<D: #krate::__private::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                #[allow(unused_mut)]
                let mut map: #krate::__private::serde_json::Map<::std::string::String, #krate::__private::serde_json::Value> =
                    #krate::__private::serde::Deserialize::deserialize(deserializer)?;
                ::core::result::Result::Ok(Self {
                    #(#reads,)*
                    #extra_read
                })
            }
        }
    })
}
