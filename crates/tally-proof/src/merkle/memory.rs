//! [`MemoryNodes`]: every complete node in memory, one `Vec` per level — for tests and for the
//! offline bundle verifier, which rebuilds the tree from the bundle's events.

use crate::hash::Digest;
use crate::merkle::frontier::Frontier;
use crate::merkle::node::{NodeId, NodeSource};

/// All complete nodes of a tree, built by pushing leaves. Holds about two digests per leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryNodes {
    levels: Vec<Vec<Digest>>,
    frontier: Frontier,
}

impl MemoryNodes {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Digest>) -> Self {
        let mut nodes = Self::new();
        for leaf in leaves {
            nodes.push(leaf);
        }
        nodes
    }

    /// Appends a leaf hash, storing every node it completes.
    ///
    /// # Panics
    /// As [`Frontier::push`].
    pub fn push(&mut self, leaf: Digest) {
        let levels = &mut self.levels;
        self.frontier.push_with(leaf, |id, digest| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, id.index);
            levels[level].push(digest);
        });
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the current tree.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }

    /// The frontier of the current tree.
    #[must_use]
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl NodeSource for MemoryNodes {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Digest, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.levels.get(usize::from(level))?.get(index))
            .copied()
            .ok_or(MissingNode { id: NodeId::new(level, index) })
    }
}

/// A node that is not (yet) complete in a [`MemoryNodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{id} is not a complete node of the tree")]
pub struct MissingNode {
    /// The node asked for.
    pub id: NodeId,
}
