//! The Merkle tree over event hashes, as stored: node reads for proofs, and the proof API.
//!
//! Leaves are `leaf_hash(event hash)` for seq 1, 2, … (leaf index = seq − 1). Level-0 nodes are
//! not stored: they are derived from the frame's stored hash. Every completed node of level ≥ 1
//! is written in the same fjall batch as the frame that completed it, and the frontier (the
//! roots of the perfect subtrees covering the log) is kept in `meta`, so appending costs
//! O(log n) hashes (amortised two) and one node write per event, and the root at any size is
//! available.

use crate::chain::Digest;
use crate::error::{Corruption, Error, Result};
use crate::keyspaces::Keyspaces;
use crate::layout;
use crate::log::Log;
use crate::read::decode_at;
use fjall::{Readable as _, Snapshot};
use tally_proof::hash::leaf_hash;
use tally_proof::merkle::{
    ConsistencyProof, InclusionProof, NodeId, NodeSource, ProveError, consistency_proof,
    inclusion_proof, root_at,
};

/// Levels at and above this are kept in memory once read: proofs of any leaf share them.
const CACHED_LEVEL_MIN: u8 = 8;
/// Most nodes the cache holds (a tree of 2^27 leaves has about 10^6 such nodes).
const CACHED_NODES_MAX: usize = 1 << 20;

/// Complete nodes never change once written, so a read-through cache of the upper levels is
/// always right; it spares proofs most of their storage reads.
#[derive(Debug, Default)]
pub(crate) struct NodeCache(std::sync::RwLock<std::collections::HashMap<(u8, u64), Digest>>);

impl NodeCache {
    fn get(&self, level: u8, index: u64) -> Option<Digest> {
        self.0.read().ok()?.get(&(level, index)).copied()
    }

    fn put(&self, level: u8, index: u64, digest: Digest) {
        if let Ok(mut map) = self.0.write()
            && map.len() < CACHED_NODES_MAX
        {
            map.insert((level, index), digest);
        }
    }
}

/// Stored nodes read from one snapshot.
pub(crate) struct StoredNodes<'a> {
    pub snapshot: &'a Snapshot,
    pub ks: &'a Keyspaces,
    pub cache: Option<&'a NodeCache>,
}

impl NodeSource for StoredNodes<'_> {
    type Error = Error;

    fn node(&self, level: u8, index: u64) -> Result<Digest> {
        if level == 0 {
            let seq = index + 1;
            let value = self
                .snapshot
                .get(&self.ks.frames, layout::frame_key(seq))?
                .ok_or(Error::Corrupt(Corruption::MissingFrame { seq }))?;
            return Ok(leaf_hash(&decode_at(seq, value)?.hash()));
        }
        let cache = self.cache.filter(|_| level >= CACHED_LEVEL_MIN);
        if let Some(digest) = cache.and_then(|c| c.get(level, index)) {
            return Ok(digest);
        }
        let id = NodeId::new(level, index);
        let value = self.snapshot.get(&self.ks.merkle, id.to_bytes())?.ok_or_else(|| {
            Error::Corrupt(Corruption::Merkle(format!("node ({level}, {index}) is missing")))
        })?;
        let digest = Digest::from_slice(&value).map_err(|_| {
            Error::Corrupt(Corruption::Merkle(format!("node ({level}, {index}) is malformed")))
        })?;
        if let Some(cache) = cache {
            cache.put(level, index, digest);
        }
        Ok(digest)
    }
}

fn prove_error(err: ProveError<Error>) -> Error {
    match err {
        ProveError::Invalid(e) => Error::Invalid(e.to_string()),
        ProveError::Source(e) => e,
        other => Error::Invalid(other.to_string()),
    }
}

impl Log {
    fn check_size(&self, size: u64) -> Result<()> {
        let head = self.head().seq;
        if size > head {
            return Err(Error::Invalid(format!("tree size {size} is beyond the head at {head}")));
        }
        Ok(())
    }

    /// The Merkle root of the first `size` events.
    pub fn root_at(&self, size: u64) -> Result<Digest> {
        self.check_size(size)?;
        let snapshot = self.inner.db.snapshot();
        root_at(
            &StoredNodes {
                snapshot: &snapshot,
                ks: &self.inner.ks,
                cache: Some(&self.inner.node_cache),
            },
            size,
        )
        .map_err(prove_error)
    }

    /// Proof that event `seq` is in the tree of the first `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof> {
        self.check_size(size)?;
        if seq == 0 {
            return Err(Error::Invalid("seq 0 is not an event".to_owned()));
        }
        let snapshot = self.inner.db.snapshot();
        inclusion_proof(
            &StoredNodes {
                snapshot: &snapshot,
                ks: &self.inner.ks,
                cache: Some(&self.inner.node_cache),
            },
            seq - 1,
            size,
        )
        .map_err(prove_error)
    }

    /// Proof that the tree of `new_size` events extends the tree of `old_size` events.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        self.check_size(new_size)?;
        let snapshot = self.inner.db.snapshot();
        consistency_proof(
            &StoredNodes {
                snapshot: &snapshot,
                ks: &self.inner.ks,
                cache: Some(&self.inner.node_cache),
            },
            old_size,
            new_size,
        )
        .map_err(prove_error)
    }
}
