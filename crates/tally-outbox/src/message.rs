//! The messages an endpoint receives: one per matching log event, and `ats.changed`; their
//! ids (stable, so a redelivery carries the same `webhook-id`) and their JSON bodies.

use serde::{Deserialize, Serialize};
use tally_domain::time::Timestamp;
use tally_log::RecordedEvent;

/// The type of the coalesced available-to-sell messages.
pub const ATS_CHANGED: &str = "ats.changed";

/// One message, ready to send: its id, type and body bytes never change between attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The `webhook-id`.
    pub id: String,
    /// Its type (the event type, or `ats.changed`).
    pub event_type: String,
    /// The seq of its event, or the seq its ATS is as of.
    pub seq: u64,
    /// The body (JSON text).
    pub body: String,
}

/// A short digest of an endpoint's name, used in message ids.
#[must_use]
pub fn endpoint_tag(endpoint: &str) -> String {
    let digest = blake3::hash(endpoint.as_bytes());
    hex::encode(&digest.as_bytes()[..4])
}

/// The id of the message for the event at `seq`: the same for every attempt, every
/// redelivery and every replay to this endpoint.
#[must_use]
pub fn event_message_id(endpoint: &str, seq: u64) -> String {
    format!("msg_{}_{seq}", endpoint_tag(endpoint))
}

/// The message for a log event: `{type, timestamp, data: {seq, stream, event_type, event_id,
/// occurred_at, recorded_at, actor, source, body}}`, `body` being the domain event's JSON.
#[must_use]
pub fn event_message(endpoint: &str, event: &RecordedEvent, body: serde_json::Value) -> Message {
    let recorded_at = Timestamp::from_millis(event.recorded_at_ms()).to_rfc3339();
    let json = serde_json::json!({
        "type": event.event_type(),
        "timestamp": recorded_at,
        "data": {
            "seq": event.seq(),
            "stream": event.stream(),
            "event_type": event.event_type(),
            "event_id": event.event_id().to_string(),
            "occurred_at": Timestamp::from_millis(event.occurred_at_ms()).to_rfc3339(),
            "recorded_at": recorded_at,
            "actor": event.actor(),
            "source": event.source(),
            "body": body,
        },
    });
    Message {
        id: event_message_id(endpoint, event.seq()),
        event_type: event.event_type().to_owned(),
        seq: event.seq(),
        body: json.to_string(),
    }
}

/// Writes the digests and hashes of a domain event's JSON as lowercase hex text: a field named
/// `digest` or `hash` (or ending in `_digest` or `_hash`), at any depth, whose value is an
/// array of bytes (as serde writes `[u8; N]`) becomes the bytes' hex (`order.received`'s
/// `digest`: 64 hex digits).
pub fn hex_digests(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let named = key == "digest"
                    || key == "hash"
                    || key.ends_with("_digest")
                    || key.ends_with("_hash");
                if named && let Some(bytes) = as_bytes(v) {
                    *v = serde_json::Value::String(hex::encode(bytes));
                } else {
                    hex_digests(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(hex_digests),
        _ => {}
    }
}

/// The bytes of a non-empty JSON array of integers 0 to 255.
fn as_bytes(value: &serde_json::Value) -> Option<Vec<u8>> {
    let items = value.as_array().filter(|a| !a.is_empty())?;
    items.iter().map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok())).collect()
}

/// The ATS of one channel and SKU, to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtsFigure {
    /// The channel.
    pub channel: String,
    /// The SKU.
    pub sku: String,
    /// Units the channel may sell.
    pub ats: u64,
    /// What the endpoint was last told (`None`: never).
    pub previous: Option<u64>,
}

/// The `ats.changed` message: `{type, timestamp, data: {channel, sku, ats, previous_ats,
/// as_of_seq}}`. Its id names the endpoint, the seq the ATS is as of, and its place in that
/// cut (cuts are stored before they are sent, so a redelivery carries the same id).
#[must_use]
pub fn ats_message(
    endpoint: &str,
    figure: &AtsFigure,
    as_of_seq: u64,
    index: usize,
    now_ms: i64,
) -> Message {
    let json = serde_json::json!({
        "type": ATS_CHANGED,
        "timestamp": Timestamp::from_millis(now_ms).to_rfc3339(),
        "data": {
            "channel": figure.channel,
            "sku": figure.sku,
            "ats": figure.ats,
            "previous_ats": figure.previous,
            "as_of_seq": as_of_seq,
        },
    });
    Message {
        id: format!("msg_{}_ats_{as_of_seq}_{index}", endpoint_tag(endpoint)),
        event_type: ATS_CHANGED.to_owned(),
        seq: as_of_seq,
        body: json.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::hex_digests;

    #[test]
    fn digests_and_hashes_become_lowercase_hex() {
        let mut body = serde_json::json!({
            "digest": [0, 15, 171, 255],
            "lines": [{"content_hash": [1, 2], "qty": [1, 2]}],
            "file_digest": "already text",
            "hash": [256],
            "tags_hash": [],
        });
        hex_digests(&mut body);
        assert_eq!(
            body,
            serde_json::json!({
                "digest": "000fabff",
                "lines": [{"content_hash": "0102", "qty": [1, 2]}],
                "file_digest": "already text",
                "hash": [256],
                "tags_hash": [],
            })
        );
    }
}
