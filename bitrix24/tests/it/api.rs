//! Properties of the public API itself.

use bitrix24::{Client, Error, OAuthApp, OAuthTokens, Secret, Webhook};

#[test]
fn client_is_cheap_to_clone_and_shareable() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_traits::<Client>();
    assert_error::<Error>();
    assert_eq!(
        std::mem::size_of::<Client>(),
        std::mem::size_of::<usize>() * 2
    );
}

#[test]
fn invalid_webhook_urls_are_typed_config_errors() {
    for (url, needle) in [
        ("", "invalid webhook URL"),
        ("not a url", "invalid webhook URL"),
        ("http://example.bitrix24.com/rest/1/code/", "https"),
        ("ftp://example.bitrix24.com/rest/1/code/", "scheme"),
        ("https://example.bitrix24.com/rest/1/", "expected the form"),
        (
            "https://example.bitrix24.com/rest/1/code/crm.deal.list",
            "expected the form",
        ),
        ("https://example.bitrix24.com/rest/1/co de/", "code"),
        ("https://example.bitrix24.com/rest/1/code/?x=1", "query"),
        (
            "https://example.bitrix24.com/api/1/code/",
            "expected the form",
        ),
    ] {
        match Client::webhook(url) {
            Err(Error::Config(message)) => {
                assert!(message.contains(needle), "{url}: {message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // Loopback may use http (local emulators).
    assert!(Client::webhook("http://127.0.0.1:8080/rest/1/SOMECODE/").is_ok());
    assert!(Client::webhook("https://example.bitrix24.com/rest/1/xyz/").is_ok());
}

#[test]
fn secrets_never_print() {
    let hook = Webhook::parse("https://example.bitrix24.com/rest/7/k3yc0d3/").unwrap();
    let client = Client::builder()
        .webhook("https://example.bitrix24.com/rest/7/k3yc0d3/")
        .build()
        .unwrap();
    let app = OAuthApp::new("local.1", "sup3rs3cret");
    let tokens = OAuthTokens::new("acc3ss", "r3fresh", "https://example.bitrix24.com/rest/");
    let oauth = Client::builder()
        .oauth(app.clone(), tokens.clone())
        .build()
        .unwrap();
    let shown = format!(
        "{hook:?} {client:?} {app:?} {tokens:?} {oauth:?} {}",
        Secret::new("x")
    );
    for secret in ["k3yc0d3", "sup3rs3cret", "acc3ss", "r3fresh"] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
}

#[test]
fn builder_refuses_incomplete_or_conflicting_credentials() {
    assert!(
        matches!(Client::builder().build(), Err(Error::Config(m)) if m.contains("no credentials"))
    );
    let tokens = OAuthTokens::new("a", "r", "https://example.bitrix24.com/rest/");
    let both = Client::builder()
        .webhook("https://example.bitrix24.com/rest/1/x/")
        .oauth(OAuthApp::new("id", "s"), tokens)
        .build();
    assert!(matches!(both, Err(Error::Config(m)) if m.contains("not both")));
    let mut no_endpoint = OAuthTokens::new("a", "r", "x");
    no_endpoint.client_endpoint = None;
    assert!(
        Client::builder()
            .oauth(OAuthApp::new("id", "s"), no_endpoint)
            .build()
            .is_err()
    );
}
