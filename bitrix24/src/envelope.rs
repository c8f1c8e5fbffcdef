//! Decoding the v2 and REST 3.0 envelopes straight from the body bytes into typed values.
//!
//! Success: `{"result": …, "next": 50, "total": 7531, "time": {…}}`. Error (any status, 200
//! included): `{"error": "CODE", "error_description": "…"[, "argument": "X"]}`, or on REST 3.0
//! `{"error": {"code": "…", "message": "…", "validation": [{"message", "field"}]}}`.
//!
//! The client decodes every answer with the same decoder (`response.rs`); the functions here
//! are for answers you receive yourself.

use std::marker::PhantomData;

use crate::batch_results::{BatchPayload, BatchResults};
use crate::error::Error;
use crate::method::{ListMethod, Method, ResponseSeed};
use crate::response::{ItemsSeed, decode};

pub use crate::response::{Response, TimeInfo};

/// Decodes a Bitrix24 response body (v2 or REST 3.0 envelope) into a typed [`Response`], in
/// one pass from the bytes: no intermediate `serde_json::Value`. For bodies you receive
/// yourself (a proxy, a recorded fixture); the client uses the same decoder.
///
/// ```
/// let body = br#"{"result":[{"ID":"37"}],"next":50,"total":"120"}"#;
/// let page: bitrix24::Response<Vec<serde_json::Value>> =
///     bitrix24::envelope::decode_response("crm.deal.list", 200, body).unwrap();
/// assert_eq!((page.result.len(), page.next, page.total), (1, Some(50), Some(120)));
///
/// let err = bitrix24::envelope::decode_response::<u64>(
///     "crm.deal.get", 400, br#"{"error":"","error_description":"Not found"}"#).unwrap_err();
/// assert_eq!(err.api().unwrap().description, "Not found");
/// ```
pub fn decode_response<T: serde::de::DeserializeOwned>(
    method: &str,
    status: u16,
    body: &[u8],
) -> Result<Response<T>, Error> {
    decode(method, status, body, PhantomData::<T>)
}

/// Decodes an answer to the typed method `M` as [`crate::Client::send_full`] does (its
/// [`crate::Method::decode_response`], errors naming `M`'s method): for answers you receive
/// yourself. An answer in the other generation's shape (a v2 `{"task": ..}` to the REST 3.0
/// `tasks.task.get`, which answers `{"item": ..}`) is an [`Error::Decode`] naming the method
/// and the JSON path.
///
/// ```
/// use bitrix24::packs::core::TasksTaskGet;
/// let body = br#"{"result":{"item":{"id":42,"title":"Prepare report"}},"time":{}}"#;
/// let task = bitrix24::envelope::decode_typed::<TasksTaskGet>(200, body)?.result.item;
/// assert_eq!(task.title.as_deref(), Some("Prepare report"));
/// # Ok::<(), bitrix24::Error>(())
/// ```
pub fn decode_typed<M: Method>(status: u16, body: &[u8]) -> Result<Response<M::Response>, Error> {
    decode(M::NAME, status, body, ResponseSeed::<M>::new())
}

/// Decodes one page of a typed list method (`result` is the rows, or holds them under the
/// method's wrapper such as `tasks`), with `next` and `total`: for pages you receive yourself
/// (a proxy, a queue, a recorded fixture). `status` is the HTTP status; an error body is an
/// [`Error::Api`] naming the method.
///
/// ```
/// use bitrix24::packs::core::{CrmItemList, TasksTaskListV2, UserGet};
/// // A `user.get` answer: the page's rows are `result`, `next` when more remain.
/// let body = br#"{"result":[{"ID":"3","NAME":"John","ACTIVE":true}],
///     "next":50,"total":120,"time":{"start":1721722262.960948,"finish":1721722262.985244}}"#;
/// let page = bitrix24::envelope::decode_list_page::<UserGet>(200, body)?;
/// assert_eq!(page.result[0].name.as_deref(), Some("John"));
/// assert_eq!((page.next, page.total), (Some(50), Some(120)));
///
/// // `crm.item.list` wraps its rows under `items`.
/// let body = br#"{"result":{"items":[{"id":253,"title":"Lead #253"}]},"total":1,"time":{}}"#;
/// let page = bitrix24::envelope::decode_list_page::<CrmItemList>(200, body)?;
/// assert_eq!(page.result[0].title.as_deref(), Some("Lead #253"));
///
/// // `tasks.task.list` wraps its rows under `tasks`.
/// let body = br#"{"result":{"tasks":[{"id":"8017"}]},"total":1,"time":{}}"#;
/// let page = bitrix24::envelope::decode_list_page::<TasksTaskListV2>(200, body)?;
/// assert_eq!(page.result[0].id, Some(8017));
/// # Ok::<(), bitrix24::Error>(())
/// ```
pub fn decode_list_page<M: ListMethod>(
    status: u16,
    body: &[u8],
) -> Result<Response<Vec<M::Item>>, Error> {
    decode(M::NAME, status, body, ItemsSeed::<M::Item>::new(M::WRAPPER))
}

/// Decodes a `batch` answer into the outcome of each of its commands, as
/// [`crate::Batch::send`] would: for answers you receive yourself (a proxy, a queue, a
/// recorded fixture). Read each command with a [`crate::BatchHandle::new`] for its key.
///
/// The answer does not name the commands' methods, so a command's error names the method
/// `batch`; a body without a status is read as HTTP 200 (a `batch` that ran always answers
/// 200). An error body (the whole request refused, such as `QUERY_LIMIT_EXCEEDED`) is an
/// [`Error::Api`]; each map of the answer may be an object, a list or `[]`.
///
/// ```
/// use bitrix24::BatchHandle;
/// use bitrix24::packs::core::{Department, User};
/// // The documented answer to `{"halt":0,"cmd":{"get_user":"user.current",
/// //   "get_department":"department.get?ID=$result[get_user][UF_DEPARTMENT][0]"}}`.
/// let body = br#"{"result":{"result":{"get_user":{"ID":"1","UF_DEPARTMENT":[1]},
///     "get_department":[{"ID":"1","NAME":"DEMO","SORT":500}]},
///     "result_error":[],"result_total":{"get_department":1},"result_next":[],
///     "result_time":{"get_user":{"start":1724916859.46156,"operating":0}}},
///     "time":{"start":1724916859.4}}"#;
/// let results = bitrix24::envelope::decode_batch(body)?;
/// let user: BatchHandle<User> = BatchHandle::new("get_user");
/// assert_eq!(results.get(&user)?.id, Some(1));
/// let departments: BatchHandle<Vec<Department>> = BatchHandle::new("get_department");
/// assert_eq!(results.get(&departments)?[0].name.as_deref(), Some("DEMO"));
/// assert_eq!(results.total(&departments), Some(1));
/// assert_eq!(results.time(&user).and_then(|t| t.operating), Some(0.0));
///
/// // halt=0 with a failing command: its error, from `result_error`.
/// let body = br#"{"result":{"result":[],"result_error":{"get_user":{"error":"insufficient_scope",
///     "error_description":""}},"result_total":[],"result_next":[],"result_time":[]},"time":{}}"#;
/// let results = bitrix24::envelope::decode_batch(body)?;
/// let err = results.get(&user).unwrap_err();
/// assert_eq!(err.code(), Some(&bitrix24::ErrorCode::InsufficientScope));
/// # Ok::<(), bitrix24::Error>(())
/// ```
pub fn decode_batch(body: &[u8]) -> Result<BatchResults, Error> {
    let payload = decode("batch", 200, body, PhantomData::<BatchPayload>)?;
    Ok(BatchResults::recorded(payload.result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn a_recorded_batch_decodes_without_a_client() {
        use crate::BatchHandle;
        // [FB] crm_get_batch_mix_success_and_errors: keys 0..n-1 make `result_error` a list.
        let body = br#"{"result":{"result":{"35943":{"ID":"35943"}},"result_error":[{"error":"","error_description":"Not found"},{"error":"insufficient_scope","error_description":""}],"result_total":[],"result_next":[],"result_time":[]},"time":{}}"#;
        let results = decode_batch(body).unwrap();
        let mut keys: Vec<&str> = results.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["0", "1", "35943"]);
        let deal: BatchHandle<serde_json::Value> = BatchHandle::new("35943");
        assert_eq!(results.get(&deal).unwrap()["ID"], "35943");
        let missing: BatchHandle<serde_json::Value> = BatchHandle::new("0");
        let api = results.error(&missing).unwrap();
        assert_eq!(
            (api.method.as_str(), api.description.as_str()),
            ("batch", "Not found")
        );
        assert!(!results.all_ok());
        // A command that is absent was not executed.
        let absent: BatchHandle<serde_json::Value> = BatchHandle::new("c9");
        assert!(matches!(
            results.get(&absent),
            Err(Error::NotExecuted { .. })
        ));
        // The whole request refused: an API error, not an empty result set.
        let err = decode_batch(
            br#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::QueryLimitExceeded));
        // A body that is not a batch answer names the path.
        let err = decode_batch(br#"{"result":{"result":"oops"}}"#).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err}");
        assert!(decode_batch(b"<html>").is_err());
    }

    #[test]
    #[cfg(feature = "core")]
    fn a_list_page_decodes_for_its_method() {
        use crate::packs::core::{TasksTaskListV2 as TaskList, UserGet as UserList};
        let page = decode_list_page::<UserList>(200, br#"{"result":[],"total":0}"#).unwrap();
        assert!(page.result.is_empty());
        let page =
            decode_list_page::<TaskList>(200, br#"{"result":{"tasks":[{"id":"1"}]},"next":"50"}"#)
                .unwrap();
        assert_eq!((page.result.len(), page.next), (1, Some(50)));
        let err = decode_list_page::<UserList>(
            400,
            br#"{"error":"","error_description":"Access denied."}"#,
        )
        .unwrap_err();
        assert_eq!(err.api().unwrap().method, "user.get");
        let err = decode_list_page::<UserList>(200, br#"{"result":[1]}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { path, .. } if path == "result[0]"),
            "{err}"
        );
    }
}
