//! The guardrail risk classes: their one definition. Specs spell them (`risk = "write"`),
//! `bitrix24::Risk` is generated from this table (`risk.rs` of the build output, see
//! [`crate::emit`]), and `#[derive(Method)]` of `bitrix24-macros` parses `risk = "..."` with
//! [`Risk::parse`].

/// Guardrail risk class of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Risk {
    /// `read`
    Read,
    /// `write`
    Write,
    /// `destructive`
    Destructive,
    /// `mixed`
    Mixed,
}

/// One row of the table: the class, its spelling, its Rust variant, its rustdoc and the short
/// note the method docs show.
struct Class {
    risk: Risk,
    name: &'static str,
    variant: &'static str,
    doc: &'static str,
    note: &'static str,
}

const CLASSES: [Class; 4] = [
    Class {
        risk: Risk::Read,
        name: "read",
        variant: "Read",
        doc: "Reads data; never changes the portal.",
        note: "never changes the portal",
    },
    Class {
        risk: Risk::Write,
        name: "write",
        variant: "Write",
        doc: "Creates or changes data.",
        note: "creates or changes data",
    },
    Class {
        risk: Risk::Destructive,
        name: "destructive",
        variant: "Destructive",
        doc: "Deletes data or stops processes; cannot be undone.",
        note: "deletes data or stops processes; cannot be undone",
    },
    Class {
        risk: Risk::Mixed,
        name: "mixed",
        variant: "Mixed",
        doc: "A container of other calls (`batch`): as risky as its strictest command.",
        note: "as risky as its strictest command",
    },
];

impl Risk {
    /// Every class, in declaration (and `Ord`) order.
    pub const ALL: [Risk; 4] = [Risk::Read, Risk::Write, Risk::Destructive, Risk::Mixed];

    fn class(self) -> &'static Class {
        match self {
            Risk::Read => &CLASSES[0],
            Risk::Write => &CLASSES[1],
            Risk::Destructive => &CLASSES[2],
            Risk::Mixed => &CLASSES[3],
        }
    }

    /// The spec spelling (`read`, `write`, `destructive`, `mixed`).
    pub fn as_str(self) -> &'static str {
        self.class().name
    }

    /// The class of a spec spelling.
    pub fn parse(name: &str) -> Option<Risk> {
        CLASSES.iter().find(|c| c.name == name).map(|c| c.risk)
    }

    /// The variant of `bitrix24::Risk` (`Read`, ...).
    pub fn variant(self) -> &'static str {
        self.class().variant
    }

    /// The rustdoc of the variant.
    pub fn doc(self) -> &'static str {
        self.class().doc
    }

    /// What the class means, in a few words (for method docs).
    pub fn note(self) -> &'static str {
        self.class().note
    }

    /// Whether a method of this class is idempotent when its spec does not say.
    pub fn default_idempotent(self) -> bool {
        self == Risk::Read
    }

    /// The spellings joined for a message: `read, write, destructive or mixed`, each written
    /// through `quote` (`"read"`, or `read` for none).
    pub fn spellings(quote: &str) -> String {
        let names: Vec<String> = Risk::ALL
            .iter()
            .map(|r| format!("{quote}{}{quote}", r.as_str()))
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order() {
        for (i, r) in Risk::ALL.iter().enumerate() {
            assert_eq!(CLASSES[i].risk, *r);
            assert_eq!(Risk::parse(r.as_str()), Some(*r));
            assert_eq!(format!("{r:?}"), r.variant());
        }
        assert_eq!(Risk::parse("safe"), None);
        assert_eq!(
            Risk::spellings("\""),
            "\"read\", \"write\", \"destructive\" or \"mixed\""
        );
    }
}
