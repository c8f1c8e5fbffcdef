//! Shape conformance with the docs: every specced method with a documented example answer
//! (`example` in `specs/*.toml`) is called on the emulator with the docs' own example request
//! (`tests/conformance/requests.json`, read from the docs' cURL examples) and the shape of its
//! answer is compared with the documented one: envelope keys, row keys, and the JSON kind of each
//! value (string vs number, `"Y"/"N"` vs bool, `""` vs `null`, list vs object, wrappers).
//!
//! `tests/conformance/known.txt` lists the differences still open, one `method<TAB>path<TAB>what`
//! a line. The test fails on a difference the list lacks (a regression) and on a line of the list
//! that no longer differs (delete it). `CONFORMANCE_WRITE=1` rewrites the list;
//! `CONFORMANCE_DOCS=<git dir of the docs mirror>` first refreshes the requests from the docs
//! (an example whose method has no recorded request is listed, not compared).

mod support;

use bitrix24_codegen::spec::{self, MethodSpec, Spec};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

mod shape {
    //! The shape comparison: kinds of JSON values and the paths where two answers differ.
    use serde_json::Value;

    /// The kind of a value, as far as a client's decoder cares.
    pub fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(s) if s.is_empty() => "empty string",
            Value::String(s) if s == "Y" || s == "N" => "Y/N string",
            Value::String(s) if is_number(s) => "number string",
            Value::String(s) if is_datetime(s) => "ISO datetime string",
            Value::String(_) => "string",
            Value::Array(_) => "list",
            Value::Object(_) => "object",
        }
    }

    fn is_number(s: &str) -> bool {
        let d = s.strip_prefix('-').unwrap_or(s);
        let mut parts = d.splitn(2, '.');
        let int = parts.next().unwrap_or_default();
        let frac = parts.next();
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
    }

    /// `2024-05-23T18:18:25+02:00`: a date, `T`, a time and an offset.
    fn is_datetime(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 25
            && b[4] == b'-'
            && b[10] == b'T'
            && matches!(b[b.len() - 6], b'+' | b'-')
            && b[b.len() - 3] == b':'
    }

    /// Whether two kinds differ in a way a decoder sees. A documented `null` only says the
    /// docs' portal had no value there, and an empty string holds no format, so neither is
    /// compared with another string kind; the string kinds are compared with each other only
    /// when both hold a value.
    fn differ(doc: &Value, emu: &Value) -> bool {
        let (d, e) = (kind(doc), kind(emu));
        if d == e || doc.is_null() {
            return false;
        }
        match (doc, emu) {
            (Value::String(a), Value::String(b)) => {
                !a.is_empty() && !b.is_empty() && (d != "string" || e == "Y/N string")
            }
            _ => true,
        }
    }

    /// An object whose keys are all ids (`{"12": {...}}`, PHP maps by id).
    fn keyed_by_id(m: &serde_json::Map<String, Value>) -> bool {
        !m.is_empty()
            && m.keys()
                .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The differences between the documented value `doc` and the emulator's `emu` under
    /// `path`: `(path, what)`.
    pub fn diff(path: &str, doc: &Value, emu: &Value, out: &mut Vec<(String, String)>) {
        if differ(doc, emu) {
            out.push((
                path.to_string(),
                format!("docs {}, emulator {}", kind(doc), kind(emu)),
            ));
            return;
        }
        match (doc, emu) {
            (Value::Array(d), Value::Array(e)) => match (d.first(), e.first()) {
                (Some(d0), Some(e0)) => diff(&format!("{path}[]"), d0, e0, out),
                (Some(_), None) => out.push((
                    format!("{path}[]"),
                    "docs rows, emulator an empty list".into(),
                )),
                _ => {}
            },
            (Value::Object(d), Value::Object(e)) if keyed_by_id(d) => {
                if let (Some(d0), Some(e0)) = (d.values().next(), e.values().next()) {
                    diff(&format!("{path}{{id}}"), d0, e0, out);
                }
            }
            (Value::Object(d), Value::Object(e)) => {
                for (k, dv) in d {
                    let p = format!("{path}.{k}");
                    match e.get(k) {
                        Some(ev) => diff(&p, dv, ev, out),
                        None => out.push((p, "missing".into())),
                    }
                }
                for k in e.keys().filter(|k| !d.contains_key(*k)) {
                    out.push((format!("{path}.{k}"), "extra".into()));
                }
            }
            _ => {}
        }
    }
}

fn specs() -> Vec<Spec> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs");
    spec::load_dir(&dir, "specs").expect("specs")
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

mod docs {
    //! Reading the docs' example request and envelope of one method page (refresh only).
    use serde_json::Value;

    /// The JSON of the first webhook cURL example (`-d '{...}'` without `auth`), shell
    /// substitutions such as `'"$(date ...)"'` replaced by a fixed date.
    pub fn request(md: &str) -> Option<Value> {
        let mut rest = md;
        while let Some(at) = rest.find("-d '") {
            let body = &rest[at + 4..];
            rest = body;
            let mut text = String::new();
            let mut s = body;
            while let Some(end) = s.find('\'') {
                text.push_str(&s[..end]);
                let Some(sub) = s[end..].strip_prefix("'\"$(") else {
                    break;
                };
                let Some(close) = sub.find(")\"'") else { break };
                text.push_str("2024-01-01");
                s = &sub[close + 3..];
            }
            if text.contains("\"auth\"") {
                continue;
            }
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                return Some(v);
            }
        }
        None
    }

    /// The top-level keys of the first JSON block under a `## ...Response...` heading.
    pub fn envelope(md: &str) -> Option<Vec<String>> {
        let mut in_response = false;
        let mut code: Option<String> = None;
        for line in md.lines() {
            let t = line.trim();
            if let Some(c) = &mut code {
                if t.starts_with("```") {
                    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(c) {
                        return Some(m.keys().cloned().collect());
                    }
                    code = None;
                } else {
                    c.push_str(line);
                    c.push('\n');
                }
            } else if let Some(h) = t.strip_prefix("## ") {
                in_response = h.to_ascii_lowercase().contains("response");
            } else if in_response && t.eq_ignore_ascii_case("```json") {
                code = Some(String::new());
            }
        }
        None
    }
}

/// Rebuilds `requests.json` from the docs mirror at `git_dir`.
fn refresh(git_dir: &str, specs: &[Spec]) {
    let mut out = Map::new();
    for m in specs.iter().flat_map(|s| s.methods.values()) {
        if m.example.is_none() {
            continue;
        }
        let page = std::process::Command::new("git")
            .args(["--git-dir", git_dir, "show"])
            .arg(format!("HEAD:api-reference/{}", m.docs))
            .output()
            .expect("git");
        let md = String::from_utf8_lossy(&page.stdout);
        out.insert(
            m.name.clone(),
            json!({"request": docs::request(&md), "envelope": docs::envelope(&md)}),
        );
    }
    let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap() + "\n";
    std::fs::write(fixture_dir().join("requests.json"), text).unwrap();
}

/// The emulator and the methods the specs describe.
struct Run<'a> {
    wh: String,
    methods: BTreeMap<&'a str, &'a MethodSpec>,
    requests: Map<String, Value>,
}

/// Keys of a request that name the record the call is about.
fn is_id_key(k: &str) -> bool {
    matches!(k, "id" | "ID" | "taskId" | "TASKID" | "TASK_ID")
}

/// The first id of an `add` answer: a bare id or the `id` of a wrapped row.
fn new_id(result: &Value) -> Option<Value> {
    match result {
        Value::Number(_) | Value::String(_) => Some(result.clone()),
        Value::Object(m) => m
            .get("id")
            .or_else(|| m.get("ID"))
            .cloned()
            .or_else(|| m.values().find_map(new_id)),
        _ => None,
    }
}

/// The documented example row of a `get`/`list` answer.
fn example_row(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Array(a) => a.first().and_then(example_row),
        Value::Object(m) if m.len() == 1 => m.values().next().and_then(example_row).or(Some(m)),
        Value::Object(m) => Some(m),
        _ => None,
    }
}

impl Run<'_> {
    async fn call(&self, method: &str, body: &Value) -> (u16, Value) {
        support::post(&format!("{}{method}", self.wh), body).await
    }

    fn request(&self, method: &str) -> Value {
        self.requests
            .get(method)
            .and_then(|r| r.get("request"))
            .filter(|r| r.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    /// Creates a record with `<prefix>.add` and returns its id. When `<prefix>.get` has a
    /// documented row in the request's key style, the fields are that row's (ids of multi-field items left out, they name
    /// items of the docs' portal), so the answer can hold the documented values; the documented
    /// `add` request gives the rest of the call.
    async fn seed(&self, prefix: &str, call: &Value) -> Option<Value> {
        let add = format!("{prefix}.add");
        self.methods.get(add.as_str())?;
        let mut req = self.request(&add);
        // The context the call names (`entityTypeId`) is the record's too.
        if let (Value::Object(r), Value::Object(c)) = (&mut req, call) {
            for (k, v) in c.iter().filter(|(k, v)| !is_id_key(k) && !v.is_object()) {
                if let Some(slot) = r.get_mut(k) {
                    *slot = v.clone();
                }
            }
        }
        let row = self
            .methods
            .get(format!("{prefix}.get").as_str())
            .and_then(|m| m.example.as_deref())
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        let key = if req.get("FIELDS").is_some() {
            "FIELDS"
        } else {
            "fields"
        };
        if let (Some(row), Some(Value::Object(fields))) =
            (row.as_ref().and_then(example_row), req.get_mut(key))
            && fields.keys().any(|k| row.contains_key(k))
        {
            fields.retain(|k, _| row.contains_key(k));
            for (k, v) in row.iter().filter(|(k, v)| !is_id_key(k) && !v.is_null()) {
                let mut v = v.clone();
                if let Value::Array(items) = &mut v {
                    for it in items.iter_mut().filter_map(Value::as_object_mut) {
                        it.remove("ID");
                    }
                }
                fields.insert(k.clone(), v);
            }
        }
        // The docs' portal had its user fields defined: define them here too.
        let defs = format!("{prefix}.userfield.add");
        if self.methods.contains_key(defs.as_str())
            && let Some(Value::Object(fields)) = req.get(key)
        {
            for name in fields.keys().filter(|k| k.starts_with("UF_")) {
                let def = json!({"fields": {"FIELD_NAME": name, "USER_TYPE_ID": "string"}});
                self.call(&defs, &def).await;
            }
        }
        let (_, b) = self.call(&add, &req).await;
        b.get("result").and_then(new_id)
    }

    /// The differences of one method: `(path, what)`.
    async fn check(&self, m: &MethodSpec) -> Vec<(String, String)> {
        let doc: Value = serde_json::from_str(m.example.as_deref().unwrap()).unwrap();
        let mut req = self.request(&m.name);
        let (prefix, action) = m.name.rsplit_once('.').unwrap_or_default();
        if action != "add"
            && let Some(id) = self.seed(prefix, &req).await
            && let Value::Object(o) = &mut req
        {
            for (k, v) in o.iter_mut() {
                if is_id_key(k) {
                    *v = id.clone();
                }
            }
        }
        let (status, body) = self.call(&m.name, &req).await;
        let mut out = Vec::new();
        if let Some(err) = body.get("error") {
            out.push((
                "$".into(),
                format!(
                    "emulator error {status} {}",
                    err.as_str().unwrap_or_default()
                ),
            ));
            return out;
        }
        if let Some(env) = self
            .requests
            .get(&m.name)
            .and_then(|r| r["envelope"].as_array())
        {
            let want: Vec<&str> = env.iter().filter_map(Value::as_str).collect();
            let got = support::keys(&body);
            if want != got {
                out.push((
                    "$envelope".into(),
                    format!("docs {}, emulator {}", want.join(","), got.join(",")),
                ));
            }
        }
        shape::diff("$", &doc, &body["result"], &mut out);
        out
    }
}

#[tokio::test]
async fn documented_examples_have_the_emulators_shape() {
    let specs = specs();
    if let Ok(dir) = std::env::var("CONFORMANCE_DOCS") {
        refresh(&dir, &specs);
    }
    let requests: Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("requests.json")).expect("requests.json"),
    )
    .expect("requests.json is JSON");
    let methods = specs
        .iter()
        .flat_map(|s| s.methods.values())
        .map(|m| (m.name.as_str(), m))
        .collect();
    let e = support::emu().await;
    let run = Run {
        wh: e.webhook_url(),
        methods,
        requests,
    };
    let mut found = BTreeSet::new();
    let mut report = String::new();
    let mut unrecorded = Vec::new();
    for s in &specs {
        let (mut compared, mut identical) = (0, 0);
        for m in s.methods.values().filter(|m| m.example.is_some()) {
            // An example added since the requests were read from the docs is not compared
            // until they are read again (CONFORMANCE_DOCS).
            if !run.requests.contains_key(&m.name) {
                unrecorded.push(m.name.as_str());
                continue;
            }
            compared += 1;
            let d = run.check(m).await;
            if d.is_empty() {
                identical += 1;
            }
            for (path, what) in d {
                found.insert(format!("{}\t{path}\t{what}", m.name));
            }
        }
        let _ = writeln!(
            report,
            "{:<12} compared {compared:>3}  identical {identical:>3}  differing {:>3}",
            s.pack,
            compared - identical
        );
    }
    if !unrecorded.is_empty() {
        let _ = writeln!(
            report,
            "not compared, no request recorded (refresh with CONFORMANCE_DOCS): {}",
            unrecorded.join(", ")
        );
    }
    println!("{report}");
    let known_path = fixture_dir().join("known.txt");
    if std::env::var_os("CONFORMANCE_WRITE").is_some() {
        let mut text = String::from(
            "# Shape differences from the documented examples still open: method, path, what.\n\
             # Written by tests/conformance.rs (CONFORMANCE_WRITE=1); delete a line once it is fixed.\n",
        );
        text.extend(found.iter().map(|l| format!("{l}\n")));
        std::fs::write(&known_path, text).unwrap();
        return;
    }
    let known: BTreeSet<String> = std::fs::read_to_string(&known_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let new: Vec<&String> = found.difference(&known).collect();
    let fixed: Vec<&String> = known.difference(&found).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "{report}\nnew differences (fix the emulator, or record a docs mistake):\n{}\n\
         fixed (delete these lines from tests/conformance/known.txt):\n{}",
        new.iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        fixed
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}
