//! The HTTP client deliveries are sent with: rustls (ring) with the built-in web roots
//! (webpki-roots, Mozilla's list, compiled in), or, for an endpoint with a `ca_file`, only the
//! CA certificates of that file (as `curl --cacert` does). Redirects are not followed.

use crate::config::{CaFile, Delivery};
use std::time::Duration;

fn builder(delivery: &Delivery) -> reqwest::ClientBuilder {
    let timeout = Duration::from_millis(delivery.request_timeout_ms);
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tally-outbox/", env!("CARGO_PKG_VERSION")))
}

fn roots(ca: &CaFile) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(&ca.pem)
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
    }
    Ok(certs)
}

/// The client of an endpoint: the shared settings, and the endpoint's CA when it has one.
pub(crate) fn client(delivery: &Delivery, ca: Option<&CaFile>) -> Result<reqwest::Client, String> {
    let mut builder = builder(delivery);
    if let Some(ca) = ca {
        builder = builder.tls_built_in_root_certs(false);
        for cert in roots(ca)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    })
}

/// Whether a CA file can be used: PEM certificates the TLS client accepts as roots.
pub(crate) fn check_ca(ca: &CaFile) -> Result<(), String> {
    roots(ca)?;
    client(&Delivery::default(), Some(ca))
        .map(drop)
        .map_err(|e| format!("not usable as CA certificates: {e}"))
}
