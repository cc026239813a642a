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
            "mutation { submit(input: {idempotencyKey: \"full-1\", json: {type: \"receive_inventory\", location: \"WH1\", sku: \"SKU-A\", qty: 1}}) { lastSeq } }",
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
    assert_eq!(data["head"]["seq"], json!(head.to_string()));
    server.stop().await;
}

/// A store whose journal lost acknowledged batches (cut as fjall's recovery cuts a damaged
/// journal): the server starts, answers queries over what is left, refuses every mutation with
/// `INTEGRITY_FAILED`, and `/readyz` says why.
#[tokio::test]
async fn a_log_short_of_its_high_water_mark_refuses_writes_and_readyz_says_why() {
    let projections: Vec<Arc<dyn tally_projections::Projection>> = vec![Arc::new(EventCount)];
    let server = TestServer::start().await;
    server.master_data().await;
    let acknowledged = server.head();
    let dir = server.stop_and_keep().await;
    let journal = std::fs::read_dir(dir.path().join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jnl"))
        .unwrap();
    let bytes = std::fs::read(&journal).unwrap();
    let used = bytes.iter().rposition(|b| *b != 0).unwrap() + 1;
    std::fs::write(&journal, &bytes[..used / 2]).unwrap();

    let engine = Engine::open(dir.path(), EngineConfig::default(), projections.clone()).unwrap();
    let left = engine.log().head().seq;
    assert!(left < acknowledged, "the cut lost events: {left} of {acknowledged}");
    let server = TestServer::serve(engine, projections, ApiConfig::default(), dir).await;
    let answer = server
        .gql_as(
            Some(&token(Role::Admin)),
            "mutation { submit(input: {idempotencyKey: \"after-cut\", json: {type: \"receive_inventory\", location: \"WH1\", sku: \"SKU-A\", qty: 1}}) { lastSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(first_code(&answer), "INTEGRITY_FAILED", "{answer:#}");
    assert_eq!(server.head(), left, "nothing appended, no seq reused");
    let ready = server.client.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    let reason = ready["reason"].as_str().unwrap();
    assert!(reason.contains("refuses writes") && reason.contains("high-water mark"), "{reason}");
    assert!(reason.contains(&format!("records seq {acknowledged}")), "{reason}");
    let data = server.gql("{ head { seq } }", json!({})).await;
    assert_eq!(data["head"]["seq"], json!(left.to_string()));
    server.stop().await;
}
