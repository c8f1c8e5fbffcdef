//! Drafts spec entries from pages of the official docs (`bitrix24/b24restdocs`).
//!
//! A b24restdocs method page has a fixed layout: an H1 title that ends with the method name, a
//! `> Scope: [`crm`](...)` quote, a `## Method Parameters` section with YFM tables (`#| ... |#`,
//! one `|| **NAME*** [`type`](...) | description ||` row per parameter, `*` after the bold name
//! marks a required one), optional `### Parameter fields` sections with the nested field tables,
//! and a `## Response Handling` section with an example response in a ```` ```json ```` block.
//!
//! [`draft_from_markdown`] turns such a page into a `[method."<name>"]` TOML entry in the format of
//! `specs/README.md`; [`draft_entity_from_markdown`] turns a `*.fields` page into an
//! `[entity.<Name>]` draft. Everything the importer had to guess is marked with a `# review:`
//! comment: a draft is reviewed by hand before it is committed. Doc strings are never copied from
//! the page; the importer writes short generic words that the reviewer replaces.

use std::fmt::Write as _;

/// Drafts one `[method."<name>"]` spec entry from the markdown of a b24restdocs method page.
///
/// `docs_path` is the page's path under `api-reference/` (or `settings/...`); it is written to the
/// `docs` key as given. The draft guesses the risk class from the method name (`get`/`list`/
/// `fields` read, `delete`/`remove`/`terminate`/`kill`/`clear` destructive, anything else write),
/// maps the documented types to spec types, turns nested field tables into a draft entity, guesses
/// the response shape and pagination from the example response and the parameters, and copies the
/// example `result` into `example`. Every guess carries a `# review:` comment.
///
/// # Errors
///
/// Returns an error naming `docs_path` when the page names no method (an index or overview page).
pub fn draft_from_markdown(markdown: &str, docs_path: &str) -> Result<String, String> {
    let page = Page::parse(markdown);
    let method = page
        .method
        .clone()
        .ok_or_else(|| format!("{docs_path}: no method name in the title"))?;
    let mut out = String::new();
    let mut tail = String::new();
    let entity_name = entity_name_for(&method);

    let (risk, risk_guessed) = guess_risk(&method);
    match (&page.title_mismatch, &page.curl_mismatch) {
        (Some(title), None) => {
            let _ = writeln!(
                out,
                "# review: the title says `{title}`, the examples call `{method}`"
            );
        }
        (_, Some(called)) => {
            let _ = writeln!(
                out,
                "# review: the examples call `{called}`, not `{method}` as the title says"
            );
        }
        _ => {}
    }
    let _ = writeln!(out, "[method.\"{method}\"]");
    let _ = writeln!(
        out,
        "summary = {}  # review: write our own words",
        toml_str(&default_summary(&method))
    );
    let _ = writeln!(out, "docs = {}", toml_str(docs_path));
    if risk_guessed {
        let _ = writeln!(
            out,
            "risk = \"{risk}\"  # review: guessed from the method name"
        );
    } else {
        let _ = writeln!(out, "risk = \"{risk}\"");
    }
    if page.scopes.is_empty() {
        let _ = writeln!(out, "scopes = []  # review: no scope line on the page");
    } else {
        let list: Vec<String> = page.scopes.iter().map(|s| toml_str(s)).collect();
        let _ = writeln!(out, "scopes = [{}]", list.join(", "));
    }

    // Response shape.
    let result = page.example.as_ref().and_then(|j| j.get("result"));
    let (response, response_note) =
        guess_response(&method, result, page.result_type.as_deref(), &entity_name);
    match response_note {
        Some(note) => {
            let _ = writeln!(out, "response = {}  # review: {note}", toml_str(&response));
        }
        None => {
            let _ = writeln!(out, "response = {}", toml_str(&response));
        }
    }

    // Pagination.
    let names: Vec<&str> = page.params.iter().map(|p| p.name.as_str()).collect();
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    if response.starts_with("list:") || response.starts_with("wrapped_list:") {
        if has("start") && has("filter") && has("order") {
            let _ = writeln!(
                out,
                "pagination = \"keyset\"  # review: start + filter + order; check that ID is sortable"
            );
        } else if has("start") {
            let _ = writeln!(out, "pagination = \"offset\"");
        }
    }

    // Parameters.
    for p in &page.params {
        let nested = page
            .nested
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&p.name));
        let (ty, note) = match nested {
            Some((_, fields))
                if !fields.is_empty()
                    && is_objectish(&p.types)
                    && p.name.eq_ignore_ascii_case("fields") =>
            {
                let sub = entity_name.clone();
                tail.push_str(&draft_entity(
                    &sub,
                    docs_path,
                    fields,
                    &format!("nested table of `{}` in {method}", p.name),
                ));
                (
                    format!("entity:{sub}"),
                    Some("nested field table drafted as an entity below".to_string()),
                )
            }
            Some((_, fields)) if !fields.is_empty() => {
                let (t, _) = map_param_type(&p.name, &p.types);
                let keys: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                (t, Some(format!("documented keys: {}", keys.join(", "))))
            }
            _ => map_param_type(&p.name, &p.types),
        };
        let mut line = format!("params.{} = {{ type = {}", toml_key(&p.name), toml_str(&ty));
        if p.required {
            line.push_str(", required = true");
        }
        let _ = write!(
            line,
            ", doc = {} }}",
            toml_str(&param_doc(&p.name, &method))
        );
        if let Some(n) = note {
            let _ = write!(line, "  # review: {n}");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(res) = result
        && !matches!(res, Json::Null)
    {
        let text = res.to_compact();
        if !text.contains("'''") && text.len() <= 4000 {
            let _ = writeln!(out, "example = '''{text}'''");
        } else {
            let _ = writeln!(
                out,
                "# review: example response too large or not embeddable; left out"
            );
        }
    }
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(&tail);
    }
    Ok(out)
}

/// Drafts an `[entity.<name>]` section from a `*.fields` docs page.
///
/// Fields come from the example response when it describes each field as
/// `{"type": ..., "isMultiple": ...}` (the shape of `crm.*.fields`, `crm.item.fields` and
/// `tasks.task.getfields`, optionally wrapped in one key such as `{"fields": {...}}`), else from the
/// object table of the response section whose heading contains `name` (`#### Message Object`),
/// and last from the first field table of the page. `id` in the entity is set when a field named
/// `ID`/`id` exists.
///
/// # Errors
///
/// Returns an error naming `docs_path` when the page describes no fields.
pub fn draft_entity_from_markdown(
    markdown: &str,
    docs_path: &str,
    name: &str,
) -> Result<String, String> {
    let page = Page::parse(markdown);
    let mut fields: Vec<Param> = Vec::new();
    if let Some(mut res) = page.example.as_ref().and_then(|j| j.get("result")) {
        // `{"fields": {...}}`, `{"order": {...}}`, `{"section": {...}}`: one wrapper key.
        if let Json::Object(entries) = res
            && let [(_, inner @ (Json::Object(_) | Json::Array(_)))] = entries.as_slice()
            && !is_field_descriptor(inner)
        {
            res = inner;
        }
        let push = |fields: &mut Vec<Param>, name: &str, v: &Json| {
            let t = match v.get("type").or_else(|| v.get("TYPE")) {
                Some(Json::Str(t)) => t.clone(),
                _ => return,
            };
            let multiple = matches!(v.get("isMultiple"), Some(Json::Bool(true)));
            let ty = if multiple { format!("{t}[]") } else { t };
            fields.push(Param {
                name: name.to_string(),
                types: vec![ty],
                required: false,
            });
        };
        match res {
            // Only a map whose values are (mostly) field descriptions; an ordinary object that
            // happens to hold one `{"type": ...}` value is not a field list.
            Json::Object(entries)
                if entries
                    .iter()
                    .filter(|(_, v)| is_field_descriptor(v))
                    .count()
                    * 2
                    > entries.len() =>
            {
                for (k, v) in entries {
                    push(&mut fields, k, v);
                }
            }
            // `[{"title"|"name": "id", "type": "integer"}, ...]`
            Json::Array(items) => {
                for v in items {
                    if let Some(Json::Str(n)) = v.get("name").or_else(|| v.get("title")) {
                        push(&mut fields, n, v);
                    }
                }
            }
            _ => {}
        }
    }
    if fields.is_empty() {
        // An object table of the response section whose heading names the entity.
        let lower = name.to_ascii_lowercase();
        if let Some((_, f)) = page
            .response_tables
            .iter()
            .find(|(h, _)| h.to_ascii_lowercase().contains(&lower))
        {
            fields.clone_from(f);
        }
    }
    if fields.is_empty() {
        fields.clone_from(&page.params);
        if fields.is_empty()
            && let Some((_, f)) = page.nested.first()
        {
            fields.clone_from(f);
        }
    }
    if fields.is_empty() {
        return Err(format!("{docs_path}: no field description found"));
    }
    Ok(draft_entity(name, docs_path, &fields, "fields page"))
}

/// Whether a JSON value looks like one field's description (`{"type": ...}`).
fn is_field_descriptor(v: &Json) -> bool {
    matches!(v.get("type").or_else(|| v.get("TYPE")), Some(Json::Str(_)))
}

/// One documented parameter or field.
#[derive(Debug, Clone, PartialEq)]
struct Param {
    name: String,
    /// The documented types as written (`integer`, `string`, `crm_contact[]`, ...).
    types: Vec<String>,
    required: bool,
}

/// What the importer reads from one page.
#[derive(Debug, Default)]
struct Page {
    method: Option<String>,
    scopes: Vec<String>,
    params: Vec<Param>,
    /// Nested tables: (parameter name, its fields).
    nested: Vec<(String, Vec<Param>)>,
    example: Option<Json>,
    /// Documented type of `result` in the "Returned Data" table.
    result_type: Option<String>,
    /// The title's method name when the cURL examples call another one.
    title_mismatch: Option<String>,
    /// The method the examples call when it differs from the (kept) title.
    curl_mismatch: Option<String>,
    /// Object tables of the response section (`#### Message Object`): (heading, fields).
    response_tables: Vec<(String, Vec<Param>)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Other,
    Params,
    Response,
}

impl Page {
    fn parse(md: &str) -> Page {
        let mut page = Page::default();
        let lines: Vec<&str> = md.lines().collect();
        let mut section = Section::Other;
        let mut sub: Option<String> = None;
        let mut in_code = false;
        let mut code_lang = String::new();
        let mut code = String::new();
        let mut seen_params = false;
        let mut seen_h2 = false;
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            let t = line.trim();
            if in_code {
                if t.starts_with("```") {
                    in_code = false;
                    if section == Section::Response && code_lang == "json" && page.example.is_none()
                    {
                        page.example = Json::parse(&code).ok();
                    }
                } else {
                    code.push_str(line);
                    code.push('\n');
                }
                i += 1;
                continue;
            }
            if let Some(rest) = t.strip_prefix("```") {
                in_code = true;
                code_lang = rest.trim().to_ascii_lowercase();
                code.clear();
                i += 1;
                continue;
            }
            if let Some(h) = t.strip_prefix("# ") {
                if page.method.is_none() {
                    page.method = method_from_title(h);
                }
            } else if let Some(h) = t.strip_prefix("## ") {
                seen_h2 = true;
                let h = strip_anchor(h).to_ascii_lowercase();
                sub = None;
                section = if h.contains("parameters") && !h.contains("event") {
                    seen_params = true;
                    Section::Params
                } else if h.contains("response") || h.contains("returned data") {
                    Section::Response
                } else {
                    Section::Other
                };
            } else if let Some(h) = t.strip_prefix("### ").or_else(|| t.strip_prefix("#### ")) {
                if section == Section::Params {
                    sub = Some(nested_param_name(h));
                } else if section == Section::Response
                    && h.to_ascii_lowercase().contains("returned data")
                {
                    sub = Some("#returned".to_string());
                } else if section == Section::Response {
                    sub = Some(strip_anchor(h).to_string());
                }
            } else if t.starts_with("> Scope:") && page.scopes.is_empty() {
                page.scopes = parse_scopes(t);
            } else if t.starts_with("#|") {
                let (rows, next) = read_table(&lines, i);
                i = next;
                let params = rows_to_params(&rows);
                // A table before the first `##` heading is the parameter table of pages that
                // have no "Method Parameters" heading.
                let section = if seen_h2 { section } else { Section::Params };
                match (section, sub.as_deref()) {
                    (Section::Params, None) if page.params.is_empty() => page.params = params,
                    (Section::Params, Some(name))
                        if !params.is_empty() && !page.nested.iter().any(|(n, _)| n == name) =>
                    {
                        page.nested.push((name.to_string(), params));
                    }
                    (Section::Response, Some("#returned")) => {
                        if let Some(r) = params.iter().find(|p| p.name == "result") {
                            page.result_type = r.types.first().cloned();
                        }
                    }
                    (Section::Response, Some(heading)) if !params.is_empty() => {
                        page.response_tables.push((heading.to_string(), params));
                    }
                    _ => {}
                }
                continue;
            }
            i += 1;
        }
        // The cURL examples name the method when the title does not, and fix titles with a
        // doubled segment (`department.department.delete` for `department.delete`). Any other
        // disagreement keeps the title and is flagged for review.
        let called = method_from_curl(md);
        match (&page.method, called) {
            (None, Some(c)) => page.method = Some(c),
            (Some(m), Some(c)) if !c.eq_ignore_ascii_case(m) && !called_anywhere(md, m) => {
                page.title_mismatch = Some(m.clone());
                if m.ends_with(&format!(".{c}")) {
                    page.method = Some(c);
                } else {
                    page.curl_mismatch = Some(c);
                }
            }
            _ => {}
        }
        if page.method.is_none() && seen_params {
            page.method = method_from_text(md);
        }
        page
    }
}

/// `Create a New Deal crm.deal.add` -> `crm.deal.add`.
fn method_from_title(title: &str) -> Option<String> {
    let last = strip_anchor(title)
        .split_whitespace()
        .last()?
        .trim_matches('`');
    let ok = last.contains('.')
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && last.starts_with(|c: char| c.is_ascii_lowercase());
    ok.then(|| last.to_string())
}

/// The method most often called in `https://.../rest/.../<method>` URLs of the examples.
fn method_from_curl(md: &str) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for line in md.lines() {
        let t = line.trim();
        if !t.starts_with("https://") || !t.contains("/rest/") || t.contains("/rest/api/") {
            continue;
        }
        let last = t
            .trim_end_matches(['\\', ' ', '\'', '"'])
            .rsplit('/')
            .next()
            .unwrap_or("");
        if last.is_empty()
            || !last
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            continue;
        }
        match counts.iter_mut().find(|(m, _)| m == last) {
            Some((_, n)) => *n += 1,
            None => counts.push((last.to_string(), 1)),
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(m, _)| m)
}

/// Whether an example URL calls `method` (case-insensitively, as the portal does).
fn called_anywhere(md: &str, method: &str) -> bool {
    let needle = format!("/{}", method.to_ascii_lowercase());
    md.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        l.starts_with("https://")
            && l.trim_end_matches(['\\', ' ', '\'', '"'])
                .ends_with(&needle)
    })
}

/// Fallback: the first `` The method `x.y` `` (or `` The `x.y` method ``) in the text.
fn method_from_text(md: &str) -> Option<String> {
    for line in md.lines() {
        let lower = line.to_ascii_lowercase();
        if !(lower.starts_with("the method `") || lower.starts_with("the `")) {
            continue;
        }
        let start = line.find('`')? + 1;
        let end = start + line[start..].find('`')?;
        let name = &line[start..end];
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Some(name.to_string());
        }
    }
    None
}

fn strip_anchor(h: &str) -> &str {
    match h.find(" {#") {
        Some(pos) => h[..pos].trim(),
        None => h.trim(),
    }
}

/// `Parameter fields {#fields}`, `FIELDS Parameter`, `Fields parameter` -> `fields`/`FIELDS`.
fn nested_param_name(h: &str) -> String {
    if let Some(pos) = h.find("{#") {
        let anchor = h[pos + 2..].trim_end_matches('}').trim();
        let text = strip_anchor(h);
        // Prefer the spelling in the heading text when it matches the anchor.
        for w in text.split_whitespace() {
            let w = w.trim_matches('`');
            if w.eq_ignore_ascii_case(anchor) {
                return w.to_string();
            }
        }
        if !anchor.is_empty() {
            return anchor.to_string();
        }
    }
    let words: Vec<&str> = strip_anchor(h)
        .split_whitespace()
        .map(|w| w.trim_matches('`'))
        .filter(|w| {
            !w.eq_ignore_ascii_case("parameter")
                && !w.eq_ignore_ascii_case("field")
                && !w.eq_ignore_ascii_case("object")
        })
        .collect();
    words
        .first()
        .map_or_else(String::new, |w| w.trim_end_matches("[]").to_string())
}

/// `> Scope: [`crm`](...), [`user`](...)` -> `["crm", "user"]`.
fn parse_scopes(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else { break };
        for s in after[..end].split(',') {
            let s = s.trim();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && !out.iter().any(|x| x == s)
            {
                out.push(s.to_string());
            }
        }
        rest = &after[end + 1..];
    }
    out
}

/// Reads the YFM table that starts at `lines[start]` (`#|`). Returns its rows (each the joined
/// text between the leading and trailing `||`) and the index of the line after `|#`.
fn read_table(lines: &[&str], start: usize) -> (Vec<String>, usize) {
    let mut rows: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut in_code = false;
    let mut i = start + 1;
    while i < lines.len() {
        let t = lines[i].trim();
        i += 1;
        if t.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code {
            if t.starts_with("#|") {
                depth += 1;
            } else if t.starts_with("|#") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if let Some(r) = rows.last_mut() {
                    r.push('\n');
                    r.push_str(t);
                }
                continue;
            } else if depth == 0 && t.starts_with("||") {
                rows.push(t.to_string());
                continue;
            }
        }
        if let Some(r) = rows.last_mut() {
            r.push('\n');
            r.push_str(t);
        }
    }
    (rows, i)
}

/// Turns table rows into parameters, when the header says the table describes names and types.
fn rows_to_params(rows: &[String]) -> Vec<Param> {
    let Some(header) = rows.first() else {
        return Vec::new();
    };
    let h = header.to_ascii_lowercase();
    let first = first_cell(header).to_ascii_lowercase();
    let name_col = [
        "**name**",
        "**parameter**",
        "**field**",
        "**parameter name**",
    ]
    .iter()
    .any(|n| first.trim().starts_with(n));
    // Some tables have no header row: the first row is already `**NAME**` + a code type.
    let headerless = !name_col
        && bold_name(first_cell(header)).is_some()
        && !code_spans(first_cell(header)).is_empty();
    if !headerless && (!name_col || !h.contains("type")) {
        return Vec::new();
    }
    // Three columns: `|| **Field** | **Type** | **Description** ||`.
    let three = h.contains("| **type** |");
    let body = if headerless { rows } else { &rows[1..] };
    let mut out = Vec::new();
    for row in body {
        let cell = first_cell(row);
        let Some((name, required)) = bold_name(cell) else {
            continue;
        };
        let mut types = code_spans(&cell[cell.find("**").unwrap_or(0)..]);
        // Drop the name itself when it was written as code inside the bold.
        types.retain(|t| *t != name);
        if (three || types.is_empty())
            && let Some(second) = nth_cell(row, 1)
        {
            types = code_spans(second);
            if types.is_empty() {
                let s = second.trim().trim_matches('*').trim();
                if !s.is_empty() && s.len() < 40 {
                    types.push(s.to_string());
                }
            }
        }
        out.push(Param {
            name,
            types,
            required,
        });
    }
    out
}

/// The text of the first cell of a row (after the leading `||`).
fn first_cell(row: &str) -> &str {
    nth_cell(row, 0).unwrap_or("")
}

/// The n-th cell of a row, splitting on `|` outside backticks and not escaped.
fn nth_cell(row: &str, n: usize) -> Option<&str> {
    let body = row.trim().trim_start_matches("||");
    let body = body.strip_suffix("||").unwrap_or(body);
    let bytes = body.as_bytes();
    let mut cells = Vec::new();
    let mut start = 0;
    let mut in_tick = false;
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 1,
            b'`' => in_tick = !in_tick,
            b'|' if !in_tick => {
                cells.push(&body[start..k]);
                start = k + 1;
            }
            _ => {}
        }
        k += 1;
    }
    cells.push(&body[start..]);
    cells.get(n).copied()
}

/// `**fields*** ` -> (`fields`, true); `**TITLE**` -> (`TITLE`, false).
fn bold_name(cell: &str) -> Option<(String, bool)> {
    let c = cell.trim_start();
    let rest = c.strip_prefix("**")?;
    let end = rest.find("**")?;
    let raw = rest[..end].trim();
    let after = &rest[end + 2..];
    let mut required = after.starts_with('*');
    let mut name = raw.trim_matches('`').to_string();
    if let Some(stripped) = name.strip_suffix("^*^") {
        // `**id^*^**`: the required marker written as a superscript inside the bold.
        name = stripped.to_string();
        required = true;
    } else if let Some(stripped) = name.strip_suffix('*') {
        // `**name\***` or `**name***` written with the star inside the bold.
        name = stripped.trim_end_matches('\\').to_string();
        required = true;
    }
    let name = name.replace("\\_", "_");
    if name.is_empty() || name.contains(' ') && !name.starts_with("UF_") {
        return None;
    }
    Some((name, required))
}

/// All `` `code` `` spans in a text.
fn code_spans(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(s) = rest.find('`') {
        let after = &rest[s + 1..];
        let Some(e) = after.find('`') else { break };
        let span = after[..e].trim();
        if !span.is_empty() {
            out.push(span.to_string());
        }
        rest = &after[e + 1..];
    }
    out
}

/// Maps one documented type to a spec type; the bool says whether it was a guess.
fn map_doc_type(doc: &str, name: &str) -> (String, bool) {
    let d = doc.trim().to_ascii_lowercase();
    if let Some(inner) = d.strip_suffix("[]") {
        let (t, g) = map_doc_type(inner, "");
        // `crm_multifield[]` is already a list.
        return if t.starts_with("list<") {
            (t, g)
        } else {
            (format!("list<{t}>"), g)
        };
    }
    if let Some(inner) = d.strip_prefix("array<").and_then(|x| x.strip_suffix('>')) {
        let (t, g) = map_doc_type(inner, "");
        return (format!("list<{t}>"), g);
    }
    if let Some((_, "id")) = d.rsplit_once('.') {
        return ("id".to_string(), false);
    }
    let is_id_name = name.eq_ignore_ascii_case("id");
    let t = match d.as_str() {
        "integer" | "int" | "number" if is_id_name => "id",
        "integer" | "int" | "long" => "int",
        "number" | "float" => "float",
        "double" | "decimal" | "money" => "decimal",
        "string" | "text" | "crm_status" | "crm_currency" | "char(1)" | "url" | "email"
        | "phone" | "enum" => "string",
        "boolean" | "bool" | "char" | "y/n" => "bool",
        "date" => "date",
        "datetime" | "time" | "isodate" => "datetime",
        "object" | "json" => "object",
        "array" | "list" => "list<value>",
        "user" | "crm_company" | "crm_contact" | "crm_lead" | "crm_deal" | "crm_category"
        | "crm_quote" | "group" | "sonet_group" | "task" => "id",
        "crm_multifield" => "list<object>",
        "any" | "mixed" => "value",
        _ => return ("value".to_string(), true),
    };
    (t.to_string(), d == "char" || d == "number")
}

/// The spec type of a parameter, with a review note when it had to be guessed.
fn map_param_type(name: &str, types: &[String]) -> (String, Option<String>) {
    let lower = name.to_ascii_lowercase();
    if types.is_empty() {
        return ("value".to_string(), Some("no type documented".to_string()));
    }
    if types.len() > 1 {
        return (
            "value".to_string(),
            Some(format!("several types documented: {}", types.join(", "))),
        );
    }
    let (mut t, guessed) = map_doc_type(&types[0], name);
    if lower == "select" && t == "list<value>" {
        t = "list<string>".to_string();
    }
    let note = if guessed {
        Some(format!("documented as `{}`", types[0]))
    } else {
        None
    };
    (t, note)
}

fn is_objectish(types: &[String]) -> bool {
    types.is_empty()
        || types.iter().any(|t| {
            let t = t.to_ascii_lowercase();
            t == "object" || t == "array" || t.ends_with("[]")
        })
}

/// Renders an entity draft from a field list.
fn draft_entity(name: &str, docs_path: &str, fields: &[Param], origin: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# review: entity drafted from the {origin}; merge with an existing entity if there is one"
    );
    let _ = writeln!(out, "[entity.{name}]");
    let _ = writeln!(
        out,
        "doc = {}  # review: write our own words",
        toml_str(&format!("{name} as the docs describe it."))
    );
    let _ = writeln!(out, "docs = {}", toml_str(docs_path));
    if let Some(id) = fields.iter().find(|f| f.name == "ID" || f.name == "id") {
        let _ = writeln!(out, "id = {}", toml_str(&id.name));
    }
    let mut parts = Vec::new();
    let mut notes = Vec::new();
    for f in fields {
        if f.name.ends_with("...")
            || f.name.ends_with('_')
            || f.name.contains('*')
            || f.name.contains('.')
        {
            notes.push(format!("{} (pattern, kept in extra)", f.name));
            continue;
        }
        let (mut ty, guessed) = match f.types.first() {
            Some(t) if f.types.len() == 1 => map_doc_type(t, &f.name),
            Some(_) | None => ("value".to_string(), true),
        };
        if (f.name == "ID" || f.name == "id") && ty == "int" {
            ty = "id".to_string();
        }
        if guessed {
            notes.push(format!("{} ({})", f.name, f.types.join("|")));
        }
        parts.push(format!("{} = {}", toml_key(&f.name), toml_str(&ty)));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "# review: guessed or skipped: {}", notes.join(", "));
    }
    let _ = writeln!(out, "fields = {{ {} }}", parts.join(", "));
    out
}

/// Risk class from the last segment of the method name, and whether it was a guess.
fn guess_risk(method: &str) -> (&'static str, bool) {
    let last = method
        .rsplit('.')
        .next()
        .unwrap_or(method)
        .to_ascii_lowercase();
    let read = [
        "get",
        "list",
        "fields",
        "getlist",
        "getfields",
        "search",
        "count",
        "status",
        "current",
        "time",
    ];
    let destructive = [
        "delete",
        "remove",
        "terminate",
        "kill",
        "clear",
        "unbind",
        "unregister",
        "deletetask",
    ];
    if read.iter().any(|r| last == *r) {
        ("read", false)
    } else if destructive.iter().any(|d| last == *d) {
        ("destructive", false)
    } else if last.starts_with("get") || last.starts_with("list") {
        ("read", true)
    } else if last.starts_with("delete") || last.starts_with("remove") {
        ("destructive", true)
    } else {
        ("write", true)
    }
}

/// `crm.deal.add` -> `Deal`, `tasks.api.scrum.sprint.list` -> `Sprint`, `user.get` -> `User`.
fn entity_name_for(method: &str) -> String {
    let segs: Vec<&str> = method.split('.').collect();
    let seg = if segs.len() >= 2 {
        segs[segs.len() - 2]
    } else {
        segs[0]
    };
    camel(seg)
}

/// `sonet_group` -> `SonetGroup`, `externalCall` -> `ExternalCall`.
fn camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split(['_', '-', '.']) {
        let mut chars = part.chars();
        if let Some(f) = chars.next() {
            out.extend(f.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// Response shape from the example `result` (or the documented result type).
fn guess_response(
    method: &str,
    result: Option<&Json>,
    doc_type: Option<&str>,
    entity: &str,
) -> (String, Option<String>) {
    let last = method.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match result {
        Some(Json::Bool(_)) => ("bool".into(), None),
        Some(Json::Num(_)) if last.starts_with("add") || last == "register" || last == "start" => {
            ("id".into(), None)
        }
        Some(Json::Str(s)) if s.parse::<u64>().is_ok() && last.starts_with("add") => {
            ("id".into(), None)
        }
        Some(Json::Str(_)) => ("string".into(), None),
        Some(Json::Num(_)) => ("value".into(), Some("numeric result".into())),
        Some(Json::Array(items)) => {
            if items.iter().all(|i| matches!(i, Json::Object(_))) {
                (format!("list:{entity}"), Some("entity name guessed".into()))
            } else {
                ("value".into(), Some("list of scalars".into()))
            }
        }
        Some(Json::Object(entries)) => {
            if entries.len() == 1 {
                let (k, v) = &entries[0];
                match v {
                    Json::Array(_) => {
                        return (
                            format!("wrapped_list:{k}:{entity}"),
                            Some("entity name guessed".into()),
                        );
                    }
                    Json::Object(_) => {
                        return (
                            format!("wrapped:{k}:{entity}"),
                            Some("entity name guessed".into()),
                        );
                    }
                    _ => {}
                }
            }
            if !entries.is_empty()
                && entries
                    .iter()
                    .all(|(k, v)| k.parse::<u64>().is_ok() && matches!(v, Json::Object(_)))
            {
                return (format!("map:{entity}"), Some("entity name guessed".into()));
            }
            if last.contains("get") || last == "current" {
                (
                    format!("entity:{entity}"),
                    Some("entity name guessed".into()),
                )
            } else {
                ("value".into(), Some("object result".into()))
            }
        }
        Some(Json::Null) | None => match doc_type.map(str::to_ascii_lowercase).as_deref() {
            Some("boolean" | "bool") => {
                ("bool".into(), Some("from the Returned Data table".into()))
            }
            Some("integer") if last.starts_with("add") => {
                ("id".into(), Some("from the Returned Data table".into()))
            }
            Some("string") => ("string".into(), Some("from the Returned Data table".into())),
            _ => ("value".into(), Some("no example response".into())),
        },
    }
}

fn default_summary(method: &str) -> String {
    let last = method.rsplit('.').next().unwrap_or(method);
    format!("{last} ({method}).")
}

/// Our own generic words for common parameters; anything else gets its name spelled out.
fn param_doc(name: &str, method: &str) -> String {
    let entity = entity_name_for(method).to_ascii_lowercase();
    match name.to_ascii_lowercase().as_str() {
        "id" => format!("Identifier of the {entity}."),
        "fields" => format!("Field values of the {entity}."),
        "select" => "Fields to return.".into(),
        "filter" => "Field filter; keys may carry operator prefixes.".into(),
        "order" => "Sort order: field -> ASC | DESC.".into(),
        "start" => "Offset of the first record (pages of 50).".into(),
        "params" => "Extra options of the call.".into(),
        "entitytypeid" => "CRM object type id (deal 2, contact 3, ...).".into(),
        _ => {
            let words = split_words(name);
            format!("{}.", capitalize(&words))
        }
    }
}

/// `DIALOG_ID` -> `dialog id`, `entityTypeId` -> `entity type id`.
fn split_words(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when possible, quoted otherwise.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// A minimal JSON value that keeps object key order (std only; `serde_json` is not a dependency).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// The number as written.
    Num(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing characters at {}", p.i));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(e) => e.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_json_str(s, out),
            Json::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                out.push('{');
                for (n, (k, v)) in entries.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_json_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(format!("expected `{lit}` at {}", self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.expect("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.expect("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.expect("null").map(|()| Json::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                Ok(Json::Num(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => Err(format!("unexpected input at {}", self.i)),
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.i += 1;
        let mut entries = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Json::Object(entries));
        }
        loop {
            self.ws();
            let k = self.string()?;
            self.ws();
            self.expect(":")?;
            let v = self.value()?;
            entries.push((k, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(entries));
                }
                _ => return Err(format!("expected `,` or `}}` at {}", self.i)),
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(format!("expected `,` or `]` at {}", self.i)),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(format!("expected a string at {}", self.i));
        }
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(
                                self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?,
                            )
                            .map_err(|e| e.to_string())?;
                            let mut code =
                                u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                            self.i += 4;
                            if (0xD800..0xDC00).contains(&code)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                let lo_hex = std::str::from_utf8(
                                    self.s
                                        .get(self.i + 2..self.i + 6)
                                        .ok_or("short \\u escape")?,
                                )
                                .map_err(|e| e.to_string())?;
                                let lo =
                                    u32::from_str_radix(lo_hex, 16).map_err(|e| e.to_string())?;
                                self.i += 6;
                                code = 0x10000
                                    + ((code - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let ch = char::from_u32(code).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        Err("unterminated string".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD_PAGE: &str = r#"# Create a New Deal crm.deal.add

{% note tip "" %}

Tip text.

{% endnote %}

> Scope: [`crm`](../../scopes/permissions.md)
>
> Who can execute the method: any user

The method `crm.deal.add` creates a new deal.

## Method Parameters

{% include [Note on required parameters](../../../_includes/required.md) %}

#|
|| **Name**
`type` | **Description** ||
|| **fields***
[`object`](../../data-types.md) | Object format:

```
{
    field_1: value_1,
}
```

The list is described [below](#fields)
||
|| **params**
[`object`](../../data-types.md) | Extra parameters ||
|#

### Parameter fields {#fields}

#|
|| **Name**
`type` | **Description** ||
|| **TITLE**
[`string`](../../data-types.md) | Title. ||
|| **OPPORTUNITY**
[`double`](../../data-types.md) | Amount. ||
|| **CONTACT_IDS**
[`crm_contact[]`](../data-types.md) | Contacts. ||
|| **OPENED**
[`char`](../../data-types.md) | Open to all. Values:
- `Y` — yes
- `N` — no
||
|| **UF_CRM_...** | Custom fields ||
|#

## Code Examples

{% list tabs %}

- cURL (Webhook)

    ```bash
    curl -d '{"fields":{}}' https://example/rest/crm.deal.add
    ```

{% endlist %}

## Response Handling

HTTP Status: **200**

```json
{
    "result": 394,
    "time": {
        "start": 1725013197.635808,
        "date_start": "2024-08-30T12:19:57+02:00"
    }
}
```

### Returned Data

#|
|| **Name**
`type` | **Description** ||
|| **result**
[`integer`](../../data-types.md) | Id of the new deal ||
|| **time**
[`time`](../../data-types.md#time) | Timing ||
|#

## Error Handling

```json
{
    "error": "",
    "error_description": "Parameter 'fields' must be array."
}
```
"#;

    const LIST_PAGE: &str = r#"# Get a List of Tasks tasks.task.list

> Scope: [`task`](../scopes/permissions.md)
>
> Who can execute the method: any user

## Method Parameters

#|
|| **Name**
`type` | **Description** ||
|| **order**
[`object`](../data-types.md) | Sorting ||
|| **filter**
[`object`](../data-types.md) | Filter with `>`, `<` and `\|` prefixes ||
|| **select**
[`array`](../data-types.md) | Fields ||
|| **start**
[`integer`](../data-types.md) | Offset ||
|#

## Response Handling

HTTP Status: **200**

```json
{
    "result": {
        "tasks": [
            {"id": "8017", "title": "Täsk \"one\"", "favorite": "N"}
        ]
    },
    "total": 1,
    "time": {"start": 1}
}
```
"#;

    const FIELDS_PAGE: &str = r#"# Get Fields of the Deal crm.deal.fields

> Scope: [`crm`](../../scopes/permissions.md)

## Method Parameters

No parameters.

## Response Handling

```json
{
    "result": {
        "ID": {"type": "integer", "isRequired": false, "isMultiple": false},
        "TITLE": {"type": "string", "isMultiple": false},
        "CONTACT_IDS": {"type": "crm_contact", "isMultiple": true},
        "DATE_CREATE": {"type": "datetime", "isMultiple": false}
    }
}
```
"#;

    const THREE_COLUMN_PAGE: &str = r#"# Delete a Chat Bot imbot.unregister

> Scope: [`imbot`](../scopes/permissions.md), [`im`](../scopes/permissions.md)

## Method Parameters

#|
|| **Field** | **Type** | **Description** ||
|| **BOT_ID*** | `integer` | Bot id ||
|| **CLIENT_ID** | `string` | Client ||
|#

## Response Handling

```json
{ "result": true }
```
"#;

    const HEADERLESS_PAGE: &str = r#"# Get the list of bookings booking.v1.booking.list

> Scope: [`booking`](../../scopes/permissions.md)

## Method Parameters

#|
|| **FILTER**
[`object`](../../data-types.md) | Filter, fields [below](#filter) ||
|| **ORDER**
[`object`](../../data-types.md) | Sorting ||
|#

### Filter Parameters {#filter}

#|
|| **Name**
`type` | **Description** ||
|| **within**
[`object`](../../data-types.md) | Period ||
|#

## Response Handling

```json
{"result": {"booking": [{"id": 15, "responsible": "user.id"}]}}
```
"#;

    fn parse(toml_text: &str) -> toml::Table {
        toml::from_str(toml_text)
            .unwrap_or_else(|e| panic!("draft is not valid TOML: {e}\n{toml_text}"))
    }

    #[test]
    fn drafts_an_add_method_with_a_nested_entity() {
        let draft = draft_from_markdown(ADD_PAGE, "crm/deals/crm-deal-add.md").unwrap();
        let t = parse(&draft);
        let m = &t["method"]["crm.deal.add"];
        assert_eq!(m["docs"].as_str(), Some("crm/deals/crm-deal-add.md"));
        assert_eq!(m["risk"].as_str(), Some("write"));
        assert_eq!(m["scopes"].as_array().unwrap()[0].as_str(), Some("crm"));
        assert_eq!(m["response"].as_str(), Some("id"));
        assert_eq!(m["example"].as_str(), Some("394"));
        let fields = &m["params"]["fields"];
        assert_eq!(fields["type"].as_str(), Some("entity:Deal"));
        assert_eq!(fields["required"].as_bool(), Some(true));
        assert!(m["params"]["params"].get("required").is_none());
        let e = &t["entity"]["Deal"]["fields"];
        assert_eq!(e["TITLE"].as_str(), Some("string"));
        assert_eq!(e["OPPORTUNITY"].as_str(), Some("decimal"));
        assert_eq!(e["CONTACT_IDS"].as_str(), Some("list<id>"));
        assert_eq!(e["OPENED"].as_str(), Some("bool"));
        assert!(e.get("UF_CRM_...").is_none());
        assert!(draft.contains("# review: guessed from the method name"));
    }

    #[test]
    fn drafts_a_wrapped_list_with_keyset_pagination() {
        let draft = draft_from_markdown(LIST_PAGE, "tasks/tasks-task-list.md").unwrap();
        let t = parse(&draft);
        let m = &t["method"]["tasks.task.list"];
        assert_eq!(m["risk"].as_str(), Some("read"));
        assert_eq!(m["response"].as_str(), Some("wrapped_list:tasks:Task"));
        assert_eq!(m["pagination"].as_str(), Some("keyset"));
        assert_eq!(m["params"]["select"]["type"].as_str(), Some("list<string>"));
        assert_eq!(m["params"]["start"]["type"].as_str(), Some("int"));
        assert_eq!(
            m["example"].as_str(),
            Some(r#"{"tasks":[{"id":"8017","title":"Täsk \"one\"","favorite":"N"}]}"#)
        );
        assert!(!draft.contains("No parameters"));
    }

    #[test]
    fn reads_three_column_tables_and_several_scopes() {
        let draft =
            draft_from_markdown(THREE_COLUMN_PAGE, "chat-bots/imbot-unregister.md").unwrap();
        let t = parse(&draft);
        let m = &t["method"]["imbot.unregister"];
        assert_eq!(m["risk"].as_str(), Some("destructive"));
        assert_eq!(m["response"].as_str(), Some("bool"));
        let scopes: Vec<&str> = m["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(scopes, ["imbot", "im"]);
        assert_eq!(m["params"]["BOT_ID"]["type"].as_str(), Some("int"));
        assert_eq!(m["params"]["BOT_ID"]["required"].as_bool(), Some(true));
        assert_eq!(m["params"]["CLIENT_ID"]["type"].as_str(), Some("string"));
    }

    #[test]
    fn drafts_an_entity_from_a_fields_page() {
        let draft = draft_entity_from_markdown(FIELDS_PAGE, "crm/deals/crm-deal-fields.md", "Deal")
            .unwrap();
        let t = parse(&draft);
        let e = &t["entity"]["Deal"];
        assert_eq!(e["id"].as_str(), Some("ID"));
        assert_eq!(e["fields"]["ID"].as_str(), Some("id"));
        assert_eq!(e["fields"]["CONTACT_IDS"].as_str(), Some("list<id>"));
        assert_eq!(e["fields"]["DATE_CREATE"].as_str(), Some("datetime"));
        let wrapped = "# Fields sale.order.getFields\n\n## Response Handling\n\n```json\n\
                       {\"result\": {\"order\": {\"id\": {\"type\": \"integer\"}, \"price\": {\"type\": \"double\"}}}}\n```\n";
        let t = parse(
            &draft_entity_from_markdown(wrapped, "sale/order/sale-order-get-fields.md", "Order")
                .unwrap(),
        );
        assert_eq!(t["entity"]["Order"]["fields"]["id"].as_str(), Some("id"));
        assert_eq!(
            t["entity"]["Order"]["fields"]["price"].as_str(),
            Some("decimal")
        );
        let listed = "# F biconnector.source.fields\n\n## Response Handling\n\n```json\n\
                      {\"result\": {\"fields\": [{\"title\": \"title\", \"type\": \"string\"}]}}\n```\n";
        let t = parse(&draft_entity_from_markdown(listed, "b.md", "Source").unwrap());
        assert_eq!(
            t["entity"]["Source"]["fields"]["title"].as_str(),
            Some("string")
        );
        let draft = draft_from_markdown(FIELDS_PAGE, "crm/deals/crm-deal-fields.md").unwrap();
        assert_eq!(
            parse(&draft)["method"]["crm.deal.fields"]["risk"].as_str(),
            Some("read")
        );
    }

    #[test]
    fn reads_headerless_tables_and_notes_nested_filter_keys() {
        let draft = draft_from_markdown(
            HEADERLESS_PAGE,
            "booking/booking/booking-v1-booking-list.md",
        )
        .unwrap();
        let t = parse(&draft);
        let m = &t["method"]["booking.v1.booking.list"];
        assert_eq!(m["params"]["FILTER"]["type"].as_str(), Some("object"));
        assert_eq!(m["params"]["ORDER"]["type"].as_str(), Some("object"));
        assert_eq!(m["response"].as_str(), Some("wrapped_list:booking:Booking"));
        assert!(draft.contains("documented keys: within"));
        assert!(t.get("entity").is_none());
        assert_eq!(map_doc_type("user.id", "x"), ("id".to_string(), false));
    }

    #[test]
    fn prefers_the_method_the_examples_call() {
        let md = "# Delete department.department.delete\n\n> Scope: [`department`](x.md)\n\n## Method Parameters\n\n\
                  #|\n|| **Name**\n`type` | **Description** ||\n|| **ID***\n[`integer`](x.md) | Id ||\n|#\n\n\
                  ## Code Examples\n\n    ```bash\n    curl -X POST \\\n    https://**put_your_bitrix24_address**/rest/department.delete\n    ```\n";
        let draft = draft_from_markdown(md, "departments/department-delete.md").unwrap();
        let t = parse(&draft);
        let m = &t["method"]["department.delete"];
        assert_eq!(m["risk"].as_str(), Some("destructive"));
        assert_eq!(m["params"]["ID"]["type"].as_str(), Some("id"));
        assert!(draft.contains("the title says `department.department.delete`"));
    }

    #[test]
    fn drafts_an_entity_from_a_response_object_table() {
        let md = "# Get messages im.dialog.messages.get\n\n## Response Handling\n\n### Returned Data\n\n\
                  #|\n|| **Name**\n`type` | **Description** ||\n|| **result**\n[`object`](x.md) | Root ||\n|#\n\n\
                  #### Message Object {#message}\n\n#|\n|| **Name**\n`type` | **Description** ||\n\
                  || **id**\n[`integer`](x.md) | Id ||\n|| **date**\n[`datetime`](x.md) | Sent ||\n|#\n";
        let t = parse(
            &draft_entity_from_markdown(md, "chats/messages/im-dialog-messages-get.md", "Message")
                .unwrap(),
        );
        assert_eq!(t["entity"]["Message"]["id"].as_str(), Some("id"));
        assert_eq!(
            t["entity"]["Message"]["fields"]["date"].as_str(),
            Some("datetime")
        );
    }

    #[test]
    fn rejects_a_page_without_a_method_name() {
        assert!(draft_from_markdown("# Overview\n\nText.\n", "x/index.md").is_err());
    }

    #[test]
    fn guesses_risk_from_the_name() {
        assert_eq!(guess_risk("crm.deal.list"), ("read", false));
        assert_eq!(guess_risk("bizproc.workflow.kill"), ("destructive", false));
        assert_eq!(guess_risk("event.offline.clear"), ("destructive", false));
        assert_eq!(guess_risk("landing.site.getList"), ("read", false));
        assert_eq!(guess_risk("tasks.task.complete"), ("write", true));
    }

    #[test]
    fn parses_json_escapes_and_keeps_key_order() {
        let j = Json::parse(r#"{"b": [1, -2.5e3, null], "a": "x\u00e9\n", "c": {}}"#).unwrap();
        assert_eq!(
            j.to_compact(),
            "{\"b\":[1,-2.5e3,null],\"a\":\"x\u{e9}\\n\",\"c\":{}}"
        );
        assert!(Json::parse("{\"a\": 1,}").is_err());
    }

    #[test]
    fn splits_cells_outside_code_and_escapes() {
        let row = "|| **FILTER** | `a|b` and \\| pipe | third ||";
        assert_eq!(nth_cell(row, 1), Some(" `a|b` and \\| pipe "));
        assert_eq!(nth_cell(row, 2), Some(" third "));
        assert_eq!(
            bold_name("**entityTypeId***"),
            Some(("entityTypeId".to_string(), true))
        );
        assert_eq!(bold_name("**id^*^**"), Some(("id".to_string(), true)));
        assert_eq!(nested_param_name("Parameter fields {#fields}"), "fields");
        assert_eq!(nested_param_name("FIELDS Parameter"), "FIELDS");
    }
}
