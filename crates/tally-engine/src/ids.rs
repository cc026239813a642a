//! Ids the engine derives: a command's content id and its events' ids.

use tally_domain::Command;
use tally_log::EventId;

const COMMAND_CONTEXT: &str = "tally 2026-11-26 engine command id v1";
const EVENT_CONTEXT: &str = "tally 2026-11-26 engine event id v1";

fn to_id(hash: &blake3::Hash) -> EventId {
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&hash.as_bytes()[..16]);
    // Zero is reserved; a hash of 128 zero bits is not a practical concern, but stay total.
    EventId::new(u128::from_be_bytes(raw)).unwrap_or(EventId::MAX)
}

/// The content id of a command: a digest of its canonical JSON (object keys sorted). Stored as
/// the causation id of every event the command produced.
#[must_use]
pub fn command_id(command: &Command) -> EventId {
    describe(command).0
}

/// The command's content id and its type name (the JSON `type` tag).
pub(crate) fn describe(command: &Command) -> (EventId, String) {
    let value = serde_json::to_value(command).unwrap_or_default();
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("unknown").to_owned();
    // serde_json's Value keeps object keys sorted, so this encoding is canonical.
    let json = serde_json::to_vec(&value).unwrap_or_default();
    let mut hasher = blake3::Hasher::new_derive_key(COMMAND_CONTEXT);
    hasher.update(&json);
    (to_id(&hasher.finalize()), kind)
}

/// The id of the `index`-th event of the command submitted under `idempotency_key`.
#[must_use]
pub fn event_id(idempotency_key: &str, index: u32) -> EventId {
    let mut hasher = blake3::Hasher::new_derive_key(EVENT_CONTEXT);
    hasher.update(&(idempotency_key.len() as u64).to_le_bytes());
    hasher.update(idempotency_key.as_bytes());
    hasher.update(&index.to_le_bytes());
    to_id(&hasher.finalize())
}
