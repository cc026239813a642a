//! Pure proof verification: needs nothing but the proof, the leaf and the root(s).
//!
//! These are RFC 9162 §2.1.3.2 and §2.1.4.2, with the expected proof length checked first so a
//! truncated or padded proof is reported as such rather than as a root mismatch.

use crate::hash::{Digest, empty_root, leaf_hash, node_hash};
use crate::merkle::error::ProofError;
use crate::merkle::frontier::TREE_SIZE_MAX;
use crate::merkle::proof::{ConsistencyProof, InclusionProof};
use crate::merkle::prove::bit_length;

/// Verifies that the event whose chain hash is `event_hash` is leaf `index` of the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(
    proof: &InclusionProof,
    event_hash: &Digest,
    index: u64,
    size: u64,
    root: &Digest,
) -> Result<(), ProofError> {
    verify_inclusion_leaf(proof, &leaf_hash(event_hash), index, size, root)
}

/// [`verify_inclusion`] given the Merkle leaf hash instead of the event hash.
pub fn verify_inclusion_leaf(
    proof: &InclusionProof,
    leaf: &Digest,
    index: u64,
    size: u64,
    root: &Digest,
) -> Result<(), ProofError> {
    if size > TREE_SIZE_MAX {
        return Err(ProofError::SizeTooLarge { size });
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    proof_for("leaf index", index, proof.index)?;
    proof_for("tree size", size, proof.size)?;
    let (inner, border) = decompose(index, size - 1);
    path_length(inner + border, proof.path.len())?;
    let (inner_path, border_path) = proof.path.split_at(inner);
    let mut hash = *leaf;
    for (j, sibling) in inner_path.iter().enumerate() {
        hash = if (index >> j) & 1 == 1 {
            node_hash(sibling, &hash)
        } else {
            node_hash(&hash, sibling)
        };
    }
    for sibling in border_path {
        hash = node_hash(sibling, &hash);
    }
    root_matches(size, root, hash)
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`.
///
/// Equal sizes need an empty proof and equal roots; size 0 needs an empty proof and the
/// [`empty_root`] as `old_root`.
pub fn verify_consistency(
    proof: &ConsistencyProof,
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
) -> Result<(), ProofError> {
    if new_size > TREE_SIZE_MAX {
        return Err(ProofError::SizeTooLarge { size: new_size });
    }
    if old_size > new_size {
        return Err(ProofError::SizeOrder { old_size, new_size });
    }
    proof_for("old tree size", old_size, proof.old_size)?;
    proof_for("new tree size", new_size, proof.new_size)?;
    if old_size == 0 {
        path_length(0, proof.path.len())?;
        root_matches(0, old_root, empty_root())?;
        if new_size == 0 {
            root_matches(0, new_root, empty_root())?;
        }
        return Ok(());
    }
    if old_size == new_size {
        path_length(0, proof.path.len())?;
        return root_matches(new_size, new_root, *old_root);
    }
    // The old tree's rightmost complete subtree sits at level `shift`; from there the proof is
    // the inclusion path of that node in the new tree, seeded with its hash (which the old root
    // stands for when the old tree is that one subtree).
    let shift = old_size.trailing_zeros();
    let index = (old_size - 1) >> shift;
    let (inner, border) = decompose(index, (new_size - 1) >> shift);
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof.path.as_slice())
    } else {
        match proof.path.split_first() {
            Some((seed, rest)) => (*seed, rest),
            None => return Err(ProofError::PathLength { expected: 1 + inner + border, found: 0 }),
        }
    };
    let seeded = usize::from(!old_size.is_power_of_two());
    path_length(seeded + inner + border, proof.path.len())?;
    let (inner_path, border_path) = rest.split_at(inner);
    let mut old_hash = seed;
    let mut new_hash = seed;
    for (j, sibling) in inner_path.iter().enumerate() {
        if (index >> j) & 1 == 1 {
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
    }
    for sibling in border_path {
        old_hash = node_hash(sibling, &old_hash);
        new_hash = node_hash(sibling, &new_hash);
    }
    root_matches(old_size, old_root, old_hash)?;
    root_matches(new_size, new_root, new_hash)
}

/// For node `index` in a level whose last node is `last`: the number of path hashes below the
/// right edge (`inner`) and along it (`border`).
fn decompose(index: u64, last: u64) -> (usize, usize) {
    let inner = bit_length(index ^ last);
    let border = (index.checked_shr(inner).unwrap_or(0)).count_ones();
    (inner as usize, border as usize)
}

fn proof_for(field: &'static str, expected: u64, found: u64) -> Result<(), ProofError> {
    if expected == found { Ok(()) } else { Err(ProofError::ProofFor { field, expected, found }) }
}

fn path_length(expected: usize, found: usize) -> Result<(), ProofError> {
    if expected == found { Ok(()) } else { Err(ProofError::PathLength { expected, found }) }
}

fn root_matches(size: u64, expected: &Digest, found: Digest) -> Result<(), ProofError> {
    if *expected == found {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { size, expected: *expected, found })
    }
}
