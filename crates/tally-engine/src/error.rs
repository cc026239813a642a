//! Errors of the engine: typed, each with a stable code for the API.

use tally_domain::Rejection;

/// Why a submission was not accepted. Nothing was appended in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The domain refused the command.
    #[error("{0}")]
    Rejected(Rejection),
    /// The idempotency key was used for a different command.
    #[error("idempotency key '{key}' was already used for a different command")]
    IdempotencyConflict {
        /// The key.
        key: String,
    },
    /// The submission is malformed (key, source, actor).
    #[error("invalid submission: {0}")]
    Invalid(String),
    /// The engine cannot take commands (shut down, or stopped by a failure).
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The store could not make events durable (a full disk, an I/O error). Nothing of this
    /// submission was acknowledged; if the failed write reached the disk anyway, a retry with
    /// the same idempotency key finds it. The engine takes no more commands until it is
    /// restarted (fail-stop: the storage engine's state after a failed write is unknown).
    #[error("storage failed: {0}")]
    StorageFailed(String),
    /// The store disagrees with what it acknowledged (its log lost events its high-water mark
    /// or its views have seen): the engine refuses every command until an operator acts, so
    /// no seq is reused and no idempotency key accepted twice. See docs/operations.md.
    #[error("the store refuses writes: {0}")]
    IntegrityFailed(String),
}

impl SubmitError {
    /// A stable machine code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.code(),
            Self::IdempotencyConflict { .. } => "IDEMPOTENCY_CONFLICT",
            Self::Invalid(_) => "INVALID_INPUT",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::StorageFailed(_) => "STORAGE_FAILED",
            Self::IntegrityFailed(_) => "INTEGRITY_FAILED",
        }
    }
}

/// Why the engine could not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The log refused to open (corruption, storage).
    #[error("log: {0}")]
    Log(#[from] tally_log::Error),
    /// The views could not open.
    #[error("views: {0}")]
    Views(#[from] tally_projections::Error),
    /// A stored event cannot be decoded into the domain.
    #[error("event at seq {seq} cannot be decoded: {reason}")]
    Decode {
        /// The seq.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A stored event breaks an invariant of the decision state (a sum past the bounds of
    /// `tally_domain::limits`, from a store written before they were checked). The state
    /// cannot be rebuilt without wrapping, so the engine does not open.
    #[error(
        "event at seq {seq} breaks the decision state ({reason}); the store holds events \
         written before the bounds of tally_domain::limits were enforced"
    )]
    Invariant {
        /// The seq.
        seq: u64,
        /// What broke.
        reason: String,
    },
    /// The store of closed orders kept outside the decision state failed.
    #[error("{0}")]
    Spill(#[from] crate::spill::SpillError),
    /// The submission counters (outside the log) could not be opened.
    #[error("{0}")]
    Stats(#[from] crate::stats::StatsError),
    /// The store was written in another store format (stream naming, command ids).
    #[error("{0}")]
    Format(#[from] crate::format::FormatError),
    /// A stored event is not on the stream its body names: the store was written with
    /// another stream naming.
    #[error(
        "event at seq {seq} is stored on stream '{stored}' but belongs to '{expected}': the store was written with another stream naming; this tally reads store format {} only",
        crate::format::STORE_FORMAT
    )]
    StreamNaming {
        /// The seq.
        seq: u64,
        /// The stream it is stored on.
        stored: String,
        /// The stream its body names.
        expected: String,
    },
    /// A thread could not start.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
