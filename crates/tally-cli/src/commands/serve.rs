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
        shopify_webhook_secrets: shopify_webhook_secrets()?,
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
    remove_leftover_bundles(data);
    if let Some(reason) = engine.integrity_problem() {
        eprintln!(
            "ERROR: the store refuses writes: {reason}\n\
             reads are served; every command is refused with INTEGRITY_FAILED and /readyz \
             answers 503. Stop the server and follow 'The store refuses writes' in \
             docs/operations.md (keep a copy of the store; restore from a backup)."
        );
    }
    // The workflow rules file is loaded before serving: a broken file stops the start with the
    // key and line that are wrong (the rules in force stay as the log says).
    report_workflow(
        &tally_engine::workflow_file::apply_blocking(&engine, data, "operator").map_err(|e| {
            engine.close();
            anyhow::anyhow!("workflow rules not loaded: {e}")
        })?,
    );
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
        #[cfg(unix)]
        if let Ok(mut hangup) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            // SIGHUP reloads the workflow rules and webhooks.toml; a broken file is reported
            // and the rules or endpoints in force stay. Each file on its own: a broken one does
            // not keep the other from being reloaded.
            let engine = engine.clone();
            let data = data.to_path_buf();
            let outbox = outbox.clone();
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    let engine = engine.clone();
                    let data = data.clone();
                    let result = tokio::task::spawn_blocking(move || {
                        tally_engine::workflow_file::apply_blocking(&engine, &data, "operator")
                    })
                    .await;
                    match result {
                        Ok(Ok(applied)) => report_workflow(&applied),
                        Ok(Err(e)) => eprintln!("SIGHUP: workflow rules not reloaded, the rules in force stay: {e}"),
                        Err(e) => eprintln!("SIGHUP: workflow reload failed: {e}"),
                    }
                    let reader = outbox.clone();
                    let config = tokio::task::spawn_blocking(move || reader.load_file()).await;
                    let reloaded = match config {
                        Ok(Ok(config)) => outbox.reload(config).await,
                        Ok(Err(e)) => Err(e),
                        Err(e) => {
                            eprintln!("SIGHUP: webhooks reload failed: {e}");
                            continue;
                        }
                    };
                    match reloaded {
                        Ok(report) => report_webhooks(&report),
                        Err(e) => eprintln!("SIGHUP: webhooks.toml not reloaded, the endpoints in force stay: {e}"),
                    }
                }
            });
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        // Where the auditor's commands find this server while it holds the store; removed
        // when serving ends.
        let _address_file = crate::remote::write_address(data, address)?;
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
    // A long operation still running (a verification, an export: reads of snapshots and a
    // bundle in a directory removed at the next start) does not hold the stop up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(SHUTDOWN_BLOCKING_WAIT_MS));
    result?;
    Ok(Outcome::Ok)
}

/// How long a stop waits for blocking tasks still running (long operations) before leaving
/// them behind.
const SHUTDOWN_BLOCKING_WAIT_MS: u64 = 2_000;

/// Removes the bundle directories (`.bundle-*`) an earlier server wrote for `EXPORT_BUNDLE`
/// operations and could not remove (it was killed). Called with the store's lock held, so no
/// other server is using them.
fn remove_leftover_bundles(data: &Path) {
    let Ok(entries) = std::fs::read_dir(data) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_bundle = name.to_str().is_some_and(|n| n.starts_with(".bundle-"));
        if is_bundle
            && entry.file_type().is_ok_and(|t| t.is_dir())
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            eprintln!("warning: could not remove '{}': {e}", entry.path().display());
        }
    }
}

fn report_workflow(applied: &tally_engine::workflow_file::Applied) {
    use tally_engine::workflow_file::Applied;
    let mut err = std::io::stderr().lock();
    let _ = match applied {
        Applied::NoFile => Ok(()),
        Applied::Changed { seq, channels } => writeln!(
            err,
            "workflow: rules for {channels} channel(s) from workflow.toml in force from seq {seq}"
        ),
        Applied::Unchanged => {
            writeln!(err, "workflow: workflow.toml unchanged, its rules are in force")
        }
    };
}

fn report_webhooks(report: &tally_outbox::Reloaded) {
    let list =
        |names: &[String]| if names.is_empty() { "none".to_owned() } else { names.join(", ") };
    let mut err = std::io::stderr().lock();
    if report.added.is_empty() && report.changed.is_empty() && report.removed.is_empty() {
        // No file and no file endpoints: nothing to say.
        if !report.unchanged.is_empty() {
            let _ = writeln!(
                err,
                "webhooks: webhooks.toml unchanged, its {} endpoint(s) in force",
                report.unchanged.len()
            );
        }
    } else {
        let _ = writeln!(
            err,
            "webhooks: webhooks.toml reloaded: added {}; changed {}; removed {}; {} unchanged",
            list(&report.added),
            list(&report.changed),
            list(&report.removed),
            report.unchanged.len()
        );
    }
    if report.delivery_changed {
        let _ = writeln!(
            err,
            "webhooks: [delivery] changed: the settings in force stay until the next start"
        );
    }
}

/// Each channel's Shopify webhook secret: `TALLY_SHOPIFY_WEBHOOK_SECRETS` (`channel=secret`
/// pairs, `;`- or newline-separated), or the file `TALLY_SHOPIFY_WEBHOOK_SECRETS_FILE` names
/// (same form, one per line; refused when group or others may read it). Neither: none, and
/// `POST /intake/shopify/{channel}` answers 404.
fn shopify_webhook_secrets() -> anyhow::Result<tally_api::shopify_webhook::WebhookSecrets> {
    use std::os::unix::fs::PermissionsExt as _;
    let parse = |text: &str, from: &str| {
        tally_api::shopify_webhook::WebhookSecrets::parse(text)
            .map_err(|e| anyhow::anyhow!("{from}: {e}"))
    };
    if let Ok(text) = std::env::var("TALLY_SHOPIFY_WEBHOOK_SECRETS") {
        return parse(&text, "TALLY_SHOPIFY_WEBHOOK_SECRETS");
    }
    if let Some(path) = std::env::var_os("TALLY_SHOPIFY_WEBHOOK_SECRETS_FILE") {
        let path = Path::new(&path);
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading '{}'", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            anyhow::bail!(
                "'{}' may be read by group or others: chmod 600 it (it holds webhook secrets)",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading '{}'", path.display()))?;
        return parse(&text, &path.display().to_string());
    }
    Ok(tally_api::shopify_webhook::WebhookSecrets::new())
}

pub fn run(
    data: &Path,
    listen: &str,
    metrics_access: Option<MetricsAccess>,
) -> anyhow::Result<Outcome> {
    serve(data, listen, crate::tokens::load(data)?, metrics_access)
}
