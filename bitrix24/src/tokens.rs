//! [`OAuthTokens`]: an access/refresh token pair, shared by the credentials (`auth`), the
//! refresh (`refresh.rs`) and persistence (`token_store`).

use crate::secret::Secret;

/// An access/refresh token pair and what the token endpoint said about it.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OAuthTokens {
    /// The access token (1 hour).
    pub access_token: Secret,
    /// The refresh token (rotates on every refresh).
    pub refresh_token: Secret,
    /// Unix time when the access token expires, when known.
    pub expires_at: Option<u64>,
    /// The portal's REST base, `https://<portal>/rest/`.
    pub client_endpoint: Option<String>,
    /// The authorization server's REST base, `https://oauth.bitrix.info/rest/`.
    pub server_endpoint: Option<String>,
    /// The stable portal id.
    pub member_id: Option<String>,
    /// The user the tokens belong to.
    pub user_id: Option<u64>,
}

impl OAuthTokens {
    /// A token pair for the portal REST base `client_endpoint` (`https://<portal>/rest/`).
    pub fn new(
        access_token: impl Into<Secret>,
        refresh_token: impl Into<Secret>,
        client_endpoint: impl Into<String>,
    ) -> Self {
        OAuthTokens {
            access_token: access_token.into(),
            refresh_token: refresh_token.into(),
            client_endpoint: Some(client_endpoint.into()),
            ..OAuthTokens::default()
        }
    }
}
