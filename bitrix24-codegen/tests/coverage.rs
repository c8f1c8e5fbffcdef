//! The coverage report: rendered from a docs index and the specs, read back, and checked
//! against the specs with no docs checkout.

use std::fmt::Write as _;

use bitrix24_codegen::coverage::{check_recorded, parse_recorded, render};
use bitrix24_codegen::coverage_scan::{DocMethod, DocsIndex};
use bitrix24_codegen::{Spec, parse_spec};

fn spec(pack: &str, methods: &[(&str, &str)]) -> Spec {
    let mut text = format!("[pack]\nname = \"{pack}\"\nsummary = \"Test.\"\n");
    for (name, response) in methods {
        let _ = write!(
            text,
            "\n[method.\"{name}\"]\nsummary = \"x.\"\ndocs = \"x/x.md\"\nrisk = \"read\"\nscopes = []\nresponse = \"{response}\"\n"
        );
    }
    parse_spec(&format!("specs/{pack}.toml"), &text).expect("parses")
}

fn doc(name: &str, page: &str, deprecated: bool) -> DocMethod {
    DocMethod {
        name: name.into(),
        page: page.into(),
        deprecated,
    }
}

fn index() -> DocsIndex {
    DocsIndex {
        commit: "0123456789012345678901234567890123456789".into(),
        methods: vec![
            doc("crm.deal.add", "crm/deals/crm-deal-add.md", true),
            doc("crm.item.add", "crm/universal/crm-item-add.md", false),
            doc("crm.item.list", "crm/universal/crm-item-list.md", false),
            doc(
                "lists.element.get",
                "lists/elements/lists-element-get.md",
                false,
            ),
            doc(
                "mail.mailbox.list",
                "mail/mailbox/mail-mailbox-list.md",
                false,
            ),
        ],
    }
}

#[test]
fn the_report_counts_and_reads_back() {
    let specs = [spec(
        "core",
        &[("crm.item.add", "id"), ("crm.deal.add", "value")],
    )];
    let md = render(&index(), &specs);
    for x in [
        "at commit `0123456789012345678901234567890123456789`",
        "4 current documented methods (1 more marked deprecated); 1 of them specced (25%)",
        "| `crm` | 2 | 1 | 2 | 1 | 1 |",
        "| `lists` | 1 | 0 | 0 | 0 | 1 |",
        "| `crm.item.add` | `crm/universal/crm-item-add.md` | current | core, typed |",
        "| `crm.deal.add` | `crm/deals/crm-deal-add.md` | deprecated | core, value |",
        // Missing methods go where the longest specced prefix is, or where the term map says.
        "| `crm.item.list` | `crm/universal/crm-item-list.md` | current | missing -> core |",
        "| `lists.element.get` | `lists/elements/lists-element-get.md` | current | missing -> content |",
        "| `mail.mailbox.list` | `mail/mailbox/mail-mailbox-list.md` | current | missing -> comms |",
        "| `core` | 2 | 1 | 2 | 1 | 1 |",
    ] {
        assert!(md.contains(x), "expected `{x}` in:\n{md}");
    }
    let rec = parse_recorded(&md).unwrap();
    assert_eq!(rec.index, index());
    assert_eq!(
        rec.untyped_debt().into_iter().collect::<Vec<_>>(),
        ["crm.deal.add"]
    );
    assert_eq!(check_recorded(&md, &specs).unwrap(), Vec::<String>::new());
}

#[test]
fn check_fails_when_the_specs_leave_the_recorded_list() {
    let before = [spec("core", &[("crm.item.add", "id")])];
    let md = render(&index(), &before);
    // A method specced that the report says is missing.
    let added = [spec(
        "core",
        &[("crm.item.add", "id"), ("crm.item.list", "list:value")],
    )];
    let e = check_recorded(&md, &added).unwrap().join("\n");
    assert!(
        e.contains("`crm.item.list` is specced now, but the report lists it missing (`missing -> core` -> `core, value`)"),
        "{e}"
    );
    assert!(e.contains("coverage --write"), "{e}");
    // A recorded method removed from the specs.
    let e = check_recorded(&md, &[spec("core", &[])])
        .unwrap()
        .join("\n");
    assert!(
        e.contains("`crm.item.add` the report lists it specced, but no spec has it"),
        "{e}"
    );
    // Only the undocumented list changed.
    let extra = [spec("core", &[("crm.item.add", "id"), ("x.y", "id")])];
    let e = check_recorded(&md, &extra).unwrap().join("\n");
    assert!(e.contains("references/coverage.md is stale"), "{e}");
}

#[test]
fn a_broken_report_is_named() {
    let e = parse_recorded("# Docs coverage\n").unwrap_err();
    assert!(
        e.contains("references/coverage.md: no `at commit` line"),
        "{e}"
    );
    let md = render(&index(), &[spec("core", &[])]).replace("| current |", "| maybe |");
    let e = parse_recorded(&md).unwrap_err();
    assert!(e.contains("references/coverage.md:"), "{e}");
}

#[test]
fn an_event_a_pack_lists_is_specced() {
    let mut commerce = spec("commerce", &[]);
    commerce.events.push("CATALOG.PRICE.ON.ADD".into());
    let idx = DocsIndex {
        commit: "0123456789012345678901234567890123456789".into(),
        methods: vec![
            doc(
                "CATALOG.PRICE.ON.ADD",
                "catalog/price/events/catalog-price-on-add.md",
                false,
            ),
            doc(
                "CATALOG.MEASURE.ON.ADD",
                "catalog/measure/events/catalog-measure-on-add.md",
                false,
            ),
        ],
    };
    let md = render(&idx, &[commerce]);
    for x in [
        "| `CATALOG.PRICE.ON.ADD` | `catalog/price/events/catalog-price-on-add.md` | current | commerce, typed |",
        "| `CATALOG.MEASURE.ON.ADD` | `catalog/measure/events/catalog-measure-on-add.md` | current | missing -> commerce |",
    ] {
        assert!(md.contains(x), "expected `{x}` in:\n{md}");
    }
    // Events are no methods: the undocumented list stays empty.
    assert!(
        md.contains("## Specced, not a documented method name\n\nNone."),
        "{md}"
    );
}

#[test]
fn a_spec_that_knowingly_differs_covers_its_page() {
    let text = "[pack]\nname = \"core\"\nsummary = \"Test.\"\n\n\
                [v3.\"humanresources.employee.search\"]\nsummary = \"x.\"\n\
                docs = \"departments/employee/humanresources-employee-search.md\"\n\
                docs_differs = \"The title misspells the name.\"\nrisk = \"read\"\nscopes = []\n\
                response = \"id\"\n";
    let core = parse_spec("specs/core.toml", text).expect("parses");
    let idx = DocsIndex {
        commit: "0123456789012345678901234567890123456789".into(),
        methods: vec![doc(
            "humanresourses.employee.search",
            "departments/employee/humanresources-employee-search.md",
            false,
        )],
    };
    let md = render(&idx, &[core]);
    let row = "| `humanresourses.employee.search` | \
               `departments/employee/humanresources-employee-search.md` | current | core, typed |";
    assert!(md.contains(row), "{md}");
}
