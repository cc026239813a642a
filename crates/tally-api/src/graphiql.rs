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
//!
//! Compression: an asset is served gzip-compressed (`Content-Encoding: gzip`) to a request whose
//! `Accept-Encoding` allows gzip, as-is otherwise; both answers say `Vary: Accept-Encoding`.
//! Each asset is compressed once per process, on its first gzip request (on the blocking
//! pool), and kept.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write as _;
use std::sync::{LazyLock, OnceLock};

/// The URL prefix of the assets.
pub const ASSET_PREFIX: &str = "/graphiql/";

/// One embedded static file.
#[derive(Debug)]
pub struct Asset {
    /// The file name, under [`ASSET_PREFIX`] and in `assets/graphiql/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes, as vendored.
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

/// Each asset of [`ASSETS`] gzip-compressed (same index), once compressed; `None` inside if
/// compressing failed (the asset is then served as-is).
static GZIPPED: LazyLock<Vec<OnceLock<Option<Vec<u8>>>>> =
    LazyLock::new(|| ASSETS.iter().map(|_| OnceLock::new()).collect());

/// `bytes` compressed with gzip at the best level (done once per asset and process).
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// The gzip-compressed bytes of `ASSETS[index]`, compressed on the blocking pool the first
/// time (graphiql.min.js is 1 MB: not work for a runtime thread).
async fn gzipped(index: usize) -> Option<&'static [u8]> {
    let cell: &'static OnceLock<Option<Vec<u8>>> = GZIPPED.get(index)?;
    if let Some(done) = cell.get() {
        return done.as_deref();
    }
    let bytes = ASSETS.get(index)?.bytes;
    let compressed = tokio::task::spawn_blocking(move || cell.get_or_init(|| gzip(bytes)));
    compressed.await.ok()?.as_deref()
}

/// Whether the `Accept-Encoding` headers allow gzip: `gzip` (or `x-gzip`) with a weight above
/// 0, or, when gzip is not named, `*` with a weight above 0. No header, `gzip;q=0`, or an
/// unreadable weight: identity.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut named = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for element in value.split(',') {
            let mut parts = element.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let mut weight_ok = true;
            for parameter in parts {
                if let Some((name, value)) = parameter.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    weight_ok = positive_weight(value.trim());
                }
            }
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                // The most favourable mention wins (`gzip;q=0, gzip` allows it).
                named = Some(named.unwrap_or(false) || weight_ok);
            } else if coding == "*" {
                any = Some(any.unwrap_or(false) || weight_ok);
            }
        }
    }
    named.or(any).unwrap_or(false)
}

/// Whether an RFC 9110 weight (`0` to `1`, at most three decimals) is above 0; a malformed one
/// is not.
fn positive_weight(weight: &str) -> bool {
    let (whole, fraction) = weight.split_once('.').unwrap_or((weight, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let zeros = fraction.bytes().all(|b| b == b'0');
    let well_formed = fraction.len() <= 3 && digits(fraction);
    well_formed && ((whole == "1" && zeros) || (whole == "0" && !zeros))
}

/// `GET /graphiql/{file}`: one embedded asset (gzip-compressed when the request allows it), or
/// 404.
pub(crate) async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((index, asset)) = ASSETS.iter().enumerate().find(|(_, asset)| asset.name == name)
    else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL asset\n").into_response();
    };
    let common = [
        (header::CONTENT_TYPE, asset.content_type),
        (header::CACHE_CONTROL, CACHE_ASSET),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::VARY, "accept-encoding"),
    ];
    if accepts_gzip(&headers)
        && let Some(compressed) = gzipped(index).await
    {
        return (common, [(header::CONTENT_ENCODING, "gzip")], compressed).into_response();
    }
    (common, asset.bytes).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_referenced_by_the_page_with_its_version() {
        for asset in ASSETS {
            let reference = format!("\"{ASSET_PREFIX}{}?v={}\"", asset.name, version(asset.bytes));
            assert!(PAGE.contains(&reference), "the page does not load {}", asset.name);
        }
    }

    fn accepts(values: &[&'static str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn accept_encoding_allows_gzip_only_with_a_positive_weight() {
        for yes in [
            &["gzip"][..],
            &["gzip, deflate, br, zstd"],
            &["br;q=1.0, GZIP;q=0.5"],
            &["x-gzip"],
            &["*"],
            &["br", "gzip;q=0.001"],
            &["gzip;q=0, gzip"],
            &["identity, *;q=0.1"],
            &["gzip ; q=1"],
        ] {
            assert!(accepts(yes), "{yes:?}");
        }
        for no in [
            &[][..],
            &[""],
            &["identity"],
            &["br, deflate"],
            &["gzip;q=0"],
            &["gzip;q=0.000, *"],
            &["*;q=0"],
            &["gzip;q=abc"],
            &["gzip;q=1.5"],
            &["gzip;q=0.0001"],
            &["gzipx"],
        ] {
            assert!(!accepts(no), "{no:?}");
        }
    }

    #[test]
    fn every_asset_compresses_and_decompresses_to_itself() {
        use std::io::Read as _;
        for asset in ASSETS {
            let compressed = gzip(asset.bytes).unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut back).unwrap();
            assert!(back == asset.bytes, "{}", asset.name);
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
