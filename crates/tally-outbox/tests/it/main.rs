//! Integration tests of the outbox: a real engine over a temp store, a loopback receiver.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod admin;
mod ats;
mod channels;
mod delivery;
mod e2e_shopify;
mod reload;
mod support;
mod tls;
