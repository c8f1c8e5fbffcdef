//! [`EventName`]: every event name the specs type, across all packs, read from the spec
//! catalog ([`crate::catalog::PACKS`]), so there is no second list to drift.

use std::fmt;

use crate::catalog::PACKS;

/// An event name as the portal sends it (`ONCRMDEALADD`), resolved against the specs of every
/// pack (enabled or not).
///
/// Parsing is case-insensitive and never fails: a name no spec lists is
/// [`EventName::Unknown`]. The per-pack generated enums (`packs::core::Event`, ...) type the
/// same names for `event.bind`; this type is their union, for handlers that receive any of
/// them.
///
/// ```
/// use bitrix24::events::EventName;
/// let name = EventName::parse("onCrmDealAdd");
/// assert_eq!(name.as_str(), "ONCRMDEALADD");
/// assert_eq!(name.pack(), Some("core"));
/// assert!(EventName::parse("ONSOMETHINGNEW").is_unknown());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventName {
    /// A name one of the packs' specs lists.
    Known {
        /// The name, upper-case, as the spec spells it.
        name: &'static str,
        /// The pack whose spec lists it.
        pack: &'static str,
    },
    /// A name no spec lists, upper-cased as the portal sends names.
    Unknown(String),
}

impl EventName {
    /// Resolves a name (case-insensitive, surrounding spaces ignored).
    pub fn parse(name: &str) -> Self {
        let trimmed = name.trim();
        for pack in PACKS {
            if let Some(known) = pack.events.iter().find(|e| e.eq_ignore_ascii_case(trimmed)) {
                return EventName::Known {
                    name: known,
                    pack: pack.name,
                };
            }
        }
        EventName::Unknown(trimmed.to_ascii_uppercase())
    }

    /// The name, upper-case.
    pub fn as_str(&self) -> &str {
        match self {
            EventName::Known { name, .. } => name,
            EventName::Unknown(name) => name,
        }
    }

    /// The pack whose spec lists it, if any.
    pub fn pack(&self) -> Option<&'static str> {
        match self {
            EventName::Known { pack, .. } => Some(pack),
            EventName::Unknown(_) => None,
        }
    }

    /// Whether no spec lists this name.
    pub fn is_unknown(&self) -> bool {
        matches!(self, EventName::Unknown(_))
    }

    /// Every event name the specs list, with its pack.
    pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
        PACKS
            .iter()
            .flat_map(|p| p.events.iter().map(move |e| (*e, p.name)))
    }
}

impl fmt::Debug for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventName({})", self.as_str())
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_core_event_resolves() {
        for name in crate::packs::core::Event::ALL {
            let parsed = EventName::parse(name);
            assert_eq!(parsed.as_str(), *name);
            assert_eq!(parsed.pack(), Some("core"));
        }
        assert!(EventName::all().count() >= crate::packs::core::Event::ALL.len());
        assert_eq!(
            EventName::parse(" onimbotmessageadd ").pack(),
            Some("comms")
        );
    }
}
