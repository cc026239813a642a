//! GraphiQL, served by the binary: the page at `GET /graphql` and its assets under
//! `GET /graphiql/{file}`, all embedded at build time from `assets/graphiql/` (see its
//! README.md for the packages, versions, licenses and checksums). Nothing is loaded from a CDN:
//! GraphiQL renders with no network access beyond the server.
//!
//! The page and its assets are public (no token): they are the same static files for everyone.
//! The GraphQL endpoint they talk to stays authenticated; the token goes in GraphiQL's Headers
//! tab, and from there with every POST and in the subscriptions' `connection_init` payload.
//!
//! Caching: the page refers to each asset as `/graphiql/{file}?v={hash}` (a BLAKE3 prefix of
//! its bytes), so assets are cached for a year as immutable, and a new build with other bytes
//! gets new URLs. The page itself is `no-cache`. A Content-Security-Policy on the page allows
//! scripts, styles and connections to this origin only (plus its WebSocket origin for
//! subscriptions), with no inline script or style.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

/// The URL prefix of the assets.
pub const ASSET_PREFIX: &str = "/graphiql/";

/// One embedded static file.
#[derive(Debug)]
pub struct Asset {
    /// The file name, under [`ASSET_PREFIX`] and in `assets/graphiql/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// An [`Asset`] embedded from `assets/graphiql/{name}`.
macro_rules! asset {
    ($content_type:expr, $name:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../assets/graphiql/", $name)),
        }
    };
}

/// The assets the page loads, in the repository's `assets/graphiql/`.
pub const ASSETS: &[Asset] = &[
    asset!(JS, "react.production.min.js"),
    asset!(JS, "react-dom.production.min.js"),
    asset!(JS, "graphiql.min.js"),
    asset!(CSS, "graphiql.min.css"),
    asset!(CSS, "graphiql-page.css"),
    asset!(JS, "graphiql-init.js"),
];

/// The hand-written page, with plain `/graphiql/{file}` references.
const PAGE_TEMPLATE: &str = include_str!("../assets/graphiql/index.html");

/// The page as served: every asset reference carries `?v=` and the asset's hash.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut page = PAGE_TEMPLATE.to_owned();
    for asset in ASSETS {
        let plain = format!("\"{ASSET_PREFIX}{}\"", asset.name);
        let versioned = format!("\"{ASSET_PREFIX}{}?v={}\"", asset.name, version(asset.bytes));
        page = page.replace(&plain, &versioned);
    }
    page
});

/// The first 16 hex digits of the BLAKE3 hash of `bytes`.
fn version(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..16].to_owned()
}

const CACHE_ASSET: &str = "public, max-age=31536000, immutable";

/// The CSP of the page. `'self'` covers same-origin `ws:`/`wss:` in CSP Level 3 browsers; the
/// WebSocket origin of the request's `Host` is named too, for older ones.
fn content_security_policy(headers: &HeaderMap) -> String {
    let mut connect = "'self'".to_owned();
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok())
        && is_plain_host(host)
    {
        connect.push_str(&format!(" ws://{host} wss://{host}"));
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self' data:; connect-src {connect}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// A `Host` that may be written into the policy: a name, an IPv4 or a bracketed IPv6
/// address, and a port; nothing that could end a directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// `GET /graphql`: the GraphiQL page.
pub(crate) async fn page(headers: HeaderMap) -> Response {
    let csp = HeaderValue::from_str(&content_security_policy(&headers))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// `GET /graphiql/{file}`: one embedded asset, or 404.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, CACHE_ASSET),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such GraphiQL asset\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_referenced_by_the_page_with_its_version() {
        for asset in ASSETS {
            let reference = format!("\"{ASSET_PREFIX}{}?v={}\"", asset.name, version(asset.bytes));
            assert!(PAGE.contains(&reference), "the page does not load {}", asset.name);
        }
    }

    #[test]
    fn a_host_with_a_directive_separator_stays_out_of_the_policy() {
        assert!(is_plain_host("127.0.0.1:8080"));
        assert!(is_plain_host("[::1]:8080"));
        assert!(is_plain_host("tally.example.com"));
        assert!(!is_plain_host("evil; script-src *"));
        assert!(!is_plain_host(""));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("x;script-src *"));
        assert!(!content_security_policy(&headers).contains("script-src *"));
    }
}
