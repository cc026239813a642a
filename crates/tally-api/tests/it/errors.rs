//! Bad requests get the right codes and append nothing.

use crate::support::{TestServer, any_error, first_code, token};
use serde_json::json;
use tally_api::{ApiConfig, Role};

const RECEIVE: &str = "mutation($qty: Int!, $sku: String!) { receiveInventory(envelope: {idempotencyKey: \"bad\"}, input: {location: \"WH1\", sku: $sku, qty: $qty}) { lastSeq userErrors { code message } } }";

#[tokio::test]
async fn each_bad_request_gets_its_code_and_appends_nothing() {
    let config = ApiConfig { request_body_bytes_max: 16 << 10, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    server.master_data().await;
    let head = server.head();
    let operator = token(Role::Operator);
    let op = Some(operator.as_str());

    // 20 levels, over the default limit of 12.
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
        "ofType { ".repeat(16),
        "} ".repeat(16)
    );
    let cases = [
        ("malformed GraphQL", "mutation { receiveInventory(", json!({}), "INVALID_INPUT"),
        ("wrong type", RECEIVE, json!({"qty": "ten", "sku": "SKU-A"}), "INVALID_INPUT"),
        ("unknown field", "{ head { nope } }", json!({}), "INVALID_INPUT"),
        ("unknown sku", RECEIVE, json!({"qty": 1, "sku": "NOPE"}), "UNKNOWN_SKU"),
        ("negative quantity", RECEIVE, json!({"qty": -5, "sku": "SKU-A"}), "INVALID_QUANTITY"),
        (
            "command JSON that does not parse",
            "mutation { submit(input: {idempotencyKey: \"j\", json: {type: \"receive_inventory\", qty: 1}}) { lastSeq userErrors { code message } } }",
            json!({}),
            "INVALID_INPUT",
        ),
        (
            "bad typed value",
            "mutation { defineSku(envelope: {idempotencyKey: \"s\"}, input: {sku: \"SKU-B\", lotTracked: false, unitCost: {amount: \"abc\", currencyCode: USD}, abc: A}) { lastSeq } }",
            json!({}),
            "INVALID_INPUT",
        ),
        ("too deep", deep.as_str(), json!({}), "LIMIT_EXCEEDED"),
        (
            "bad cursor",
            "{ events(after: \"???\") { edges { cursor } } }",
            json!({}),
            "INVALID_INPUT",
        ),
        (
            "page too large",
            "{ events(first: 600) { edges { cursor } } }",
            json!({}),
            "LIMIT_EXCEEDED",
        ),
        ("bad event id", "{ event(id: \"xyz\") { seq } }", json!({}), "INVALID_INPUT"),
        ("unknown view", "{ quarantined(view: \"nope\") { totalCount } }", json!({}), "NOT_FOUND"),
    ];
    for (what, query, variables, code) in cases {
        let answer = server.gql_as(op, query, variables).await;
        assert_eq!(any_error(&answer).0, code, "{what}: {answer:#}");
        assert!(!any_error(&answer).1.is_empty(), "{what}: a message");
        assert_eq!(server.head(), head, "{what} appended");
    }

    // Not JSON at all: HTTP 400 with the same error shape.
    let response = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&operator)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(first_code(&body), "INVALID_INPUT");

    // Oversized body: HTTP 413.
    let padding = "x".repeat(32 << 10);
    let response = server
        .client
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&operator)
        .json(&json!({"query": "{ head { seq } }", "variables": {"padding": padding}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(server.head(), head);
    server.stop().await;
}

#[tokio::test]
async fn a_query_over_the_complexity_limit_is_refused() {
    let config = ApiConfig { limit_complexity: 100, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    let admin = token(Role::Admin);
    let small = server
        .gql_as(Some(&admin), "{ events(first: 5) { edges { cursor node { seq } } } }", json!({}))
        .await;
    assert!(small.get("errors").is_none(), "{small:#}");
    let big = server
        .gql_as(Some(&admin), "{ events(first: 50) { edges { cursor node { seq } } } }", json!({}))
        .await;
    assert_eq!(first_code(&big), "LIMIT_EXCEEDED", "{big:#}");
    server.stop().await;
}

#[tokio::test]
async fn internal_details_are_not_leaked_and_codes_are_stable_for_auth() {
    let server = TestServer::start().await;
    let none = server.gql_as(None, "{ head { seq } }", json!({})).await;
    assert_eq!(first_code(&none), "UNAUTHENTICATED");
    let bad = server.gql_as(Some("not-a-token"), "{ head { seq } }", json!({})).await;
    assert_eq!(first_code(&bad), "UNAUTHENTICATED");
    let viewer = server.gql_as(Some(&token(Role::Viewer)), "{ verify { ok } }", json!({})).await;
    assert_eq!(first_code(&viewer), "FORBIDDEN");
    let who =
        server.gql_as(Some(&token(Role::Finance)), "{ whoami { name role } }", json!({})).await;
    assert_eq!(who["data"]["whoami"]["role"], "FINANCE");
    assert_eq!(who["data"]["whoami"]["name"], "finance-bot");
    server.stop().await;
}

fn fragment_bomb(levels: usize) -> String {
    let mut text = format!("query {{ ...F{levels} }}\nfragment F0 on Query {{ head {{ seq }} }}\n");
    for i in 1..=levels {
        text.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i - 1, i - 1));
    }
    text
}

#[tokio::test]
async fn fragment_bombs_long_texts_and_big_batches_are_refused_up_front() {
    let server = TestServer::start().await;
    let admin = token(Role::Admin);
    let auth = Some(admin.as_str());
    // 2^40 fields once expanded, in 2 KB: refused at once (this walk used to be exponential
    // in async-graphql's own checks: 20 levels took 10 s of CPU).
    let bomb = server.gql_as(auth, &fragment_bomb(40), json!({})).await;
    assert_eq!(first_code(&bomb), "LIMIT_EXCEEDED", "{bomb:#}");
    assert!(bomb["errors"][0]["message"].as_str().unwrap().contains("fragments expanded"));
    // A few levels are an ordinary query.
    let small = server.gql_as(auth, &fragment_bomb(3), json!({})).await;
    assert!(small.get("errors").is_none(), "{small:#}");
    // Query text over 256 KiB, refused unparsed.
    let long = format!("{{ head {{ seq }} }} #{}", "x".repeat(256 << 10));
    let answer = server.gql_as(auth, &long, json!({})).await;
    assert_eq!(first_code(&answer), "LIMIT_EXCEEDED", "{answer:#}");
    // Batches: 16 operations are answered, 17 refused with HTTP 400.
    for (n, status) in [(16, 200), (17, 400)] {
        let batch: Vec<_> = (0..n).map(|_| json!({"query": "{ head { seq } }"})).collect();
        let response = server
            .client
            .post(format!("{}/graphql", server.base))
            .bearer_auth(&admin)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 200 {
            assert_eq!(body.as_array().unwrap().len(), n);
        } else {
            assert_eq!(first_code(&body), "LIMIT_EXCEEDED", "{body:#}");
        }
    }
    server.stop().await;
}
