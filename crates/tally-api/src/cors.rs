//! CORS for browsers: which web origins may call `/graphql`, and the answers they get.
//!
//! Tally authenticates with bearer tokens, never cookies, so CORS is not what keeps data safe;
//! it decides which web pages a browser lets read the answers. Only origins on the allow-list
//! (`cors_origins` in `tally.toml`) are let in; there is no wildcard. A preflight from an
//! allowed origin answers 204 with the CORS headers; from any other origin, 403 without them.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Methods a page may use on `/graphql`.
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a page may send (lowercase).
const ALLOWED_HEADERS: [&str; 2] = ["authorization", "content-type"];
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_S: &str = "600";
/// Most origins on the allow-list.
pub const CORS_ORIGINS_MAX: usize = 64;

/// The web origins allowed to call the API: `scheme://host[:port]`, compared exactly
/// (lowercase, no path, no trailing slash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    /// Parses the allow-list; every entry must be an origin such as `https://ops.example.com`
    /// or `http://localhost:5173`.
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<Self, String> {
        if origins.len() > CORS_ORIGINS_MAX {
            return Err(format!(
                "{} CORS origins, at most {CORS_ORIGINS_MAX} are allowed",
                origins.len()
            ));
        }
        let mut out = Vec::with_capacity(origins.len());
        for origin in origins {
            let origin = origin.as_ref();
            out.push(parse_origin(origin).ok_or_else(|| {
                format!(
                    "'{origin}' is not a web origin: write scheme://host[:port], e.g. \
                     https://ops.example.com (no path, no trailing slash, no wildcard)"
                )
            })?);
        }
        out.sort();
        out.dedup();
        Ok(Self(out))
    }

    /// Whether no origin is allowed (the default).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The allowed origin a request names in its `Origin` header, if any.
    fn allowed<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let value = headers.get(header::ORIGIN)?;
        let origin = value.to_str().ok()?.to_ascii_lowercase();
        self.0.binary_search(&origin).is_ok().then_some(value)
    }

    /// The answer to `OPTIONS /graphql`: a CORS preflight from an allowed origin gets 204 with
    /// the CORS headers, one from another origin 403; a plain `OPTIONS` (no `Origin`) gets 204
    /// with `Allow`.
    #[must_use]
    pub fn preflight(&self, headers: &HeaderMap) -> Response {
        if headers.get(header::ORIGIN).is_none() {
            return (StatusCode::NO_CONTENT, [(header::ALLOW, ALLOWED_METHODS)]).into_response();
        }
        let Some(origin) = self.allowed(headers) else {
            return (StatusCode::FORBIDDEN, "origin not allowed (cors_origins in tally.toml)\n")
                .into_response();
        };
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok())
            .and_then(|m| m.parse::<Method>().ok())
            .is_none_or(|m| m == Method::GET || m == Method::POST);
        let headers_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|h| h.to_str().ok())
            .is_none_or(|list| {
                list.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .all(|h| h.is_empty() || ALLOWED_HEADERS.contains(&h.as_str()))
            });
        if !(method_ok && headers_ok) {
            return (StatusCode::FORBIDDEN, "method or header not allowed\n").into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE_S));
        out.insert(header::VARY, HeaderValue::from_static("Origin"));
        response
    }

    /// Adds the CORS headers to an answer to an allowed origin.
    pub fn decorate(&self, request: &HeaderMap, response: &mut Response) {
        if let Some(origin) = self.allowed(request) {
            let out = response.headers_mut();
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

/// `scheme://host[:port]`, lowercased; `None` for anything else.
fn parse_origin(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    (host_ok && port_ok).then_some(lower)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_exactly() {
        let list =
            CorsOrigins::parse(&["https://Ops.Example.com", "http://localhost:5173"]).unwrap();
        assert_eq!(list.0, vec!["http://localhost:5173", "https://ops.example.com"]);
        for bad in [
            "*",
            "ops.example.com",
            "https://ops.example.com/",
            "https://a/b",
            "ftp://x",
            "https://",
            "https://x:99999",
            "https://x:",
            "https://a b",
        ] {
            let err = CorsOrigins::parse(&[bad]).unwrap_err();
            assert!(err.contains("not a web origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn preflights_are_answered_by_the_allow_list() {
        let list = CorsOrigins::parse(&["https://ops.example.com"]).unwrap();
        let mut request = HeaderMap::new();
        request.insert(header::ORIGIN, HeaderValue::from_static("https://ops.example.com"));
        request.insert(header::ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("POST"));
        request.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        let ok = list.preflight(&request);
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://ops.example.com");
        request.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_static("x-evil"));
        assert_eq!(list.preflight(&request).status(), StatusCode::FORBIDDEN);
        request.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        let refused = list.preflight(&request);
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(list.preflight(&HeaderMap::new()).status(), StatusCode::NO_CONTENT);
    }
}
