//! The `collab` chains of references/chains-collab.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_collab`.

use bitrix24::packs::collab::{
    LogBlogcommentAdd, LogBlogpostAdd, LogBlogpostUpdate, SonetGroupCreate, SonetGroupDelete,
    SonetGroupGet, SonetGroupUpdate,
};
use bitrix24::packs::core::{TaskFields, TasksTaskAddV2, TasksTaskListV2};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal as portal;
use serde_json::json;
use std::collections::HashMap;

/// Chain 1, workgroup provisioning: the group, its settings, and the mapping from your own
/// key to the group id kept in your store. Returns the group id.
async fn provision_group(
    client: &Client,
    key: &str,
    store: &mut HashMap<String, u64>,
) -> Result<u64, Error> {
    if let Some(id) = store.get(key) {
        return Ok(*id);
    }
    // 1. sonet_group.create
    let create = SonetGroupCreate::new(format!("Project {key}"))
        .visible(true)
        .opened(false);
    let id = client.send(&create).await?;
    // 2. sonet_group.update: the description once the id is known
    let update = SonetGroupUpdate::new(id).description(format!("Provisioned for {key}"));
    client.send(&update).await?;
    // 3. the mapping, persisted by your app
    store.insert(key.to_owned(), id);
    Ok(id)
}

/// Chain 2, feed post lifecycle: the post, a comment, and the post updated when its status
/// changes. Returns the post id.
async fn feed_post_lifecycle(client: &Client, group: u64) -> Result<u64, Error> {
    // 1. log.blogpost.add to the workgroup (`SG<id>`)
    let post = LogBlogpostAdd::new("Release 2.4 is planned for Friday.")
        .post_title("Release 2.4")
        .dest([format!("SG{group}")]);
    let post_id = client.send(&post).await?;
    // 2. log.blogcomment.add
    let comment = LogBlogcommentAdd::new(post_id, "QA sign-off is done.");
    client.send(&comment).await?;
    // 3. log.blogpost.update when the status changes
    let done = LogBlogpostUpdate::new(post_id).post_title("Release 2.4: shipped");
    client.send(&done).await?;
    Ok(post_id)
}

/// Chain 3, controlled cleanup: read the group, check what depends on it (its tasks), and
/// delete (destructive: `--confirm-destructive`) only when nothing does. Returns whether it
/// was deleted.
async fn cleanup_group(client: &Client, group: u64) -> Result<bool, Error> {
    // 1. sonet_group.get and the dependency check
    let found = client
        .send(&SonetGroupGet::new().filter(json!({ "ID": group })))
        .await?;
    if found.is_empty() {
        return Ok(false);
    }
    let tasks = client
        .send(&TasksTaskListV2::new().filter(json!({ "GROUP_ID": group })))
        .await?
        .tasks;
    if !tasks.is_empty() {
        return Ok(false);
    }
    // 2. sonet_group.delete, only with the user's explicit confirmation
    client.send(&SonetGroupDelete::new(group)).await
}

#[tokio::test]
async fn chain_1_workgroup_provisioning() {
    let (emu, client) = portal().await;
    let mut store = HashMap::new();
    let id = provision_group(&client, "acme", &mut store).await.unwrap();
    let again = provision_group(&client, "acme", &mut store).await.unwrap();
    assert_eq!(id, again, "the mapping prevents a second group");
    assert_eq!(emu.control().method_calls("sonet_group.create"), 1);
    let groups = client
        .send(&SonetGroupGet::new().filter(json!({ "ID": id })))
        .await
        .unwrap();
    assert_eq!(
        groups[0].description.as_deref(),
        Some("Provisioned for acme")
    );
}

#[tokio::test]
async fn chain_2_feed_post_lifecycle() {
    let (_emu, client) = portal().await;
    let group = client
        .send(&SonetGroupCreate::new("Releases"))
        .await
        .unwrap();
    let post = feed_post_lifecycle(&client, group).await.unwrap();
    // Read back untyped: the emulator answers `UF_BLOG_POST_IMPRTNT` as "N" where the typed
    // `BlogPost` expects an object, so `LogBlogpostGet` does not decode its answer.
    let got = client
        .call("log.blogpost.get", json!({ "POST_ID": post }))
        .await
        .unwrap();
    assert_eq!(got[0]["TITLE"], "Release 2.4: shipped");
    assert_eq!(got[0]["NUM_COMMENTS"], "1");
    // The same comment twice is refused as a duplicate.
    let e = client
        .send(&LogBlogcommentAdd::new(post, "QA sign-off is done."))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Duplicate comment"), "{e}");
}

#[tokio::test]
async fn chain_3_controlled_cleanup() {
    let (emu, client) = portal().await;
    let busy = client.send(&SonetGroupCreate::new("Busy")).await.unwrap();
    let idle = client.send(&SonetGroupCreate::new("Idle")).await.unwrap();
    let task = TaskFields::new()
        .title("Open work")
        .responsible_id(1)
        .group_id(busy);
    client.send(&TasksTaskAddV2::new(task)).await.unwrap();
    assert!(
        !cleanup_group(&client, busy).await.unwrap(),
        "it has a task"
    );
    assert!(cleanup_group(&client, idle).await.unwrap());
    assert_eq!(emu.control().method_calls("sonet_group.delete"), 1);
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-collab.md"),
        include_str!("collab.rs"),
        3,
    );
}
