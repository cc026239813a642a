//! `tally-fuzz`: the hostile-input harnesses. Each takes arbitrary bytes, drives one entry point
//! the outside world reaches, and panics only when an invariant breaks — never because the
//! input is bad. The cargo-fuzz targets in `fuzz/` are one-line wrappers around them; the
//! proptests in `tests/it` run them in CI and replay every committed corpus file.
//!
//! - [`frame::frame_decode`]: a stored value as tally-log reads it (frame envelope, head,
//!   event-id index, Merkle frontier and node keys, checkpoint text), and event bodies through
//!   tally-domain's postcard codec, upcasting included.
//! - [`command::command_json`]: an NDJSON import file through `tally import`'s own line
//!   reader and parser (`tally_engine::import`), each parsed line decided against a small
//!   in-memory domain state.
//! - [`graphql::graphql_input`]: a `POST /graphql` body through the real tally-api router over
//!   an engine in a temp dir (one per process), checking that a request that only failed left
//!   the log head where it was.

pub mod command;
pub mod frame;
#[cfg(feature = "graphql")]
pub mod graphql;
pub mod samples;
