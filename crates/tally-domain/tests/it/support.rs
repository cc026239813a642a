//! The given/when/then helper and fixtures every test uses.

use tally_domain::command::*;
use tally_domain::ids::*;
use tally_domain::inventory::StockKey;
use tally_domain::master::{AbcClass, ChannelKind, LocationKind, PriorityClass};
use tally_domain::money::{Currency, Money, Rate};
use tally_domain::time::{Date, Timestamp};
use tally_domain::{Command, Context, Event, Rejection, State, decide, evolve};

/// 2026-03-01T00:00:00Z.
pub const T0: i64 = 1_772_323_200_000;

pub fn ctx_at(ms: i64) -> Context {
    Context { now: Timestamp::from_millis(ms), actor: Actor::parse("test").unwrap() }
}

/// Given some history, when a command, then events or a rejection.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub state: State,
    pub ctx: Context,
}

#[derive(Debug)]
pub struct Outcome {
    pub state: State,
    pub result: Result<Vec<Event>, Rejection>,
    /// The business time the command was decided at.
    pub now: tally_domain::time::Timestamp,
}

impl Scenario {
    /// History given as commands, each decided and applied (they must all be accepted).
    pub fn given(commands: impl IntoIterator<Item = Command>) -> Self {
        let mut s = Self { state: State::new(), ctx: ctx_at(T0) };
        for c in commands {
            s = s.and(c);
        }
        s
    }

    /// History given as events, each with the business time it was decided at.
    pub fn given_events(events: impl IntoIterator<Item = (Timestamp, Event)>) -> Self {
        let mut state = State::new();
        for (at, e) in events {
            evolve(&mut state, &e, at);
        }
        Self { state, ctx: ctx_at(T0) }
    }

    /// One more accepted command of history.
    pub fn and(mut self, command: Command) -> Self {
        let events = decide(&self.state, &command, &self.ctx)
            .unwrap_or_else(|r| panic!("given {command:?} was rejected: {} {r}", r.code()));
        for e in &events {
            evolve(&mut self.state, e, self.ctx.now);
        }
        self
    }

    /// Moves business time.
    pub fn at(mut self, ms: i64) -> Self {
        self.ctx = ctx_at(ms);
        self
    }

    pub fn when(self, command: Command) -> Outcome {
        let result = decide(&self.state, &command, &self.ctx);
        Outcome { state: self.state, result, now: self.ctx.now }
    }
}

impl Outcome {
    /// Exactly these events; returns the state after them.
    pub fn then_events(self, expected: &[Event]) -> State {
        let events = self.result.unwrap_or_else(|r| panic!("rejected: {} {r}", r.code()));
        assert_eq!(events, expected);
        apply(self.state, &events, self.now)
    }

    /// Events of exactly these types; returns them and the state after them.
    pub fn then_types(self, expected: &[&str]) -> (Vec<Event>, State) {
        let events = self.result.unwrap_or_else(|r| panic!("rejected: {} {r}", r.code()));
        let types: Vec<&str> = events.iter().map(Event::event_type).collect();
        assert_eq!(types, expected, "events: {events:#?}");
        let state = apply(self.state, &events, self.now);
        (events, state)
    }

    /// A rejection with this code; returns it.
    pub fn then_rejects(self, code: &str) -> Rejection {
        match self.result {
            Ok(events) => panic!("expected {code}, got events {events:#?}"),
            Err(r) => {
                assert_eq!(r.code(), code, "rejection: {r}");
                let message = r.to_string();
                assert!(
                    !message.starts_with(char::is_uppercase),
                    "message not lowercase: {message}"
                );
                assert!(!message.ends_with('.'), "message ends with a period: {message}");
                r
            }
        }
    }
}

fn apply(mut state: State, events: &[Event], at: tally_domain::time::Timestamp) -> State {
    for e in events {
        evolve(&mut state, e, at);
    }
    state
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
pub fn rid(s: &str) -> ReturnId {
    ReturnId::parse(s).unwrap()
}
pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}
pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}
pub fn key(l: &str, s: &str, lt: Option<&str>) -> StockKey {
    StockKey::new(loc(l), sku(s), lt.map(lot))
}

pub fn define_channel(id: &str, priority: PriorityClass) -> Command {
    Command::DefineChannel(DefineChannel {
        channel: ch(id),
        priority,
        kind: ChannelKind::Direct,
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
pub fn define_sku(id: &str, lot_tracked: bool, margin: u32, cost: i64) -> Command {
    Command::DefineSku(DefineSku {
        sku: sku(id),
        lot_tracked,
        shelf_life_margin_days: margin,
        unit_cost: usd(cost),
        abc: AbcClass::A,
    })
}
pub fn safety(l: &str, s: &str, qty: i64) -> Command {
    Command::SetSafetyStock(SetSafetyStock { location: loc(l), sku: sku(s), qty })
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
pub fn place(
    id: &str,
    channel: &str,
    lines: &[(&str, i64, i64)],
    shipping: i64,
    tax_ppm: u32,
) -> Command {
    Command::ReceiveOrder(ReceiveOrder {
        order: oid(id),
        channel: ch(channel),
        placed_at: Timestamp::from_millis(T0),
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
        carrier: String::new(),
        tracking: String::new(),
        serials: Vec::new(),
    })
}
pub fn deliver(id: &str) -> Command {
    Command::DeliverOrder(oref(id))
}

/// WH1 serving web (standard) and edi (contract); SKU A (cost 20.00) and lot-tracked L.
pub fn world() -> Vec<Command> {
    vec![
        define_channel("web", PriorityClass::Standard),
        define_channel("edi", PriorityClass::Contract),
        define_location("WH1", 1, &["web", "edi"]),
        define_location("WH2", 2, &["web"]),
        define_sku("A", false, 0, 2000),
        define_sku("L", true, 30, 500),
    ]
}

/// [`world`] plus the given commands.
pub fn world_and(more: impl IntoIterator<Item = Command>) -> Vec<Command> {
    let mut w = world();
    w.extend(more);
    w
}

/// An order placed, validated, allocated.
pub fn allocated_order(id: &str, channel: &str, sku_id: &str, qty: i64) -> Vec<Command> {
    vec![place(id, channel, &[(sku_id, qty, 5000)], 1000, 80_000), validate(id), allocate(id)]
}
