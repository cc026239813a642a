//! Tally's proof core: the hash constructions, the RFC 9162 Merkle tree with inclusion and
//! consistency proofs, signed checkpoints, and the offline bundle verifier.
//!
//! Architecture Invariant: this crate is pure. It does no storage I/O beyond reading and
//! writing key files and bundle directories on request, knows no clock (times arrive as
//! arguments) and never imports fjall or anything of `tally-log`; the log depends on it, never
//! the other way round.

pub mod bundle;
pub mod checkpoint;
pub mod hash;
pub mod key;
pub mod merkle;
