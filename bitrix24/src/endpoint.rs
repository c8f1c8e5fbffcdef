//! Where secrets may be sent: the one place that decides whether a portal, token or redirect
//! address is safe (https, plain http only on loopback), builds origins, and recognises a
//! Bitrix24 cloud portal's change of address.

use url::Url;

use crate::error::Error;

/// The documented OAuth authorization servers: `oauth.bitrix.info` (the docs' default) and
/// `oauth.bitrix24.tech` (the one `.ru` portals' `server_endpoint` names).
pub const DOCUMENTED_OAUTH_HOSTS: &[&str] = &["oauth.bitrix.info", "oauth.bitrix24.tech"];

/// Whether a host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `address` and checks it may carry a secret: `https`, or `http` to a loopback host.
/// `what` names the address in the error (`client_endpoint`, `token URL`, ...).
pub(crate) fn secure_url(address: &str, what: &str) -> Result<Url, Error> {
    let url = Url::parse(address.trim())
        .map_err(|e| Error::Config(format!("{what} `{}` is not a URL: {e}", redacted(address))))?;
    let Some(host) = url.host_str() else {
        return Err(Error::Config(format!("{what} has no host")));
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(host) => Ok(url),
        "http" => Err(Error::Config(format!(
            "{what} uses plain http to {host}: secrets travel only over https (http only on loopback)"
        ))),
        other => Err(Error::Config(format!(
            "{what} uses the scheme `{other}`; only https is allowed"
        ))),
    }
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// `base` with exactly one trailing slash.
pub(crate) fn with_slash(base: &str) -> String {
    format!("{}/", base.trim_end_matches('/'))
}

/// Whether moving from `from` to `to` is a Bitrix24 cloud portal changing its address.
///
/// Cloud portals live at `<name>.bitrix24.<zone>` and users may change `<name>` (docs:
/// `settings/how-to-call-rest-api/change-domen.md`); the zone stays. So a move is followed
/// only when both hosts are `<label>.bitrix24.<same zone>` and differ in the first label alone.
/// Anything else (a self-hosted portal, another zone, another registrable domain) is not
/// followed: the caller gets [`Error::PortalMoved`] and updates its configuration.
pub(crate) fn is_cloud_portal_rename(from: &str, to: &str) -> bool {
    let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
    let (Some((from_name, from_rest)), Some((to_name, to_rest))) =
        (from.split_once('.'), to.split_once('.'))
    else {
        return false;
    };
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    from_rest == to_rest
        && valid_label(from_name)
        && valid_label(to_name)
        && from_rest
            .strip_prefix("bitrix24.")
            .is_some_and(|zone| !zone.is_empty() && zone.split('.').all(valid_label))
}

/// An address for an error message: scheme, host and port only (paths may hold a webhook code).
pub(crate) fn redacted(address: &str) -> String {
    match Url::parse(address.trim()) {
        Ok(url) if url.host_str().is_some() => origin(&url),
        _ => "(unparsable)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.3.2.1",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn secrets_need_https_off_loopback() {
        assert!(secure_url("https://a.bitrix24.com/rest/", "x").is_ok());
        assert!(secure_url("http://127.0.0.1:8080/rest/", "x").is_ok());
        assert!(secure_url("http://localhost/rest/", "x").is_ok());
        let err = secure_url("http://a.bitrix24.com/rest/", "client_endpoint").unwrap_err();
        assert!(err.to_string().contains("client_endpoint"), "{err}");
        assert!(secure_url("ftp://a.bitrix24.com/", "x").is_err());
        assert!(secure_url("not a url", "x").is_err());
        let err = secure_url("https://[bad/rest/1/c0de/", "x").unwrap_err();
        assert!(!err.to_string().contains("c0de"), "{err}");
    }

    #[test]
    fn cloud_renames_only() {
        assert!(is_cloud_portal_rename(
            "b24-abc.bitrix24.com",
            "acme.bitrix24.com"
        ));
        assert!(is_cloud_portal_rename(
            "old.bitrix24.com.br",
            "NEW.bitrix24.com.br"
        ));
        for (from, to) in [
            ("old.bitrix24.com", "evil.example.com"),
            ("old.bitrix24.com", "new.bitrix24.de"),
            ("old.bitrix24.com", "a.b.bitrix24.com"),
            ("portal.example.com", "other.example.com"),
            ("old.bitrix24.com", "new.bitrix24.com.evil.io"),
            ("old.bitrix24.", "new.bitrix24."),
            ("bitrix24.com", "x.bitrix24.com"),
        ] {
            assert!(!is_cloud_portal_rename(from, to), "{from} -> {to}");
        }
    }
}
