//! Stored bytes as tally-log and tally-domain read them back.

use fjall::Slice;
use tally_domain::codec::KNOWN_TYPES;
use tally_domain::{DecodeError, Event};
use tally_log::RecordedEvent;
use tally_log::frame::{FrameError, HASH_BYTES, HEADER_BYTES};
use tally_log::layout;
use tally_log::tally_proof::checkpoint::SignedCheckpoint;
use tally_log::tally_proof::merkle::{Frontier, NodeId};

/// What [`frame_decode`] made of its input.
#[derive(Debug)]
pub struct FrameOutcome {
    /// The input as a stored frame value: its event type when it decoded, or why not.
    pub frame: Result<String, FrameError>,
    /// The payload of a decoded frame through the domain codec.
    pub body: Option<Result<&'static str, DecodeError>>,
    /// The input as an event body: byte 0 picks a type and schema version, the rest is the
    /// body (so the fuzzer reaches postcard without building a frame first).
    pub direct: Option<Result<&'static str, DecodeError>>,
}

/// Decodes `data` every way the log and the domain read stored bytes. Panics only when an
/// invariant of a successful decode breaks (accessors disagree with the bytes, an accepted
/// body does not survive re-encoding).
#[must_use]
pub fn frame_decode(data: &[u8]) -> FrameOutcome {
    let mut body = None;
    let frame = match RecordedEvent::decode(Slice::from(data)) {
        Ok(event) => {
            check_recorded(&event, data);
            body = Some(decode_body(event.event_type(), event.schema_version(), event.payload()));
            Ok(event.event_type().to_owned())
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            Err(e)
        }
    };
    other_values(data);
    let direct = data.split_first().map(|(&selector, rest)| {
        let event_type = KNOWN_TYPES[usize::from(selector) % KNOWN_TYPES.len()];
        // Versions 0 (never valid), 1 and 2 (order.held's current one).
        let version = u16::from(selector) / KNOWN_TYPES.len() as u16 % 3;
        decode_body(event_type, version, rest)
    });
    FrameOutcome { frame, body, direct }
}

/// Every accessor of a decoded frame answers, and they tile the stored bytes exactly.
fn check_recorded(event: &RecordedEvent, data: &[u8]) {
    assert_eq!(event.stored_bytes(), data);
    assert_eq!(event.frame_bytes().len() + HASH_BYTES, data.len());
    let texts = event.stream().len()
        + event.event_type().len()
        + event.source().len()
        + event.actor().len();
    assert_eq!(HEADER_BYTES + texts + event.payload().len() + HASH_BYTES, data.len());
    assert_eq!(
        event.event_id().get(),
        u128::from_le_bytes(data[17..33].try_into().unwrap_or([0; 16]))
    );
    let _ = (
        event.seq(),
        event.stream_version(),
        event.correlation_id(),
        event.causation_id(),
        event.occurred_at_ms(),
        event.recorded_at_ms(),
        event.prev_hash(),
        event.hash(),
    );
    let _ = tally_log::chain_hash(&event.prev_hash(), event.frame_bytes());
    let _ = format!("{event:?}");
}

/// The other values the log stores: the head, the event-id index, the Merkle frontier and
/// node keys, and checkpoint notes. Whatever parses must encode back to the same bytes.
fn other_values(data: &[u8]) {
    if let Some((seq, hash, recorded)) = layout::parse_head_value(data) {
        assert_eq!(layout::head_value(seq, &hash, recorded), data);
    }
    if let Some((seq, version, digest)) = layout::parse_event_id_value(data) {
        assert_eq!(layout::event_id_value(seq, version, &digest), data);
    }
    match Frontier::from_bytes(data) {
        Ok(frontier) => assert_eq!(frontier.to_bytes(), data),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Some(node) = NodeId::from_bytes(data) {
        assert_eq!(node.to_bytes(), data);
        let _ = node.first_leaf();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match SignedCheckpoint::parse(text) {
            Ok(checkpoint) => {
                let _ = format!("{checkpoint:?}");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// A body through the codec; an accepted one must re-encode to a body that decodes to the
/// same event under the current schema version (the upcast is the identity after that).
fn decode_body(event_type: &str, version: u16, bytes: &[u8]) -> Result<&'static str, DecodeError> {
    match tally_domain::decode(event_type, version, bytes) {
        Ok(event) => {
            check_roundtrip(&event);
            Ok(event.event_type())
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            Err(e)
        }
    }
}

/// `decode(encode(event)) == event` for the current schema version of its type.
pub fn check_roundtrip(event: &Event) {
    let bytes = tally_domain::encode(event);
    let back = tally_domain::decode(event.event_type(), event.schema_version(), &bytes);
    assert_eq!(
        back.as_ref(),
        Ok(event),
        "re-encoded {} does not decode to itself",
        event.event_type()
    );
}
