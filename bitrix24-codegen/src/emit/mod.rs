//! Rust emission: specs -> token streams -> pretty-printed files.
//!
//! The output is `include!`d inside the `bitrix24` crate, so every path is `crate::...` (the
//! client items), `::serde`/`::serde_json`/`::std` (dependencies), or local to the module.

mod convert;
mod ctx;
mod entity_api;
mod events;
mod method;
mod print;
mod samples;
mod table;
mod types;

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::naming;
use crate::spec::{Index, Pagination, Ref, Response, Spec};

pub use samples::SAMPLE_UNKNOWN_FIELD;

use ctx::{Ctx, doc, ident, lit, pretty};
use events::emit_events;
use method::emit_method;
use samples::entity_sample;
use table::{catalog_file, risk_file};
use types::{emit_entity, emit_enum};

/// One generated source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name inside the output directory (`core.rs`, `packs.rs`, `catalog.rs`).
    pub name: String,
    /// Its contents, starting with the `@generated` marker.
    pub contents: String,
}

/// The folder under `OUT_DIR` that holds the generated files.
pub const OUT_SUBDIR: &str = "bitrix24-generated";

/// Types that must live in `packs::shared`: referenced from a pack other than their owner, plus
/// everything those reference.
pub fn shared_types(specs: &[Spec], idx: &Index) -> BTreeSet<Ref> {
    let mut shared = BTreeSet::new();
    for s in specs {
        for r in spec_refs(s) {
            if idx.owner(&r).is_some_and(|o| o != s.pack) {
                shared.insert(r);
            }
        }
    }
    close_over_fields(specs, shared)
}

fn close_over_fields(specs: &[Spec], mut set: BTreeSet<Ref>) -> BTreeSet<Ref> {
    loop {
        let mut added = Vec::new();
        for r in &set {
            if let Ref::Entity(n) = r
                && let Some(e) = specs.iter().find_map(|s| s.entities.get(n))
            {
                let mut refs = Vec::new();
                for f in &e.fields {
                    f.ty.refs(&mut refs);
                }
                added.extend(refs.into_iter().filter(|r| !set.contains(r)));
            }
        }
        if added.is_empty() {
            return set;
        }
        set.extend(added);
    }
}

fn spec_refs(s: &Spec) -> Vec<Ref> {
    let mut refs = Vec::new();
    for e in s.entities.values() {
        for f in &e.fields {
            f.ty.refs(&mut refs);
        }
    }
    for m in s.all_methods() {
        for p in &m.params {
            p.ty.refs(&mut refs);
        }
        match &m.response {
            Response::Plain(t)
            | Response::List(t)
            | Response::Wrapped(_, t)
            | Response::WrappedList(_, t)
            | Response::Map(t) => t.refs(&mut refs),
        }
    }
    refs
}

/// Generates the files for the `enabled` packs (names from [`crate::PACKS`]); the catalog covers every
/// spec. `specs` must have passed [`crate::spec::validate`].
pub fn generate(specs: &[Spec], enabled: &[&str]) -> Vec<GeneratedFile> {
    let idx = Index::new(specs);
    let shared_all = shared_types(specs, &idx);
    let enabled_specs: Vec<&Spec> = specs
        .iter()
        .filter(|s| enabled.contains(&s.pack.as_str()))
        .collect();

    // Shared types needed by the enabled packs.
    let mut needed = BTreeSet::new();
    for s in &enabled_specs {
        for r in spec_refs(s) {
            if shared_all.contains(&r) {
                needed.insert(r);
            }
        }
        for n in s.entities.keys() {
            let r = Ref::Entity(n.clone());
            if shared_all.contains(&r) {
                needed.insert(r);
            }
        }
        for n in s.enums.keys() {
            let r = Ref::Enum(n.clone());
            if shared_all.contains(&r) {
                needed.insert(r);
            }
        }
    }
    let needed = close_over_fields(specs, needed);

    let mut files = Vec::new();
    files.push(GeneratedFile {
        name: "packs.rs".into(),
        contents: packs_file(&enabled_specs, !needed.is_empty()),
    });
    for s in &enabled_specs {
        let ctx = Ctx {
            idx: &idx,
            shared: &shared_all,
            module: &s.pack,
            specs,
        };
        files.push(GeneratedFile {
            name: format!("{}.rs", s.pack),
            contents: pack_file(&ctx, s, &needed),
        });
    }
    if !needed.is_empty() {
        let ctx = Ctx {
            idx: &idx,
            shared: &shared_all,
            module: "shared",
            specs,
        };
        files.push(GeneratedFile {
            name: "shared.rs".into(),
            contents: shared_file(&ctx, &needed),
        });
    }
    files.push(GeneratedFile {
        name: "catalog.rs".into(),
        contents: catalog_file(specs),
    });
    files.push(GeneratedFile {
        name: "risk.rs".into(),
        contents: risk_file(),
    });
    files
}

fn packs_file(enabled: &[&Spec], shared: bool) -> String {
    let mut items = TokenStream::new();
    for s in enabled {
        let m = ident(&s.pack);
        let feature = lit(&s.pack);
        let path = lit(&format!("/{OUT_SUBDIR}/{}.rs", s.pack));
        let mut text = format!(
            "{}\n\nGenerated from `specs/{}.toml`: {} methods, {} entities, {} enums, {} events. \
             Enable with the `{}` feature.",
            s.summary.trim(),
            s.pack,
            s.all_methods().count(),
            s.entities.len(),
            s.enums.len(),
            s.events.len(),
            s.pack
        );
        if !s.terms.is_empty() {
            text.push_str(&format!("\n\nTerms: {}.", s.terms.join(", ")));
        }
        let d = doc(&text);
        items.extend(quote! {
            #d
            #[cfg(feature = #feature)]
            #[cfg_attr(docsrs, doc(cfg(feature = #feature)))]
            pub mod #m {
                include!(concat!(env!("OUT_DIR"), #path));
            }
        });
    }
    if shared {
        let path = lit(&format!("/{OUT_SUBDIR}/shared.rs"));
        items.extend(quote! {
            /// Entities and enums that more than one pack uses (each owner pack re-exports its own).
            pub mod shared {
                include!(concat!(env!("OUT_DIR"), #path));
            }
        });
    }
    pretty("specs/*.toml", &items)
}

fn shared_file(ctx: &Ctx<'_>, needed: &BTreeSet<Ref>) -> String {
    let mut items = TokenStream::new();
    for r in needed {
        match r {
            Ref::Enum(n) => {
                if let Some(e) = ctx.find_enum(n) {
                    items.extend(emit_enum(n, e));
                }
            }
            Ref::Entity(n) => {
                if let Some(e) = ctx.find_entity(n) {
                    items.extend(emit_entity(ctx, n, e));
                }
            }
        }
    }
    let owners: BTreeSet<&str> = needed.iter().filter_map(|r| ctx.idx.owner(r)).collect();
    let files = owners
        .iter()
        .map(|p| format!("specs/{p}.toml"))
        .collect::<Vec<_>>()
        .join(", ");
    pretty(&files, &items)
}

fn pack_file(ctx: &Ctx<'_>, s: &Spec, needed: &BTreeSet<Ref>) -> String {
    let mut items = TokenStream::new();
    // Re-export the shared types this pack owns.
    for r in needed {
        if ctx.idx.owner(r) == Some(s.pack.as_str()) {
            let n = format_ident!("{}", r.name());
            items.extend(quote!(pub use crate::packs::shared::#n;));
        }
    }
    for (n, e) in &s.enums {
        if !ctx.is_shared(&Ref::Enum(n.clone())) {
            items.extend(emit_enum(n, e));
        }
    }
    for (n, e) in &s.entities {
        if !ctx.is_shared(&Ref::Entity(n.clone())) {
            items.extend(emit_entity(ctx, n, e));
        }
    }
    let mut tests = TokenStream::new();
    for (n, e) in &s.entities {
        // Every entity decodes Bitrix24's string-typed values, and keeps unknown fields.
        let path = ctx.abs_path(&Ref::Entity(n.clone()));
        let f = format_ident!("entity_{}_decodes_bitrix_values", naming::field_ident(n));
        let json = lit(&entity_sample(ctx, e, 0).to_string());
        tests.extend(quote! {
            #[test]
            fn #f() {
                crate::lenient::check_entity_sample::<#path>(#json);
            }
        });
    }
    for m in s.all_methods() {
        items.extend(emit_method(ctx, m));
        if let Some(example) = &m.example {
            let st = format_ident!("{}", m.struct_name());
            let prefix = if m.v3_only { "v3_" } else { "" };
            let f = format_ident!("{prefix}{}", naming::method_snake(&m.name));
            let json = lit(example);
            let check = if m.response.list_item().is_some() && m.pagination != Pagination::None {
                quote!(crate::lenient::check_list_example::<super::#st>(#json);)
            } else {
                quote!(crate::lenient::check_example::<super::#st>(#json);)
            };
            tests.extend(quote! {
                #[test]
                fn #f() {
                    #check
                }
            });
        }
    }
    items.extend(emit_events(s));
    if !tests.is_empty() {
        items.extend(quote! {
            /// Every method's documented example response decodes into its typed response.
            #[cfg(test)]
            #[allow(deprecated)]
            mod example_tests {
                #tests
            }
        });
    }
    pretty(&s.file, &items)
}
