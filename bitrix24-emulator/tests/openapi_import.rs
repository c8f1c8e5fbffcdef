//! `import-openapi` on the emulator's own `rest.documentation.openapi` answer: every REST 3.0
//! method the emulator serves is specced with the same params, so nothing is drafted and
//! nothing differs; a spec set without them drafts every one.

mod support;

use serde_json::{Value, json};
use support::{emu, post};

#[tokio::test]
async fn the_emulators_document_matches_the_specs() {
    let e = emu().await;
    let v3 = e.webhook_url().replacen("/rest/", "/rest/api/", 1);
    let (status, answer): (u16, Value) =
        post(&format!("{v3}rest.documentation.openapi"), &json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let specs = bitrix24_codegen::load_dir(&root, "specs").unwrap();
    let text = bitrix24_codegen::import::openapi::draft(&answer, &specs).unwrap();
    let served = answer["result"]["paths"].as_object().unwrap().len();
    assert!(served >= 13, "{answer}");
    assert!(
        text.starts_with(&format!(
            "# From an OpenAPI document of {served} methods: 0 new (drafted below), 0 differ from the specs, {served} match."
        )),
        "{text}"
    );
    // Without the specs every served method is a draft.
    let drafted = bitrix24_codegen::import::openapi::draft(&answer, &[]).unwrap();
    assert_eq!(drafted.matches("\n[v3.").count(), served, "{drafted}");
}
