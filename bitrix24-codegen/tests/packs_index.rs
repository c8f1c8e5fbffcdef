//! `references/packs.md`: rendered from the specs, and `check` notices when it is stale.

use std::path::{Path, PathBuf};

use bitrix24_codegen::catalog_packs::{
    PACKS_FILE, expected_references, render_packs, stale_references, term_map,
};
use bitrix24_codegen::{PACKS, Spec, load_dir, parse_spec};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn real_specs() -> Vec<Spec> {
    load_dir(&root().join("specs"), "specs").expect("the real specs load")
}

/// A scratch directory under the target dir, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn the_committed_packs_md_is_the_rendered_one() {
    let specs = real_specs();
    let on_disk = std::fs::read_to_string(root().join("references").join(PACKS_FILE))
        .expect("references/packs.md exists");
    assert!(
        on_disk == render_packs(&specs),
        "references/packs.md is stale: run `cargo run -p bitrix24-codegen -- catalogs`"
    );
}

#[test]
fn every_pack_summary_and_term_of_the_specs_is_in_packs_md() {
    let specs = real_specs();
    let md = render_packs(&specs);
    for s in &specs {
        assert!(
            md.contains(&format!("| `{}` | {} |", s.pack, s.summary.trim())),
            "{}",
            s.pack
        );
        assert!(md.contains(&format!("[catalog-{0}.md](catalog-{0}.md)", s.pack)));
        for t in &s.terms {
            let row = format!("| {} | `", t.trim().to_lowercase());
            assert!(md.contains(&row), "term `{t}` of {} missing", s.pack);
        }
    }
    // Packs appear in the canonical order.
    let at: Vec<usize> = PACKS
        .iter()
        .filter_map(|p| md.find(&format!("| `{p}` | ")))
        .collect();
    assert_eq!(at.len(), specs.len());
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "packs out of PACKS order"
    );
}

fn spec(pack: &str, terms: &str) -> Spec {
    let toml =
        format!("[pack]\nname = \"{pack}\"\nsummary = \"The {pack} pack.\"\nterms = [{terms}]\n");
    parse_spec(&format!("specs/{pack}.toml"), &toml).expect("fixture spec parses")
}

#[test]
fn a_term_two_packs_share_goes_to_the_first_pack_in_packs_order() {
    // `comms` comes after `core` in PACKS, whatever order the specs are given in.
    let specs = [
        spec("comms", "\"Events\", \"chats\""),
        spec("core", "\" events \""),
    ];
    let map = term_map(&specs);
    assert_eq!(map.get("events"), Some(&"core"));
    assert_eq!(map.get("chats"), Some(&"comms"));
    let md = render_packs(&specs);
    assert!(md.contains("| events | `core` |"), "{md}");
    assert!(md.contains("No spec yet: `automation`"), "{md}");
}

#[test]
fn stale_references_names_a_stale_or_missing_packs_md() {
    let specs = [spec("core", "\"deals\"")];
    let dir = scratch("packs_index_stale");
    for (name, text) in expected_references(&specs) {
        std::fs::write(dir.join(name), text).expect("write reference");
    }
    assert!(stale_references(&dir, &specs).is_empty());

    let path = dir.join(PACKS_FILE);
    let mut edited = std::fs::read_to_string(&path).expect("read packs.md");
    edited.push_str("| tickets | `core` |\n");
    std::fs::write(&path, edited).expect("edit packs.md");
    assert_eq!(
        stale_references(&dir, &specs),
        [format!("{} is stale", path.display())]
    );

    std::fs::remove_file(&path).expect("remove packs.md");
    assert_eq!(
        stale_references(&dir, &specs),
        [format!("{} is missing", path.display())]
    );
}

/// `(term, pack)` pairs of the generated `bitrix24::catalog::TERMS` in a golden `catalog.rs`.
fn golden_terms(catalog_rs: &str) -> Vec<(String, String)> {
    let start = catalog_rs
        .find("pub static TERMS")
        .expect("TERMS in catalog.rs");
    let body = &catalog_rs[start
        ..catalog_rs[start..]
            .find("];")
            .map_or(catalog_rs.len(), |e| start + e)];
    body.lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            let inner = l.strip_prefix("(\"")?.strip_suffix("\")")?;
            let (t, p) = inner.split_once("\", \"")?;
            Some((t.to_owned(), p.to_owned()))
        })
        .collect()
}

#[test]
fn the_term_map_is_the_one_the_sdk_catalog_is_generated_with() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let specs = load_dir(&fixtures.join("specs"), "specs").expect("fixture specs load");
    let golden =
        std::fs::read_to_string(fixtures.join("golden/all/catalog.rs")).expect("golden catalog.rs");
    let expected = golden_terms(&golden);
    assert!(!expected.is_empty());
    let ours: Vec<(String, String)> = term_map(&specs)
        .into_iter()
        .map(|(t, p)| (t, p.to_owned()))
        .collect();
    assert_eq!(ours, expected);
}
