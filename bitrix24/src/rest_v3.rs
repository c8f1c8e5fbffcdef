//! Lists of methods that exist only on REST 3.0 ([`crate::Method::V3_ONLY`]), paged the REST 3.0
//! way ([`crate::V3Paging`]). The client sends such a method to `/rest/api/` only, and a portal
//! without it answers [`Error::NotOnPortal`] (remembered per method; `Client::send_v3_only`).

use std::marker::PhantomData;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use crate::client::{ApiVersion, Call, Client};
use crate::error::{Error, ErrorCode};
use crate::input;
use crate::method::{ListMethod, V3Paging};
use crate::response;

/// The rows of one REST 3.0 list page and the cursor to the next one: `nextCursor`
/// (`note.collection.list`; `null` at the end) or `afterCursor` with `hasMore`
/// (`call.followup.list`; `hasMore: false` at the end). Only the cursor form sends them.
#[derive(serde::Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
struct V3Page<T> {
    items: Vec<T>,
    #[serde(rename = "nextCursor", alias = "afterCursor", default)]
    next_cursor: Option<Value>,
    #[serde(rename = "hasMore", default)]
    has_more: Option<bool>,
}

/// Where a REST 3.0 walk stands: the next `pagination` object to send, and the ids of the
/// first and last row of the page before (a page that repeats it ends the walk).
struct Walk {
    next: Option<Map<String, Value>>,
    previous: Option<(Option<u64>, Option<u64>)>,
}

/// Streams every row of a REST 3.0 list ([`crate::ListMethod::V3_PAGING`]): `pagination.page`
/// 1, 2, ... until a page has fewer rows than `limit`, or `pagination.afterCursor` from each
/// page's `nextCursor` until it is `null`. One request at a time (a page needs the one before).
pub(crate) fn stream<M: ListMethod + 'static>(
    client: &Client,
    params: Map<String, Value>,
) -> BoxStream<'static, Result<M::Item, Error>> {
    let name = M::V3_NAME.unwrap_or(M::NAME);
    let Some(paging) = M::V3_PAGING else {
        return stream::once(async move { Err(Error::invalid(name, "not a REST 3.0 list")) })
            .boxed();
    };
    let mut first = match params.get("pagination") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => {
            return stream::once(async move {
                Err(Error::invalid(name, "`pagination` must be an object"))
            })
            .boxed();
        }
    };
    let limit = match first.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return stream::once(async move {
                    Err(Error::invalid(
                        name,
                        "`pagination.limit` must be a whole number above 0",
                    ))
                })
                .boxed();
            }
        },
    };
    first.insert("limit".into(), Value::from(limit));
    if paging == V3Paging::Page && !first.contains_key("page") {
        first.insert("page".into(), Value::from(1));
    }
    let client = client.with_api_version(ApiVersion::V3);
    let walk = Walk {
        next: Some(first),
        previous: None,
    };
    stream::try_unfold(walk, move |walk| {
        let client = client.clone();
        let params = params.clone();
        async move {
            let Some(pagination) = walk.next else {
                return Ok(None);
            };
            let page = fetch::<M>(&client, name, &params, &pagination).await?;
            let ids = (
                page.items.first().and_then(M::item_id),
                page.items.last().and_then(M::item_id),
            );
            if !page.items.is_empty() && ids.0.is_some() && walk.previous == Some(ids) {
                return Err(Error::Pagination {
                    method: name.to_owned(),
                    message: format!(
                        "the page after `{}` repeats the page before it: the portal ignores `pagination`",
                        Value::Object(pagination)
                    ),
                });
            }
            let next = match paging {
                V3Paging::Page if (page.items.len() as u64) < limit => None,
                V3Paging::Page => {
                    let number = pagination.get("page").and_then(Value::as_u64).unwrap_or(1);
                    let mut next = pagination.clone();
                    next.insert("page".into(), Value::from(number + 1));
                    next.remove("offset");
                    Some(next)
                }
                _ if page.has_more == Some(false) => None,
                _ => match page.next_cursor {
                    None | Some(Value::Null) => None,
                    Some(cursor) if pagination.get("afterCursor") == Some(&cursor) => {
                        return Err(Error::Pagination {
                            method: name.to_owned(),
                            message: format!(
                                "`nextCursor` {cursor} is the cursor of the page it ends; following it would repeat rows"
                            ),
                        });
                    }
                    Some(cursor) => {
                        let mut next = pagination.clone();
                        next.insert("afterCursor".into(), cursor);
                        Some(next)
                    }
                },
            };
            let rows = stream::iter(page.items.into_iter().map(Ok));
            Ok(Some((
                rows,
                Walk {
                    next,
                    previous: Some(ids),
                },
            )))
        }
    })
    .try_flatten()
    .boxed()
}

/// Rows per page when the caller sets no `pagination.limit` (the documented default).
const DEFAULT_LIMIT: u64 = 50;

/// One page: the caller's params with `pagination` replaced.
async fn fetch<M: ListMethod>(
    client: &Client,
    name: &'static str,
    params: &Map<String, Value>,
    pagination: &Map<String, Value>,
) -> Result<V3Page<M::Item>, Error> {
    let mut params = params.clone();
    params.insert("pagination".into(), Value::Object(pagination.clone()));
    let call = Call {
        name,
        gated: &[name],
        v3_name: Some(name),
        idempotent: true,
        body: input::body(name, &params)?,
    };
    let answer = client
        .execute(&call, &|status, body| {
            response::decode(name, status, body, PhantomData::<V3Page<M::Item>>)
        })
        .await;
    match answer {
        Ok(r) => Ok(r.result),
        Err(e) if e.code() == Some(&ErrorCode::V3MethodNotFound) => {
            client.remember_v3_unavailable(name);
            Err(Error::NotOnPortal {
                method: name.to_owned(),
            })
        }
        Err(e) => Err(e),
    }
}
