//! End-to-end tests: the server on 127.0.0.1:0, driven over HTTP as its users drive it.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod contention;
mod crash_campaign;
mod settlement;
