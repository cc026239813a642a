//! Idempotency keys: every accepted key is recorded (also a no-op's), and command ids are
//! pinned to a canonical, versioned encoding.

use crate::support::{open, seed, sub};

fn define_wh1() -> serde_json::Value {
    serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]})
}

fn receive(qty: i64) -> serde_json::Value {
    serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": qty})
}

/// Issue #12 item 5: a command accepted with zero events took its key with it, so a different
/// command under the same key was accepted later.
#[test]
fn a_no_op_takes_its_key_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let engine = open(dir.path());
        seed(&engine);
        // WH1 is already defined exactly so: accepted, no change.
        let first = engine.submit_blocking(sub("noop-1", define_wh1())).unwrap();
        assert!(first.events.is_empty(), "{first:?}");
        assert!(!first.deduplicated);
        let head = engine.log().head();
        // Its key is recorded by a marker event in the log.
        let marker = engine.log().get(head.seq).unwrap().unwrap();
        assert_eq!(marker.event_type(), "command.accepted");
        assert_eq!(marker.stream(), "commands");
        assert_eq!(marker.event_id(), tally_engine::event_id("noop-1", 0));
        assert_eq!(marker.causation_id(), Some(first.command_id));
        let err = engine.submit_blocking(sub("noop-1", receive(5))).unwrap_err();
        assert_eq!(err.code(), "IDEMPOTENCY_CONFLICT", "{err}");
        assert_eq!(engine.log().head(), head, "a conflict appends nothing");
        let again = engine.submit_blocking(sub("noop-1", define_wh1())).unwrap();
        assert!(again.deduplicated);
        assert_eq!(again.events, first.events);
        assert_eq!(again.command_id, first.command_id);
        engine.close();
        first
    };
    let engine = open(dir.path());
    let head = engine.log().head();
    let retry = engine.submit_blocking(sub("noop-1", define_wh1())).unwrap();
    assert!(retry.deduplicated);
    assert_eq!(retry.events, first.events);
    let err = engine.submit_blocking(sub("noop-1", receive(5))).unwrap_err();
    assert_eq!(err.code(), "IDEMPOTENCY_CONFLICT", "{err}");
    assert_eq!(engine.log().head(), head, "neither the retry nor the conflict appends");
}

/// The same within one group: a no-op and a different command under its key, decided together.
#[test]
fn a_no_op_takes_its_key_within_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let results = runtime.block_on(engine.submit_many(vec![
        sub("noop-2", define_wh1()),
        sub("noop-2", receive(5)),
        sub("noop-2", define_wh1()),
    ]));
    assert!(results[0].as_ref().unwrap().events.is_empty());
    assert_eq!(results[1].as_ref().unwrap_err().code(), "IDEMPOTENCY_CONFLICT");
    assert!(results[2].as_ref().unwrap().deduplicated);
}

/// Issue #12 item 5: command ids hashed the postcard layout of the Rust enum, so any new
/// field or variant silently changed every id (a retry after an upgrade could double-post).
/// Ids are now pinned, one command per type: this fails when an encoding change moves them.
#[test]
fn command_ids_are_pinned_to_canonical_json() {
    let golden = include_str!("command_ids.txt");
    let mut kinds = std::collections::BTreeSet::new();
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let (id, json) = line.split_once(' ').unwrap();
        let command: tally_domain::Command = serde_json::from_str(json).unwrap();
        assert_eq!(tally_engine::canonical_json(&command).unwrap(), json);
        assert_eq!(tally_engine::command_id(&command).unwrap().to_string(), id, "{json}");
        kinds.insert(command.kind());
    }
    assert_eq!(kinds.len(), tally_domain::Command::TAGS.len(), "one golden line per command type");
    // The same commands written otherwise (times with an offset or in milliseconds, amounts
    // without their minor digits) have the same ids.
    let id = |json: &str| {
        let command: tally_domain::Command = serde_json::from_str(json).unwrap();
        tally_engine::command_id(&command).unwrap().to_string()
    };
    assert_eq!(
        id(
            r#"{"type": "hold_order", "order": "Ö-1001", "reason": "fraud", "due_at": "2026-03-01T11:00:00+01:00", "note": "tab\t \"quoted\" back\\slash é 😀 \u0001"}"#
        ),
        "18e116b79b1ce66e61b456253dc6fb37"
    );
    assert_eq!(
        id(
            r#"{"type": "receive_order", "order": "W:2%", "channel": "web", "placed_at": 1772359200000, "currency": "USD", "lines": [{"sku": "A", "qty": 2, "unit_price": {"amount": "15", "currency": "USD"}}], "shipping": {"amount": "4.9", "currency": "USD"}, "tax_rate": "0.0825"}"#
        ),
        "97552dd40f0b70327911617f3616c796"
    );
}

/// The id depends on the command's JSON meaning: member order and absent optional members do
/// not change it; a different value does.
#[test]
fn command_ids_ignore_member_order_and_absent_options() {
    let id = |json: serde_json::Value| {
        tally_engine::command_id(&serde_json::from_value(json).unwrap()).unwrap().to_string()
    };
    let a = id(serde_json::json!({"type": "pick_order", "order": "D1"}));
    assert_eq!(a, id(serde_json::json!({"location": null, "order": "D1", "type": "pick_order"})));
    assert_ne!(a, id(serde_json::json!({"type": "pick_order", "order": "D1", "location": "WH1"})));
    assert_ne!(a, id(serde_json::json!({"type": "pack_order", "order": "D1"})));
}

/// A stored command id of another id version never matches: a retry under its key is refused
/// as a conflict and appends nothing (it is never taken for a new command and posted twice).
/// Stores of id version 1 are refused at open anyway (store format 1); this is the rule the
/// retry path keeps should such an id ever be met.
#[test]
fn a_stored_command_id_of_another_version_is_a_conflict_not_a_second_post() {
    let dir = tempfile::tempdir().unwrap();
    let v1_id = tally_log::EventId::new(0x0123_4567_89ab_cdef).unwrap();
    crate::streams::store_with_one_event(dir.path(), "location:WH-1", Some(v1_id));
    std::fs::write(dir.path().join(tally_engine::FORMAT_FILE), "tally store format 6\n").unwrap();
    let engine = open(dir.path());
    let head = engine.log().head();
    let retry = serde_json::json!({"type": "define_location", "location": "WH-1", "kind": "warehouse", "rank": 1, "channels": []});
    let err = engine.submit_blocking(sub("old-1", retry)).unwrap_err();
    assert_eq!(err.code(), "IDEMPOTENCY_CONFLICT", "{err}");
    assert_eq!(engine.log().head(), head);
}
