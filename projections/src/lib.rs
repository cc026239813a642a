//! `tally-projections`: the views people act on, built from the log.
//!
//! Each projection is a module implementing [`Projection`]: it applies decoded events in seq
//! order and keeps its state in its own fjall keyspace, with its checkpoint written in the same
//! batch as the state. [`ViewStore`] catches projections up with the log, serves snapshot
//! reads, rebuilds a projection blue/green, and replays into a temporary store for as-of reads.
//! Rebuilding from the log gives byte-identical state.

mod projection;
mod store;
mod tx;

pub use projection::{Applied, ApplyError, Projection};
pub use store::{
    CHECKPOINT_KEY, CHUNK_EVENTS, Error, QUARANTINE_PREFIX, RebuildReport, Result, ViewReader,
    ViewStore,
};
pub use tx::{Tx, key};
