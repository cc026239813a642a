//! The projection contract: a named view that applies decoded events, one at a time, in seq
//! order, through a [`Tx`].

pub use crate::apply_error::ApplyError;
use crate::tx::Tx;
use tally_domain::Event;
use tally_log::Digest;

/// One event as a projection sees it: the decoded payload and its envelope.
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    /// Global seq.
    pub seq: u64,
    /// Chain hash of the stored frame.
    pub hash: &'a Digest,
    /// Entity stream.
    pub stream: &'a str,
    /// Version within the stream.
    pub stream_version: u64,
    /// Stored type name.
    pub event_type: &'a str,
    /// Business time, ms since the epoch.
    pub occurred_at_ms: i64,
    /// Ledger time, ms since the epoch.
    pub recorded_at_ms: i64,
    /// Who.
    pub actor: &'a str,
    /// From where.
    pub source: &'a str,
    /// The decoded event.
    pub event: &'a Event,
}

/// A view built from the log. Implementations must be deterministic: the same events give the
/// same bytes, so a rebuild equals the live view byte for byte.
pub trait Projection: Send + Sync + 'static {
    /// Stable name (lowercase, `[a-z_]`); the keyspace and API name derive from it.
    fn name(&self) -> &'static str;

    /// Applies one event. Writes go to `tx` and land atomically with the checkpoint.
    fn apply(&self, tx: &mut Tx<'_>, event: &Applied<'_>) -> Result<(), ApplyError>;
}
