//! Request structs, their `Method` and `ListMethod` impls, and `<Request>Response` structs.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::convert::{arg_conversion, id_conversion};
use super::ctx::{Ctx, doc, ident, lit};
use crate::naming;
use crate::spec::{EntitySpec, MethodSpec, Pagination, Response, Risk, Ty};

/// The field type, argument type and conversion of a request parameter: `object` parameters
/// (filters, orders, options) take anything serializable and keep it as
/// `crate::filter::ObjectParam` (anything but a JSON object fails the call before sending,
/// naming the parameter); `id` parameters take a number or a batch handle (`crate::batch::Id`);
/// every other type as [`arg_conversion`].
fn param_conversion(
    ctx: &Ctx<'_>,
    p: &crate::spec::ParamSpec,
    expr: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    if p.ty == Ty::Id {
        // A number, or inside a batch the handle of an earlier id-returning command.
        return (
            quote!(crate::batch::Id),
            quote!(impl crate::batch::IdArg),
            quote!(crate::batch::IdArg::into_id(#expr)),
        );
    }
    if p.ty == Ty::Object {
        let wire = lit(&p.name);
        return (
            quote!(crate::filter::ObjectParam),
            quote!(impl ::serde::Serialize),
            quote!(crate::filter::ObjectParam::new(#wire, #expr)),
        );
    }
    let (arg, conv) = arg_conversion(ctx, &p.ty, expr);
    (ctx.rust_ty(&p.ty), arg, conv)
}

pub(super) fn risk_tokens(r: Risk) -> TokenStream {
    let v = format_ident!("{}", r.variant());
    quote!(crate::Risk::#v)
}

pub(super) fn risk_note(r: Risk) -> String {
    format!("{} ({})", r.as_str(), r.note())
}

/// Whether `send` decodes the response with the lenient rules of a required value
/// (`crate::lenient::required`) instead of the type's own `Deserialize`: every shape but
/// `value` (kept as sent), entities, enums and `wrapped:` structs, which decode as themselves.
pub(super) fn lenient_response(r: &Response) -> bool {
    match r {
        Response::Plain(Ty::Value | Ty::Entity(_) | Ty::Enum(_))
        | Response::Wrapped(..)
        | Response::WrappedList(..) => false,
        Response::Plain(_) | Response::List(_) | Response::Map(_) => true,
    }
}

/// The type of a method's `result`, unless it is a `wrapped:`/`wrapped_list:` struct.
fn response_as_ty(r: &Response) -> Option<Ty> {
    match r {
        Response::Plain(t) => Some(t.clone()),
        Response::List(t) => Some(Ty::List(Box::new(t.clone()))),
        Response::Map(t) => Some(Ty::Map(Box::new(t.clone()))),
        Response::Wrapped(..) | Response::WrappedList(..) => None,
    }
}

/// The Rust type of a method's `result`.
pub(super) fn response_ty(ctx: &Ctx<'_>, r: &Response, sname: &str) -> TokenStream {
    match response_as_ty(r) {
        Some(t) => ctx.rust_ty(&t),
        None => {
            let rname = format_ident!("{sname}Response");
            quote!(#rname)
        }
    }
}

/// [`response_ty`] as the docs show it.
pub(super) fn response_doc_ty(ctx: &Ctx<'_>, r: &Response, sname: &str) -> String {
    match response_as_ty(r) {
        Some(t) => ctx.doc_ty(&t),
        None => format!("bitrix24::packs::{}::{sname}Response", ctx.module),
    }
}

/// The `{"key": ...}` struct of a `wrapped:`/`wrapped_list:` response.
pub(super) fn wrapped_response(ctx: &Ctx<'_>, m: &MethodSpec, sname: &str) -> TokenStream {
    let (key, inner) = match &m.response {
        Response::WrappedList(key, t) => (key, ctx.rust_ty(&Ty::List(Box::new(t.clone())))),
        Response::Wrapped(key, t) => (key, ctx.rust_ty(t)),
        _ => return TokenStream::new(),
    };
    let rname = format_ident!("{sname}Response");
    let kid = ident(&naming::field_ident(key));
    let klit = lit(key);
    let rd = doc(&format!(
        "The `result` of `{}`: `{{\"{key}\": ...}}`.",
        m.name
    ));
    let kd = doc(&format!("`{key}`."));
    quote! {
        #rd
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct #rname {
            #kd
            #[serde(rename = #klit, deserialize_with = "crate::lenient::required")]
            pub #kid: #inner,
            /// Any other keys of `result`, as sent.
            #[serde(flatten)]
            pub extra: ::serde_json::Map<String, ::serde_json::Value>,
        }
    }
}

/// The request struct of the same method in the other version, when both versions have it with
/// different params (a `[v3]` entry named like a `[method]` of its spec).
fn twin(ctx: &Ctx<'_>, m: &MethodSpec) -> Option<String> {
    ctx.specs.iter().find_map(|s| {
        let other = if m.v3_only {
            s.methods.get(&m.name)?
        } else {
            s.v3_methods.get(&m.name)?
        };
        Some(other.struct_name())
    })
}

/// The rustdoc of a request struct: what the specs say, and a `no_run` call.
pub(super) fn method_doc(ctx: &Ctx<'_>, m: &MethodSpec, sname: &str) -> TokenStream {
    let scopes = m.scopes_text(" or ", "none (global method)");
    let mut text = format!(
        "{}\n\n- Method: `{}`\n- Docs: <{}>\n- Risk: {}\n- Scopes: {}\n- Idempotent: {}\n\
         - Response: `{}` (`{}`)",
        m.summary.trim(),
        m.name,
        m.docs_url(),
        risk_note(m.risk),
        scopes,
        if m.idempotent {
            "yes (safe to re-send)"
        } else {
            "no (never re-sent after an ambiguous failure)"
        },
        response_doc_ty(ctx, &m.response, sname),
        m.response,
    );
    if m.pagination != Pagination::None {
        text.push_str(&format!(
            "\n- Pagination: {} (`client.stream(&request)` walks every page)",
            m.pagination.as_str()
        ));
    }
    match (&m.v3, m.v3_only) {
        (Some(v3), true) => text.push_str(&format!(
            "\n- REST 3.0 only: `{v3}` (a portal without it answers \
             [`Error::NotOnPortal`](crate::Error::NotOnPortal))"
        )),
        (Some(v3), false) => text.push_str(&format!("\n- REST 3.0: `{v3}`")),
        (None, _) => {}
    }
    if let Some(note) = &m.deprecated {
        text.push_str(&format!("\n- Deprecated by the docs: {}", note.trim()));
    }
    if let Some(twin) = twin(ctx, m) {
        text.push_str(&if m.v3_only {
            format!(
                "\n- v2 has this method with other params and answer: [`{twin}`] (for a portal \
                 without it on REST 3.0)"
            )
        } else {
            format!("\n- The v2 form; [`{twin}`] is the REST 3.0 form, the one to use by default")
        });
    }
    let args = m
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| ctx.example_value(&p.ty, false))
        .collect::<Vec<_>>()
        .join(", ");
    text.push_str(&format!(
        "\n\n# Example\n\n```no_run\n\
         # async fn run(client: bitrix24::Client) -> Result<(), bitrix24::Error> {{\n\
         use bitrix24::packs::{}::{sname};\n\n\
         let result = client.send(&{sname}::new({args})).await?;\n\
         # let _ = result;\n# Ok(()) }}\n```",
        ctx.module
    ));
    doc(&text)
}

pub(super) fn emit_method(ctx: &Ctx<'_>, m: &MethodSpec) -> TokenStream {
    let sname = m.struct_name();
    let st = format_ident!("{sname}");
    let d = method_doc(ctx, m, &sname);

    // Private fields: required ones set by new(), optional ones by setters, so a parameter
    // added to a spec never breaks code that built the request.
    let mut fields = TokenStream::new();
    let mut new_args = Vec::new();
    let mut new_inits = Vec::new();
    let mut setters = TokenStream::new();
    // `(wire name, member)` in the wire order, for `crate::ser::write`.
    let mut members = Vec::new();
    // Fields (and so the wire order) by name; `new` takes the required ones in the spec's order,
    // which is the docs' order (the id before the fields of an update).
    let mut by_name: Vec<_> = m.params.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    for p in m.params.iter().filter(|p| p.required) {
        let fid = ident(&naming::field_ident(&p.name));
        let (_, arg_ty, _) = param_conversion(ctx, p, &quote!(#fid));
        new_args.push(quote!(#fid: #arg_ty));
    }
    for p in by_name {
        let fname = naming::field_ident(&p.name);
        let fid = ident(&fname);
        let wire = lit(&p.name);
        let (rty, arg_ty, conv) = param_conversion(ctx, p, &quote!(value));
        let pdoc = match &p.doc {
            Some(x) if !x.trim().is_empty() => format!("`{}` (`{}`): {}", p.name, p.ty, x.trim()),
            _ => format!("`{}` (`{}`).", p.name, p.ty),
        };
        let fd = doc(&pdoc);
        members.push(match (&p.ty, p.required) {
            (Ty::Flag, true) => quote!((#wire, &crate::ser::YesNoRequired(&self.#fid))),
            (Ty::Flag, false) => quote!((#wire, &crate::ser::YesNo(&self.#fid))),
            (_, true) => quote!((#wire, &crate::ser::Always(&self.#fid))),
            (_, false) => quote!((#wire, &self.#fid)),
        });
        if p.required {
            fields.extend(quote! {
                #fd
                #fid: #rty,
            });
            let (_, _, conv) = param_conversion(ctx, p, &quote!(#fid));
            // Scalars are taken as they are: `Self { id }`, not `Self { id: id }`.
            if conv.to_string() == quote!(#fid).to_string() {
                new_inits.push(quote!(#fid));
            } else {
                new_inits.push(quote!(#fid: #conv));
            }
        } else {
            fields.extend(quote! {
                #fd
                #fid: Option<#rty>,
            });
            new_inits.push(quote!(#fid: None));
            let setter = if fname == "new" {
                format_ident!("new_")
            } else {
                fid.clone()
            };
            let sd = doc(&format!("Sets {pdoc}"));
            let allow = super::ctx::setter_allow(&setter.to_string());
            setters.extend(quote! {
                #sd
                #allow
                pub fn #setter(mut self, value: #arg_ty) -> Self {
                    self.#fid = Some(#conv);
                    self
                }
            });
        }
    }
    let required: Vec<_> = m.params.iter().filter(|p| p.required).collect();
    let derive_default = if required.is_empty() {
        quote!(Default,)
    } else {
        TokenStream::new()
    };
    let new_doc = if required.is_empty() {
        doc("A request with no parameters set.")
    } else {
        doc(&format!(
            "A request with its required parameters: {}.",
            required
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };

    let response_ty = response_ty(ctx, &m.response, &sname);
    let decode = if lenient_response(&m.response) {
        quote! {
            fn decode_response<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self::Response, D::Error> {
                crate::lenient::required(deserializer)
            }
        }
    } else {
        TokenStream::new()
    };
    let extra_items = wrapped_response(ctx, m, &sname);
    let name = lit(&m.name);
    let risk = risk_tokens(m.risk);
    let idem = m.idempotent;
    let scope_lits: Vec<Literal> = m.scopes.iter().map(|s| lit(s)).collect();
    let v3 = match &m.v3 {
        Some(v) => {
            let v = lit(v);
            let only = m.v3_only.then(|| {
                quote!(
                    const V3_ONLY: bool = true;
                )
            });
            quote!(const V3_NAME: Option<&'static str> = Some(#v); #only)
        }
        None => TokenStream::new(),
    };
    let list_impl = list_impl(ctx, m, &st);
    // A deprecated method warns where users name it; its own impls and tests do not.
    let (deprecated, allow) = match &m.deprecated {
        Some(note) => {
            let note = lit(note.trim());
            (
                quote!(#[deprecated(note = #note)]),
                quote!(#[allow(deprecated)]),
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    let list_impl = if list_impl.is_empty() {
        list_impl
    } else {
        quote!(#allow #list_impl)
    };

    quote! {
        #d
        #deprecated
        #[derive(Debug, Clone, #derive_default PartialEq)]
        #[must_use]
        pub struct #st {
            #fields
        }
        #allow
        impl ::serde::Serialize for #st {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::ser::write(serializer, &[#(#members),*], None)
            }
        }
        #allow
        impl #st {
            #new_doc
            pub fn new(#(#new_args),*) -> Self {
                Self { #(#new_inits),* }
            }
            #setters
        }
        #allow
        impl crate::Method for #st {
            const NAME: &'static str = #name;
            const RISK: crate::Risk = #risk;
            const IDEMPOTENT: bool = #idem;
            const SCOPES: &'static [&'static str] = &[#(#scope_lits),*];
            #v3
            type Response = #response_ty;
            #decode
        }
        #list_impl
        #extra_items
    }
}

/// `impl ListMethod` of a paginated method (rows are entities, enums or values: validated).
pub(super) fn list_impl(ctx: &Ctx<'_>, m: &MethodSpec, st: &Ident) -> TokenStream {
    if m.pagination == Pagination::None {
        return TokenStream::new();
    }
    let Some(item) = m.response.list_item() else {
        return TokenStream::new();
    };
    let item_ty = ctx.rust_ty(item);
    let wrapper = match m.response.wrapper() {
        Some(k) => {
            let k = lit(k);
            quote!(const WRAPPER: Option<&'static str> = Some(#k);)
        }
        None => TokenStream::new(),
    };
    let entity = match item {
        Ty::Entity(n) => ctx.find_entity(n),
        _ => None,
    };
    let keyset = match (m.pagination, entity.and_then(EntitySpec::id_field)) {
        (Pagination::Keyset, Some(f)) => {
            // Legacy UPPER entities page by `ID`, camelCase ones by `id`: the id's wire name,
            // unless the spec names another request field (`keyset_field`).
            let field = lit(&f.name);
            let request = lit(m.keyset_field.as_deref().unwrap_or(&f.name));
            quote! {
                const KEYSET: Option<crate::Keyset> = Some(crate::Keyset {
                    request_field: #request,
                    response_field: #field,
                });
            }
        }
        _ => TokenStream::new(),
    };
    let v3_paging = match (m.v3_only, m.pagination) {
        (true, Pagination::Cursor) => {
            quote!(
                const V3_PAGING: Option<crate::V3Paging> = Some(crate::V3Paging::Cursor);
            )
        }
        (true, _) => quote!(
            const V3_PAGING: Option<crate::V3Paging> = Some(crate::V3Paging::Page);
        ),
        (false, _) => TokenStream::new(),
    };
    let item_id = match entity.and_then(EntitySpec::id_field) {
        Some(f) => {
            let fid = ident(&naming::field_ident(&f.name));
            id_conversion(&f.ty, &quote!(item.#fid))
        }
        None => quote! {
            let _ = item;
            None
        },
    };
    quote! {
        impl crate::ListMethod for #st {
            type Item = #item_ty;
            #wrapper
            #keyset
            #v3_paging
            fn item_id(item: &Self::Item) -> Option<u64> {
                #item_id
            }
        }
    }
}
