//! Spec parser and code generator behind the `bitrix24` crate.
//!
//! `specs/<pack>.toml` (format: `specs/README.md`) -> [`spec::parse_spec`] + [`spec::validate`]
//! -> [`emit::generate`] (Rust, printed by `emit`'s own printer) and [`catalog::render_catalog`]
//! (`references/catalog-<pack>.md`). `bitrix24/build.rs` calls [`build_script`]; the
//! `bitrix24-codegen` binary has `dump`, `catalogs`, `check`, `import` and `coverage`.
//!
//! Modules: [`spec`] (the model, parsing, validation), [`naming`] (Rust names from wire names),
//! [`risk`] (the risk classes, also behind `bitrix24::Risk` and `#[derive(Method)]`), [`emit`]
//! (Rust), [`catalog`] and [`catalog_packs`] (markdown: the catalogs and `packs.md`). Behind the
//! `cli` feature (default; only the binary needs it, and the build script and `bitrix24-macros`
//! turn it off): `import` (docs-page importer),
//! `coverage`, `coverage_scan` and `coverage_diff` (the docs coverage report, specs against
//! their pages) and `pack_lists` (the pack list's other places agree with [`PACKS`]).

// String building reads better with format!, and match reads better than if-let-else here.
#![allow(clippy::format_push_string, clippy::single_match_else)]

pub mod catalog;
pub mod catalog_packs;
#[cfg(feature = "cli")]
pub mod coverage;
#[cfg(feature = "cli")]
pub mod coverage_diff;
#[cfg(feature = "cli")]
pub mod coverage_scan;
pub mod emit;
#[cfg(feature = "cli")]
pub mod import;
pub mod method_types;
pub mod naming;
#[cfg(feature = "cli")]
pub mod pack_lists;
pub mod risk;
pub mod spec;

use std::path::Path;

pub use emit::{GeneratedFile, OUT_SUBDIR, generate};
pub use spec::{PACKS, Spec, SpecError, SpecErrors, load_dir, parse_spec, validate};

/// What [`build_script`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    /// The spec files read (for `cargo:rerun-if-changed`).
    pub spec_files: Vec<std::path::PathBuf>,
    /// Enabled packs that have no spec file yet (no module is emitted for them).
    pub missing: Vec<String>,
    /// Whether an enabled pack generates entities (their shared helpers are then compiled).
    pub has_entities: bool,
}

/// The whole build step: reads every spec of `specs_dir` (all of them: references may cross
/// packs, and duplicates are checked across packs), generates the `enabled` packs and the
/// catalog tables, and writes them to `out_dir/bitrix24-generated/`. Writes a file only when its
/// contents changed.
pub fn build_script(
    specs_dir: &Path,
    enabled: &[&str],
    out_dir: &Path,
) -> Result<BuildOutput, String> {
    let mut spec_files: Vec<_> = std::fs::read_dir(specs_dir)
        .map_err(|e| format!("{}: {e}", specs_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    spec_files.sort();
    let specs = load_dir(specs_dir, "specs").map_err(|e| e.to_string())?;
    let files = generate(&specs, enabled);
    let dir = out_dir.join(OUT_SUBDIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in &files {
        write_if_changed(&dir.join(&f.name), &f.contents)?;
    }
    write_if_changed(&dir.join(method_types::FILE), &method_types::render(&specs))?;
    let missing = enabled
        .iter()
        .filter(|p| !specs.iter().any(|s| s.pack == **p))
        .map(|p| (*p).to_owned())
        .collect();
    let has_entities = specs
        .iter()
        .any(|s| enabled.contains(&s.pack.as_str()) && !s.entities.is_empty());
    Ok(BuildOutput {
        spec_files,
        missing,
        has_entities,
    })
}

/// Writes `contents` to `path` unless the file already holds exactly that.
pub fn write_if_changed(path: &Path, contents: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}
