//! The durable head: the last event every reader may see and every caller was answered for.

use crate::chain::{Digest, GENESIS};

/// The last durable event: every seq up to it is stored and acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Seq of the last durable event (0 for an empty log).
    pub seq: u64,
    /// Its chain hash ([`GENESIS`] for an empty log).
    pub hash: Digest,
    /// Its recorded_at, ms since the Unix epoch (0 for an empty log).
    pub recorded_at_ms: i64,
}

impl Head {
    /// The head of an empty log.
    pub const EMPTY: Self = Self { seq: 0, hash: GENESIS, recorded_at_ms: 0 };
}
