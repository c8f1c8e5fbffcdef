//! Bad specs fail with a message naming the file, the item and the field.

use bitrix24_codegen::{SpecErrors, parse_spec, validate};

const PACK: &str = "[pack]\nname = \"core\"\nsummary = \"Test pack.\"\n";

fn method(body: &str) -> String {
    format!("{PACK}\n[method.\"crm.deal.get\"]\n{body}\n")
}

const GOOD: &str = r#"summary = "Get a deal."
docs = "crm/deals/crm-deal-get.md"
risk = "read"
scopes = ["crm"]
response = "value"
"#;

/// Asserts that `text` (as `specs/core.toml`) is refused with messages containing `expected`.
fn refused(text: &str, expected: &[&str]) {
    let e = errors("specs/core.toml", text);
    for x in expected {
        assert!(e.contains(x), "expected `{x}` in:\n{e}");
    }
}

fn errors(file: &str, text: &str) -> String {
    match parse_spec(file, text) {
        Ok(spec) => match validate(&[spec]) {
            Ok(()) => panic!("expected an error for:\n{text}"),
            Err(SpecErrors(e)) => e
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_method_parses() {
    let spec = parse_spec("specs/core.toml", &method(GOOD)).unwrap();
    validate(&[spec]).unwrap();
}

#[test]
fn unknown_type() {
    let text = method(&format!(
        "{GOOD}params.id = {{ type = \"integer\", required = true }}"
    ));
    refused(
        &text,
        &["specs/core.toml: method `crm.deal.get`: field `params.id.type`: unknown type `integer`"],
    );
}

#[test]
fn unknown_entity_reference() {
    let text = method(&GOOD.replace("response = \"value\"", "response = \"entity:Dael\""));
    refused(
        &text,
        &["specs/core.toml: method `crm.deal.get`: field `response`: unknown type `entity:Dael`"],
    );
}

#[test]
fn missing_risk() {
    let text = method(&GOOD.replace("risk = \"read\"\n", ""));
    refused(
        &text,
        &["specs/core.toml: method `crm.deal.get`: field `risk`: missing risk class"],
    );
}

#[test]
fn bad_risk() {
    let text = method(&GOOD.replace("risk = \"read\"", "risk = \"safe\""));
    refused(&text, &["field `risk`: unknown risk class `safe`"]);
}

#[test]
fn broken_docs_paths() {
    for bad in [
        "",
        "/crm/deals/crm-deal-get.md",
        "crm/deals/crm-deal-get.html",
        "crm/../x.md",
        "https://apidocs.bitrix24.com/x.md",
    ] {
        let text = method(&GOOD.replace("crm/deals/crm-deal-get.md", bad));
        let e = errors("specs/core.toml", &text);
        assert!(
            e.contains("specs/core.toml: method `crm.deal.get`: field `docs`: broken docs path"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn duplicate_method_across_packs() {
    let a = parse_spec("specs/core.toml", &method(GOOD)).unwrap();
    let b_text = format!(
        "[pack]\nname = \"comms\"\nsummary = \"Other.\"\n\n[method.\"crm.deal.get\"]\n{GOOD}"
    );
    let b = parse_spec("specs/comms.toml", &b_text).unwrap();
    let e = validate(&[a, b]).unwrap_err().to_string();
    assert!(
        e.contains("specs/comms.toml: method `crm.deal.get`: duplicate method: also defined in specs/core.toml"),
        "{e}"
    );
}

#[test]
fn duplicate_method_in_one_file() {
    let text = format!("{}\n[method.\"crm.deal.get\"]\n{GOOD}", method(GOOD));
    refused(&text, &["specs/core.toml: ", "crm.deal.get"]);
}

#[test]
fn unknown_key_is_a_typo() {
    let text = method(&format!("{GOOD}idempotnet = true"));
    refused(
        &text,
        &["specs/core.toml: method `crm.deal.get`: unknown field `idempotnet`"],
    );
}

#[test]
fn pagination_needs_a_list() {
    let text = method(&format!("{GOOD}pagination = \"offset\""));
    refused(
        &text,
        &["field `pagination`: `offset` is set but the response `value` is not a list"],
    );
}

#[test]
fn keyset_needs_an_id() {
    let text = format!(
        "{PACK}\n[entity.Deal]\nfields = {{ TITLE = \"string\" }}\n\n[method.\"crm.deal.list\"]\n{}pagination = \"keyset\"\n",
        GOOD.replace("response = \"value\"", "response = \"list:Deal\"")
    );
    refused(
        &text,
        &["method `crm.deal.list`: field `pagination`: `keyset` needs"],
    );
}

#[test]
fn pack_name_must_match_file() {
    let e = errors("specs/comms.toml", &method(GOOD));
    assert!(e.contains("specs/comms.toml: [pack]: field `name`: pack name `core` must equal the file name `comms`"), "{e}");
}

#[test]
fn bad_example_json() {
    let text = method(&format!("{GOOD}example = '''{{\"result\": }}'''"));
    refused(&text, &["field `example`: not valid JSON"]);
}

#[test]
fn entity_field_type_and_enum_reference() {
    let text = format!(
        "{PACK}\n[entity.Deal]\nfields = {{ ID = \"id\", STAGE = \"enum:Stage\", X = \"lisst<id>\" }}\n"
    );
    refused(
        &text,
        &["specs/core.toml: entity `Deal`: field `fields.X`: unknown type `lisst<id>`"],
    );
    let text =
        format!("{PACK}\n[entity.Deal]\nfields = {{ ID = \"id\", STAGE = \"enum:Stage\" }}\n");
    refused(
        &text,
        &["entity `Deal`: field `fields.STAGE`: unknown type `enum:Stage`"],
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let text = method("summary = \"x\"\ndocs = \"x.txt\"\nscopes = []\nresponse = \"nope\"");
    refused(&text, &["field `docs`", "field `risk`", "field `response`"]);
}

#[test]
fn rust_name_clash() {
    let text = format!(
        "{PACK}\n[entity.CrmDealGet]\nfields = {{ ID = \"id\" }}\n\n[method.\"crm.deal.get\"]\n{GOOD}"
    );
    refused(
        &text,
        &["Rust type name `CrmDealGet` clashes with entity `CrmDealGet`; set `rust_name`"],
    );
}

#[test]
fn names_that_would_break_the_generated_rust_are_refused() {
    let bad_entity = format!("{PACK}\n[entity.Option]\ndoc = \"x\"\nfields = {{ ID = \"id\" }}\n");
    refused(&bad_entity, &["specs/core.toml", "reserved"]);
    let bad_method = format!(
        "{PACK}\n[method.\"1c.sync\"]\nsummary = \"x\"\ndocs = \"x/y.md\"\nrisk = \"read\"\nscopes = []\nresponse = \"bool\"\n"
    );
    refused(&bad_method, &["method `1c.sync`"]);
}

fn pack_with_events(events: &str) -> String {
    format!("{PACK}events = {events}\n")
}

#[test]
fn events_need_a_page_when_their_words_run_together() {
    refused(
        &pack_with_events(r#"["ONCRMDEALADD"]"#),
        &["specs/core.toml: [pack]: field `events`: event `ONCRMDEALADD` runs its words together"],
    );
    let ok = pack_with_events(
        r#"[{ name = "ONCRMDEALADD", docs = "crm/deals/events/on-crm-deal-add.md" }, "CATALOG.PRODUCT.ON.ADD", "OnTaskAdd"]"#,
    );
    let spec = parse_spec("specs/core.toml", &ok).unwrap();
    assert_eq!(
        spec.event_docs.get("ONCRMDEALADD").map(String::as_str),
        Some("crm/deals/events/on-crm-deal-add.md")
    );
    assert_eq!(spec.events.len(), 3);
}

#[test]
fn an_event_page_must_spell_the_event() {
    refused(
        &pack_with_events(
            r#"[{ name = "ONCRMDEALADD", docs = "crm/deals/events/on-crm-deal-update.md" }]"#,
        ),
        &[
            "event `ONCRMDEALADD`: the docs page `crm/deals/events/on-crm-deal-update.md` is not the event's page",
        ],
    );
    refused(
        &pack_with_events(r#"["OnTaskAdd", "ONTASKADD"]"#),
        &["event `ONTASKADD` is listed twice"],
    );
}

#[test]
fn paginated_rows_decode_as_themselves() {
    let text = method(&GOOD.replace(
        "response = \"value\"",
        "response = \"list<id>\"\npagination = \"offset\"",
    ));
    refused(
        &text,
        &[
            "field `pagination`: a paginated method's rows must be an entity, an enum or `value`, not `id`",
        ],
    );
}

#[test]
fn enum_variants_come_from_the_labels() {
    let text = format!(
        "{PACK}\n[enum.Stage]\ndoc = \"x\"\nvalues = {{ P = \"In progress\", Q = \"In-progress\" }}\n"
    );
    refused(
        &text,
        &["enum `Stage`: field `values.Q`: variant name `InProgress` clashes with value `P`"],
    );
}

#[test]
fn user_fields_are_refused_in_entities() {
    // A user field belongs to one portal (issue 11: `UF_CRM_64A29A1CD5CC2` in `Company`).
    for field in [
        "UF_CRM_64A29A1CD5CC2",
        "ufCrm5_1700000000",
        "UF_USR_1604998606834",
        "UF_AUTO_291715100499",
    ] {
        let text =
            format!("{PACK}\n[entity.Company]\nfields = {{ ID = \"id\", {field} = \"string\" }}\n");
        refused(
            &text,
            &[&format!(
                "entity `Company`: field `fields.{field}`: `{field}` is a user field"
            )],
        );
    }
    // Documented system fields named UF_* (user.get's UF_DEPARTMENT) stay allowed.
    let text = format!(
        "{PACK}\n[entity.Company]\nfields = {{ ID = \"id\", UF_DEPARTMENT = \"list<id>\", ufo = \"string\" }}\n"
    );
    assert!(validate(&[parse_spec("specs/core.toml", &text).unwrap()]).is_ok());
}
