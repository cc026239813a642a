//! `tally serve`: the GraphQL server over the store, until Ctrl-C or SIGTERM.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use tally_api::config::MetricsAccess;
use tally_api::{ApiConfig, AppState, AuthConfig};

/// Serves `data` on `listen`. `auth` are the tokens to accept; `metrics_access` overrides the
/// store's `metrics_access` setting (`tally.toml`; default: anonymous from loopback only).
pub fn serve(
    data: &Path,
    listen: &str,
    auth: AuthConfig,
    metrics_access: Option<MetricsAccess>,
) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let cors_origins = tally_api::cors::CorsOrigins::parse(&dir.config.cors_origins)
        .map_err(|e| anyhow::anyhow!("tally.toml cors_origins: {e}"))?;
    let config = ApiConfig {
        metrics_access: metrics_access.unwrap_or(dir.config.metrics_access),
        cors_origins,
        introspection_anonymous: dir.config.introspection_anonymous,
        ..ApiConfig::default()
    };
    if auth.is_empty() {
        eprintln!(
            "warning: no API tokens configured (tokens.toml or TALLY_API_TOKENS): every request will be refused"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let engine = dir.open_engine()?;
    if let Some(reason) = engine.integrity_problem() {
        eprintln!(
            "ERROR: the store refuses writes: {reason}\n\
             reads are served; every command is refused with INTEGRITY_FAILED and /readyz \
             answers 503. Stop the server and follow 'The store refuses writes' in \
             docs/operations.md (keep a copy of the store; restore from a backup)."
        );
    }
    let projections: Vec<Arc<dyn tally_projections::Projection>> = tally_projections::all();
    let state = AppState::with_projections(engine.clone(), auth, config, projections);
    // Webhooks: the endpoints of `webhooks.toml` and those added through the API. The outbox
    // starts idle when there are none (an admin may add one).
    let outbox = {
        // The metrics recorder first, so the outbox's first gauges are not lost.
        let _ = tally_api::telemetry::handle();
        let _runtime = runtime.enter();
        tally_outbox::Outbox::open(data, engine.log().clone(), engine.views().clone())
            .map_err(|e| anyhow::anyhow!("webhooks: {e}"))?
    };
    let endpoint_count = outbox.endpoints().map(|e| e.len()).unwrap_or(0);
    state.set_outbox(outbox.clone());
    let result = runtime.block_on(async {
        // The handlers are installed before the address is printed: a SIGTERM sent as soon as
        // the server says where it listens stops it gracefully, not by the default action.
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        // A closed stdout (a supervisor that stopped reading) must not stop the server.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "GraphQL:  http://{address}/graphql  (GraphiQL in a browser)");
        let _ = writeln!(out, "health:   http://{address}/healthz   metrics: http://{address}/metrics");
        if endpoint_count > 0 {
            let _ = writeln!(out, "webhooks: {endpoint_count} endpoint(s) (webhookEndpoints in GraphQL)");
        }
        let _ = out.flush();
        drop(out);
        let shutdown = async move {
            #[cfg(unix)]
            {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            let _ = writeln!(std::io::stderr(), "shutting down: finishing requests in flight");
        };
        let served = tally_api::serve(listener, state, shutdown).await.context("serving");
        // Stop the deliveries: cursors are made durable; a request in flight is sent again
        // (same webhook-id) at the next start.
        outbox.shutdown().await;
        served
    });
    // Everything acknowledged is durable; close to stop the engine's threads cleanly.
    engine.close();
    result?;
    Ok(Outcome::Ok)
}

pub fn run(
    data: &Path,
    listen: &str,
    metrics_access: Option<MetricsAccess>,
) -> anyhow::Result<Outcome> {
    serve(data, listen, crate::tokens::load(data)?, metrics_access)
}
