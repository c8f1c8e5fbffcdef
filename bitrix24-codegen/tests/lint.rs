//! The rules `check` adds to `validate`: each fails naming the file, the item and the key.

use std::collections::BTreeSet;

use bitrix24_codegen::spec::lint;
use bitrix24_codegen::{Spec, parse_spec, validate};

fn spec(body: &str) -> Spec {
    let text = format!("[pack]\nname = \"core\"\nsummary = \"Test pack.\"\n\n{body}");
    let s = parse_spec("specs/core.toml", &text).expect("parses");
    validate(std::slice::from_ref(&s)).expect("valid");
    s
}

fn method(name: &str, extra: &str) -> String {
    format!(
        "[method.\"{name}\"]\nsummary = \"x.\"\ndocs = \"x/x.md\"\nrisk = \"read\"\nscopes = []\n{extra}\n"
    )
}

fn lint_text(body: &str, debt: &[&str]) -> String {
    let debt: BTreeSet<String> = debt.iter().map(|s| (*s).to_owned()).collect();
    lint(&[spec(body)], &debt)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn an_untyped_answer_needs_a_reason() {
    let e = lint_text(&method("x.get", "response = \"value\""), &[]);
    assert!(
        e.contains(
            "specs/core.toml: method `x.get`: field `response`: `value` is an untyped answer"
        ),
        "{e}"
    );
    // Rows and entries of `value` are untyped too.
    let e = lint_text(&method("x.list", "response = \"list:value\""), &[]);
    assert!(e.contains("method `x.list`: field `response`"), "{e}");
    // A reason, or the recorded debt, lets it through.
    let why = method(
        "x.get",
        "response = \"value\"\nvalue_why = \"The user defines it.\"",
    );
    assert_eq!(lint_text(&why, &[]), "");
    assert_eq!(
        lint_text(&method("x.get", "response = \"value\""), &["x.get"]),
        ""
    );
    // A reason on a typed answer, or an empty one, is refused.
    let e = lint_text(
        &method("x.get", "response = \"id\"\nvalue_why = \"No.\""),
        &[],
    );
    assert!(
        e.contains("method `x.get`: field `value_why`: the answer `id` is typed"),
        "{e}"
    );
    let e = lint_text(
        &method("x.get", "response = \"value\"\nvalue_why = \" \""),
        &[],
    );
    assert!(e.contains("field `value_why`: empty"), "{e}");
    let e = lint_text(
        &method("x.get", "response = \"id\"\ndocs_differs = \"\""),
        &[],
    );
    assert!(e.contains("field `docs_differs`: empty"), "{e}");
}

#[test]
fn a_method_taking_start_declares_its_pagination() {
    let body = method(
        "x.list",
        "response = \"list:value\"\nvalue_why = \"Rows the user defines.\"\nparams.start = \"int\"",
    );
    let e = lint_text(&body, &[]);
    assert!(
        e.contains("specs/core.toml: method `x.list`: field `pagination`: the method takes the page offset `start`"),
        "{e}"
    );
    let paged = body.replace("params.start", "pagination = \"offset\"\nparams.start");
    assert_eq!(lint_text(&paged, &[]), "");
}

#[test]
fn enum_values_make_identifiers() {
    let e = lint_text(
        "[enum.Kind]\ndoc = \"x\"\nvalues = { \"\" = \"Nothing\", A = \"Größe\", \"*\" = \"\", \"-\" = \"Minus\", B = \"Fine\" }\n",
        &[],
    );
    for x in [
        "specs/core.toml: enum `Kind`: field `values.`: an empty wire value",
        "enum `Kind`: field `values.A`: the label `Größe` is not ASCII",
        "enum `Kind`: field `values.*`: neither the value `*` nor its label",
    ] {
        assert!(e.contains(x), "expected `{x}` in:\n{e}");
    }
    assert!(!e.contains("values.B") && !e.contains("values.-"), "{e}");
}

#[test]
fn adds_and_updates_take_the_entity_their_family_reads() {
    let entity = "[entity.Deal]\ndoc = \"x\"\nfields = { ID = \"id\", TITLE = \"string\" }\n";
    let get = method(
        "crm.deal.get",
        "response = \"entity:Deal\"\nparams.id = \"id\"",
    );
    let write = |name: &str, fields: &str| {
        method(
            name,
            &format!(
                "response = \"id\"\nparams.fields = {{ type = \"{fields}\", required = true }}"
            ),
        )
    };
    let untyped = format!(
        "{entity}{get}{}{}",
        write("crm.deal.add", "object"),
        write("crm.deal.update", "object")
    );
    let e = lint_text(&untyped, &[]);
    for name in ["crm.deal.add", "crm.deal.update"] {
        let x = format!(
            "method `{name}`: field `params.fields`: `fields` is an untyped `object`, but this \
             family's records are the entity `Deal`: take `entity:Deal`"
        );
        assert!(e.contains(&x), "expected `{x}` in:\n{e}");
    }
    let typed = format!(
        "{entity}{get}{}{}",
        write("crm.deal.add", "entity:Deal"),
        write("crm.deal.update", "entity:Deal")
    );
    assert_eq!(lint_text(&typed, &[]), "");
    // A family whose reads answer no entity has nothing to take.
    assert_eq!(lint_text(&write("x.epic.add", "object"), &[]), "");
}

#[test]
fn a_deprecated_note_follows_the_docs() {
    let docs: BTreeSet<String> = ["x.old".to_owned()].into();
    let run = |body: &str| {
        let (errs, pending) = bitrix24_codegen::spec::lint_deprecated(&[spec(body)], &docs);
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        (errs.join("\n"), pending)
    };
    // A method the docs mark deprecated with its note passes; without one it is listed.
    let noted = method("x.old", "response = \"id\"\ndeprecated = \"use x.new\"");
    assert_eq!(run(&noted), (String::new(), vec![]));
    let bare = method("x.old", "response = \"id\"");
    assert_eq!(run(&bare), (String::new(), vec!["x.old".to_owned()]));
    // An empty note, or a note on a current method, fails naming the key.
    let (e, _) = run(&method("x.old", "response = \"id\"\ndeprecated = \" \""));
    assert!(
        e.contains("method `x.old`: field `deprecated`: empty"),
        "{e}"
    );
    let (e, _) = run(&method(
        "x.new",
        "response = \"id\"\ndeprecated = \"use x.newer\"",
    ));
    assert!(
        e.contains("method `x.new`: field `deprecated`: the docs do not mark"),
        "{e}"
    );
}

#[test]
fn a_deprecated_method_is_generated_deprecated() {
    let s = spec(&method(
        "x.old",
        "response = \"id\"\ndeprecated = \"use x.new\"",
    ));
    let files = bitrix24_codegen::generate(std::slice::from_ref(&s), &["core"]);
    let core = files
        .iter()
        .find(|f| f.name.ends_with("core.rs"))
        .expect("core module");
    assert!(
        core.contents
            .contains("#[deprecated(note = \"use x.new\")]"),
        "{}",
        core.contents
    );
    assert!(core.contents.contains("Deprecated by the docs: use x.new"));
}
