//! Tally's proof core: the hash constructions, the RFC 9162 Merkle tree with inclusion and
//! consistency proofs, signed checkpoints, and the offline bundle verifier.
//!
//! Architecture Invariant: this crate is pure. It does no storage I/O beyond reading and
//! writing key files and bundle directories on request, knows no clock (times arrive as
//! arguments) and never imports fjall or anything of `tally-log`; the log depends on it, never
//! the other way round.
//!
//! | module | owns |
//! | --- | --- |
//! | [`hash`] | [`chain_hash`](hash::chain_hash), [`leaf_hash`](hash::leaf_hash), [`node_hash`](hash::node_hash) — the only definitions |
//! | [`merkle`] | [`Frontier`](merkle::Frontier), stored nodes, proof generation and pure verification |
//! | [`checkpoint`] | the signed checkpoint note: text form, signing, strict parsing, verification |
//! | [`key`] | the ed25519 ledger key, its 0600 file and public key text |
//! | [`bundle`] | the offline verifier over a bundle's frames, checkpoints and key |
//!
//! The append path, in the log's terms:
//!
//! ```
//! use tally_proof::hash::{GENESIS, chain_hash, leaf_hash};
//! use tally_proof::merkle::{Frontier, MemoryNodes, inclusion_proof, verify_inclusion};
//!
//! let mut frontier = Frontier::new();
//! let mut stored = MemoryNodes::new(); // the log stores nodes in fjall instead
//! let mut head = GENESIS;
//! for frame in [&b"first"[..], b"second", b"third"] {
//!     head = chain_hash(&head, frame);
//!     for (id, digest) in frontier.push(leaf_hash(&head)) {
//!         // write `id.to_bytes()` -> `digest` in the same batch as the frame
//!         # let _ = (id, digest);
//!     }
//!     stored.push(leaf_hash(&head));
//! }
//! let proof = inclusion_proof(&stored, 2, 3).expect("seq 3 is in the tree");
//! verify_inclusion(&proof, &head, 2, 3, &frontier.root()).expect("verifies");
//! ```

pub mod bundle;
pub mod checkpoint;
pub mod hash;
pub mod key;
pub mod merkle;
