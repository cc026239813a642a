//! The proof structures, their JSON and binary forms.

use crate::hash::{DIGEST_BYTES, Digest};
use crate::merkle::error::ProofError;

/// No inclusion proof for a tree of at most [`TREE_SIZE_MAX`](crate::merkle::TREE_SIZE_MAX)
/// leaves holds more hashes than this (⌈log₂ n⌉ ≤ 63); a consistency proof may hold one more.
pub const PROOF_HASHES_MAX: usize = 63;

const PROOF_HEADER_BYTES: usize = 8 + 8 + 1;

/// An RFC 9162 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves.
///
/// `path` lists the sibling subtree hashes from the leaf up to the root: ⌈log₂ size⌉ at most.
/// JSON: `{"index":3,"size":8,"path":["<64 hex>",…]}`. Binary ([`InclusionProof::to_bytes`]):
///
/// ```text
/// index: u64 BE | size: u64 BE | count: u8 | count × 32-byte hashes
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The 0-based leaf index (`seq - 1`).
    pub index: u64,
    /// The tree size the proof is against.
    pub size: u64,
    /// Sibling hashes, leaf level first.
    pub path: Vec<Digest>,
}

/// An RFC 9162 consistency proof that the tree of `old_size` leaves is a prefix of the tree of
/// `new_size` leaves.
///
/// `path` is RFC 9162's `PROOF(old_size, D[new_size])`: ⌈log₂ new_size⌉ + 1 hashes at most,
/// and at most ⌈log₂ new_size⌉ when `old_size` is a power of two. Empty when the sizes are equal
/// or `old_size` is 0. JSON: `{"old_size":3,"new_size":8,"path":[…]}`. Binary
/// ([`ConsistencyProof::to_bytes`]):
///
/// ```text
/// old_size: u64 BE | new_size: u64 BE | count: u8 | count × 32-byte hashes
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The earlier tree size.
    pub old_size: u64,
    /// The later tree size.
    pub new_size: u64,
    /// The proof hashes, lowest level first.
    pub path: Vec<Digest>,
}

impl InclusionProof {
    /// The binary form documented on the type.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self.index, self.size, &self.path)
    }

    /// Reads [`InclusionProof::to_bytes`], strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let (index, size, path) = decode(bytes)?;
        Ok(Self { index, size, path })
    }
}

impl ConsistencyProof {
    /// The binary form documented on the type.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self.old_size, self.new_size, &self.path)
    }

    /// Reads [`ConsistencyProof::to_bytes`], strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let (old_size, new_size, path) = decode(bytes)?;
        Ok(Self { old_size, new_size, path })
    }
}

fn encode(a: u64, b: u64, path: &[Digest]) -> Vec<u8> {
    // Proofs built by this crate hold at most 64 hashes; a hand-built longer one is cut to
    // what the count byte can say and will fail verification on its length.
    let count = u8::try_from(path.len()).unwrap_or(u8::MAX);
    let mut bytes = Vec::with_capacity(PROOF_HEADER_BYTES + DIGEST_BYTES * usize::from(count));
    bytes.extend_from_slice(&a.to_be_bytes());
    bytes.extend_from_slice(&b.to_be_bytes());
    bytes.push(count);
    for digest in path.iter().take(usize::from(count)) {
        bytes.extend_from_slice(digest.as_bytes());
    }
    bytes
}

fn decode(bytes: &[u8]) -> Result<(u64, u64, Vec<Digest>), ProofError> {
    let malformed = |reason: String| ProofError::Malformed { reason };
    let Some((a, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(malformed(format!("{} bytes is shorter than the header", bytes.len())));
    };
    let Some((b, rest)) = rest.split_first_chunk::<8>() else {
        return Err(malformed(format!("{} bytes is shorter than the header", bytes.len())));
    };
    let Some((&count, hashes)) = rest.split_first() else {
        return Err(malformed(format!("{} bytes is shorter than the header", bytes.len())));
    };
    if usize::from(count) > PROOF_HASHES_MAX + 1 {
        return Err(malformed(format!("{count} hashes is more than any tree needs")));
    }
    if hashes.len() != DIGEST_BYTES * usize::from(count) {
        return Err(malformed(format!(
            "{count} hashes need {} bytes after the header, found {}",
            DIGEST_BYTES * usize::from(count),
            hashes.len()
        )));
    }
    let path = hashes
        .chunks_exact(DIGEST_BYTES)
        .map(Digest::from_slice)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| malformed(error.to_string()))?;
    Ok((u64::from_be_bytes(*a), u64::from_be_bytes(*b), path))
}
