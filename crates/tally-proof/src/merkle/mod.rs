//! The RFC 9162 Merkle tree over event hashes: stored nodes, the incremental frontier, proofs.
//!
//! Leaf `i` (0-based) is [`leaf_hash`](crate::hash::leaf_hash) of the chain hash of the event
//! at seq `i + 1`. The tree of size `n` is RFC 9162's `MTH(D[0:n])` with the hashes of
//! [`crate::hash`].
//!
//! Storage model: every *complete* perfect subtree is a node `(level, index)` covering the
//! leaves `[index·2^level, (index+1)·2^level)`; once complete it never changes, so the log
//! stores each one once, in the batch that completes it ([`Frontier::push`]). The root at any
//! size, and every proof, is composed from O(log n) such nodes ([`NodeSource`]); the ragged
//! right edge of a tree whose size is not a power of two is hashed on the fly.

mod error;
mod frontier;
mod memory;
mod node;
mod proof;
mod prove;
mod verify;

pub use error::{ProofError, ProveError};
pub use frontier::{FRONTIER_VERSION, Frontier, FrontierError, TREE_SIZE_MAX};
pub use memory::{MemoryNodes, MissingNode};
pub use node::{NODE_ID_BYTES, NodeId, NodeSource};
pub use proof::{ConsistencyProof, InclusionProof, PROOF_HASHES_MAX};
pub use prove::{consistency_proof, inclusion_proof, root_at};
pub use verify::{verify_consistency, verify_inclusion, verify_inclusion_leaf};
