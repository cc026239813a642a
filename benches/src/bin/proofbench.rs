//! `proofbench`: the proof figures of `benches/RESULTS.md` in one run — inclusion and
//! consistency proof generation on a large log, proof verification, and offline bundle
//! verification throughput.
//!
//! Usage: `cargo run --release -p tally-benches --bin proofbench [-- --events N] [--bundle-events N] [--store DIR]`

use std::sync::Arc;
use std::time::Instant;
use tally_benches::{IdSource, arg, run_producers};
use tally_log::tally_proof::bundle::UnsignedTail;
use tally_log::tally_proof::bundle::dir::verify_dir;
use tally_log::tally_proof::key::LedgerKey;
use tally_log::tally_proof::merkle::{verify_consistency, verify_inclusion};
use tally_log::{CheckpointPolicy, Config, Log};

/// Percentile of sorted nanosecond samples.
fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let events = arg(&args, "--events", 10_000_000);
    let bundle_events = arg(&args, "--bundle-events", 1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    let root = tempfile::Builder::new().prefix("proofbench").tempdir_in(".")?;
    let key = LedgerKey::generate("bench")?;
    let mut policy = CheckpointPolicy::new(key.clone(), "bench.tally/ledger");
    policy.every_events = 0;
    policy.every_ms = 0;
    let config = Config { checkpoints: Some(policy), ..Config::default() };

    // `--store DIR` reuses (or creates and keeps) a filled log, to measure proofs repeatedly.
    let kept = args.iter().position(|a| a == "--store").and_then(|i| args.get(i + 1));
    let big = kept.map_or_else(|| root.path().join("big"), std::path::PathBuf::from);
    let log = Log::open(&big, config.clone())?;
    if log.head().seq < events {
        let ids = Arc::new(IdSource::default());
        let start = Instant::now();
        run_producers(&runtime, &log, &ids, 4, 1000, events - log.head().seq);
        eprintln!("filled {events} events in {:.1}s", start.elapsed().as_secs_f64());
    }
    let size = log.head().seq;
    let root_hash = log.root_at(size)?;

    // Inclusion proofs at spread-out seqs (a fixed multiplicative walk, no RNG needed).
    let samples = 20_000u64;
    let mut gen_ns = Vec::with_capacity(samples as usize);
    let mut verify_ns = Vec::with_capacity(samples as usize);
    let mut seq = 1u64;
    for _ in 0..samples {
        seq = (seq.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407)
            % size)
            + 1;
        let hash = log.get(seq)?.map(|e| e.hash()).ok_or_else(|| anyhow::anyhow!("no {seq}"))?;
        let t = Instant::now();
        let proof = log.inclusion_proof(seq, size)?;
        gen_ns.push(t.elapsed().as_nanos() as u64);
        let t = Instant::now();
        verify_inclusion(&proof, &hash, seq - 1, size, &root_hash)?;
        verify_ns.push(t.elapsed().as_nanos() as u64);
    }
    gen_ns.sort_unstable();
    verify_ns.sort_unstable();
    let old = size / 3;
    let old_root = log.root_at(old)?;
    let t = Instant::now();
    let consistency = log.consistency_proof(old, size)?;
    let consistency_us = t.elapsed().as_secs_f64() * 1e6;
    verify_consistency(&consistency, old, size, &old_root, &root_hash)?;
    println!("| measure | p50 | p99 | note |");
    println!("|---|---:|---:|---|");
    println!(
        "| inclusion proof generation, tree of {size} | {:.1} µs | {:.1} µs | {samples} proofs, {} hashes each at most |",
        pct(&gen_ns, 0.5),
        pct(&gen_ns, 0.99),
        64 - (size - 1).leading_zeros()
    );
    println!(
        "| inclusion proof verification | {:.1} µs | {:.1} µs | pure function |",
        pct(&verify_ns, 0.5),
        pct(&verify_ns, 0.99)
    );
    println!("| consistency proof {old} → {size} | {consistency_us:.1} µs | — | one proof |");
    log.close();
    drop(log);

    // Offline bundle verification.
    let log = Log::open(root.path().join("bundle-src"), config)?;
    run_producers(&runtime, &log, &Arc::new(IdSource::default()), 4, 1000, bundle_events);
    let upto = log.checkpoint_blocking()?;
    let dir = root.path().join("bundle");
    let t = Instant::now();
    log.export_bundle(&dir, &upto)?;
    let export_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = verify_dir(&dir, Some(&key.public_key()), None, UnsignedTail::Refuse)?;
    let verify_s = t.elapsed().as_secs_f64();
    println!(
        "| bundle export, {} events | {:.0} events/s | — | NDJSON + base64 frames |",
        report.event_count,
        report.event_count as f64 / export_s
    );
    println!(
        "| offline bundle verification, {} events | {:.0} events/s | — | chain + tree + checkpoints; parsing and verifying on two threads |",
        report.event_count,
        report.event_count as f64 / verify_s
    );
    log.close();
    Ok(())
}
