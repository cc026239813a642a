//! The [`Frontier`]: the roots of the perfect subtrees that cover the leaves `[0, size)`.

use crate::hash::{DIGEST_BYTES, Digest, empty_root, node_hash};
use crate::merkle::node::{NodeId, NodeSource};

/// The largest tree size the crate accepts: levels then stay below 63, so `1 << level` and
/// `index << level` never overflow.
pub const TREE_SIZE_MAX: u64 = u64::MAX >> 1;

/// The first byte of [`Frontier::to_bytes`].
pub const FRONTIER_VERSION: u8 = 1;

const FRONTIER_HEADER_BYTES: usize = 1 + 8;

/// The compact range `[0, size)`: one root per set bit of `size`, largest (leftmost) first.
///
/// This is all the state the append path needs: [`Frontier::push`] adds a leaf in O(log n)
/// hashes (amortised two) and returns the nodes it completed, and [`Frontier::root`] gives
/// the RFC 9162 root of the current size.
///
/// Byte form ([`Frontier::to_bytes`]), `8 + 1 + 32·popcount(size)` bytes:
///
/// ```text
/// version: u8 = 1 | size: u64 big-endian | roots: popcount(size) × 32 bytes, leftmost first
/// ```
///
/// Root `j` is the node at the level of the `j`-th highest set bit of `size`.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Frontier {
    size: u64,
    roots: Vec<Digest>,
}

impl Frontier {
    /// The frontier of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots, leftmost (largest) first.
    #[must_use]
    pub fn roots(&self) -> &[Digest] {
        &self.roots
    }

    /// The ids of the subtree roots, leftmost (largest) first.
    pub fn root_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        cover(0, self.size)
    }

    /// The RFC 9162 root of the tree of the current size; [`empty_root`] for size 0.
    #[must_use]
    pub fn root(&self) -> Digest {
        fold_right(&self.roots)
    }

    /// Appends a leaf and returns every node it completes, lowest first: always the leaf at
    /// level 0, then one node per level while subtrees merge. Amortised two per leaf.
    ///
    /// # Panics
    /// If the tree already holds [`TREE_SIZE_MAX`] leaves (a programmer error: at a million
    /// leaves per second that takes 290 000 years).
    pub fn push(&mut self, leaf: Digest) -> Vec<(NodeId, Digest)> {
        let mut completed = Vec::with_capacity(2);
        self.push_with(leaf, |id, digest| completed.push((id, digest)));
        completed
    }

    /// [`Frontier::push`] without the allocation: hands each completed node to `emit`.
    ///
    /// # Panics
    /// As [`Frontier::push`].
    pub fn push_with(&mut self, leaf: Digest, mut emit: impl FnMut(NodeId, Digest)) {
        assert!(self.size < TREE_SIZE_MAX, "merkle tree is full at {} leaves", self.size);
        let index = self.size;
        let mut node = leaf;
        let mut level: u8 = 0;
        emit(NodeId::new(level, index), node);
        while (index >> level) & 1 == 1 {
            let left = self.roots.pop().expect("frontier holds one root per set bit of its size");
            node = node_hash(&left, &node);
            level += 1;
            emit(NodeId::new(level, index >> level), node);
        }
        self.roots.push(node);
        self.size = index + 1;
        debug_assert_eq!(self.roots.len(), self.size.count_ones() as usize);
    }

    /// Reads the frontier of a tree of `size` from stored nodes (`popcount(size)` reads), e.g.
    /// to check the stored frontier against the nodes on recovery.
    pub fn from_source<S: NodeSource>(
        source: &S,
        size: u64,
    ) -> Result<Self, FrontierError<S::Error>> {
        if size > TREE_SIZE_MAX {
            return Err(FrontierError::SizeTooLarge { size });
        }
        let roots = cover(0, size)
            .map(|id| source.node(id.level, id.index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(FrontierError::Source)?;
        Ok(Self { size, roots })
    }

    /// The byte form documented on [`Frontier`].
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(FRONTIER_HEADER_BYTES + DIGEST_BYTES * self.roots.len());
        bytes.push(FRONTIER_VERSION);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        for root in &self.roots {
            bytes.extend_from_slice(root.as_bytes());
        }
        bytes
    }

    /// Reads [`Frontier::to_bytes`], strictly: version, size and length must agree.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(FrontierError::Truncated { found: 0 });
        };
        if version != FRONTIER_VERSION {
            return Err(FrontierError::Version { found: version });
        }
        let Some((size, roots)) = rest.split_first_chunk::<8>() else {
            return Err(FrontierError::Truncated { found: bytes.len() });
        };
        let size = u64::from_be_bytes(*size);
        if size > TREE_SIZE_MAX {
            return Err(FrontierError::SizeTooLarge { size });
        }
        let expected = FRONTIER_HEADER_BYTES + DIGEST_BYTES * size.count_ones() as usize;
        if bytes.len() != expected {
            return Err(FrontierError::Length { size, expected, found: bytes.len() });
        }
        let roots = roots
            .chunks_exact(DIGEST_BYTES)
            .map(Digest::from_slice)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| FrontierError::Length { size, expected, found: bytes.len() })?;
        Ok(Self { size, roots })
    }
}

/// Why a frontier could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrontierError<E = std::convert::Infallible> {
    /// Shorter than the 9-byte header.
    #[error("frontier is truncated: {found} bytes")]
    Truncated {
        /// Bytes found.
        found: usize,
    },
    /// Unknown version byte.
    #[error("frontier version {found} is unknown, expected {FRONTIER_VERSION}")]
    Version {
        /// Version found.
        found: u8,
    },
    /// Size above [`TREE_SIZE_MAX`].
    #[error("frontier size {size} exceeds the maximum {TREE_SIZE_MAX}")]
    SizeTooLarge {
        /// Size found.
        size: u64,
    },
    /// The length does not match one root per set bit of the size.
    #[error("frontier of size {size} must be {expected} bytes, found {found}")]
    Length {
        /// Tree size in the header.
        size: u64,
        /// Bytes expected for that size.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// A node could not be read from the source.
    #[error("reading a frontier node")]
    Source(#[source] E),
}

/// The complete nodes that cover the leaves `[start, end)`, left to right, largest first.
///
/// `start` must be a multiple of the largest power of two not above `end - start` (true for
/// every range the tree composes: the whole tree from 0, and right-edge subtrees starting at a
/// multiple of a power of two at least their length).
pub(crate) fn cover(start: u64, end: u64) -> impl Iterator<Item = NodeId> {
    let len = end.saturating_sub(start);
    let mut offset = start;
    (0..64u8).rev().filter(move |level| (len >> level) & 1 == 1).map(move |level| {
        let id = NodeId::new(level, offset >> level);
        offset += 1 << level;
        id
    })
}

/// `node(r0, node(r1, … node(r_{k-2}, r_{k-1})))`: the RFC 9162 hash of consecutive perfect
/// subtrees of strictly decreasing size; [`empty_root`] for none.
pub(crate) fn fold_right(roots: &[Digest]) -> Digest {
    let Some((last, rest)) = roots.split_last() else {
        return empty_root();
    };
    rest.iter().rev().fold(*last, |acc, left| node_hash(left, &acc))
}
