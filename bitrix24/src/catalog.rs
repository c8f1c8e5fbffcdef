//! Method metadata from the specs: risk, scopes, pack, docs; least-privilege scopes; the term
//! map.

use crate::Risk;

/// What the specs say about one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The v2 method name (`crm.deal.add`).
    pub name: &'static str,
    /// The pack (cargo feature) that types it.
    pub pack: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Guardrail risk class.
    pub risk: Risk,
    /// Scopes any one of which allows the call (empty for global methods).
    pub scopes: &'static [&'static str],
    /// The parameters the specs list (wire name, type, whether required), in the specs' order.
    pub params: &'static [ParamInfo],
    /// Whether re-sending has the same effect as sending once.
    pub idempotent: bool,
    /// The official docs page.
    pub docs: &'static str,
    /// The REST 3.0 name, when the method exists there with the same shape.
    pub v3: Option<&'static str>,
    /// Whether the method is paginated (implements `ListMethod`).
    pub paginated: bool,
    /// The shape of `result`, in the specs' notation (`id`, `list:Deal`, `entity:User`,
    /// `wrapped:task:Task`, ...).
    pub response: &'static str,
}

impl MethodInfo {
    /// The parameter `name` (exact spelling), if the specs list it.
    pub fn param(&self, name: &str) -> Option<&'static ParamInfo> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// What the specs say about one parameter of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The wire name, as the portal spells it (`id`, `fields`, `FILTER`).
    pub name: &'static str,
    /// The type in the specs' notation (`string`, `int`, `id`, `bool`, `object`,
    /// `list<string>`, `entity:DealFields`, ...).
    pub ty: &'static str,
    /// Whether the method needs it.
    pub required: bool,
    /// One line from the docs (may be empty).
    pub doc: &'static str,
}

/// What the specs say about one pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackInfo {
    /// Pack name, equal to its cargo feature.
    pub name: &'static str,
    /// One-line summary (empty when the pack has no spec yet).
    pub summary: &'static str,
    /// Whether the feature is enabled in this build (its typed module exists).
    pub enabled: bool,
    /// What users say -> this pack.
    pub terms: &'static [&'static str],
    /// The event names the pack types.
    pub events: &'static [&'static str],
    /// Number of specced methods.
    pub methods: usize,
}

include!(concat!(env!("OUT_DIR"), "/bitrix24-generated/catalog.rs"));

/// The metadata of a method, by its v2 name (every specced pack, enabled or not).
///
/// ```
/// // `batch` is specced in the `core` pack.
/// if let Some(info) = bitrix24::catalog::method_info("batch") {
///     assert_eq!(info.risk, bitrix24::Risk::Mixed);
/// }
/// assert!(bitrix24::catalog::method_info("no.such.method").is_none());
/// ```
pub fn method_info(name: &str) -> Option<&'static MethodInfo> {
    // The portal lower-cases method names, so `disk.storage.getlist` is `getList` too.
    METHODS
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METHODS[i])
        .or_else(|| METHODS.iter().find(|m| m.name.eq_ignore_ascii_case(name)))
}

/// The spec entry of `name` (exact spelling), at compile time: what the hand-written
/// `Method` impls take their `NAME`, `RISK`, `IDEMPOTENT` and `SCOPES` from (through
/// `from_spec!`), so they cannot drift from the specs. Used only in constants: a name the
/// specs do not know fails the build, never a running program.
pub(crate) const fn spec_entry(name: &str) -> &'static MethodInfo {
    let mut i = 0;
    while i < METHODS.len() {
        if same_name(METHODS[i].name, name) {
            return &METHODS[i];
        }
        i += 1;
    }
    panic!("a hand-written method is not in specs/*.toml")
}

/// `a == b` for `const` code.
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The information of one pack.
pub fn pack_info(name: &str) -> Option<&'static PackInfo> {
    PACKS.iter().find(|p| p.name == name)
}

/// The smallest set of scopes (sorted) that allows every given method: scopes a method
/// needs alone first, then, greedily, the scope that covers the most remaining methods.
/// Global methods need none; names the specs do not know are skipped (check them with
/// [`method_info`]).
pub fn least_privilege_scopes<'a, I>(methods: I) -> Vec<&'static str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut need: Vec<&'static [&'static str]> = methods
        .into_iter()
        .filter_map(method_info)
        .map(|m| m.scopes)
        .filter(|s| !s.is_empty())
        .collect();
    let mut chosen: Vec<&'static str> = Vec::new();
    while !need.is_empty() {
        let mut best: Option<(&'static str, usize)> = None;
        for s in need.iter().flat_map(|alts| alts.iter()) {
            let covered = need.iter().filter(|alts| alts.contains(s)).count();
            let single = need.iter().any(|alts| alts.len() == 1 && alts[0] == *s);
            let score = if single { usize::MAX } else { covered };
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((s, score));
            }
        }
        let Some((scope, _)) = best else { break };
        chosen.push(scope);
        need.retain(|alts| !alts.contains(&scope));
    }
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// The pack (cargo feature) for what a user says: `"open lines"` -> `comms`. Case-insensitive;
/// a trailing plural `s` is optional.
pub fn pack_for_term(term: &str) -> Option<&'static str> {
    let t = term.trim().to_lowercase();
    let find = |t: &str| {
        TERMS
            .binary_search_by(|(k, _)| (*k).cmp(t))
            .ok()
            .map(|i| TERMS[i].1)
    };
    find(&t)
        .or_else(|| t.strip_suffix('s').and_then(find))
        .or_else(|| find(&format!("{t}s")))
}

/// The `Method` constants `NAME`, `RISK`, `IDEMPOTENT` and `SCOPES` of a hand-written method,
/// taken from its entry in the specs (the generated catalog): `from_spec!("crm.item.update");`
/// inside `impl Method for ...`. Whether a call is re-sent therefore always follows the spec.
macro_rules! from_spec {
    ($name:literal) => {
        const NAME: &'static str = $crate::catalog::spec_entry($name).name;
        const RISK: $crate::Risk = $crate::catalog::spec_entry($name).risk;
        const IDEMPOTENT: bool = $crate::catalog::spec_entry($name).idempotent;
        const SCOPES: &'static [&'static str] = $crate::catalog::spec_entry($name).scopes;
    };
}
pub(crate) use from_spec;
