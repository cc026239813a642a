//! Contention (issue #7 item 4): many clients on three channels race over HTTP for the last
//! units of one SKU held at two locations.
//!
//! Checked, for several seeds:
//! - every request gets a definite answer in time (accepted with its events, or a GraphQL error
//!   with a `code`), and a retry under the same idempotency key returns the same answer;
//! - no oversell: units reserved never exceed units received, per location and in total;
//! - while the race runs, every stock answer adds up (`onHand` = the sum of the physical states,
//!   available + reserved = received) and no ATS is negative;
//! - the allocation policy of DOMAIN.md §2, replayed over the log in seq order: each allocation
//!   takes from the serving locations in rank order, never takes stock that is not there,
//!   never lets a `standard` channel into safety stock (the contract channel's protected
//!   reserve), and a line is backordered only when nothing the channel may take is left;
//! - when stock arrives, backorders are filled `contract` first, then oldest first.
//!
//! `TALLY_CONTENTION_SEEDS` (a number, default 3) runs more seeds;
//! `TALLY_CONTENTION_CLIENTS` (default 48) sets the number of racing clients.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tally_api::Role;
use tally_e2e_tests::Server;
use tokio::sync::Barrier;

/// No request may take longer than this (a definite answer in time).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

const SKU: &str = "A";

/// Deterministic pseudo-random numbers (splitmix64) so a seed replays the same race inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    Contract,
    Standard,
}

/// Channel → (priority, locations serving it in rank order).
fn channels() -> BTreeMap<&'static str, (Priority, Vec<&'static str>)> {
    BTreeMap::from([
        ("web", (Priority::Standard, vec!["WH1", "WH2"])),
        ("amz", (Priority::Standard, vec!["WH1"])),
        ("edi", (Priority::Contract, vec!["WH1", "WH2"])),
    ])
}

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Submits `command` under `key` with `waitForViews`, bounded in time; the whole answer.
async fn submit(server: &Server, key: &str, command: &Value) -> Value {
    let query = "mutation($input: SubmitInput!) { submit(input: $input, waitForViews: true) {
        commandId lastSeq deduplicated events { seq type } userErrors { field code message } } }";
    let input =
        json!({ "idempotencyKey": key, "json": command, "occurredAt": "2026-03-01T10:00:00Z" });
    let answer = tokio::time::timeout(
        ANSWER_TIMEOUT,
        server.graphql(Role::Operator, query, json!({ "input": input })),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer to {key} within {ANSWER_TIMEOUT:?}"))
    .unwrap_or_else(|e| panic!("{key}: not a definite answer: {e:#}"));
    let answer = tally_e2e_tests::refusals_as_errors(answer, "submit");
    assert_definite(key, &answer);
    answer
}

/// Accepted with a result, or refused with a coded error: never both, never neither.
fn assert_definite(what: &str, answer: &Value) {
    let accepted = answer["data"]["submit"].is_object();
    let errors = answer.get("errors").and_then(Value::as_array);
    match errors {
        None => assert!(accepted, "{what}: neither data nor errors: {answer}"),
        Some(errors) => {
            assert!(!accepted, "{what}: data and errors: {answer}");
            for error in errors {
                assert!(
                    error["extensions"]["code"].as_str().is_some_and(|c| !c.is_empty()),
                    "{what}: an error without a code: {answer}"
                );
            }
        }
    }
}

fn submit_ok(key: &str, answer: &Value) -> Value {
    assert!(answer.get("errors").is_none(), "{key} refused: {answer}");
    answer["data"]["submit"].clone()
}

/// One racing client's order.
#[derive(Debug, Clone)]
struct Client {
    order: String,
    channel: &'static str,
    qty: u64,
    /// When the customer placed it: backorders are filled oldest first (within a class).
    placed_at: String,
}

/// How one client's allocation was answered.
#[derive(Debug, Default, Clone, Copy)]
struct Outcomes {
    full: u64,
    split: u64,
    partial: u64,
    backordered: u64,
    rejected: u64,
}

async fn run_client(server: Arc<Server>, barrier: Arc<Barrier>, client: Client) -> Value {
    let receive = json!({
        "type": "receive_order", "order": client.order, "channel": client.channel,
        "placed_at": client.placed_at, "currency": "USD",
        "lines": [{"sku": SKU, "qty": client.qty, "unit_price": usd("15.00")}],
        "shipping": usd("0.00"), "tax_rate": "0",
    });
    let rcv_key = format!("rcv-{}", client.order);
    submit_ok(&rcv_key, &submit(&server, &rcv_key, &receive).await);
    let val_key = format!("val-{}", client.order);
    let validate = json!({"type": "validate_order", "order": client.order});
    submit_ok(&val_key, &submit(&server, &val_key, &validate).await);
    // Every client allocates at (about) the same moment.
    barrier.wait().await;
    let key = format!("alloc-{}", client.order);
    let allocate = json!({"type": "allocate_order", "order": client.order});
    let first = submit(&server, &key, &allocate).await;
    // A retry under the same key (a client that lost the answer) gets the same answer.
    let retry = submit(&server, &key, &allocate).await;
    if first.get("errors").is_some() {
        assert_eq!(
            first["errors"][0]["extensions"]["code"], retry["errors"][0]["extensions"]["code"],
            "{key}: a retried refusal is refused the same way"
        );
    } else {
        let (a, b) = (&first["data"]["submit"], &retry["data"]["submit"]);
        assert_eq!(a["deduplicated"], json!(false), "{key}: {first}");
        assert_eq!(b["deduplicated"], json!(true), "{key}: the retry is recognised: {retry}");
        for field in ["commandId", "lastSeq", "events"] {
            assert_eq!(a[field], b[field], "{key}: the retry answers the same {field}");
        }
    }
    first
}

/// A number of an answer (`UnsignedInt64` strings or plain numbers); panics on anything else.
fn number(value: &Value) -> u64 {
    tally_e2e_tests::u64_of(value).unwrap_or_else(|| panic!("not a number: {value}"))
}

/// Events of the whole log, in seq order: (seq, type, data).
async fn all_events(server: &Server) -> Vec<(u64, String, Value)> {
    let query = "query($after: String) { events(first: 500, after: $after) {
        edges { node { seq type payload } } pageInfo { hasNextPage endCursor } } }";
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = server.data(Role::Auditor, query, json!({ "after": after })).await.unwrap();
        let page = &data["events"];
        for edge in page["edges"].as_array().unwrap() {
            let node = &edge["node"];
            // The stored type name tags the payload; the `EventType` value is its enum form.
            let kind = node["payload"]["type"].as_str().unwrap().to_owned();
            assert_eq!(
                node["type"],
                json!(kind.replace('.', "_").to_uppercase()),
                "payload is tagged with its type"
            );
            out.push((number(&node["seq"]), kind, node["payload"]["data"].clone()));
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert!(out.windows(2).all(|w| w[0].0 + 1 == w[1].0), "gap-free seqs");
    out
}

/// The allocation policy as a reference model, fed the log in seq order.
#[derive(Debug, Default)]
struct Model {
    available: BTreeMap<String, u64>,
    safety: BTreeMap<String, u64>,
    received: BTreeMap<String, u64>,
    reserved: BTreeMap<String, u64>,
    order_channel: BTreeMap<String, String>,
    /// Units waiting per order (one line each).
    waiting: BTreeMap<String, u64>,
    /// Each order's age: when it was placed, then when it arrived.
    age: BTreeMap<String, (String, u64)>,
    /// Units reserved by `standard` channels, per location.
    reserved_standard: BTreeMap<String, u64>,
    /// The last seq applied.
    seen: u64,
}

impl Model {
    /// What `channel` may still take at `location`.
    fn cap(&self, channel: &str, location: &str) -> u64 {
        let available = self.available.get(location).copied().unwrap_or(0);
        match channels()[channel].0 {
            Priority::Contract => available,
            Priority::Standard => {
                available.saturating_sub(self.safety.get(location).copied().unwrap_or(0))
            }
        }
    }

    fn rank(location: &str) -> usize {
        usize::from(location != "WH1")
    }

    fn apply(&mut self, seq: u64, kind: &str, data: &Value) {
        assert!(seq > self.seen, "seq order");
        self.seen = seq;
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        match kind {
            "inventory.received" => {
                let location = text(&data["key"]["location"]);
                let qty = data["qty"].as_u64().unwrap();
                *self.available.entry(location.clone()).or_default() += qty;
                *self.received.entry(location).or_default() += qty;
            }
            "inventory.safety_stock_set" => {
                self.safety.insert(text(&data["location"]), data["qty"].as_u64().unwrap());
            }
            "order.received" => {
                let order = text(&data["order"]);
                self.order_channel.insert(order.clone(), text(&data["channel"]));
                self.age.insert(order, (text(&data["placed_at"]), seq));
            }
            "order.line_allocated" => self.allocated(seq, data),
            "order.line_backordered" => {
                let order = text(&data["order"]);
                let channel = self.order_channel[&order].clone();
                for location in &channels()[channel.as_str()].1 {
                    assert_eq!(
                        self.cap(&channel, location),
                        0,
                        "seq {seq}: {order} ({channel}) backordered while {location} could give"
                    );
                }
                *self.waiting.entry(order).or_default() += data["qty"].as_u64().unwrap();
            }
            _ => {}
        }
    }

    fn allocated(&mut self, seq: u64, data: &Value) {
        let order = data["order"].as_str().unwrap().to_owned();
        let location = data["location"].as_str().unwrap().to_owned();
        let qty = data["qty"].as_u64().unwrap();
        let channel = self.order_channel[&order].clone();
        let (priority, serving) = &channels()[channel.as_str()];
        assert!(
            serving.contains(&location.as_str()),
            "seq {seq}: {location} does not serve {channel}"
        );
        let cap = self.cap(&channel, &location);
        assert!(
            qty <= cap,
            "seq {seq}: {order} ({channel}, {priority:?}) took {qty} at {location}, only {cap} allowed \
             (available {:?}, safety {:?})",
            self.available.get(&location),
            self.safety.get(&location)
        );
        // Rank order: a location is used only once every better-ranked one is exhausted for
        // this channel.
        for other in serving.iter().filter(|l| Self::rank(l) < Self::rank(&location)) {
            assert_eq!(self.cap(&channel, other), 0, "seq {seq}: {order} skipped {other}");
        }
        *self.available.get_mut(&location).unwrap() -= qty;
        if *priority == Priority::Standard {
            *self.reserved_standard.entry(location.clone()).or_default() += qty;
        }
        *self.reserved.entry(location).or_default() += qty;
        if data["backorder_fill"] == json!(true) {
            let waiting = self.waiting.get_mut(&order).unwrap();
            *waiting = waiting.checked_sub(qty).expect("a fill is never more than what waits");
        }
    }

    /// Orders still waiting, of `priority`.
    fn waiting_of(&self, priority: Priority) -> BTreeSet<String> {
        self.waiting
            .iter()
            .filter(|(o, w)| **w > 0 && channels()[self.order_channel[*o].as_str()].0 == priority)
            .map(|(o, _)| o.clone())
            .collect()
    }
}

/// Stock and ATS while the race runs: every answer adds up, nothing is negative.
async fn probe(server: Arc<Server>, received: u64, stop: Arc<AtomicBool>) -> u64 {
    let query = "{ stockBySku(sku: \"A\") { nodes { location available reserved picked packed quarantined returned onHand } }
                   atsByChannel(sku: \"A\") { network channels { channel ats } } }";
    let mut probes = 0;
    while !stop.load(Ordering::Acquire) {
        let data =
            tokio::time::timeout(ANSWER_TIMEOUT, server.data(Role::Viewer, query, json!({})))
                .await
                .expect("the probe is answered in time")
                .unwrap();
        let mut physical = 0;
        for row in data["stockBySku"]["nodes"].as_array().unwrap() {
            let n = |f: &str| i64::try_from(number(&row[f])).unwrap();
            let states = ["available", "reserved", "picked", "packed", "quarantined", "returned"];
            assert!(states.iter().all(|s| n(s) >= 0), "a negative state: {row}");
            assert_eq!(states.iter().map(|s| n(s)).sum::<i64>(), n("onHand"), "{row}");
            physical += n("available") + n("reserved");
        }
        let physical = u64::try_from(physical).unwrap();
        // The views may not have applied the receipts yet, never more than them.
        assert!(physical == received || physical == 0, "units appeared or vanished: {data}");
        let ats = &data["atsByChannel"];
        // Unsigned by type: each parses as a u64 (a negative ATS could not).
        let _ = number(&ats["network"]);
        for channel in ats["channels"].as_array().unwrap() {
            let _ = number(&channel["ats"]);
        }
        probes += 1;
        tokio::task::yield_now().await;
    }
    probes
}

async fn race(seed: u64, clients_n: u64) -> (Outcomes, u64) {
    let mut rng = Rng(seed);
    let server = Arc::new(Server::start(0).await.unwrap());
    let mut setup = vec![
        json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        json!({"type": "define_channel", "channel": "amz", "priority": "standard", "kind": "marketplace", "currency": "USD"}),
        json!({"type": "define_channel", "channel": "edi", "priority": "contract", "kind": "wholesale", "currency": "USD"}),
        json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web", "amz", "edi"]}),
        json!({"type": "define_location", "location": "WH2", "kind": "warehouse", "rank": 2, "channels": ["web", "edi"]}),
        json!({"type": "define_sku", "sku": SKU, "lot_tracked": false, "unit_cost": usd("4.00"), "abc": "A"}),
    ];
    let stock =
        [("WH1", rng.range(6, 16), rng.range(1, 4)), ("WH2", rng.range(3, 10), rng.range(0, 3))];
    for (location, qty, safety) in stock {
        setup.push(
            json!({"type": "receive_inventory", "location": location, "sku": SKU, "qty": qty}),
        );
        setup.push(
            json!({"type": "set_safety_stock", "location": location, "sku": SKU, "qty": safety}),
        );
    }
    for (i, command) in setup.iter().enumerate() {
        submit_ok("setup", &submit(&server, &format!("setup-{i}"), command).await);
    }
    let received: u64 = stock.iter().map(|s| s.1).sum();

    let names = ["web", "amz", "edi", "web", "amz"];
    let clients: Vec<Client> = (0..clients_n)
        .map(|i| Client {
            order: format!("O{i:03}"),
            channel: names[usize::try_from(rng.range(0, 4)).unwrap()],
            qty: rng.range(1, 3),
            placed_at: {
                let second = rng.range(0, 3599);
                format!("2026-03-01T09:{:02}:{:02}Z", second / 60, second % 60)
            },
        })
        .collect();
    let barrier = Arc::new(Barrier::new(clients.len()));
    let stop = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(server.clone(), received, stop.clone()));
    let tasks: Vec<_> = clients
        .iter()
        .map(|c| tokio::spawn(run_client(server.clone(), barrier.clone(), c.clone())))
        .collect();
    let mut answers = BTreeMap::new();
    for (client, task) in clients.iter().zip(tasks) {
        answers.insert(client.order.clone(), task.await.unwrap());
    }
    stop.store(true, Ordering::Release);
    let probes = prober.await.unwrap();

    // Classify the answers, and add up what they say was reserved.
    let mut outcomes = Outcomes::default();
    let mut allocated_by_answers = 0;
    for client in &clients {
        let answer = &answers[&client.order];
        if answer.get("errors").is_some() {
            outcomes.rejected += 1;
            continue;
        }
        let events = answer["data"]["submit"]["events"].as_array().unwrap();
        let allocations = events.iter().filter(|e| e["type"] == "ORDER_LINE_ALLOCATED").count();
        let backordered = events.iter().any(|e| e["type"] == "ORDER_LINE_BACKORDERED");
        match (allocations, backordered) {
            (0, true) => outcomes.backordered += 1,
            (_, true) => outcomes.partial += 1,
            (1, false) => outcomes.full += 1,
            (_, false) => outcomes.split += 1,
        }
    }
    assert_eq!(outcomes.rejected, 0, "allocating a validated order is never refused");

    // The views agree with the answers and with the order of the log.
    let rows = server
        .data(
            Role::Viewer,
            "{ stockBySku(sku: \"A\") { nodes { location available reserved onHand } } }",
            json!({}),
        )
        .await
        .unwrap();
    let mut reserved_view = 0;
    for row in rows["stockBySku"]["nodes"].as_array().unwrap() {
        reserved_view += number(&row["reserved"]);
        assert_eq!(number(&row["onHand"]), number(&row["available"]) + number(&row["reserved"]));
    }
    for client in &clients {
        let order = server
            .data(Role::Viewer, "query($id: String!) { order(id: $id) { order { priorityClass lines { ordered allocated backordered } } } }", json!({"id": client.order}))
            .await
            .unwrap();
        let line = &order["order"]["order"]["lines"][0];
        let (ordered, allocated, waiting) =
            (number(&line["ordered"]), number(&line["allocated"]), number(&line["backordered"]));
        assert_eq!(ordered, client.qty);
        assert_eq!(
            allocated + waiting,
            ordered,
            "{}: every unit is reserved or waits",
            client.order
        );
        allocated_by_answers += allocated;
    }
    assert_eq!(allocated_by_answers, reserved_view, "the orders' reservations are the stock's");
    assert!(reserved_view <= received, "oversold: {reserved_view} reserved of {received}");

    let mut model = Model::default();
    for (seq, kind, data) in all_events(&server).await {
        model.apply(seq, &kind, &data);
    }
    for (location, reserved) in &model.reserved {
        assert!(reserved <= &model.received[location], "oversold at {location}");
    }
    // The reserve below safety stock went to contract orders only.
    for (location, reserved) in &model.reserved_standard {
        let safety = model.safety.get(location).copied().unwrap_or(0);
        let ceiling = model.received[location].saturating_sub(safety);
        assert!(*reserved <= ceiling, "standard orders took safety stock at {location}");
    }
    // Whoever still waits, waits because nothing it may take is left.
    for order in model.waiting.iter().filter(|(_, w)| **w > 0).map(|(o, _)| o) {
        let channel = model.order_channel[order].as_str();
        for location in &channels()[channel].1 {
            assert_eq!(
                model.cap(channel, location),
                0,
                "{order} waits while {location} could give"
            );
        }
    }

    // Stock arrives at WH1, which serves every channel: backorders are filled contract first,
    // then oldest first.
    // Enough for every waiting contract unit, the safety stock, and some standard units.
    let contract_waiting: u64 = model
        .waiting
        .iter()
        .filter(|(o, _)| channels()[model.order_channel[*o].as_str()].0 == Priority::Contract)
        .map(|(_, w)| w)
        .sum();
    let wh1_safety = model.safety.get("WH1").copied().unwrap_or(0);
    let more = contract_waiting + wh1_safety + rng.range(1, 6);
    let answer = submit(
        &server,
        "replenish",
        &json!({"type": "receive_inventory", "location": "WH1", "sku": SKU, "qty": more}),
    )
    .await;
    submit_ok("replenish", &answer);
    let before_contract = model.waiting_of(Priority::Contract);
    let before_standard = model.waiting_of(Priority::Standard);
    let mut fills: Vec<(Priority, (String, u64))> = Vec::new();
    let seen = model.seen;
    for (seq, kind, data) in all_events(&server).await.iter().filter(|(seq, ..)| *seq > seen) {
        if kind == "order.line_allocated" {
            let order = data["order"].as_str().unwrap();
            assert_eq!(data["backorder_fill"], json!(true));
            fills.push((
                channels()[model.order_channel[order].as_str()].0,
                model.age[order].clone(),
            ));
        }
        model.apply(*seq, kind, data);
    }
    // Contract fills come first; within a class, the oldest order first.
    let contract_fills = fills.iter().take_while(|(p, _)| *p == Priority::Contract).count();
    assert!(fills[contract_fills..].iter().all(|(p, _)| *p == Priority::Standard), "{fills:?}");
    for class in [&fills[..contract_fills], &fills[contract_fills..]] {
        assert!(class.windows(2).all(|w| w[0].1 < w[1].1), "oldest first: {fills:?}");
    }
    if fills.iter().any(|(p, _)| *p == Priority::Standard) {
        assert!(
            model.waiting_of(Priority::Contract).is_empty(),
            "a standard order was filled before a contract one"
        );
    }
    let contract_fills_n = fills.iter().filter(|f| f.0 == Priority::Contract).count();
    eprintln!(
        "  received {received}; {} contract and {} standard orders waited; {more} arrived: \
         {contract_fills_n} contract then {} standard fills",
        before_contract.len(),
        before_standard.len(),
        fills.len() - contract_fills_n
    );
    if !before_contract.is_empty() {
        assert!(fills.first().is_some_and(|f| f.0 == Priority::Contract), "{fills:?}");
    }
    if !before_standard.is_empty() {
        assert!(fills.last().is_some_and(|f| f.0 == Priority::Standard), "{fills:?}");
    }

    Arc::into_inner(server).expect("every task is done").stop().await.unwrap();
    (outcomes, probes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_clients_never_oversell_and_contract_orders_keep_their_reserve() {
    let seeds = env_number("TALLY_CONTENTION_SEEDS", 3);
    let clients = env_number("TALLY_CONTENTION_CLIENTS", 48);
    for seed in 0..seeds {
        let started = std::time::Instant::now();
        // A stuck client (say, one that panicked before the barrier) fails the test in time.
        let (outcomes, probes) =
            tokio::time::timeout(Duration::from_secs(120), race(0x7A11_0000 + seed, clients))
                .await
                .expect("the race ends in time");
        eprintln!(
            "contention seed {seed}: {clients} clients, {outcomes:?}, {probes} probes during the race, {:?}",
            started.elapsed()
        );
    }
}
