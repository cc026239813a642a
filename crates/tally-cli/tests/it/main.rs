//! The `tally` binary end to end: exit codes, idempotent import, verification of a tampered
//! store, checkpoints, bundles and proofs; security (owner-only store, no secret in any
//! output) and a bounded flood of hostile requests against `tally serve`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod cli;
mod faults;
mod flood;
mod ops_served;
mod security;
mod served;
mod webhooks_reload;
