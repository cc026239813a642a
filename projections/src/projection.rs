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

    /// The version of what [`Projection::apply`] writes. Bump it with any change that makes
    /// the stored state differ from what the new code would build from the log (a new key, a
    /// changed value, a fix): a store whose view was built by another version rebuilds it
    /// online at start (blue/green), answering from the old generation until the new one has
    /// caught up ([`crate::ViewStore::stale`]).
    fn version(&self) -> u32;

    /// Applies one event. Writes go to `tx` and land atomically with the checkpoint.
    fn apply(&self, tx: &mut Tx<'_>, event: &Applied<'_>) -> Result<(), ApplyError>;
}
