//! Integration tests of `tally-log`: one binary, one module per concern.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod append;
mod concurrency;
mod crash;
mod long_reads;
mod mark;
mod proofs;
mod property;
mod support;
mod tamper;
