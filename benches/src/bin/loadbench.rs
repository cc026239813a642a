//! `loadbench`: the GraphQL server under load on loopback, bounded in time.
//!
//! Phase 1: ATS queries at a fixed rate while stock receipts are submitted at a fixed rate
//! (open loop: requests are sent on schedule whether or not earlier ones have answered);
//! reports p50/p99 latency and the rates achieved. Phase 2: bulk `submitMany` throughput.
//!
//! Usage: `cargo run --release -p tally-benches --bin loadbench [-- --seconds N]
//! [--query-rate Q] [--command-rate C] [--bulk-commands N] [--data DIR]`
//!
//! `--data DIR` serves an existing store (an `asofbench --keep DIR` store: its SKUs
//! `SKU-00000`…, its `web` channel and `WH1`) instead of a fresh seeded one, and reports the
//! time to open it and the process's resident memory idle and under the load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_api::{ApiConfig, AppState, AuthConfig, Role};
use tally_benches::arg;
use tally_engine::{Engine, EngineConfig, Submission};

const TOKEN: &str = "tly_loadbench";
const SKUS: u64 = 100;
/// Requests in flight at most per phase; beyond it a scheduled request is counted as dropped.
const IN_FLIGHT_MAX: usize = 512;

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: String,
) -> Result<serde_json::Value, String> {
    let response = client
        .post(url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let json: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if json.get("errors").is_some() {
        return Err(json["errors"].to_string());
    }
    Ok(json)
}

fn seed(engine: &Engine) -> anyhow::Result<()> {
    let mut steps = vec![
        serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
    ];
    for s in 0..SKUS {
        steps.push(serde_json::json!({"type": "define_sku", "sku": format!("SKU-{s:03}"), "lot_tracked": false,
            "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}));
        steps.push(serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": format!("SKU-{s:03}"), "qty": 100}));
    }
    for (i, step) in steps.into_iter().enumerate() {
        engine
            .submit_blocking(Submission::new(format!("seed-{i}"), serde_json::from_value(step)?))?;
    }
    Ok(())
}

#[derive(Default)]
struct Lane {
    latencies_us: std::sync::Mutex<Vec<u64>>,
    errors: AtomicU64,
    dropped: AtomicU64,
}

/// Sends `rate` requests per second for `seconds`, built by `body(n)`, open loop.
async fn run_lane(
    client: reqwest::Client,
    url: String,
    rate: u64,
    seconds: u64,
    lane: Arc<Lane>,
    body: impl Fn(u64) -> String + Send + Sync + 'static,
) {
    let body = Arc::new(body);
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_MAX));
    let tick = Duration::from_millis(10);
    let per_tick = (rate / 100).max(1);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..seconds * 100 {
        interval.tick().await;
        for _ in 0..per_tick {
            n += 1;
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                lane.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let (client, url, lane, body) =
                (client.clone(), url.clone(), Arc::clone(&lane), Arc::clone(&body));
            tasks.spawn(async move {
                let started = Instant::now();
                let result = post(&client, &url, body(n)).await;
                let us = started.elapsed().as_micros() as u64;
                match result {
                    Ok(_) => lane.latencies_us.lock().map(|mut l| l.push(us)).unwrap_or(()),
                    Err(_) => {
                        lane.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                drop(permit);
            });
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

fn report(name: &str, lane: &Lane, seconds: u64) {
    let mut l = lane.latencies_us.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort_unstable();
    println!(
        "| {name} | {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms | {} errors, {} dropped |",
        l.len() as f64 / seconds as f64,
        pct(&l, 0.5),
        pct(&l, 0.99),
        pct(&l, 1.0),
        lane.errors.load(Ordering::Relaxed),
        lane.dropped.load(Ordering::Relaxed)
    );
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = arg(&args, "--seconds", 10);
    let query_rate = arg(&args, "--query-rate", 2000);
    let command_rate = arg(&args, "--command-rate", 1000);
    let bulk_commands = arg(&args, "--bulk-commands", 100_000);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let data = args.iter().position(|a| a == "--data").and_then(|i| args.get(i + 1)).cloned();
    let temp = tempfile::Builder::new().prefix("loadbench").tempdir_in(".")?;
    let root = data.as_ref().map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    let opening = Instant::now();
    let engine = Engine::open(&root, EngineConfig::default(), tally_projections::all())?;
    // SKU names: the store's own (`--data`: asofbench's five digits) or the seeded ones.
    let wide = data.is_some();
    let sku = move |n: u64| {
        if wide { format!("SKU-{:05}", n % SKUS) } else { format!("SKU-{:03}", n % SKUS) }
    };
    if wide {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        rt.block_on(engine.wait_for_views(engine.log().head().seq, Duration::from_secs(3600)))?;
        eprintln!(
            "opened a store of {} events (views caught up) in {:.1} s: rss {} MiB",
            engine.log().head().seq,
            opening.elapsed().as_secs_f64(),
            tally_benches::rss_kib() >> 10
        );
        std::thread::sleep(Duration::from_secs(10));
        eprintln!("idle 10 s later: rss {} MiB", tally_benches::rss_kib() >> 10);
    } else {
        seed(&engine)?;
    }
    // Peak resident memory under the load phases.
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(tally_benches::rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let auth = AuthConfig::empty().with_token("bench", Role::Admin, TOKEN);
    let state = AppState::with_projections(
        engine.clone(),
        auth,
        ApiConfig::default(),
        tally_projections::all(),
    );
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/graphql", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tally_api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().pool_max_idle_per_host(IN_FLIGHT_MAX).build()?;

        println!("| lane | achieved | p50 | p99 | max | problems |");
        println!("|---|---:|---:|---:|---:|---|");
        let queries = Arc::new(Lane::default());
        let commands = Arc::new(Lane::default());
        let q = run_lane(client.clone(), url.clone(), query_rate, seconds, Arc::clone(&queries), move |n| {
            format!(r#"{{"query":"{{ ats(sku: \"{}\", channel: \"web\") {{ ats meta {{ seq }} }} }}"}}"#, sku(n))
        });
        let c = run_lane(client.clone(), url.clone(), command_rate, seconds, Arc::clone(&commands), move |n| {
            format!(
                r#"{{"query":"mutation {{ submit(input: {{ idempotencyKey: \"load-{n}\", json: {{ type: \"receive_inventory\", location: \"WH1\", sku: \"{}\", qty: 1 }} }}) {{ lastSeq }} }}"}}"#,
                sku(n)
            )
        });
        tokio::join!(q, c);
        report(&format!("ATS query at {query_rate}/s"), &queries, seconds);
        report(&format!("submit (stock receipt) at {command_rate}/s, alongside"), &commands, seconds);

        // Bulk: submitMany of 1000 commands from 8 concurrent clients.
        let batch = 1000u64;
        let batches = bulk_commands / batch;
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (client, url, next) = (client.clone(), url.clone(), Arc::clone(&next));
            tasks.spawn(async move {
                let mut errors = 0u64;
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let inputs: Vec<String> = (0..batch)
                        .map(|i| {
                            let n = b * batch + i;
                            format!(
                                r#"{{ idempotencyKey: \"bulk-{n}\", json: {{ type: \"receive_inventory\", location: \"WH1\", sku: \"{}\", qty: 1 }} }}"#,
                                sku(n)
                            )
                        })
                        .collect();
                    let body = format!(
                        r#"{{"query":"mutation {{ submitMany(inputs: [{}]) {{ lastSeq userErrors {{ code }} }} }}"}}"#,
                        inputs.join(",")
                    );
                    match post(&client, &url, body).await {
                        Err(e) => {
                            if errors == 0 {
                                eprintln!("submitMany failed: {e}");
                            }
                            errors += 1;
                        }
                        Ok(json) => {
                            let items = json["data"]["submitMany"].as_array().map_or(0, Vec::len);
                            let failed = json["data"]["submitMany"]
                                .as_array()
                                .map_or(0, |a| a.iter().filter(|i| i["userErrors"] != serde_json::json!([])).count());
                            if items as u64 != batch || failed > 0 {
                                errors += 1;
                            }
                        }
                    }
                }
                errors
            });
        }
        let mut errors = 0;
        while let Some(e) = tasks.join_next().await {
            errors += e.unwrap_or(1);
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| bulk submitMany, 8 clients × 1000 commands | {:.0} commands/s | — | — | — | {errors} failed batches |",
            (batches * batch) as f64 / secs
        );
        let _ = stop.send(());
        let _ = server.await;
        anyhow::Ok(())
    })?;
    sampling.store(false, Ordering::Relaxed);
    sampler.join().map_err(|_| anyhow::anyhow!("the memory sampler panicked"))?;
    println!(
        "| resident memory | peak {} MiB under the load, {} MiB after | {} events in the store | | | |",
        peak.load(Ordering::Relaxed) >> 10,
        tally_benches::rss_kib() >> 10,
        engine.log().head().seq
    );
    engine.close();
    Ok(())
}
