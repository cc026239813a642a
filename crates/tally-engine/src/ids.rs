//! Ids the engine derives: a command's content id and its events' ids.
//!
//! A command id is the keyed blake3 digest of the command's *canonical JSON* under a versioned
//! context ([`COMMAND_ID_VERSION`]): the command's JSON form (the one the API and `tally
//! import` accept), with object keys sorted by their bytes, `null` members left out, no
//! whitespace. The id depends on the command's meaning as JSON, not on the layout of the Rust
//! type: adding a variant, or an optional field that is absent (`null`), changes no id.
//! Renaming a field or a type tag, or changing how a value is written, changes ids; the golden
//! tests (`tests/it/idempotency.rs`) fail then, and such a change must bump the version and
//! say how stored ids are compared on retry.

use tally_domain::Command;
use tally_log::EventId;

/// Version of the command-id encoding. 1 (before 2026-12) hashed the postcard layout of the
/// Rust `Command` enum, which changed with every new field or variant; 2 hashed canonical JSON
/// with rates written in parts per million; 3 writes rates as decimal fraction strings
/// (`"0.08"`). A store's ids are compared only within its store format (3 since version 3).
pub const COMMAND_ID_VERSION: u32 = 3;

const COMMAND_CONTEXT: &str = "tally 2026-12-07 engine command id v3 canonical json";
const EVENT_CONTEXT: &str = "tally 2026-11-26 engine event id v1";

fn to_id(hash: &blake3::Hash) -> EventId {
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&hash.as_bytes()[..16]);
    // Zero is reserved; a hash of 128 zero bits is not a practical concern, but stay total.
    EventId::new(u128::from_be_bytes(raw)).unwrap_or(EventId::MAX)
}

/// Why a command has no id: its JSON form could not be written (not expected of any
/// command; answered as invalid input rather than hashed as something else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the command has no canonical json form: {0}")]
pub struct CommandIdError(String);

/// The canonical JSON of `command` (what [`command_id`] hashes).
pub fn canonical_json(command: &Command) -> Result<String, CommandIdError> {
    let value = serde_json::to_value(command).map_err(|e| CommandIdError(e.to_string()))?;
    let mut out = String::new();
    write_canonical(&value, &mut out)?;
    Ok(out)
}

fn write_canonical(value: &serde_json::Value, out: &mut String) -> Result<(), CommandIdError> {
    use serde_json::Value;
    let text = |s: &str| serde_json::to_string(s).map_err(|e| CommandIdError(e.to_string()));
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&text(s)?),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            // Sorted here, whatever order the map keeps (serde_json's `preserve_order`
            // feature, if any crate ever enables it, keeps insertion order).
            let mut sorted: Vec<(&String, &Value)> =
                members.iter().filter(|(_, v)| !v.is_null()).collect();
            sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&text(key)?);
                out.push(':');
                write_canonical(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// The content id of a command: the digest of its canonical JSON under the versioned
/// context. Stored as the causation id of every event the command produced.
pub fn command_id(command: &Command) -> Result<EventId, CommandIdError> {
    let json = canonical_json(command)?;
    let mut hasher = blake3::Hasher::new_derive_key(COMMAND_CONTEXT);
    hasher.update(json.as_bytes());
    Ok(to_id(&hasher.finalize()))
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
