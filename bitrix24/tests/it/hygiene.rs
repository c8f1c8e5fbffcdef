//! Token persistence, headers, and secrets kept out of logs.

use std::sync::Arc;

use bitrix24::packs::diagnostics::ServerTime;
use bitrix24::{Client, FileTokenStore, TokenStore};

use crate::canned::{Canned, json};

const TIME_OK: &str = r#"{"result":"2024-08-05T09:02:13+00:00","time":{}}"#;
const REFRESHED: &str = r#"{"access_token":"fresh4ccess","expires":1780319382,"expires_in":3600,"scope":"app","domain":"oauth.bitrix.info","server_endpoint":"https://oauth.bitrix.info/rest/","status":"L","client_endpoint":"{BASE}/rest/","member_id":"a223c6b3710f85df22e9377d6c4f7553","user_id":1,"refresh_token":"fr3shrefresh"}"#;

#[tokio::test]
async fn requests_declare_json_and_accept_gzip() {
    let server = Canned::start(vec![json(200, TIME_OK)]).await;
    let client = Client::builder()
        .webhook(&server.webhook())
        .no_rate_limit()
        .build()
        .unwrap();
    client.send(&ServerTime::new()).await.unwrap();
    let headers = &server.seen()[0].headers;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("content-type"), Some("application/json"));
    assert_eq!(get("accept"), Some("application/json"));
    assert!(get("accept-encoding").unwrap_or_default().contains("gzip"));
    assert!(
        get("user-agent")
            .unwrap_or_default()
            .starts_with("bitrix24-rs/")
    );
}

#[tokio::test]
async fn file_store_persists_rotated_tokens_before_use() {
    let dir = std::env::temp_dir().join(format!("b24-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.json");
    let store = Arc::new(FileTokenStore::new(&path));
    let server = Canned::start(vec![
        json(401, r#"{"error":"expired_token","error_description":"The access token provided has expired"}"#),
        json(200, REFRESHED),
        json(200, TIME_OK),
    ])
    .await;
    let client = server
        .oauth_builder()
        .token_store(store.clone())
        .build()
        .unwrap();
    client.send(&ServerTime::new()).await.unwrap();
    let stored = store.load().await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "fresh4ccess");
    assert_eq!(stored.refresh_token.expose(), "fr3shrefresh");
    assert_eq!(Some(stored), client.oauth_tokens());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "token file readable by others");
    }
    assert!(
        !dir.join("tokens.tmp").exists(),
        "no temporary file left behind"
    );
    // A missing file is "no tokens", a corrupt one a clear error.
    assert!(
        FileTokenStore::new(dir.join("none.json"))
            .load()
            .await
            .unwrap()
            .is_none()
    );
    std::fs::write(dir.join("bad.json"), "not json").unwrap();
    let err = FileTokenStore::new(dir.join("bad.json"))
        .load()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a token file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
