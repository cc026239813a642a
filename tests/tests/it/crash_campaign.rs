//! The crash campaign (issue #7, item 1): the real `tally serve`, several GraphQL clients
//! submitting a realistic mix of commands (receipts, adjustments, transfers, orders through
//! allocation, pick, pack, ship, fees, delivery, returns, refunds, payouts — single and
//! `submitMany`), SIGKILL at a random moment, restart, and after every round:
//!
//! 1. `tally verify` exits 0 (run while the server is down: it holds the store lock);
//! 2. `tally replay --check` exits 0: every view equals a rebuild from the log, byte for byte;
//! 3. the log is exactly the decisions of the commands the clients sent: reading it in order,
//!    the first event of each command is followed by all of the events the pure domain decides
//!    for that command against the log before it (same ids, causation, streams, bodies) — so
//!    no command is half-applied, acknowledged or not — and no event belongs to no command;
//! 4. every acknowledged command's events are there, at the acknowledged seqs, with the
//!    command id it acknowledged and the hashes seen in earlier rounds; no refused command
//!    has events; the head of the previous round kept its hash;
//! 5. after restart: `/readyz` answers 200, the head is the one verified, no view quarantined
//!    an event (a stock count that would go negative is quarantined, never stored), stock per
//!    location × SKU and ATS network-wide and per channel equal the domain state decided from
//!    the log, the trial balance equals the domain's balances and every currency nets to zero;
//! 6. every command in flight at the kill is resubmitted with its key: one the log holds must
//!    answer `deduplicated` with its original positions; one it does not hold is applied anew
//!    (or refused) — never anything else.
//!
//! Clients get definite answers: acknowledged, refused with a domain code, or a transport
//! error from the kill. Any other answer fails the test.
//!
//! `TALLY_CRASH_ROUNDS` (default 10, the CI variant), `TALLY_CRASH_SEED` (default: from the
//! clock; printed), `TALLY_CRASH_CLIENTS` (default 4). The full campaign:
//! `TALLY_CRASH_ROUNDS=50 cargo test --release -p tally-e2e-tests --test it crash_campaign -- --nocapture`.

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use tally_domain::ids::{Actor, ChannelId, Sku};
use tally_domain::time::Timestamp;
use tally_domain::{Command, Context, State, decide, evolve};
use tally_e2e_tests::minor;
use tally_e2e_tests::process::{Served, init, tally};
use tally_engine::{command_id, event_id};
use tally_log::{EventId, Log};

const SKUS: [(&str, &str, &str); 4] = [
    ("S1", "12.50", "5.00"),
    ("S2", "8.00", "3.00"),
    ("S3", "30.00", "12.00"),
    ("S4", "3.25", "1.00"),
];
const LOCATIONS: [&str; 2] = ["WH1", "WH2"];
const CHANNELS: [&str; 2] = ["web", "b2b"];
/// Orders a client keeps open at once.
const OPEN_ORDERS: usize = 3;
/// A round's client stops after this many requests even if the kill never comes.
const REQUESTS_PER_ROUND_MAX: usize = 5_000;
/// The kill comes this long after the clients start (uniform).
const KILL_AFTER_MS: (i64, i64) = (5, 700);
const WAIT_MAX: Duration = Duration::from_secs(60);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SplitMix64: a small seeded generator (the campaign's choices replay from the seed; the
/// interleaving with the kill does not).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.next() % u64::try_from(hi - lo + 1).unwrap()).unwrap()
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn usd(minor_units: i64) -> Value {
    json!({ "amount": format!("{}.{:02}", minor_units / 100, minor_units % 100), "currency": "USD" })
}

// ---------------------------------------------------------------------------------------------
// The clients' workload.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Place,
    Validate,
    Capture,
    Allocate,
    Pick,
    Pack,
    Ship,
    Fee,
    Deliver,
    Authorize,
    ReceiveReturn,
    Refund,
    Inspect,
    CloseReturn,
    Cancel,
}

#[derive(Debug, Clone)]
struct OrderFlow {
    id: String,
    stage: Stage,
    command: Value,
    total: i64,
}

#[derive(Debug, Clone)]
struct TransferFlow {
    id: String,
    qty: i64,
    shipped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FlowRef {
    Free,
    Order(String),
    Transfer(String),
}

/// One command a client sends.
#[derive(Debug, Clone)]
struct Planned {
    key: String,
    command: Value,
    flow: FlowRef,
}

/// What the server answered for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Acked(Ack),
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    command_id: String,
    /// (seq, stream, type) of each event.
    events: Vec<(u64, String, String)>,
    deduplicated: bool,
}

/// Codes that are not domain rejections: any of them is a wrong answer here.
const NOT_DOMAIN: [&str; 8] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "INVALID_INPUT",
    "NOT_FOUND",
    "LIMIT_EXCEEDED",
    "IDEMPOTENCY_CONFLICT",
    "UNAVAILABLE",
    "INTERNAL",
];

fn parse_ack(result: &Value) -> Option<Ack> {
    let events = result["events"]
        .as_array()?
        .iter()
        .map(|e| {
            Some((
                tally_e2e_tests::u64_of(&e["seq"])?,
                e["stream"].as_str()?.to_owned(),
                // `EventType` (`JOURNAL_ENTRY_POSTED`) as the stored name (`journal.entry_posted`):
                // every type's first word is its namespace.
                e["type"].as_str()?.to_lowercase().replacen('_', ".", 1),
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Ack {
        command_id: result["commandId"].as_str()?.to_owned(),
        events,
        deduplicated: result["deduplicated"].as_bool()?,
    })
}

fn refusal(code: &str, message: &str) -> Result<Reply, String> {
    if NOT_DOMAIN.contains(&code) || code.is_empty() {
        Err(format!("not a definite answer: {code}: {message}"))
    } else {
        Ok(Reply::Refused(code.to_owned()))
    }
}

/// A GraphQL endpoint with a bearer token.
#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// The request could not be completed (the server died under it).
#[derive(Debug)]
struct Transport(String);

impl Api {
    fn new(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Self { http, base: base.to_owned(), token: token.to_owned() }
    }

    async fn post(&self, query: &str, variables: Value) -> Result<(u16, Value), Transport> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| Transport(format!("{e:?}")))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| Transport(format!("{e:?}")))?;
        let value = serde_json::from_slice(&body).map_err(|e| {
            Transport(format!("incomplete body ({e}): {}", String::from_utf8_lossy(&body)))
        })?;
        Ok((status, value))
    }

    /// A query that must succeed.
    async fn data(&self, query: &str, variables: Value) -> Result<Value, String> {
        match self.post(query, variables).await {
            Ok((200, answer)) if answer.get("errors").is_none() => Ok(answer["data"].clone()),
            Ok((status, answer)) => Err(format!("{query}: HTTP {status}: {answer}")),
            Err(Transport(e)) => Err(format!("{query}: {e}")),
        }
    }

    /// Submits `batch` (one command with `submit`, several with `submitMany`). Outer `Err`: a
    /// transport error (the whole batch is in flight); inner `Err`: a wrong answer.
    async fn submit(
        &self,
        batch: &[Planned],
        wait: bool,
    ) -> Result<Result<Vec<Reply>, String>, Transport> {
        let inputs: Vec<Value> = batch
            .iter()
            .map(|p| json!({ "idempotencyKey": p.key, "json": p.command, "source": "crash-campaign" }))
            .collect();
        const FIELDS: &str =
            "commandId deduplicated events { seq stream type } userErrors { code message }";
        if let [_] = batch {
            let query = format!(
                "mutation($input: SubmitInput!, $wait: Boolean) {{ submit(input: $input, waitForViews: $wait) {{ {FIELDS} }} }}"
            );
            let (status, answer) =
                self.post(&query, json!({ "input": inputs[0], "wait": wait })).await?;
            let answer = tally_e2e_tests::refusals_as_errors(answer, "submit");
            if status != 200 {
                return Ok(Err(format!("HTTP {status}: {answer}")));
            }
            if let Some(error) = answer["errors"].get(0) {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                return Ok(
                    refusal(code, error["message"].as_str().unwrap_or_default()).map(|r| vec![r])
                );
            }
            return Ok(parse_ack(&answer["data"]["submit"])
                .map(|a| vec![Reply::Acked(a)])
                .ok_or_else(|| format!("malformed answer: {answer}")));
        }
        let query = format!(
            "mutation($inputs: [SubmitInput!]!, $wait: Boolean) {{ submitMany(inputs: $inputs, waitForViews: $wait) {{ {FIELDS} }} }}"
        );
        let (status, answer) = self.post(&query, json!({ "inputs": inputs, "wait": wait })).await?;
        if status != 200 || answer.get("errors").is_some() {
            return Ok(Err(format!("HTTP {status}: {answer}")));
        }
        let items = answer["data"]["submitMany"].as_array().cloned().unwrap_or_default();
        if items.len() != batch.len() {
            return Ok(Err(format!(
                "{} answers for {} commands: {answer}",
                items.len(),
                batch.len()
            )));
        }
        let mut replies = Vec::with_capacity(items.len());
        for item in &items {
            let reply = match item["userErrors"].get(0) {
                None => parse_ack(item)
                    .map(Reply::Acked)
                    .ok_or_else(|| format!("malformed item: {item}")),
                Some(error) => refusal(
                    error["code"].as_str().unwrap_or_default(),
                    error["message"].as_str().unwrap_or_default(),
                ),
            };
            match reply {
                Ok(r) => replies.push(r),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(replies))
    }
}

/// One client: its own orders, transfers and keys; persists across rounds.
#[derive(Debug)]
struct Client {
    id: usize,
    rng: Rng,
    counter: u64,
    orders: Vec<OrderFlow>,
    transfer: Option<TransferFlow>,
}

/// What a client did in one round.
#[derive(Debug, Default)]
struct RoundLog {
    answered: Vec<(Planned, Reply)>,
    in_flight: Vec<Planned>,
    wrong: Vec<String>,
}

impl Client {
    fn new(id: usize, seed: u64) -> Self {
        Self {
            id,
            rng: Rng(seed ^ (0xC1 + id as u64).wrapping_mul(0x1000_0000_01B3)),
            counter: 0,
            orders: Vec::new(),
            transfer: None,
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("c{}-{what}{}", self.id, self.counter)
    }

    fn planned(&mut self, command: Value, flow: FlowRef) -> Planned {
        Planned { key: self.fresh("k"), command, flow }
    }

    fn location(&mut self) -> &'static str {
        LOCATIONS[self.rng.below(LOCATIONS.len())]
    }

    fn sku(&mut self) -> usize {
        self.rng.below(SKUS.len())
    }

    fn stock_command(&mut self) -> Value {
        let (location, sku) = (self.location(), SKUS[self.sku()].0);
        if self.rng.chance(70) {
            json!({ "type": "receive_inventory", "location": location, "sku": sku, "qty": self.rng.range(3, 15) })
        } else {
            let delta =
                if self.rng.chance(50) { self.rng.range(1, 3) } else { -self.rng.range(1, 2) };
            let reason = if delta > 0 { "found" } else { "damage" };
            json!({ "type": "adjust_inventory", "location": location, "sku": sku, "delta": delta, "reason": reason })
        }
    }

    fn new_order(&mut self) -> OrderFlow {
        let id = self.fresh("O");
        let channel = if self.rng.chance(20) { "b2b" } else { "web" };
        let first = self.sku();
        let mut skus = vec![first];
        if self.rng.chance(40) {
            skus.push((first + 1 + self.rng.below(SKUS.len() - 1)) % SKUS.len());
        }
        let mut total = 500;
        let lines: Vec<Value> = skus
            .iter()
            .map(|&s| {
                let qty = self.rng.range(1, 3);
                let price = minor(SKUS[s].1, 2).unwrap();
                total += qty * price;
                json!({ "sku": SKUS[s].0, "qty": qty, "unit_price": usd(price) })
            })
            .collect();
        let tax_rate = if self.rng.chance(50) { 80_000 } else { 0 };
        total += total * tax_rate / 1_000_000;
        let command = json!({
            "type": "receive_order", "order": id, "channel": channel,
            "placed_at": "2026-11-27T00:00:00Z", "currency": "USD", "lines": lines,
            "shipping": usd(500),
            "tax_rate": if tax_rate == 0 { "0" } else { "0.08" },
        });
        OrderFlow { id, stage: Stage::Place, command, total }
    }

    fn order_command(&mut self, index: usize) -> Value {
        let may_cancel = matches!(
            self.orders[index].stage,
            Stage::Validate | Stage::Capture | Stage::Allocate | Stage::Pick
        );
        if may_cancel && self.rng.chance(5) {
            self.orders[index].stage = Stage::Cancel;
        }
        let disposition = ["restock", "quarantine", "scrap"][self.rng.below(3)];
        let order = &self.orders[index];
        let id = order.id.as_str();
        let rma = format!("{id}-rma");
        match order.stage {
            Stage::Place => order.command.clone(),
            Stage::Validate => json!({ "type": "validate_order", "order": id }),
            Stage::Capture => {
                json!({ "type": "capture_payment", "order": id, "payment": format!("{id}-pay"), "amount": usd(order.total) })
            }
            Stage::Allocate => json!({ "type": "allocate_order", "order": id }),
            Stage::Pick => json!({ "type": "pick_order", "order": id }),
            Stage::Pack => json!({ "type": "pack_order", "order": id }),
            Stage::Ship => {
                json!({ "type": "ship_order", "order": id, "carrier": "ups", "tracking": format!("1Z-{id}") })
            }
            Stage::Fee => {
                json!({ "type": "record_processor_fee", "order": id, "fee": { "kind": "rate", "rate": "0.029", "fixed": usd(30) } })
            }
            Stage::Deliver => json!({ "type": "deliver_order", "order": id }),
            Stage::Authorize => {
                json!({ "type": "authorize_return", "return_id": rma, "order": id, "lines": [{ "line": 0, "qty": 1 }] })
            }
            Stage::ReceiveReturn => {
                json!({ "type": "receive_return", "return_id": rma, "location": "WH1", "items": [{ "line": 0, "qty": 1 }] })
            }
            Stage::Refund => {
                json!({ "type": "issue_refund", "refund": format!("{id}-re"), "order": id, "lines": [{ "line": 0, "qty": 1 }] })
            }
            Stage::Inspect => {
                json!({ "type": "inspect_return", "return_id": rma, "items": [{ "line": 0, "qty": 1, "disposition": disposition }] })
            }
            Stage::CloseReturn => json!({ "type": "close_return", "return_id": rma }),
            Stage::Cancel => json!({ "type": "cancel_order", "order": id, "reason": "customer" }),
        }
    }

    /// The next request: one command, or a few for `submitMany`.
    fn next_batch(&mut self) -> Vec<Planned> {
        let roll = self.rng.below(100);
        if roll < 7 {
            let n = self.rng.range(2, 4);
            return (0..n)
                .map(|_| {
                    let c = self.stock_command();
                    self.planned(c, FlowRef::Free)
                })
                .collect();
        }
        if roll < 22 {
            let c = self.stock_command();
            return vec![self.planned(c, FlowRef::Free)];
        }
        if roll < 25 {
            let payout = self.fresh("po");
            let c =
                json!({ "type": "record_processor_payout", "payout": payout, "amount": usd(200) });
            return vec![self.planned(c, FlowRef::Free)];
        }
        if roll < 31 {
            let (command, id) = match &self.transfer {
                Some(t) => (
                    json!({ "type": "receive_transfer", "transfer": t.id, "qty": t.qty }),
                    t.id.clone(),
                ),
                None => {
                    let id = self.fresh("T");
                    let from = self.rng.below(2);
                    let qty = self.rng.range(1, 3);
                    let sku = SKUS[self.sku()].0;
                    self.transfer = Some(TransferFlow { id: id.clone(), qty, shipped: false });
                    let c = json!({ "type": "ship_transfer", "transfer": id, "from": LOCATIONS[from], "to": LOCATIONS[1 - from], "sku": sku, "qty": qty });
                    (c, id)
                }
            };
            return vec![self.planned(command, FlowRef::Transfer(id))];
        }
        if self.orders.len() < OPEN_ORDERS {
            let order = self.new_order();
            self.orders.push(order);
        }
        let index = self.rng.below(self.orders.len());
        let command = self.order_command(index);
        let id = self.orders[index].id.clone();
        vec![self.planned(command, FlowRef::Order(id))]
    }

    /// Moves the flow of `planned` on after a definite answer.
    fn advance(&mut self, planned: &Planned, reply: &Reply) {
        let acked = matches!(reply, Reply::Acked(_));
        match &planned.flow {
            FlowRef::Free => {}
            FlowRef::Transfer(id) => {
                if let Some(t) = self.transfer.as_mut().filter(|t| &t.id == id) {
                    if acked && !t.shipped {
                        t.shipped = true;
                    } else {
                        self.transfer = None;
                    }
                }
            }
            FlowRef::Order(id) => {
                let Some(index) = self.orders.iter().position(|o| &o.id == id) else { return };
                let stage = self.orders[index].stage;
                let next = if acked {
                    match stage {
                        Stage::Place => Some(Stage::Validate),
                        Stage::Validate => Some(Stage::Capture),
                        Stage::Capture => Some(Stage::Allocate),
                        Stage::Allocate => Some(Stage::Pick),
                        Stage::Pick => Some(Stage::Pack),
                        Stage::Pack => Some(Stage::Ship),
                        Stage::Ship => {
                            Some(if self.rng.chance(50) { Stage::Fee } else { Stage::Deliver })
                        }
                        Stage::Fee => Some(Stage::Deliver),
                        Stage::Deliver => self.rng.chance(40).then_some(Stage::Authorize),
                        Stage::Authorize => Some(Stage::ReceiveReturn),
                        Stage::ReceiveReturn => Some(Stage::Refund),
                        Stage::Refund => Some(Stage::Inspect),
                        Stage::Inspect => Some(Stage::CloseReturn),
                        Stage::CloseReturn | Stage::Cancel => None,
                    }
                } else {
                    matches!(stage, Stage::Allocate | Stage::Pick | Stage::Pack | Stage::Ship)
                        .then_some(Stage::Cancel)
                };
                match next {
                    Some(stage) => self.orders[index].stage = stage,
                    None => {
                        self.orders.remove(index);
                    }
                }
            }
        }
    }

    /// Sends commands until the server dies under one (or the request budget runs out).
    async fn run(mut self, api: Api) -> (Self, RoundLog) {
        let mut log = RoundLog::default();
        for _ in 0..REQUESTS_PER_ROUND_MAX {
            let batch = self.next_batch();
            let wait = self.rng.chance(30);
            match api.submit(&batch, wait).await {
                Err(Transport(_)) => {
                    log.in_flight = batch;
                    break;
                }
                Ok(Err(wrong)) => {
                    let keys: Vec<&str> = batch.iter().map(|p| p.key.as_str()).collect();
                    log.wrong.push(format!("client {} keys {keys:?}: {wrong}", self.id));
                    break;
                }
                Ok(Ok(replies)) => {
                    for (planned, reply) in batch.into_iter().zip(replies) {
                        self.advance(&planned, &reply);
                        log.answered.push((planned, reply));
                    }
                }
            }
        }
        (self, log)
    }
}

// ---------------------------------------------------------------------------------------------
// What the campaign knows: every command sent, and what became of it.

#[derive(Debug, Clone)]
enum Status {
    Acked(Ack),
    Refused(String),
    InFlight,
}

#[derive(Debug)]
struct Record {
    command: Command,
    status: Status,
}

#[derive(Debug, Default)]
struct Book {
    records: HashMap<String, Record>,
    /// The id of each command's first event → its key.
    first_ids: HashMap<EventId, String>,
    /// Hash of each acknowledged event, as first read back.
    hashes: HashMap<u64, String>,
}

impl Book {
    fn add(&mut self, planned: &Planned, status: Status) -> Result<(), String> {
        let command: Command = serde_json::from_value(planned.command.clone())
            .map_err(|e| format!("the workload built a bad command {}: {e}", planned.command))?;
        self.first_ids.insert(event_id(&planned.key, 0), planned.key.clone());
        self.records.insert(planned.key.clone(), Record { command, status });
        Ok(())
    }

    fn set(&mut self, key: &str, status: Status) {
        if let Some(r) = self.records.get_mut(key) {
            r.status = status;
        }
    }
}

/// One event of the log as the audit found it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    seq: u64,
    stream: String,
    event_type: String,
    hash: String,
}

/// What reading the whole log found.
#[derive(Debug)]
struct Audit {
    head: u64,
    head_hash: String,
    /// Key → its events in the log.
    found: HashMap<String, Vec<Found>>,
    /// The decision state after the whole log.
    state: State,
}

struct OpenCommand {
    key: String,
    command_id: EventId,
    expected: Vec<tally_domain::Event>,
    next: usize,
    /// Accepted with no change: its one event is the `command.accepted` marker, which is not
    /// one of the events its answer lists.
    marker: bool,
}

/// Reads the log in seq order and checks that it is exactly the decisions of the commands in
/// `book`, each complete (point 3 of the module docs). Problems go to `problems`.
fn audit_log(data: &Path, book: &Book, problems: &mut Vec<String>) -> anyhow::Result<Audit> {
    let log = Log::open(data.join("log"), tally_log::Config::default())?;
    let mut state = State::new();
    let mut found: HashMap<String, Vec<Found>> = HashMap::new();
    let mut open: Option<OpenCommand> = None;
    let mut head = (0, String::new());
    for recorded in log.read(..) {
        let recorded = recorded?;
        let seq = recorded.seq();
        let event = tally_domain::decode(
            recorded.event_type(),
            recorded.schema_version(),
            recorded.payload(),
        )
        .map_err(|e| anyhow::anyhow!("seq {seq}: {e}"))?;
        let id = recorded.event_id();
        if open.is_none() {
            let Some(key) = book.first_ids.get(&id) else {
                problems
                    .push(format!("seq {seq}: event {id} is the first event of no command sent"));
                log.close();
                return Ok(Audit { head: seq, head_hash: String::new(), found, state });
            };
            let record = &book.records[key];
            if found.contains_key(key) {
                problems.push(format!("command {key}: applied twice (again at seq {seq})"));
            }
            let ctx = Context {
                now: Timestamp::from_millis(recorded.occurred_at_ms()),
                actor: Actor::parse(recorded.actor().to_owned())?,
            };
            match decide(&state, &record.command, &ctx) {
                Ok(expected) => {
                    let marker = expected.is_empty();
                    let expected = if marker {
                        vec![tally_domain::Event::CommandAccepted(
                            tally_domain::event::CommandAccepted {
                                command: record.command.kind().to_owned(),
                            },
                        )]
                    } else {
                        expected
                    };
                    open = Some(OpenCommand {
                        key: key.clone(),
                        command_id: command_id(&record.command).expect("every command has an id"),
                        expected,
                        next: 0,
                        marker,
                    });
                }
                Err(r) => problems.push(format!(
                    "command {key}: the domain refuses it ({}) against the log before seq {seq}, where it is",
                    r.code()
                )),
            }
        }
        if let Some(cmd) = open.as_mut() {
            let i = cmd.next;
            let want = &cmd.expected[i];
            let wanted_id = event_id(&cmd.key, u32::try_from(i).unwrap());
            if id != wanted_id {
                problems.push(format!(
                    "command {}: half-applied: {} of its {} events, then seq {seq} holds event {id}",
                    cmd.key,
                    i,
                    cmd.expected.len()
                ));
            } else if recorded.causation_id() != Some(cmd.command_id) {
                problems.push(format!(
                    "seq {seq}: causation {:?} is not command {}",
                    recorded.causation_id(),
                    cmd.key
                ));
            } else if &event != want
                || recorded.stream() != want.stream()
                || recorded.event_type() != want.event_type()
            {
                problems.push(format!(
                    "seq {seq}: event {i} of command {} is not what the domain decides: {event:?} vs {want:?}",
                    cmd.key
                ));
            }
            let events = found.entry(cmd.key.clone()).or_default();
            if !cmd.marker {
                events.push(Found {
                    seq,
                    stream: recorded.stream().to_owned(),
                    event_type: recorded.event_type().to_owned(),
                    hash: recorded.hash().to_hex(),
                });
            }
            cmd.next += 1;
            if cmd.next == cmd.expected.len() {
                open = None;
            }
        }
        evolve(&mut state, &event, Timestamp::from_millis(recorded.occurred_at_ms()));
        head = (seq, recorded.hash().to_hex());
    }
    if let Some(cmd) = open {
        problems.push(format!(
            "command {}: half-applied: the log ends after {} of its {} events",
            cmd.key,
            cmd.next,
            cmd.expected.len()
        ));
    }
    let head_seq = log.head().seq;
    log.close();
    if head.0 != head_seq {
        problems.push(format!("read up to seq {}, but the head is {head_seq}", head.0));
    }
    Ok(Audit { head: head.0, head_hash: head.1, found, state })
}

fn events_of(found: &[Found]) -> Vec<(u64, String, String)> {
    found.iter().map(|f| (f.seq, f.stream.clone(), f.event_type.clone())).collect()
}

/// Point 4: acknowledged commands are in the log as acknowledged; refused ones are not.
fn check_acknowledged(
    book: &mut Book,
    audit: &Audit,
    problems: &mut Vec<String>,
    totals: &mut Totals,
) {
    for (key, record) in &book.records {
        match &record.status {
            Status::Acked(ack) => {
                let got = audit.found.get(key).map(|f| events_of(f)).unwrap_or_default();
                if got != ack.events {
                    let missing = ack.events.iter().filter(|e| !got.contains(e)).count();
                    totals.events_lost += missing as u64;
                    problems.push(format!(
                        "acknowledged command {key}: acknowledged {:?}, the log holds {got:?}",
                        ack.events
                    ));
                }
                if ack.command_id
                    != command_id(&record.command).expect("every command has an id").to_string()
                {
                    problems.push(format!(
                        "command {key}: acknowledged with command id {}",
                        ack.command_id
                    ));
                }
                for f in audit.found.get(key).into_iter().flatten() {
                    let first = book.hashes.entry(f.seq).or_insert_with(|| f.hash.clone());
                    if *first != f.hash {
                        problems.push(format!("seq {}: hash {} was {first}", f.seq, f.hash));
                    }
                }
            }
            Status::Refused(code) => {
                if let Some(f) = audit.found.get(key) {
                    problems.push(format!(
                        "command {key} was refused ({code}) yet has events {:?}",
                        events_of(f)
                    ));
                }
            }
            Status::InFlight => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checks over GraphQL after a restart.

async fn wait_ready(api: &Api) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let ready = api.http.get(format!("{}/readyz", api.base)).send().await;
        if ready.as_ref().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if started.elapsed() > WAIT_MAX {
            return Err(format!("/readyz: not ready after {WAIT_MAX:?}: {ready:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Point 5 (the server is back, nothing new submitted yet).
async fn check_served(api: &Api, audit: &Audit, problems: &mut Vec<String>) -> Result<(), String> {
    wait_ready(api).await?;
    let head = api.data("{ head { seq hash } }", json!({})).await?;
    let seq = tally_e2e_tests::u64_of(&head["head"]["seq"]);
    if seq != Some(audit.head) || head["head"]["hash"] != audit.head_hash.as_str() {
        problems.push(format!(
            "served head {} is not the audited {} {}",
            head["head"], audit.head, audit.head_hash
        ));
    }
    let started = Instant::now();
    loop {
        let views =
            api.data("{ views { views { name appliedSeq quarantinedCount } } }", json!({})).await?;
        let views = views["views"]["views"].as_array().cloned().unwrap_or_default();
        for v in &views {
            if tally_e2e_tests::u64_of(&v["quarantinedCount"]) != Some(0) {
                problems.push(format!(
                    "view {} quarantined {} events",
                    v["name"], v["quarantinedCount"]
                ));
            }
        }
        if views.iter().all(|v| tally_e2e_tests::u64_of(&v["appliedSeq"]) == Some(audit.head)) {
            break;
        }
        if started.elapsed() > WAIT_MAX {
            return Err(format!(
                "views not at the head {} after {WAIT_MAX:?}: {views:?}",
                audit.head
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let state = &audit.state;
    for (sku, _, _) in SKUS {
        let answer = api
            .data(
                "query($sku: String!) {
                    stockBySku(sku: $sku, first: 100) { nodes { location available reserved picked packed quarantined returned inTransit shipped onHand } }
                    atsByChannel(sku: $sku) { network channels { channel ats } } }",
                json!({ "sku": sku }),
            )
            .await?;
        let sku_id = Sku::parse(sku.to_owned()).unwrap();
        let mut served: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for row in answer["stockBySku"]["nodes"].as_array().into_iter().flatten() {
            let fields = [
                "available",
                "reserved",
                "picked",
                "packed",
                "quarantined",
                "returned",
                "inTransit",
                "shipped",
                "onHand",
            ];
            let values: Vec<u64> = fields
                .iter()
                .map(|f| tally_e2e_tests::u64_of(&row[*f]).unwrap_or(u64::MAX))
                .collect();
            if values.iter().any(|v| *v != 0) {
                served.insert(row["location"].as_str().unwrap_or_default().to_owned(), values);
            }
        }
        let mut decided: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (key, s) in state.stock_buckets().filter(|(k, _)| k.sku == sku_id) {
            let entry =
                decided.entry(key.location.as_str().to_owned()).or_insert_with(|| vec![0; 9]);
            let values = [
                s.available,
                s.reserved,
                s.picked,
                s.packed,
                s.quarantined_total(),
                s.returned,
                s.in_transit,
                s.shipped,
                s.on_hand(),
            ];
            for (total, v) in entry.iter_mut().zip(values) {
                *total += v;
            }
        }
        decided.retain(|_, v| v.iter().any(|x| *x != 0));
        if served != decided {
            problems.push(format!(
                "stock of {sku}: served {served:?}, decided from the log {decided:?}"
            ));
        }
        let ats = &answer["atsByChannel"];
        // The server answers ATS for its today (lots past removal are not sellable).
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let today = tally_domain::time::Timestamp::from_millis(now_ms).date();
        if tally_e2e_tests::u64_of(&ats["network"]) != Some(state.network_ats(&sku_id, today)) {
            problems.push(format!(
                "network ATS of {sku}: served {}, decided {}",
                ats["network"],
                state.network_ats(&sku_id, today)
            ));
        }
        for channel in CHANNELS {
            let served = ats["channels"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["channel"] == channel)
                .and_then(|c| tally_e2e_tests::u64_of(&c["ats"]));
            let decided = state.ats(&ChannelId::parse(channel.to_owned()).unwrap(), &sku_id, today);
            if served != Some(decided) {
                problems.push(format!(
                    "ATS of {sku} on {channel}: served {served:?}, decided {decided}"
                ));
            }
        }
    }
    let tb = api
        .data(
            "{ trialBalance { rows { number currencyCode net { amount } } totals { currencyCode net { amount } balanced } } }",
            json!({}),
        )
        .await?;
    let totals = tb["trialBalance"]["totals"].as_array().cloned().unwrap_or_default();
    if totals.is_empty() {
        problems.push("the trial balance has no currency".to_owned());
    }
    for t in &totals {
        let net = minor(t["net"]["amount"].as_str().unwrap_or("x"), 2).unwrap_or(i64::MIN);
        if net != 0 || t["balanced"] != true {
            problems.push(format!("trial balance does not net to zero: {t}"));
        }
    }
    let mut served: BTreeMap<(u64, String), String> = BTreeMap::new();
    for row in tb["trialBalance"]["rows"].as_array().into_iter().flatten() {
        let net = row["net"]["amount"].as_str().unwrap_or_default().to_owned();
        if minor(&net, 2).unwrap_or(1) != 0 {
            served.insert(
                (
                    row["number"].as_u64().unwrap_or(0),
                    row["currencyCode"].as_str().unwrap_or_default().to_owned(),
                ),
                net,
            );
        }
    }
    let mut decided: BTreeMap<(u64, String), String> = BTreeMap::new();
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for (account, money) in state.balances() {
        *sums.entry(money.currency().code()).or_default() += money.minor();
        if money.minor() != 0 {
            decided.insert(
                (u64::from(account.number()), money.currency().code().to_owned()),
                money.to_decimal_string(),
            );
        }
    }
    if served != decided {
        problems.push(format!(
            "trial balance rows: served {served:?}, decided from the log {decided:?}"
        ));
    }
    if sums.values().any(|s| *s != 0) {
        problems.push(format!("the domain's balances do not net to zero: {sums:?}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The campaign.

#[derive(Debug, Default)]
struct Totals {
    acked_commands: u64,
    acked_events: u64,
    refused: u64,
    events_lost: u64,
    in_flight_applied: u64,
    in_flight_not_applied: u64,
    retries_original: u64,
    retries_applied_now: u64,
    max_round_ms: u128,
}

fn setup_commands() -> Vec<Value> {
    let mut commands = vec![
        json!({ "type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD" }),
        json!({ "type": "define_channel", "channel": "b2b", "priority": "contract", "kind": "wholesale", "currency": "USD" }),
    ];
    for (rank, location) in LOCATIONS.iter().enumerate() {
        commands.push(json!({ "type": "define_location", "location": location, "kind": "warehouse", "rank": rank + 1, "channels": CHANNELS }));
    }
    for (i, (sku, _, cost)) in SKUS.iter().enumerate() {
        let abc = ["A", "B", "C"][i % 3];
        commands.push(json!({ "type": "define_sku", "sku": sku, "lot_tracked": false, "unit_cost": { "amount": cost, "currency": "USD" }, "abc": abc }));
    }
    commands.push(json!({ "type": "set_safety_stock", "location": "WH1", "sku": "S1", "qty": 4 }));
    for location in LOCATIONS {
        for (sku, _, _) in SKUS {
            commands.push(
                json!({ "type": "receive_inventory", "location": location, "sku": sku, "qty": 30 }),
            );
        }
    }
    commands
}

fn run_checked(data: &Path, args: &[&str], problems: &mut Vec<String>) -> anyhow::Result<String> {
    let out = tally(data, args)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        problems.push(format!(
            "tally {} exited {:?}: {stdout}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

fn fail(seed: u64, round: usize, problems: &[String]) -> ! {
    let mut text = format!("crash campaign FAILED (TALLY_CRASH_SEED={seed}) in round {round}:\n");
    for p in problems.iter().take(30) {
        let _ = writeln!(text, "  - {p}");
    }
    if problems.len() > 30 {
        let _ = writeln!(text, "  … and {} more", problems.len() - 30);
    }
    panic!("{text}");
}

#[test]
fn crash_campaign() {
    let rounds = usize::try_from(env_or("TALLY_CRASH_ROUNDS", 10)).unwrap();
    let clients_n = usize::try_from(env_or("TALLY_CRASH_CLIENTS", 4)).unwrap().max(1);
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let seed =
        env_or("TALLY_CRASH_SEED", u64::try_from(clock.as_nanos() % u128::from(u64::MAX)).unwrap());
    println!(
        "crash campaign: TALLY_CRASH_SEED={seed} TALLY_CRASH_ROUNDS={rounds} TALLY_CRASH_CLIENTS={clients_n}"
    );
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let server_log = tmp.path().join("serve.log");
    let token = init(&data).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut rng = Rng(seed);
    let mut book = Book::default();
    let mut totals = Totals::default();

    // Round 0: the master data and opening stock, no kill.
    let mut served = Served::start(&data, &server_log).unwrap();
    let api = Api::new(&served.base, &token);
    let setup: Vec<Planned> = setup_commands()
        .into_iter()
        .enumerate()
        .map(|(i, command)| Planned { key: format!("setup-{i}"), command, flow: FlowRef::Free })
        .collect();
    let replies = runtime.block_on(api.submit(&setup, true)).unwrap().unwrap();
    for (planned, reply) in setup.iter().zip(replies) {
        let Reply::Acked(ack) = reply else { panic!("setup {} refused: {reply:?}", planned.key) };
        totals.acked_commands += 1;
        totals.acked_events += ack.events.len() as u64;
        book.add(planned, Status::Acked(ack)).unwrap();
    }
    let mut clients: Vec<Client> = (0..clients_n).map(|i| Client::new(i, seed)).collect();
    let mut previous_head: Option<(u64, String)> = None;

    for round in 1..=rounds {
        let round_started = Instant::now();
        let mut problems = Vec::new();
        // The workload, and the kill at a random moment.
        let kill_after = Duration::from_millis(
            u64::try_from(rng.range(KILL_AFTER_MS.0, KILL_AFTER_MS.1)).unwrap(),
        );
        let api = Api::new(&served.base, &token);
        let pid = served.pid();
        let (logs, returned) = runtime.block_on(async {
            let tasks: Vec<_> =
                clients.drain(..).map(|c| tokio::spawn(c.run(api.clone()))).collect();
            tokio::time::sleep(kill_after).await;
            let status = tokio::task::block_in_place(|| served.kill()).unwrap();
            assert!(
                !status.success(),
                "round {round}: the server (pid {pid}) was not killed: {status}"
            );
            let mut logs = Vec::new();
            let mut returned = Vec::new();
            for task in tasks {
                let (client, log) = task.await.unwrap();
                returned.push(client);
                logs.push(log);
            }
            (logs, returned)
        });
        clients = returned;
        let mut in_flight: Vec<(usize, Planned)> = Vec::new();
        let mut sent = 0;
        for (client, log) in logs.into_iter().enumerate() {
            problems.extend(log.wrong);
            for (planned, reply) in log.answered {
                sent += 1;
                let status = match reply {
                    Reply::Acked(ack) => {
                        totals.acked_commands += 1;
                        totals.acked_events += ack.events.len() as u64;
                        if ack.deduplicated {
                            problems.push(format!(
                                "command {}: a first submission answered deduplicated",
                                planned.key
                            ));
                        }
                        Status::Acked(ack)
                    }
                    Reply::Refused(code) => {
                        totals.refused += 1;
                        Status::Refused(code)
                    }
                };
                book.add(&planned, status).unwrap();
            }
            for planned in log.in_flight {
                book.add(&planned, Status::InFlight).unwrap();
                in_flight.push((client, planned));
            }
        }

        // The server is down: verify, replay --check, and the audit of the log.
        run_checked(&data, &["verify"], &mut problems).unwrap();
        run_checked(&data, &["replay", "--check"], &mut problems).unwrap();
        let audit = audit_log(&data, &book, &mut problems).unwrap();
        check_acknowledged(&mut book, &audit, &mut problems, &mut totals);
        if let Some((seq, hash)) = &previous_head {
            let now = book.hashes.get(seq).cloned();
            if audit.head < *seq || now.as_ref().is_some_and(|h| h != hash) {
                problems.push(format!(
                    "the previous head {seq} {hash} is gone (now head {} {})",
                    audit.head, audit.head_hash
                ));
            }
        }
        if !problems.is_empty() {
            fail(seed, round, &problems);
        }

        // Restart; check what it serves; resubmit what was in flight.
        served = Served::start(&data, &server_log).unwrap();
        let api = Api::new(&served.base, &token);
        let (mut applied, mut not_applied) = (0, 0);
        runtime.block_on(async {
            if let Err(e) = check_served(&api, &audit, &mut problems).await {
                problems.push(e);
                return;
            }
            for (client, planned) in &in_flight {
                let found = audit.found.get(&planned.key);
                let reply = match api.submit(std::slice::from_ref(planned), true).await {
                    Ok(Ok(mut replies)) => replies.remove(0),
                    Ok(Err(wrong)) => {
                        problems.push(format!("retry of {}: {wrong}", planned.key));
                        continue;
                    }
                    Err(Transport(e)) => {
                        problems.push(format!("retry of {}: {e}", planned.key));
                        continue;
                    }
                };
                match (found, &reply) {
                    (Some(found), Reply::Acked(ack))
                        if ack.deduplicated && ack.events == events_of(found) =>
                    {
                        applied += 1;
                        totals.retries_original += 1;
                    }
                    (None, Reply::Acked(ack))
                        if !ack.deduplicated && ack.events.iter().all(|e| e.0 > audit.head) =>
                    {
                        not_applied += 1;
                        totals.retries_applied_now += 1;
                    }
                    (None, Reply::Refused(_)) => not_applied += 1,
                    _ => {
                        problems.push(format!(
                            "in-flight command {} (log holds {:?}): its retry answered {reply:?}",
                            planned.key,
                            found.map(|f| events_of(f))
                        ));
                        continue;
                    }
                }
                match &reply {
                    Reply::Acked(ack) => {
                        totals.acked_commands += 1;
                        totals.acked_events += ack.events.len() as u64;
                        book.set(&planned.key, Status::Acked(ack.clone()));
                    }
                    Reply::Refused(code) => book.set(&planned.key, Status::Refused(code.clone())),
                }
                clients[*client].advance(planned, &reply);
            }
        });
        totals.in_flight_applied += applied;
        totals.in_flight_not_applied += not_applied;
        if !problems.is_empty() {
            fail(seed, round, &problems);
        }
        previous_head = Some((audit.head, audit.head_hash.clone()));
        book.hashes.insert(audit.head, audit.head_hash.clone());
        let round_ms = round_started.elapsed().as_millis();
        totals.max_round_ms = totals.max_round_ms.max(round_ms);
        println!(
            "round {round}: killed after {kill_after:?}; {sent} answered, {} in flight ({applied} applied, {not_applied} not); head {}; {round_ms} ms",
            in_flight.len(),
            audit.head
        );
    }

    // A graceful stop at the end: the store verifies and its views equal a rebuild.
    let status = served.terminate().unwrap();
    assert_eq!(status.code(), Some(0), "graceful stop");
    let mut problems = Vec::new();
    run_checked(&data, &["verify"], &mut problems).unwrap();
    run_checked(&data, &["replay", "--check"], &mut problems).unwrap();
    let audit = audit_log(&data, &book, &mut problems).unwrap();
    check_acknowledged(&mut book, &audit, &mut problems, &mut totals);
    if !problems.is_empty() {
        fail(seed, rounds + 1, &problems);
    }
    println!(
        "crash campaign summary: seed {seed}, {rounds} rounds, {clients_n} clients: {} commands acknowledged ({} events), {} refused by the domain, events lost {}; in flight at a kill: {} found applied, {} not applied; {} retries returned the original positions, {} applied on retry; head {}; {:.1} s wall ({} ms slowest round)",
        totals.acked_commands,
        totals.acked_events,
        totals.refused,
        totals.events_lost,
        totals.in_flight_applied,
        totals.in_flight_not_applied,
        totals.retries_original,
        totals.retries_applied_now,
        audit.head,
        started.elapsed().as_secs_f64(),
        totals.max_round_ms,
    );
    assert_eq!(totals.events_lost, 0);
}
