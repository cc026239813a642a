//! `/metrics`: who may read it, and how many `source` label values it shows.

use crate::support::{TestServer, token};
use axum::body::Body;
use axum::extract::ConnectInfo;
use serde_json::json;
use std::net::SocketAddr;
use tally_api::Role;
use tally_api::config::{ApiConfig, MetricsAccess};
use tower::ServiceExt as _;

/// `GET /metrics` through the router as if from `peer`, with an optional token: the status.
async fn scrape_from(server: &TestServer, peer: &str, token: Option<&str>) -> u16 {
    let mut request = axum::http::Request::get("/metrics");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let answer = tally_api::router(server.state.clone()).oneshot(request).await.unwrap();
    answer.status().as_u16()
}

/// Regression (issue 12, item 7c): `/metrics` answered anyone, from anywhere.
#[tokio::test]
async fn metrics_are_anonymous_on_loopback_only_by_default() {
    let server = TestServer::start().await;
    // Over a real socket from 127.0.0.1: no token needed.
    let local = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    assert_eq!(local.status(), 200);
    for peer in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
        assert_eq!(scrape_from(&server, peer, None).await, 200, "{peer}");
    }
    // From elsewhere: a token of a metrics role.
    let remote = "10.1.2.3:40000";
    assert_eq!(scrape_from(&server, remote, None).await, 401);
    assert_eq!(scrape_from(&server, "[2001:db8::1]:40000", None).await, 401);
    assert_eq!(scrape_from(&server, remote, Some("token-nobody")).await, 401);
    for role in Role::ALL {
        let expected = if tally_api::auth::METRICS_ROLES.contains(&role) { 200 } else { 403 };
        assert_eq!(scrape_from(&server, remote, Some(&token(role))).await, expected, "{role:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn metrics_access_is_configurable() {
    let config = ApiConfig { metrics_access: MetricsAccess::Token, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    let local = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    assert_eq!(local.status(), 401, "a token is needed even on loopback");
    assert_eq!(local.headers()["www-authenticate"], "Bearer");
    assert_eq!(scrape_from(&server, "127.0.0.1:1", Some(&token(Role::Auditor))).await, 200);
    assert_eq!(scrape_from(&server, "127.0.0.1:1", Some(&token(Role::Viewer))).await, 403);
    server.stop().await;

    let config = ApiConfig { metrics_access: MetricsAccess::Anonymous, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    assert_eq!(scrape_from(&server, "10.1.2.3:40000", None).await, 200);
    server.stop().await;
    assert_eq!("loopback".parse::<MetricsAccess>().unwrap(), MetricsAccess::Loopback);
    assert!("everyone".parse::<MetricsAccess>().is_err());
}

/// The `source` label values of `metric` in a scrape, and the value of its `other` series.
fn sources(text: &str, metric: &str) -> (Vec<String>, u64) {
    let mut sources = Vec::new();
    let mut other = 0;
    for line in text.lines().filter(|l| l.starts_with(&format!("{metric}{{"))) {
        let at = line.find("source=\"").unwrap() + 8;
        let source = line[at..].split('"').next().unwrap().to_owned();
        if source == "other" {
            other += line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        }
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    (sources, other)
}

/// Regression (issue 12, item 7c): every distinct `source` a client sent became a label value.
#[tokio::test]
async fn source_labels_are_the_top_sources_and_other() {
    let config = ApiConfig { metrics_sources_max: 5, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    server.master_data().await;
    let reject = |n: usize, source: String| {
        let query = format!(
            "mutation {{ submit(input: {{idempotencyKey: \"rej-{n}\", source: {source:?}, json: {{type: \"receive_inventory\", location: \"WH1\", sku: \"NOPE\", qty: 1}}}}) {{ lastSeq }} }}"
        );
        let server = &server;
        async move { server.gql_as(Some(&token(Role::Operator)), &query, json!({})).await }
    };
    // Three sources rejected often, then 12 sources once each (one with a quote and a
    // newline, which must be escaped, not break the format).
    let mut n = 0;
    for (source, times) in [("edi/big", 4), ("shop/web", 3), ("wms/WH1", 2)] {
        for _ in 0..times {
            n += 1;
            reject(n, source.to_owned()).await;
        }
    }
    for i in 0..12 {
        n += 1;
        let source =
            if i == 0 { "odd \"source\"\nline".to_owned() } else { format!("spray/{i:02}") };
        reject(n, source).await;
    }
    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    let text = text.text().await.unwrap();
    for metric in
        ["tally_rejections_total", "tally_engine_submission_rejections", "tally_engine_submissions"]
    {
        let (sources, other) = sources(&text, metric);
        assert!(sources.len() <= 6, "{metric}: at most 5 sources and other: {sources:?}\n{text}");
        for top in ["edi/big", "shop/web", "wms/WH1"] {
            assert!(sources.contains(&top.to_owned()), "{metric}: {top} missing: {sources:?}");
        }
        assert!(sources.contains(&"other".to_owned()), "{metric}: {sources:?}");
        // The one-off sources outside the top 5 are summed (the engine refuses the source
        // holding a newline before counting it by source).
        assert!(other >= 9, "{metric}: the one-off sources are summed: {other}");
    }
    assert!(!text.contains("odd \"source\"\nline"), "label values are escaped:\n{text}");
    server.stop().await;
}
