//! `check --docs`: a spec method against its docs page.

use bitrix24_codegen::coverage_diff::{compare_all, compare_page};
use bitrix24_codegen::parse_spec;

const PAGE: &str = r#"# Get a Config x.config.get

> Scope: [`x`](../../scopes/permissions.md)

## Method Parameters

#|
|| **Name**
`type` | **Description** ||
|| **CONFIG_ID**^*^
[`integer`](../../data-types.md) | Config ||
|| **WITH_QUEUE**
[`string`](../../data-types.md) | Queue. Possible values:
- `Y` — yes
- `N` — no
||
|| **data**
[`array`](../../data-types.md) | Data ||
|| **UF_**
[`any`](../../data-types.md) | User fields ||
|#

## Code Examples

```bash
curl -d '{"CONFIG_ID":1,"data":{"NAME":"x"}}' https://example.bitrix24.com/rest/x.config.get
```

## Response Handling

```json
{"result": true}
```
"#;

fn method(params: &str, extra: &str) -> String {
    let text = format!(
        "[pack]\nname = \"core\"\nsummary = \"T.\"\n\n[method.\"x.config.get\"]\nsummary = \"x.\"\n\
         docs = \"x/x-config-get.md\"\nrisk = \"read\"\nscopes = []\nresponse = \"bool\"\n{params}{extra}"
    );
    let s = parse_spec("specs/core.toml", &text).unwrap();
    let m = &s.methods["x.config.get"];
    compare_page(&s, m, PAGE)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_spec_that_matches_its_page_has_nothing_to_report() {
    let good = "params.CONFIG_ID = { type = \"int\", required = true }\n\
                params.WITH_QUEUE = \"flag\"\nparams.data = \"object\"\nexample = 'true'\n";
    assert_eq!(method(good, ""), "");
}

#[test]
fn each_difference_is_named_by_file_method_and_key() {
    let bad = "params.CONFIG_ID = \"int\"\nparams.WITH_QUEUE = \"bool\"\nparams.data = \"list<value>\"\n\
               params.EXTRA = \"string\"\nexample = 'false'\n";
    let e = method(bad, "");
    for x in [
        "specs/core.toml: method `x.config.get`: field `params.CONFIG_ID.required`: the spec says optional, the page required",
        "field `params.WITH_QUEUE.type`: `bool` in the spec, `flag` from the page: the page lists Y/N",
        "field `params.data.type`: `list<value>` in the spec, `object` from the page: the examples send an object",
        "field `params.EXTRA`: in the spec, not documented on the page",
        "field `example`: differs from the page's example response",
    ] {
        assert!(e.contains(x), "expected `{x}` in:\n{e}");
    }
    // A parameter the page documents and the spec lacks; `UF_` is a pattern, not a parameter.
    let e = method(
        "params.CONFIG_ID = { type = \"int\", required = true }\n",
        "",
    );
    assert!(
        e.contains("field `params.WITH_QUEUE`: documented, not in the spec"),
        "{e}"
    );
    assert!(!e.contains("UF_"), "{e}");
}

#[test]
fn docs_differs_justifies_a_method_and_a_missing_page_is_named() {
    let root = std::env::temp_dir().join(format!("b24-docs-check-{}", std::process::id()));
    let dir = root.join("api-reference/x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x-config-get.md"), PAGE).unwrap();
    let spec = |extra: &str, docs: &str| {
        let text = format!(
            "[pack]\nname = \"core\"\nsummary = \"T.\"\n\n[method.\"x.config.get\"]\nsummary = \"x.\"\n\
             docs = \"{docs}\"\nrisk = \"read\"\nscopes = []\nresponse = \"bool\"\n{extra}"
        );
        parse_spec("specs/core.toml", &text).unwrap()
    };
    let found = compare_all(&root, &[spec("", "x/x-config-get.md")]);
    assert_eq!((found.methods, found.justified), (1, 0));
    assert!(!found.disagreements.is_empty());
    let why = "docs_differs = \"The page lists parameters this spec does not send yet.\"\n";
    let found = compare_all(&root, &[spec(why, "x/x-config-get.md")]);
    assert_eq!((found.justified, found.disagreements.len()), (1, 0));
    let found = compare_all(&root, &[spec("", "x/missing.md")]);
    assert!(
        found.disagreements[0].to_string().starts_with(
            "specs/core.toml: method `x.config.get`: field `docs`: page `x/missing.md` not read"
        ),
        "{:?}",
        found.disagreements
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_v3_entry_is_compared_and_its_example_may_be_the_answer_without_time() {
    let text = "[pack]\nname = \"collab\"\nsummary = \"T.\"\n\n[v3.\"x.item.delete\"]\nsummary = \"x.\"\n\
                docs = \"x/x-item-delete.md\"\nrisk = \"destructive\"\nscopes = []\n\
                response = \"wrapped:result:bool\"\nparams.id = { type = \"id\", required = true }\n";
    let page = "# Delete x.item.delete\n\n## Method Parameters\n\n#|\n|| **Name**\n`type` | **Description** ||\n\
                || **id***\n[`integer`](../../data-types.md) | Item ||\n|#\n\n## Response Handling\n\n\
                ```json\n{\"result\": {\"result\": true}, \"time\": {\"start\": 1}}\n```\n";
    let shown = |example: &str| {
        let s = parse_spec(
            "specs/collab.toml",
            &format!("{text}example = '{example}'\n"),
        )
        .unwrap();
        let m = &s.v3_methods["x.item.delete"];
        compare_page(&s, m, page)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(r#"{"result":{"result":true}}"#), Vec::<String>::new());
    let wrong = shown(r#"{"result":{"result":false}}"#);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("example"), "{wrong:?}");
}
