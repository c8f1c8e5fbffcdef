//! Which methods the official docs document: a walk over `api-reference/` of a b24restdocs
//! checkout, one [`DocMethod`] per method name.
//!
//! The rule (also in `specs/README.md`): a page documents a method when its H1 title ends with a
//! method name (`# Create a New Deal crm.deal.add`) and the page is a method page, that is it has
//! a `> Scope:` line or its examples call that method (`index.md` pages and the overviews of a
//! namespace such as `imbot.v2` have neither). The method is **deprecated** when every page that
//! documents it is under `outdated/` or carries a deprecation note before its first section: a
//! `{% note ... %}` titled `DEPRECATED`, `Deprecated method` or `Method Development Has Been
//! Discontinued`, or a note whose first line is `**DEPRECATED**`. Names compare
//! case-insensitively, as the portal does. The JS commands of an application's frame
//! (`BX24.placement.call`, the call card's `CallCardSetMute`...) have method pages too, but no
//! request to `/rest/` reaches them: a page naming a `BX24.` function, or saying it documents a
//! "JS interface command, not a REST method", documents no REST method.

use std::collections::BTreeMap;
use std::path::Path;

use crate::import::page::{Page, called_anywhere, method_from_title};

/// One documented method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMethod {
    /// The name as the page writes it.
    pub name: String,
    /// The page under `api-reference/` (the first current page when several document it).
    pub page: String,
    /// Whether every page of the method marks it deprecated.
    pub deprecated: bool,
}

impl DocMethod {
    /// The docs area: the first folder of the page (`crm`, `catalog`, `outdated`).
    pub fn area(&self) -> &str {
        self.page.split('/').next().unwrap_or_default()
    }
}

/// Every documented method of one docs commit, sorted by lowercase name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsIndex {
    /// The b24restdocs commit the index was read from.
    pub commit: String,
    /// The methods.
    pub methods: Vec<DocMethod>,
}

/// Reads `<root>/api-reference/**/*.md`. `root` is a checkout of bitrix24/b24restdocs (a git
/// worktree of the bare mirror does: `git --git-dir=<mirror> worktree add --detach DIR HEAD`);
/// its commit comes from `git -C <root> rev-parse HEAD`.
///
/// # Errors
///
/// When `root` has no `api-reference/` folder, a page cannot be read, or the commit is unknown.
pub fn scan(root: &Path) -> Result<DocsIndex, String> {
    let base = root.join("api-reference");
    if !base.is_dir() {
        return Err(format!(
            "{}: no api-reference/ folder (pass a b24restdocs checkout)",
            root.display()
        ));
    }
    let mut files = Vec::new();
    walk(&base, &mut files)?;
    files.sort();
    let mut by_name: BTreeMap<String, DocMethod> = BTreeMap::new();
    for path in files {
        let rel = path
            .strip_prefix(&base)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        let md = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(name) = page_method(&md) else {
            continue;
        };
        let deprecated = is_deprecated(&rel, &md);
        let key = name.to_ascii_lowercase();
        match by_name.get_mut(&key) {
            Some(prev) if prev.deprecated && !deprecated => {
                *prev = DocMethod {
                    name,
                    page: rel,
                    deprecated,
                };
            }
            Some(_) => {}
            None => {
                by_name.insert(
                    key,
                    DocMethod {
                        name,
                        page: rel,
                        deprecated,
                    },
                );
            }
        }
    }
    Ok(DocsIndex {
        commit: commit_of(root)?,
        methods: by_name.into_values().collect(),
    })
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in rd {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md")
            && path.file_name().is_some_and(|n| n != "index.md")
        {
            out.push(path);
        }
    }
    Ok(())
}

fn commit_of(root: &Path) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .map_err(|e| format!("git rev-parse in {}: {e}", root.display()))?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || commit.len() != 40 {
        return Err(format!(
            "{}: not a git checkout; the report records the docs commit",
            root.display()
        ));
    }
    Ok(commit)
}

/// The method a page documents, by the rule of the module docs.
pub fn page_method(md: &str) -> Option<String> {
    let title = md.lines().find_map(|l| l.trim().strip_prefix("# "))?;
    let scope_line = md.lines().any(|l| l.trim_start().starts_with("> Scope:"));
    if method_from_title(title).is_none() && !scope_line {
        return None;
    }
    // The importer's reading: the title's name, corrected or found by the examples' calls.
    let name = Page::parse(md).method?;
    if is_js_command(&name, md) {
        return None;
    }
    (scope_line || called_anywhere(md, &name)).then_some(name)
}

/// Whether a page documents a JS command of the application frame rather than a REST method
/// (module docs).
fn is_js_command(name: &str, md: &str) -> bool {
    name.starts_with("BX24.") || md.contains("JS interface command, not a REST method")
}

/// Whether a page marks its method deprecated (module docs).
pub fn is_deprecated(page: &str, md: &str) -> bool {
    if page.starts_with("outdated/") {
        return true;
    }
    let mut lines = md
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("# "));
    lines.next();
    let mut in_note = false;
    let mut first_line = false;
    for l in lines {
        if l.starts_with("## ") {
            break;
        }
        if let Some(rest) = l.strip_prefix("{% note ") {
            let title = rest
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .to_ascii_lowercase();
            if title.contains("deprecated") || title.contains("discontinued") {
                return true;
            }
            in_note = true;
            first_line = true;
            continue;
        }
        if l.starts_with("{% endnote") {
            in_note = false;
            continue;
        }
        if in_note && first_line && !l.is_empty() {
            if l.trim_matches('*').eq_ignore_ascii_case("deprecated") {
                return true;
            }
            first_line = false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_pages_and_deprecation() {
        let page = "# Create a New Deal crm.deal.add\n\n> Scope: [`crm`](x)\n\n\
                    {% note warning \"DEPRECATED\" %}\n\nUse crm.item.add.\n\n{% endnote %}\n\n\
                    ## Method Parameters\n";
        assert_eq!(page_method(page).as_deref(), Some("crm.deal.add"));
        assert!(is_deprecated("crm/deals/crm-deal-add.md", page));
        let bold = "# Get x.get\n\n> Scope: [`x`](x)\n\n{% note warning \"\" %}\n\n**DEPRECATED**\n\n\
                    {% endnote %}\n";
        assert!(is_deprecated("x/x-get.md", bold));
        let current = "# Add x.add\n\n> Scope: [`x`](x)\n\n{% note tip \"\" %}\n\nMCP.\n\n\
                       {% endnote %}\n\n## Method Parameters\n\n{% note warning \"DEPRECATED\" %}\n";
        assert!(!is_deprecated("x/x-add.md", current));
        assert!(is_deprecated("outdated/rpa/item/rpa-item-add.md", current));
        // A namespace overview is not a method page.
        assert_eq!(page_method("# Changes in imbot.v2\n\nText.\n"), None);
        assert_eq!(page_method("# Deals\n\n> Scope: [`crm`](x)\n"), None);
        // The frame's JS commands are no REST methods.
        let js = "# Get the Context BX24.placement.info\n\n> Scope: [`placement`](x)\n";
        assert_eq!(page_method(js), None);
        let card = "# Mute CallCardSetMute\n\n> Scope: [`placement`](x)\n\nThis is a JS \
                    interface command, not a REST method: it cannot be invoked.\n";
        assert_eq!(page_method(card), None);
    }
}
