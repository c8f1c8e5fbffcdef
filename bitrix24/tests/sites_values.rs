//! The sites pack decodes what the landing pages' tables allow beyond their examples (Y/N flags,
//! ids sent as text, `null`, `[]` for an empty answer or object, the kinds of sites) and sends
//! what the pages ask for. Sources: landing/site/base-fields.md, landing-site-get-public-url.md,
//! landing-site-get-folders.md, landing-site-get-additional-fields.md, landing/page/fields.md,
//! landing/block/methods/landing-block-get-list.md and -get-content.md,
//! landing/rights/role-model/landing-role-get-rights.md, landing/rights/extended-model/
//! landing-site-get-rights.md, landing/page/special-pages/landing-syspage-get.md,
//! landing/demos/landing-demos-get-page-list.md and -get-list.md, landing/template/landing-template-get-site-ref.md.
#![cfg(feature = "sites")]

use bitrix24::Method;
use bitrix24::envelope::decode_typed;
use bitrix24::packs::sites::{
    BlockAccess, DemoKind, DemoWizard, LandingBlockContent, LandingBlockGetlist, LandingDemo,
    LandingDemosGetPageList, LandingPage, LandingRoleGetRights, LandingSiteGetPublicUrl,
    LandingSiteGetRights, LandingSiteGetadditionalfields, LandingSyspageGet,
    LandingTemplateGetSiteRef, Site, SiteFolder, SiteType, SyspageType,
};
use serde_json::{Value, json};

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("decodes")
}

/// The `result` of a documented answer, decoded the way the client decodes `M`'s.
fn result<M: Method>(result: &Value) -> Result<M::Response, bitrix24::Error> {
    let body = serde_json::to_vec(&json!({ "result": result, "time": {} })).unwrap();
    decode_typed::<M>(200, &body).map(|r| r.result)
}

#[test]
fn site_kinds_flags_and_text_ids_decode_as_the_fields_page_lists_them() {
    for (wire, kind) in [
        ("PAGE", SiteType::Site),
        ("STORE", SiteType::Store),
        ("SMN", SiteType::Project),
        ("KNOWLEDGE", SiteType::KnowledgeBase),
        ("GROUP", SiteType::GroupSite),
        ("MAINPAGE", SiteType::MainPage),
    ] {
        let s: Site = decode(json!({"ID": "157", "TYPE": wire, "ACTIVE": "Y", "DELETED": "N"}));
        assert_eq!(s.r#type, Some(kind), "{wire}");
        assert_eq!(
            (s.id, s.active, s.deleted),
            (Some(157), Some(true), Some(false))
        );
    }
    let s: Site = decode(json!({
        "TYPE": "VIBE", "PHONE": null, "PUBLIC_URL": "", "DOMAIN_ID": 5,
        "LANDING_ID_INDEX": "0", "DATE_CREATE": "04/20/2020 12:48:10 pm", "UF_SITE_X": "1"
    }));
    assert_eq!(s.r#type, Some(SiteType::Unknown("VIBE".into())));
    assert_eq!((s.phone, s.public_url), (None, None));
    assert_eq!(s.domain_id.as_deref(), Some("5"));
    assert_eq!(s.landing_id_index, Some(0));
    // The regional date format is kept as sent.
    assert_eq!(s.date_create.as_deref(), Some("04/20/2020 12:48:10 pm"));
    assert_eq!(s.extra["UF_SITE_X"], "1");
}

#[test]
fn site_and_page_flags_are_sent_as_y_n() {
    let sent = serde_json::to_value(
        Site::new()
            .title("Shop")
            .r#type(SiteType::Store)
            .active(false),
    )
    .unwrap();
    assert_eq!(
        sent,
        json!({"TITLE": "Shop", "TYPE": "STORE", "ACTIVE": "N"})
    );
    let sent =
        serde_json::to_value(LandingPage::new().site_id(3).sitemap(true).folder(false)).unwrap();
    assert_eq!(sent, json!({"SITE_ID": 3, "SITEMAP": "Y", "FOLDER": "N"}));
}

#[test]
fn folders_without_a_parent_or_index_page_read_none() {
    let f: SiteFolder = decode(json!({
        "ID": "33", "PARENT_ID": null, "SITE_ID": "3", "INDEX_ID": "", "ACTIVE": "N", "DELETED": "Y"
    }));
    assert_eq!((f.id, f.parent_id, f.index_id), (Some(33), None, None));
    assert_eq!((f.active, f.deleted), (Some(false), Some(true)));
}

#[test]
fn public_urls_of_unknown_sites_are_an_empty_map() {
    let sent = serde_json::to_value(LandingSiteGetPublicUrl::new([3, 135])).unwrap();
    assert_eq!(sent["id"], json!([3, 135]));
    let urls = result::<LandingSiteGetPublicUrl>(&json!([])).unwrap();
    assert!(urls.is_empty());
    let urls = result::<LandingSiteGetPublicUrl>(&json!({"3": "https://a.bitrix24.site"})).unwrap();
    assert_eq!(urls["3"], "https://a.bitrix24.site");
}

#[test]
fn an_empty_page_lists_no_blocks() {
    // getlist answers `[]` without an error for a page with no blocks in the reading mode.
    assert!(
        result::<LandingBlockGetlist>(&json!([]))
            .unwrap()
            .is_empty()
    );
    let sent = serde_json::to_value(LandingBlockGetlist::new([2215])).unwrap();
    assert_eq!(sent["lid"], json!([2215]));
}

#[test]
fn block_content_reads_every_access_level_and_empty_parts() {
    for (wire, access) in [
        ("A", BlockAccess::Closed),
        ("D", BlockAccess::Denied),
        ("V", BlockAccess::DesignOnly),
        ("W", BlockAccess::Edit),
        ("X", BlockAccess::Full),
    ] {
        let c: LandingBlockContent = decode(json!({
            "id": "28853", "access": wire, "repoId": null, "php": false, "css": [], "js": [],
            "assetStrings": [], "manifest": [], "lang": []
        }));
        assert_eq!(c.access, Some(access), "{wire}");
        assert_eq!((c.id, c.repo_id, c.php), (Some(28853), None, Some(false)));
        assert_eq!((c.css, c.asset_strings), (Some(vec![]), Some(vec![])));
        assert_eq!(c.manifest, None);
        assert_eq!(c.lang, Some(json!([])));
    }
    let c: LandingBlockContent = decode(json!({"repoId": "12", "access": "Z"}));
    assert_eq!(c.repo_id, Some(12));
    assert_eq!(c.access, Some(BlockAccess::Unknown("Z".into())));
}

#[test]
fn role_rights_read_a_php_list_and_no_rights() {
    // Rights only for key `0` (every site) travel as a JSON list; no saved rights as `[]`.
    let rights = result::<LandingRoleGetRights>(&json!([["read", "edit"]])).unwrap();
    assert_eq!(rights["0"], vec!["read", "edit"]);
    assert!(
        result::<LandingRoleGetRights>(&json!([]))
            .unwrap()
            .is_empty()
    );
    let rights = result::<LandingRoleGetRights>(&json!({"0": ["read"], "5": []})).unwrap();
    assert_eq!((rights["0"].len(), rights["5"].len()), (1, 0));
    // An inaccessible site has no rights: `[]`.
    assert!(
        result::<LandingSiteGetRights>(&json!([]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn special_pages_read_every_role_and_none_assigned() {
    let pages = result::<LandingSyspageGet>(&json!({
        "feedback": {"TYPE": "feedback", "LANDING_ID": "9", "DELETED": "N", "ACTIVE": "N"}
    }))
    .unwrap();
    let p = &pages["feedback"];
    assert_eq!(p.r#type, Some(SyspageType::Feedback));
    assert_eq!(
        (p.landing_id, p.active, p.deleted),
        (Some(9), Some(false), Some(false))
    );
    assert!(result::<LandingSyspageGet>(&json!({})).unwrap().is_empty());
    assert!(result::<LandingSyspageGet>(&json!([])).unwrap().is_empty());
    // The page's `null` (no such site, or no read access) is not a map: a typed decode error.
    let err = result::<LandingSyspageGet>(&Value::Null).unwrap_err();
    assert!(err.to_string().contains("landing.syspage.get"), "{err}");
}

#[test]
fn additional_fields_and_template_refs_read_empty_answers() {
    // "If there are no available fields, the method may return null or an empty array".
    assert!(
        result::<LandingSiteGetadditionalfields>(&json!([]))
            .unwrap()
            .is_empty()
    );
    let f = result::<LandingSiteGetadditionalfields>(&json!({"SETTINGS_PRICE_CODE": ["BASE"]}));
    assert_eq!(f.unwrap()["SETTINGS_PRICE_CODE"], json!(["BASE"]));
    // Area -> page ids, sent as numbers or text; a template with no areas set answers `[]`.
    let refs = result::<LandingTemplateGetSiteRef>(&json!({"1": "735", "2": 731})).unwrap();
    assert_eq!((refs["1"], refs["2"]), (735, 731));
    assert!(
        result::<LandingTemplateGetSiteRef>(&json!([]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn no_matching_templates_is_an_empty_map() {
    // "If no suitable templates are found, the method returns an empty array `result: []`".
    assert!(
        result::<LandingDemosGetPageList>(&json!([]))
            .unwrap()
            .is_empty()
    );
    let t = result::<LandingDemosGetPageList>(&json!({
        "x": {"ID": "x", "TYPE": ["PAGE", "STORE"], "ACTIVE": true, "DESCRIPTION": null, "REST": "4", "SECTION": []}
    }))
    .unwrap();
    let x = &t["x"];
    assert_eq!(x.r#type, Some(vec![SiteType::Site, SiteType::Store]));
    assert_eq!(
        (x.active, x.description.as_deref(), x.rest),
        (Some(true), None, Some(4))
    );
    assert_eq!(x.section, Some(vec![]));
}

#[test]
fn registered_templates_read_their_kind_wizard_and_flags() {
    let d: LandingDemo = decode(json!({
        "ID": "9", "TYPE": "knowledge", "TPL_TYPE": "P", "ACTIVE": "N", "SHOW_IN_LIST": "Y",
        "MANIFEST": false, "LANG": [], "DESCRIPTION": null
    }));
    assert_eq!(d.r#type, Some(DemoKind::KnowledgeBase));
    assert_eq!(d.tpl_type, Some(DemoWizard::PageTemplate));
    assert_eq!((d.active, d.show_in_list), (Some(false), Some(true)));
    assert_eq!((d.manifest, d.lang, d.description), (None, None, None));
    let d: LandingDemo = decode(json!({"TYPE": "mainpage", "TPL_TYPE": "S"}));
    assert_eq!(d.r#type, Some(DemoKind::MainPage));
    assert_eq!(d.tpl_type, Some(DemoWizard::SiteTemplate));
}
