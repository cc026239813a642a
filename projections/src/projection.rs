//! The projection contract: a named view that applies decoded events, one at a time, in seq
//! order, through a [`Tx`].

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

/// Why a projection could not apply an event.
///
/// The two kinds are handled differently because only one of them is a property of the
/// event: a [`ApplyError::Rejected`] event would be refused again by a rebuild, so it is
/// quarantined for that projection (recorded with its seq and reason) and the projection goes
/// on; a [`ApplyError::Storage`] failure says nothing about the event, so the view store stops
/// (nothing of the chunk is committed, the checkpoint stays) and a restart retries it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// This event cannot apply to this view; the same event always fails the same way.
    #[error("{0}")]
    Rejected(String),
    /// The view's storage failed while applying (an I/O error): not the event's fault.
    #[error("view storage: {0}")]
    Storage(String),
}

impl ApplyError {
    /// A deterministic rejection with a message (the event is quarantined).
    pub fn new(message: impl Into<String>) -> Self {
        Self::Rejected(message.into())
    }

    /// A storage failure (the view store stops until restarted).
    pub fn storage(message: impl Into<String>) -> Self {
        Self::Storage(message.into())
    }

    /// Whether this is a storage failure rather than a property of the event.
    #[must_use]
    pub fn is_storage(&self) -> bool {
        matches!(self, Self::Storage(_))
    }
}

/// A view built from the log. Implementations must be deterministic: the same events give the
/// same bytes, so a rebuild equals the live view byte for byte.
pub trait Projection: Send + Sync + 'static {
    /// Stable name (lowercase, `[a-z_]`); the keyspace and API name derive from it.
    fn name(&self) -> &'static str;

    /// Applies one event. Writes go to `tx` and land atomically with the checkpoint.
    fn apply(&self, tx: &mut Tx<'_>, event: &Applied<'_>) -> Result<(), ApplyError>;
}
