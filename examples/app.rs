//! The emulator's OAuth application as an SDK client. Events and the other app-only methods
//! need an application context (a webhook gets `WRONG_AUTH_TYPE`). The SDK's own tests
//! include this file by path, so that the two crates build the client one way.

use bitrix24::{Client, ClientBuilder, OAuthApp, OAuthTokens};
use bitrix24_emulator::RunningEmulator;

/// The SDK's credentials of the emulator's application (its token endpoint included).
pub fn app_of(a: &bitrix24_emulator::OAuthApp) -> OAuthApp {
    OAuthApp::new(a.client_id.clone(), a.client_secret.clone()).token_url(a.token_url.clone())
}

/// The token pair of `a` on the emulator's portal, with the portal's `member_id`.
pub fn tokens_of(a: &bitrix24_emulator::OAuthApp) -> OAuthTokens {
    let mut tokens = OAuthTokens::new(
        a.access_token.clone(),
        a.refresh_token.clone(),
        a.client_endpoint.clone(),
    );
    tokens.member_id = Some(a.member_id.clone());
    tokens
}

/// A client builder acting as the emulator's application, with a fresh token pair of user 1.
pub fn app_builder(emulator: &RunningEmulator) -> ClientBuilder {
    let a = emulator.oauth_app();
    Client::builder().oauth(app_of(&a), tokens_of(&a))
}
