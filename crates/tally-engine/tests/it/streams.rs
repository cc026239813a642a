//! Stream names through the engine: distinct stock positions keep distinct streams.

use crate::support::{open, sub};
use serde_json::json;

/// Issue #12 item 6, reproduced: location `WH-1` × SKU `A` and location `WH` × SKU `1-A`
/// shared one stream, so each got versions of the other.
#[test]
fn stock_positions_whose_ids_join_alike_keep_their_own_streams() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let steps = [
        json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        json!({"type": "define_location", "location": "WH-1", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
        json!({"type": "define_location", "location": "WH", "kind": "warehouse", "rank": 2, "channels": ["web"]}),
        json!({"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "1.00", "currency": "USD"}, "abc": "B"}),
        json!({"type": "define_sku", "sku": "1-A", "lot_tracked": false, "unit_cost": {"amount": "1.00", "currency": "USD"}, "abc": "B"}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        engine.submit_blocking(sub(&format!("m-{i}"), step)).unwrap();
    }
    let a = engine
        .submit_blocking(sub(
            "r-1",
            json!({"type": "receive_inventory", "location": "WH-1", "sku": "A", "qty": 5}),
        ))
        .unwrap();
    let b = engine
        .submit_blocking(sub(
            "r-2",
            json!({"type": "receive_inventory", "location": "WH", "sku": "1-A", "qty": 7}),
        ))
        .unwrap();
    let (sa, sb) = (&a.events[0].stream, &b.events[0].stream);
    assert_ne!(sa, sb);
    for (stream, qty_event_seq) in [(sa, a.events[0].seq), (sb, b.events[0].seq)] {
        let versions: Vec<(u64, u64)> = engine
            .log()
            .read_stream(stream, 1)
            .map(|e| {
                let e = e.unwrap();
                (e.seq(), e.stream_version())
            })
            .collect();
        // The receipt and its journal entry, and nothing of the other position.
        assert_eq!(versions.len(), 2, "{stream}: {versions:?}");
        assert_eq!(versions[0], (qty_event_seq, 1), "{stream}: {versions:?}");
    }
}

/// Writes one `location.defined` event (location `WH-1`, key `old-1`) on `stream` with this
/// causation id straight into the log of `dir`, as a store of another format would hold it.
pub fn store_with_one_event(
    dir: &std::path::Path,
    stream: &str,
    causation_id: Option<tally_log::EventId>,
) {
    use tally_domain::Event;
    use tally_domain::ids::LocationId;
    use tally_domain::master::{Location, LocationKind};
    let event = Event::LocationDefined(Location {
        id: LocationId::parse("WH-1").unwrap(),
        kind: LocationKind::Warehouse,
        rank: 1,
        channels: std::collections::BTreeSet::new(),
    });
    let log = tally_log::Log::open(dir.join("log"), tally_log::Config::default()).unwrap();
    log.append_blocking(tally_log::AppendRequest::new(vec![tally_log::NewEvent {
        event_id: tally_engine::event_id("old-1", 0),
        stream: stream.to_owned(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        occurred_at_ms: 1_772_355_600_000,
        source: "test".to_owned(),
        correlation_id: None,
        causation_id,
        actor: "test".to_owned(),
        payload: tally_domain::encode(&event),
    }]))
    .unwrap();
    log.close();
}

fn open_error(dir: &std::path::Path) -> String {
    let opened = tally_engine::Engine::open(
        dir,
        tally_engine::EngineConfig::default(),
        crate::support::projections(),
    );
    opened.map(|_| ()).unwrap_err().to_string()
}

/// A store written with the old naming (ids joined by `-`, no format marker) is refused at
/// open with a message naming its format and what to do; before, it opened and new events
/// went to other streams than the old ones of the same entity.
#[test]
fn a_store_of_the_old_naming_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    store_with_one_event(dir.path(), "location-WH-1", None);
    let message = open_error(dir.path());
    assert!(message.contains("store format 1") && message.contains("format 6"), "{message}");
    assert!(message.contains("no migration"), "{message}");
    // Refused before anything was written.
    assert!(!dir.path().join(tally_engine::FORMAT_FILE).exists());
}

/// A marker does not make a store readable: every event must be on the stream its body names.
#[test]
fn a_marked_store_with_events_on_other_streams_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    store_with_one_event(dir.path(), "location-WH-1", None);
    std::fs::write(dir.path().join(tally_engine::FORMAT_FILE), "tally store format 6\n").unwrap();
    let message = open_error(dir.path());
    assert!(message.contains("seq 1") && message.contains("'location:WH-1'"), "{message}");
}

#[test]
fn a_store_of_another_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close();
    let marker = dir.path().join(tally_engine::FORMAT_FILE);
    assert!(std::fs::read_to_string(&marker).unwrap().starts_with("tally store format 6\n"));
    std::fs::write(&marker, "tally store format 3\n").unwrap();
    assert!(open_error(dir.path()).contains("is store format 3"));
    std::fs::write(&marker, "garbage").unwrap();
    assert!(open_error(dir.path()).contains("not a store format marker"));
}

/// A stream name over the log's limit refuses the command (INVALID_INPUT) instead of failing
/// the whole group's append, which stopped the engine.
#[test]
fn a_stream_name_over_the_limit_is_refused_and_the_engine_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let (location, sku, lot) = ("L".repeat(64), "S".repeat(64), "T".repeat(64));
    let steps = [
        json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        json!({"type": "define_location", "location": location, "kind": "warehouse", "rank": 1, "channels": ["web"]}),
        json!({"type": "define_sku", "sku": sku, "lot_tracked": true, "unit_cost": {"amount": "1.00", "currency": "USD"}, "abc": "B"}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        engine.submit_blocking(sub(&format!("m-{i}"), step)).unwrap();
    }
    let head = engine.log().head();
    let receive = json!({"type": "receive_inventory", "location": location, "sku": sku, "lot": lot, "expiry": "2027-01-01", "qty": 5});
    let err = engine.submit_blocking(sub("r-long", receive)).unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT", "{err}");
    assert!(err.to_string().contains("over the limit"), "{err}");
    assert_eq!(engine.log().head(), head);
    // The engine still takes commands.
    let short = json!({"type": "define_location", "location": "WH2", "kind": "warehouse", "rank": 2, "channels": ["web"]});
    engine.submit_blocking(sub("m-after", short)).unwrap();
}
