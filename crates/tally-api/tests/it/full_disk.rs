//! A full disk over GraphQL (injected ENOSPC, feature `fault-injection` of tally-log): a
//! mutation answers `STORAGE_FAILED`, `/readyz` says why it is not ready, queries keep working.

use crate::support::{EventCount, TestServer, first_code, token};
use serde_json::{Value, json};
use std::sync::Arc;
use tally_api::{ApiConfig, Role};
use tally_engine::{Engine, EngineConfig};
use tally_log::FaultInjector;

#[tokio::test]
async fn a_full_disk_answers_storage_failed_and_readyz_fails_while_reads_work() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultInjector::default();
    let mut config = EngineConfig::default();
    config.log.faults = faults.clone();
    let projections: Vec<Arc<dyn tally_projections::Projection>> = vec![Arc::new(EventCount)];
    let engine = Engine::open(dir.path(), config, projections.clone()).unwrap();
    let server = TestServer::serve(engine, projections, ApiConfig::default(), dir).await;
    server.master_data().await;
    let head = server.head();

    faults.fail_commits(true);
    let answer = server
        .gql_as(
            Some(&token(Role::Admin)),
            "mutation { submit(input: {idempotencyKey: \"full-1\", command: {type: \"receive_inventory\", location: \"WH1\", sku: \"SKU-A\", qty: 1}}) { lastSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(first_code(&answer), "STORAGE_FAILED", "{answer:#}");
    assert!(answer["data"].is_null() || answer["data"]["submit"].is_null(), "{answer:#}");
    assert_eq!(server.head(), head, "nothing was acknowledged");

    let ready = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], false);
    assert!(ready["reason"].as_str().unwrap().contains("storage failure"), "{ready}");

    let data = server.gql("{ head { seq } }", json!({})).await;
    assert_eq!(data["head"]["seq"], json!(head));
    server.stop().await;
}
