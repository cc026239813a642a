//! `oversellsim`: what a push feed of ATS buys against periodic syncs, in oversells per 10 000
//! orders, for the same seeded demand. Simulated time; no store, no network.
//!
//! The model (each number is a flag):
//! - **Demand**: three sales channels selling the same SKUs — `web` (the merchant's own shop,
//!   1 200 orders/day), `amazon` (900/day) and `ebay` (300/day) — as Poisson arrivals over
//!   `--days` days. Each order is one line of one SKU, picked by a Zipf(1.0) popularity over
//!   `--skus` SKUs, of 1 unit (80 %), 2 (15 %) or 3 (5 %). The demand sequence depends on the
//!   seed only, so every policy faces the same shoppers.
//! - **Channels** list the ATS they last received and sell against it: an order is accepted
//!   when the listing covers its quantity, and the channel then lowers its own listing (as
//!   Shopify, Amazon and eBay do for their own sales); otherwise the shopper is turned away.
//! - **Tally** receives each accepted order `--ingest-ms` after it was placed (the channel's
//!   order webhook or import), and allocates it if stock covers it; if not, it is an
//!   **oversell** (sold by a channel, no stock to ship).
//! - **Stock**: one pool per SKU. Replenished SKUs start at 7 days of their expected demand;
//!   when the pool plus what is on order falls to 4 days of demand, a receipt of 7 days of
//!   demand arrives after a 4-day lead time (the reorder point covers the lead time on
//!   average, so about every other cycle runs out for a while, as real ones do). A share of the
//!   SKUs (`--limited-pct`, default 25 %) are limited stock — a last batch, a clearance, a
//!   one-off — of 1 to 8 units, never replenished: these sell out once, mostly at the
//!   popular end.
//! - **Feeds**: *push* — every change of a SKU's ATS (an allocation, a receipt) reaches every
//!   channel `--push-ms` later with the ATS as of the change (the outbox's commit → delivery
//!   latency, coalescing window included); *sync every T* — each channel reads every SKU's ATS
//!   every T (5 s, 1 min, 15 min), each channel at its own random phase.
//!
//! Usage: `cargo run --release -p tally-benches --bin oversellsim [-- --seed 1] [--runs 5]
//! [--days 30 | --hours H] [--skus 200] [--push-ms 250] [--ingest-ms 2000] [--limited-pct 25]
//! [--limited-units 8] [--scale 1]`. `--scale` multiplies every channel's order rate;
//! `--limited-units U` gives limited SKUs U/8..=U units. A launch ("drop") of 10 limited
//! SKUs of 50 to 400 units, 10× the usual demand for 2 hours:
//! `oversellsim -- --hours 2 --skus 10 --limited-pct 100 --limited-units 400 --scale 10`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use tally_benches::arg;

/// splitmix64: a small, seedable, well-mixed generator (no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

const CHANNELS: [(&str, f64); 3] = [("web", 1200.0), ("amazon", 900.0), ("ebay", 300.0)];
const DAY_US: u64 = 86_400_000_000;

#[derive(Debug, Clone, Copy)]
struct Demand {
    at_us: u64,
    channel: usize,
    sku: usize,
    qty: u32,
}

fn demand(seed: u64, hours: u64, scale: u64, skus: usize) -> (Vec<Demand>, Vec<f64>) {
    let mut rng = Rng(seed);
    let weights: Vec<f64> = (1..=skus).map(|k| 1.0 / k as f64).collect();
    let total: f64 = weights.iter().sum();
    let share: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let mut cdf = Vec::with_capacity(skus);
    let mut acc = 0.0;
    for s in &share {
        acc += s;
        cdf.push(acc);
    }
    let mut out = Vec::new();
    for (channel, (_, per_day)) in CHANNELS.iter().enumerate() {
        let rate_per_us = per_day * scale as f64 / DAY_US as f64;
        let mut t = 0.0_f64;
        loop {
            t += -rng.unit().ln() / rate_per_us;
            if t >= (hours * DAY_US / 24) as f64 {
                break;
            }
            let u = rng.unit();
            let sku = cdf.partition_point(|c| *c < u).min(skus - 1);
            let q = rng.unit();
            let qty = if q < 0.80 {
                1
            } else if q < 0.95 {
                2
            } else {
                3
            };
            out.push(Demand { at_us: t as u64, channel, sku, qty });
        }
    }
    out.sort_by_key(|d| (d.at_us, d.channel));
    // Expected units per day of each SKU (mean qty 1.25).
    let orders_per_day: f64 = CHANNELS.iter().map(|c| c.1).sum::<f64>() * scale as f64;
    let units_per_day = share.iter().map(|s| s * orders_per_day * 1.25).collect();
    (out, units_per_day)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    Push { delay_us: u64 },
    Sync { every_us: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// A shopper on a channel (index into the demand).
    Shopper(usize),
    /// An accepted order reaches Tally.
    Order { sku: usize, qty: u32 },
    /// A receipt arrives.
    Receipt { sku: usize, qty: u32 },
    /// A pushed ATS reaches a channel.
    Push { channel: usize, sku: usize, ats: u32 },
    /// A channel syncs every SKU.
    Sync { channel: usize },
}

#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    shoppers: u64,
    accepted: u64,
    oversold: u64,
    turned_away_in_stock: u64,
}

/// Which SKUs are limited stock, and their units (a function of the seed).
fn limited(seed: u64, skus: usize, pct: u64, units_max: u32) -> Vec<Option<u32>> {
    let mut rng = Rng(seed ^ 0x0011_1111);
    let low = (units_max / 8).max(1);
    (0..skus)
        .map(|_| {
            (rng.next() % 100 < pct)
                .then(|| low + (rng.next() % u64::from(units_max - low + 1)) as u32)
        })
        .collect()
}

fn simulate(
    policy: Policy,
    demand: &[Demand],
    units_per_day: &[f64],
    limited: &[Option<u32>],
    seed: u64,
    ingest_us: u64,
) -> Outcome {
    let skus = units_per_day.len();
    let initial: Vec<u32> = units_per_day
        .iter()
        .zip(limited)
        .map(|(u, l)| l.unwrap_or((u * 7.0).ceil() as u32))
        .collect();
    let reorder_point: Vec<u32> = units_per_day.iter().map(|u| (u * 4.0).ceil() as u32).collect();
    let reorder_qty: Vec<u32> =
        units_per_day.iter().map(|u| (u * 7.0).ceil().max(1.0) as u32).collect();
    let lead_us = 4 * DAY_US;
    let mut stock = initial.clone();
    let mut on_order = vec![0_u32; skus];
    let mut listed = vec![initial; CHANNELS.len()];
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut n = 0_u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, Ev)>>, at: u64, ev: Ev| {
        n += 1;
        heap.push(Reverse((at, n, ev)));
    };
    for (i, d) in demand.iter().enumerate() {
        push(&mut heap, d.at_us, Ev::Shopper(i));
    }
    let end_us = demand.last().map_or(0, |d| d.at_us);
    if let Policy::Sync { every_us } = policy {
        let mut rng = Rng(seed ^ 0x5eed);
        for channel in 0..CHANNELS.len() {
            let phase = rng.next() % every_us;
            push(&mut heap, phase, Ev::Sync { channel });
        }
    }
    let mut out = Outcome::default();
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        let mut changed = None;
        match ev {
            Ev::Shopper(i) => {
                let d = demand[i];
                out.shoppers += 1;
                let listing = &mut listed[d.channel][d.sku];
                if *listing >= d.qty {
                    *listing -= d.qty;
                    out.accepted += 1;
                    push(&mut heap, now + ingest_us, Ev::Order { sku: d.sku, qty: d.qty });
                } else if stock[d.sku] >= d.qty {
                    out.turned_away_in_stock += 1;
                }
            }
            Ev::Order { sku, qty } => {
                if stock[sku] >= qty {
                    stock[sku] -= qty;
                    changed = Some(sku);
                } else {
                    out.oversold += 1;
                }
                if limited[sku].is_none() && stock[sku] + on_order[sku] <= reorder_point[sku] {
                    on_order[sku] += reorder_qty[sku];
                    push(&mut heap, now + lead_us, Ev::Receipt { sku, qty: reorder_qty[sku] });
                }
            }
            Ev::Receipt { sku, qty } => {
                stock[sku] += qty;
                on_order[sku] -= qty;
                changed = Some(sku);
            }
            Ev::Push { channel, sku, ats } => listed[channel][sku] = ats,
            Ev::Sync { channel } => {
                listed[channel].copy_from_slice(&stock);
                if let Policy::Sync { every_us } = policy
                    && now + every_us <= end_us
                {
                    push(&mut heap, now + every_us, Ev::Sync { channel });
                }
            }
        }
        if let (Some(sku), Policy::Push { delay_us }) = (changed, policy) {
            for channel in 0..CHANNELS.len() {
                push(&mut heap, now + delay_us, Ev::Push { channel, sku, ats: stock[sku] });
            }
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed0 = arg(&args, "--seed", 1);
    let runs = arg(&args, "--runs", 5).max(1);
    let days = arg(&args, "--days", 30).max(1);
    let hours = arg(&args, "--hours", days * 24).max(1);
    let scale = arg(&args, "--scale", 1).max(1);
    let units_max =
        u32::try_from(arg(&args, "--limited-units", 8).clamp(1, 1_000_000)).unwrap_or(8);
    let skus = usize::try_from(arg(&args, "--skus", 200).max(1)).unwrap_or(200);
    let push_ms = arg(&args, "--push-ms", 250);
    let ingest_ms = arg(&args, "--ingest-ms", 2000);
    let limited_pct = arg(&args, "--limited-pct", 25).min(100);
    let policies = [
        (format!("push feed ({push_ms} ms)"), Policy::Push { delay_us: push_ms * 1000 }),
        ("sync every 5 s".to_owned(), Policy::Sync { every_us: 5_000_000 }),
        ("sync every 1 min".to_owned(), Policy::Sync { every_us: 60_000_000 }),
        ("sync every 15 min".to_owned(), Policy::Sync { every_us: 900_000_000 }),
    ];
    println!(
        "oversellsim: {runs} seeds from {seed0}, {hours} h, {skus} SKUs ({limited_pct} % limited stock of up to {units_max} units), channels web/amazon/ebay {}/{}/{} orders/day, order ingest {ingest_ms} ms",
        1200 * scale,
        900 * scale,
        300 * scale
    );
    println!(
        "| feed | oversells per 10 000 orders (median) | min–max over seeds | shoppers turned away while in stock per 10 000 | orders accepted (median) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut rows: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> =
        vec![(vec![], vec![], vec![]); policies.len()];
    for run in 0..runs {
        let seed = seed0 + run;
        let (d, units) = demand(seed, hours, scale, skus);
        let limited = limited(seed, skus, limited_pct, units_max);
        for (i, (_, policy)) in policies.iter().enumerate() {
            let o = simulate(*policy, &d, &units, &limited, seed, ingest_ms * 1000);
            rows[i].0.push(o.oversold as f64 * 10_000.0 / o.accepted.max(1) as f64);
            rows[i].1.push(o.turned_away_in_stock as f64 * 10_000.0 / o.shoppers.max(1) as f64);
            rows[i].2.push(o.accepted as f64);
        }
    }
    for ((name, _), (over, away, accepted)) in policies.iter().zip(rows) {
        let lo = over.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = over.iter().copied().fold(0.0, f64::max);
        println!(
            "| {name} | {:.1} | {lo:.1}–{hi:.1} | {:.1} | {:.0} |",
            median(over.clone()),
            median(away),
            median(accepted)
        );
    }
}
