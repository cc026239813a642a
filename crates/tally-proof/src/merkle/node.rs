//! Node identities `(level, index)` and the [`NodeSource`] that proofs read stored nodes from.

use std::fmt;

use crate::hash::Digest;

/// Length of [`NodeId::to_bytes`].
pub const NODE_ID_BYTES: usize = 9;

/// A complete perfect subtree: `level` 0 is a leaf; node `(level, index)` covers the leaves
/// `[index·2^level, (index+1)·2^level)`.
///
/// Byte form ([`NodeId::to_bytes`], 9 bytes): `level` (1 byte) ‖ `index` (u64 big-endian), so
/// that keys sort by level, then by position — a range scan over one level reads it in order.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct NodeId {
    /// Height above the leaves, 0..=63.
    pub level: u8,
    /// Position within the level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node `(level, index)`.
    #[must_use]
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// `level ‖ index (u64 big-endian)`.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; NODE_ID_BYTES] {
        let mut bytes = [0; NODE_ID_BYTES];
        bytes[0] = self.level;
        bytes[1..].copy_from_slice(&self.index.to_be_bytes());
        bytes
    }

    /// Reads [`NodeId::to_bytes`]; `None` if the slice is not 9 bytes long.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&level, rest) = bytes.split_first()?;
        let index: [u8; 8] = rest.try_into().ok()?;
        Some(Self { level, index: u64::from_be_bytes(index) })
    }

    /// The first leaf the node covers, or `None` if that does not fit in a u64.
    #[must_use]
    pub fn first_leaf(&self) -> Option<u64> {
        self.index.checked_mul(1u64.checked_shl(u32::from(self.level))?)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node ({}, {})", self.level, self.index)
    }
}

/// Reads stored complete-subtree nodes.
///
/// Proof generation asks only for nodes that are complete in the tree it proves about, and
/// for O(log n) of them per proof.
pub trait NodeSource {
    /// Why a node could not be read (missing, storage error).
    type Error;

    /// The hash of the complete node `(level, index)`: for level 0 the leaf hash, above it
    /// [`node_hash`](crate::hash::node_hash) of its two children.
    fn node(&self, level: u8, index: u64) -> Result<Digest, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Digest, Self::Error> {
        (**self).node(level, index)
    }
}
