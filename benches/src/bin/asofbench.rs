//! `asofbench`: view answers as of an earlier seq (read from the views' history) next to the
//! same answers on the live view, on a store of N demo-like events; and what the history costs
//! on disk per event.
//!
//! The store is built through the engine (durable appends, live projections): 1000 SKUs at two
//! warehouses, with opening stock; three units of work in four are a stock receipt, the fourth
//! an order received, validated and allocated, and the order of forty units earlier picked,
//! packed and shipped (so the status indexes churn as they do in a shop), and the order shipped
//! forty units before that delivered (`--deliver 0`: never; the orders then all stay open). Then, for `--queries` random (seq, SKU)
//! pairs from a fixed seed:
//! - ATS: `inventory::ats_by_channel` + `inventory::stock` of one SKU (a point read and a
//!   small prefix scan);
//! - orders page: `orders::orders_by_status(FULFILLING, first 50)` (an index scan and 50 gets);
//!
//! each timed as of the seq (`ViewStore::reader_at`) and live (`ViewStore::reader`).
//!
//! Usage: `cargo run --release -p tally-benches --bin asofbench -- --events N [--queries Q]
//! [--callers C] [--replay 1] [--rebuild 1] [--deliver 0] [--keep DIR]` (`--replay 1` also times one full replay to the
//! middle seq, the cost every as-of answer had before history; `--rebuild 1` times a catch-up
//! of every view with history against the same catch-up without: the cost of keeping history
//! on the apply path).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_benches::{arg, command, fdatasync_rate, rss_kib, status_kib};
use tally_domain::Command;
use tally_domain::order::OrderStatus;
use tally_engine::{Engine, EngineConfig, Submission};
use tally_projections::{ViewReader, ViewStore, inventory, orders};

const SKUS: u64 = tally_benches::CATALOG_SKUS;

/// The catalog, then opening stock so that orders allocate and ship.
fn seed(engine: &Engine) -> anyhow::Result<()> {
    tally_benches::seed_catalog(engine)?;
    for s in 0..SKUS {
        let receipt = command(serde_json::json!({"type": "receive_inventory", "location": "WH1",
            "sku": format!("SKU-{s:05}"), "qty": 1_000_000}))?;
        engine.submit_blocking(Submission::new(format!("opening-{s}"), receipt))?;
    }
    Ok(())
}

/// The commands of unit of work `i`.
fn work(i: u64, deliver: bool) -> Vec<serde_json::Value> {
    let sku = format!("SKU-{:05}", (i * 7919) % SKUS);
    if i % 4 != 3 {
        let location = if i.is_multiple_of(2) { "WH1" } else { "WH2" };
        return vec![serde_json::json!({"type": "receive_inventory", "location": location,
            "sku": sku, "qty": 2 + i % 5})];
    }
    let order = format!("O{i:09}");
    let mut out = vec![
        serde_json::json!({"type": "receive_order", "order": order, "channel": "web",
            "placed_at": "2026-03-01T10:00:00Z", "currency": "USD",
            "lines": [{"sku": sku, "qty": 1, "unit_price": {"amount": "9.00", "currency": "USD"}}],
            "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}),
        serde_json::json!({"type": "validate_order", "order": order}),
        serde_json::json!({"type": "allocate_order", "order": order}),
    ];
    if let Some(earlier) = i.checked_sub(40) {
        let order = format!("O{earlier:09}");
        out.push(serde_json::json!({"type": "pick_order", "order": order}));
        out.push(serde_json::json!({"type": "pack_order", "order": order}));
        out.push(serde_json::json!({"type": "ship_order", "order": order, "serials": []}));
    }
    if deliver && let Some(earlier) = i.checked_sub(80) {
        // Delivered forty units after it shipped: the open orders stay about eighty, and
        // every order ends closed, as in a shop.
        let order = format!("O{earlier:09}");
        out.push(serde_json::json!({"type": "deliver_order", "order": order}));
    }
    out
}

/// Submits units of work from `callers` tasks until the log holds `events` events; returns
/// how many commands were refused (an order not yet allocated when its shipment comes).
fn build(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    (callers, events, deliver): (u64, u64, bool),
) -> u64 {
    let next = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let engine = engine.clone();
            let next = Arc::clone(&next);
            let refused = Arc::clone(&refused);
            tasks.push(tokio::spawn(async move {
                while engine.log().head().seq < events {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    for (j, json) in work(i, deliver).into_iter().enumerate() {
                        let Ok(cmd) = serde_json::from_value::<Command>(json) else { return };
                        let submission = Submission::new(format!("w{i}-{j}"), cmd);
                        if let Err(e) = engine.submit(submission).await
                            && refused.fetch_add(1, Ordering::Relaxed) < 5
                        {
                            eprintln!("refused: {e}");
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    refused.load(Ordering::Relaxed)
}

/// A small deterministic generator (xorshift64*): the same queries on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// (p50, p99) in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e6
    };
    (at(0.50), at(0.99))
}

fn ats_answer(r: &ViewReader, sku: &str) -> anyhow::Result<u64> {
    let today = tally_domain::time::Date::parse("2026-03-01")?;
    let ats = inventory::ats_by_channel(r, sku, today)?;
    let stock = inventory::stock(r, "WH1", sku)?;
    Ok(ats.network + stock.total.on_hand)
}

fn orders_answer(r: &ViewReader) -> anyhow::Result<usize> {
    Ok(orders::orders_by_status(r, OrderStatus::Fulfilling, None, 50)?.items.len())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let events = arg(&args, "--events", 100_000);
    let queries = arg(&args, "--queries", 2_000);
    let callers = arg(&args, "--callers", 256);
    let replay = arg(&args, "--replay", 0) == 1;
    let rebuild = arg(&args, "--rebuild", 0) == 1;
    let deliver = arg(&args, "--deliver", 1) == 1;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    // `--keep DIR`: build the store in DIR (a `tally serve --data DIR` store) and keep it.
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1));
    let temp = tempfile::Builder::new().prefix("asofbench").tempdir_in(".")?;
    let root_path = keep.map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    let mut config = EngineConfig::default();
    // `--log-memtable-mib M`: the log's write buffer (`tally_log::Config::memtable_bytes`).
    if let Some(mib) = args
        .iter()
        .position(|a| a == "--log-memtable-mib")
        .map(|_| arg(&args, "--log-memtable-mib", 0))
    {
        config.log.memtable_bytes = mib << 20;
    }
    let engine = Engine::open(&root_path, config, tally_projections::all())?;
    let sync = fdatasync_rate(&root_path, 512, Duration::from_secs(2))?;
    let t = Instant::now();
    // Resident memory while the store grows: the peak, and a sample at each tenth of it.
    let peak = Arc::new(AtomicU64::new(0));
    let building = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, building, log) = (peak.clone(), building.clone(), engine.log().clone());
        let views = engine.views().clone();
        std::thread::spawn(move || {
            let mut next_tenth = 1;
            let mut last_print = Instant::now();
            while building.load(Ordering::Relaxed) {
                let rss = rss_kib();
                peak.fetch_max(rss, Ordering::Relaxed);
                let appended = next_tenth > 10;
                if appended && last_print.elapsed() >= Duration::from_secs(60) {
                    last_print = Instant::now();
                    eprintln!(
                        "rss while the views catch up: {} MiB (anon {} MiB); write buffers: log {} MiB, views {} MiB; views at {}",
                        rss >> 10,
                        status_kib("RssAnon:") >> 10,
                        log.write_buffer_bytes() >> 20,
                        views.write_buffer_bytes() >> 20,
                        views.low_water()
                    );
                }
                if !appended && log.head().seq >= events * next_tenth / 10 {
                    // Where it is: anonymous (heap) or file pages, the storage engines' write
                    // buffers, and how far the views trail the log.
                    eprintln!(
                        "rss at {} events appended: {} MiB (anon {} MiB, file {} MiB); write buffers: log {} MiB, views {} MiB; views at {}",
                        log.head().seq,
                        rss >> 10,
                        status_kib("RssAnon:") >> 10,
                        status_kib("RssFile:") >> 10,
                        log.write_buffer_bytes() >> 20,
                        views.write_buffer_bytes() >> 20,
                        views.low_water()
                    );
                    next_tenth += 1;
                    last_print = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    // `--reuse 1` with `--keep DIR`: query the store DIR holds (built by an earlier run)
    // instead of building one.
    if arg(&args, "--reuse", 0) == 1 && keep.is_some() {
        eprintln!("querying the store of {} events in {root_path:?}", engine.log().head().seq);
    } else {
        seed(&engine)?;
        let refused = build(&runtime, &engine, (callers, events, deliver));
        eprintln!("{refused} commands refused while building");
    }
    let head = engine.log().head().seq;
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    rt.block_on(engine.wait_for_views(head, Duration::from_secs(3600)))?;
    let built = t.elapsed().as_secs_f64();
    building.store(false, Ordering::Relaxed);
    sampler.join().map_err(|_| anyhow::anyhow!("the memory sampler panicked"))?;
    let rss_built = rss_kib();
    // Idle: nothing appended for ten seconds (background flushes and compactions settle).
    std::thread::sleep(Duration::from_secs(10));
    let rss_idle = rss_kib();
    eprintln!(
        "idle: rss {} MiB (anon {} MiB, file {} MiB); write buffers: log {} MiB, views {} MiB",
        rss_idle >> 10,
        status_kib("RssAnon:") >> 10,
        status_kib("RssFile:") >> 10,
        engine.log().write_buffer_bytes() >> 20,
        engine.views().write_buffer_bytes() >> 20
    );
    let views = engine.views();

    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let (mut ats_hist, mut ats_live, mut ord_hist, mut ord_live) = (vec![], vec![], vec![], vec![]);
    let mut checksum = 0_u64;
    for _ in 0..queries {
        let seq = 1 + rng.below(head - 1);
        let sku = format!("SKU-{:05}", rng.below(SKUS));
        let t = Instant::now();
        let r = views.reader_at("inventory", seq)?;
        checksum = checksum.wrapping_add(ats_answer(&r, &sku)?);
        ats_hist.push(t.elapsed());
        let t = Instant::now();
        let r = views.reader("inventory")?;
        checksum = checksum.wrapping_add(ats_answer(&r, &sku)?);
        ats_live.push(t.elapsed());
        let t = Instant::now();
        let r = views.reader_at("orders", seq)?;
        checksum = checksum.wrapping_add(orders_answer(&r)? as u64);
        ord_hist.push(t.elapsed());
        let t = Instant::now();
        let r = views.reader("orders")?;
        checksum = checksum.wrapping_add(orders_answer(&r)? as u64);
        ord_live.push(t.elapsed());
    }
    let row = |what: &str, hist: Vec<Duration>, live: Vec<Duration>| {
        let (hp50, hp99) = percentiles(hist);
        let (lp50, lp99) = percentiles(live);
        println!(
            "| {what}, {head} events | as of: p50 {:.0} µs, p99 {:.0} µs | live: p50 {:.0} µs, p99 {:.0} µs | p99 ratio {:.1}× |",
            hp50,
            hp99,
            lp50,
            lp99,
            hp99 / lp99
        );
    };
    println!("| query ({queries} random seqs and SKUs) | as of a seq (history) | live | ratio |");
    println!("|---|---:|---:|---:|");
    row("ATS by channel + stock of one SKU", ats_hist, ats_live);
    row("orders page (FULFILLING, first 50)", ord_hist, ord_live);
    if replay {
        let t = Instant::now();
        let store = ViewStore::replay_as_of(
            engine.log(),
            tally_projections::all(),
            head / 2,
            &mut |_, _| {},
        )?;
        let r = store.reader("inventory")?;
        checksum = checksum.wrapping_add(ats_answer(&r, "SKU-00001")?);
        println!(
            "| before history: one replay to seq {} (every as-of answer paid this) | {:.2} s | | |",
            head / 2,
            t.elapsed().as_secs_f64()
        );
    }
    if rebuild {
        // The same catch-up of every view over the whole log, into a fresh store that keeps
        // history and into a throw-away one that does not.
        let dir = tempfile::Builder::new().prefix("asofbench-views").tempdir_in(".")?;
        let t = Instant::now();
        let with_history = ViewStore::open(dir.path(), tally_projections::all())?;
        with_history.catch_up(engine.log(), None)?;
        let with = head as f64 / t.elapsed().as_secs_f64();
        drop(with_history);
        let t = Instant::now();
        drop(ViewStore::replay_as_of(
            engine.log(),
            tally_projections::all(),
            head,
            &mut |_, _| {},
        )?);
        let without = head as f64 / t.elapsed().as_secs_f64();
        println!(
            "| apply cost of history: every view caught up over the log, with history vs without | {with:.0} vs {without:.0} events/s ({:.0} % slower) | | |",
            (1.0 - with / without) * 100.0
        );
    }
    engine.views().flush()?;
    let (mut state, mut history) = (0_u64, 0_u64);
    for name in engine.views().names() {
        let (s, h) = engine.views().disk_space(name)?;
        state += s;
        history += h;
    }
    let log_bytes = dir_bytes(&root_path.join("log"));
    println!(
        "| disk per event | history {:.0} B, view state {:.0} B, log {:.0} B | {head} events: history {} MiB, views {} MiB, log {} MiB | built in {built:.0} s; disk {sync:.0} fdatasync/s in this run |",
        history as f64 / head as f64,
        state as f64 / head as f64,
        log_bytes as f64 / head as f64,
        history >> 20,
        state >> 20,
        log_bytes >> 20
    );
    println!(
        "| resident memory (engine + views in one process) | peak {} MiB while building, {} MiB when built, {} MiB idle 10 s later, {} MiB after the queries | | |",
        peak.load(Ordering::Relaxed) >> 10,
        rss_built >> 10,
        rss_idle >> 10,
        rss_kib() >> 10
    );
    eprintln!("checksum {checksum}");
    engine.close();
    Ok(())
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
