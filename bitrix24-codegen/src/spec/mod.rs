//! The spec model: what one `specs/<pack>.toml` says ([`Spec`]), parsing it ([`parse_spec`]) and
//! checking a set of them ([`validate`], [`load_dir`]): the rules of `specs/README.md`.

mod lint;
mod model;
mod parse;
mod types;
mod validate;

pub use lint::{is_untyped, lint, lint_deprecated};
pub use model::{
    EntitySpec, EnumSpec, FieldSpec, MethodSpec, PACKS, ParamSpec, Spec, SpecError, SpecErrors,
    docs_url,
};
pub use parse::{check_docs_path, parse_spec};
pub use types::{Pagination, Ref, Response, Risk, Ty};
pub use validate::{Index, load_dir, validate};
