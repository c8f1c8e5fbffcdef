//! The Drive and document generator specs decode what their docs pages' tables allow beyond
//! the examples (`null` ids, ids sent as strings, `[]` for an empty object, PHP maps where the
//! table says array, an empty access level) and send what the pages ask for. Sources:
//! disk/folder/disk-folder-get-children.md, disk/file/disk-file-get-fields.md,
//! disk/rights/disk-rights-get-tasks.md, disk/folder/disk-folder-share-to-user.md,
//! document-generator/document-generator-document-get.md and -list.md,
//! document-generator/templates/document-generator-template-get.md,
//! document-generator/region/document-generator-region-list.md,
//! document-generator/role/document-generator-role-get.md.
#![cfg(feature = "content")]

mod decode_support;

use bitrix24::Method;
use bitrix24::packs::content::{
    DiskAccessLevel, DiskAccessTask, DiskFileGetFields, DiskFolderShareToUser, DiskObject,
    DiskObjectType, DocumentRole, DocumentTemplate, DocumentgeneratorRegionList, GeneratedDocument,
};
use decode_support::decode;
use serde_json::json;

#[test]
fn drive_children_tell_files_from_folders() {
    let o: DiskObject = decode(json!({
        "ID": "8930", "TYPE": "folder", "REAL_OBJECT_ID": "8930", "DELETED_BY": null,
        "DELETED_TYPE": "0", "DELETE_TIME": null, "CODE": null
    }));
    assert_eq!(o.r#type, Some(DiskObjectType::Folder));
    assert_eq!((o.id, o.real_object_id), (Some(8930), Some(8930)));
    assert_eq!((o.deleted_by, o.delete_time, o.code), (None, None, None));
    let o: DiskObject =
        decode(json!({"ID": 9035, "TYPE": "file", "SIZE": "1679", "FILE_ID": 32895}));
    assert_eq!(o.r#type, Some(DiskObjectType::File));
    assert_eq!((o.size, o.file_id), (Some(1679), Some(32895)));
}

#[test]
fn drive_field_descriptions_and_access_levels() {
    let fields = DiskFileGetFields::decode_response(json!({
        "ID": {"TYPE": "integer", "USE_IN_FILTER": true, "USE_IN_SHOW": true},
        "DELETED_TYPE": {"TYPE": "enum", "USE_IN_FILTER": "N", "USE_IN_SHOW": "Y"}
    }))
    .unwrap();
    assert_eq!(fields["ID"].r#type.as_deref(), Some("integer"));
    assert_eq!(
        (
            fields["DELETED_TYPE"].use_in_filter,
            fields["DELETED_TYPE"].use_in_show
        ),
        (Some(false), Some(true))
    );
    let level: DiskAccessLevel =
        decode(json!({"ID": "79", "NAME": "disk_access_full", "TITLE": "Full Access"}));
    assert_eq!(level.name, Some(DiskAccessTask::Full));
    let sent =
        serde_json::to_value(DiskFolderShareToUser::new(8, 3, DiskAccessTask::Read)).unwrap();
    assert_eq!(
        sent,
        json!({"id": 8, "userId": 3, "taskName": "disk_access_read"})
    );
}

#[test]
fn generated_documents_take_null_values_and_string_ids() {
    let d: GeneratedDocument = decode(json!({
        "id": "51", "templateId": "53", "fileId": "241", "createdBy": "503", "updatedBy": null,
        "values": null, "publicUrl": null, "stampsEnabled": false, "value": "DEAL_901",
        "pdfUrl": "", "emailDiskFile": "0"
    }));
    assert_eq!(
        (d.id, d.template_id, d.file_id),
        (Some(51), Some(53), Some(241))
    );
    assert_eq!((d.updated_by, d.values, d.public_url), (None, None, None));
    assert_eq!(d.stamps_enabled, Some(false));
    assert_eq!(d.value.as_deref(), Some("DEAL_901"));
    // Conversion is asynchronous: right after create the PDF link is "".
    assert_eq!(d.pdf_url, None);
    // `values` of a document: PHP's empty array is "no values", an object is the values.
    let d: GeneratedDocument = decode(json!({"values": []}));
    assert_eq!(d.values, None);
    let d: GeneratedDocument = decode(json!({"values": {"DocumentNumber": "SC-1"}}));
    assert_eq!(d.values.unwrap()["DocumentNumber"], "SC-1");
}

#[test]
fn templates_list_access_codes_sent_as_a_php_map() {
    let t: DocumentTemplate = decode(json!({
        "id": "57", "active": "Y", "withStamps": "N", "isDeleted": "N", "numeratorId": "3",
        "users": {"U503": "U503", "UA": "UA"},
        "providers": {"bitrix\\documentgenerator\\dataprovider\\rest": "bitrix\\documentgenerator\\dataprovider\\rest"},
        "sort": "700"
    }));
    assert_eq!(
        (t.active, t.with_stamps, t.is_deleted),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(t.users, Some(vec!["U503".to_owned(), "UA".to_owned()]));
    assert_eq!(t.providers.map(|p| p.len()), Some(1));
    assert_eq!((t.numerator_id, t.sort), (Some(3), Some(700)));
    // Sent, the Y/N fields are Y/N and the access codes a list.
    let sent = serde_json::to_value(
        DocumentTemplate::new()
            .name("Contract")
            .active(false)
            .users(["UA"]),
    )
    .unwrap();
    assert_eq!(
        (&sent["active"], &sent["users"]),
        (&json!("N"), &json!(["UA"]))
    );
}

#[test]
fn regions_are_keyed_by_code_and_roles_may_grant_nothing() {
    let regions = DocumentgeneratorRegionList::decode_response(json!({"regions": {
        "de": {"code": "de", "title": "Germany", "languageId": "de"},
        "1": {"id": "1", "title": "Germany (Custom)", "code": "1", "formatName": "#NAME# #LAST_NAME#"}
    }}))
    .unwrap();
    assert_eq!(regions.regions["de"].id, None);
    assert_eq!(regions.regions["1"].id, Some(1));
    let role: DocumentRole = decode(json!({
        "id": 9, "name": "Template Editors",
        "permissions": {"settings": {"modify": ""}, "templates": {"modify": "D"}}
    }));
    let perms = role.permissions.unwrap();
    // "" is the documented "no access": no level is set.
    assert!(perms["settings"].is_empty());
    assert_eq!(perms["templates"]["modify"], "D");
}
