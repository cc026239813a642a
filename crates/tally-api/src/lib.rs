//! `tally-api`: the GraphQL server dashboards, finance, auditors and integrations use.
//!
//! Only this crate knows HTTP and GraphQL. It owns no state of its own: queries read the log
//! and the views through the engine, mutations submit commands to the engine and answer once
//! the events are durable, subscriptions tail the durable head.
//!
//! - [`router`] / [`serve`]: the routes and graceful shutdown (`server.rs`).
//! - [`graphiql`]: the GraphiQL page and its assets, vendored in `assets/graphiql/` and
//!   embedded in the binary (no CDN).
//! - [`schema`]: queries (log, audit, views), mutations, subscriptions, and the error-code
//!   extension; `schema/views.rs` is where projection queries plug in.
//! - [`auth`]: bearer tokens (kept hashed), roles, and [`auth::FIELD_ROLES`], the one table
//!   of which role may use which root field.
//! - [`config::ApiConfig`]: every limit, with its default.
//! - [`error`]: stable error codes; internal details are logged, never answered.
//! - [`telemetry`]: Prometheus metrics.
//! - [`exports`]: the settlement and journal exports as CSV or JSON files (`tally export` and
//!   `GET /exports/{settlement|journal}`).
//! - [`operations`]: long-running operations on the served store (verify, bundle export,
//!   replay check) with progress, and the bundle download route.
//!
//! Serving (what `tally serve` does):
//!
//! ```no_run
//! # async fn run(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tally_api::{ApiConfig, AppState, AuthConfig};
//! let projections: Vec<Arc<dyn tally_projections::Projection>> = Vec::new(); // tally_projections::all()
//! let engine =
//!     tally_engine::Engine::open(dir, tally_engine::EngineConfig::default(), projections.clone())?;
//! let state = AppState::with_projections(
//!     engine.clone(),
//!     AuthConfig::from_env()?, // TALLY_API_TOKENS_FILE / TALLY_API_TOKENS
//!     ApiConfig::default(),
//!     projections,
//! );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let shutdown = async {
//!     let _ = tokio::signal::ctrl_c().await;
//! };
//! tally_api::serve(listener, state, shutdown).await?;
//! // Every acknowledged command is durable; close the engine to stop its threads cleanly.
//! tokio::task::spawn_blocking(move || engine.close()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Dependencies and why: `axum` (HTTP, WebSocket upgrade), `async-graphql` (schema, limits) and `async-graphql-axum` (its graphql-ws protocol over axum's WebSocket),
//! `tower-http` (body limit, timeout, request tracing), `tower` (layers), `metrics` and
//! `metrics-exporter-prometheus` without its push-gateway default (the `/metrics` text),
//! `async-trait` (async-graphql's `Extension` trait is declared with it), `futures-util`
//! (subscription streams), `toml` (the token file), `blake3` (token hashes), `base64`
//! (opaque cursors), `chrono` (GraphQL `DateTime`), `tempfile` (an exported bundle's directory, removed with
//! its operation), `csv` (the export files). Tests use `reqwest` (HTTP client, no TLS)
//! and `tokio-tungstenite` (graphql-ws client).

pub mod auth;
pub mod config;
pub mod cors;
pub mod error;
pub mod exports;
pub mod graphiql;
pub mod operations;
pub mod schema;
mod server;
pub mod shopify_webhook;
pub mod state;
pub mod telemetry;

pub use auth::{AuthConfig, Role};
pub use config::ApiConfig;
pub use server::{router, serve};
pub use state::AppState;
