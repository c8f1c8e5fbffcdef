//! The list of packs has one source, [`PACKS`]; every other place that lists them must agree:
//! the `[features]` of `bitrix24/Cargo.toml` (a feature per pack, and `full` with every pack),
//! the per-pack loop of `.ci/run`, the specs the emulator embeds (`include_str!` of
//! `specs/<pack>.toml` under `bitrix24-emulator/src`) and the `Packs:` line of
//! `specs/README.md`. [`check`] names the file and each missing or extra pack.

use std::collections::BTreeSet;
use std::path::Path;

use crate::spec::PACKS;

/// Every disagreement between [`PACKS`] and the other lists under the repository `root`.
pub fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    cargo_features(root, &mut problems);
    ci_loop(root, &mut problems);
    emulator_specs(root, &mut problems);
    readme_line(root, &mut problems);
    problems
}

/// `what` lacks the packs of [`PACKS`] it does not have, and has extra the names that are not
/// packs.
fn compare(file: &str, what: &str, listed: &BTreeSet<String>, problems: &mut Vec<String>) {
    for p in PACKS {
        if !listed.contains(p) {
            problems.push(format!("{file}: {what}: the pack `{p}` is missing"));
        }
    }
    for extra in listed {
        if !PACKS.contains(&extra.as_str()) {
            problems.push(format!(
                "{file}: {what}: `{extra}` is not a pack (bitrix24-codegen's PACKS)"
            ));
        }
    }
}

fn read(root: &Path, file: &str, problems: &mut Vec<String>) -> Option<String> {
    match std::fs::read_to_string(root.join(file)) {
        Ok(text) => Some(text),
        Err(e) => {
            problems.push(format!("{file}: cannot read: {e}"));
            None
        }
    }
}

fn cargo_features(root: &Path, problems: &mut Vec<String>) {
    let file = "bitrix24/Cargo.toml";
    let Some(text) = read(root, file, problems) else {
        return;
    };
    let manifest: toml::Table = match toml::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("{file}: not TOML: {e}"));
            return;
        }
    };
    let Some(features) = manifest.get("features").and_then(toml::Value::as_table) else {
        problems.push(format!("{file}: no [features] table"));
        return;
    };
    for p in PACKS {
        if !features.contains_key(p) {
            problems.push(format!(
                "{file}: [features] has no feature for the pack `{p}`"
            ));
        }
    }
    let full: BTreeSet<String> = features
        .get("full")
        .and_then(toml::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(toml::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    compare(file, "the feature `full`", &full, problems);
}

fn ci_loop(root: &Path, problems: &mut Vec<String>) {
    let file = ".ci/run";
    let Some(text) = read(root, file, problems) else {
        return;
    };
    let listed = text.lines().find_map(|line| {
        line.trim()
            .strip_prefix("for pack in ")
            .and_then(|rest| rest.strip_suffix("; do"))
    });
    match listed {
        Some(names) => {
            let names = names.split_whitespace().map(str::to_owned).collect();
            compare(file, "the per-pack loop", &names, problems);
        }
        None => problems.push(format!(
            "{file}: no `for pack in ...; do` loop (the per-pack feature check)"
        )),
    }
}

fn emulator_specs(root: &Path, problems: &mut Vec<String>) {
    let dir = "bitrix24-emulator/src";
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    let mut embedded = BTreeSet::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for (_, rest) in text
            .match_indices("include_str!(")
            .map(|(i, _)| text.split_at(i))
        {
            let Some(arg) = rest
                .strip_prefix("include_str!(")
                .and_then(|r| r.split(')').next())
            else {
                continue;
            };
            let path = arg.trim().trim_matches('"');
            if let Some(stem) = path
                .rsplit_once("specs/")
                .and_then(|(_, name)| name.strip_suffix(".toml"))
            {
                embedded.insert(stem.to_owned());
            }
        }
    }
    if embedded.is_empty() {
        problems.push(format!(
            "{dir}: no `include_str!(\"../../specs/<pack>.toml\")` found (the embedded specs)"
        ));
        return;
    }
    compare(
        dir,
        "the embedded specs (include_str!)",
        &embedded,
        problems,
    );
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

fn readme_line(root: &Path, problems: &mut Vec<String>) {
    let file = "specs/README.md";
    let Some(text) = read(root, file, problems) else {
        return;
    };
    let Some(start) = text.find("\nPacks: ") else {
        problems.push(format!("{file}: no `Packs: ...` line"));
        return;
    };
    let rest = &text[start + 1..];
    let sentence = rest.split(". ").next().unwrap_or(rest);
    let names = sentence
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    compare(file, "the `Packs:` line", &names, problems);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_agrees() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert_eq!(check(&root), Vec::<String>::new());
    }

    #[test]
    fn each_disagreement_is_named() {
        let root = std::env::temp_dir().join(format!("b24-pack-lists-{}", std::process::id()));
        let write = |file: &str, text: &str| {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let all = PACKS.join(" ");
        let quoted: Vec<String> = PACKS.iter().map(|p| format!("\"{p}\"")).collect();
        let features: String = PACKS
            .iter()
            .map(|p| format!("{p} = []"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        // `sites` has no feature and is missing from `full`, which lists `extras` instead.
        let full = quoted.join(", ").replace("\"sites\"", "\"extras\"");
        write(
            "bitrix24/Cargo.toml",
            &format!(
                "[features]\n{}full = [{full}]\n",
                features.replace("sites = []\n", "")
            ),
        );
        write(
            ".ci/run",
            &format!("for pack in {}; do\n", all.replace(" boards", "")),
        );
        let embeds = PACKS
            .iter()
            .filter(|p| **p != "diagnostics")
            .map(|p| format!("include_str!(\"../../specs/{p}.toml\"),"))
            .collect::<Vec<_>>()
            .join("\n");
        write("bitrix24-emulator/src/deep/specs.rs", &embeds);
        let names: Vec<String> = PACKS.iter().map(|p| format!("`{p}`")).collect();
        write(
            "specs/README.md",
            &format!(
                "# x\n\nPacks: {}, `nine`. Each is one feature.\n",
                names.join(", ")
            ),
        );
        let problems = check(&root);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            problems,
            vec![
                "bitrix24/Cargo.toml: [features] has no feature for the pack `sites`",
                "bitrix24/Cargo.toml: the feature `full`: the pack `sites` is missing",
                "bitrix24/Cargo.toml: the feature `full`: `extras` is not a pack \
                 (bitrix24-codegen's PACKS)",
                ".ci/run: the per-pack loop: the pack `boards` is missing",
                "bitrix24-emulator/src: the embedded specs (include_str!): the pack \
                 `diagnostics` is missing",
                "specs/README.md: the `Packs:` line: `nine` is not a pack \
                 (bitrix24-codegen's PACKS)",
            ]
        );
    }
}
