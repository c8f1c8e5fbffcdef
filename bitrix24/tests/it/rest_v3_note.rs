//! REST 3.0 Knowledge Base 2.0 pages and files (`note.document.*`, `note.file.*`, issue 15)
//! through the typed calls against the emulator: pages made, read, changed, archived and
//! deleted, the page tree of a knowledge base, the text search, files attached to a page, the
//! field descriptions, and the validation errors the pages document.

use serde_json::json;

use bitrix24::Client;
use bitrix24::packs::collab::{
    NoteCollection, NoteCollectionAdd, NoteDocument, NoteDocumentAdd, NoteDocumentArchive,
    NoteDocumentDelete, NoteDocumentFieldGet, NoteDocumentFieldList, NoteDocumentGet,
    NoteDocumentSearchFieldList, NoteDocumentSearchList, NoteDocumentTreeFieldGet,
    NoteDocumentTreeList, NoteDocumentUpdate, NoteFileAdd, NoteFileFieldList, NoteFileGet,
};
use bitrix24_emulator::RunningEmulator;

use crate::support::{hook_client, invalid, portal, refusal, v3_refusal};

const DTO: &str = "BITRIX_REST_V3_EXCEPTION_VALIDATION_DTOVALIDATIONEXCEPTION";
const REQUEST: &str = "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION";
const NOT_FOUND: &str = "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION";

/// A knowledge base named `name`; answers its id.
async fn collection(c: &Client, name: &str) -> u64 {
    let kb = NoteCollectionAdd::new(NoteCollection::new().name(name));
    c.send(&kb).await.unwrap().item.id.unwrap()
}

/// A portal, its client and a knowledge base named `name` on it.
async fn with_collection(name: &str) -> (RunningEmulator, Client, u64) {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let kb = collection(&c, name).await;
    (emu, c, kb)
}

/// A page of knowledge base `kb` under `parent`; answers its id.
async fn page(c: &Client, kb: u64, parent: Option<u64>, title: &str, text: &str) -> u64 {
    let mut fields = NoteDocument::new()
        .collection_id(kb)
        .title(title)
        .markdown(text);
    fields.parent_id = parent;
    c.send(&NoteDocumentAdd::new(fields))
        .await
        .unwrap()
        .item
        .id
        .unwrap()
}

#[tokio::test]
async fn pages_are_made_read_changed_and_removed_typed() {
    let (_emu, c, kb) = with_collection("Handbook").await;
    let intro = page(&c, kb, None, "Introduction", "# Intro").await;
    let chapter = page(&c, kb, Some(intro), "Chapter 1", "Text").await;

    let got = c.send(&NoteDocumentGet::new(chapter)).await.unwrap().item;
    assert_eq!(
        (
            got.collection_id,
            got.parent_id,
            got.position,
            got.created_by
        ),
        (Some(kb), Some(intro), Some(1), Some(1))
    );
    assert_eq!(got.markdown.as_deref(), Some("Text"));

    let changed =
        NoteDocumentUpdate::new(chapter, NoteDocument::new().title("Chapter 1 (updated)"))
            .overwrite(true);
    let changed = c.send(&changed).await.unwrap().item;
    assert_eq!(changed.title.as_deref(), Some("Chapter 1 (updated)"));
    assert_eq!(changed.markdown.as_deref(), Some("Text"), "kept");

    let tree = c.send(&NoteDocumentTreeList::new(kb)).await.unwrap();
    assert_eq!(tree.extra["truncated"], json!(false));
    assert_eq!(tree.items.len(), 1, "one root page");
    assert_eq!(tree.items[0].id, Some(intro));
    let children = tree.items[0].children.clone().unwrap();
    assert_eq!(children[0]["title"], json!("Chapter 1 (updated)"));
    assert_eq!(children[0]["children"], json!([]));

    assert!(
        c.send(&NoteDocumentArchive::new(chapter))
            .await
            .unwrap()
            .result
    );
    let (code, _) = refusal(c.send(&NoteDocumentGet::new(chapter)).await);
    assert_eq!(code, NOT_FOUND, "an archived page is not found");
    assert!(
        c.send(&NoteDocumentDelete::new(intro))
            .await
            .unwrap()
            .result
    );
    let (code, _) = refusal(c.send(&NoteDocumentDelete::new(intro)).await);
    assert_eq!(code, NOT_FOUND, "already in the trash");
    let tree = c.send(&NoteDocumentTreeList::new(kb)).await.unwrap();
    assert!(tree.items.is_empty());
}

#[tokio::test]
async fn the_search_finds_pages_by_text_and_marks_the_match() {
    let (_emu, c, kb) = with_collection("Recipes").await;
    let twice = page(&c, kb, None, "Borscht", "The classic borscht recipe").await;
    let once = page(&c, kb, None, "Soups", "A quick Borscht").await;
    page(&c, kb, None, "Pies", "Apple pie").await;

    let found = c
        .send(&NoteDocumentSearchList::new("borscht"))
        .await
        .unwrap();
    let ids: Vec<Option<u64>> = found.items.iter().map(|h| h.document_id).collect();
    assert_eq!(ids, [Some(twice), Some(once)], "most matches first");
    assert_eq!(found.items[0].score, Some(1.0));
    assert!(found.items[1].score.unwrap() < 1.0);
    let snippet = found.items[1].snippet.as_deref().unwrap();
    assert!(snippet.contains("<b>Borscht</b>"), "{snippet}");
    assert_eq!(found.extra["hasMore"], json!(false));

    let first = NoteDocumentSearchList::new("borscht").pagination(json!({"limit": 1}));
    let first = c.send(&first).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.extra["hasMore"], json!(true));

    for (query, code) in [
        ("ab", "NOTE_SEARCH_QUERY_TOO_SHORT"),
        (&*"x".repeat(201), "NOTE_SEARCH_QUERY_TOO_LONG"),
    ] {
        let (got, _) = refusal(c.send(&NoteDocumentSearchList::new(query)).await);
        assert_eq!(got, code);
    }
    let missing = v3_refusal(&c, "note.document.search.list", json!({})).await;
    assert_eq!(
        missing,
        (
            REQUEST.to_owned(),
            invalid("query", "Mandatory field `query` is not specified")
        )
    );
}

#[tokio::test]
async fn page_input_is_checked_as_documented() {
    let (_emu, c, kb) = with_collection("One").await;
    let other = collection(&c, "Two").await;
    let foreign = page(&c, other, None, "Elsewhere", "").await;
    let add = |fields: serde_json::Value| json!({ "fields": fields });
    let cases = [
        (
            json!({}),
            REQUEST,
            invalid("fields", "Required field `fields` is not specified"),
        ),
        (
            add(json!({"collectionId": kb})),
            DTO,
            invalid("title", "Mandatory field \"title\" is not filled"),
        ),
        (
            add(json!({"title": "x"})),
            DTO,
            invalid(
                "collectionId",
                "Mandatory field \"collectionId\" is not filled",
            ),
        ),
        (
            add(json!({"collectionId": kb, "title": " "})),
            DTO,
            invalid("title", "Document title cannot be empty"),
        ),
        (
            add(json!({"collectionId": kb, "title": "x".repeat(256)})),
            DTO,
            invalid("title", "Document title must not exceed 255 characters"),
        ),
        (
            add(json!({"collectionId": kb, "title": "x", "markdown": 5})),
            DTO,
            invalid(
                "markdown",
                "Field `markdown` requires data type `string` for this request",
            ),
        ),
    ];
    for (params, code, validation) in cases {
        let got = v3_refusal(&c, "note.document.add", params.clone()).await;
        assert_eq!(got, (code.to_owned(), validation), "{params}");
    }
    let big = add(json!({"collectionId": kb, "title": "x", "markdown": "x".repeat(1_048_577)}));
    for (params, code) in [
        (big, "NOTE_MARKDOWN_TOO_LARGE"),
        (
            add(json!({"collectionId": kb, "title": "x", "parentId": foreign})),
            "NOTE_INVALID_PARENT",
        ),
        (add(json!({"collectionId": 999, "title": "x"})), NOT_FOUND),
    ] {
        let (got, _) = v3_refusal(&c, "note.document.add", params).await;
        assert_eq!(got, code);
    }
    let empty = NoteDocumentUpdate::new(foreign, NoteDocument::new());
    assert_eq!(refusal(c.send(&empty).await).0, "NOTE_EMPTY_UPDATE");
    let overwrite = json!({"id": foreign, "fields": {"title": "y"}, "overwrite": "yes"});
    assert_eq!(
        v3_refusal(&c, "note.document.update", overwrite).await.1,
        invalid(
            "overwrite",
            "Field `overwrite` requires data type `bool` for this request"
        )
    );
    let (code, _) = refusal(c.send(&NoteDocumentTreeList::new(999)).await);
    assert_eq!(code, NOT_FOUND, "no such knowledge base");
}

#[tokio::test]
async fn files_attach_to_a_page_and_read_back() {
    let (_emu, c, kb) = with_collection("Docs").await;
    let doc = page(&c, kb, None, "Diagrams", "").await;

    let added = c
        .send(&NoteFileAdd::new(doc, "diagram.PNG", "aGVsbG8="))
        .await
        .unwrap()
        .item;
    let id = added.id.unwrap();
    assert_eq!(
        (
            added.size,
            added.mime_type.as_deref(),
            added.asset_type.as_deref()
        ),
        (Some(5), Some("image/png"), Some("image"))
    );
    assert_eq!(added.asset_markdown, Some(format!("[[image fileId={id}]]")));
    let read = c.send(&NoteFileGet::new(id, doc)).await.unwrap().item;
    assert_eq!(read, added);
    let clip = c
        .send(&NoteFileAdd::new(doc, "clip.mov", "AAAA"))
        .await
        .unwrap()
        .item;
    assert_eq!(clip.asset_type.as_deref(), Some("video"));

    let other = page(&c, kb, None, "Other", "").await;
    let (code, _) = refusal(c.send(&NoteFileGet::new(id, other)).await);
    assert_eq!(code, NOT_FOUND, "not attached to that page");
    let (code, _) = refusal(c.send(&NoteFileAdd::new(doc, "run.exe", "AAAA")).await);
    assert_eq!(code, "NOTE_FILE_TYPE_NOT_ALLOWED");
    let (code, validation) = refusal(c.send(&NoteFileAdd::new(doc, "a.txt", "no base64!")).await);
    assert_eq!(
        (code.as_str(), validation),
        (REQUEST, invalid("fileContent", "invalid base64 payload"))
    );
    let (code, _) = refusal(c.send(&NoteFileAdd::new(999, "a.txt", "AAAA")).await);
    assert_eq!(code, NOT_FOUND, "no such page");
    let missing = v3_refusal(&c, "note.file.add", json!({"documentId": doc})).await;
    assert_eq!(
        missing.1,
        invalid("fileName", "Required field `fileName` is not specified")
    );
}

#[tokio::test]
async fn page_tree_search_and_file_fields_are_described() {
    let emu = portal().await;
    let c = hook_client(&emu.webhook_url());
    let names = |items: Vec<bitrix24::packs::collab::NoteField>| -> Vec<String> {
        items.into_iter().filter_map(|f| f.name).collect()
    };
    let page = c.send(&NoteDocumentFieldList::new()).await.unwrap().items;
    assert_eq!(
        names(page),
        [
            "id",
            "collectionId",
            "parentId",
            "title",
            "markdown",
            "position",
            "createdBy",
            "updatedBy",
            "createdAt",
            "updatedAt"
        ]
    );
    let hit = c.send(&NoteDocumentSearchFieldList::new()).await.unwrap();
    assert_eq!(hit.items[3].name.as_deref(), Some("score"));
    assert_eq!(hit.items[3].r#type.as_deref(), Some("float"));
    let file = c.send(&NoteFileFieldList::new()).await.unwrap().items;
    assert_eq!(file.len(), 7);
    let children = c
        .send(&NoteDocumentTreeFieldGet::new("children"))
        .await
        .unwrap()
        .item;
    assert_eq!(children.r#type.as_deref(), Some("array"));
    let (code, _) = refusal(c.send(&NoteDocumentFieldGet::new("nope")).await);
    assert_eq!(
        code,
        "BITRIX_REST_V3_REALISATION_EXCEPTION_FIELDNOTFOUNDEXCEPTION"
    );
}
