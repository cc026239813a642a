//! `webhookbench`: commit → delivery latency of the webhook outbox at a loopback receiver.
//!
//! A temporary store with the real projections; one receiver (axum on 127.0.0.1:0) behind two
//! endpoints: `orders` (`order.*`) and `feed` (`ats.changed`). Commands are submitted at a
//! fixed rate (default 1000/s), alternating `receive_order` (one `order.received` event) and
//! `receive_inventory` of one unit of one of the SKUs (moves its ATS). For every event the
//! latency is measured from the moment the command was sent to the engine (so it includes the
//! decision and the group commit's fdatasync), and from the moment the engine acknowledged it
//! (durable; the delivery often races this acknowledgement to the caller, hence ~0), to the
//! moment the receiver got the signed request: `order.received` at `orders`, and for each stock receipt
//! the first `ats.changed` of its SKU whose `as_of_seq` covers it at `feed`.
//!
//! Usage: `cargo run --release -p tally-benches --bin webhookbench [-- --rate 1000]
//! [--seconds 15] [--skus 50] [--coalesce-ms 100]`

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_benches::{arg, fdatasync_rate};
use tally_engine::{Engine, EngineConfig, Submission};
use tally_outbox::{Delivery, EndpointText, Origin, Secret, Start, SystemClock, WebhooksConfig};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A request received: (endpoint, when, body, signature verified).
type Request = (String, Instant, serde_json::Value, bool);
/// An acknowledged event: (seq, command sent, acknowledged, the SKU of a stock move).
type Ack = (u64, Instant, Instant, Option<String>);

#[derive(Clone, Default)]
struct Seen {
    /// (endpoint, received at, body, signature verified)
    log: Arc<Mutex<Vec<Request>>>,
}

async fn receive(
    State(seen): State<Seen>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let verified = Secret::parse(SECRET).is_ok_and(|s| {
        s.verify(
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &body,
            &header("webhook-signature"),
            chrono_now_s(),
        )
        .is_ok()
    });
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if let Ok(mut log) = seen.log.lock() {
        log.push((endpoint, at, json, verified));
    }
    StatusCode::NO_CONTENT
}

fn chrono_now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn sub(key: String, json: serde_json::Value) -> anyhow::Result<Submission> {
    Ok(Submission::new(key, serde_json::from_value(json)?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn endpoint(name: &str, url: &str, types: &[&str]) -> anyhow::Result<tally_outbox::EndpointSpec> {
    Ok(EndpointText {
        name: name.to_owned(),
        url: url.to_owned(),
        types: types.iter().map(|t| (*t).to_owned()).collect(),
        channels: vec![],
        skus: vec![],
        secret: SECRET.to_owned(),
        start: Start::Head,
        ca_file: None,
    }
    .into_spec(Origin::Config)?)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rate = arg(&args, "--rate", 1000).max(1);
    let seconds = arg(&args, "--seconds", 15).max(1);
    let skus = arg(&args, "--skus", 50).max(1);
    let coalesce_ms = arg(&args, "--coalesce-ms", 100);
    let dir = tempfile::Builder::new().prefix("webhookbench").tempdir_in(".")?;
    let fsync = fdatasync_rate(dir.path(), 390, Duration::from_secs(2))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let engine = Engine::open(dir.path(), EngineConfig::default(), tally_projections::all())?;
    runtime.block_on(async {
        let mut steps = vec![
            serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
            serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
        ];
        for s in 0..skus {
            steps.push(serde_json::json!({"type": "define_sku", "sku": format!("SKU-{s:03}"), "lot_tracked": false,
                "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}));
            steps.push(serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": format!("SKU-{s:03}"), "qty": 100_000}));
        }
        for (i, step) in steps.into_iter().enumerate() {
            engine.submit(sub(format!("seed-{i}"), step)?).await?;
        }
        let head = engine.log().head().seq;
        engine.wait_for_views(head, Duration::from_secs(60)).await?;
        anyhow::Ok(())
    })?;

    let seen = Seen::default();
    let (url, outbox) = runtime.block_on(async {
        let app = axum::Router::new()
            .route("/{endpoint}", axum::routing::post(receive))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = WebhooksConfig {
            delivery: Delivery { ats_coalesce_ms: coalesce_ms, ..Delivery::default() },
            endpoints: vec![
                endpoint("orders", &format!("{url}/orders"), &["order.*"])?,
                endpoint("feed", &format!("{url}/feed"), &["ats.changed"])?,
            ],
        };
        let outbox = tally_outbox::Outbox::start(
            dir.path(),
            config,
            engine.log().clone(),
            engine.views().clone(),
            Arc::new(SystemClock),
        )?;
        anyhow::Ok((url, outbox))
    })?;
    let _ = url;

    // Drive: one command every 1/rate s, each submitted by its own task.
    let total = rate * seconds;
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let started = Instant::now();
    runtime.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for i in 0..total {
            tick.tick().await;
            let engine = engine.clone();
            let acks = Arc::clone(&acks);
            tasks.push(tokio::spawn(async move {
                let sku = format!("SKU-{:03}", (i / 2) % skus);
                let (command, stock_sku) = if i % 2 == 0 {
                    (serde_json::json!({"type": "receive_order", "order": format!("W{i:07}"), "channel": "web",
                        "placed_at": "2026-03-01T10:00:00Z", "currency": "USD",
                        "lines": [{"sku": sku, "qty": 1, "unit_price": {"amount": "15.00", "currency": "USD"}}],
                        "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}), None)
                } else {
                    (serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": sku, "qty": 1}), Some(sku))
                };
                let Ok(submission) = sub(format!("bench-{i}"), command) else { return };
                let sent = Instant::now();
                if let Ok(accepted) = engine.submit(submission).await {
                    let at = Instant::now();
                    if let Ok(mut acks) = acks.lock() {
                        for e in &accepted.events {
                            if e.event_type == "order.received" || e.event_type == "inventory.received" {
                                acks.push((e.seq, sent, at, stock_sku.clone()));
                            }
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let driven = started.elapsed();
    let acks = acks.lock().map(|a| a.clone()).unwrap_or_default();
    let orders_expected = acks.iter().filter(|a| a.3.is_none()).count();
    // Wait (bounded) for the deliveries.
    let deadline = Instant::now() + Duration::from_secs(120);
    let last_seq = acks.iter().map(|a| a.0).max().unwrap_or(0);
    // Until every order event arrived and the feed reached the last stock move, then until
    // nothing more arrives for a second (the rest of the last cut).
    let mut last_len = 0;
    let mut quiet_since = Instant::now();
    loop {
        let (len, orders, feed_max) = {
            let log = seen.log.lock().map(|l| l.clone()).unwrap_or_default();
            let orders = log.iter().filter(|r| r.0 == "orders").count();
            let feed_max = log
                .iter()
                .filter(|r| r.0 == "feed")
                .filter_map(|r| r.2["data"]["as_of_seq"].as_u64())
                .max();
            (log.len(), orders, feed_max)
        };
        if len != last_len {
            last_len = len;
            quiet_since = Instant::now();
        }
        let caught_up = orders >= orders_expected && feed_max.unwrap_or(0) >= last_seq;
        if (caught_up && quiet_since.elapsed() > Duration::from_secs(1))
            || Instant::now() > deadline
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime.block_on(outbox.shutdown());
    engine.close();

    let log = seen.log.lock().map(|l| l.clone()).unwrap_or_default();
    let unverified = log.iter().filter(|r| !r.3).count();
    let order_at: HashMap<u64, Instant> = log
        .iter()
        .filter(|r| r.0 == "orders")
        .filter_map(|r| r.2["data"]["seq"].as_u64().map(|s| (s, r.1)))
        .collect();
    // Per SKU, the feed's messages in arrival order: (as_of_seq, received at).
    let mut feed: BTreeMap<String, Vec<(u64, Instant)>> = BTreeMap::new();
    for r in log.iter().filter(|r| r.0 == "feed") {
        if let (Some(sku), Some(as_of)) =
            (r.2["data"]["sku"].as_str(), r.2["data"]["as_of_seq"].as_u64())
        {
            feed.entry(sku.to_owned()).or_default().push((as_of, r.1));
        }
    }
    // Per stream: command sent → delivered, and acknowledged (durable) → delivered.
    let mut order_ms = (Vec::new(), Vec::new());
    let mut ats_ms = (Vec::new(), Vec::new());
    let mut missing = 0;
    for (seq, sent, acked, stock) in &acks {
        let delivered = match stock {
            None => order_at.get(seq).copied(),
            Some(sku) => feed
                .get(sku)
                .and_then(|m| m.iter().find(|(as_of, _)| as_of >= seq).map(|(_, at)| *at)),
        };
        match delivered {
            Some(at) => {
                let from_sent = at.saturating_duration_since(*sent).as_secs_f64() * 1000.0;
                let from_ack = at.saturating_duration_since(*acked).as_secs_f64() * 1000.0;
                let target = if stock.is_none() { &mut order_ms } else { &mut ats_ms };
                target.0.push(from_sent);
                target.1.push(from_ack);
            }
            None => missing += 1,
        }
    }
    for v in [&mut order_ms.0, &mut order_ms.1, &mut ats_ms.0, &mut ats_ms.1] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "webhookbench: {total} commands in {:.2} s ({:.0}/s offered {rate}/s), disk fdatasync {fsync:.0}/s, coalesce {coalesce_ms} ms",
        driven.as_secs_f64(),
        total as f64 / driven.as_secs_f64()
    );
    println!("| stream | from | deliveries | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, v) in [
        ("order.* (per event)", &order_ms.0, "command sent"),
        ("order.* (per event)", &order_ms.1, "commit acknowledged"),
        ("ats.changed (per stock move)", &ats_ms.0, "command sent"),
        ("ats.changed (per stock move)", &ats_ms.1, "commit acknowledged"),
    ]
    .map(|(n, v, f)| ((n, f), v))
    {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            name.0,
            name.1,
            v.len(),
            percentile(v, 50.0),
            percentile(v, 90.0),
            percentile(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    let feed_messages: usize = feed.values().map(Vec::len).sum();
    println!(
        "ats.changed messages: {feed_messages} for {} stock moves (coalescing); undelivered: {missing}; signatures failing: {unverified}",
        ats_ms.0.len()
    );
    Ok(())
}
