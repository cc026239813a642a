//! Errors of the log: operating errors callers handle, and corruption that stops the log.

use crate::chain::Digest;
use crate::ids::EventId;

/// `Result` with the log's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What is wrong with stored data. Found by opening, reading or verifying; never by appending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The recomputed hash of a frame differs from the one stored, or a frame does not link to
    /// the hash of the frame before it.
    #[error("chain broken at seq {seq}: expected hash {expected}, found {found}")]
    ChainBroken {
        /// The first seq that fails.
        seq: u64,
        /// What the chain says the hash must be.
        expected: Digest,
        /// What is stored.
        found: Digest,
    },
    /// A frame that must exist is missing.
    #[error("frame {seq} is missing")]
    MissingFrame {
        /// The missing seq.
        seq: u64,
    },
    /// A frame is stored under a key that is not its own seq.
    #[error("frame stored under seq {key} says it is seq {found}")]
    MisplacedFrame {
        /// The key it is stored under.
        key: u64,
        /// The seq inside the frame.
        found: u64,
    },
    /// Stored bytes do not parse as a frame.
    #[error("frame {seq} is malformed: {reason}")]
    MalformedFrame {
        /// The seq key.
        seq: u64,
        /// What does not parse.
        reason: String,
    },
    /// A frame exists beyond the durable head.
    #[error("frame {seq} exists beyond the head at seq {head}")]
    BeyondHead {
        /// The frame's seq.
        seq: u64,
        /// The head's seq.
        head: u64,
    },
    /// The head record is missing or malformed while frames exist.
    #[error("head record: {0}")]
    Head(String),
    /// An index entry disagrees with the frames.
    #[error("index '{index}' disagrees with frame {seq}: {reason}")]
    Index {
        /// Which index.
        index: &'static str,
        /// The frame concerned (0 when the entry points nowhere).
        seq: u64,
        /// What differs.
        reason: String,
    },
    /// The stored Merkle tree disagrees with the frames.
    #[error("merkle tree: {0}")]
    Merkle(String),
    /// The log does not contain what a trusted checkpoint attests.
    #[error("checkpoint of size {size}: {reason}")]
    Checkpoint {
        /// The checkpoint's tree size.
        size: u64,
        /// What differs.
        reason: String,
    },
    /// The log disagrees with its durable high-water mark: acknowledged batches are missing,
    /// or the mark cannot vouch for the log. The log serves reads and refuses every write.
    #[error("high-water mark: {0}")]
    HighWaterMark(String),
    /// A file the storage engine needs is missing from the store's directory.
    #[error("store files: {0}")]
    Files(String),
    /// The trusted starting point of an incremental verification does not match.
    #[error("trusted point seq {seq} does not match: expected hash {expected}, found {found}")]
    TrustedMismatch {
        /// The trusted seq.
        seq: u64,
        /// The trusted hash.
        expected: Digest,
        /// The stored hash.
        found: Digest,
    },
}

/// An error of the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed. A failed write poisons the log: restart to recover.
    #[error("storage: {0}")]
    Storage(#[from] fjall::Error),
    /// Stored data is corrupt; the log refuses to go on.
    #[error("corruption: {0}")]
    Corrupt(#[from] Corruption),
    /// A stream's current version is not what the append expected.
    #[error("version conflict on stream '{stream}': expected {expected}, current {current}")]
    VersionConflict {
        /// The stream.
        stream: String,
        /// What the caller expected, in words ("no stream", "version 3", ...).
        expected: String,
        /// Its current version (0 = no stream).
        current: u64,
    },
    /// An event id is already stored with a different body, or a batch mixes stored and new
    /// events.
    #[error("idempotency conflict: event {event_id} {reason}")]
    IdempotencyConflict {
        /// The event id.
        event_id: EventId,
        /// What conflicts.
        reason: String,
    },
    /// A value is over a configured limit.
    #[error("{what} is {value}, over the limit of {max}")]
    LimitExceeded {
        /// What is measured, with its unit.
        what: &'static str,
        /// The value.
        value: usize,
        /// The limit.
        max: usize,
    },
    /// The request is malformed.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// An earlier write failed; the log accepts no more appends until it is reopened.
    #[error("the log is poisoned by an earlier write failure ({0}); restart to recover")]
    Poisoned(String),
    /// The log is shutting down.
    #[error("the log is closed")]
    Closed,
    /// The directory could not be prepared.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether this error means stored data is corrupt.
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(self, Self::Corrupt(_))
    }

    /// Whether the store is locked by another process (a running `tally serve` holds it): the
    /// open failed before reading anything.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Storage(fjall::Error::Locked))
    }

    /// When this is a storage-engine error that means the store's files are damaged or
    /// missing (rather than, say, a locked store or a permission problem): what it says about
    /// them, in words. fjall does not name the file, only what it found.
    #[must_use]
    pub fn damage(&self) -> Option<&'static str> {
        match self {
            Self::Storage(err) => storage_damage(err),
            _ => None,
        }
    }
}

/// [`Error::damage`] for a fjall error.
#[must_use]
pub fn storage_damage(err: &fjall::Error) -> Option<&'static str> {
    use fjall::{Error as F, LsmError as L};
    let io = |e: &std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Some("a file the storage engine needs is missing"),
        std::io::ErrorKind::UnexpectedEof => Some("a file is shorter than its contents say"),
        // Reading past the end of a truncated table file.
        std::io::ErrorKind::InvalidInput => Some("a table or version file is truncated"),
        std::io::ErrorKind::AlreadyExists => {
            Some("the store's 'version' marker is missing, so fjall took it for a new store")
        }
        _ => None,
    };
    match err {
        F::JournalRecovery(_) | F::InvalidTrailer | F::InvalidTag(_) => {
            Some("the journal is damaged (a batch fails its checksum or does not decode)")
        }
        F::InvalidVersion(_) => Some("the store's 'version' marker is damaged"),
        F::Decompress(_) => Some("a compressed value does not decompress"),
        F::Unrecoverable => Some("a table or version file is missing or truncated"),
        F::Io(e) => io(e),
        F::Storage(inner) => match inner {
            L::ChecksumMismatch { .. } => {
                Some("a block of a table or version file fails its checksum")
            }
            L::InvalidHeader(_) | L::InvalidTrailer | L::InvalidTag(_) => {
                Some("a table or version file does not decode (damaged header or trailer)")
            }
            L::InvalidVersion(_) => Some("a version file is damaged"),
            L::Unrecoverable => Some("a table or version file is missing or truncated"),
            L::Decompress(_) => Some("a compressed block does not decompress"),
            L::Io(e) => io(e),
            _ => None,
        },
        _ => None,
    }
}
