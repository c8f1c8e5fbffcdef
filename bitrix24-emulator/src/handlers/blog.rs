//! News feed posts and comments (`log.blogpost.add`, `log.blogpost.update`,
//! `log.blogpost.get`, `log.blogcomment.add`, `log/log-blogpost-*.md`,
//! `log/blogcomment/log-blogcomment-add.md`): posts in the side table `log.blogpost` printed as
//! the docs' `log.blogpost.get` rows (strings for ids and counts; the `UF_*` field
//! descriptions are left out), comments in `log.blogcomment`. One blog per author
//! (`BLOG_ID` = author id).

use super::common::page_of;
use super::side::{self, id_p, text};
use crate::clock::iso;
use crate::core::{ApiError, Caller, MethodResult, Outcome, list_items, param};
use crate::routes::{Route, Scope, routes};
use crate::state::Inner;
use serde_json::{Map, Value, json};
use std::sync::Arc;

const POSTS: &str = "log.blogpost";
const COMMENTS: &str = "log.blogcomment";

/// The methods served here.
pub(crate) const ROUTES: &[Route] = routes!(Scope::Fixed("log");
    "log.blogpost." { "add" => add, "update" => update, "get" => get }
    "log.blogcomment." { "add" => comment }
);

fn add_error(desc: &str) -> ApiError {
    ApiError::new(400, "SONET_CONTROLLER_LIVEFEED_BLOGPOST_ADD_ERROR", desc)
}

fn update_error(desc: &str) -> ApiError {
    ApiError::new(400, "SONET_CONTROLLER_LIVEFEED_BLOGPOST_UPDATE_ERROR", desc)
}

/// The recipients (`DEST`, or the deprecated `SPERM`; `UA` by default).
fn dest(p: &Map<String, Value>) -> Vec<String> {
    let given = param(p, "DEST").or_else(|| param(p, "SPERM"));
    let d: Vec<String> = given
        .map(list_items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if given.is_none() {
        vec!["UA".into()]
    } else {
        d
    }
}

/// `log.blogpost.add`: `POST_MESSAGE` required; answers the post id.
fn add(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let message =
        text(p, "POST_MESSAGE").ok_or_else(|| add_error("Blog post hasn't been added"))?;
    let dest = dest(p);
    if dest.is_empty() {
        return Err(add_error("No destination specified"));
    }
    let author = id_p(p, "USER_ID").unwrap_or(c.user_id as i64).to_string();
    let title = text(p, "POST_TITLE");
    let now = iso(inner.now());
    let mut data = inner.write_data();
    let id = side::insert(&mut data, POSTS, |id| {
        json!({
            "ID": id.to_string(), "BLOG_ID": author, "PUBLISH_STATUS": "P",
            "TITLE": title.clone().unwrap_or_default(), "AUTHOR_ID": author,
            "ENABLE_COMMENTS": "Y", "NUM_COMMENTS": "0", "CODE": null,
            "MICRO": if title.is_some() { "N" } else { "Y" },
            "DETAIL_TEXT": message, "DATE_PUBLISH": now, "CATEGORY_ID": null,
            "HAS_SOCNET_ALL": if dest.iter().any(|d| d == "UA") { "Y" } else { "N" },
            "HAS_TAGS": if text(p, "TAGS").is_some() { "Y" } else { "N" },
            "HAS_IMAGES": "N", "HAS_PROPS": "N", "HAS_COMMENT_IMAGES": null,
            "UF_BLOG_POST_IMPRTNT": text(p, "IMPORTANT").unwrap_or_else(|| "N".into()),
        })
    });
    Ok(Outcome::of(json!(id)))
}

/// `log.blogpost.update`: a new title or text (one of them required); answers the post id.
fn update(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let id = id_p(p, "POST_ID").ok_or_else(|| update_error("Wrong post ID"))?;
    let (title, message) = (text(p, "POST_TITLE"), text(p, "POST_MESSAGE"));
    if title.is_none() && message.is_none() {
        return Err(ApiError::new(
            400,
            "EMPTY_TITLE",
            "Message title is not specified.",
        ));
    }
    let mut data = inner.write_data();
    let post = side::get_mut(&mut data, POSTS, id).ok_or_else(|| update_error("No post found"))?;
    if let Some(t) = title {
        post["TITLE"] = json!(t);
        post["MICRO"] = json!("N");
    }
    if let Some(m) = message {
        post["DETAIL_TEXT"] = json!(m);
    }
    if let Some(i) = text(p, "IMPORTANT") {
        post["UF_BLOG_POST_IMPRTNT"] = json!(i);
    }
    Ok(Outcome::of(json!(id)))
}

/// `log.blogpost.get`: one post (`POST_ID`) or all, newest first, 50 a page.
#[allow(clippy::unnecessary_wraps)]
fn get(inner: &Arc<Inner>, _: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let data = inner.read_data();
    let one = id_p(p, "POST_ID").map(|id| json!(id.to_string()));
    let rows = side::rows(&data, POSTS)
        .rev()
        .filter(|r| one.as_ref().is_none_or(|id| &r["ID"] == id))
        .cloned()
        .collect();
    Ok(page_of(rows, p))
}

fn comment_error(desc: &str) -> ApiError {
    ApiError::new(400, "", desc)
}

/// `log.blogcomment.add`: `POST_ID` and `TEXT`; the same text twice on a post is a duplicate.
fn comment(inner: &Arc<Inner>, c: &Caller, _: &str, p: &Map<String, Value>) -> MethodResult {
    let post_id = id_p(p, "POST_ID").unwrap_or_default();
    let body = text(p, "TEXT").ok_or_else(|| comment_error("Blog comment hasn't been added"))?;
    let author = id_p(p, "USER_ID").unwrap_or(c.user_id as i64);
    let now = iso(inner.now());
    let mut data = inner.write_data();
    if side::get(&data, POSTS, post_id).is_none() {
        return Err(comment_error("No post found"));
    }
    if side::rows(&data, COMMENTS)
        .any(|m| m["POST_ID"] == json!(post_id) && m["TEXT"] == json!(body))
    {
        return Err(comment_error("Duplicate comment"));
    }
    let id = side::insert(
        &mut data,
        COMMENTS,
        |id| json!({"ID": id, "POST_ID": post_id, "AUTHOR_ID": author, "TEXT": body, "DATE_CREATE": now}),
    );
    if let Some(post) = side::get_mut(&mut data, POSTS, post_id) {
        let n = post["NUM_COMMENTS"]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        post["NUM_COMMENTS"] = json!((n + 1).to_string());
    }
    Ok(Outcome::of(json!(id)))
}
