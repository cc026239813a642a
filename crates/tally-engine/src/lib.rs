//! `tally-engine`: commands in, durable events out, views kept up to date.
//!
//! One writer thread owns the decision state (`tally_domain::State`, rebuilt from the log at
//! open). Commands arrive on a bounded queue; the writer decides them in order — so two orders
//! can never take the same last unit — appends the events of a whole group of commands in one
//! log batch, and answers each caller only after that batch is durable. A projection runner
//! applies new events to the views after each append.
//!
//! Idempotency: every submission carries an idempotency key. The events of an accepted
//! command get ids derived from that key, and carry the command's content id (a digest of its
//! canonical JSON, versioned) as their causation id, so a retry finds the first result in the
//! log itself — also after a restart — and a different command under a used key is refused.
//! A command accepted with no change is recorded by a `command.accepted` marker event on the
//! `commands` stream, so its key is taken like any other; its answer has no events.

mod config;
mod engine;
mod error;
mod format;
mod ids;
pub mod import;
pub mod intake;
mod runner;
mod spill;
mod stats;
mod submission;
pub mod workflow_file;
mod writer;

pub use config::EngineConfig;
pub use engine::Engine;
pub use error::{OpenError, SubmitError};
pub use format::{FORMAT_FILE, FormatError, STORE_FORMAT};
pub use ids::{COMMAND_ID_VERSION, CommandIdError, canonical_json, command_id, event_id};
pub use spill::SpillError;
pub use stats::{
    OVERFLOW_SOURCE, RETENTION_DAYS_DEFAULT, RETENTION_DAYS_MAX, ROWS_PER_DAY_MAX, StatsError,
    SubmissionCounts, day_of_ms,
};
pub use submission::{Accepted, EventRef, Submission};
