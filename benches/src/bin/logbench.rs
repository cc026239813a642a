//! `logbench`: one run that measures the disk and hash limits and the log's figures beside
//! them, and prints a Markdown table for `benches/RESULTS.md`.
//!
//! Usage: `cargo run --release -p tally-benches --bin logbench [-- --events N] [--scan-only]`

use std::sync::Arc;
use std::time::Duration;
use tally_benches::{
    IdSource, chained_blake3_rate, fdatasync_rate, fill, open_log, read_rate, run_producers,
    stored_event_bytes, verify_rate,
};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let scale: u64 = args
        .iter()
        .position(|a| a == "--events")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let root = tempfile::Builder::new().prefix("logbench").tempdir_in(".")?;
    let frame = stored_event_bytes();
    println!(
        "stored event size: {frame} bytes; durability: fdatasync (PersistMode::SyncData) per group"
    );
    println!();
    println!("| workload | events/s | disk fdatasync/s (same run) | ratio |");
    println!("|---|---:|---:|---:|");

    let probe = |label: &str| -> anyhow::Result<f64> {
        let rate = fdatasync_rate(root.path(), frame + 64, Duration::from_secs(2))?;
        eprintln!("[{label}] fdatasync probe: {rate:.0}/s");
        Ok(rate)
    };

    let cases: [(usize, usize, u64); 6] = [
        (1, 1, 3_000),
        (16, 1, 30_000),
        (256, 1, scale.min(400_000)),
        (1, 100, 200_000),
        (1, 1000, scale),
        (256, 100, scale),
    ];
    let scan_only = args.iter().any(|a| a == "--scan-only");
    for (producers, batch, total) in cases {
        if scan_only {
            break;
        }
        let dir = root.path().join(format!("append-{producers}-{batch}"));
        let log = open_log(&dir)?;
        let ids = Arc::new(IdSource::default());
        // Warm up: create the store's files and caches.
        run_producers(&runtime, &log, &ids, producers.min(16), batch, (total / 20).max(100));
        let sync = probe("append")?;
        let elapsed = run_producers(&runtime, &log, &ids, producers, batch, total);
        let rate = total as f64 / elapsed.as_secs_f64();
        println!(
            "| append: {producers} producers × batches of {batch} ({total} events) | {rate:.0} | {sync:.0} | {:.2}× |",
            rate / sync
        );
        log.close();
    }

    let dir = root.path().join("scan");
    let log = open_log(&dir)?;
    fill(&runtime, &log, scale);
    let hash = chained_blake3_rate(frame - 32, scale);
    let verify = verify_rate(&log)?;
    let read = read_rate(&log)?;
    println!(
        "| verify ({scale} events, chain only) | {verify:.0} | — | {:.2}× of chained blake3 |",
        verify / hash
    );
    println!("| sequential read ({scale} events) | {read:.0} | — | — |");
    println!("| chained blake3 alone ({} B frames) | {hash:.0} | — | 1.00× |", frame - 32);
    log.close();
    Ok(())
}
