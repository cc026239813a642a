//! Prometheus metrics through the `metrics` facade, and the series labelled by `source`.
//!
//! The recorder is process-global: the first server (or test) installs it and every later one
//! shares the same handle, so any number of servers may run in one process.
//!
//! A `source` is whatever a client writes in a command's envelope, so series labelled by it
//! are not kept in the recorder (which never forgets a series): they are rendered at scrape
//! time from the server's and the engine's counts: the `metrics_sources_max` sources with the
//! largest counts (ties broken by name) keep their label, all others are summed under
//! `source="other"` ([`OTHER_SOURCE`]).
//! Label values are escaped as the text format requires.

use crate::state::AppState;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

/// Submit → durable answer, seconds (the command's decide + append + fsync, as callers see it).
pub const APPEND_LATENCY: &str = "tally_append_latency_seconds";
/// Commands per `submitMany` call.
pub const BATCH_COMMANDS: &str = "tally_submit_batch_commands";
/// Events appended per accepted command.
pub const COMMAND_EVENTS: &str = "tally_command_events";
/// Submissions this server has handed to the engine and not yet had answered.
pub const QUEUE_DEPTH: &str = "tally_api_submissions_in_flight";
/// Rejections answered through the API, by code and source (top sources and `other`).
pub const REJECTIONS: &str = "tally_rejections_total";
/// Head seq minus the smallest seq every view has applied.
pub const PROJECTION_LAG: &str = "tally_projection_lag_events";
/// The durable head seq.
pub const HEAD_SEQ: &str = "tally_log_head_seq";
/// GraphQL operations served, by kind of outcome.
pub const GRAPHQL_REQUESTS: &str = "tally_graphql_requests_total";
/// Engine submissions since open, by source (top sources and `other`) and command type.
pub const ENGINE_SUBMISSIONS: &str = "tally_engine_submissions";
/// Engine rejections since open, by source (top sources and `other`) and command type.
pub const ENGINE_REJECTIONS: &str = "tally_engine_submission_rejections";

/// The `source` label value that sums every source outside the top ones.
pub const OTHER_SOURCE: &str = "other";
/// Most distinct sources whose API rejections are counted one by one; rejections from sources
/// first seen after that are counted under [`OTHER_SOURCE`] at once, so the table's memory is
/// bounded whatever clients send.
pub const REJECTION_SOURCES_TRACKED_MAX: usize = 1024;

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

/// Rejections answered through the API, per source and code, for at most
/// [`REJECTION_SOURCES_TRACKED_MAX`] distinct sources.
#[derive(Debug, Default)]
pub struct RejectionCounts {
    by_source: HashMap<String, BTreeMap<&'static str, u64>>,
}

impl RejectionCounts {
    /// Counts one rejection of `code` for `source`.
    pub fn record(&mut self, code: &'static str, source: &str) {
        let tracked = self.by_source.contains_key(source)
            || self.by_source.len() < REJECTION_SOURCES_TRACKED_MAX;
        let source = if tracked { source } else { OTHER_SOURCE };
        *self.by_source.entry(source.to_owned()).or_default().entry(code).or_default() += 1;
    }
}

/// Sets the gauges read at scrape time (head, projection lag) and renders the Prometheus text,
/// with the series labelled by source appended.
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
    }
    handle.run_upkeep();
    let mut text = handle.render();
    let sources_max = state.config().metrics_sources_max;
    let counts = engine.submission_counts();
    let submitted = counts.iter().map(|((source, command_type), c)| {
        (source.as_str(), ("type", command_type.as_str()), c.submitted)
    });
    render_by_source(&mut text, ENGINE_SUBMISSIONS, "gauge", submitted.collect(), sources_max);
    let rejected = counts.iter().map(|((source, command_type), c)| {
        (source.as_str(), ("type", command_type.as_str()), c.rejected)
    });
    render_by_source(&mut text, ENGINE_REJECTIONS, "gauge", rejected.collect(), sources_max);
    let rejections = state.rejection_counts();
    let rows = rejections
        .by_source
        .iter()
        .flat_map(|(source, codes)| {
            codes.iter().map(move |(code, count)| (source.as_str(), ("code", *code), *count))
        })
        .collect();
    render_by_source(&mut text, REJECTIONS, "counter", rows, sources_max);
    text
}

/// Appends `metric` over `rows` of `(source, (label, value), count)`: the `sources_max`
/// sources with the largest total count (ties by name) keep their label, the rest are summed
/// under [`OTHER_SOURCE`]; zero counts are left out.
fn render_by_source(
    text: &mut String,
    metric: &str,
    kind: &str,
    rows: Vec<(&str, (&str, &str), u64)>,
    sources_max: usize,
) {
    use std::fmt::Write as _;
    // A zero count says nothing and must not take a place among the top sources.
    let rows: Vec<_> = rows.into_iter().filter(|(_, _, count)| *count > 0).collect();
    if rows.is_empty() {
        return;
    }
    let mut totals: HashMap<&str, u64> = HashMap::new();
    for (source, _, count) in &rows {
        *totals.entry(source).or_default() += count;
    }
    let mut ranked: Vec<(&str, u64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: HashSet<&str> = ranked.iter().take(sources_max).map(|(source, _)| *source).collect();
    let mut series: BTreeMap<(&str, (&str, &str)), u64> = BTreeMap::new();
    for (source, label, count) in rows {
        let source = if top.contains(source) { source } else { OTHER_SOURCE };
        *series.entry((source, label)).or_default() += count;
    }
    let _ = writeln!(text, "# TYPE {metric} {kind}");
    for ((source, (name, value)), count) in series {
        let _ = writeln!(
            text,
            "{metric}{{{name}=\"{}\",source=\"{}\"}} {count}",
            escape_label(value),
            escape_label(source)
        );
    }
}

/// A label value in the text format: backslash, double quote and newline escaped.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
