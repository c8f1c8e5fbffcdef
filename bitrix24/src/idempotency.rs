//! Whether an untyped call ([`crate::Client::call`], [`crate::Batch::add_raw`]) may be re-sent
//! after an ambiguous failure (a timeout, a lost response, a 5xx).
//!
//! The specs decide for every method they know: [`crate::catalog::METHODS`] holds the
//! `idempotent` flag of every specced method of every pack, enabled as a cargo feature or not.
//! Only a name the specs do not know is guessed from its last segment (`*.get`, `*.list`,
//! `*.fields`, `get*`, ... are reads), and even then a last segment the specs use only for
//! non-idempotent methods (`getExternalLink`, which creates a public link) is never guessed a
//! read. Anything else is never re-sent.

use crate::catalog::{METHODS, method_info};

/// Whether the untyped call `name` is re-sent after an ambiguous failure: the spec's
/// `idempotent` flag when the specs know the method (any pack), otherwise a conservative guess
/// from the name.
pub(crate) fn untyped_idempotent(name: &str) -> bool {
    match method_info(name) {
        Some(m) => m.idempotent,
        None => guess_from_name(name),
    }
}

/// The last dot-separated segment of a method name (the verb: `get`, `list`, `getExternalLink`).
fn verb(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The guess for a name the specs do not know.
fn guess_from_name(name: &str) -> bool {
    let verb = verb(name).to_ascii_lowercase();
    let reads_by_name = matches!(
        verb.as_str(),
        "get"
            | "list"
            | "fields"
            | "current"
            | "search"
            | "count"
            | "tail"
            | "aggregate"
            | "getlist"
    ) || verb.starts_with("get");
    reads_by_name && !specs_use_only_for_writes(&verb)
}

/// Whether the specs have methods ending in `verb` (case-insensitive) and none of them is
/// idempotent: such a verb names a write, whatever it looks like.
fn specs_use_only_for_writes(verb: &str) -> bool {
    let mut uses = METHODS
        .iter()
        .filter(|m| self::verb(m.name).eq_ignore_ascii_case(verb))
        .peekable();
    uses.peek().is_some() && uses.all(|m| !m.idempotent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_specced_method_follows_its_spec() {
        assert!(!METHODS.is_empty());
        let wrong: Vec<String> = METHODS
            .iter()
            .flat_map(|m| [m.name.to_owned(), m.name.to_ascii_uppercase()])
            .filter_map(|name| {
                let spec = method_info(&name).map(|m| m.idempotent);
                (spec != Some(untyped_idempotent(&name))).then(|| {
                    format!(
                        "{name}: spec idempotent {spec:?}, untyped {}",
                        untyped_idempotent(&name)
                    )
                })
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn spec_writes_that_look_like_reads_are_not_re_sent() {
        for name in [
            "disk.file.getExternalLink",
            "disk.folder.getExternalLink",
            "event.offline.get",
            "crm.item.update",
        ] {
            assert!(method_info(name).is_some(), "{name} is specced");
            assert!(!untyped_idempotent(name), "{name}");
        }
        assert!(untyped_idempotent("crm.deal.list"));
        assert!(untyped_idempotent("user.current"));
        assert!(untyped_idempotent("server.time"));
        assert!(!untyped_idempotent("crm.deal.add"));
        assert!(!untyped_idempotent("tasks.task.complete"));
    }

    #[test]
    fn unspecced_names_are_guessed_conservatively() {
        let unspecced = |name: &str| {
            assert!(
                method_info(name).is_none(),
                "{name} is specced: pick another"
            );
            untyped_idempotent(name)
        };
        assert!(unspecced("example.widget.list"));
        assert!(unspecced("example.widget.get"));
        assert!(unspecced("example.widget.getChildren"));
        assert!(unspecced("example.widget.fields"));
        assert!(!unspecced("example.widget.add"));
        assert!(!unspecced("example.widget.update"));
        assert!(!unspecced("example.widget.delete"));
        assert!(!unspecced("example.widget.complete"));
        // A verb the specs use only for writes stays a write on any other method.
        assert!(!unspecced("example.widget.getExternalLink"));
        assert!(!unspecced("EXAMPLE.WIDGET.GETEXTERNALLINK"));
        assert!(!unspecced(""));
    }
}
