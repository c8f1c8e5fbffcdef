//! How an entity's field error carries the field's name to the error's JSON path.
//!
//! A generated entity decodes its object into a map first and each named field from it (see
//! `entity::Fields`), so the JSON path tracked while reading the body ends at the entity; the
//! field's name travels at the start of the message instead ("`OPPORTUNITY`: invalid type ..."),
//! and the error builders move it back into the path (`result[3].OPPORTUNITY`).

#[cfg(bitrix24_entities)]
use std::fmt::Display;

/// The error of field `key`: its message starts with the key in backticks.
#[cfg(bitrix24_entities)]
pub(crate) fn field_error<E: serde::de::Error>(key: &str, error: impl Display) -> E {
    E::custom(format_args!("`{key}`: {error}"))
}

/// Moves the field names at the start of `message` (nested entities give several) to the end
/// of `path` (`"."` or `""` is the document), and returns the path and the rest of the message.
pub(crate) fn join_field_path(path: &str, message: &str) -> (String, String) {
    let mut path = match path {
        "." | "?" => String::new(),
        p => p.trim_end_matches(['.', '?']).to_owned(),
    };
    let mut rest = message;
    while let Some((key, tail)) = rest.strip_prefix('`').and_then(|r| r.split_once("`: ")) {
        if key.is_empty() || key.contains(['`', ' ', '.']) {
            break;
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        rest = tail;
    }
    if path.is_empty() {
        path.push('.');
    }
    (path, rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::join_field_path;

    #[test]
    fn field_names_move_into_the_path() {
        let j = |p, m| join_field_path(p, m);
        assert_eq!(
            j("result[3]", "`OPPORTUNITY`: invalid type"),
            ("result[3].OPPORTUNITY".into(), "invalid type".into())
        );
        assert_eq!(
            j("result", "`PHONE`: `VALUE`: expected a string"),
            ("result.PHONE.VALUE".into(), "expected a string".into())
        );
        assert_eq!(j(".", "`ID`: bad"), ("ID".into(), "bad".into()));
        assert_eq!(
            j("?", "plain message"),
            (".".into(), "plain message".into())
        );
        // A message that merely starts with code in backticks keeps it.
        assert_eq!(
            j("result", "`a b`: not a key"),
            ("result".into(), "`a b`: not a key".into())
        );
    }
}
