//! Webhook administration through GraphQL: add, list, pause, dead letters, replay, remove,
//! with the outbox's errors as codes.

use crate::support::{TestServer, first_code, token};
use serde_json::json;
use std::sync::Arc;
use tally_api::Role;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn server_with_outbox() -> TestServer {
    let server = TestServer::start_with_views().await;
    let config = tally_outbox::WebhooksConfig {
        delivery: tally_outbox::Delivery {
            backoff_initial_ms: 60_000,
            backoff_max_ms: 60_000,
            ..Default::default()
        },
        endpoints: vec![
            tally_outbox::EndpointText {
                name: "from-file".to_owned(),
                url: "http://127.0.0.1:9/hooks".to_owned(),
                types: vec!["order.*".to_owned()],
                channels: vec![],
                skus: vec![],
                secret: SECRET.to_owned(),
                start: tally_outbox::Start::Head,
                ca_file: None,
            }
            .into_spec(tally_outbox::Origin::Config)
            .unwrap(),
        ],
    };
    let outbox = tally_outbox::Outbox::start(
        server.dir(),
        config,
        server.state.log().clone(),
        server.state.engine().views().clone(),
        Arc::new(tally_outbox::SystemClock),
    )
    .unwrap();
    server.state.set_outbox(outbox);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_administered_through_graphql() {
    let server = server_with_outbox().await;
    let admin = token(Role::Admin);
    let add = "mutation($input: AddWebhookEndpointInput!) { addWebhookEndpoint(input: $input) { secret endpoint { name origin paused cursor types } } }";
    let input = json!({"input": {"name": "erp", "url": "http://127.0.0.1:9/erp", "types": ["order.*", "ats.changed"], "channels": ["web"]}});
    let answer = server.gql_as(Some(&admin), add, input.clone()).await;
    let added = &answer["data"]["addWebhookEndpoint"];
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"), "{answer:#}");
    assert_eq!(added["endpoint"]["origin"], "API");
    assert_eq!(added["endpoint"]["types"], json!(["order.*", "ats.changed"]));
    // The same name again, a bad type pattern, a non-http URL: INVALID_INPUT with the reason.
    assert_eq!(first_code(&server.gql_as(Some(&admin), add, input).await), "INVALID_INPUT");
    let bad = json!({"input": {"name": "x", "url": "http://h/", "types": ["ordr.*"]}});
    let answer = server.gql_as(Some(&admin), add, bad).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT");
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("matches no event type"));
    let ftp = json!({"input": {"name": "x", "url": "ftp://h/", "types": ["*"], "secret": SECRET}});
    assert_eq!(first_code(&server.gql_as(Some(&admin), add, ftp).await), "INVALID_INPUT");
    // A caFile that cannot be read, or one on a plain http:// URL.
    for (url, ca, reason) in [
        ("https://h/", "missing-ca.pem", "ca_file 'missing-ca.pem': cannot read"),
        ("http://h/", "missing-ca.pem", "ca_file is set but url 'http://h/' is not https://"),
    ] {
        let input = json!({"input": {"name": "x", "url": url, "caFile": ca, "types": ["*"]}});
        let answer = server.gql_as(Some(&admin), add, input).await;
        assert_eq!(first_code(&answer), "INVALID_INPUT", "{answer:#}");
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains(reason), "{answer:#}");
    }

    let list = "{ webhookEndpoints { name origin paused lag deadLetters } }";
    let answer = server.gql_as(Some(&admin), list, json!({})).await;
    let names: Vec<&str> = answer["data"]["webhookEndpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["erp", "from-file"]);

    let pause = "mutation($n: String!) { pauseWebhookEndpoint(name: $n) { name paused } }";
    let answer = server.gql_as(Some(&admin), pause, json!({"n": "erp"})).await;
    assert_eq!(answer["data"]["pauseWebhookEndpoint"]["paused"], true, "{answer:#}");
    let resume =
        "mutation($n: String!) { pauseWebhookEndpoint(name: $n, paused: false) { paused } }";
    let answer = server.gql_as(Some(&admin), resume, json!({"n": "erp"})).await;
    assert_eq!(answer["data"]["pauseWebhookEndpoint"]["paused"], false);

    let dead = "{ webhookDeadLetters(endpoint: \"erp\") { messageId } }";
    assert_eq!(
        server.gql_as(Some(&admin), dead, json!({})).await["data"]["webhookDeadLetters"],
        json!([])
    );
    let replay = "mutation { replayWebhookDeadLetters(endpoint: \"erp\") { queued } }";
    assert_eq!(
        server.gql_as(Some(&admin), replay, json!({})).await["data"]["replayWebhookDeadLetters"]["queued"],
        "0"
    );
    let nope = "{ webhookDeadLetters(endpoint: \"nope\") { messageId } }";
    assert_eq!(first_code(&server.gql_as(Some(&admin), nope, json!({})).await), "NOT_FOUND");

    let remove = "mutation($n: String!) { removeWebhookEndpoint(name: $n) { name } }";
    let answer = server.gql_as(Some(&admin), remove, json!({"n": "from-file"})).await;
    assert_eq!(first_code(&answer), "INVALID_INPUT", "a file's endpoint is removed in the file");
    let answer = server.gql_as(Some(&admin), remove, json!({"n": "erp"})).await;
    assert_eq!(answer["data"]["removeWebhookEndpoint"]["name"], "erp");
    let answer = server.gql_as(Some(&admin), list, json!({})).await;
    assert_eq!(answer["data"]["webhookEndpoints"].as_array().unwrap().len(), 1);
    // An operator sees none of it.
    let answer = server.gql_as(Some(&token(Role::Operator)), list, json!({})).await;
    assert_eq!(first_code(&answer), "FORBIDDEN");
    server.state.outbox().unwrap().shutdown().await;
    server.stop().await;
}
