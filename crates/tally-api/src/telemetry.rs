//! Prometheus metrics through the `metrics` facade.
//!
//! The recorder is process-global: the first server (or test) installs it and every later one
//! shares the same handle, so any number of servers may run in one process.

use crate::state::AppState;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Submit → durable answer, seconds (the command's decide + append + fsync, as callers see it).
pub const APPEND_LATENCY: &str = "tally_append_latency_seconds";
/// Commands per `submitMany` call.
pub const BATCH_COMMANDS: &str = "tally_submit_batch_commands";
/// Events appended per accepted command.
pub const COMMAND_EVENTS: &str = "tally_command_events";
/// Submissions this server has handed to the engine and not yet had answered.
pub const QUEUE_DEPTH: &str = "tally_api_submissions_in_flight";
/// Rejections answered through the API, by code and source.
pub const REJECTIONS: &str = "tally_rejections_total";
/// Head seq minus the smallest seq every view has applied.
pub const PROJECTION_LAG: &str = "tally_projection_lag_events";
/// The durable head seq.
pub const HEAD_SEQ: &str = "tally_log_head_seq";
/// GraphQL operations served, by kind of outcome.
pub const GRAPHQL_REQUESTS: &str = "tally_graphql_requests_total";
/// Engine submissions since open, by source and command type (from the engine's counters).
pub const ENGINE_SUBMISSIONS: &str = "tally_engine_submissions";
/// Engine rejections since open, by source and command type.
pub const ENGINE_REJECTIONS: &str = "tally_engine_submission_rejections";

const LATENCY_BUCKETS_S: &[f64] =
    &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    let builder = PrometheusBuilder::new();
    let with_latency =
        builder.set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS_S);
    let builder = match with_latency {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "latency buckets refused");
            PrometheusBuilder::new()
        }
    };
    let counts =
        builder.set_buckets_for_metric(Matcher::Suffix("_commands".to_owned()), COUNT_BUCKETS);
    let builder = match counts {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "count buckets refused");
            PrometheusBuilder::new()
        }
    };
    match builder.set_buckets_for_metric(Matcher::Full(COMMAND_EVENTS.to_owned()), COUNT_BUCKETS) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "count buckets refused");
            PrometheusBuilder::new()
        }
    }
}

/// The process's Prometheus handle, installing the global recorder on first use. When some
/// other recorder is already installed, metrics recorded through the facade go there and this
/// handle renders only the gauges set at scrape time.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| match builder().install_recorder() {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "a metrics recorder is already installed");
                builder().build_recorder().handle()
            }
        })
        .clone()
}

/// Sets the gauges read at scrape time (head, projection lag, engine counters) and renders
/// the Prometheus text.
pub fn render(state: &AppState) -> String {
    let handle = handle();
    let engine = state.engine();
    let head = engine.log().head().seq;
    let low_water = engine.views().low_water();
    let lag = if engine.views().names().is_empty() { 0 } else { head.saturating_sub(low_water) };
    #[expect(clippy::cast_precision_loss, reason = "gauges are f64; seqs stay far below 2^53")]
    {
        metrics::gauge!(HEAD_SEQ).set(head as f64);
        metrics::gauge!(PROJECTION_LAG).set(lag as f64);
        for ((source, command_type), counts) in engine.submission_counts() {
            let labels = [("source", source), ("type", command_type)];
            metrics::gauge!(ENGINE_SUBMISSIONS, &labels).set(counts.submitted as f64);
            metrics::gauge!(ENGINE_REJECTIONS, &labels).set(counts.rejected as f64);
        }
    }
    handle.run_upkeep();
    handle.render()
}
