//! `opsbench`: append throughput while a long operation runs on the served store — a full
//! verification and an audit bundle export, started as `startOperation` starts them
//! (`tally_api::operations`) — next to the same appends with nothing else running, and the
//! disk's fdatasync rate in the same run.
//!
//! Usage: `cargo run --release -p tally-benches --bin opsbench [-- --events 200000]
//! [--callers 64] [--runs 3] [--baseline-ms 3000]`
//!
//! The store is filled to `--events` events first (stock receipts, two events per command),
//! then each run measures, in turn: appends alone for `--baseline-ms`; appends while a
//! `VERIFY` runs (from its start to its end); appends while an `EXPORT_BUNDLE` runs. The
//! figures are medians over the runs; the store grows by what each window appends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_api::operations::{self, Request};
use tally_api::{ApiConfig, AppState, AuthConfig};
use tally_benches::{arg, fdatasync_rate};
use tally_domain::Command;
use tally_engine::{Engine, EngineConfig, Submission};
use tally_log::CheckpointPolicy;
use tally_log::tally_proof::key::LedgerKey;

const SKUS: u64 = tally_benches::CATALOG_SKUS;

/// Appends stock receipts from `callers` tasks until `stop`; counts accepted and failed.
struct Appenders {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Appenders {
    fn start(engine: &Engine, callers: u64, next: &Arc<AtomicU64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let tasks = (0..callers)
            .map(|_| {
                let (engine, next) = (engine.clone(), next.clone());
                let (stop, accepted, failed) = (stop.clone(), accepted.clone(), failed.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let json = serde_json::json!({"type": "receive_inventory",
                            "location": if i.is_multiple_of(2) { "WH1" } else { "WH2" },
                            "sku": format!("SKU-{:05}", i % SKUS), "qty": 1 + i % 5});
                        let Ok(cmd) = serde_json::from_value::<Command>(json) else { break };
                        match engine.submit(Submission::new(format!("rcv-{i}"), cmd)).await {
                            Ok(_) => accepted.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        Self { stop, accepted, failed, tasks }
    }

    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        (self.accepted.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }
}

/// One measured window: commands/s, the window's length, failed appends.
#[derive(Debug, Clone, Copy)]
struct Window {
    rate: f64,
    seconds: f64,
    failed: u64,
    /// Events the operation covered (0 for the baseline).
    covered: u64,
}

async fn measure(
    state: &AppState,
    callers: u64,
    next: &Arc<AtomicU64>,
    request: Option<Request>,
    baseline: Duration,
) -> anyhow::Result<Window> {
    let engine = state.engine();
    let appenders = Appenders::start(engine, callers, next);
    // Let the appenders reach their pace before the window opens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = appenders.accepted.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut covered = 0;
    match request {
        None => tokio::time::sleep(baseline).await,
        Some(request) => {
            let op = operations::start(state, request).map_err(|e| anyhow::anyhow!("{e}"))?;
            while op.running() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let outcome = op.status().outcome.unwrap_or_default();
            if !outcome.ok {
                anyhow::bail!("{:?} failed: {:?} {:?}", op.kind, outcome.error, outcome.report);
            }
            covered = outcome.seq;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let during = appenders.accepted.load(Ordering::Relaxed) - before;
    let (_, failed) = appenders.stop().await;
    Ok(Window { rate: during as f64 / seconds, seconds, failed, covered })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let events = arg(&args, "--events", 200_000);
    let callers = arg(&args, "--callers", 64);
    let runs = arg(&args, "--runs", 3).max(1);
    let baseline = Duration::from_millis(arg(&args, "--baseline-ms", 3000));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let root = tempfile::Builder::new().prefix("opsbench").tempdir_in(".")?;
    let mut config = EngineConfig::default();
    config.log.checkpoints =
        Some(CheckpointPolicy::new(LedgerKey::generate("opsbench")?, "bench.tally/ledger"));
    let engine = Engine::open(root.path(), config, tally_projections::all())?;
    tally_benches::seed_catalog(&engine)?;
    let state = AppState::with_projections(
        engine.clone(),
        AuthConfig::empty(),
        ApiConfig::default(),
        tally_projections::all(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let fill = Instant::now();
    runtime.block_on(async {
        let appenders = Appenders::start(&engine, 256, &next);
        while engine.log().head().seq < events {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        appenders.stop().await;
        engine.wait_for_views(engine.log().head().seq, Duration::from_secs(600)).await
    })?;
    eprintln!("filled {} events in {:.1} s", engine.log().head().seq, fill.elapsed().as_secs_f64());
    let sync = fdatasync_rate(root.path(), 512, Duration::from_secs(2))?;
    let start_head = engine.log().head().seq;
    let mut rows: Vec<(&str, Vec<Window>)> = vec![
        ("appends alone", Vec::new()),
        ("during a full VERIFY", Vec::new()),
        ("during an EXPORT_BUNDLE", Vec::new()),
    ];
    for run in 0..runs {
        for (i, (name, windows)) in rows.iter_mut().enumerate() {
            let request = match i {
                0 => None,
                1 => Some(Request::Verify { against: None }),
                _ => Some(Request::ExportBundle),
            };
            let w = runtime.block_on(measure(&state, callers, &next, request, baseline))?;
            eprintln!(
                "run {run}: {name}: {:.0} commands/s over {:.2} s (covered {} events, {} failed)",
                w.rate, w.seconds, w.covered, w.failed
            );
            windows.push(w);
        }
    }
    let base = median(rows[0].1.iter().map(|w| w.rate).collect());
    println!(
        "store: {start_head} events at the first run, {} at the end; {callers} callers; disk {sync:.0} fdatasync/s ({:.2} ms) in this run",
        engine.log().head().seq,
        1000.0 / sync
    );
    println!(
        "| appends | median commands/s (n = {runs}) | vs alone | median window | operation covered | failed appends |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, windows) in &rows {
        let rate = median(windows.iter().map(|w| w.rate).collect());
        let seconds = median(windows.iter().map(|w| w.seconds).collect());
        let covered = median(windows.iter().map(|w| w.covered as f64).collect());
        let failed: u64 = windows.iter().map(|w| w.failed).sum();
        println!(
            "| {name} | {rate:.0} | {:.0} % | {seconds:.2} s | {} | {failed} |",
            100.0 * rate / base,
            if covered > 0.0 { format!("{covered:.0} events") } else { "—".to_owned() }
        );
    }
    drop(state);
    engine.close();
    Ok(())
}
