//! REST 3.0 Knowledge Base 2.0 pages: `note.document.*`, `note.document.tree.list` and
//! `note.document.search.list` (api-reference/note/document/), kept in the side table
//! `note.document` (id -> the page as `note.document.get` answers it) under the knowledge bases
//! of `note.collection`. An archived or deleted page leaves the table, so every later call on it
//! answers "Document not found", as the pages say. The errors are the pages'.

use crate::core::Caller;
use crate::handlers::side;
use crate::state::Data;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, dto, err, fields, module, validation};
use crate::v3_note::{bounded, now_text};
use crate::v3_query::{self, id_param, int_param};
use serde_json::{Map, Value, json};

/// The side table of the pages.
pub(crate) const TABLE: &str = "note.document";

/// The side table of the knowledge bases a page belongs to.
const COLLECTIONS: &str = "note.collection";

/// The most bytes of Markdown a page holds.
const MARKDOWN_MAX: usize = 1_048_576;

/// The most nodes `note.document.tree.list` answers before it drops root pages.
const TREE_MAX_NODES: usize = 5000;

/// Runs one method of the page, tree and search families.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    let p = c.p;
    match c.name {
        "note.document.add" => add(c, p),
        "note.document.get" => {
            let data = c.inner.read_data();
            Ok(json!({ "item": page(&data, id_param(p)?)? }))
        }
        "note.document.update" => update(c, p),
        "note.document.archive" | "note.document.delete" => {
            let id = id_param(p)?;
            let mut data = c.inner.write_data();
            match side::table(&mut data, TABLE).remove(&id) {
                Some(_) => Ok(json!({ "result": true })),
                None => Err(missing_page()),
            }
        }
        "note.document.tree.list" => tree(c, p),
        "note.document.search.list" => search(c, p),
        _ => c.shared(),
    }
}

/// `ENTITYNOTFOUNDEXCEPTION` for a page.
pub(crate) fn missing_page() -> V3Error {
    err(400, "ENTITYNOTFOUNDEXCEPTION", "Document not found")
}

fn missing_collection() -> V3Error {
    err(400, "ENTITYNOTFOUNDEXCEPTION", "Knowledge base not found")
}

/// Page `id` as stored, or "Document not found".
pub(crate) fn page(data: &Data, id: i64) -> Result<Map<String, Value>, V3Error> {
    side::get(data, TABLE, id)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(missing_page)
}

fn wrong_type(field: &str, ty: &str) -> V3Error {
    dto(
        field,
        &format!("Field `{field}` requires data type `{ty}` for this request"),
    )
}

/// `fields.title` when given: a string, not empty, at most 255 characters.
fn title(f: &Map<String, Value>) -> Result<Option<String>, V3Error> {
    let wrong = "Field `title` requires data type `string` for this request";
    bounded(f, "title", "Document title", wrong)
}

/// `fields.markdown` when given: a string of at most [`MARKDOWN_MAX`] bytes.
fn markdown(f: &Map<String, Value>) -> Result<Option<String>, V3Error> {
    match f.get("markdown") {
        None => Ok(None),
        Some(Value::String(s)) if s.len() > MARKDOWN_MAX => Err(module(
            "NOTE_MARKDOWN_TOO_LARGE",
            "Document content is too large. The maximum allowed size is 1 048 576 bytes",
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type("markdown", "string")),
    }
}

/// An integer of `fields` when given (`null` for `parentId` too).
fn int_field(f: &Map<String, Value>, key: &str) -> Result<Option<i64>, V3Error> {
    match f.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(key, "int")),
    }
}

fn add(c: &Call<'_>, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let f = fields(p, "Required field `fields` is not specified")?;
    let not_filled = |k: &str| dto(k, &format!("Mandatory field \"{k}\" is not filled"));
    let collection = int_field(f, "collectionId")?.ok_or_else(|| not_filled("collectionId"))?;
    let title = title(f)?.ok_or_else(|| not_filled("title"))?;
    let parent = int_field(f, "parentId")?;
    let text = markdown(f)?.unwrap_or_default();
    let at = now_text(c.inner);
    let mut data = c.inner.write_data();
    if side::get(&data, COLLECTIONS, collection).is_none() {
        return Err(missing_collection());
    }
    if let Some(parent) = parent {
        let same = side::get(&data, TABLE, parent)
            .is_some_and(|r| r["collectionId"].as_i64() == Some(collection));
        if !same {
            return Err(module(
                "NOTE_INVALID_PARENT",
                "The parent document does not belong to the specified collection",
            ));
        }
    }
    let position = v3_query::rows(&data, TABLE, |r| {
        r["collectionId"].as_i64() == Some(collection) && r["parentId"].as_i64() == parent
    })
    .iter()
    .filter_map(|r| r["position"].as_i64())
    .max()
    .unwrap_or(0)
        + 1;
    let by = c.caller.user_id;
    let mut item = Value::Null;
    side::insert(&mut data, TABLE, |id| {
        item = json!({
            "id": id, "collectionId": collection, "parentId": parent, "title": title,
            "markdown": text, "position": position, "createdBy": by, "updatedBy": by,
            "createdAt": at, "updatedAt": at,
        });
        item.clone()
    });
    Ok(json!({ "item": item }))
}

fn update(c: &Call<'_>, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let id = id_param(p)?;
    let f = fields(p, "Required field `fields` is not specified")?;
    if p.get("overwrite").is_some_and(|v| !v.is_boolean()) {
        return Err(validation(
            "overwrite",
            "Field `overwrite` requires data type `bool` for this request",
        ));
    }
    let (title, text) = (title(f)?, markdown(f)?);
    if title.is_none() && text.is_none() {
        return Err(module(
            "NOTE_EMPTY_UPDATE",
            "The request does not contain any modifiable fields",
        ));
    }
    let at = now_text(c.inner);
    let mut data = c.inner.write_data();
    let Some(Value::Object(row)) = side::get_mut(&mut data, TABLE, id) else {
        return Err(missing_page());
    };
    for (k, v) in [("title", title), ("markdown", text)] {
        if let Some(v) = v {
            row.insert(k.into(), json!(v));
        }
    }
    touch(row, c.caller, &at);
    Ok(json!({ "item": row.clone() }))
}

/// Marks `row` changed by `caller` at `at`.
pub(crate) fn touch(row: &mut Map<String, Value>, caller: &Caller, at: &str) {
    row.insert("updatedBy".into(), json!(caller.user_id));
    row.insert("updatedAt".into(), json!(at));
}

/// The pages of a knowledge base as a tree, by position; whole root pages while the tree
/// holds at most [`TREE_MAX_NODES`] nodes (`truncated` when one is left out).
fn tree(c: &Call<'_>, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let collection = int_param(p, "collectionId")?;
    let data = c.inner.read_data();
    if side::get(&data, COLLECTIONS, collection).is_none() {
        return Err(missing_collection());
    }
    let mut pages = v3_query::rows(&data, TABLE, |r| {
        r["collectionId"].as_i64() == Some(collection)
    });
    pages.sort_by_key(|r| (r["position"].as_i64(), r["id"].as_i64()));
    let mut items = Vec::new();
    let mut count = 0;
    let mut truncated = false;
    for root in pages.iter().filter(|r| r["parentId"].is_null()) {
        let (node, n) = node(root, &pages);
        if count + n > TREE_MAX_NODES && !items.is_empty() {
            truncated = true;
            break;
        }
        count += n;
        items.push(node);
    }
    Ok(json!({ "items": items, "truncated": truncated }))
}

/// Page `r` with its child pages, and how many nodes that is.
fn node(r: &Map<String, Value>, pages: &[Map<String, Value>]) -> (Value, usize) {
    let mut children = Vec::new();
    let mut count = 1;
    for child in pages.iter().filter(|x| x["parentId"] == r["id"]) {
        let (n, k) = node(child, pages);
        children.push(n);
        count += k;
    }
    let mut out = Map::new();
    for k in ["id", "collectionId", "parentId", "title", "position"] {
        out.insert(k.into(), r.get(k).cloned().unwrap_or(Value::Null));
    }
    out.insert("children".into(), Value::Array(children));
    (Value::Object(out), count)
}

/// The pages whose title or text holds `query` (any case), most matches first; one page of
/// `pagination.limit` hits and `hasMore`.
fn search(c: &Call<'_>, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let query = match p.get("query") {
        None => {
            return Err(validation(
                "query",
                "Mandatory field `query` is not specified",
            ));
        }
        Some(Value::String(q)) => q.trim().to_lowercase(),
        Some(_) => {
            return Err(validation(
                "query",
                "Field `query` requires data type `string` for such a request",
            ));
        }
    };
    match query.chars().count() {
        0..3 => {
            return Err(module(
                "NOTE_SEARCH_QUERY_TOO_SHORT",
                "Search query is too short",
            ));
        }
        201.. => {
            return Err(module(
                "NOTE_SEARCH_QUERY_TOO_LONG",
                "Search query is too long",
            ));
        }
        _ => {}
    }
    if p.get("pagination").is_some_and(|v| !v.is_object()) {
        return Err(validation(
            "pagination",
            "Field `pagination` requires data type `object` for such a request",
        ));
    }
    let (limit, _) = v3_query::pagination(p, 200, "Unable to recognize pagination parameter")?;
    let data = c.inner.read_data();
    let mut hits: Vec<(usize, Value)> = v3_query::rows(&data, TABLE, |_| true)
        .iter()
        .filter_map(|r| hit(r, &query))
        .collect();
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    let total: usize = hits.first().map_or(1, |h| h.0);
    let items: Vec<Value> = hits
        .iter()
        .take(limit)
        .map(|(n, v)| {
            let mut v = v.clone();
            v["score"] = json!((*n as f64 / total as f64 * 1000.0).round() / 1000.0);
            v
        })
        .collect();
    Ok(json!({ "items": items, "hasMore": hits.len() > limit }))
}

/// The search hit of page `r` for `query`, with the number of matches, when it matches.
fn hit(r: &Map<String, Value>, query: &str) -> Option<(usize, Value)> {
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
    let (title, body) = (text("title"), text("markdown"));
    let count = |s: &str| s.to_lowercase().matches(query).count();
    let n = count(title) + count(body);
    if n == 0 {
        return None;
    }
    let source = if count(body) > 0 { body } else { title };
    Some((
        n,
        json!({
            "documentId": r["id"], "collectionId": r["collectionId"], "title": title,
            "score": 0, "snippet": snippet(source, query), "sharedAccess": false,
        }),
    ))
}

/// The words around the first match of `query` in `text`, the match in `<b>`.
fn snippet(text: &str, query: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    let q: Vec<char> = query.chars().collect();
    let at = (0..lower.len().saturating_sub(q.len() - 1))
        .find(|i| lower.get(*i..*i + q.len()) == Some(&q[..]))
        .unwrap_or(0)
        .min(chars.len());
    let end = (at + q.len()).min(chars.len());
    let from = at.saturating_sub(40);
    let to = (end + 40).min(chars.len());
    let piece = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    format!(
        "...{}<b>{}</b>{}...",
        piece(from, at),
        piece(at, end),
        piece(end, to)
    )
}
