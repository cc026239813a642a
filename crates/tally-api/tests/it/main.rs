//! Integration tests of tally-api: a real server on 127.0.0.1:0 over a temporary engine.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod commands;
mod cost;
mod errors;
mod exceptions;
mod full_disk;
mod graphiql;
mod http;
mod intake;
mod ledger;
mod lifecycle;
mod limits;
mod metrics;
mod operations;
mod purchasing;
mod quarantine;
mod read_side;
mod receivables;
mod roles;
mod schema_sdl;
mod shopify_webhook;
mod subscriptions;
mod support;
mod views;
mod warehouse;
mod webhooks;
