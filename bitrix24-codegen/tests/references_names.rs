//! `references/bitrix24.md` names SDK items (`Client::send_with_key`, `events::tenant_client`,
//! `AuthError::RefreshRejected`): each name must still exist in the sources, so a rename
//! that forgets the guide fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` and `.toml` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs" || x == "toml") {
            out.push(p);
        }
    }
}

/// The identifiers (`[A-Za-z0-9_]+` runs) of the hand-written sources and the specs.
fn identifiers() -> BTreeSet<String> {
    let mut files = Vec::new();
    for d in ["bitrix24/src", "bitrix24-cli/src", "specs"] {
        sources(&root().join(d), &mut files);
    }
    let mut ids = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !w.is_empty() {
                ids.insert(w.to_owned());
            }
        }
    }
    ids
}

/// The `a::b::c` paths in backticks of a markdown text.
fn paths(md: &str) -> BTreeSet<String> {
    md.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let path: String = code
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            path.contains("::").then_some(path)
        })
        .collect()
}

/// The path segments no source declares, skipping crate names and generated items the guide
/// uses as examples (they live in the build output, named from the specs).
fn unknown(md: &str, ids: &BTreeSet<String>) -> Vec<String> {
    const EXTERNAL: &[&str] = &["bitrix24", "futures", "Stream"];
    paths(md)
        .into_iter()
        .filter(|p| {
            p.split("::")
                .filter(|s| !s.is_empty() && !EXTERNAL.contains(s))
                .any(|s| !ids.contains(s))
        })
        .collect()
}

#[test]
fn every_sdk_name_in_the_integrators_guide_exists() {
    let md = std::fs::read_to_string(root().join("references/bitrix24.md"))
        .expect("references/bitrix24.md");
    assert!(
        paths(&md).len() > 40,
        "the guide should name the SDK's items"
    );
    let missing = unknown(&md, &identifiers());
    assert!(
        missing.is_empty(),
        "references/bitrix24.md names items no source has: {missing:?}"
    );
}

#[test]
fn a_renamed_item_is_reported() {
    let ids = identifiers();
    let md = "Use `Client::send_with_key`, then `Client::send_with_kee` and `events::Gone`.";
    assert_eq!(unknown(md, &ids), ["Client::send_with_kee", "events::Gone"]);
}
