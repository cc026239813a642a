//! `enginebench`: commands through the engine with many concurrent callers (durable), the
//! disk's fdatasync rate in the same run, projection rebuild throughput, and the engine's
//! resident memory as history grows.
//!
//! Usage: `cargo run --release -p tally-benches --bin enginebench [-- --commands N] [--callers N] [--no-views]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_benches::{arg, fdatasync_rate, rss_kib};
use tally_domain::Command;
use tally_engine::{Engine, EngineConfig, Submission};
use tally_projections::ViewStore;

const SKUS: u64 = tally_benches::CATALOG_SKUS;

/// `callers` tasks submit `total` stock receipts (one event each) spread over the SKUs.
fn drive(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    callers: u64,
    total: u64,
    offset: u64,
) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let engine = engine.clone();
            let next = Arc::clone(&next);
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    let i = n + offset;
                    let json = serde_json::json!({"type": "receive_inventory",
                        "location": if i.is_multiple_of(2) { "WH1" } else { "WH2" },
                        "sku": format!("SKU-{:05}", i % SKUS), "qty": 1 + i % 5});
                    let Ok(cmd) = serde_json::from_value::<Command>(json) else { break };
                    if let Err(e) = engine.submit(Submission::new(format!("rcv-{i}"), cmd)).await {
                        eprintln!("rejected: {e}");
                        break;
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    start.elapsed()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let commands = arg(&args, "--commands", 300_000);
    let callers = arg(&args, "--callers", 256);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let root = tempfile::Builder::new().prefix("enginebench").tempdir_in(".")?;
    // `--no-views` measures the writer alone (views are then caught up at the end).
    let views_live = !args.iter().any(|a| a == "--no-views");
    let config = EngineConfig { run_projections: views_live, ..EngineConfig::default() };
    let engine = Engine::open(root.path(), config, tally_projections::all())?;
    tally_benches::seed_catalog(&engine)?;
    drive(&runtime, &engine, callers.min(64), 5_000, 0);
    let rss_before = rss_kib();
    let sync = fdatasync_rate(root.path(), 512, Duration::from_secs(2))?;
    let (groups_before, grouped_before) = engine.group_stats();
    let head_before = engine.log().head().seq;
    // Three equal phases, with the resident memory after each: history grows, state should not.
    let mut elapsed = Duration::ZERO;
    let mut rss = vec![(head_before, rss_before)];
    for phase in 0..3 {
        let part = commands / 3;
        elapsed += drive(&runtime, &engine, callers, part, 5_000 + phase * part);
        rss.push((engine.log().head().seq, rss_kib()));
    }
    let commands = commands / 3 * 3;
    let (groups, grouped) = engine.group_stats();
    eprintln!(
        "mean group: {:.1} commands over {} groups",
        (grouped - grouped_before) as f64 / (groups - groups_before).max(1) as f64,
        groups - groups_before
    );
    let rate = commands as f64 / elapsed.as_secs_f64();
    let events_per_command = (engine.log().head().seq - head_before) as f64 / commands as f64;
    println!("| measure | figure | note |");
    println!("|---|---:|---|");
    println!(
        "| commands through the engine, {callers} callers | {rate:.0} commands/s ({:.0} events/s) | {events_per_command:.1} events per command (stock receipt + its journal entry), durable (fdatasync per group); disk {sync:.0} fdatasync/s in this run ({:.1}× the disk's single-sync rate) |",
        rate * events_per_command,
        rate / sync
    );
    let head = engine.log().head().seq;
    if views_live {
        let runtime_rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        let t = Instant::now();
        runtime_rt.block_on(engine.wait_for_views(head, Duration::from_secs(600)))?;
        println!(
            "| live views behind the writer at the end | {:.1} s to catch up | all projections |",
            t.elapsed().as_secs_f64()
        );
    }
    let points: Vec<String> =
        rss.iter().map(|(events, kib)| format!("{events} ev: {} MiB", kib / 1024)).collect();
    println!(
        "| resident memory as history grows | {} | {SKUS} SKUs × 2 locations; includes fjall memtables (≤ 64 MiB per keyspace) and block caches |",
        points.join(" → ")
    );
    let t = Instant::now();
    let rebuilt =
        ViewStore::replay_as_of(engine.log(), tally_projections::all(), head, &mut |_, _| {})?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "| full rebuild of every projection | {:.0} events/s | {head} events into a fresh store ({} projections) |",
        head as f64 / secs,
        rebuilt.names().len()
    );
    engine.close();
    Ok(())
}
