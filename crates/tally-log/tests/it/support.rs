//! Helpers shared by the tests: building events and opening logs in temp dirs.

use std::path::Path;
use tally_log::{AppendRequest, Config, Corruption, Error, EventId, Log, NewEvent};

pub fn id(raw: u128) -> EventId {
    EventId::new(raw).unwrap()
}

pub fn event(raw_id: u128, stream: &str, payload: &[u8]) -> NewEvent {
    NewEvent {
        event_id: id(raw_id),
        stream: stream.to_owned(),
        event_type: "test.happened".to_owned(),
        schema_version: 1,
        occurred_at_ms: 1_700_000_000_000,
        source: "tests".to_owned(),
        correlation_id: None,
        causation_id: None,
        actor: "tester".to_owned(),
        payload: payload.to_vec(),
    }
}

pub fn open(dir: &Path) -> Log {
    Log::open(dir, Config::default()).unwrap()
}

/// A config whose open re-hashes only the last frame, so verification is what finds damage
/// further back.
pub fn short_recovery() -> Config {
    Config { recovery_tail_frames: 1, ..Config::default() }
}

/// Appends `count` single-event appends over `streams` streams, ids 1..=count.
pub fn fill(log: &Log, count: u64, streams: u64) {
    for i in 1..=count {
        let stream = format!("s-{}", i % streams);
        let payload = format!("payload {i}").into_bytes();
        log.append_blocking(AppendRequest::new(vec![event(u128::from(i), &stream, &payload)]))
            .unwrap();
    }
}

/// The seq a corruption names.
pub fn named_seq(err: &Error) -> Option<u64> {
    match err {
        Error::Corrupt(c) => match c {
            Corruption::ChainBroken { seq, .. }
            | Corruption::MissingFrame { seq }
            | Corruption::MalformedFrame { seq, .. }
            | Corruption::BeyondHead { seq, .. }
            | Corruption::Index { seq, .. }
            | Corruption::TrustedMismatch { seq, .. } => Some(*seq),
            Corruption::MisplacedFrame { key, .. } => Some(*key),
            _ => None,
        },
        _ => None,
    }
}
