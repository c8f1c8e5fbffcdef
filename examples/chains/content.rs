//! The `content` chains of references/chains-content.md, each a function run against the
//! embedded emulator by `cargo test -p bitrix24-examples --test chains_content`.

use bitrix24::packs::content::{
    DiskFile, DiskFileCopyTo, DiskFileDelete, DiskFileGet, DiskFileMoveTo, DiskFileUploadVersion,
    DiskFolderGetChildren, DiskFolderUploadFile, DiskStorageAddFolder, DiskStorageGetList,
};
use bitrix24::packs::core::{CrmItemAdd, CrmItemUpdate, Item};
use bitrix24::{Client, Error};
use bitrix24_examples::webhook_portal;
use serde_json::json;

/// "Signed contract" in base64: the body `fileContent` carries.
const BODY: &str = "U2lnbmVkIGNvbnRyYWN0";

/// Chain 1, upload to a process folder: find the storage, open (or make) the folder, upload,
/// note the file's id on the deal it belongs to. Returns the file.
async fn upload_to_process_folder(client: &Client, deal_id: u64) -> Result<DiskFile, Error> {
    // 1. disk.storage.getlist: the storage to work in
    let storages = client.send(&DiskStorageGetList::new()).await?;
    let storage_id = storages.first().and_then(|s| s.id).unwrap_or_default();
    // 2. the process folder, and what it holds already (disk.folder.getchildren)
    let folder = client
        .send(&DiskStorageAddFolder::new(
            storage_id,
            json!({ "NAME": "Contracts" }),
        ))
        .await?;
    let folder_id = folder.id.unwrap_or_default();
    let _present = client.send(&DiskFolderGetChildren::new(folder_id)).await?;
    // 3. disk.folder.uploadfile: fileContent is [name, base64 body]
    let upload = DiskFolderUploadFile::new(folder_id, json!({ "NAME": "contract.txt" }))
        .file_content(["contract.txt", BODY]);
    let file = client.send(&upload).await?;
    // 4. the file's id on the deal
    let note = Item::new().comments(format!(
        "Contract: disk file {}",
        file.id.unwrap_or_default()
    ));
    client.send(&CrmItemUpdate::new(2, deal_id, note)).await?;
    Ok(file)
}

/// Chain 2, versioned replacement: read the file, upload a new version, keep the previous
/// version number for a rollback. Returns (previous, new) content versions.
async fn versioned_replacement(client: &Client, file_id: u64) -> Result<(i64, i64), Error> {
    // 1. disk.file.get: the version to keep for a rollback
    let before = client.send(&DiskFileGet::new(file_id)).await?;
    let previous = before.global_content_version.unwrap_or_default();
    // 2. disk.file.uploadversion
    let after = client
        .send(&DiskFileUploadVersion::new(file_id, ["contract.txt", BODY]))
        .await?;
    Ok((previous, after.global_content_version.unwrap_or_default()))
}

/// Chain 3, move and archive: move the file to its new folder, copy it to the archive, and
/// delete (destructive: `--confirm-destructive` / `confirm_destructive`) only what is no
/// longer needed, here the archive copy once checked. Returns the copy's id.
async fn move_and_archive(
    client: &Client,
    file_id: u64,
    target: u64,
    archive: u64,
) -> Result<u64, Error> {
    // 1. disk.file.moveto
    client.send(&DiskFileMoveTo::new(file_id, target)).await?;
    // 2. disk.file.copyto, for the backup
    let copy = client.send(&DiskFileCopyTo::new(file_id, archive)).await?;
    let copy_id = copy.id.unwrap_or_default();
    // 3. disk.file.delete, destructive: only with the user's explicit confirmation
    client.send(&DiskFileDelete::new(copy_id)).await?;
    Ok(copy_id)
}

async fn folder(client: &Client, name: &str) -> u64 {
    let storages = client.send(&DiskStorageGetList::new()).await.unwrap();
    let storage_id = storages.first().and_then(|s| s.id).unwrap();
    let f = client
        .send(&DiskStorageAddFolder::new(
            storage_id,
            json!({ "NAME": name }),
        ))
        .await
        .unwrap();
    f.id.unwrap()
}

#[tokio::test]
async fn content_chains_run() {
    let (emu, client) = webhook_portal().await;
    let added = client
        .send(&CrmItemAdd::new(2, Item::new().title("Contract deal")))
        .await
        .unwrap();
    let deal = added.item.id.unwrap();
    // 1
    let file = upload_to_process_folder(&client, deal).await.unwrap();
    let file_id = file.id.unwrap();
    assert_eq!(file.name.as_deref(), Some("contract.txt"));
    assert_eq!(emu.control().method_calls("crm.item.update"), 1);
    // 2
    let (previous, new) = versioned_replacement(&client, file_id).await.unwrap();
    assert!(new > previous, "{previous} -> {new}");
    // 3
    let (target, archive) = (
        folder(&client, "Signed").await,
        folder(&client, "Archive").await,
    );
    let copy = move_and_archive(&client, file_id, target, archive)
        .await
        .unwrap();
    assert_ne!(copy, file_id);
    let moved = client.send(&DiskFileGet::new(file_id)).await.unwrap();
    assert_eq!(moved.parent_id, Some(target));
}

#[test]
fn the_reference_shows_this_code() {
    bitrix24_examples::assert_snippets_in(
        include_str!("../../references/chains-content.md"),
        include_str!("content.rs"),
        3,
    );
}
