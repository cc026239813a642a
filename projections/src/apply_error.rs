//! Why a projection could not apply an event: the event's fault, or the storage's.

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
