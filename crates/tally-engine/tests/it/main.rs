//! Integration tests of `tally-engine`: one binary, one module per concern.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod commands;
mod full_disk;
mod idempotency;
mod import;
mod intake;
mod integrity;
mod limits;
mod scenarios;
mod streams;
mod submission_stats;
mod support;
mod timers;
mod tmpfs;
mod views;
mod workflow;
