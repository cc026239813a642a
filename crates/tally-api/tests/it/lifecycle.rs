//! Graceful shutdown, durability of what was acknowledged, as-of view reads, token files.

use crate::support::{EventCount, TestServer, token};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tally_api::schema::views::{AsOf, read_view};
use tally_api::{ApiConfig, AuthConfig, Role};
use tally_engine::{Engine, EngineConfig};
use tally_projections::Projection;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

#[tokio::test]
async fn shutdown_ends_subscriptions_and_everything_acknowledged_is_durable() {
    let mut server = TestServer::start().await;
    server.master_data().await;
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", token(Role::Auditor))}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { seq } }"}});
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    let acknowledged = server.head();

    server.begin_stop();
    // The subscription completes, or the server drops the connection, once shutdown begins;
    // only a socket still open after the bound is a failure.
    let mut completed = false;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        let Ok(next) = next else { break };
        completed = match next {
            Some(Ok(Message::Text(text))) => text.contains("\"complete\""),
            Some(Ok(Message::Close(_)) | Err(_)) | None => true,
            Some(Ok(_)) => false,
        };
        if completed {
            break;
        }
    }
    assert!(completed, "the subscription did not end at shutdown");
    drop(socket);
    let dir = server.stop_and_keep().await;

    // Reopen: every acknowledged event is there and the store verifies.
    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(EventCount)];
    let engine = Engine::open(dir.path(), EngineConfig::default(), projections).unwrap();
    assert_eq!(engine.log().head().seq, acknowledged);
    engine.log().verify(tally_log::VerifyOptions::full()).unwrap();
    tokio::task::spawn_blocking(move || engine.close()).await.unwrap();
}

#[tokio::test]
async fn a_view_read_as_of_an_earlier_seq_reads_it_as_it_was_then() {
    let server = TestServer::start().await;
    server.master_data().await;
    let head = server.head();
    server.state.engine().wait_for_views(head, Duration::from_secs(10)).await.unwrap();
    let count = |read: &tally_api::schema::views::ViewRead| {
        read.reader.get_raw(b"count").unwrap().map(|v| u64::from_be_bytes(v.try_into().unwrap()))
    };
    let live = read_view(&server.state, "event_count", None).await.unwrap();
    assert_eq!(live.meta.seq.0, head);
    assert_eq!(count(&live), Some(head));
    let as_of = AsOf { seq: Some(2.into()), ..AsOf::default() };
    let earlier = read_view(&server.state, "event_count", Some(as_of)).await.unwrap();
    assert_eq!(earlier.meta.seq.0, 2);
    assert_eq!(count(&earlier), Some(2));
    let unknown = read_view(&server.state, "nope", None).await.unwrap_err();
    assert_eq!(unknown.code, "NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn subscriptions_per_connection_are_limited() {
    let config = ApiConfig { subscriptions_per_connection_max: 1, ..ApiConfig::default() };
    let server = TestServer::start_with(config).await;
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", token(Role::Admin))}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    for id in ["1", "2"] {
        let subscribe = json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { events { seq } }"}});
        socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    }
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else { continue };
        if text.contains("connection_ack") {
            continue;
        }
        // One of the two (whichever the server polled second) is refused; the other runs.
        assert!(text.contains("LIMIT_EXCEEDED"), "{text}");
        break;
    }
    drop(socket);
    server.stop().await;
}

#[test]
fn token_files_and_environment_values_keep_only_hashes() {
    let toml = format!(
        "[[tokens]]\nname = \"ops\"\nrole = \"operator\"\nblake3 = \"{}\"\n",
        AuthConfig::hash_token("s3cret")
    );
    let config = AuthConfig::from_toml_str(&toml).unwrap();
    assert_eq!(config.authenticate("s3cret").unwrap().role, Role::Operator);
    assert!(config.authenticate("s3cret ").is_none());
    assert!(!toml.contains("s3cret"));

    let json = format!(
        r#"{{"tokens": [{{"name": "audit", "role": "auditor", "blake3": "{}"}}]}}"#,
        AuthConfig::hash_token("a")
    );
    let config = AuthConfig::from_json_str(&json).unwrap();
    assert_eq!(config.authenticate("a").unwrap().name, "audit");

    let config = AuthConfig::from_env_value("dash:viewer:v1, fin:finance:f:1").unwrap();
    assert_eq!(config.authenticate("v1").unwrap().role, Role::Viewer);
    assert_eq!(config.authenticate("f:1").unwrap().role, Role::Finance);
    assert!(AuthConfig::from_env_value("x:root:t").is_err());
    assert!(
        AuthConfig::from_toml_str("[[tokens]]\nname = \"x\"\nrole = \"admin\"\nblake3 = \"zz\"\n")
            .is_err()
    );

    let auth = config.resolve(Some("Bearer v1"));
    assert!(auth.check("Query.head").is_ok());
    assert_eq!(auth.check("Query.verify").unwrap_err().code, "FORBIDDEN");
    assert_eq!(config.resolve(None).check("Query.head").unwrap_err().code, "UNAUTHENTICATED");
    assert_eq!(
        config.resolve(Some("Basic abc")).check("Query.head").unwrap_err().code,
        "UNAUTHENTICATED"
    );
}

/// Version 2 of the counting projection: counts each event twice (a changed projection whose
/// stored state differs from what version 1 built).
#[derive(Debug)]
struct EventCountV2;

impl Projection for EventCountV2 {
    fn name(&self) -> &'static str {
        "event_count"
    }
    fn version(&self) -> u32 {
        2
    }
    fn apply(
        &self,
        tx: &mut tally_projections::Tx<'_>,
        _event: &tally_projections::Applied<'_>,
    ) -> Result<(), tally_projections::ApplyError> {
        let n = tx.get_raw(b"count")?.and_then(|v| v.try_into().ok()).map_or(0, u64::from_be_bytes);
        tx.put_raw(b"count".to_vec(), (n + 2).to_be_bytes().to_vec());
        Ok(())
    }
}

/// A new binary with a changed projection: the server rebuilds that view online at start, with
/// no manual step, and its answers then come from the new version; a restart does not rebuild
/// it again.
#[tokio::test]
async fn an_upgraded_projection_is_rebuilt_online_at_start() {
    let server = TestServer::start().await;
    server.master_data().await;
    let head = server.head();
    server.state.engine().wait_for_views(head, Duration::from_secs(10)).await.unwrap();
    assert_eq!(server.state.engine().views().stale().unwrap(), vec![]);
    let dir = server.stop_and_keep().await;

    let count = |state: &tally_api::AppState| {
        let reader = state.engine().views().reader("event_count").unwrap();
        reader.get_raw(b"count").unwrap().map(|v| u64::from_be_bytes(v.try_into().unwrap()))
    };
    let projections: Vec<Arc<dyn Projection>> = vec![Arc::new(EventCountV2)];
    let engine = Engine::open(dir.path(), EngineConfig::default(), projections.clone()).unwrap();
    let stale = engine.views().stale().unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].0, "event_count");
    assert!(stale[0].1.contains("version 1") && stale[0].1.contains("has 2"), "{stale:?}");
    let server = TestServer::serve(engine, projections.clone(), ApiConfig::default(), dir).await;
    // Until the new generation is swapped in, the old one answers: version 1's count.
    let status = "{ views { views { name rebuild { running generation error } } } }";
    let mut done = serde_json::Value::Null;
    for _ in 0..200 {
        let data = server.gql(status, json!({})).await;
        let view = data["views"]["views"][0]["rebuild"].clone();
        if view["running"] == json!(false) {
            done = view;
            break;
        }
        let answered = count(&server.state).unwrap();
        assert!(answered == head || answered == 2 * head, "{answered}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(done, json!({"running": false, "generation": "1", "error": null}));
    assert_eq!(count(&server.state), Some(2 * head), "answers come from version 2");
    assert_eq!(server.state.engine().views().stale().unwrap(), vec![]);
    let dir = server.stop_and_keep().await;

    // Restarted with the same binary: nothing to rebuild.
    let engine = Engine::open(dir.path(), EngineConfig::default(), projections).unwrap();
    assert_eq!(engine.views().stale().unwrap(), vec![]);
    tokio::task::spawn_blocking(move || engine.close()).await.unwrap();
}
