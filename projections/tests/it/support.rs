//! The one helper every view test uses: commands decided by the domain, appended to a real log
//! in a tempdir, and applied by a view store.

#![allow(dead_code, reason = "each test module uses a different part of the helper")]

use std::sync::Arc;

use tally_domain::command::*;
use tally_domain::ids::*;
use tally_domain::inventory::QuarantineReason;
use tally_domain::master::{AbcClass, ChannelKind, LocationKind, PriorityClass};
use tally_domain::money::{Currency, Money, Rate};
use tally_domain::order::{CancelReason, HoldReason};
use tally_domain::time::{Date, Timestamp};
use tally_domain::{Command, Context, Event, Rejection, State};
use tally_log::{AppendRequest, Config, EventId, Log, NewEvent};
use tally_projections::{Projection, ViewReader, ViewStore};

/// 2026-03-01T00:00:00Z.
pub const T0: i64 = 1_772_323_200_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// A ledger for tests: domain state, a log and a view store over it.
pub struct Ledger {
    pub log: Log,
    pub state: State,
    pub store: ViewStore,
    pub now: i64,
    next_event_id: u128,
    _dir: tempfile::TempDir,
}

impl Ledger {
    /// Every projection, caught up after each command.
    pub fn new() -> Self {
        Self::with(tally_projections::all())
    }

    /// These projections.
    pub fn with(projections: Vec<Arc<dyn Projection>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path().join("log"), Config::default()).unwrap();
        let store = ViewStore::open(&dir.path().join("views"), projections).unwrap();
        Self { log, state: State::new(), store, now: T0, next_event_id: 1, _dir: dir }
    }

    /// The directory holding the log (`log`) and the views (`views`).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Moves business time.
    pub fn at(&mut self, ms: i64) -> &mut Self {
        self.now = ms;
        self
    }

    /// Decides, appends and returns the events; the store is not caught up.
    pub fn append(&mut self, command: &Command) -> Result<Vec<Event>, Rejection> {
        let ctx = Context {
            now: Timestamp::from_millis(self.now),
            actor: Actor::parse("tester").unwrap(),
        };
        let events = tally_domain::execute(&mut self.state, command, &ctx)?;
        if events.is_empty() {
            return Ok(events);
        }
        let batch = events
            .iter()
            .map(|e| {
                let id = self.next_event_id;
                self.next_event_id += 1;
                NewEvent {
                    event_id: EventId::new(id).unwrap(),
                    stream: e.stream(),
                    event_type: e.event_type().to_owned(),
                    schema_version: e.schema_version(),
                    occurred_at_ms: self.now,
                    source: "test/suite".to_owned(),
                    correlation_id: None,
                    causation_id: None,
                    actor: "tester".to_owned(),
                    payload: tally_domain::encode(e),
                }
            })
            .collect();
        self.log.append_blocking(AppendRequest::new(batch)).unwrap();
        Ok(events)
    }

    /// Runs an accepted command and catches the views up.
    pub fn run(&mut self, command: Command) -> Vec<Event> {
        let events = self
            .append(&command)
            .unwrap_or_else(|r| panic!("{command:?} was rejected: {} {r}", r.code()));
        self.store.catch_up(&self.log, None).unwrap();
        events
    }

    /// Runs accepted commands.
    pub fn run_all(&mut self, commands: impl IntoIterator<Item = Command>) {
        for c in commands {
            self.run(c);
        }
    }

    /// Closes the view store and opens it again from its directory (a restart).
    pub fn reopen_store(&mut self, projections: Vec<Arc<dyn Projection>>) {
        let path = self._dir.path().join("views");
        self.store = ViewStore::temporary(Vec::new()).unwrap();
        self.store = ViewStore::open(&path, projections).unwrap();
    }

    pub fn reader(&self, name: &str) -> ViewReader {
        self.store.reader(name).unwrap()
    }

    pub fn head(&self) -> u64 {
        self.log.head().seq
    }
}

pub fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}
pub fn loc(s: &str) -> LocationId {
    LocationId::parse(s).unwrap()
}
pub fn ch(s: &str) -> ChannelId {
    ChannelId::parse(s).unwrap()
}
pub fn oid(s: &str) -> OrderId {
    OrderId::parse(s).unwrap()
}
pub fn lot(s: &str) -> LotId {
    LotId::parse(s).unwrap()
}
pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}
pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

pub fn define_channel(id: &str, priority: PriorityClass, kind: ChannelKind) -> Command {
    Command::DefineChannel(DefineChannel {
        channel: ch(id),
        priority,
        kind,
        currency: Currency::USD,
        facilitator_tax: false,
    })
}
pub fn define_location(id: &str, rank: u32, channels: &[&str]) -> Command {
    Command::DefineLocation(DefineLocation {
        location: loc(id),
        kind: LocationKind::Warehouse,
        rank,
        channels: channels.iter().map(|c| ch(c)).collect(),
    })
}
pub fn define_sku(id: &str, lot_tracked: bool, cost: i64, abc: AbcClass) -> Command {
    Command::DefineSku(DefineSku {
        sku: sku(id),
        lot_tracked,
        shelf_life_margin_days: if lot_tracked { 30 } else { 0 },
        unit_cost: usd(cost),
        abc,
    })
}
pub fn safety(l: &str, s: &str, qty: i64) -> Command {
    Command::SetSafetyStock(SetSafetyStock { location: loc(l), sku: sku(s), qty })
}
pub fn reorder(l: &str, s: &str, point: i64, reorder_qty: i64) -> Command {
    Command::SetReorderPoint(SetReorderPoint { location: loc(l), sku: sku(s), point, reorder_qty })
}
pub fn receive(l: &str, s: &str, qty: i64) -> Command {
    Command::ReceiveInventory(ReceiveInventory {
        location: loc(l),
        sku: sku(s),
        lot: None,
        expiry: None,
        qty,
        unit_cost: None,
        purchase_order: None,
        po_line: None,
    })
}
pub fn receive_lot(l: &str, s: &str, lt: &str, expiry: &str, qty: i64) -> Command {
    Command::ReceiveInventory(ReceiveInventory {
        location: loc(l),
        sku: sku(s),
        lot: Some(lot(lt)),
        expiry: Some(date(expiry)),
        qty,
        unit_cost: None,
        purchase_order: None,
        po_line: None,
    })
}
/// An order placed at `placed_ms`: lines (sku, qty, unit price minor).
pub fn place(
    id: &str,
    channel: &str,
    placed_ms: i64,
    lines: &[(&str, i64, i64)],
    shipping: i64,
    tax_ppm: u32,
) -> Command {
    Command::ReceiveOrder(ReceiveOrder {
        order: oid(id),
        channel: ch(channel),
        placed_at: Timestamp::from_millis(placed_ms),
        currency: Currency::USD,
        lines: lines.iter().map(|(s, q, p)| OrderLineInput::new(sku(s), *q, usd(*p))).collect(),
        shipping: usd(shipping),
        tax_rate: Rate::from_ppm(tax_ppm).unwrap(),
        taxes_included: false,
        shipping_lines: Vec::new(),
        number: None,
        total_tax: None,
        total: None,
        customer: None,
        ship_to: None,
        buyer: None,
        fraud_score: None,
        payments: Vec::new(),
        revision: None,
    })
}
pub fn oref(id: &str) -> OrderRef {
    OrderRef { order: oid(id) }
}
pub fn validate(id: &str) -> Command {
    Command::ValidateOrder(oref(id))
}
pub fn allocate(id: &str) -> Command {
    Command::AllocateOrder(oref(id))
}
pub fn pick(id: &str) -> Command {
    Command::PickOrder(FulfilOrder { order: oid(id), location: None, short: Vec::new() })
}
pub fn pack(id: &str) -> Command {
    Command::PackOrder(FulfilOrder { order: oid(id), location: None, short: Vec::new() })
}
pub fn ship(id: &str) -> Command {
    Command::ShipOrder(ShipOrder {
        order: oid(id),
        location: None,
        carrier: "ups".to_owned(),
        tracking: format!("1Z-{id}"),
        serials: Vec::new(),
    })
}
pub fn deliver(id: &str) -> Command {
    Command::DeliverOrder(oref(id))
}
pub fn cancel(id: &str, reason: CancelReason) -> Command {
    Command::CancelOrder(CancelOrder { order: oid(id), reason })
}
pub fn hold(id: &str, reason: HoldReason, due_ms: i64) -> Command {
    Command::HoldOrder(HoldOrder {
        order: oid(id),
        reason,
        due_at: Timestamp::from_millis(due_ms),
        note: String::new(),
    })
}
pub fn release_hold(id: &str) -> Command {
    Command::ReleaseHold(oref(id))
}
pub fn quarantine(
    l: &str,
    s: &str,
    lt: Option<&str>,
    qty: i64,
    reason: QuarantineReason,
) -> Command {
    Command::QuarantineStock(QuarantineStock {
        location: loc(l),
        sku: sku(s),
        lot: lt.map(lot),
        qty,
        reason,
    })
}
pub fn recall(s: &str, lt: &str) -> Command {
    Command::RecallLot(RecallLot { sku: sku(s), lot: lot(lt) })
}
pub fn count_tolerance(class: AbcClass, units: i64, fraction: Option<&str>) -> Command {
    Command::SetCountTolerance(SetCountTolerance {
        class,
        units,
        fraction: fraction.map(|f| Rate::parse_fraction(f).unwrap()),
    })
}
pub fn cycle_count(l: &str, s: &str, counted: i64) -> Command {
    Command::CycleCount(CycleCount { location: loc(l), sku: sku(s), lot: None, counted })
}

/// DOMAIN.md §8 master data: WH1 serves `web` (standard) and `edi` (contract); SKU A costs
/// 20.00; lot-tracked SKU L costs 5.00.
pub fn world() -> Vec<Command> {
    vec![
        define_channel("web", PriorityClass::Standard, ChannelKind::Direct),
        define_channel("edi", PriorityClass::Contract, ChannelKind::Wholesale),
        define_location("WH1", 1, &["web", "edi"]),
        define_location("WH2", 2, &["web"]),
        define_sku("A", false, 2000, AbcClass::A),
        define_sku("L", true, 500, AbcClass::B),
    ]
}

/// Place, validate and allocate an order of one line.
pub fn order_flow(id: &str, channel: &str, placed_ms: i64, s: &str, qty: i64) -> Vec<Command> {
    vec![place(id, channel, placed_ms, &[(s, qty, 5000)], 1000, 80_000), validate(id), allocate(id)]
}

pub fn capture(order: &str, minor: i64) -> Command {
    Command::CapturePayment(CapturePayment {
        order: oid(order),
        payment: PaymentId::parse(format!("pay-{order}")).unwrap(),
        amount: usd(minor),
        cumulative: false,
    })
}
pub fn fee_rate(order: &str) -> Command {
    Command::RecordProcessorFee(RecordProcessorFee {
        order: oid(order),
        fee: FeeInput::Rate(FeeRate { rate: Rate::parse_percent("2.9").unwrap(), fixed: usd(30) }),
    })
}
pub fn authorize_return(id: &str, order: &str, line: u32, qty: i64) -> Command {
    Command::AuthorizeReturn(AuthorizeReturn {
        return_id: ReturnId::parse(id).unwrap(),
        order: oid(order),
        lines: vec![LineQty { line, qty }],
    })
}
pub fn receive_return(id: &str, l: &str, line: u32, lt: Option<&str>, qty: i64) -> Command {
    Command::ReceiveReturn(ReceiveReturn {
        return_id: ReturnId::parse(id).unwrap(),
        location: loc(l),
        items: vec![ReturnItemInput { line, lot: lt.map(lot), qty }],
    })
}
pub fn inspect_return(
    id: &str,
    line: u32,
    lt: Option<&str>,
    qty: i64,
    disposition: tally_domain::returns::Disposition,
) -> Command {
    Command::InspectReturn(InspectReturn {
        return_id: ReturnId::parse(id).unwrap(),
        items: vec![InspectionInput { line, lot: lt.map(lot), qty, disposition }],
    })
}
pub fn refund(id: &str, order: &str, line: u32, qty: i64) -> Command {
    Command::IssueRefund(IssueRefund {
        refund: RefundId::parse(id).unwrap(),
        order: oid(order),
        lines: vec![RefundLine { line, qty, amount: None, tax: None }],
        shipping: None,
        shipping_tax: None,
    })
}
pub fn processor_payout(id: &str, minor: i64) -> Command {
    Command::RecordProcessorPayout(RecordProcessorPayout {
        payout: PayoutId::parse(id).unwrap(),
        amount: usd(minor),
    })
}

/// DOMAIN.md §4 worked example: web sale of 2 × 50.00, shipping 10.00, tax 8 %, fee
/// 2.9 % + 0.30, one unit returned, restocked and refunded, then the payout of 61.05.
pub fn web_sale_to_payout() -> Vec<Command> {
    use tally_domain::returns::Disposition;
    let mut c = world();
    c.push(receive("WH1", "A", 10));
    c.extend([
        place("O1", "web", T0, &[("A", 2, 5000)], 1000, 80_000),
        validate("O1"),
        allocate("O1"),
        capture("O1", 11_880),
        pick("O1"),
        pack("O1"),
        ship("O1"),
        fee_rate("O1"),
        authorize_return("R1", "O1", 0, 1),
        receive_return("R1", "WH1", 0, None, 1),
        inspect_return("R1", 0, None, 1, Disposition::Restock),
        refund("F1", "O1", 0, 1),
        processor_payout("PO1", 6105),
    ]);
    c
}
