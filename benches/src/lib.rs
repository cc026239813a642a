//! Workloads and physical-limit probes shared by the criterion benches and `logbench`.
//!
//! Every throughput figure is meant to be reported next to the limit measured in the same run:
//! [`fdatasync_rate`] (the disk) and [`chained_blake3_rate`] (the hash).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_log::{AppendRequest, Config, EventId, Log, NewEvent, VerifyOptions, chain_hash};

/// The value after `--name` on the command line, or `default`.
#[must_use]
pub fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Payload bytes that make a ~300-byte stored frame with [`event`]'s envelope.
pub const PAYLOAD_BYTES: usize = 130;

/// A benchmark event: stream of 12 bytes, type of 14, source and actor of 8.
#[must_use]
pub fn event(raw_id: u128, stream: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::new(raw_id).unwrap_or(EventId::MAX),
        stream: format!("sku-{stream:08}"),
        event_type: "stock.adjusted".to_owned(),
        schema_version: 1,
        occurred_at_ms: 1_764_000_000_000,
        source: "bench/wh".to_owned(),
        correlation_id: EventId::new(raw_id),
        causation_id: None,
        actor: "bencher".to_owned(),
        payload: vec![0xab; PAYLOAD_BYTES],
    }
}

/// Stored bytes of one [`event`] (frame + hash), for reporting.
#[must_use]
pub fn stored_event_bytes() -> usize {
    let e = event(1, 0);
    123 + e.stream.len()
        + e.event_type.len()
        + e.source.len()
        + e.actor.len()
        + e.payload.len()
        + 32
}

/// Appends `bytes` and calls fdatasync, repeatedly, for `duration`; returns syncs per second.
/// This is the ceiling for one durable append at a time on this disk, right now.
pub fn fdatasync_rate(dir: &Path, bytes: usize, duration: Duration) -> std::io::Result<f64> {
    let path = dir.join("fdatasync-probe");
    let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
    let block = vec![0x5a; bytes];
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < duration {
        file.write_all(&block)?;
        file.sync_data()?;
        count += 1;
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(path)?;
    Ok(rate)
}

/// Chained keyed blake3 over `count` frames of `frame_bytes`: the hashing ceiling of append
/// and verify. Returns frames per second.
#[must_use]
pub fn chained_blake3_rate(frame_bytes: usize, count: u64) -> f64 {
    let frame = vec![0x42u8; frame_bytes];
    let mut prev = tally_log::GENESIS;
    let start = Instant::now();
    for _ in 0..count {
        prev = chain_hash(&prev, std::hint::black_box(&frame));
    }
    std::hint::black_box(prev);
    count as f64 / start.elapsed().as_secs_f64()
}

/// Ids handed out across runs of a workload on one log, so appends never deduplicate.
#[derive(Debug, Default)]
pub struct IdSource(AtomicU64);

impl IdSource {
    /// A fresh id.
    pub fn next(&self) -> u128 {
        u128::from(self.0.fetch_add(1, Ordering::Relaxed)) + 1
    }
}

/// `producers` tokio tasks each append caller batches of `batch` events until `total` events
/// are durable. Returns the elapsed time.
pub fn run_producers(
    runtime: &tokio::runtime::Runtime,
    log: &Log,
    ids: &Arc<IdSource>,
    producers: usize,
    batch: usize,
    total: u64,
) -> Duration {
    let claimed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::with_capacity(producers);
        for p in 0..producers {
            let log = log.clone();
            let ids = Arc::clone(ids);
            let claimed = Arc::clone(&claimed);
            tasks.push(tokio::spawn(async move {
                loop {
                    let from = claimed.fetch_add(batch as u64, Ordering::Relaxed);
                    if from >= total {
                        break;
                    }
                    let n = (total - from).min(batch as u64);
                    let events = (0..n).map(|_| event(ids.next(), p as u64)).collect();
                    if let Err(e) = log.append(AppendRequest::new(events)).await {
                        eprintln!("append failed: {e}");
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

/// Opens a log for benchmarking in `dir`.
pub fn open_log(dir: &Path) -> tally_log::Result<Log> {
    Log::open(dir, Config::default())
}

/// Fills a fresh log with `count` events in caller batches of 1000 (for read/verify benches).
pub fn fill(runtime: &tokio::runtime::Runtime, log: &Log, count: u64) {
    let ids = Arc::new(IdSource::default());
    run_producers(runtime, log, &ids, 4, 1000, count);
}

/// Verifies the whole chain; returns frames per second.
pub fn verify_rate(log: &Log) -> tally_log::Result<f64> {
    let start = Instant::now();
    let report = log.verify(VerifyOptions::default())?;
    Ok(report.frames_checked as f64 / start.elapsed().as_secs_f64())
}

/// Reads every event in seq order, touching its payload; returns events per second.
pub fn read_rate(log: &Log) -> tally_log::Result<f64> {
    let start = Instant::now();
    let mut count = 0u64;
    let mut sum = 0u64;
    for event in log.read(..) {
        let event = event?;
        sum = sum.wrapping_add(event.payload().len() as u64 + event.seq());
        count += 1;
    }
    std::hint::black_box(sum);
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Resident memory of this process, KiB (0 where `/proc` is not there).
#[must_use]
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `RssAnon:`, `RssFile:`…), 0 where unknown.
#[must_use]
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// A domain command from its JSON.
pub fn command(json: serde_json::Value) -> anyhow::Result<tally_domain::Command> {
    Ok(serde_json::from_value(json)?)
}

/// SKUs of [`seed_catalog`]: `SKU-00000` …
pub const CATALOG_SKUS: u64 = 1000;

/// The engine benches' master data: channel `web`, warehouses WH1 and WH2 serving it, and
/// [`CATALOG_SKUS`] untracked SKUs at 4.00 USD.
pub fn seed_catalog(engine: &tally_engine::Engine) -> anyhow::Result<()> {
    let mut steps = vec![
        serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
        serde_json::json!({"type": "define_location", "location": "WH2", "kind": "warehouse", "rank": 2, "channels": ["web"]}),
    ];
    for s in 0..CATALOG_SKUS {
        steps.push(serde_json::json!({"type": "define_sku", "sku": format!("SKU-{s:05}"), "lot_tracked": false,
            "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}));
    }
    for (i, step) in steps.into_iter().enumerate() {
        let submission = tally_engine::Submission::new(format!("seed-{i}"), command(step)?);
        engine.submit_blocking(submission)?;
    }
    Ok(())
}
