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

/// The content id of a command: a digest of its canonical encoding. Stored as the causation
/// id of every event the command produced.
#[must_use]
pub fn command_id(command: &Command) -> EventId {
    describe(command).0
}

/// The command's content id and its type name. The digest is over the command's postcard
/// encoding (deterministic: the same command gives the same bytes).
pub(crate) fn describe(command: &Command) -> (EventId, &'static str) {
    // postcard handles every command (tested); JSON is the fallback should one ever not fit.
    let bytes =
        postcard::to_stdvec(command).or_else(|_| serde_json::to_vec(command)).unwrap_or_default();
    let mut hasher = blake3::Hasher::new_derive_key(COMMAND_CONTEXT);
    hasher.update(&bytes);
    (to_id(&hasher.finalize()), command.kind())
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
