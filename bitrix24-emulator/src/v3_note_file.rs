//! REST 3.0 Knowledge Base 2.0 files: `note.file.add` and `note.file.get`
//! (api-reference/note/file/), kept in the side table `note.file` (id -> the file as answered)
//! and attached to a page of `note.document`. The content is checked as Base64 and its decoded
//! size kept, not the bytes. The errors are the pages'.

use crate::handlers::side;
use crate::v3_call::Call;
use crate::v3_common::{V3Error, err, module, validation};
use crate::v3_note_document::page;
use crate::v3_query::{id_param, int_param};
use serde_json::{Map, Value, json};

const TABLE: &str = "note.file";

/// The most bytes a file may have (`main.max_file_size` unset: 25 MiB).
const MAX_SIZE: usize = 25 * 1024 * 1024;

/// The allowed extensions with their MIME type and the kind of Markdown block that shows them.
const TYPES: &[(&str, &str, &str)] = &[
    ("png", "image/png", "image"),
    ("jpg", "image/jpeg", "image"),
    ("jpeg", "image/jpeg", "image"),
    ("gif", "image/gif", "image"),
    ("webp", "image/webp", "image"),
    ("svg", "image/svg+xml", "image"),
    ("pdf", "application/pdf", "file"),
    ("txt", "text/plain", "file"),
    ("md", "text/markdown", "file"),
    ("csv", "text/csv", "file"),
    ("doc", "application/msword", "file"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "file",
    ),
    ("xls", "application/vnd.ms-excel", "file"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "file",
    ),
    ("ppt", "application/vnd.ms-powerpoint", "file"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "file",
    ),
    ("mp4", "video/mp4", "video"),
    ("webm", "video/webm", "video"),
    ("mov", "video/quicktime", "video"),
];

/// Runs `note.file.add` and `note.file.get`.
pub(crate) fn run(c: &Call<'_>) -> Result<Value, V3Error> {
    match c.method() {
        "add" => add(c, c.p),
        "get" => {
            let id = id_param(c.p)?;
            let document = int_param(c.p, "documentId")?;
            let data = c.inner.read_data();
            page(&data, document)?;
            side::get(&data, TABLE, id)
                .filter(|f| f["documentId"].as_i64() == Some(document))
                .map(|f| json!({ "item": f }))
                .ok_or_else(|| err(400, "ENTITYNOTFOUNDEXCEPTION", "File not found"))
        }
        _ => c.shared(),
    }
}

/// A required string param.
fn text<'a>(p: &'a Map<String, Value>, key: &str) -> Result<&'a str, V3Error> {
    match p.get(key) {
        None => Err(validation(
            key,
            &format!("Required field `{key}` is not specified"),
        )),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(validation(
            key,
            &format!("The field `{key}` requires data type `string` for this request"),
        )),
    }
}

fn add(c: &Call<'_>, p: &Map<String, Value>) -> Result<Value, V3Error> {
    let document = int_param(p, "documentId")?;
    let name = text(p, "fileName")?.to_owned();
    let size = decoded_len(text(p, "fileContent")?)
        .ok_or_else(|| validation("fileContent", "invalid base64 payload"))?;
    if size > MAX_SIZE {
        return Err(module(
            "NOTE_FILE_TOO_LARGE",
            "File size exceeds the allowed value",
        ));
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let Some((_, mime, kind)) = TYPES.iter().find(|t| t.0 == ext) else {
        return Err(module(
            "NOTE_FILE_TYPE_NOT_ALLOWED",
            "File type is not supported",
        ));
    };
    let mut data = c.inner.write_data();
    page(&data, document)?;
    let mut item = Value::Null;
    side::insert(&mut data, TABLE, |id| {
        item = json!({
            "id": id, "documentId": document, "name": name, "size": size, "mimeType": mime,
            "assetType": kind, "assetMarkdown": format!("[[{kind} fileId={id}]]"),
        });
        item.clone()
    });
    Ok(json!({ "item": item }))
}

/// The byte count of non-empty Base64 `s` (standard alphabet, padded or not); `None` when it
/// is empty or not Base64.
fn decoded_len(s: &str) -> Option<usize> {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    if body.is_empty() || pad > 2 || !body.bytes().all(alphabet) || body.len() % 4 == 1 {
        return None;
    }
    if pad > 0 && !(body.len() + pad).is_multiple_of(4) {
        return None;
    }
    Some(body.len() * 3 / 4)
}

#[cfg(test)]
mod tests {
    use super::decoded_len;

    #[test]
    fn base64_sizes_and_rejects() {
        assert_eq!(decoded_len("aGVsbG8="), Some(5));
        assert_eq!(decoded_len("aGVsbG8"), Some(5));
        assert_eq!(decoded_len("aGVs"), Some(3));
        assert_eq!(decoded_len(""), None);
        assert_eq!(decoded_len("a"), None);
        assert_eq!(decoded_len("aGV*"), None);
        assert_eq!(decoded_len("aGVsbG8=="), None);
    }
}
