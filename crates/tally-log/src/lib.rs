//! `tally-log`: an append-only, blake3 hash-chained event log stored in fjall.
//!
//! The log knows nothing of the domain. An event is an envelope (stream, type name, schema
//! version, ids, times, source, actor) around an opaque payload. The log assigns a gap-free
//! global `seq` and a per-stream version, chains every stored frame to the one before it, and
//! acknowledges an append only after the fjall batch that holds it is durable.
//!
//! Entry points: [`Log::open`], [`Log::append`] / [`Log::append_blocking`], the readers on
//! [`Log`], and [`Log::verify`]. The on-disk format lives in [`frame`] and [`layout`].

mod append;
mod bundle;
mod chain;
mod checkpoint;
mod config;
mod error;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod frame;
mod head;
mod ids;
mod journal;
mod keyspaces;
pub mod layout;
mod log;
pub mod mark;
mod read;
mod recovery;
mod tree;
mod verify;
mod writer;

pub use append::{AppendRequest, Appended, Expected, NewEvent, Position, StreamExpectation};
pub use bundle::BundleSummary;
pub use chain::{Digest, GENESIS, body_digest, chain_hash};
pub use checkpoint::CheckpointPolicy;
pub use config::{Config, Limits};
pub use error::{Corruption, Error, Result, storage_damage};
#[cfg(feature = "fault-injection")]
pub use fault::FaultInjector;
pub use frame::RecordedEvent;
pub use head::Head;
pub use ids::EventId;
pub use log::{Log, PendingAppend, check_store_files};
pub use read::{EventIter, StreamIter};
pub use tally_proof;
pub use verify::{VerifyOptions, VerifyReport};
