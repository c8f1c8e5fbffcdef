//! The docs coverage report: which documented methods the specs have, in which pack, and whether
//! their answer is typed. `references/coverage.md` is [`render`]ed from a [`DocsIndex`] (read from
//! a docs checkout by [`crate::coverage_scan::scan`], or back from the recorded report by
//! [`parse_recorded`]) and the specs, so `check` recomputes it with no docs checkout and fails
//! when the specs no longer match the recorded list ([`check_recorded`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::coverage_scan::{DocMethod, DocsIndex};
use crate::spec::{PACKS, Spec, is_untyped};

/// Where the report lives, relative to the repository root.
pub const REPORT: &str = "references/coverage.md";

/// The pack of methods no spec has yet, by name prefix, where the name's first words are not
/// already specced (the term map's choices, also listed in `specs/README.md`). A longer prefix
/// wins; after this table, a method goes where the specced method sharing the longest prefix is.
pub const PREFIX_PACKS: &[(&str, &str)] = &[
    ("call", "comms"),
    ("ctrigger", "core"),
    ("humanresources", "core"),
    ("humanresourses", "core"),
    ("lists", "content"),
    ("mail", "comms"),
    ("main.eventlog", "diagnostics"),
    ("note", "collab"),
    ("placement", "platform"),
    ("rpa", "automation"),
    ("sale.paysystem", "commerce"),
    ("salescenter", "commerce"),
    ("task", "core"),
    ("userfieldconfig", "platform"),
    ("userfieldtype", "platform"),
    ("vote", "collab"),
    ("voximplant", "comms"),
];

/// Where one documented method stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Specced in `pack`; `typed`, or untyped with (`Some`) or without a reason.
    Specced {
        pack: String,
        typed: bool,
        why: bool,
    },
    /// No spec yet; it belongs in this pack (or nowhere known).
    Missing { pack: Option<String> },
}

impl State {
    fn cell(&self) -> String {
        match self {
            State::Specced {
                pack, typed: true, ..
            } => format!("{pack}, typed"),
            State::Specced {
                pack, why: true, ..
            } => format!("{pack}, value (why given)"),
            State::Specced { pack, .. } => format!("{pack}, value"),
            State::Missing { pack: Some(p) } => format!("missing -> {p}"),
            State::Missing { pack: None } => "missing -> ?".into(),
        }
    }

    fn pack(&self) -> Option<&str> {
        match self {
            State::Specced { pack, .. } => Some(pack),
            State::Missing { pack } => pack.as_deref(),
        }
    }
}

/// Lowercase method name -> (pack, typed, value_why given), over every spec. An event a pack
/// lists (its event pages are method pages of the docs) counts as specced and typed: the pack's
/// `Event` names it.
fn specced(specs: &[Spec]) -> BTreeMap<String, (String, bool, bool)> {
    let mut out = BTreeMap::new();
    for s in specs {
        for m in s.all_methods() {
            // A v3 twin of a v2 method is the same name: the v2 entry (listed first) stands.
            out.entry(m.name.to_ascii_lowercase()).or_insert((
                s.pack.clone(),
                !is_untyped(&m.response),
                m.value_why.is_some(),
            ));
        }
    }
    for s in specs {
        for e in &s.events {
            out.entry(e.to_ascii_lowercase())
                .or_insert((s.pack.clone(), true, false));
        }
    }
    out
}

/// The pack a method that no spec has belongs in (module docs of [`PREFIX_PACKS`]).
fn pack_for_missing(
    name: &str,
    specced: &BTreeMap<String, (String, bool, bool)>,
) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('.').collect();
    let shared = |other: &str| {
        other
            .split('.')
            .zip(&segs)
            .take_while(|(a, b)| a == *b)
            .count()
    };
    if let Some((_, pack)) = PREFIX_PACKS
        .iter()
        .filter(|(p, _)| shared(p) == p.split('.').count())
        .max_by_key(|(p, _)| p.len())
    {
        return Some((*pack).to_owned());
    }
    let best = specced.keys().map(|k| shared(k)).max().unwrap_or(0);
    if best == 0 {
        return None;
    }
    // The most common pack among the closest specced names; the canonical order breaks a tie.
    let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
    for (k, (pack, ..)) in specced {
        if shared(k) == best {
            let order = PACKS.iter().position(|p| p == pack).unwrap_or(usize::MAX);
            *votes.entry(order).or_default() += 1;
        }
    }
    let (order, _) = votes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    PACKS.get(*order).map(|p| (*p).to_owned())
}

/// The page of every method whose spec knowingly differs from it (`docs_differs`) -> (pack,
/// typed, value_why given): such a spec covers its page's method even under another name (the
/// page's title misspells `humanresources.employee.search`).
fn differing_pages(specs: &[Spec]) -> BTreeMap<&str, (String, bool, bool)> {
    let mut out = BTreeMap::new();
    for s in specs {
        for m in s.all_methods().filter(|m| m.docs_differs.is_some()) {
            out.entry(m.docs.as_str()).or_insert((
                s.pack.clone(),
                !is_untyped(&m.response),
                m.value_why.is_some(),
            ));
        }
    }
    out
}

fn states(index: &DocsIndex, specs: &[Spec]) -> Vec<(DocMethod, State)> {
    let sp = specced(specs);
    let differing = differing_pages(specs);
    index
        .methods
        .iter()
        .map(|d| {
            let found = sp
                .get(&d.name.to_ascii_lowercase())
                .or_else(|| differing.get(d.page.as_str()));
            let state = match found {
                Some((pack, typed, why)) => State::Specced {
                    pack: pack.clone(),
                    typed: *typed,
                    why: *why,
                },
                None => State::Missing {
                    pack: pack_for_missing(&d.name, &sp),
                },
            };
            (d.clone(), state)
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    documented: usize,
    deprecated: usize,
    specced: usize,
    typed: usize,
    missing: usize,
}

impl Counts {
    fn add(&mut self, d: &DocMethod, s: &State) {
        if d.deprecated {
            self.deprecated += 1;
        } else {
            self.documented += 1;
        }
        match s {
            State::Specced { typed, .. } => {
                self.specced += 1;
                self.typed += usize::from(*typed);
            }
            State::Missing { .. } if !d.deprecated => self.missing += 1,
            State::Missing { .. } => {}
        }
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            self.documented, self.deprecated, self.specced, self.typed, self.missing
        )
    }
}

const COUNT_HEADER: &str = "| documented | deprecated | specced | typed | missing |\n";

/// The whole report (the contents of [`REPORT`]).
pub fn render(index: &DocsIndex, specs: &[Spec]) -> String {
    let rows = states(index, specs);
    let mut total = Counts::default();
    let mut areas: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut packs: BTreeMap<usize, Counts> = BTreeMap::new();
    for (d, s) in &rows {
        total.add(d, s);
        areas.entry(d.area()).or_default().add(d, s);
        let order = s
            .pack()
            .and_then(|p| PACKS.iter().position(|x| *x == p))
            .unwrap_or(PACKS.len());
        packs.entry(order).or_default().add(d, s);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Docs coverage\n\n<!-- @generated by `cargo run -p bitrix24-codegen -- coverage`: do not \
         edit. -->\n\nThe methods of bitrix24/b24restdocs at commit `{}` against `specs/*.toml`. \
         Regenerate after a spec change with `cargo run -p bitrix24-codegen -- coverage --write` \
         (no docs needed: it reads the method list below); rescan the docs with `--docs <checkout>`. \
         `bitrix24-codegen check` fails when this file no longer matches the specs. What counts as \
         a documented method, and as deprecated: `specs/README.md` (Coverage).\n",
        index.commit
    );
    let pct = |a: usize, b: usize| (a * 100).checked_div(b).unwrap_or(0);
    let current_specced = rows
        .iter()
        .filter(|(d, s)| !d.deprecated && matches!(s, State::Specced { .. }))
        .count();
    let _ = writeln!(
        out,
        "{} current documented methods ({} more marked deprecated); {current_specced} of them \
         specced ({}%); {} specced methods in all answer a typed value.\n",
        total.documented,
        total.deprecated,
        pct(current_specced, total.documented),
        total.typed
    );
    out.push_str("## By docs area\n\n| area ");
    out.push_str(COUNT_HEADER);
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (a, c) in &areas {
        out.push_str(&c.row(&format!("`{a}`")));
    }
    out.push_str(&total.row("**all**"));
    out.push_str("\n## By pack\n\n| pack ");
    out.push_str(COUNT_HEADER);
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (order, c) in &packs {
        let name = PACKS.get(*order).map_or("(no pack)", |p| *p);
        out.push_str(&c.row(&format!("`{name}`")));
    }
    out.push_str(
        "\n## Methods\n\n`spec`: the pack and whether the answer is typed (`value`: untyped), or \
         the pack a missing method belongs in.\n",
    );
    let mut by_area: Vec<&(DocMethod, State)> = rows.iter().collect();
    by_area.sort_by_key(|(d, _)| (d.area().to_owned(), d.name.to_ascii_lowercase()));
    let mut area = "";
    for (d, s) in by_area {
        if d.area() != area {
            area = d.area();
            let _ = write!(
                out,
                "\n### {area}\n\n| method | page | status | spec |\n| --- | --- | --- | --- |\n"
            );
        }
        let status = if d.deprecated {
            "deprecated"
        } else {
            "current"
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {status} | {} |",
            d.name,
            d.page,
            s.cell()
        );
    }
    let known: BTreeSet<String> = index
        .methods
        .iter()
        .map(|d| d.name.to_ascii_lowercase())
        .collect();
    out.push_str(&format!("\n{UNDOCUMENTED}\n\n"));
    let mut any = false;
    let mut listed = BTreeSet::new();
    for s in specs {
        for m in s.all_methods() {
            let name = &m.name;
            if !known.contains(&name.to_ascii_lowercase())
                && listed.insert(name.to_ascii_lowercase())
            {
                if !any {
                    out.push_str("| method | docs | spec |\n| --- | --- | --- |\n");
                }
                any = true;
                let state = State::Specced {
                    pack: s.pack.clone(),
                    typed: !is_untyped(&m.response),
                    why: m.value_why.is_some(),
                };
                let _ = writeln!(out, "| `{name}` | `{}` | {} |", m.docs, state.cell());
            }
        }
    }
    if !any {
        out.push_str("None.\n");
    }
    out
}

/// The heading of the specced methods no docs page names.
const UNDOCUMENTED: &str = "## Specced, not a documented method name";

/// What a recorded report holds: its docs index, and every method's `spec` cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The docs index the report was made from.
    pub index: DocsIndex,
    /// Lowercase method name -> its `spec` cell.
    pub cells: BTreeMap<String, String>,
}

impl Recorded {
    /// The methods the report lists as specced with an untyped answer and no reason: the debt
    /// [`crate::spec::lint`] lets through.
    pub fn untyped_debt(&self) -> BTreeSet<String> {
        self.cells
            .iter()
            .filter(|(_, c)| c.ends_with(", value"))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The (lowercase) names of the methods the docs mark deprecated.
    pub fn deprecated(&self) -> BTreeSet<String> {
        self.index
            .methods
            .iter()
            .filter(|m| m.deprecated)
            .map(|m| m.name.to_ascii_lowercase())
            .collect()
    }
}

/// Reads a report written by [`render`] back.
///
/// # Errors
///
/// When the commit line or the method tables are missing or malformed, naming the line.
pub fn parse_recorded(md: &str) -> Result<Recorded, String> {
    let commit = md
        .lines()
        .find_map(|l| {
            let rest = &l[l.find("at commit `")? + "at commit `".len()..];
            Some(rest[..rest.find('`')?].to_owned())
        })
        .ok_or_else(|| format!("{REPORT}: no `at commit` line"))?;
    let mut methods = Vec::new();
    let mut cells = BTreeMap::new();
    let mut in_methods = false;
    let mut in_undocumented = false;
    for (i, line) in md.lines().enumerate() {
        if line.starts_with("## ") {
            in_methods = line == "## Methods";
            in_undocumented = line == UNDOCUMENTED;
            continue;
        }
        if !line.starts_with("| `") {
            continue;
        }
        let c: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if in_undocumented && let [name, _, spec] = c[..] {
            cells.insert(name.trim_matches('`').to_ascii_lowercase(), spec.to_owned());
        }
        if !in_methods {
            continue;
        }
        let bad = || {
            format!(
                "{REPORT}:{}: expected | `method` | `page` | status | spec |",
                i + 1
            )
        };
        let [name, page, status, spec] = c[..] else {
            return Err(bad());
        };
        let name = name.trim_matches('`').to_owned();
        let deprecated = match status {
            "current" => false,
            "deprecated" => true,
            _ => return Err(bad()),
        };
        cells.insert(name.to_ascii_lowercase(), spec.to_owned());
        methods.push(DocMethod {
            name,
            page: page.trim_matches('`').to_owned(),
            deprecated,
        });
    }
    if methods.is_empty() {
        return Err(format!("{REPORT}: no method rows under `## Methods`"));
    }
    methods.sort_by_key(|d| d.name.to_ascii_lowercase());
    Ok(Recorded {
        index: DocsIndex { commit, methods },
        cells,
    })
}

/// Compares the recorded report with the specs: one line per method whose `spec` cell changed
/// (specced now but recorded missing, recorded specced but gone, moved, typed or untyped), plus
/// a line when anything else of the report is out of date. Empty when the report is current.
pub fn check_recorded(recorded_md: &str, specs: &[Spec]) -> Result<Vec<String>, String> {
    let rec = parse_recorded(recorded_md)?;
    let fresh = render(&rec.index, specs);
    if fresh == recorded_md {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (d, s) in states(&rec.index, specs) {
        let now = s.cell();
        let key = d.name.to_ascii_lowercase();
        let was = rec.cells.get(&key).map_or("", String::as_str);
        if was != now {
            let what = match (&s, was.starts_with("missing")) {
                (State::Specced { .. }, true) => "is specced now, but the report lists it missing",
                (State::Missing { .. }, false) => "the report lists it specced, but no spec has it",
                _ => "changed",
            };
            out.push(format!(
                "{REPORT}: `{}` {what} (`{was}` -> `{now}`)",
                d.name
            ));
        }
    }
    if out.is_empty() {
        out.push(format!(
            "{REPORT} is stale (counts or the specced-but-undocumented list differ)"
        ));
    }
    out.push(
        "run `cargo run -p bitrix24-codegen -- coverage --write` and commit the result".into(),
    );
    Ok(out)
}
