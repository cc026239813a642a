//! The hash constructions of the chain: one keyed blake3 per stored frame.

use std::sync::LazyLock;

/// A blake3 digest.
pub type Digest = [u8; 32];

/// The `prev_hash` of the first frame.
pub const GENESIS: Digest = [0; 32];

const CHAIN_CONTEXT: &str = "tally 2026-11-26 log chain v1";
const BODY_CONTEXT: &str = "tally 2026-11-26 event body v1";

static CHAIN_KEY: LazyLock<Digest> = LazyLock::new(|| blake3::derive_key(CHAIN_CONTEXT, &[]));
static BODY_KEY: LazyLock<Digest> = LazyLock::new(|| blake3::derive_key(BODY_CONTEXT, &[]));

/// `hash = blake3_keyed(K_chain, prev_hash ‖ frame)`, over the exact stored frame bytes.
#[must_use]
pub fn chain_hash(prev: &Digest, frame: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_keyed(&CHAIN_KEY);
    hasher.update(prev);
    hasher.update(frame);
    *hasher.finalize().as_bytes()
}

/// Digest of what a caller submitted for one event: the keyed hash of its frame template (the
/// frame with seq, stream version, recorded_at and prev_hash zeroed). Equal digests mean an
/// idempotent retry; a different digest under the same event id is a conflict.
#[must_use]
pub fn body_digest(template: &[u8]) -> Digest {
    *blake3::keyed_hash(&BODY_KEY, template).as_bytes()
}
