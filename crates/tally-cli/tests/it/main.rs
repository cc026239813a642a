//! The `tally` binary end to end: exit codes, idempotent import, verification of a tampered
//! store, checkpoints, bundles and proofs.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod cli;
mod faults;
