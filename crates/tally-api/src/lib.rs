//! `tally-api`: the GraphQL server dashboards, finance, auditors and integrations use.
//!
//! Only this crate knows HTTP and GraphQL. It owns no state of its own: queries read the log
//! and the views through the engine, mutations submit commands to the engine and answer once
//! the events are durable, subscriptions tail the durable head.
//!
//! - [`router`] / [`serve`]: the routes and graceful shutdown (`server.rs`).
//! - [`schema`]: queries (log, audit, views), mutations, subscriptions, and the error-code
//!   extension; `schema/views.rs` is where projection queries plug in.
//! - [`auth`]: bearer tokens (kept hashed), roles, and [`auth::FIELD_ROLES`], the one table
//!   of which role may use which root field.
//! - [`config::ApiConfig`]: every limit, with its default.
//! - [`error`]: stable error codes; internal details are logged, never answered.
//! - [`telemetry`]: Prometheus metrics.
//!
//! Dependencies and why: `axum` (HTTP, WebSocket upgrade), `async-graphql` (schema, limits,
//! GraphiQL) and `async-graphql-axum` (its graphql-ws protocol over axum's WebSocket),
//! `tower-http` (body limit, timeout, request tracing), `tower` (layers), `metrics` and
//! `metrics-exporter-prometheus` without its push-gateway default (the `/metrics` text),
//! `async-trait` (async-graphql's `Extension` trait is declared with it), `futures-util`
//! (subscription streams), `toml` (the token file), `blake3` (token hashes), `base64`
//! (opaque cursors), `chrono` (GraphQL `DateTime`). Tests use `reqwest` (HTTP client, no TLS)
//! and `tokio-tungstenite` (graphql-ws client).

pub mod auth;
pub mod config;
pub mod error;
pub mod schema;
mod server;
pub mod state;
pub mod telemetry;

pub use auth::{AuthConfig, Role};
pub use config::ApiConfig;
pub use server::{router, serve};
pub use state::AppState;
