//! `POST /intake/shopify/{channel}`: signed Shopify order webhooks, end to end through the
//! engine: the signature is checked, the order is translated and submitted, a redelivery
//! appends nothing, an update appends only what changed, and a bad signature is 401.

use base64::Engine as _;
use serde_json::{Value, json};
use tally_api::ApiConfig;
use tally_api::shopify_webhook::{WebhookSecrets, hmac_sha256};

use crate::support::TestServer;

const SECRET: &str = "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";

fn fixture(name: &str) -> Vec<u8> {
    let path =
        format!("{}/../tally-intake/tests/fixtures/shopify/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sign(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), body))
}

async fn start() -> TestServer {
    let config = ApiConfig {
        shopify_webhook_secrets: WebhookSecrets::new().with("shopify-us", SECRET),
        ..ApiConfig::default()
    };
    let server = TestServer::start_with(config).await;
    for (key, command) in [
        (
            "md-ch",
            json!({"type": "define_channel", "channel": "shopify-us", "priority": "standard", "kind": "direct", "currency": "USD"}),
        ),
        (
            "md-wh",
            json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["shopify-us"]}),
        ),
        (
            "md-tee",
            json!({"type": "define_sku", "sku": "TEE-BLK-M", "lot_tracked": false, "unit_cost": {"amount": "12.00", "currency": "USD"}, "abc": "A"}),
        ),
        (
            "md-mug",
            json!({"type": "define_sku", "sku": "MUG-CER-12", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}),
        ),
        (
            "rcv-tee",
            json!({"type": "receive_inventory", "location": "WH1", "sku": "TEE-BLK-M", "qty": 10}),
        ),
    ] {
        server.submit(key, command).await;
    }
    server
}

async fn deliver(
    server: &TestServer,
    channel: &str,
    topic: &str,
    webhook_id: &str,
    body: &[u8],
    signature: Option<String>,
) -> (u16, Value) {
    let mut request = server
        .client
        .post(format!("{}/intake/shopify/{channel}", server.base))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-shop-domain", "tally-test.myshopify.com")
        .header("x-shopify-webhook-id", webhook_id)
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-shopify-hmac-sha256", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn outcomes(answer: &Value) -> Vec<(String, String)> {
    answer["records"][0]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["command"].as_str().unwrap().to_owned(), c["outcome"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_signed_order_webhook_is_imported_once_and_its_updates_append_only_what_changed() {
    let server = start().await;
    let create = fixture("order_1012_create.json");
    let (status, answer) = deliver(
        &server,
        "shopify-us",
        "orders/create",
        "w-1",
        &create,
        Some(sign(SECRET, &create)),
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(outcomes(&answer), [("receive_order".to_owned(), "appended".to_owned())]);
    assert_eq!(answer["records"][0]["source_id"], "5580000001");
    assert_eq!(answer["webhook_id"], "w-1");
    assert!(answer["appended_events"].as_u64().unwrap() >= 1);

    // Shopify redelivers the same webhook: nothing is appended.
    let head = server.head();
    let (status, answer) = deliver(
        &server,
        "shopify-us",
        "orders/create",
        "w-1",
        &create,
        Some(sign(SECRET, &create)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(outcomes(&answer), [("receive_order".to_owned(), "duplicate".to_owned())]);
    assert_eq!(answer["appended_events"], 0);
    assert_eq!(server.head(), head, "a redelivery appends nothing");

    // orders/updated once paid: only the capture is new.
    let paid = fixture("order_1012_updated_paid.json");
    let (status, answer) =
        deliver(&server, "shopify-us", "orders/updated", "w-2", &paid, Some(sign(SECRET, &paid)))
            .await;
    assert_eq!(status, 200);
    assert_eq!(
        outcomes(&answer),
        [
            ("receive_order".to_owned(), "duplicate".to_owned()),
            ("capture_payment".to_owned(), "appended".to_owned())
        ]
    );
    let after_paid = server.head();
    let (_, answer) =
        deliver(&server, "shopify-us", "orders/paid", "w-3", &paid, Some(sign(SECRET, &paid)))
            .await;
    assert_eq!(answer["appended_events"], 0, "{answer:#}");
    assert_eq!(server.head(), after_paid);

    // A refund of a unit the ledger has not shipped is refused with its reason; the answer is
    // still 200 (a retry cannot fix it) and names the order.
    let refunded = fixture("order_1012_updated_refunded.json");
    let (status, answer) = deliver(
        &server,
        "shopify-us",
        "orders/updated",
        "w-4",
        &refunded,
        Some(sign(SECRET, &refunded)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["records"][0]["status"], "rejected");
    assert_eq!(answer["records"][0]["code"], "EXCEEDS_OUTSTANDING");
    assert!(answer["records"][0]["message"].as_str().unwrap().contains("5580000001"));
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_sku_refuses_its_order_and_the_other_imports() {
    let server = start().await;
    let body = fixture("orders_unknown_sku.json");
    let (status, answer) =
        deliver(&server, "shopify-us", "orders/create", "w-9", &body, Some(sign(SECRET, &body)))
            .await;
    assert_eq!(status, 200, "{answer:#}");
    let records = answer["records"].as_array().unwrap();
    assert_eq!(records[0]["status"], "accepted");
    assert_eq!(records[1]["source_id"], "5590000002");
    assert_eq!(records[1]["code"], "UNKNOWN_SKU");
    let message = records[1]["message"].as_str().unwrap();
    assert!(message.contains("5590000002") && message.contains("GHOST-404"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_401_and_an_unconfigured_channel_404() {
    let server = start().await;
    let body = fixture("order_1012_create.json");
    let head = server.head();
    for signature in [
        None,
        Some(sign("another-secret", &body)),
        Some(sign(SECRET, b"{\"id\": 1}")),
        Some("not base64!".to_owned()),
    ] {
        let (status, answer) =
            deliver(&server, "shopify-us", "orders/create", "w-x", &body, signature).await;
        assert_eq!(status, 401, "{answer:#}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let (status, answer) =
        deliver(&server, "elsewhere", "orders/create", "w-y", &body, Some(sign(SECRET, &body)))
            .await;
    assert_eq!(status, 404);
    assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // A signed body that is not an order: 400, typed.
    let junk = b"<html>not json</html>";
    let (status, answer) =
        deliver(&server, "shopify-us", "orders/create", "w-z", junk, Some(sign(SECRET, junk)))
            .await;
    assert_eq!(status, 400);
    assert_eq!(answer["errors"][0]["extensions"]["code"], "INVALID_INPUT");
    // Another topic is acknowledged and ignored.
    let (status, answer) =
        deliver(&server, "shopify-us", "products/update", "w-p", &body, Some(sign(SECRET, &body)))
            .await;
    assert_eq!((status, answer["ignored"].clone()), (200, json!(true)));
    assert_eq!(server.head(), head, "nothing appended");
    server.stop().await;
}

/// Issue #15: `orders/updated` after an order edit (a line removed, two added, a new
/// ship-to) amends the received order instead of being refused as a duplicate; its
/// redelivery, and the creation delivered late, append nothing.
#[tokio::test]
async fn an_order_edit_webhook_amends_the_order_once() {
    let server = start().await;
    server
        .submit(
            "md-tee-wht",
            json!({"type": "define_sku", "sku": "TEE-WHT-M", "lot_tracked": false, "unit_cost": {"amount": "12.00", "currency": "USD"}, "abc": "A"}),
        )
        .await;
    server
        .submit(
            "rcv-tee-wht",
            json!({"type": "receive_inventory", "location": "WH1", "sku": "TEE-WHT-M", "qty": 10}),
        )
        .await;
    let create = fixture("order_1012_create.json");
    let (status, answer) = deliver(
        &server,
        "shopify-us",
        "orders/create",
        "e-1",
        &create,
        Some(sign(SECRET, &create)),
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(outcomes(&answer), [("receive_order".to_owned(), "appended".to_owned())]);

    let edited = fixture("order_1012_edited.json");
    let (status, answer) = deliver(
        &server,
        "shopify-us",
        "orders/updated",
        "e-2",
        &edited,
        Some(sign(SECRET, &edited)),
    )
    .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(outcomes(&answer), [("receive_order".to_owned(), "appended".to_owned())]);
    assert_eq!(answer["records"][0]["status"], "accepted", "{answer:#}");
    assert!(answer["appended_events"].as_u64().unwrap() >= 1);

    let head = server.head();
    for (id, topic, body) in [("e-2", "orders/updated", &edited), ("e-1", "orders/create", &create)]
    {
        let (status, answer) =
            deliver(&server, "shopify-us", topic, id, body, Some(sign(SECRET, body))).await;
        assert_eq!(status, 200);
        assert_eq!(outcomes(&answer), [("receive_order".to_owned(), "duplicate".to_owned())]);
        assert_eq!(answer["appended_events"], 0);
    }
    assert_eq!(server.head(), head, "nothing appended");
    server.stop().await;
}
