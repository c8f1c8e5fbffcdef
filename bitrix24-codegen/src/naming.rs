//! Rust names derived from wire names (strings in, strings out: no spec types, so the spec
//! model can use these names without an import cycle).

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Splits a wire name into words: at `_`, `-`, `.`, `:`, spaces and other punctuation, at
/// lower-to-upper changes (`entityTypeId`) and before the last capital of an acronym
/// (`HTMLParser` -> `HTML`, `Parser`). Digits stay with the preceding word.
pub fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `snake_case` field or method name for a wire name, escaped when it is a keyword.
pub fn field_ident(wire: &str) -> String {
    let mut s = words(wire)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if s.is_empty() {
        s = "field".into();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("n{s}");
    }
    if matches!(s.as_str(), "self" | "super" | "crate" | "extern") {
        s.push('_');
    }
    s
}

/// Whether the identifier must be written `r#name`.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// `UpperCamelCase` of the words of a name; all-caps words are capitalized (`IN_WORK` -> `InWork`).
pub fn upper_camel(s: &str) -> String {
    let mut out = String::new();
    for w in words(s) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            let rest: String = cs.collect();
            if w.chars().all(|c| !c.is_ascii_lowercase()) {
                out.push_str(&rest.to_ascii_lowercase());
            } else {
                out.push_str(&rest);
            }
        }
    }
    out
}

/// Enum variant for a wire value (`P` -> `P`, `C1:NEW` -> `C1New`, `1` -> `V1`).
pub fn variant_ident(wire: &str) -> String {
    let mut s = if wire.chars().any(|c| !c.is_ascii_alphanumeric()) || wire.len() > 1 {
        upper_camel(wire)
    } else {
        wire.to_ascii_uppercase()
    };
    if s.is_empty() {
        s = "Empty".into();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("V{s}");
    }
    if wire.starts_with('-') {
        s = format!("Minus{s}");
    }
    // `Self` cannot be a variant, not even as a raw identifier; `Unknown` is taken by the
    // catch-all variant.
    if s == "Self" || s == "Unknown" {
        s.push('_');
    }
    s
}

/// The request struct of a method: `rust_name`, or the `UpperCamelCase` of the whole method name
/// (`crm.deal.add` -> `CrmDealAdd`, `telephony.externalCall.register` ->
/// `TelephonyExternalCallRegister`).
pub fn request_struct(method: &str, rust_name: Option<&str>) -> String {
    if let Some(n) = rust_name {
        return n.to_owned();
    }
    let mut out = String::new();
    for seg in method.split(['.', '_']) {
        let mut cs = seg.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    out
}

/// The `Event` variant of an event: the `UpperCamelCase` of its docs page's file name when the
/// spec names the page (`on-crm-deal-add.md` -> `OnCrmDealAdd`), else of the name itself when
/// its words can be told apart (`CATALOG.PRODUCT.ON.ADD` -> `CatalogProductOnAdd`, `OnTaskAdd`).
/// `None` for a name that runs its words together in one case (`ONCRMDEALADD` without a page).
pub fn event_variant(name: &str, docs: Option<&str>) -> Option<String> {
    let source = match docs {
        Some(d) => page_stem(d),
        None => {
            let separated = name.contains(['.', '_', '-']);
            let mixed_case = name.chars().any(|c| c.is_ascii_lowercase())
                && name.chars().any(|c| c.is_ascii_uppercase());
            if !separated && !mixed_case {
                return None;
            }
            name
        }
    };
    let v = upper_camel(source);
    v.starts_with(|c: char| c.is_ascii_alphabetic())
        .then_some(v)
}

/// Whether a docs page's file name spells the event name (letters and digits compared without
/// case: `on-crm-deal-add.md` and `ONCRMDEALADD`).
pub fn page_names_event(docs: &str, name: &str) -> bool {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    letters(page_stem(docs)) == letters(name)
}

/// `crm/deals/events/on-crm-deal-add.md` -> `on-crm-deal-add`.
fn page_stem(docs: &str) -> &str {
    let file = docs.rsplit('/').next().unwrap_or(docs);
    file.strip_suffix(".md").unwrap_or(file)
}

/// The variant of an enum value: the `UpperCamelCase` of its label (`"In progress"` ->
/// `InProgress`), or of the wire value when the label gives no name that starts with a letter
/// ([`variant_ident`]).
pub fn enum_variant(wire: &str, label: &str) -> String {
    let mut v = upper_camel(label);
    if !v.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return variant_ident(wire);
    }
    if v == "Self" || v == "Unknown" {
        v.push('_');
    }
    v
}

/// A test function name for a method (`crm.deal.add` -> `crm_deal_add`).
pub fn method_snake(name: &str) -> String {
    field_ident(&name.replace('.', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake() {
        for (wire, rust) in [
            ("entityTypeId", "entity_type_id"),
            ("ID", "id"),
            ("UF_CRM_1", "uf_crm_1"),
            ("ufCrm5_Budget", "uf_crm5_budget"),
            ("ASSIGNED_BY_ID", "assigned_by_id"),
            ("HTMLText", "html_text"),
            ("type", "type"),
            ("self", "self_"),
            ("1C", "n1_c"),
        ] {
            assert_eq!(field_ident(wire), rust, "{wire}");
        }
        assert!(is_keyword("type"));
    }

    #[test]
    fn variants() {
        for (wire, rust) in [
            ("P", "P"),
            ("C1:NEW", "C1New"),
            ("1", "V1"),
            ("IN_PROGRESS", "InProgress"),
            ("inProgress", "InProgress"),
            ("-1", "MinusV1"),
        ] {
            assert_eq!(variant_ident(wire), rust, "{wire}");
        }
        for (wire, label, rust) in [
            ("P", "In progress", "InProgress"),
            ("0", "Low", "Low"),
            ("1", "", "V1"),
            ("X", "2nd line", "X"),
            ("U", "Unknown", "Unknown_"),
        ] {
            assert_eq!(enum_variant(wire, label), rust, "{wire} {label}");
        }
    }

    #[test]
    fn events() {
        let page = "crm/deals/events/on-crm-deal-add.md";
        assert_eq!(
            event_variant("ONCRMDEALADD", Some(page)).as_deref(),
            Some("OnCrmDealAdd")
        );
        assert!(page_names_event(page, "ONCRMDEALADD"));
        assert!(!page_names_event(page, "ONCRMDEALUPDATE"));
        assert_eq!(event_variant("ONCRMDEALADD", None), None);
        assert_eq!(
            event_variant("CATALOG.PRODUCT.ON.ADD", None).as_deref(),
            Some("CatalogProductOnAdd")
        );
        assert_eq!(
            event_variant("OnTaskAdd", None).as_deref(),
            Some("OnTaskAdd")
        );
    }
}
