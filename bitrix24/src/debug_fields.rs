//! `Debug` for the types that show only some of their fields: handles, stores, closures and
//! bulky payloads stay out, and the output ends in `..`.

/// `debug_fields!(Type { a, b })`: `impl Debug for Type` listing `a` and `b`, then `..`.
macro_rules! debug_fields {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))+
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_fields;
