//! `bitrix24-codegen`: review, catalog and check the method specs.
//!
//! ```text
//! bitrix24-codegen [--root DIR] dump --out DIR    write the generated sources of all packs
//! bitrix24-codegen [--root DIR] catalogs          write references/catalog-<pack>.md, packs.md
//! bitrix24-codegen [--root DIR] check [--docs DIR] validate every spec; fail on stale catalogs
//!                                                 or a pack list that disagrees with PACKS
//! bitrix24-codegen import <docs-md-file> <docs-path>   print a TOML draft of a docs page
//! bitrix24-codegen [--root DIR] import-openapi FILE   draft/diff spec entries from a portal's
//!                                                 rest.documentation.openapi answer
//! bitrix24-codegen [--root DIR] coverage [--docs DIR] [--write]
//!                                                 print (or write) references/coverage.md
//! ```
//!
//! The repository root defaults to the parent of this crate's directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bitrix24_codegen::catalog::catalog_file_name;
use bitrix24_codegen::catalog_packs::{PACKS_FILE, expected_references, stale_references};
use bitrix24_codegen::coverage::{self, Recorded};
use bitrix24_codegen::{PACKS, Spec, generate, load_dir, write_if_changed};

const USAGE: &str = "usage: bitrix24-codegen [--root DIR] <command>

commands:
  dump --out DIR                      write the generated Rust of every pack to DIR
  catalogs                            write references/catalog-<pack>.md and packs.md from specs/
  check [--docs DIR]                  validate every spec; fail when the catalogs or the coverage
                                      report are stale or a pack list (Cargo features, .ci/run,
                                      emulator) disagrees; --docs also compares every method with
                                      its page of a b24restdocs checkout
  import <docs-md-file> <docs-path>   print a spec draft of a b24restdocs page (review it!)
  import-openapi <file>               draft new REST 3.0 methods of a rest.documentation.openapi
                                      answer and diff the specced ones (review it!)
  coverage [--docs DIR] [--write]     the docs coverage report: documented vs specced vs typed
                                      per docs area and pack, and what is missing; --docs reads a
                                      b24restdocs checkout (else the method list recorded in
                                      references/coverage.md), --write writes that file";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: Vec<String>) -> Result<(), String> {
    let mut root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if let Some(i) = args.iter().position(|a| a == "--root") {
        if i + 1 >= args.len() {
            return Err(format!("--root needs a directory\n\n{USAGE}"));
        }
        root = PathBuf::from(args.remove(i + 1));
        args.remove(i);
    }
    let Some(cmd) = args.first().cloned() else {
        return Err(USAGE.to_owned());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "dump" => {
            let out = match rest {
                [flag, dir] if flag == "--out" => PathBuf::from(dir),
                _ => return Err(format!("dump needs --out DIR\n\n{USAGE}")),
            };
            let specs = load(&root)?;
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let files = generate(&specs, &PACKS);
            for f in &files {
                write_if_changed(&out.join(&f.name), &f.contents)?;
            }
            println!("wrote {} files to {}", files.len(), out.display());
            Ok(())
        }
        "catalogs" => {
            let specs = load(&root)?;
            let dir = root.join("references");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for (name, text) in expected_references(&specs) {
                write_if_changed(&dir.join(name), &text)?;
            }
            for stale in stale_catalogs(&dir, &specs) {
                std::fs::remove_file(&stale).map_err(|e| format!("{}: {e}", stale.display()))?;
            }
            println!(
                "wrote {} catalogs and {PACKS_FILE} to {}",
                specs.len(),
                dir.display()
            );
            Ok(())
        }
        "check" => {
            let docs = match rest {
                [] => None,
                [flag, dir] if flag == "--docs" => Some(PathBuf::from(dir)),
                _ => return Err(format!("check takes no argument or --docs DIR\n\n{USAGE}")),
            };
            let specs = load(&root)?;
            // Generating every pack also proves the emitter accepts every spec.
            let files = generate(&specs, &PACKS);
            let dir = root.join("references");
            let mut problems = stale_references(&dir, &specs);
            for stale in stale_catalogs(&dir, &specs) {
                problems.push(format!("{} has no spec", stale.display()));
            }
            if !problems.is_empty() {
                problems.push(
                    "run `cargo run -p bitrix24-codegen -- catalogs` and commit the result".into(),
                );
            }
            let lists = bitrix24_codegen::pack_lists::check(&root);
            if !lists.is_empty() {
                problems.extend(lists);
                problems.push(
                    "the pack list lives in bitrix24-codegen (spec::PACKS): make the files above \
                     agree with it"
                        .into(),
                );
            }
            problems.extend(coverage_problems(&root, &specs));
            if let Some(dir) = docs {
                let found = bitrix24_codegen::coverage_diff::compare_all(&dir, &specs);
                for d in &found.disagreements {
                    problems.push(d.to_string());
                }
                let methods: std::collections::BTreeSet<_> =
                    found.disagreements.iter().map(|d| &d.method).collect();
                println!(
                    "docs: {} methods compared with their pages; {} disagreements in {} methods; \
                     {} methods justified by docs_differs",
                    found.methods,
                    found.disagreements.len(),
                    methods.len(),
                    found.justified
                );
            }
            if !problems.is_empty() {
                return Err(problems.join("\n"));
            }
            let methods: usize = specs.iter().map(|s| s.methods.len()).sum();
            println!(
                "ok: {} specs, {methods} methods, {} generated files, catalogs up to date, pack \
                 lists agree",
                specs.len(),
                files.len()
            );
            for s in &specs {
                println!(
                    "  {:<12} {:>4} methods {:>3} entities {:>3} enums {:>3} events",
                    s.pack,
                    s.methods.len(),
                    s.entities.len(),
                    s.enums.len(),
                    s.events.len()
                );
            }
            Ok(())
        }
        "import" => {
            let [file, docs_path] = rest else {
                return Err(format!(
                    "import needs <docs-md-file> <docs-path>\n\n{USAGE}"
                ));
            };
            let md = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let draft = bitrix24_codegen::import::draft_from_markdown(&md, docs_path)?;
            print!("{draft}");
            Ok(())
        }
        "import-openapi" => {
            let [file] = rest else {
                return Err(format!(
                    "import-openapi needs <openapi-json-file>\n\n{USAGE}"
                ));
            };
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let doc: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
            print!(
                "{}",
                bitrix24_codegen::import::openapi::draft(&doc, &load(&root)?)?
            );
            Ok(())
        }
        "coverage" => coverage(&root, rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

fn load(root: &Path) -> Result<Vec<Spec>, String> {
    load_dir(&root.join("specs"), "specs").map_err(|e| e.to_string())
}

/// `catalog-<pack>.md` files of known packs that no longer have a spec.
fn stale_catalogs(dir: &Path, specs: &[Spec]) -> Vec<PathBuf> {
    PACKS
        .iter()
        .filter(|p| !specs.iter().any(|s| s.pack == **p))
        .map(|p| dir.join(catalog_file_name(p)))
        .filter(|p| p.exists())
        .collect()
}

/// The recorded coverage report, or `None` (with the reason) when it cannot be read.
fn recorded(root: &Path) -> Result<(String, Recorded), String> {
    let path = root.join(coverage::REPORT);
    let md = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rec = coverage::parse_recorded(&md)?;
    Ok((md, rec))
}

/// The spec rules of `check` beyond `validate` (with the recorded report's untyped debt) and the
/// report's agreement with the specs.
fn coverage_problems(root: &Path, specs: &[Spec]) -> Vec<String> {
    let (md, rec) = match recorded(root) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let (deprecated, pending) = bitrix24_codegen::spec::lint_deprecated(specs, &rec.deprecated());
    let mut out: Vec<String> = bitrix24_codegen::spec::lint(specs, &rec.untyped_debt())
        .iter()
        .chain(&deprecated)
        .map(ToString::to_string)
        .collect();
    if !pending.is_empty() {
        println!(
            "deprecated by the docs, no `deprecated` note yet ({}): {}",
            pending.len(),
            pending.join(", ")
        );
    }
    match coverage::check_recorded(&md, specs) {
        Ok(lines) => out.extend(lines),
        Err(e) => out.push(e),
    }
    out
}

fn coverage(root: &Path, args: &[String]) -> Result<(), String> {
    let mut docs = None;
    let mut write = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--docs" => {
                docs =
                    Some(PathBuf::from(it.next().ok_or_else(|| {
                        format!("--docs needs a directory\n\n{USAGE}")
                    })?));
            }
            "--write" => write = true,
            other => return Err(format!("coverage: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let specs = load(root)?;
    let old = recorded(root).ok();
    let index = match (&docs, &old) {
        (Some(dir), _) => bitrix24_codegen::coverage_scan::scan(dir)?,
        (None, Some((_, rec))) => rec.index.clone(),
        (None, None) => {
            return Err(format!(
                "no readable {}: pass --docs <b24restdocs checkout>",
                coverage::REPORT
            ));
        }
    };
    // Methods untyped without a reason may stay so only when the old report already lists them;
    // the first report records where the specs start.
    let debt = match &old {
        Some((_, r)) => r.untyped_debt(),
        None => specs
            .iter()
            .flat_map(Spec::all_methods)
            .filter(|m| bitrix24_codegen::spec::is_untyped(&m.response) && m.value_why.is_none())
            .map(|m| m.name.to_ascii_lowercase())
            .collect(),
    };
    let lint = bitrix24_codegen::spec::lint(&specs, &debt);
    if !lint.is_empty() {
        return Err(lint
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"));
    }
    let report = coverage::render(&index, &specs);
    if write {
        write_if_changed(&root.join(coverage::REPORT), &report)?;
        println!("wrote {}", coverage::REPORT);
    } else {
        print!("{report}");
    }
    Ok(())
}
