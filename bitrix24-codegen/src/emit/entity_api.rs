//! What every entity gets besides its fields: `new()` and one builder setter per field, field
//! name constants (`Deal::TITLE`), user fields without a trait (`set_uf`, `uf`), `From<Map>` and
//! `TryFrom<Value>` for untyped data, and, for the rows of a filtered list method, a typed filter
//! (`Deal::filter().title().starts_with("x")`: a method of `crate::filter::Filter<Deal>` per field).

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
        let allow = super::ctx::setter_allow(&setter.to_string());
        setters.extend(quote! {
            #sd
            #allow
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
                <Self as Default>::default()
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
        methods.extend(field_conditions(ctx, ty, f, legacy));
    }
    let fd = doc(&format!(
        "A typed filter over the fields of `{ty}` (`{ty}::filter().id().gt(10)`), for the `filter` \
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

/// The method of `Filter<Entity>` that gives one field's conditions
/// (`Lead::filter().title().starts_with("bulk")`): a handle of `crate::filter` by the field's
/// type. Lists, objects and entities have none (use `Filter::op`).
fn field_conditions(ctx: &Ctx<'_>, ty: &Ident, f: &FieldSpec, legacy: bool) -> TokenStream {
    let wire = lit(&f.name);
    let rty = ctx.rust_ty(&f.ty);
    let yes_no = legacy || f.ty == Ty::Flag;
    let (handle, make, ops) = match &f.ty {
        Ty::Int | Ty::Id => (
            quote!(crate::filter::Number<#ty, #rty>),
            quote!(crate::filter::Number::on(self, #wire)),
            "`eq`, `ne`, `one_of`, `none_of`, `gt`, `ge`, `lt`, `le`",
        ),
        Ty::Float | Ty::Decimal | Ty::Date | Ty::Datetime => (
            quote!(crate::filter::Range<#ty, #rty>),
            quote!(crate::filter::Range::on(self, #wire)),
            "`eq`, `ne`, `gt`, `ge`, `lt`, `le`",
        ),
        Ty::String => (
            quote!(crate::filter::Text<#ty>),
            quote!(crate::filter::Text::on(self, #wire)),
            "`eq`, `ne`, `one_of`, `none_of`, `contains`, `starts_with`, `ends_with`, `like`",
        ),
        Ty::Enum(_) => (
            quote!(crate::filter::Choice<#ty, #rty>),
            quote!(crate::filter::Choice::on(self, #wire)),
            "`eq`, `ne`, `one_of`, `none_of`",
        ),
        // Legacy entities (and `flag` fields) filter by "Y"/"N", as they write them.
        Ty::Bool | Ty::Flag if yes_no => (
            quote!(crate::filter::YesNo<#ty>),
            quote!(crate::filter::Flag::yes_no(self, #wire)),
            "`eq` (sent as `Y`/`N`)",
        ),
        Ty::Bool => (
            quote!(crate::filter::Flag<#ty>),
            quote!(crate::filter::Flag::on(self, #wire)),
            "`eq`",
        ),
        _ => return TokenStream::new(),
    };
    let m = filter_method_ident(&f.name);
    let d = doc(&format!(
        "`{}` (`{}`): its conditions, {ops}.",
        f.name, f.ty
    ));
    quote! {
        #d
        pub fn #m(self) -> #handle {
            #make
        }
    }
}

/// The method name of a field on `Filter<Entity>`: the field's name, unless `Filter` has a
/// method of that name already.
fn filter_method_ident(name: &str) -> Ident {
    let base = naming::field_ident(name);
    match base.as_str() {
        "new" | "op" | "as_map" | "default" | "clone" | "eq" | "fmt" | "serialize" => {
            format_ident!("{base}_field")
        }
        _ => ident(&base),
    }
}
