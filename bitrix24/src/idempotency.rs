//! Whether an untyped call ([`crate::Client::call`], [`crate::Batch::add_raw`]) may be re-sent
//! after an ambiguous failure (a timeout, a lost response, a 5xx).
//!
//! The specs decide for every method they know: [`crate::catalog::METHODS`] holds the
//! `idempotent` flag of every specced method of every pack, enabled as a cargo feature or not.
//! Only a name the specs do not know is guessed from its last segment (`*.get`, `*.list`,
//! `*.fields`, `get*`, ... are reads), and even then a last segment the specs use only for
//! non-idempotent methods (`getExternalLink`, which creates a public link) is never guessed a
//! read. Anything else is never re-sent.
//!
//! A REST 3.0 write is different: it carries an [`IdempotencyKey`], so a re-send with the same
//! key is answered from the portal's store instead of running twice (api-reference/rest-v3.md,
//! "Repeated calls without duplicates").

use std::fmt;

use crate::catalog::{METHODS, method_info};
use crate::error::Error;

/// A REST 3.0 `Idempotency-Key`: 1 to 255 printable ASCII characters (api-reference/rest-v3.md).
///
/// The client gives every REST 3.0 write (risk `write` or `destructive`) a fresh random key
/// and sends that key on each retry of the call, so a write whose answer was lost is re-sent
/// and answered from the portal's store (`Idempotent-Replayed: true`, see
/// [`crate::Response::replayed`]) instead of running twice. Pass your own key with
/// [`crate::Client::send_with_key`] to repeat a call across restarts (the portal keeps a
/// successful answer 24 hours, scoped to the webhook or app, the user and the method).
///
/// ```
/// use bitrix24::IdempotencyKey;
/// let key = IdempotencyKey::new("order-2041-create-task")?;
/// assert_eq!(key.as_str(), "order-2041-create-task");
/// assert!(IdempotencyKey::new("x".repeat(256)).is_err());
/// assert!(IdempotencyKey::new("line\nbreak").is_err());
/// assert_eq!(IdempotencyKey::random().as_str().len(), 36);
/// # Ok::<(), bitrix24::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key the portal accepts.
    pub const MAX_LEN: usize = 255;

    /// A key from your own text; [`Error::InvalidInput`] when it is empty, longer than 255
    /// characters or holds anything but printable ASCII (space to `~`).
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let problem = if key.is_empty() {
            Some("is empty".to_owned())
        } else if key.len() > Self::MAX_LEN {
            Some(format!(
                "is {} bytes long (at most {})",
                key.len(),
                Self::MAX_LEN
            ))
        } else {
            key.char_indices()
                .find(|(_, c)| !matches!(c, ' '..='~'))
                .map(|(at, c)| format!("holds {c:?} at byte {at} (only printable ASCII)"))
        };
        match problem {
            Some(problem) => Err(Error::invalid("", format!("the Idempotency-Key {problem}"))),
            None => Ok(IdempotencyKey(key)),
        }
    }

    /// A fresh key: 122 random bits in the UUID version 4 form.
    pub fn random() -> Self {
        let bits = (fastrand::u128(..) & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        IdempotencyKey(format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        ))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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
    fn random_keys_are_uuid_v4_and_differ() {
        let a = IdempotencyKey::random();
        let b = IdempotencyKey::random();
        assert_ne!(a, b);
        let s = a.as_str();
        assert_eq!(IdempotencyKey::new(s).unwrap(), a);
        let parts: Vec<usize> = s.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{s}");
        assert_eq!(&s[14..15], "4", "{s}");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
    }

    #[test]
    fn caller_keys_are_checked() {
        assert!(IdempotencyKey::new("k".repeat(255)).is_ok());
        assert!(IdempotencyKey::new("a b~").is_ok());
        for (bad, says) in [
            (String::new(), "is empty"),
            ("k".repeat(256), "256 bytes"),
            ("tab\there".into(), "'\\t' at byte 3"),
            ("ключ".into(), "'к' at byte 0"),
            ("del\u{7f}".into(), "at byte 3"),
        ] {
            let err = IdempotencyKey::new(bad.clone()).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

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
