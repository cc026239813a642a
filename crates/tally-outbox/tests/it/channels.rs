//! The channel filter on every kind of event (what "belongs to a channel" means:
//! `tally_outbox::filter::channel_scope`), and the body's form: `{type, timestamp, data}` with
//! the order digest as lowercase hex.

use crate::support::*;
use tally_outbox::Start;

const TYPES: &[&str] = &["channel.*", "location.*", "sku.*", "inventory.*", "order.*", "journal.*"];

/// What a delivery is about: its type and the channel, location or order it names.
fn label(r: &Received) -> String {
    let b = &r.body["data"]["body"];
    let subject = b["order"]
        .as_str()
        .or(b["id"].as_str())
        .or(b["key"]["location"].as_str())
        .or(b["from"]["location"].as_str())
        .or(b["sku"].as_str())
        .or(b["reference"]["stock"]["location"].as_str())
        .or(b["reference"]["order"].as_str())
        .unwrap_or("?");
    format!("{} {subject}", r.event_type())
}

/// WH1 ships for web and b2b, WH2 for b2b, WH3 for web. A web endpoint gets web's channel
/// definition, the definitions of and stock moves at WH1 and WH3, the transfer from WH2 to
/// WH3 (it ends at a web location), the journal entries of receipts at its locations and
/// web's orders; b2b's endpoint the mirror image. SKU definitions belong to no channel. An endpoint without a filter gets everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_filter_covers_channel_location_and_stock_events() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let (web, b2b, all) =
        (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    let mut web_spec = endpoint("web", &web.url, TYPES, Start::Earliest);
    web_spec.channels = vec!["web".to_owned()];
    let mut b2b_spec = endpoint("b2b", &b2b.url, TYPES, Start::Earliest);
    b2b_spec.channels = vec!["b2b".to_owned()];
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![web_spec, b2b_spec, endpoint("all", &all.url, TYPES, Start::Earliest)],
    );
    seed(&engine, 10).await;
    for (location, channels) in [("WH2", ["b2b"]), ("WH3", ["web"])] {
        submit(&engine, &format!("define-{location}"), serde_json::json!({"type": "define_location", "location": location, "kind": "warehouse", "rank": 2, "channels": channels})).await;
    }
    submit(
        &engine,
        "rcv-wh2",
        serde_json::json!({"type": "receive_inventory", "location": "WH2", "sku": "A", "qty": 5}),
    )
    .await;
    submit(&engine, "ship-t1", serde_json::json!({"type": "ship_transfer", "transfer": "T1", "from": "WH2", "to": "WH3", "sku": "A", "lot": null, "qty": 2})).await;
    submit(
        &engine,
        "rcv-t1",
        serde_json::json!({"type": "receive_transfer", "transfer": "T1", "qty": 2}),
    )
    .await;
    place(&engine, "W1", "web", 1).await;
    place(&engine, "B1", "b2b", 1).await;
    let head = engine.log().head().seq;
    for name in ["web", "b2b", "all"] {
        assert!(outbox.wait_for_cursor(name, head, WAIT).await.unwrap(), "{name}");
    }
    let labels = |r: &Receiver| r.all().iter().map(label).collect::<Vec<_>>();
    assert_eq!(
        labels(&web),
        [
            "channel.defined web",
            "location.defined WH1",
            "inventory.received WH1",
            "journal.entry_posted WH1",
            "location.defined WH3",
            "inventory.transfer_shipped WH2",
            "inventory.transfer_received WH3",
            "order.received W1",
            "order.validated W1",
        ]
    );
    assert_eq!(
        labels(&b2b),
        [
            "channel.defined b2b",
            "location.defined WH1",
            "inventory.received WH1",
            "journal.entry_posted WH1",
            "location.defined WH2",
            "inventory.received WH2",
            "journal.entry_posted WH2",
            "inventory.transfer_shipped WH2",
            "order.received B1",
            "order.validated B1",
        ]
    );
    let everything = labels(&all);
    assert_eq!(everything.len(), 16, "{everything:?}");
    assert!(everything.contains(&"sku.defined A".to_owned()), "{everything:?}");
    assert!(web.all().iter().chain(b2b.all().iter()).all(|r| r.verified));
    outbox.shutdown().await;
    close(&engine);
}

/// The body is Standard-Webhooks-style `{type, timestamp, data}`; an order's content digest
/// is 64 lowercase hex digits, not an array of bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_has_type_timestamp_data_and_the_digest_in_hex() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![endpoint("erp", &receiver.url, &["order.received"], Start::Earliest)],
    );
    seed(&engine, 10).await;
    place(&engine, "W1", "web", 1).await;
    receiver.wait_until("order.received", |r| !r.is_empty()).await;
    let got = receiver.all();
    let body = &got[0].body;
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["data", "timestamp", "type"]);
    assert_eq!(body["type"], "order.received");
    assert_eq!(body["timestamp"], body["data"]["recorded_at"]);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let digest = body["data"]["body"]["digest"].as_str().expect("digest as text");
    assert_eq!(digest.len(), 64, "{digest}");
    assert!(digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{digest}");
    // The same digest the log holds.
    let stored = engine.log().get(got[0].seq()).unwrap().unwrap();
    let event =
        tally_domain::decode(stored.event_type(), stored.schema_version(), stored.payload())
            .unwrap();
    let tally_domain::event::Event::OrderReceived(received) = event else { panic!("{event:?}") };
    assert_eq!(digest, hex::encode(received.digest.0));
    outbox.shutdown().await;
    close(&engine);
}
