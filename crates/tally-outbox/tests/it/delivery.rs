//! Delivery: signatures, order, retries through an outage, restarts, dead letters and replay.

use crate::support::*;
use tally_outbox::Start;
use tally_outbox::message::event_message_id;

/// Every event type of these tests, without the ats.changed feed.
const EVENTS: &[&str] =
    &["location.*", "channel.*", "sku.*", "inventory.*", "order.*", "journal.*"];

/// Every event is delivered once, in seq order, signed per Standard Webhooks, with the
/// event's envelope and body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_every_event_signed_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![endpoint("erp", &receiver.url, EVENTS, Start::Earliest)],
    );
    seed(&engine, 10).await;
    place(&engine, "W1", "web", 2).await;
    let head = engine.log().head().seq;
    receiver.wait_until("every event", |r| r.len() as u64 >= head).await;
    let got = receiver.all();
    assert_eq!(got.len() as u64, head, "one request per event, none repeated");
    for (i, r) in got.iter().enumerate() {
        let seq = i as u64 + 1;
        assert!(r.verified, "signature of {} verifies", r.id);
        assert_eq!(r.seq(), seq);
        assert_eq!(r.id, event_message_id("erp", seq));
        let stored = engine.log().get(seq).unwrap().unwrap();
        assert_eq!(r.event_type(), stored.event_type());
        assert_eq!(r.body["data"]["stream"], stored.stream());
        assert_eq!(r.body["data"]["actor"], "test");
        assert_eq!(r.body["data"]["source"], "test/outbox");
        assert_eq!(r.body["data"]["occurred_at"], "2026-03-01T09:00:00.000Z");
    }
    let received = got.iter().find(|r| r.event_type() == "order.received").expect("order.received");
    assert_eq!(received.body["data"]["body"]["order"], "W1");
    assert_eq!(received.body["data"]["body"]["channel"], "web");
    assert!(outbox.wait_for_cursor("erp", head, WAIT).await.unwrap());
    let status = outbox.endpoint("erp").unwrap();
    assert_eq!((status.cursor, status.lag, status.delivered), (head, 0, head));
    outbox.shutdown().await;
    close(&engine);
}

/// A receiver that answers 500 for a while gets every message retried with the same id, and
/// the messages arrive in seq order once it recovers: the cursor never skips a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_retried_then_delivered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    receiver.behave(|b| b.fail_next = 6);
    let outbox = start(
        dir.path(),
        &engine,
        fast(20),
        vec![endpoint("erp", &receiver.url, EVENTS, Start::Earliest)],
    );
    seed(&engine, 10).await;
    let head = engine.log().head().seq;
    receiver
        .wait_until("every event accepted", |r| {
            r.iter().filter(|r| r.status < 300).count() as u64 >= head
        })
        .await;
    let all = receiver.all();
    // The first message was tried 7 times (6 failures, then the 2xx), all with its id.
    let first = event_message_id("erp", 1);
    assert!(
        all[..7].iter().all(|r| r.id == first && r.verified),
        "{:?}",
        all.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    assert_eq!(all[..6].iter().filter(|r| r.status == 500).count(), 6);
    let accepted: Vec<u64> = receiver.accepted().iter().map(Received::seq).collect();
    assert_eq!(accepted, (1..=head).collect::<Vec<_>>(), "in order, no gap, no duplicate");
    assert!(outbox.wait_for_cursor("erp", head, WAIT).await.unwrap());
    let status = outbox.endpoint("erp").unwrap();
    assert_eq!(status.failed_attempts, 6);
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.dead_letters, 0);
    outbox.shutdown().await;
    close(&engine);
}

/// An outbox stopped abruptly (its runtime dropped mid-retry, nothing flushed by a shutdown)
/// resumes from its cursor: no message is lost, and a message seen twice has the same id
/// and body both times.
#[test]
fn a_restart_resumes_from_the_cursor_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let engine = rt.block_on(async { open_engine(dir.path()) });
    let receiver = rt.block_on(Receiver::start());
    // First life: deliver the seed, then fail everything while orders arrive.
    let outbox_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let outbox = outbox_rt.block_on(async {
        start(
            dir.path(),
            &engine,
            fast(100),
            vec![endpoint("erp", &receiver.url, EVENTS, Start::Earliest)],
        )
    });
    rt.block_on(async {
        seed(&engine, 10).await;
        let seeded = engine.log().head().seq;
        receiver.wait_until("the seed", |r| r.len() as u64 >= seeded).await;
        receiver.behave(|b| b.fail_next = u32::MAX);
        for i in 0..3 {
            place(&engine, &format!("W{i}"), "web", 1).await;
        }
        let before = receiver.all().len();
        receiver.wait_until("retries", |r| r.len() >= before + 3).await;
    });
    // The crash: the outbox's tasks stop wherever they are.
    drop(outbox);
    outbox_rt.shutdown_timeout(std::time::Duration::from_secs(10));
    receiver.behave(|b| b.fail_next = 0);
    // Second life.
    let head = engine.log().head().seq;
    let outbox = rt.block_on(async {
        let outbox = start(
            dir.path(),
            &engine,
            fast(100),
            vec![endpoint("erp", &receiver.url, EVENTS, Start::Earliest)],
        );
        receiver
            .wait_until("everything after the restart", |r| {
                r.iter().filter(|r| r.status < 300).map(Received::seq).max() == Some(head)
            })
            .await;
        outbox
    });
    let accepted = receiver.accepted();
    let seqs: std::collections::BTreeSet<u64> = accepted.iter().map(Received::seq).collect();
    assert_eq!(seqs, (1..=head).collect(), "no message lost");
    for r in &receiver.all() {
        assert!(r.verified);
        assert_eq!(r.id, event_message_id("erp", r.seq()), "a redelivery carries the same id");
        let first = receiver.all().into_iter().find(|o| o.id == r.id).unwrap();
        assert_eq!(first.raw, r.raw, "and the same body");
    }
    // Accepted deliveries stay in seq order across the restart.
    let order: Vec<u64> = accepted.iter().map(Received::seq).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let mut deduped = order.clone();
    deduped.dedup();
    assert_eq!(deduped, sorted);
    rt.block_on(outbox.shutdown());
    close(&engine);
}

/// A message that keeps failing goes to the dead letters after `max_attempts` and delivery
/// moves on; a replay sends it again with its original id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_after_max_attempts_then_replay() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    let poisoned = event_message_id("erp", 2);
    receiver.behave(|b| {
        b.fail_ids.insert(poisoned.clone());
    });
    let outbox = start(
        dir.path(),
        &engine,
        fast(3),
        vec![endpoint("erp", &receiver.url, EVENTS, Start::Earliest)],
    );
    seed(&engine, 10).await;
    let head = engine.log().head().seq;
    receiver
        .wait_until("the rest delivered", |r| r.iter().any(|r| r.status < 300 && r.seq() == head))
        .await;
    assert_eq!(receiver.all().iter().filter(|r| r.id == poisoned).count(), 3, "three attempts");
    let accepted: Vec<u64> = receiver.accepted().iter().map(Received::seq).collect();
    assert_eq!(accepted, (1..=head).filter(|&s| s != 2).collect::<Vec<_>>());
    let dead = outbox.dead_letters("erp", 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.id, poisoned);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].last_error, "HTTP 500");
    assert!(outbox.wait_for_cursor("erp", head, WAIT).await.unwrap());
    assert_eq!(outbox.endpoint("erp").unwrap().dead_letters, 1);

    receiver.behave(|b| b.fail_ids.clear());
    assert_eq!(outbox.replay("erp", None).unwrap(), 1);
    receiver
        .wait_until("the replay", |r| r.iter().any(|r| r.id == poisoned && r.status < 300))
        .await;
    let replayed = receiver.accepted().into_iter().find(|r| r.id == poisoned).unwrap();
    assert!(replayed.verified);
    assert_eq!(replayed.seq(), 2);
    // The worker acknowledges a replay before its next step: once a later event is
    // delivered, the lists are empty.
    place(&engine, "W9", "web", 1).await;
    let last = engine.log().head().seq;
    assert!(outbox.wait_for_cursor("erp", last, WAIT).await.unwrap());
    let status = outbox.endpoint("erp").unwrap();
    assert_eq!((status.dead_letters, status.replay_pending), (0, 0));
    outbox.shutdown().await;
    close(&engine);
}

/// A message still failing `max_age_s` after its first failure is dead-lettered even with
/// attempts left (the clock is the test's: it jumps past the age).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_its_max_age_is_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    receiver.behave(|b| b.fail_next = u32::MAX);
    let clock = std::sync::Arc::new(ShiftedClock::default());
    let delivery = tally_outbox::Delivery { max_age_s: 60, ..fast(100) };
    let outbox = start_with_clock(
        dir.path(),
        &engine,
        delivery,
        vec![endpoint("erp", &receiver.url, &["channel.*"], Start::Earliest)],
        clock.clone(),
    );
    submit(&engine, "c1", serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"})).await;
    receiver.wait_until("two failed attempts", |r| r.len() >= 2).await;
    assert!(outbox.dead_letters("erp", 10).unwrap().is_empty(), "attempts left, not old yet");
    clock.0.store(61_000, std::sync::atomic::Ordering::SeqCst);
    assert!(outbox.wait_for_cursor("erp", 1, WAIT).await.unwrap());
    let dead = outbox.dead_letters("erp", 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].attempts < 100, "given up by age: {} attempts", dead[0].attempts);
    assert!(dead[0].dead_at_ms - dead[0].first_failure_ms >= 60_000);
    outbox.shutdown().await;
    close(&engine);
}

/// `410 Gone` pauses the endpoint (the cursor stays); resuming it delivers the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_pauses_the_endpoint_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path());
    let receiver = Receiver::start().await;
    receiver.behave(|b| b.status = Some(410));
    let outbox = start(
        dir.path(),
        &engine,
        fast(5),
        vec![endpoint("erp", &receiver.url, &["channel.*"], Start::Earliest)],
    );
    submit(&engine, "c1", serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"})).await;
    receiver.wait_until("the 410", |r| !r.is_empty()).await;
    assert!(outbox.wait_for("erp", WAIT, |s| s.paused).await.unwrap());
    let paused = outbox.endpoint("erp").unwrap();
    assert!(paused.paused, "{paused:?}");
    assert_eq!(paused.paused_reason.as_deref(), Some("the endpoint answered 410 Gone"));
    assert_eq!((paused.cursor, paused.dead_letters), (0, 0));
    receiver.behave(|b| b.status = None);
    outbox.set_paused("erp", false).unwrap();
    assert!(outbox.wait_for_cursor("erp", 1, WAIT).await.unwrap());
    assert_eq!(receiver.all().iter().filter(|r| r.status < 300).count(), 1);
    outbox.shutdown().await;
    close(&engine);
}
