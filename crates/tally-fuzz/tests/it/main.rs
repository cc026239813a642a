//! Hostile input in CI: proptests over the fuzz harnesses, and a replay of every committed
//! fuzz corpus and regression file. `TALLY_FUZZ_CASES=N` runs N cases per property instead
//! of the defaults (which keep each test well under 30 s in a debug build).

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod command;
mod corpus;
mod frame;
mod graphql;
mod support;
