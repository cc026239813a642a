//! The `ats.changed` feed: coalesced per channel and SKU, the latest figure, filters.

use crate::support::*;
use tally_outbox::Start;

fn ats_of(r: &Received) -> (String, String, u64, Option<u64>) {
    let d = &r.body["data"];
    (
        d["channel"].as_str().unwrap().to_owned(),
        d["sku"].as_str().unwrap().to_owned(),
        d["ats"].as_u64().unwrap(),
        d["previous_ats"].as_u64(),
    )
}

/// Several commits that move stock while the feed waits give one message per channel and
/// SKU with the latest ATS; an unchanged figure is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_commits_coalesce_into_one_message_per_channel_and_sku() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![endpoint("feed", &receiver.url, &["ats.changed"], Start::Head)],
    );
    // Paused: the commits below all land before the feed cuts (deterministic coalescing).
    outbox.set_paused("feed", true).unwrap();
    seed(&engine, 10).await;
    for i in 0..5 {
        submit(&engine, &format!("r{i}"), serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 2})).await;
    }
    place(&engine, "W1", "web", 3).await;
    submit(&engine, "a1", serde_json::json!({"type": "allocate_order", "order": "W1"})).await;
    outbox.set_paused("feed", false).unwrap();
    receiver.wait_until("one message per channel", |r| r.len() >= 2).await;
    let mut got: Vec<_> = receiver.all().iter().map(ats_of).collect();
    got.sort();
    // 10 + 5×2 received, 3 reserved: 17 for both channels.
    assert_eq!(got, [("b2b".into(), "A".into(), 17, None), ("web".into(), "A".into(), 17, None)]);
    let first = receiver.all();
    assert!(first.iter().all(|r| r.verified && r.event_type() == "ats.changed"));
    let head = engine.log().head().seq;
    assert!(first.iter().all(|r| r.body["data"]["as_of_seq"].as_u64().unwrap() >= head));

    // A move of one unit later: one message per channel, with the previous figure.
    submit(
        &engine,
        "r9",
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1}),
    )
    .await;
    receiver.wait_until("the next figure", |r| r.len() >= 4).await;
    let mut next: Vec<_> = receiver.all()[2..].iter().map(ats_of).collect();
    next.sort();
    assert_eq!(
        next,
        [("b2b".into(), "A".into(), 18, Some(17)), ("web".into(), "A".into(), 18, Some(17))]
    );
    // An event that names the SKU without moving its ATS (a price-free redefinition) sends
    // nothing: the next message is the one after a real move.
    submit(&engine, "s1", serde_json::json!({"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "A"})).await;
    submit(
        &engine,
        "r10",
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1}),
    )
    .await;
    receiver.wait_until("the figure after", |r| r.len() >= 6).await;
    let mut last: Vec<_> = receiver.all()[4..].iter().map(ats_of).collect();
    last.sort();
    assert_eq!(
        last,
        [("b2b".into(), "A".into(), 19, Some(18)), ("web".into(), "A".into(), 19, Some(18))]
    );
    outbox.shutdown().await;
    close(&engine);
}

/// A channel filter keeps the feed and the order events of that channel only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_filter_keeps_one_channel() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let mut spec = endpoint("web-only", &receiver.url, &["order.*", "ats.changed"], Start::Head);
    spec.channels = vec!["web".to_owned()];
    let outbox = start(dir.path(), &engine, fast(5), vec![spec]);
    outbox.set_paused("web-only", true).unwrap();
    seed(&engine, 10).await;
    place(&engine, "W1", "web", 1).await;
    place(&engine, "B1", "b2b", 1).await;
    submit(&engine, "a1", serde_json::json!({"type": "allocate_order", "order": "W1"})).await;
    submit(&engine, "a2", serde_json::json!({"type": "allocate_order", "order": "B1"})).await;
    outbox.set_paused("web-only", false).unwrap();
    let head = engine.log().head().seq;
    receiver.wait_until("the feed", |r| r.iter().any(|r| r.event_type() == "ats.changed")).await;
    let all = receiver.all();
    let orders: Vec<&str> = all
        .iter()
        .filter(|r| r.event_type().starts_with("order."))
        .map(|r| r.body["data"]["body"]["order"].as_str().unwrap())
        .collect();
    assert!(!orders.is_empty());
    assert!(orders.iter().all(|o| *o == "W1"), "only web's orders: {orders:?}");
    let feed: Vec<_> = all.iter().filter(|r| r.event_type() == "ats.changed").map(ats_of).collect();
    assert_eq!(feed, [("web".into(), "A".into(), 8, None)]);
    // The feed comes after every event it reflects.
    assert_eq!(all.last().unwrap().event_type(), "ats.changed");
    assert!(all.last().unwrap().body["data"]["as_of_seq"].as_u64().unwrap() >= head);
    outbox.shutdown().await;
    close(&engine);
}

/// A cut is stored before it is sent: after a crash mid-retry, the same `ats.changed`
/// message (same id, same body) is delivered, not a new cut of the same figure.
#[test]
fn a_cut_survives_a_crash_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let engine = rt.block_on(async { open_engine(dir.path()) });
    let receiver = rt.block_on(Receiver::start());
    receiver.behave(|b| b.fail_next = u32::MAX);
    rt.block_on(seed(&engine, 10));
    let outbox_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let outbox = outbox_rt.block_on(async {
        start(
            dir.path(),
            &engine,
            fast(100),
            vec![endpoint("feed", &receiver.url, &["ats.changed"], Start::Head)],
        )
    });
    rt.block_on(async {
        submit(&engine, "r5", serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 5})).await;
        receiver.wait_until("a few failed attempts", |r| r.len() >= 3).await;
    });
    let first = receiver.all();
    let ids: std::collections::BTreeSet<String> = first.iter().map(|r| r.id.clone()).collect();
    drop(outbox);
    outbox_rt.shutdown_timeout(std::time::Duration::from_secs(10));
    receiver.behave(|b| b.fail_next = 0);
    let outbox = rt.block_on(async {
        let outbox = start(
            dir.path(),
            &engine,
            fast(100),
            vec![endpoint("feed", &receiver.url, &["ats.changed"], Start::Head)],
        );
        receiver
            .wait_until("both channels delivered", |r| {
                r.iter().filter(|r| r.status < 300).count() >= 2
            })
            .await;
        outbox
    });
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 2, "one message per channel, no second cut: {accepted:?}");
    for r in &accepted {
        assert!(r.verified);
        let before = first.iter().find(|f| f.id == r.id);
        if let Some(before) = before {
            assert_eq!(before.raw, r.raw, "same id, same body");
        } else {
            // Only the message behind the one in flight may not have been tried yet.
            assert!(!ids.contains(&r.id));
        }
        assert_eq!(r.body["data"]["ats"], 15);
    }
    assert!(
        accepted.iter().any(|r| ids.contains(&r.id)),
        "the message in flight was resent with its id"
    );
    rt.block_on(outbox.shutdown());
    engine.close();
}
