//! graphql-ws over a real WebSocket: a subscriber receives a new event; auth on connection_init.

use crate::support::{TestServer, token};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::time::Duration;
use tally_api::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, token: Option<&str>) -> Socket {
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let payload = match token {
        Some(t) => json!({"authorization": format!("Bearer {t}")}),
        None => json!({}),
    };
    send(&mut socket, json!({"type": "connection_init", "payload": payload})).await;
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON text message (pings answered), within a bound.
async fn next_json(socket: &mut Socket) -> Value {
    let deadline = Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await
            .expect("no message within the timeout")
            .expect("socket closed")
            .unwrap();
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ping" {
                    send(socket, json!({"type": "pong"})).await;
                    continue;
                }
                return value;
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    send(socket, json!({"id": id, "type": "subscribe", "payload": {"query": query}})).await;
}

#[tokio::test]
async fn a_subscriber_receives_new_events_filtered_by_type_and_sku() {
    let server = TestServer::start().await;
    server.master_data().await;
    let mut socket = connect(&server, Some(&token(Role::Operator))).await;
    // `afterSeq` pins where the subscriptions start, so the order of subscribe and submit
    // does not matter.
    let after = server.head();
    subscribe(
        &mut socket,
        "1",
        &format!("subscription {{ events(types: [INVENTORY_RECEIVED], streamPrefix: \"inventory:\", afterSeq: {after}) {{ seq type stream }} }}"),
    )
    .await;
    subscribe(
        &mut socket,
        "2",
        &format!("subscription {{ atsChanged(sku: \"SKU-A\", afterSeq: {after}) {{ seq type }} }}"),
    )
    .await;
    // Events that must be filtered out, then the one both wait for.
    server
        .submit("ws-ch", json!({"type": "define_channel", "channel": "b2b", "priority": "contract", "kind": "wholesale", "currency": "USD"}))
        .await;
    let receipt = server
        .submit(
            "ws-rcv",
            json!({"type": "receive_inventory", "location": "WH1", "sku": "SKU-A", "qty": 1}),
        )
        .await;
    let seq = receipt["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "INVENTORY_RECEIVED")
        .unwrap()["seq"]
        .clone();
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let message = next_json(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        let id = message["id"].as_str().unwrap().to_owned();
        let data = &message["payload"]["data"];
        let node = if id == "1" { &data["events"] } else { &data["atsChanged"] };
        assert_eq!(crate::support::u64_of(&node["seq"]), crate::support::u64_of(&seq), "{message}");
        assert_eq!(node["type"], "INVENTORY_RECEIVED");
        seen.insert(id, node.clone());
    }
    assert_eq!(seen["1"]["stream"], "inventory:WH1:SKU-A");
    send(&mut socket, json!({"id": "1", "type": "complete"})).await;
    drop(socket);
    server.stop().await;
}

#[tokio::test]
async fn websocket_auth_is_checked() {
    let server = TestServer::start().await;
    // No token: the connection opens, the subscription is refused.
    let mut socket = connect(&server, None).await;
    subscribe(&mut socket, "1", "subscription { events { seq } }").await;
    let answer = next_json(&mut socket).await;
    let text = answer.to_string();
    assert!(text.contains("UNAUTHENTICATED"), "{answer}");
    // A viewer may not tail the raw log.
    let mut socket = connect(&server, Some(&token(Role::Viewer))).await;
    subscribe(&mut socket, "1", "subscription { events { seq } }").await;
    let answer = next_json(&mut socket).await;
    assert!(answer.to_string().contains("FORBIDDEN"), "{answer}");
    // A wrong token is refused at connection_init.
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"authorization": "Bearer wrong"}}),
    )
    .await;
    let refused = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap();
    match refused {
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {}
        Some(Ok(Message::Text(text))) => assert!(!text.contains("connection_ack"), "{text}"),
        Some(Ok(other)) => panic!("unexpected {other:?}"),
    }
    server.stop().await;
}

/// A misspelt event type would never fire: it is refused by validation (`EventType` is an
/// enum).
#[tokio::test]
async fn an_unknown_event_type_filter_is_an_error_not_a_silent_stream() {
    let server = TestServer::start().await;
    let mut socket = connect(&server, Some(&token(Role::Operator))).await;
    subscribe(&mut socket, "1", "subscription { events(types: [STOCK_RECEIVED]) { seq } }").await;
    let answer = next_json(&mut socket).await;
    // The field's error arrives in the first message, with no data.
    assert!(answer["payload"]["data"].is_null(), "{answer}");
    let text = answer.to_string();
    assert!(text.contains("INVALID_INPUT") && text.contains("STOCK_RECEIVED"), "{answer}");
    assert!(text.contains("EventType"), "the enum is named: {answer}");
    drop(socket);
    server.stop().await;
}
