//! Shared test helpers: deterministic leaves and a node source that counts reads.

use std::cell::Cell;

use tally_proof::hash::{Digest, chain_hash, leaf_hash};
use tally_proof::merkle::{MemoryNodes, MissingNode, NodeSource};

/// The event hash of a made-up event `i`.
pub fn event_hash(i: u64) -> Digest {
    chain_hash(&Digest::from_bytes([7; 32]), &i.to_le_bytes())
}

/// `n` leaf hashes.
pub fn leaves(n: u64) -> Vec<Digest> {
    (0..n).map(|i| leaf_hash(&event_hash(i))).collect()
}

/// A node source that counts `node` calls.
pub struct Counting<'a> {
    pub inner: &'a MemoryNodes,
    pub reads: Cell<usize>,
}

impl<'a> Counting<'a> {
    pub fn new(inner: &'a MemoryNodes) -> Self {
        Self { inner, reads: Cell::new(0) }
    }
}

impl NodeSource for Counting<'_> {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Digest, MissingNode> {
        self.reads.set(self.reads.get() + 1);
        self.inner.node(level, index)
    }
}

/// ⌈log₂ n⌉.
pub fn ceil_log2(n: u64) -> usize {
    if n <= 1 { 0 } else { (u64::BITS - (n - 1).leading_zeros()) as usize }
}
