//! Keyspaces and key encodings: where each part of the log lives in fjall.
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `frames` | seq (u64 big-endian) | frame ‖ hash (see [`crate::frame`]) |
//! | `streams` | stream length (u8) ‖ stream id ‖ stream version (u64 BE) | seq (u64 BE) |
//! | `event_ids` | event id (u128 BE) | seq (u64 BE) ‖ stream version (u64 BE) ‖ body digest (32) |
//! | `meta` | `head` | seq (u64 BE) ‖ hash (32) ‖ recorded_at ms (i64 BE) |
//! | `meta` | `format` | format version (u8) |
//! | `meta` | `commits` | batches committed by the writer (u64 BE); see [`crate::mark`] |
//! | `meta` | `frontier` | Merkle frontier (`tally_proof::merkle::Frontier::to_bytes`) |
//! | `meta` | `counts` | events per type: repeated `len u8 ‖ type ‖ count u64 BE` |
//! | `meta` | `checkpoint/` ‖ size (u64 BE) | signed checkpoint note (text) |
//! | `merkle` | level (u8) ‖ index (u64 BE) | node digest (32), levels ≥ 1 only |
//!
//! Big-endian keys make fjall's byte order the numeric order. One fjall batch per commit group
//! writes all of them, so they never disagree after a crash.

use crate::chain::Digest;

/// Frames by seq.
pub const FRAMES: &str = "frames";
/// Stream index: (stream, version) → seq.
pub const STREAMS: &str = "streams";
/// Event-id index: id → (seq, stream version, body digest).
pub const EVENT_IDS: &str = "event_ids";
/// Head and format markers.
pub const META: &str = "meta";

/// Merkle nodes of level ≥ 1.
pub const MERKLE: &str = "merkle";

/// Meta key of the Merkle frontier.
pub const META_FRONTIER: &[u8] = b"frontier";
/// Meta key of the per-type event counts.
pub const META_COUNTS: &[u8] = b"counts";
/// Prefix of the meta keys of checkpoints.
pub const META_CHECKPOINT_PREFIX: &[u8] = b"checkpoint/";

/// Meta key of the durable head.
pub const META_HEAD: &[u8] = b"head";
/// Meta key of the format version.
pub const META_FORMAT: &[u8] = b"format";
/// Meta key of the commit count: the ordinal of the last batch the writer committed. Its
/// presence also says the store keeps a high-water mark file ([`crate::mark`]).
pub const META_COMMITS: &[u8] = b"commits";

/// Key of a frame.
#[must_use]
pub fn frame_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Prefix shared by every index key of `stream`.
#[must_use]
pub fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + stream.len() + 8);
    // Stream ids are at most 255 bytes (checked at append).
    key.push(u8::try_from(stream.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(stream.as_bytes());
    key
}

/// Index key of (stream, version).
#[must_use]
pub fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// Value of an event-id index entry.
#[must_use]
pub fn event_id_value(seq: u64, stream_version: u64, digest: &Digest) -> [u8; 48] {
    let mut out = [0; 48];
    out[..8].copy_from_slice(&seq.to_be_bytes());
    out[8..16].copy_from_slice(&stream_version.to_be_bytes());
    out[16..].copy_from_slice(digest.as_bytes());
    out
}

/// Parses an event-id index value.
#[must_use]
pub fn parse_event_id_value(value: &[u8]) -> Option<(u64, u64, Digest)> {
    if value.len() != 48 {
        return None;
    }
    let seq = be_u64(&value[..8])?;
    let version = be_u64(&value[8..16])?;
    let digest = Digest::from_slice(&value[16..]).ok()?;
    Some((seq, version, digest))
}

/// Value of the head entry.
#[must_use]
pub fn head_value(seq: u64, hash: &Digest, recorded_at_ms: i64) -> [u8; 48] {
    let mut out = [0; 48];
    out[..8].copy_from_slice(&seq.to_be_bytes());
    out[8..40].copy_from_slice(hash.as_bytes());
    out[40..].copy_from_slice(&recorded_at_ms.to_be_bytes());
    out
}

/// Parses the head entry.
#[must_use]
pub fn parse_head_value(value: &[u8]) -> Option<(u64, Digest, i64)> {
    if value.len() != 48 {
        return None;
    }
    let seq = be_u64(&value[..8])?;
    let hash = Digest::from_slice(&value[8..40]).ok()?;
    let recorded = be_u64(&value[40..])? as i64;
    Some((seq, hash, recorded))
}

/// Reads a big-endian u64 from exactly eight bytes.
#[must_use]
pub fn be_u64(bytes: &[u8]) -> Option<u64> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(array))
}
