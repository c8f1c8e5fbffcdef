//! Portal configuration from the environment, and secret masking.

use bitrix24::{ApiVersion, Client, ClientBuilder, OAuthApp, OAuthTokens, Secret, Webhook};

use serde_json::Value;

use crate::Fail;

/// The plan store `b24 call` and `b24 mcp` keep by default.
pub const PLAN_FILE: &str = ".runtime/bitrix24_plans.json";
/// The idempotency store of the portal commands by default.
pub const IDEMPOTENCY_FILE: &str = ".runtime/bitrix24_idempotency.json";
/// The audit trail of the portal commands by default.
pub const AUDIT_FILE: &str = ".runtime/bitrix24_audit.jsonl";
/// The offline worker's database (`b24 worker` keeps it, `b24 mcp` reads it) by default.
pub const WORKER_DB: &str = ".runtime/offline_worker.db";
/// The offline worker's copy of its dead letters by default.
pub const DLQ_FILE: &str = ".runtime/offline_dlq.jsonl";

/// Replaces every known secret (webhook code, tokens, client secret) and every
/// `access_token=` / `"auth": "..."`-style value with `***`.
#[derive(Debug, Default, Clone)]
pub struct Masker {
    secrets: Vec<Secret>,
}

const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "auth",
    "webhook_code",
    "client_secret",
    "application_token",
];

impl Masker {
    /// Adds a secret to mask.
    pub fn add(&mut self, s: &Secret) {
        if s.expose().len() >= 3 {
            self.secrets.push(s.clone());
        }
    }

    /// The text with secrets masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            out = out.replace(s.expose(), "***");
        }
        for key in SECRET_KEYS {
            out = mask_after(&out, &format!("{key}="), |c| {
                c == '&' || c == '"' || c.is_whitespace()
            });
            out = mask_json_value(&out, key);
        }
        out
    }
}

/// Masks the run after each `prefix` up to a char for which `end` is true.
fn mask_after(text: &str, prefix: &str, end: impl Fn(char) -> bool) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(prefix) {
        let start = i + pos + prefix.len();
        // Only a whole key: not `xauth=`.
        let whole = i + pos == 0
            || !text[..i + pos]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&text[i..start]);
        let len = text[start..].find(&end).unwrap_or(text.len() - start);
        if whole && len > 0 {
            out.push_str("***");
        } else {
            out.push_str(&text[start..start + len]);
        }
        i = start + len;
    }
    out.push_str(&text[i..]);
    out
}

/// Masks `"key": "value"` (any spacing).
fn mask_json_value(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(&needle) {
        let after = i + pos + needle.len();
        out.push_str(&text[i..after]);
        let rest = &text[after..];
        let trimmed = rest.trim_start();
        let ws = rest.len() - trimmed.len();
        if let Some(v) = trimmed.strip_prefix(':') {
            let v2 = v.trim_start();
            let ws2 = v.len() - v2.len();
            if let Some(body) = v2.strip_prefix('"') {
                let mut end = None;
                let mut esc = false;
                for (j, c) in body.char_indices() {
                    if esc {
                        esc = false;
                    } else if c == '\\' {
                        esc = true;
                    } else if c == '"' {
                        end = Some(j);
                        break;
                    }
                }
                if let Some(end) = end {
                    out.push_str(&rest[..ws + 1 + ws2]);
                    out.push_str("\"***\"");
                    i = after + ws + 1 + ws2 + 1 + end + 1;
                    continue;
                }
            }
        }
        i = after;
    }
    out.push_str(&text[i..]);
    out
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `1`, `true`, `yes`, `on` (any case) are true.
pub fn env_bool(name: &str) -> bool {
    env(name)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// A connected portal: the client, its tenant name and the masker of its secrets.
pub struct Portal {
    /// The client.
    pub client: Client,
    /// The portal host (plans and idempotency keys are per tenant).
    pub tenant: String,
}

fn with_scheme(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('/');
    if d.starts_with("http://") || d.starts_with("https://") {
        d.to_owned()
    } else {
        format!("https://{d}")
    }
}

fn host_of(domain: &str) -> String {
    let d = with_scheme(domain);
    let rest = d.split_once("://").map_or(d.as_str(), |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_ascii_lowercase()
}

/// Reads the masker's secrets from the environment (even when the configuration is invalid,
/// so that no error message can echo them).
pub fn masker_from_env() -> Masker {
    let mut m = Masker::default();
    for name in [
        "B24_WEBHOOK_CODE",
        "B24_ACCESS_TOKEN",
        "B24_REFRESH_TOKEN",
        "B24_CLIENT_SECRET",
    ] {
        if let Some(v) = env(name) {
            m.add(&Secret::new(v));
        }
    }
    if let Some(url) = env("B24_WEBHOOK_URL")
        && let Ok(w) = Webhook::parse(&url)
    {
        m.add(w.code());
    }
    m
}

/// The tenant alone (for planning: no credentials needed beyond the portal's name).
pub fn tenant_from_env() -> Result<String, Fail> {
    if let Some(url) = env("B24_WEBHOOK_URL") {
        let w = Webhook::parse(&url).map_err(|e| Fail::Invalid(format!("B24_WEBHOOK_URL: {e}")))?;
        return Ok(w.portal().to_ascii_lowercase());
    }
    env("B24_DOMAIN")
        .map(|d| host_of(&d))
        .ok_or_else(|| Fail::Invalid("B24_DOMAIN (or B24_WEBHOOK_URL) is required".to_owned()))
}

/// Builds the client from `B24_WEBHOOK_URL`, or `B24_DOMAIN` with `B24_AUTH_MODE`
/// (`webhook`: `B24_WEBHOOK_USER_ID`, `B24_WEBHOOK_CODE`; `oauth`: `B24_ACCESS_TOKEN`,
/// `B24_REFRESH_TOKEN`, `B24_CLIENT_ID`, `B24_CLIENT_SECRET`).
pub fn portal_from_env(
    api: ApiVersion,
    rate_limited: bool,
    batch_concurrency: usize,
) -> Result<Portal, Fail> {
    portal_with(base_builder(api, rate_limited, batch_concurrency))
}

/// The client settings every command starts from.
pub fn base_builder(
    api: ApiVersion,
    rate_limited: bool,
    batch_concurrency: usize,
) -> ClientBuilder {
    let b = Client::builder()
        .api_version(api)
        .batch_concurrency(batch_concurrency);
    if rate_limited { b } else { b.no_rate_limit() }
}

/// [`portal_from_env`] from the given client settings.
pub fn portal_with(b: ClientBuilder) -> Result<Portal, Fail> {
    let invalid = |m: String| Fail::Invalid(m);
    let tenant = tenant_from_env()?;
    let b = if let Some(url) = env("B24_WEBHOOK_URL") {
        b.webhook(&url)
    } else {
        let domain = env("B24_DOMAIN").unwrap_or_default();
        let mode = env("B24_AUTH_MODE").unwrap_or_else(|| "webhook".to_owned());
        match mode.to_ascii_lowercase().as_str() {
            "webhook" => {
                let user = env("B24_WEBHOOK_USER_ID").ok_or_else(|| {
                    invalid("B24_WEBHOOK_USER_ID is required in webhook mode".into())
                })?;
                let code = Secret::new(env("B24_WEBHOOK_CODE").ok_or_else(|| {
                    invalid("B24_WEBHOOK_CODE is required in webhook mode".into())
                })?);
                let url = format!("{}/rest/{user}/{}/", with_scheme(&domain), code.expose());
                b.webhook(&url)
            }
            "oauth" => {
                let access =
                    Secret::new(env("B24_ACCESS_TOKEN").ok_or_else(|| {
                        invalid("B24_ACCESS_TOKEN is required in oauth mode".into())
                    })?);
                let refresh = Secret::new(env("B24_REFRESH_TOKEN").unwrap_or_default());
                let app = OAuthApp::new(
                    env("B24_CLIENT_ID").unwrap_or_default(),
                    Secret::new(env("B24_CLIENT_SECRET").unwrap_or_default()),
                );
                let tokens =
                    OAuthTokens::new(access, refresh, format!("{}/rest/", with_scheme(&domain)));
                b.oauth(app, tokens)
            }
            other => {
                return Err(invalid(format!(
                    "B24_AUTH_MODE must be 'webhook' or 'oauth', got '{other}'"
                )));
            }
        }
    };
    let client = b
        .build()
        .map_err(|e| invalid(format!("portal configuration: {e}")))?;
    Ok(Portal { client, tenant })
}

/// Parses `--params`: a JSON object.
pub fn parse_params(raw: &str) -> Result<Value, Fail> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| Fail::Invalid(format!("Error: Invalid JSON in --params: {e}")))?;
    if !v.is_object() {
        return Err(Fail::Invalid(
            "Error: --params must decode to a JSON object".to_owned(),
        ));
    }
    Ok(v)
}

/// Whether the client limits its rate (`B24_RATE_LIMITER=off|none|noop` turns it off).
pub fn rate_limited() -> bool {
    !matches!(
        std::env::var("B24_RATE_LIMITER")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str(),
        "off" | "none" | "noop"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_secrets_and_token_forms() {
        let mut m = Masker::default();
        m.add(&Secret::new("s3cr3tc0de"));
        let t = m.mask(
            r#"url https://x/rest/1/s3cr3tc0de/ auth=abc&x=1 {"access_token" : "qq\"qq", "auth":"zz", "author":"kept"} xauth=kept"#,
        );
        assert!(
            !t.contains("s3cr3tc0de") && !t.contains("abc") && !t.contains("qq"),
            "{t}"
        );
        assert!(!t.contains("zz"));
        assert!(
            t.contains("\"author\":\"kept\"") && t.contains("xauth=kept"),
            "{t}"
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("Example.bitrix24.com"), "example.bitrix24.com");
        assert_eq!(host_of("http://127.0.0.1:8080/"), "127.0.0.1:8080");
    }
}
