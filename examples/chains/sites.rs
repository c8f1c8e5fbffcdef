//! The `sites` chains of references/chains-sites.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_sites`.

use bitrix24::packs::sites::{
    LandingBlockGetlist, LandingLandingAdd, LandingLandingDelete, LandingLandingGetList,
    LandingLandingUpdate, LandingPage, LandingSiteAdd, LandingSiteDelete, Site, SiteType,
};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal as portal;
use serde_json::json;

/// Chain 1, site and page bootstrap: the site, its first page, and the page's blocks (none
/// for a page made without a template). Returns the site and page ids.
async fn site_bootstrap(client: &Client, code: &str) -> Result<(u64, u64), Error> {
    // 1. landing.site.add: CODE is the site address (a-z, 0-9, -, .)
    let site = Site::new()
        .title("Spring sale")
        .code(code)
        .r#type(SiteType::Site);
    let site_id = client.send(&LandingSiteAdd::new(site)).await?;
    // 2. landing.landing.add in that site
    let page = LandingPage::new()
        .title("Home")
        .site_id(site_id)
        .code("home");
    let page_id = client.send(&LandingLandingAdd::new(page)).await?;
    // 3. landing.block.getlist: what the page holds
    let blocks = client.send(&LandingBlockGetlist::new([page_id])).await?;
    assert!(blocks.is_empty());
    Ok((site_id, page_id))
}

/// The pages of a site (`landing.landing.getList` with `params.filter`), as (id, row).
async fn site_pages(client: &Client, site: u64) -> Result<Vec<(u64, LandingPage)>, Error> {
    let query = json!({ "select": ["ID", "TITLE", "ACTIVE"], "filter": { "SITE_ID": site } });
    let pages = client
        .send(&LandingLandingGetList::new().params(query))
        .await?;
    Ok(pages.into_iter().filter_map(|p| Some((p.id?, p))).collect())
}

/// Chain 2, content update: the site's pages, each one's title and description updated.
/// Returns how many pages were updated.
async fn content_update(client: &Client, site: u64, season: &str) -> Result<usize, Error> {
    // 1. landing.landing.getList
    let pages = site_pages(client, site).await?;
    // 2. landing.landing.update per page (block cards: landing.block.updatenodes)
    for (id, page) in &pages {
        let title = format!("{} ({season})", page.title.as_deref().unwrap_or_default());
        let fields = LandingPage::new()
            .title(title)
            .description(format!("{season} offers"));
        client.send(&LandingLandingUpdate::new(*id, fields)).await?;
    }
    Ok(pages.len())
}

/// Chain 3, controlled cleanup: the site's pages, checked for publication, each unpublished
/// one deleted, then the site once it is empty (destructive: `--confirm-destructive`).
/// Returns whether the site was deleted.
async fn site_cleanup(client: &Client, site: u64) -> Result<bool, Error> {
    // 1. landing.landing.getList
    let pages = site_pages(client, site).await?;
    // 2. validate: a published page (ACTIVE "Y") is kept
    let (live, drafts): (Vec<_>, Vec<_>) =
        pages.into_iter().partition(|(_, p)| p.active == Some(true));
    // 3. landing.landing.delete per draft, then landing.site.delete when nothing is left
    for (id, _) in drafts {
        client.send(&LandingLandingDelete::new(id)).await?;
    }
    if !live.is_empty() {
        return Ok(false);
    }
    client.send(&LandingSiteDelete::new(site)).await
}

#[tokio::test]
async fn chain_1_site_and_page_bootstrap() {
    let (_emu, client) = portal().await;
    let (site, page) = site_bootstrap(&client, "spring-sale").await.unwrap();
    assert!(site > 0 && page > 0);
    let e = site_bootstrap(&client, "Spring Sale!").await.unwrap_err();
    bitrix24_examples::assert_code(&e, "DOMAIN_IS_INCORRECT");
}

#[tokio::test]
async fn chain_2_content_update() {
    let (_emu, client) = portal().await;
    let (site, _) = site_bootstrap(&client, "shop").await.unwrap();
    assert_eq!(content_update(&client, site, "Summer").await.unwrap(), 1);
    let pages = site_pages(&client, site).await.unwrap();
    assert_eq!(pages[0].1.title.as_deref(), Some("Home (Summer)"));
}

#[tokio::test]
async fn chain_3_controlled_cleanup() {
    let (emu, client) = portal().await;
    let (site, page) = site_bootstrap(&client, "old-promo").await.unwrap();
    // A site with a page cannot go first: the portal refuses it.
    let e = client
        .send(&LandingSiteDelete::new(site))
        .await
        .unwrap_err();
    bitrix24_examples::assert_code(&e, "SITE_IS_NOT_EMPTY");
    assert!(site_cleanup(&client, site).await.unwrap());
    assert_eq!(emu.control().method_calls("landing.landing.delete"), 1);
    assert!(
        site_pages(&client, site).await.unwrap().is_empty(),
        "page {page} gone"
    );
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-sites.md"),
        include_str!("sites.rs"),
        4,
    );
}
