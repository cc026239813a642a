//! The log's own digest: the idempotency body digest. The chain hash itself is defined once,
//! in `tally_proof::hash`, and re-exported from here.

use std::sync::LazyLock;
pub use tally_proof::hash::{Digest, GENESIS, chain_hash};

const BODY_CONTEXT: &str = "tally 2026-11-26 event body v1";

static BODY_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| blake3::derive_key(BODY_CONTEXT, &[]));

/// Digest of what a caller submitted for one event: the keyed hash of its frame template (the
/// frame with seq, stream version, recorded_at and prev_hash zeroed). Equal digests mean an
/// idempotent retry; a different digest under the same event id is a conflict.
#[must_use]
pub fn body_digest(template: &[u8]) -> Digest {
    Digest::from_bytes(*blake3::keyed_hash(&BODY_KEY, template).as_bytes())
}
