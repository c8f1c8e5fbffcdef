//! Reading a docs page: title, scopes, parameter tables, nested field tables, the example
//! response.

use serde_json::Value;

/// One documented parameter or field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub(crate) name: String,
    /// The documented types as written (`integer`, `string`, `crm_contact[]`, ...).
    pub(crate) types: Vec<String>,
    pub(crate) required: bool,
    /// The values its description lists (`- \`Y\` — enabled`): (wire value, label).
    pub(crate) values: Vec<(String, String)>,
}

/// What the importer reads from one page.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) method: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) params: Vec<Param>,
    /// Nested tables: (parameter name, its fields).
    pub(crate) nested: Vec<(String, Vec<Param>)>,
    pub(crate) example: Option<Value>,
    /// Documented type of `result` in the "Returned Data" table.
    pub(crate) result_type: Option<String>,
    /// The title's method name when the cURL examples call another one.
    pub(crate) title_mismatch: Option<String>,
    /// The method the examples call when it differs from the (kept) title.
    pub(crate) curl_mismatch: Option<String>,
    /// Object tables of the response section (`#### Message Object`): (heading, fields).
    pub(crate) response_tables: Vec<(String, Vec<Param>)>,
    /// The text of every code block (the request examples), to see what shape a value is sent in.
    pub(crate) code: String,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Section {
    Other,
    Params,
    Response,
}

impl Page {
    pub(crate) fn parse(md: &str) -> Page {
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
                    page.code.push_str(&code);
                    if section == Section::Response && code_lang == "json" && page.example.is_none()
                    {
                        page.example = serde_json::from_str::<Value>(&code).ok();
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
        // The cURL examples name the method when the title does not, fix titles with a
        // doubled segment (`department.department.delete` for `department.delete`) and titles
        // that name the method's namespace (`Pin a Chat at the Top of the im.recent List` calls
        // `im.recent.pin`). Any other disagreement keeps the title and is flagged for review.
        let called = method_from_curl(md);
        match (&page.method, called) {
            (None, Some(c)) => page.method = Some(c),
            (Some(m), Some(c)) if !c.eq_ignore_ascii_case(m) && !called_anywhere(md, m) => {
                page.title_mismatch = Some(m.clone());
                if m.ends_with(&format!(".{c}")) || names_a_method_of(m, &c) {
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

/// Whether `called` is a method of the namespace `title` names (`im.recent` -> `im.recent.pin`),
/// not the same method with the `.json`/`.xml` answer format appended.
fn names_a_method_of(title: &str, called: &str) -> bool {
    let (t, c) = (title.to_ascii_lowercase(), called.to_ascii_lowercase());
    c.strip_prefix(&format!("{t}."))
        .is_some_and(|rest| !matches!(rest, "json" | "xml"))
}

/// `Create a New Deal crm.deal.add` -> `crm.deal.add`; also a name inside the title (`Add the
/// imbot.command.register Command`, `Get the mailservice.get method`): the last word that is one.
pub(crate) fn method_from_title(title: &str) -> Option<String> {
    strip_anchor(title)
        .split_whitespace()
        .rev()
        .map(|w| w.trim_matches(['`', ',', ':', '(', ')']))
        .find(|w| {
            w.contains('.')
                && !w.ends_with('.')
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                && w.starts_with(|c: char| c.is_ascii_lowercase())
        })
        .map(str::to_string)
}

/// The method most often called in `https://.../rest/.../<method>` URLs of the examples.
pub(crate) fn method_from_curl(md: &str) -> Option<String> {
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
pub(crate) fn called_anywhere(md: &str, method: &str) -> bool {
    let needle = format!("/{}", method.to_ascii_lowercase());
    md.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        l.starts_with("https://")
            && l.trim_end_matches(['\\', ' ', '\'', '"'])
                .ends_with(&needle)
    })
}

/// Fallback: the first `` The method `x.y` `` (or `` The `x.y` method ``) in the text.
pub(crate) fn method_from_text(md: &str) -> Option<String> {
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

pub(crate) fn strip_anchor(h: &str) -> &str {
    match h.find(" {#") {
        Some(pos) => h[..pos].trim(),
        None => h.trim(),
    }
}

/// `Parameter fields {#fields}`, `FIELDS Parameter`, `Fields parameter` -> `fields`/`FIELDS`.
pub(crate) fn nested_param_name(h: &str) -> String {
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
pub(crate) fn parse_scopes(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for span in code_spans(line) {
        for s in span.split(',') {
            let s = s.trim();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && !out.iter().any(|x| x == s)
            {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// Reads the YFM table that starts at `lines[start]` (`#|`). Returns its rows (each the joined
/// text between the leading and trailing `||`) and the index of the line after `|#`.
pub(crate) fn read_table(lines: &[&str], start: usize) -> (Vec<String>, usize) {
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
pub(crate) fn rows_to_params(rows: &[String]) -> Vec<Param> {
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
            values: listed_values(row),
        });
    }
    out
}

/// The text of the first cell of a row (after the leading `||`).
pub(crate) fn first_cell(row: &str) -> &str {
    nth_cell(row, 0).unwrap_or("")
}

/// The n-th cell of a row, splitting on `|` outside backticks and not escaped.
pub(crate) fn nth_cell(row: &str, n: usize) -> Option<&str> {
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
pub(crate) fn bold_name(cell: &str) -> Option<(String, bool)> {
    let c = cell.trim_start();
    let rest = c.strip_prefix("**")?;
    let end = rest.find("**")?;
    let raw = rest[..end].trim();
    let after = &rest[end + 2..];
    // `**NAME***`, `**NAME**\*` or `**NAME**^*^` (the star as a superscript after the bold).
    let mut required =
        after.starts_with('*') || after.starts_with("\\*") || after.starts_with("^*^");
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
pub(crate) fn code_spans(text: &str) -> Vec<String> {
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

/// The values a row's description lists, one per line: ``- `Y` — enabled`` (an em or en dash,
/// or a hyphen). Fewer than two is no list.
pub(crate) fn listed_values(row: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in row.lines() {
        let Some(rest) = line.trim().strip_prefix("- `") else {
            continue;
        };
        let Some(end) = rest.find('`') else { continue };
        let wire = rest[..end].trim().trim_matches(['\'', '"']).to_string();
        let label = rest[end + 1..]
            .trim()
            .trim_start_matches(['—', '–', '-', ':'])
            .trim()
            .trim_end_matches(['|', ',', ';', '.'])
            .trim()
            .to_string();
        if !wire.is_empty() && !out.iter().any(|(w, _)| *w == wire) {
            out.push((wire, label));
        }
    }
    if out.len() < 2 { Vec::new() } else { out }
}

/// How the request examples send `name`: `'['` for a list, `'{'` for an object, `None` when no
/// JSON or JavaScript example sends it (`"name": [`, `name: {`).
pub(crate) fn example_shape(code: &str, name: &str) -> Option<char> {
    for quote in ["\"", "'", ""] {
        let key = format!("{quote}{name}{quote}");
        let mut rest = code;
        while let Some(pos) = rest.find(&key) {
            let before = rest[..pos].chars().next_back();
            let after = rest[pos + key.len()..].trim_start();
            rest = &rest[pos + key.len()..];
            if quote.is_empty() && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            // Not PHP's `=>`: a PHP `[...]` is a list and a map alike.
            let value = after
                .strip_prefix(':')
                .filter(|_| !after.starts_with("=>"))
                .map(str::trim_start);
            if let Some(c @ ('[' | '{')) = value.and_then(|v| v.chars().next()) {
                return Some(c);
            }
        }
    }
    None
}
