//! Commands through the engine: durability, idempotency, rejections, contention, restart.

use crate::support::{open, order, seed, sub};
use std::time::Duration;
use tally_engine::SubmitError;

#[test]
fn accepted_commands_are_durable_and_answer_with_their_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let accepted = engine.submit_blocking(sub("o-1", order("D1", 2))).unwrap();
    assert!(!accepted.deduplicated);
    assert!(!accepted.events.is_empty());
    assert_eq!(accepted.last_seq(), engine.log().head().seq);
    for e in &accepted.events {
        let stored = engine.log().get(e.seq).unwrap().unwrap();
        assert_eq!(stored.event_type(), e.event_type);
        assert_eq!(stored.causation_id(), Some(accepted.command_id));
        assert_eq!(stored.actor(), "test");
    }
}

#[test]
fn a_retry_returns_the_first_result_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let engine = open(dir.path());
        seed(&engine);
        let first = engine.submit_blocking(sub("o-1", order("D1", 2))).unwrap();
        let again = engine.submit_blocking(sub("o-1", order("D1", 2))).unwrap();
        assert!(again.deduplicated);
        assert_eq!(again.events, first.events);
        engine.close();
        first
    };
    let engine = open(dir.path());
    let head = engine.log().head();
    let retry = engine.submit_blocking(sub("o-1", order("D1", 2))).unwrap();
    assert!(retry.deduplicated);
    assert_eq!(retry.events, first.events);
    assert_eq!(engine.log().head(), head, "a retry appends nothing");
    // The same key for a different command is refused and appends nothing.
    let err = engine.submit_blocking(sub("o-1", order("D9", 1))).unwrap_err();
    assert_eq!(err.code(), "IDEMPOTENCY_CONFLICT");
    assert_eq!(engine.log().head(), head);
}

#[test]
fn rejections_are_typed_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let head = engine.log().head();
    let unknown_sku = serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "NOPE", "qty": 1});
    let err = engine.submit_blocking(sub("bad-1", unknown_sku)).unwrap_err();
    assert_eq!(err.code(), "UNKNOWN_SKU");
    assert!(err.to_string().contains("NOPE"), "{err}");
    let negative =
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": -3});
    let err = engine.submit_blocking(sub("bad-2", negative)).unwrap_err();
    assert_eq!(err.code(), "INVALID_QUANTITY");
    let mut no_key = sub("x", order("D1", 1));
    no_key.idempotency_key = String::new();
    assert!(matches!(engine.submit_blocking(no_key), Err(SubmitError::Invalid(_))));
    assert_eq!(engine.log().head(), head);
    let counts = engine.submission_counts();
    let rejected: u64 = counts.values().map(|c| c.rejected).sum();
    assert_eq!(rejected, 2);
    assert_eq!(engine.rejections_by_code().get("UNKNOWN_SKU"), Some(&1));
}

/// 64 concurrent callers each order one unit of A with 10 on hand: exactly 10 lines are
/// allocated, the other 54 backordered, and every caller gets a definite answer.
#[test]
fn concurrent_orders_never_take_the_same_last_unit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("C{i}");
                engine.submit(sub(&format!("place-{i}"), order(&id, 1))).await.unwrap();
                engine
                    .submit(sub(
                        &format!("validate-{i}"),
                        serde_json::json!({"type": "validate_order", "order": id}),
                    ))
                    .await
                    .unwrap();
                engine
                    .submit(sub(
                        &format!("allocate-{i}"),
                        serde_json::json!({"type": "allocate_order", "order": id}),
                    ))
                    .await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let mut allocated = 0;
    let mut backordered = 0;
    for result in results {
        let accepted = result.unwrap();
        for e in &accepted.events {
            match e.event_type.as_str() {
                "order.line_allocated" => allocated += 1,
                "order.line_backordered" => backordered += 1,
                _ => {}
            }
        }
    }
    assert_eq!((allocated, backordered), (10, 54));
}

#[test]
fn the_decision_state_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(dir.path());
        seed(&engine);
        for (i, id) in ["D1", "D2"].iter().enumerate() {
            engine.submit_blocking(sub(&format!("p{i}"), order(id, 5))).unwrap();
            engine
                .submit_blocking(sub(
                    &format!("v{i}"),
                    serde_json::json!({"type": "validate_order", "order": id}),
                ))
                .unwrap();
            engine
                .submit_blocking(sub(
                    &format!("a{i}"),
                    serde_json::json!({"type": "allocate_order", "order": id}),
                ))
                .unwrap();
        }
        engine.close();
    }
    // After the restart all 10 units are reserved: a new order backorders.
    let engine = open(dir.path());
    engine.submit_blocking(sub("p3", order("D3", 1))).unwrap();
    engine
        .submit_blocking(sub("v3", serde_json::json!({"type": "validate_order", "order": "D3"})))
        .unwrap();
    let allocate = engine
        .submit_blocking(sub("a3", serde_json::json!({"type": "allocate_order", "order": "D3"})))
        .unwrap();
    let types: Vec<_> = allocate.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["order.line_backordered"]);
}

#[test]
fn views_behind_the_log_catch_up_without_double_counting() {
    let dir = tempfile::tempdir().unwrap();
    // Append with the projection runner off: the log moves on, the views stay behind, as
    // after a crash between append and projection update.
    let head = {
        let config = tally_engine::EngineConfig { run_projections: false, ..Default::default() };
        let engine =
            tally_engine::Engine::open(dir.path(), config, crate::support::projections()).unwrap();
        seed(&engine);
        engine.submit_blocking(sub("o", order("D1", 3))).unwrap();
        let head = engine.log().head().seq;
        assert_eq!(engine.views().applied("counter").unwrap(), 0);
        engine.close();
        head
    };
    let engine = open(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(engine.wait_for_views(head, Duration::from_secs(30))).unwrap();
    let reader = engine.views().reader("counter").unwrap();
    assert_eq!(reader.counter(b"total").unwrap(), head as i64);
    assert_eq!(reader.get::<u64>(b"last").unwrap(), Some(head));
    // Equal, byte for byte, to a rebuild from the log.
    let rebuilt = tally_projections::ViewStore::replay_as_of(
        engine.log(),
        crate::support::projections(),
        head,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(engine.views().dump("counter").unwrap(), rebuilt.dump("counter").unwrap());
}

/// Many simultaneous retries of one submission, spread over groups that are decided while
/// earlier ones are still being made durable: one decision, one set of events.
#[test]
fn simultaneous_retries_are_decided_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let head = engine.log().head().seq;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..48 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                // Interleave with other work so the retries land in different groups.
                let other = sub(&format!("other-{i}"), order(&format!("X{i}"), 1));
                let _ = engine.submit(other).await;
                engine.submit(sub("same-key", order("D1", 2))).await.unwrap()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(results.iter().all(|r| r.events == results[0].events));
    assert_eq!(results.iter().filter(|r| !r.deduplicated).count(), 1);
    let order_events = engine
        .log()
        .read(head + 1..)
        .filter(|e| e.as_ref().unwrap().stream() == "order:D1")
        .count();
    assert_eq!(order_events, results[0].events.len(), "the order was received once");
}
