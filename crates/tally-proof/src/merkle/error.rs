//! Why a proof did not verify ([`ProofError`]) or could not be made ([`ProveError`]).

use crate::hash::Digest;

/// Why a proof failed to verify or parse. Each variant names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The index asked about.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOrder {
        /// The earlier size.
        old_size: u64,
        /// The later size.
        new_size: u64,
    },
    /// A size beyond [`TREE_SIZE_MAX`](crate::merkle::TREE_SIZE_MAX).
    #[error("tree size {size} exceeds the maximum")]
    SizeTooLarge {
        /// The size.
        size: u64,
    },
    /// The proof says it is about another index or size than the one being verified.
    #[error("proof is for {field} {found}, expected {expected}")]
    ProofFor {
        /// `"leaf index"`, `"tree size"`, `"old tree size"` or `"new tree size"`.
        field: &'static str,
        /// The value the verifier asked about.
        expected: u64,
        /// The value the proof carries.
        found: u64,
    },
    /// The proof has the wrong number of hashes for its index and sizes.
    #[error("proof has {found} hashes, expected {expected}")]
    PathLength {
        /// Hashes the index and sizes call for.
        expected: usize,
        /// Hashes in the proof.
        found: usize,
    },
    /// The root computed from the proof is not the root given.
    #[error("root of tree size {size} mismatch: expected {expected}, computed {found}")]
    RootMismatch {
        /// The tree size whose root did not match.
        size: u64,
        /// The root the verifier was given (trusted).
        expected: Digest,
        /// The root the proof leads to.
        found: Digest,
    },
    /// The binary form is malformed.
    #[error("malformed proof: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

/// Why a proof could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError<E> {
    /// The request is invalid (index out of range, sizes out of order, size too large).
    #[error(transparent)]
    Invalid(#[from] ProofError),
    /// The node source failed (missing node, storage error).
    #[error("reading a merkle node")]
    Source(#[source] E),
}
