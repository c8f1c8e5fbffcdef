//! `disk.*`: storages, folders and files in the spec's `Storage`, `DiskFolder` and `DiskFile`
//! families (one id space for folders and files), file versions in the `disk.versions` side
//! table.

use super::common::{fam, int_of, now_i, page, page_of, query, row, start_of, store, str_p, write};
use crate::clock;
use crate::core::{ApiError, Caller, MethodResult, Outcome, as_i64, as_str, list_items, param};
use crate::entity::meta::list_outcome;
use crate::entity::{Family, FieldType, View};
use crate::routes::{Route, store_routes};
use crate::state::{Data, Inner};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The storage, folder and file methods.
pub(crate) const ROUTES: &[Route] = store_routes![run;
    "disk.storage" => [
        "disk.storage.getlist",
        "disk.storage.get",
        "disk.storage.getchildren",
        "disk.storage.getforapp",
        "disk.storage.gettypes",
        "disk.storage.getfields",
        "disk.storage.addfolder",
        "disk.storage.uploadfile",
        "disk.storage.rename",
    ],
    "disk.folder" => [
        "disk.folder.get",
        "disk.folder.getchildren",
        "disk.folder.addsubfolder",
        "disk.folder.uploadfile",
        "disk.folder.copyto",
        "disk.folder.moveto",
        "disk.folder.rename",
        "disk.folder.markdeleted",
        "disk.folder.restore",
        "disk.folder.deletetree",
        "disk.folder.getexternallink",
        "disk.folder.getfields",
    ],
    "disk.file" => [
        "disk.file.get",
        "disk.file.copyto",
        "disk.file.moveto",
        "disk.file.rename",
        "disk.file.delete",
        "disk.file.markdeleted",
        "disk.file.restore",
        "disk.file.uploadversion",
        "disk.file.getversions",
        "disk.file.getexternallink",
        "disk.file.getfields",
    ],
];

// ---------------------------------------------------------------- disk

const VERSIONS: &str = "disk.versions";

fn disk_arg(n: u8) -> ApiError {
    ApiError::new(
        400,
        "ERROR_ARGUMENT",
        format!("Invalid value of parameter {{Parameter #{n}}}"),
    )
}

fn disk_not_found(id: i64) -> ApiError {
    ApiError::new(
        400,
        "ERROR_NOT_FOUND",
        format!("Could not find entity with id {id}"),
    )
}

/// The next id of the shared folder/file id space (one `b_disk_object` table on a portal).
fn next_object_id(data: &Data) -> i64 {
    ["disk.folder", "disk.file"]
        .iter()
        .filter_map(|k| data.stores.get(*k))
        .map(|s| {
            s.next_id
                .max(s.rows.keys().next_back().copied().unwrap_or(0))
        })
        .max()
        .unwrap_or(0)
}

fn add_object(
    data: &mut Data,
    key: &str,
    fam: &Family,
    fields: &Map<String, Value>,
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let base = next_object_id(data);
    let s = store(data, key);
    s.next_id = s.next_id.max(base);
    s.add(fam, View::native(fam), fields, user, now, None)
}

fn object_fields(
    name: &str,
    kind: &str,
    storage: i64,
    parent: Option<i64>,
    user: u64,
    now: i64,
) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("NAME", json!(name)),
        ("TYPE", json!(kind)),
        ("CODE", Value::Null),
        ("STORAGE_ID", json!(storage)),
        ("PARENT_ID", parent.map_or(Value::Null, |p| json!(p))),
        ("CREATE_TIME", json!(now)),
        ("UPDATE_TIME", json!(now)),
        ("DELETE_TIME", Value::Null),
        ("CREATED_BY", json!(user)),
        ("UPDATED_BY", json!(user)),
        ("DELETED_BY", json!(0)),
        ("DELETED_TYPE", json!("0")),
    ] {
        m.insert(k.into(), v);
    }
    m
}

/// Creates a storage with its root folder.
fn add_storage(
    data: &mut Data,
    st: &Family,
    folder: &Family,
    (name, etype, eid): (&str, &str, &str),
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let mut fields = Map::new();
    for (k, v) in [
        ("NAME", json!(name)),
        ("CODE", Value::Null),
        ("MODULE_ID", json!("disk")),
        ("ENTITY_TYPE", json!(etype)),
        ("ENTITY_ID", json!(eid)),
    ] {
        fields.insert(k.into(), v);
    }
    let sid = store(data, "disk.storage").add(st, View::native(st), &fields, user, now, None)?;
    let f = object_fields(name, "folder", sid, None, user, now as i64);
    let root = add_object(data, "disk.folder", folder, &f, user, now)?;
    store(data, "disk.folder").set(folder, root, "REAL_OBJECT_ID", &json!(root));
    store(data, "disk.storage").set(st, sid, "ROOT_OBJECT_ID", &json!(root));
    Ok(sid)
}

/// The portal's storages on first use: the shared drive and one per user.
fn ensure_storages(
    data: &mut Data,
    st: &Family,
    folder: &Family,
    now: f64,
) -> Result<(), ApiError> {
    if data
        .stores
        .get("disk.storage")
        .is_some_and(|s| !s.rows.is_empty())
    {
        return Ok(());
    }
    add_storage(
        data,
        st,
        folder,
        ("Shared drive", "common", "shared_files_s1"),
        1,
        now,
    )?;
    let users: Vec<(u64, String)> = data
        .users
        .values()
        .map(|u| (u.id, format!("{} {}", u.name, u.last_name)))
        .collect();
    for (id, name) in users {
        add_storage(data, st, folder, (&name, "user", &id.to_string()), id, now)?;
    }
    Ok(())
}

fn b64_len(s: &str) -> usize {
    let t = s.trim().trim_end_matches('=');
    t.len() * 3 / 4
}

/// `fileContent`: `[name, base64]` -> (name, size).
fn file_content(p: &Map<String, Value>) -> Option<(String, usize)> {
    let v = param(p, "fileContent")?;
    let items = list_items(v);
    let name = items.first().and_then(|x| as_str(x)).unwrap_or_default();
    let body = items.get(1).and_then(|x| as_str(x)).unwrap_or_default();
    Some((name, b64_len(&body)))
}

fn data_name(p: &Map<String, Value>) -> Option<String> {
    match param(p, "data") {
        Some(Value::Object(m)) => m
            .get("NAME")
            .or_else(|| m.get("name"))
            .and_then(as_str)
            .filter(|s| !s.trim().is_empty()),
        _ => None,
    }
}

fn children(data: &Data, folder: &Family, file: &Family, parent: i64) -> Vec<(i64, bool)> {
    let mut out = Vec::new();
    for (key, fam, is_folder) in [("disk.folder", folder, true), ("disk.file", file, false)] {
        if let Some(s) = data.stores.get(key) {
            for id in s.rows.keys() {
                let r = s.render_full(fam, View::native(fam), *id);
                if r.and_then(|r| int_of(&r, "PARENT_ID")) == Some(parent) {
                    out.push((*id, is_folder));
                }
            }
        }
    }
    out
}

/// Whether folder `id` is `folder_id` or one of its ancestors.
fn within(data: &Data, folder: &Family, folder_id: i64, id: i64) -> bool {
    let mut at = Some(folder_id);
    // A path longer than the store is a cycle already: stop there.
    let bound = data.stores.get("disk.folder").map_or(0, |s| s.rows.len()) + 1;
    for _ in 0..bound {
        match at {
            Some(f) if f == id => return true,
            Some(f) => at = row(data, folder, f).and_then(|r| int_of(&r, "PARENT_ID")),
            None => return false,
        }
    }
    false
}

fn list_children(
    data: &Data,
    folder: &Family,
    file: &Family,
    parent: i64,
    p: &Map<String, Value>,
) -> Result<Outcome, ApiError> {
    let fixed = [("PARENT_ID", json!(parent)), ("DELETED_TYPE", json!("0"))];
    let mut rows = query(data, folder, p, &fixed, 0, usize::MAX)?.rows;
    rows.extend(query(data, file, p, &fixed, 0, usize::MAX)?.rows);
    Ok(page_of(rows, p))
}

fn disk_fields_meta(fam: &Family) -> Value {
    let mut m = Map::new();
    for f in &fam.spec.fields {
        let ty = match (f.name.as_str(), f.ty) {
            ("TYPE" | "DELETED_TYPE" | "ENTITY_TYPE", _) => "enum",
            (_, FieldType::Id | FieldType::Int) => "integer",
            (_, FieldType::DateTime | FieldType::Date) => "datetime",
            _ => "string",
        };
        m.insert(
            f.name.clone(),
            json!({"TYPE": ty, "USE_IN_FILTER": true, "USE_IN_SHOW": true}),
        );
    }
    Value::Object(m)
}

/// Where new objects go under a storage (its root folder) or a folder (itself): (storage,
/// parent folder).
fn target(group: &str, r: &Value) -> (i64, i64) {
    if group == "storage" {
        (
            int_of(r, "ID").unwrap_or(0),
            int_of(r, "ROOT_OBJECT_ID").unwrap_or(0),
        )
    } else {
        (
            int_of(r, "STORAGE_ID").unwrap_or(0),
            int_of(r, "ID").unwrap_or(0),
        )
    }
}

/// The store key and family of a folder or a file.
fn kind<'a>(is_folder: bool, folder: &'a Family, file: &'a Family) -> (&'static str, &'a Family) {
    if is_folder {
        ("disk.folder", folder)
    } else {
        ("disk.file", file)
    }
}

/// Marks an object and its subtree deleted (`DELETED_TYPE` 3 on the object, 4 below) or
/// restores them (0).
fn mark_tree(
    data: &mut Data,
    folder: &Family,
    file: &Family,
    id: i64,
    is_folder: bool,
    deleted: Option<(u64, i64)>,
    root: bool,
) {
    let (key, fam) = kind(is_folder, folder, file);
    let s = store(data, key);
    let (kind, by, at) = match deleted {
        Some((u, t)) => (if root { "3" } else { "4" }, json!(u), json!(t)),
        None => ("0", json!(0), Value::Null),
    };
    s.set(fam, id, "DELETED_TYPE", &json!(kind));
    s.set(fam, id, "DELETED_BY", &by);
    s.set(fam, id, "DELETE_TIME", &at);
    if is_folder {
        for (child, f) in children(data, folder, file, id) {
            mark_tree(data, folder, file, child, f, deleted, false);
        }
    }
}

fn remove_tree(data: &mut Data, folder: &Family, file: &Family, id: i64, is_folder: bool) {
    if is_folder {
        for (child, f) in children(data, folder, file, id) {
            remove_tree(data, folder, file, child, f);
        }
        store(data, "disk.folder").rows.remove(&id);
    } else {
        store(data, "disk.file").rows.remove(&id);
        if let Some(t) = data.side.get_mut(VERSIONS) {
            t.remove(&id);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn copy_tree(
    data: &mut Data,
    folder: &Family,
    file: &Family,
    id: i64,
    is_folder: bool,
    target: i64,
    storage: i64,
    user: u64,
    now: f64,
) -> Result<i64, ApiError> {
    let (key, fam) = kind(is_folder, folder, file);
    let src = row(data, fam, id).ok_or_else(|| disk_not_found(id))?;
    let mut fields = match src {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    fields.remove("ID");
    fields.insert("PARENT_ID".into(), json!(target));
    fields.insert("STORAGE_ID".into(), json!(storage));
    fields.insert("CREATE_TIME".into(), json!(now as i64));
    fields.insert("UPDATE_TIME".into(), json!(now as i64));
    fields.insert("CREATED_BY".into(), json!(user));
    fields.insert("UPDATED_BY".into(), json!(user));
    let new = add_object(data, key, fam, &fields, user, now)?;
    if is_folder {
        store(data, key).set(fam, new, "REAL_OBJECT_ID", &json!(new));
        for (child, f) in children(data, folder, file, id) {
            copy_tree(data, folder, file, child, f, new, storage, user, now)?;
        }
    }
    Ok(new)
}

fn add_version(data: &mut Data, file_id: i64, name: &str, size: usize, user: u64, now: i64) -> i64 {
    let total: usize = data
        .side
        .get(VERSIONS)
        .map_or(0, |t| t.values().map(|v| list_items(v).len()).sum());
    let vid = total as i64 + 1;
    let t = data.side.entry(VERSIONS.into()).or_default();
    let list = t.entry(file_id).or_insert_with(|| json!([]));
    let n = list.as_array().map_or(0, Vec::len) + 1;
    if let Value::Array(a) = list {
        a.push(json!({
            "ID": vid.to_string(), "OBJECT_ID": file_id.to_string(), "SIZE": size.to_string(),
            "NAME": name, "GLOBAL_CONTENT_VERSION": n.to_string(),
            "CREATE_TIME": clock::iso(now as f64), "CREATED_BY": user.to_string(),
        }));
    }
    vid
}

#[allow(clippy::too_many_lines)]
fn run(inner: &Arc<Inner>, c: &Caller, method: &str, p: &Map<String, Value>) -> MethodResult {
    let st = fam(inner, "disk.storage")?;
    let folder = fam(inner, "disk.folder")?;
    let file = fam(inner, "disk.file")?;
    let now = inner.now();
    let ni = now_i(inner);
    let mut data = write(inner);
    ensure_storages(&mut data, st, folder, now)?;
    let (group, action) = method
        .strip_prefix("disk.")
        .and_then(|m| m.split_once('.'))
        .unwrap_or(("", ""));
    let pos = u8::from(group != "storage");
    let id_opt = param(p, "id").and_then(as_i64).filter(|n| *n > 0);
    let id = || id_opt.ok_or_else(|| disk_arg(pos));
    let (key, own) = match group {
        "storage" => ("disk.storage", st),
        "folder" => ("disk.folder", folder),
        _ => ("disk.file", file),
    };
    let need = |data: &Data| -> Result<(i64, Value), ApiError> {
        let id = id()?;
        row(data, own, id)
            .map(|r| (id, r))
            .ok_or_else(|| disk_not_found(id))
    };
    match (group, action) {
        (_, "getfields") => Ok(Outcome::of(disk_fields_meta(own))),
        ("storage", "gettypes") => Ok(Outcome::of(json!(["user", "common", "group"]))),
        ("storage", "getlist") => {
            let page = query(&data, st, p, &[], start_of(p), 50)?;
            Ok(list_outcome(page, None))
        }
        ("storage", "getforapp") => {
            let app = c.client_id.clone().unwrap_or_else(|| "1".into());
            let found = query(
                &data,
                st,
                &Map::new(),
                &[("ENTITY_TYPE", json!("restapp")), ("ENTITY_ID", json!(app))],
                -1,
                1,
            )?;
            let sid = match found.rows.first().and_then(|r| int_of(r, "ID")) {
                Some(s) => s,
                None => add_storage(
                    &mut data,
                    st,
                    folder,
                    (&app, "restapp", &app),
                    c.user_id,
                    now,
                )?,
            };
            Ok(Outcome::of(row(&data, st, sid).unwrap_or(Value::Null)))
        }
        (_, "get") => Ok(Outcome::of(need(&data)?.1)),
        (_, "rename") => {
            let (id, _) = need(&data)?;
            let name = str_p(p, "newName");
            if name.trim().is_empty() {
                return Err(disk_arg(pos + 1));
            }
            let mut fields = Map::from_iter([("NAME".to_string(), json!(name))]);
            if group != "storage" {
                fields.insert("UPDATE_TIME".into(), json!(ni));
                fields.insert("UPDATED_BY".into(), json!(c.user_id));
            }
            store(&mut data, key).update(own, View::native(own), id, &fields, c.user_id, now);
            Ok(Outcome::of(row(&data, own, id).unwrap_or(Value::Null)))
        }
        ("storage" | "folder", "getchildren") => {
            let (_, parent) = target(group, &need(&data)?.1);
            list_children(&data, folder, file, parent, p)
        }
        ("storage" | "folder", "addfolder" | "addsubfolder") => {
            let (storage, parent) = target(group, &need(&data)?.1);
            let name = data_name(p).ok_or_else(|| disk_arg(pos))?;
            let dup = children(&data, folder, file, parent)
                .into_iter()
                .filter(|(_, f)| *f)
                .any(|(cid, _)| {
                    row(&data, folder, cid)
                        .and_then(|x| x.get("NAME").and_then(as_str))
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                });
            if dup {
                return Err(ApiError::new(
                    400,
                    "DISK_OBJ_22000",
                    "A folder with this name already exists",
                ));
            }
            let f = object_fields(&name, "folder", storage, Some(parent), c.user_id, ni);
            let new = add_object(&mut data, "disk.folder", folder, &f, c.user_id, now)?;
            store(&mut data, "disk.folder").set(folder, new, "REAL_OBJECT_ID", &json!(new));
            Ok(Outcome::of(row(&data, folder, new).unwrap_or(Value::Null)))
        }
        ("storage" | "folder", "uploadfile") => {
            let (storage, parent) = target(group, &need(&data)?.1);
            let content = file_content(p);
            let name = data_name(p)
                .or_else(|| {
                    content
                        .as_ref()
                        .map(|(n, _)| n.clone())
                        .filter(|n| !n.is_empty())
                })
                .ok_or_else(|| disk_arg(pos))?;
            let size = content.map_or(0, |(_, s)| s);
            let mut f = object_fields(&name, "file", storage, Some(parent), c.user_id, ni);
            f.insert("GLOBAL_CONTENT_VERSION".into(), json!(1));
            f.insert("SIZE".into(), json!(size));
            let new = add_object(&mut data, "disk.file", file, &f, c.user_id, now)?;
            let vid = add_version(&mut data, new, &name, size, c.user_id, ni);
            store(&mut data, "disk.file").set(file, new, "FILE_ID", &json!(vid));
            Ok(Outcome::of(row(&data, file, new).unwrap_or(Value::Null)))
        }
        (_, "copyto" | "moveto") => {
            let (id, _) = need(&data)?;
            let target = param(p, "targetFolderId")
                .and_then(as_i64)
                .filter(|n| *n > 0)
                .ok_or_else(|| disk_arg(pos + 1))?;
            let t = row(&data, folder, target).ok_or_else(|| disk_not_found(target))?;
            let storage = int_of(&t, "STORAGE_ID").unwrap_or(0);
            let is_folder = group == "folder";
            // A folder cannot go into itself or below itself: the tree would be a cycle.
            if is_folder && within(&data, folder, target, id) {
                return Err(disk_arg(pos + 1));
            }
            let out = if action == "copyto" {
                copy_tree(
                    &mut data, folder, file, id, is_folder, target, storage, c.user_id, now,
                )?
            } else {
                let fields = Map::from_iter([
                    ("PARENT_ID".to_string(), json!(target)),
                    ("STORAGE_ID".to_string(), json!(storage)),
                    ("UPDATE_TIME".to_string(), json!(ni)),
                ]);
                store(&mut data, key).update(own, View::native(own), id, &fields, c.user_id, now);
                id
            };
            Ok(Outcome::of(row(&data, own, out).unwrap_or(Value::Null)))
        }
        (_, "markdeleted" | "restore") => {
            let (id, _) = need(&data)?;
            let del = (action == "markdeleted").then_some((c.user_id, ni));
            mark_tree(&mut data, folder, file, id, group == "folder", del, true);
            Ok(Outcome::of(row(&data, own, id).unwrap_or(Value::Null)))
        }
        ("folder", "deletetree") | ("file", "delete") => {
            let (id, r) = need(&data)?;
            if group == "folder" && r.get("PARENT_ID").is_none_or(Value::is_null) {
                return Err(ApiError::new(
                    400,
                    "DISK_OBJ_22000",
                    "Could not delete root folder",
                ));
            }
            remove_tree(&mut data, folder, file, id, group == "folder");
            Ok(Outcome::of(json!(true)))
        }
        (_, "getexternallink") => {
            let (id, _) = need(&data)?;
            Ok(Outcome::of(json!(format!("{}/~{id:x}", inner.base_url))))
        }
        ("file", "uploadversion") => {
            let (id, r) = need(&data)?;
            let (cname, size) = file_content(p).ok_or_else(|| disk_arg(1))?;
            let name = if cname.is_empty() {
                r.get("NAME").and_then(as_str).unwrap_or_default()
            } else {
                cname
            };
            let vid = add_version(&mut data, id, &name, size, c.user_id, ni);
            let version = int_of(&r, "GLOBAL_CONTENT_VERSION").unwrap_or(1) + 1;
            let fields = Map::from_iter([
                ("SIZE".to_string(), json!(size)),
                ("FILE_ID".to_string(), json!(vid)),
                ("GLOBAL_CONTENT_VERSION".to_string(), json!(version)),
                ("UPDATE_TIME".to_string(), json!(ni)),
                ("UPDATED_BY".to_string(), json!(c.user_id)),
            ]);
            store(&mut data, "disk.file").update(
                file,
                View::native(file),
                id,
                &fields,
                c.user_id,
                now,
            );
            Ok(Outcome::of(row(&data, file, id).unwrap_or(Value::Null)))
        }
        ("file", "getversions") => {
            let (id, _) = need(&data)?;
            let mut list: Vec<Value> = data
                .side
                .get(VERSIONS)
                .and_then(|t| t.get(&id))
                .map(|v| list_items(v).into_iter().cloned().collect())
                .unwrap_or_default();
            list.reverse();
            // Counted even at `start=-1`.
            Ok(page(list, start_of(p), true))
        }
        _ => Err(ApiError::method_not_found()),
    }
}
