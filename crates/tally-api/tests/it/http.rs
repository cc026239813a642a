//! Routes, the order scenario through typed mutations, log and audit queries, idempotency.

use crate::support::{TestServer, first_code, token, u64_of, user_code};
use serde_json::{Value, json};
use tally_api::{ApiConfig, Role};

const ENVELOPE_MUTATIONS: &str = r#"
mutation Setup($placedAt: DateTime!) {
  safety: setSafetyStock(envelope: {idempotencyKey: "ss-1"}, input: {location: "WH1", sku: "SKU-A", qty: 2}) { lastSeq }
  receive: receiveInventory(envelope: {idempotencyKey: "rcv-1", source: "wms/WH1"}, input: {location: "WH1", sku: "SKU-A", qty: 10}) { lastSeq events { type stream } }
  order: receiveOrder(envelope: {idempotencyKey: "ord-W1"}, input: {
    order: "W1", channel: "edi", placedAt: $placedAt, currencyCode: USD,
    lines: [{sku: "SKU-A", qty: 6, unitPrice: {amount: "50.00", currencyCode: USD}}],
    shipping: {amount: "0.00", currencyCode: USD}, taxRate: "0"}) { lastSeq }
  validate: validateOrder(envelope: {idempotencyKey: "val-W1"}, input: {order: "W1"}) { lastSeq }
  allocate: allocateOrder(envelope: {idempotencyKey: "alloc-W1"}, input: {order: "W1"}, waitForViews: true) {
    firstSeq lastSeq viewsSeq viewsCaughtUp events { seq stream type } }
}"#;

#[tokio::test]
async fn health_ready_metrics_and_graphiql_respond() {
    let server = TestServer::start().await;
    let get = |path: &str| server.client.get(format!("{}{path}", server.base)).send();
    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true);
    let graphiql = get("/graphql").await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().to_lowercase().contains("graphiql"));

    server.master_data().await;
    let rejected = server
        .gql_as(
            Some(&token(Role::Operator)),
            "mutation { submit(input: {idempotencyKey: \"m-rej\", source: \"shop/web\", json: {type: \"receive_inventory\", location: \"WH1\", sku: \"NOPE\", qty: 1}}) { lastSeq userErrors { field code message } } }",
            json!({}),
        )
        .await;
    let payload = &rejected["data"]["submit"];
    assert_eq!(user_code(payload), "UNKNOWN_SKU");
    assert_eq!(payload["userErrors"][0]["field"], json!(["input"]));
    assert!(payload["userErrors"][0]["message"].as_str().unwrap().contains("NOPE"));
    assert_eq!(payload["lastSeq"], Value::Null);
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    for name in [
        "tally_log_head_seq",
        "tally_projection_lag_events",
        "tally_append_latency_seconds",
        "tally_command_events",
        "tally_engine_submissions",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    assert!(
        text.lines().any(|l| l.starts_with("tally_rejections_total")
            && l.contains("code=\"UNKNOWN_SKU\"")
            && l.contains("source=\"shop/web\"")),
        "rejections by code and source missing:\n{text}"
    );

    // Once shutdown begins, the server is no longer ready.
    server.state.begin_shutdown();
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    server.stop().await;
}

#[tokio::test]
async fn order_scenario_through_typed_mutations_then_log_and_audit_queries() {
    let server = TestServer::start().await;
    server.master_data().await;
    let data = server.gql(ENVELOPE_MUTATIONS, json!({"placedAt": "2026-03-01T10:00:00Z"})).await;
    assert_eq!(data["receive"]["events"][0]["type"], "INVENTORY_RECEIVED");
    assert_eq!(data["receive"]["events"][0]["stream"], "inventory:WH1:SKU-A");
    let allocate = &data["allocate"];
    let last = u64_of(&allocate["lastSeq"]);
    assert!(
        allocate["events"].as_array().unwrap().iter().any(|e| e["type"] == "ORDER_LINE_ALLOCATED")
    );
    assert_eq!(allocate["viewsCaughtUp"], true);
    assert!(u64_of(&allocate["viewsSeq"]) >= last);
    assert_eq!(server.head(), last);

    // head, and the whole log in pages of 3
    let head = server.gql("{ head { seq hash recordedAt } }", json!({})).await;
    assert_eq!(crate::support::u64_of(&head["head"]["seq"]), last);
    assert_eq!(head["head"]["hash"].as_str().unwrap().len(), 64);
    let mut seqs = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = server
            .gql(
                "query($after: String) { events(first: 3, after: $after) { edges { cursor node { seq type stream id payload } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let events = &page["events"];
        for edge in events["edges"].as_array().unwrap() {
            seqs.push(crate::support::u64_of(&edge["node"]["seq"]));
            assert!(edge["node"]["payload"].is_object());
        }
        if events["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(events["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());

    // a range, a stream, an event by id
    let range = server
        .gql("{ events(filter: {fromSeq: 2, toSeq: 3}) { edges { node { seq } } } }", json!({}))
        .await;
    assert_eq!(range["events"]["edges"].as_array().unwrap().len(), 2);
    let stream = server
        .gql("{ stream(stream: \"order:W1\", first: 10) { edges { node { seq streamVersion type id } } } }", json!({}))
        .await;
    let edges = stream["stream"]["edges"].as_array().unwrap();
    assert_eq!(edges[0]["node"]["type"], "ORDER_RECEIVED");
    assert_eq!(edges[0]["node"]["streamVersion"], "1");
    let id = edges[0]["node"]["id"].as_str().unwrap().to_owned();
    let by_id =
        server.gql("query($id: String!) { event(id: $id) { seq type } }", json!({"id": id})).await;
    assert_eq!(by_id["event"]["type"], "ORDER_RECEIVED");

    // verify, checkpoint, proofs, views meta
    let verify = server
        .gql("{ verify { ok framesChecked lastSeq root failure { code } } }", json!({}))
        .await;
    assert_eq!(verify["verify"]["ok"], true);
    assert_eq!(crate::support::u64_of(&verify["verify"]["lastSeq"]), last);
    let cut = server.gql("mutation { cutCheckpoint { size root text } }", json!({})).await;
    assert_eq!(crate::support::u64_of(&cut["cutCheckpoint"]["size"]), last);
    assert_eq!(cut["cutCheckpoint"]["root"], verify["verify"]["root"]);
    let latest = server
        .gql(
            "{ latestCheckpoint { size signatures { name } } checkpoints { nodes { size } } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::support::u64_of(&latest["latestCheckpoint"]["size"]), last);
    assert_eq!(latest["checkpoints"]["nodes"].as_array().unwrap().len(), 1);
    let proofs = server
        .gql(
            "query($seq: UnsignedInt64!, $size: UnsignedInt64!) { inclusionProof(seq: $seq, size: $size) { index size root path } consistencyProof(from: 2, to: $size) { oldSize newSize newRoot path } }",
            json!({"seq": 3, "size": last}),
        )
        .await;
    assert_eq!(proofs["inclusionProof"]["index"], "2");
    assert_eq!(proofs["inclusionProof"]["root"], verify["verify"]["root"]);
    assert_eq!(proofs["consistencyProof"]["newRoot"], verify["verify"]["root"]);
    let views = server
        .gql("{ views { meta { seq headSeq checkpoint { size } } views { name appliedSeq lagEvents quarantinedCount } } }", json!({}))
        .await;
    assert_eq!(views["views"]["views"][0]["name"], "event_count");
    assert_eq!(crate::support::u64_of(&views["views"]["meta"]["seq"]), last);
    assert_eq!(crate::support::u64_of(&views["views"]["meta"]["checkpoint"]["size"]), last);
    let stats = server
        .gql("{ submissionStats { meta { seq } rows { source commandType submitted rejected failureRate } } }", json!({}))
        .await;
    assert!(
        stats["submissionStats"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source"] == "wms/WH1")
    );

    // a proof past the head is bad input
    let beyond = server
        .gql_as(
            Some(&token(Role::Auditor)),
            "{ inclusionProof(seq: 1, size: 999) { root } }",
            json!({}),
        )
        .await;
    assert_eq!(first_code(&beyond), "INVALID_INPUT");
    server.stop().await;
}

#[tokio::test]
async fn idempotent_retry_returns_the_same_seqs_and_a_conflict_is_refused() {
    let server = TestServer::start().await;
    server.master_data().await;
    let receive = json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 5});
    let first = server.submit("retry-1", receive.clone()).await;
    let head = server.head();
    let again = server.submit("retry-1", receive).await;
    assert_eq!(first["deduplicated"], false);
    assert_eq!(again["deduplicated"], true);
    assert_eq!(again["events"], first["events"]);
    assert_eq!(again["lastSeq"], first["lastSeq"]);
    assert_eq!(server.head(), head);

    let other = json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 6});
    let conflict = server
        .gql_as(
            Some(&token(Role::Operator)),
            "mutation($input: SubmitInput!) { submit(input: $input) { lastSeq userErrors { field code } } }",
            json!({"input": {"idempotencyKey": "retry-1", "json": other}}),
        )
        .await;
    let payload = &conflict["data"]["submit"];
    assert_eq!(user_code(payload), "IDEMPOTENCY_CONFLICT");
    assert_eq!(payload["userErrors"][0]["field"], json!(["envelope", "idempotencyKey"]));
    assert_eq!(server.head(), head);
    server.stop().await;
}

#[tokio::test]
async fn submit_many_answers_each_item_and_enforces_its_limit() {
    let config = tally_api::ApiConfig { submit_many_commands_max: 4, ..Default::default() };
    let server = TestServer::start_with(config).await;
    server.master_data().await;
    let data = server
        .gql(
            "mutation($inputs: [SubmitInput!]!) { submitMany(inputs: $inputs, waitForViews: true) { lastSeq viewsCaughtUp userErrors { field code message } } }",
            json!({"inputs": [
                {"idempotencyKey": "m-1", "json": {"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 1}},
                {"idempotencyKey": "m-2", "json": {"type": "no_such_command"}},
                {"idempotencyKey": "m-3", "json": {"type": "receive_inventory", "location": "WH1", "sku": "NOPE", "qty": 1}},
                {"idempotencyKey": "m-4", "command": {"receiveInventory": {"location": "WH1", "sku": "SKU-A", "qty": 2}}},
            ]}),
        )
        .await;
    let items = data["submitMany"].as_array().unwrap();
    assert_eq!(items.len(), 4, "one payload per input, in input order");
    assert!(u64_of(&items[0]["lastSeq"]) > 0);
    assert_eq!(items[0]["viewsCaughtUp"], true);
    assert_eq!(items[0]["userErrors"], json!([]));
    assert_eq!(user_code(&items[1]), "INVALID_INPUT");
    assert_eq!(items[1]["userErrors"][0]["field"], json!(["inputs", "1", "json"]));
    assert_eq!(user_code(&items[2]), "UNKNOWN_SKU");
    assert_eq!(items[2]["userErrors"][0]["field"], json!(["inputs", "2"]));
    assert_eq!(items[2]["lastSeq"], Value::Null);
    // The typed form of an item is decided like its JSON form.
    assert!(u64_of(&items[3]["lastSeq"]) > u64_of(&items[0]["lastSeq"]));
    assert_eq!(items[3]["userErrors"], json!([]));

    let head = server.head();
    let input = json!({"idempotencyKey": "x", "json": {"type": "validate_order", "order": "A"}});
    let too_many = server
        .gql_as(
            Some(&token(Role::Admin)),
            "mutation($inputs: [SubmitInput!]!) { submitMany(inputs: $inputs) { lastSeq } }",
            json!({"inputs": [input.clone(), input.clone(), input.clone(), input.clone(), input]}),
        )
        .await;
    assert_eq!(first_code(&too_many), "LIMIT_EXCEEDED");
    assert_eq!(server.head(), head);
    server.stop().await;
}

/// A browser page on an allowed origin gets its preflight (204 with the CORS headers) and the
/// CORS header on the answer; any other origin gets 403 and no CORS header.
#[tokio::test]
async fn cors_preflight_answers_allowed_origins_only() {
    let config = ApiConfig {
        cors_origins: tally_api::cors::CorsOrigins::parse(&["https://ops.example.com"]).unwrap(),
        ..ApiConfig::default()
    };
    let server = TestServer::start_with(config).await;
    let url = format!("{}/graphql", server.base);
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://ops.example.com").await.unwrap();
    assert_eq!(allowed.status(), 204);
    let h = allowed.headers();
    assert_eq!(h["access-control-allow-origin"], "https://ops.example.com");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert_eq!(h["vary"], "Origin");

    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    let post = |origin: &'static str| {
        server
            .client
            .post(&url)
            .header("Origin", origin)
            .bearer_auth(token(Role::Viewer))
            .json(&json!({"query": "{ head { seq } }"}))
            .send()
    };
    let answer = post("https://ops.example.com").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], "https://ops.example.com");
    let other = post("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    server.stop().await;
}

/// Without an allow-list a cross-origin preflight is refused; a plain OPTIONS names the methods.
#[tokio::test]
async fn without_cors_origins_preflights_are_refused() {
    let server = TestServer::start().await;
    let url = format!("{}/graphql", server.base);
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "https://ops.example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    let plain = server.client.request(reqwest::Method::OPTIONS, &url).send().await.unwrap();
    assert_eq!(plain.status(), 204);
    assert_eq!(plain.headers()["allow"], "GET, POST, OPTIONS");
    server.stop().await;
}

/// The schema is shown to callers with a token; anonymous introspection is off by default and
/// can be turned on.
#[tokio::test]
async fn introspection_needs_a_token_unless_configured() {
    let query = "{ __schema { queryType { name } } }";
    let server = TestServer::start().await;
    let anonymous = server.gql_as(None, query, json!({})).await;
    assert_eq!(first_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    assert!(anonymous["data"].is_null(), "{anonymous}");
    let invalid = server.gql_as(Some("tly_not-a-token"), query, json!({})).await;
    assert_eq!(first_code(&invalid), "UNAUTHENTICATED", "{invalid}");
    // `__typename` is not introspection.
    let typename = server.gql_as(None, "{ __typename }", json!({})).await;
    assert_eq!(typename["data"]["__typename"], "Query", "{typename}");
    let viewer = server.gql_as(Some(&token(Role::Viewer)), query, json!({})).await;
    assert_eq!(viewer["data"]["__schema"]["queryType"]["name"], "Query", "{viewer}");
    server.stop().await;

    let open = ApiConfig { introspection_anonymous: true, ..ApiConfig::default() };
    let server = TestServer::start_with(open).await;
    let anonymous = server.gql_as(None, query, json!({})).await;
    assert_eq!(anonymous["data"]["__schema"]["queryType"]["name"], "Query", "{anonymous}");
    server.stop().await;
}
