//! Proof generation over stored complete nodes ([`NodeSource`]), O(log n) reads per proof.
//!
//! RFC 9162 §2.1.3.1 (`PATH`) and §2.1.4.1 (`PROOF`) are recursive over the tree; here they are
//! unrolled bottom-up. For a node `(level, idx)` in a tree of `size` leaves, let `last` be the
//! index at that level of the node holding the last leaf, and `inner` the bit length of
//! `idx ^ last`. Below `inner` the path runs beside complete nodes, except that the sibling at
//! level `inner - 1` holds the ragged right edge and is hashed from the complete nodes that
//! cover it. From `inner` up, the path runs along the right edge: each set bit of `idx` there is
//! a complete left sibling and each clear bit has no sibling (RFC 9162 promotes the lone child).

use crate::hash::Digest;
use crate::merkle::error::{ProofError, ProveError};
use crate::merkle::frontier::{TREE_SIZE_MAX, cover, fold_right};
use crate::merkle::node::NodeSource;
use crate::merkle::proof::{ConsistencyProof, InclusionProof};

/// The RFC 9162 root of the tree of `size` leaves, from `popcount(size)` node reads; the
/// [`empty_root`](crate::hash::empty_root) for size 0.
pub fn root_at<S: NodeSource + ?Sized>(
    source: &S,
    size: u64,
) -> Result<Digest, ProveError<S::Error>> {
    check_size(size)?;
    range_hash(source, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves: at most ⌈log₂ size⌉
/// hashes from at most 2·⌈log₂ size⌉ node reads.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<InclusionProof, ProveError<S::Error>> {
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    let mut path = Vec::new();
    append_path(source, 0, index, size, &mut path)?;
    Ok(InclusionProof { index, size, path })
}

/// The consistency proof between the trees of `old_size` and `new_size` leaves
/// (`old_size ≤ new_size`), from O(log new_size) node reads.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, ProveError<S::Error>> {
    check_size(new_size)?;
    if old_size > new_size {
        return Err(ProofError::SizeOrder { old_size, new_size }.into());
    }
    let mut path = Vec::new();
    if old_size > 0 && old_size < new_size {
        // The old tree's rightmost complete subtree: the node at the level of the lowest set
        // bit of old_size, which ends at old_size.
        let shift = old_size.trailing_zeros();
        let index = (old_size - 1) >> shift;
        let level = level_of(shift);
        if !old_size.is_power_of_two() {
            path.push(source.node(level, index).map_err(ProveError::Source)?);
        }
        append_path(source, level, index, new_size, &mut path)?;
    }
    Ok(ConsistencyProof { old_size, new_size, path })
}

/// Appends the siblings of node `(level, index)` up to the root of the tree of `size` leaves.
fn append_path<S: NodeSource + ?Sized>(
    source: &S,
    level: u8,
    index: u64,
    size: u64,
    path: &mut Vec<Digest>,
) -> Result<(), ProveError<S::Error>> {
    debug_assert!(size > 0 && size <= TREE_SIZE_MAX);
    let last = (size - 1) >> level;
    debug_assert!(index <= last);
    let inner = bit_length(index ^ last);
    for j in 0..inner {
        let sibling_level = level + level_of(j);
        let sibling = (index >> j) ^ 1;
        let digest = if j + 1 == inner {
            // The right sibling that holds the last leaf: possibly ragged.
            range_hash(source, sibling << sibling_level, size)?
        } else {
            source.node(sibling_level, sibling).map_err(ProveError::Source)?
        };
        path.push(digest);
    }
    let mut j = inner;
    while index >> j != 0 {
        if (index >> j) & 1 == 1 {
            let digest =
                source.node(level + level_of(j), (index >> j) ^ 1).map_err(ProveError::Source)?;
            path.push(digest);
        }
        j += 1;
    }
    Ok(())
}

/// The RFC 9162 hash of the leaves `[start, end)` where `start` is aligned as `cover` needs.
fn range_hash<S: NodeSource + ?Sized>(
    source: &S,
    start: u64,
    end: u64,
) -> Result<Digest, ProveError<S::Error>> {
    // At most 63 subtrees; a fixed array keeps the hot path free of allocation.
    let mut roots = [Digest::default(); 64];
    let mut count = 0;
    for id in cover(start, end) {
        roots[count] = source.node(id.level, id.index).map_err(ProveError::Source)?;
        count += 1;
    }
    Ok(fold_right(&roots[..count]))
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size > TREE_SIZE_MAX {
        return Err(ProofError::SizeTooLarge { size });
    }
    Ok(())
}

/// Number of significant bits: 0 for 0, 64 - leading zeros otherwise.
pub(crate) fn bit_length(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

/// A level below 64 as a u8 (levels never exceed 63 for sizes up to `TREE_SIZE_MAX`).
pub(crate) fn level_of(bits: u32) -> u8 {
    debug_assert!(bits < 64);
    (bits & 63) as u8
}
