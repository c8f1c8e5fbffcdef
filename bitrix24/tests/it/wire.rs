//! Client behaviour pinned against canned answers (documented JSON bodies and statuses).

use std::time::Duration;

// canned documented answers of the legacy crm.deal.* methods
#[allow(deprecated)]
use bitrix24::packs::core::{CrmDealAdd, CrmDealGet, CrmDealList, Deal};
use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{ApiVersion, AuthError, Client, Error, ErrorCode, ErrorKind, OperatingPolicy};
use serde_json::json;

use crate::canned::{Answer, Canned, cut, html, json, redirect};
use crate::support::{canned_app, fast_retry, hook_client, object};

/// A deal with this title.
fn titled(title: &str) -> Deal {
    Deal {
        title: Some(title.into()),
        ..Deal::default()
    }
}

const QLE: &str = r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;
/// The portal's 500 answer.
const INTERNAL_ERROR: &str =
    r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}"#;
const TIME_OK: &str = r#"{"result":"2024-08-05T09:02:13+00:00","time":{"start":1721722262.960948,"finish":1721722262.985244,"duration":0.024296045303344727,"processing":0.0012989044189453125,"date_start":"2024-07-23T08:11:02+00:00","date_finish":"2024-07-23T08:11:02+00:00","operating_reset_at":1721722862,"operating":0}}"#;

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn query_limit_exceeded_is_retried_even_for_writes() {
    let server = Canned::start(vec![
        json(503, QLE),
        json(503, QLE),
        json(200, r#"{"result":394,"time":{}}"#),
    ])
    .await;
    let id = hook_client(&server.webhook())
        .send(&CrmDealAdd::new(titled("New Deal #1")))
        .await
        .unwrap();
    assert_eq!(id, 394);
    assert_eq!(server.seen().len(), 3, "rejected twice, executed once");
    // Params travel in a JSON POST body, never in the query string.
    let seen = &server.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/rest/1/abc123secret/crm.deal.add");
    assert_eq!(seen.body, r#"{"fields":{"TITLE":"New Deal #1"}}"#);
}

#[tokio::test]
async fn query_limit_exceeded_gives_up_after_the_policy() {
    let server = Canned::start(vec![json(503, QLE); 3]).await;
    let client = Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .retry(fast_retry().max_attempts(3))
        .build()
        .unwrap();
    let err = client.send(&ServerTime::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Throttling);
    assert!(err.is_retryable());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn server_error_on_a_write_is_outcome_unknown_and_not_resent() {
    let server = Canned::start(vec![
        json(500, INTERNAL_ERROR),
        html(504, "<html><body>Gateway Timeout</body></html>"),
    ])
    .await;
    let c = hook_client(&server.webhook());
    for _ in 0..2 {
        let err = c.send(&CrmDealAdd::new(titled("x"))).await.unwrap_err();
        assert!(
            matches!(&err, Error::OutcomeUnknown { reason, .. } if reason.contains("HTTP 50")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }
    assert_eq!(server.seen().len(), 2, "each write sent once");
}

#[tokio::test]
async fn server_error_on_a_read_is_retried() {
    let server = Canned::start(vec![
        json(500, INTERNAL_ERROR),
        html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        json(200, TIME_OK),
    ])
    .await;
    let t = hook_client(&server.webhook())
        .send(&ServerTime::new())
        .await
        .unwrap();
    assert_eq!(t, "2024-08-05T09:02:13+00:00");
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn html_error_page_is_a_decode_error_naming_it() {
    let server = Canned::start(vec![html(
        403,
        "<html><body>Forbidden by proxy</body></html>",
    )])
    .await;
    let err = hook_client(&server.webhook())
        .send(&ServerTime::new())
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            method,
            status,
            message,
            ..
        } => {
            assert_eq!(method, "server.time");
            assert_eq!(*status, 403);
            assert!(message.contains("HTML"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// The error a `crm.deal.get` gets from a portal that answers `answer`.
// the reason is on the imports
#[allow(deprecated)]
async fn deal_get_error(answer: Answer) -> Error {
    let server = Canned::start(vec![answer]).await;
    hook_client(&server.webhook())
        .send(&CrmDealGet::new(999))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn error_body_with_http_200() {
    let err = deal_get_error(json(
        200,
        r#"{"error":"ACCESS_DENIED","error_description":"Access denied!"}"#,
    ))
    .await;
    let api = err.api().unwrap();
    assert_eq!(
        (api.code.clone(), api.status),
        (ErrorCode::AccessDenied, 200)
    );
}

#[tokio::test]
async fn legacy_crm_error_with_empty_code() {
    let err = deal_get_error(json(400, r#"{"error":"","error_description":"Not found"}"#)).await;
    let api = err.api().unwrap();
    assert_eq!(api.code, ErrorCode::Empty);
    assert_eq!(api.description, "Not found");
    assert_eq!(err.kind(), ErrorKind::Client);
    assert!(!err.is_retryable());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn cut_response_to_a_write_is_outcome_unknown() {
    // The connection closes before the announced body length.
    let server = Canned::start(vec![cut(r#"{"result":39"#)]).await;
    let err = hook_client(&server.webhook())
        .send(&CrmDealAdd::new(titled("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown);
    assert!(!err.is_retryable());
    assert_eq!(server.seen().len(), 1, "never re-sent");
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn truncated_json_to_a_write_is_outcome_unknown_and_a_read_is_retried() {
    let server = Canned::start(vec![json(200, r#"{"result":{"ID":"4"#)]).await;
    let err = hook_client(&server.webhook())
        .send(&CrmDealAdd::new(titled("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");

    let server = Canned::start(vec![json(200, r#"{"result":"2024"#), json(200, TIME_OK)]).await;
    assert!(
        hook_client(&server.webhook())
            .send(&ServerTime::new())
            .await
            .is_ok()
    );
    assert_eq!(server.seen().len(), 2);
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn numbers_as_strings_decode_leniently() {
    let server = Canned::start(vec![json(
        200,
        r#"{"result":[{"ID":"37","TITLE":"[A] Deal","OPPORTUNITY":"19999.99"}],"next":"50","total":"6","time":{"start":"1721722262.96","operating":"0"}}"#,
    )])
    .await;
    let page = hook_client(&server.webhook())
        .send_full(&CrmDealList::new())
        .await
        .unwrap();
    assert_eq!((page.next, page.total), (Some(50), Some(6)));
    assert_eq!(page.time.unwrap().operating, Some(0.0));
}

#[tokio::test]
async fn decode_error_names_method_and_json_path() {
    let server = Canned::start(vec![json(200, r#"{"result":{"ID":"1"}}"#)]).await;
    let err = hook_client(&server.webhook())
        .send(&ServerTime::new())
        .await
        .unwrap_err();
    match err {
        Error::Decode { method, path, .. } => {
            assert_eq!(method, "server.time");
            assert_eq!(path, "result");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let server = Canned::start(vec![]).await;
    let c = hook_client(&server.webhook());
    let err = c.call("", json!({})).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { message, .. } if message.contains("empty")),
        "{err}"
    );
    let err = c.call("crm.deal.list", json!([1, 2])).await.unwrap_err();
    assert!(
        err.to_string().contains("crm.deal.list") && err.to_string().contains("an array"),
        "{err}"
    );
    let err = c.call("crm.deal.get?id=1", json!({})).await.unwrap_err();
    assert!(err.to_string().contains('?'), "{err}");
    assert!(server.seen().is_empty());
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn connection_refused_is_a_transport_error_without_the_secret() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder()
        .webhook(&format!("http://127.0.0.1:{port}/rest/1/topsecretcode/"))
        .no_rate_limit()
        .retry(fast_retry().max_attempts(2))
        .build()
        .unwrap();
    let err = client
        .send(&CrmDealAdd::new(Deal::default()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains("topsecretcode"), "{shown}");
}

/// A webhook client of `server` that handles the operating-time limit by `policy`.
fn operating_client(server: &Canned, policy: OperatingPolicy) -> Client {
    Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .operating_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn operating_time_limit_is_a_typed_block_with_reset_time() {
    let reset = 4_102_444_800u64; // far in the future
    let body =
        format!(r#"{{"result":"t","time":{{"operating":470,"operating_reset_at":{reset}}}}}"#);
    let server = Canned::start(vec![
        json(200, &body),
        json(429, r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#),
    ])
    .await;
    // Never slow down on our own: let the portal answer 429.
    let client = operating_client(&server, OperatingPolicy::default().slow_down_at(10.0));
    client.send(&ServerTime::new()).await.unwrap();
    assert_eq!(client.operating_time("server.time"), Some(470.0));
    let err = client.send(&ServerTime::new()).await.unwrap_err();
    match &err {
        Error::OperatingLimit { method, reset_at } => {
            assert_eq!(method, "server.time");
            let at = reset_at
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert_eq!(at, reset);
        }
        other => panic!("{other:?}"),
    }
    // The next call does not even reach the portal.
    let err = client.send(&ServerTime::new()).await.unwrap_err();
    assert!(matches!(err, Error::OperatingLimit { .. }));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn calls_near_the_operating_limit_wait_for_the_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let body = format!(
        r#"{{"result":"t","time":{{"operating":9.5,"operating_reset_at":{}}}}}"#,
        now + 1.0
    );
    let server = Canned::start(vec![json(200, &body), json(200, TIME_OK)]).await;
    let client = operating_client(&server, OperatingPolicy::default().limit_secs(10.0));
    client.send(&ServerTime::new()).await.unwrap();
    client.send(&ServerTime::new()).await.unwrap();
    let seen = server.seen();
    // The second request was held until the reported reset time.
    let reset = std::time::UNIX_EPOCH + Duration::from_secs_f64(now + 1.0);
    let second_sent = std::time::SystemTime::now() - seen[1].at.elapsed();
    assert!(
        second_sent + Duration::from_millis(20) >= reset,
        "sent before the window moved"
    );
}

#[tokio::test]
async fn portal_moved_the_post_is_repeated_at_the_new_address() {
    let new = Canned::start(vec![json(200, TIME_OK), json(200, TIME_OK)]).await;
    let old = Canned::start(vec![redirect(&format!(
        "{}/rest/1/abc123secret/server.time",
        new.base
    ))])
    .await;
    let c = hook_client(&old.webhook());
    c.send(&ServerTime::new()).await.unwrap();
    c.send(&ServerTime::new()).await.unwrap();
    assert_eq!(old.seen().len(), 1);
    assert_eq!(new.seen().len(), 2);
    assert!(new.seen().iter().all(|s| s.method == "POST"));
}

/// A method with a REST 3.0 name, for the fallback tests.
#[derive(serde::Serialize, bitrix24::Method)]
#[bitrix24(
    method = "main.eventlog.list",
    risk = "read",
    scopes = ["main"],
    v3 = "main.eventlog.list",
    response = serde_json::Value
)]
struct EventLogList;

#[tokio::test]
async fn v3_first_then_v2_fallback_remembered() {
    let not_found = r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION","message":"Method \"main.eventlog.list\" was not found."}}"#;
    let server = Canned::start(vec![
        json(404, not_found),
        json(200, r#"{"result":{"items":[]}}"#),
        json(200, r#"{"result":{"items":[]}}"#),
    ])
    .await;
    let c = hook_client(&server.webhook());
    c.send(&EventLogList).await.unwrap();
    assert!(c.v3_unavailable("main.eventlog.list"));
    c.send(&EventLogList).await.unwrap();
    assert_eq!(
        server.paths(),
        vec![
            "/rest/api/1/abc123secret/main.eventlog.list",
            "/rest/1/abc123secret/main.eventlog.list",
            "/rest/1/abc123secret/main.eventlog.list",
        ],
        "one probe, then v2 only"
    );
}

#[tokio::test]
async fn api_version_overrides() {
    let server = Canned::start(vec![
        json(200, r#"{"result":{"items":[]}}"#),
        json(200, r#"{"result":{"items":[]}}"#),
    ])
    .await;
    let c = hook_client(&server.webhook());
    c.with_api_version(ApiVersion::V2)
        .send(&EventLogList)
        .await
        .unwrap();
    c.send(&EventLogList).await.unwrap();
    assert_eq!(
        server.paths(),
        vec![
            "/rest/1/abc123secret/main.eventlog.list",
            "/rest/api/1/abc123secret/main.eventlog.list"
        ]
    );
    // Explicit V3 does not fall back.
    let server = Canned::start(vec![json(
        404,
        r#"{"error":{"code":"BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION","message":"x"}}"#,
    )])
    .await;
    let err = hook_client(&server.webhook())
        .with_api_version(ApiVersion::V3)
        .send(&EventLogList)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::V3MethodNotFound));
}

#[tokio::test]
async fn expired_token_refreshes_once_and_retries() {
    let server = Canned::start(vec![
        json(401, r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#),
        json(200, r#"{"access_token":"newaccesstoken","expires":1780319382,"expires_in":3600,"scope":"app","domain":"oauth.bitrix.info","server_endpoint":"https://oauth.bitrix.info/rest/","status":"L","client_endpoint":"{BASE}/rest/","member_id":"a223c6b3710f85df22e9377d6c4f7553","user_id":1,"refresh_token":"newrefreshtoken"}"#),
        json(200, TIME_OK),
    ])
    .await;
    let c = canned_app(&server, None);
    c.send(&ServerTime::new()).await.unwrap();
    let seen = server.seen();
    assert_eq!(
        server.paths(),
        vec!["/rest/server.time", "/oauth/token/", "/rest/server.time"]
    );
    assert_eq!(seen[0].body, r#"{"auth":"old4ccess"}"#);
    assert!(
        seen[1].body.contains("grant_type=refresh_token")
            && seen[1].body.contains("refresh_token=oldrefresh")
    );
    assert_eq!(seen[2].body, r#"{"auth":"newaccesstoken"}"#);
    let tokens = c.oauth_tokens().unwrap();
    assert_eq!(tokens.refresh_token.expose(), "newrefreshtoken");
    assert_eq!(tokens.expires_at, Some(1_780_319_382));
    assert_eq!(c.token_refreshes(), 1);
}

#[tokio::test]
async fn rejected_refresh_is_an_auth_error_not_a_loop() {
    let server = Canned::start(vec![
        json(401, r#"{"error":"expired_token","error_description":"The access token provided has expired"}"#),
        json(400, r#"{"error":"invalid_grant","error_description":"Invalid grant"}"#),
    ])
    .await;
    let err = canned_app(&server, None)
        .send(&ServerTime::new())
        .await
        .unwrap_err();
    match &err {
        Error::Auth(AuthError::RefreshRejected { code, .. }) => {
            assert_eq!(*code, ErrorCode::InvalidGrant);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.seen().len(), 2);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("oldrefresh") && !shown.contains("s3cret"));
}

// the reason is on the imports
#[allow(deprecated)]
#[tokio::test]
async fn oauth_params_keep_their_json_types() {
    let server = Canned::start(vec![json(200, r#"{"result":[],"total":0}"#)]).await;
    canned_app(&server, None)
        .send(
            &CrmDealList::new()
                .filter(object(json!({">OPPORTUNITY": 10000, "CLOSED": "N"})))
                .select(["ID"]),
        )
        .await
        .unwrap();
    assert_eq!(
        server.seen()[0].body,
        r#"{"auth":"old4ccess","filter":{">OPPORTUNITY":10000,"CLOSED":"N"},"select":["ID"]}"#
    );
}
