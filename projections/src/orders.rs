//! The orders view: status and lines of every order (ordered, reserved per location and lot,
//! backordered, picked, packed, shipped, cancelled, substitutions), holds with their SLA, and
//! the exception and backorder lists.
//!
//! Key layout (parts joined by 0x00):
//! - `order/{order}` → [`OrderView`];
//! - `status/{status}/{order}` → empty: orders by status, paginated by order id;
//! - `due/{due_at}/{order}` → empty: open holds by SLA due time (exceptions are a prefix of it);
//! - `backorder/{class}/{placed_at}/{received seq}/{line}` → [`BackorderRef`]: waiting lines
//!   in fill priority order (`contract` first, then oldest placement, then arrival);
//! - `channel/{channel}` → [`PriorityClass`] (master data the priority needs);
//! - `raised/{seq}` → [`RaisedException`]: every `exception.raised`, in log order (the queue
//!   of things a person must look at: count tasks, return lot mismatches, reconciliations,
//!   holds past their SLA), with the rule that raised it, its number, who acknowledged it and
//!   how it left the queue;
//! - `exno/{number}` → the seq of exception `number` (the ordinal of its `exception.raised`,
//!   as the domain numbers them), and `exno` → how many were raised;
//! - `workflow` → the workflow rules in force, every channel's (`workflow.configured`);
//! - `stage/{stage}/{channel}/{since}/{order}` → empty: open orders by workflow stage
//!   ([`Stage`]) and channel, longest in the stage first (the dashboard's "orders by stage with
//!   age").
//!
//! **Policy — release:** an order is *released* to fulfilment by its first allocation decision
//! (its first `order.line_allocated` or `order.line_backordered`), the moment it becomes
//! `fulfilling`. A line is backordered once allocation has looked at it and it still has units
//! unallocated while the order is fulfilling; its age runs from when it last started waiting.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{ChannelId, LocationId, LotId, OrderId, Sku};
use tally_domain::inventory::Claim;
use tally_domain::master::PriorityClass;
use tally_domain::order::{CancelReason, HoldReason, OrderStatus};

use crate::keys::{Page, be32, be64, malformed, page, prefix, text, time_from, time_part};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const ORDER: &[u8] = b"order";
const STATUS: &[u8] = b"status";
const DUE: &[u8] = b"due";
const BACKORDER: &[u8] = b"backorder";
const CHANNEL: &[u8] = b"channel";
const RAISED: &[u8] = b"raised";
const EXNO: &[u8] = b"exno";
const STAGE: &[u8] = b"stage";
const WORKFLOW: &[u8] = b"workflow";

/// Where an open order is in its workflow, for people: what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum), graphql(name = "WorkflowStage"))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Received, waiting for validation.
    Received,
    /// On hold (see its open hold's reason).
    Held,
    /// Validated, waiting for allocation.
    Validated,
    /// In fulfilment with nothing reserved, picked or packed: all of it waits for stock.
    Backordered,
    /// Units reserved, waiting to be picked.
    Allocated,
    /// Units picked, waiting to be packed.
    Picked,
    /// Units packed, waiting to be shipped.
    Packed,
}

impl Stage {
    /// Every stage, in workflow order.
    pub const ALL: [Stage; 7] = [
        Stage::Received,
        Stage::Held,
        Stage::Validated,
        Stage::Backordered,
        Stage::Allocated,
        Stage::Picked,
        Stage::Packed,
    ];

    /// Lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::Held => "held",
            Stage::Validated => "validated",
            Stage::Backordered => "backordered",
            Stage::Allocated => "allocated",
            Stage::Picked => "picked",
            Stage::Packed => "packed",
        }
    }
}

/// The rule named by an actor (`rule:<name>` → `<name>`), if a rule acted.
fn rule_of(actor: &str) -> Option<String> {
    actor.strip_prefix("rule:").map(str::to_owned)
}

/// The orders projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Orders;

/// A hold, open or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Hold", complex)
)]
pub struct HoldView {
    /// Why.
    pub reason: HoldReason,
    /// Free text.
    pub note: String,
    /// When it was put on (business time).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub held_at_ms: i64,
    /// SLA due time.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub due_at_ms: i64,
    /// When it was released (or replaced by another hold); `None` while open.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub released_at_ms: Option<i64>,
    /// The workflow rule that put it on (`None`: a person or an integration).
    pub rule: Option<String>,
}

/// Units of a line at one location and lot, by stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "LineReservation")
)]
pub struct Reservation {
    /// Where.
    pub location: LocationId,
    /// Which lot.
    pub lot: Option<LotId>,
    /// Reserved, not picked (at most 10⁹, the quantity bound).
    pub reserved: u64,
    /// Picked, not packed (at most 10⁹).
    pub picked: u64,
    /// Packed, not shipped (at most 10⁹).
    pub packed: u64,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "OrderLine", complex)
)]
pub struct LineView {
    /// The SKU (after substitution).
    pub sku: Sku,
    /// The SKU ordered, when substituted.
    pub substituted_from: Option<Sku>,
    /// Units ordered (at most 10⁹, the quantity bound `limits::QTY_MAX`).
    pub ordered: u64,
    /// Units allocated so far, net of released reservations (at most the units ordered).
    pub allocated: u64,
    /// Units waiting for stock (at most the units ordered).
    pub backordered: u64,
    /// Since when the line waits (business time), while it does.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub backordered_since_ms: Option<i64>,
    /// Whether allocation has looked at this line.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub attempted: bool,
    /// Units picked, cumulative (at most the units ordered).
    pub picked: u64,
    /// Units packed, cumulative (at most the units ordered).
    pub packed: u64,
    /// Units shipped, cumulative (at most the units ordered).
    pub shipped: u64,
    /// Units cancelled (at most the units ordered).
    pub cancelled: u64,
    /// Where its unshipped units are, by location and lot.
    pub reservations: Vec<Reservation>,
}

impl LineView {
    /// A line as received (or added by an amendment): `ordered` units, nothing done yet.
    fn new(sku: Sku, ordered: u64) -> Self {
        Self {
            sku,
            substituted_from: None,
            ordered,
            allocated: 0,
            backordered: 0,
            backordered_since_ms: None,
            attempted: false,
            picked: 0,
            packed: 0,
            shipped: 0,
            cancelled: 0,
            reservations: Vec::new(),
        }
    }
}

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Order", complex)
)]
pub struct OrderView {
    /// Its ledger id (`W1001`); `id` is its global id.
    #[cfg_attr(feature = "graphql", graphql(name = "orderId"))]
    pub id: OrderId,
    /// The number the customer knows it by (Shopify's `#1001`), when the channel sent one.
    pub number: Option<String>,
    /// The channel.
    pub channel: ChannelId,
    /// The channel's priority class at receipt.
    #[cfg_attr(feature = "graphql", graphql(name = "priorityClass"))]
    pub class: PriorityClass,
    /// Status.
    pub status: OrderStatus,
    /// When the customer placed it.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub placed_at_ms: i64,
    /// When the ledger received it (business time of `order.received`).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub received_at_ms: i64,
    /// Seq of `order.received`: arrival order.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub received_seq: u64,
    /// When it was released to fulfilment (see the module's policy).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub released_at_ms: Option<i64>,
    /// Every hold, oldest first; the last is open when `released_at_ms` is `None`.
    pub holds: Vec<HoldView>,
    /// Why it was cancelled.
    pub cancel_reason: Option<CancelReason>,
    /// Its lines.
    pub lines: Vec<LineView>,
    /// Its workflow stage while open.
    pub stage: Option<Stage>,
    /// Since when it is in that stage (business time).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub stage_since_ms: Option<i64>,
}

impl OrderView {
    /// The workflow stage its state puts it in (`None` once shipped, delivered or cancelled).
    #[must_use]
    pub fn current_stage(&self) -> Option<Stage> {
        if !self.is_open() {
            return None;
        }
        if self.open_hold().is_some() {
            return Some(Stage::Held);
        }
        Some(match self.status {
            OrderStatus::Received => Stage::Received,
            OrderStatus::Validated => Stage::Validated,
            _ => {
                let sum = |f: fn(&Reservation) -> u64| -> u64 {
                    self.lines.iter().flat_map(|l| &l.reservations).map(f).sum()
                };
                if sum(|r| r.packed) > 0 {
                    Stage::Packed
                } else if sum(|r| r.picked) > 0 {
                    Stage::Picked
                } else if sum(|r| r.reserved) > 0 {
                    Stage::Allocated
                } else {
                    Stage::Backordered
                }
            }
        })
    }

    /// The open hold, if any.
    #[must_use]
    pub fn open_hold(&self) -> Option<&HoldView> {
        self.holds.last().filter(|h| h.released_at_ms.is_none())
    }

    fn is_open(&self) -> bool {
        !matches!(
            self.status,
            OrderStatus::Cancelled | OrderStatus::Delivered | OrderStatus::Shipped
        )
    }
}

/// A backorder index entry: which order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackorderRef {
    /// The order.
    pub order: OrderId,
    /// The line.
    pub line: u32,
}

fn order_key(order: &str) -> Vec<u8> {
    key(&[ORDER, order.as_bytes()])
}

fn class_byte(class: PriorityClass) -> u8 {
    match class {
        PriorityClass::Contract => 0,
        PriorityClass::Standard => 1,
    }
}

/// Index entries of an order: (key, value).
type Entries = BTreeSet<(Vec<u8>, Vec<u8>)>;

fn index(view: &OrderView) -> Result<Entries, ApplyError> {
    let id = view.id.as_str().as_bytes();
    let mut out = BTreeSet::new();
    out.insert((key(&[STATUS, view.status.as_str().as_bytes(), id]), Vec::new()));
    if let (Some(stage), Some(since)) = (view.stage, view.stage_since_ms) {
        out.insert((
            key(&[
                STAGE,
                stage.as_str().as_bytes(),
                view.channel.as_str().as_bytes(),
                &time_part(since),
                id,
            ]),
            Vec::new(),
        ));
    }
    if view.is_open()
        && let Some(hold) = view.open_hold()
    {
        out.insert((key(&[DUE, &time_part(hold.due_at_ms), id]), Vec::new()));
    }
    for (line, n) in view.lines.iter().zip(0_u32..) {
        if line.backordered > 0 {
            let k = key(&[
                BACKORDER,
                &[class_byte(view.class)],
                &time_part(view.placed_at_ms),
                &be64(view.received_seq),
                &be32(n),
            ]);
            let v = postcard::to_stdvec(&BackorderRef { order: view.id.clone(), line: n })
                .map_err(|e| ApplyError::new(format!("encoding: {e}")))?;
            out.insert((k, v));
        }
    }
    Ok(out)
}

fn line_mut(view: &mut OrderView, line: u32) -> Result<&mut LineView, ApplyError> {
    let id = view.id.clone();
    usize::try_from(line)
        .ok()
        .and_then(|i| view.lines.get_mut(i))
        .ok_or_else(|| ApplyError::new(format!("order '{id}' has no line {line}")))
}

fn reservation<'a>(
    line: &'a mut LineView,
    location: &LocationId,
    lot: Option<&LotId>,
) -> &'a mut Reservation {
    let at =
        line.reservations.binary_search_by(|r| (&r.location, r.lot.as_ref()).cmp(&(location, lot)));
    let index = match at {
        Ok(i) => i,
        Err(i) => {
            line.reservations.insert(
                i,
                Reservation {
                    location: location.clone(),
                    lot: lot.cloned(),
                    reserved: 0,
                    picked: 0,
                    packed: 0,
                },
            );
            i
        }
    };
    &mut line.reservations[index]
}

fn sub(value: &mut u64, qty: u64, what: &str) -> Result<(), ApplyError> {
    *value = value
        .checked_sub(qty)
        .ok_or_else(|| ApplyError::new(format!("{what} would go negative: {value} - {qty}")))?;
    Ok(())
}

fn release(view: &mut OrderView, at_ms: i64) {
    view.status = OrderStatus::Fulfilling;
    if view.released_at_ms.is_none() {
        view.released_at_ms = Some(at_ms);
    }
}

/// Applies an event about an existing order, then moves it to the stage its state puts it in.
fn change(view: &mut OrderView, applied: &Applied<'_>, at_ms: i64) -> Result<(), ApplyError> {
    change_state(view, applied, at_ms)?;
    let stage = view.current_stage();
    if stage != view.stage {
        view.stage = stage;
        view.stage_since_ms = stage.map(|_| at_ms);
    }
    Ok(())
}

fn change_state(view: &mut OrderView, applied: &Applied<'_>, at_ms: i64) -> Result<(), ApplyError> {
    let event = applied.event;
    match event {
        Event::OrderAmended(e) => {
            for (n, new) in e.lines.iter().enumerate() {
                if let Some(line) = view.lines.get_mut(n) {
                    line.ordered = new.qty;
                } else {
                    view.lines.push(LineView::new(new.sku.clone(), new.qty));
                }
            }
            if e.revalidate {
                view.status = OrderStatus::Received;
            }
        }
        Event::OrderValidated(_) => view.status = OrderStatus::Validated,
        Event::OrderHeld(e) => {
            if let Some(open) = view.holds.last_mut().filter(|h| h.released_at_ms.is_none()) {
                open.released_at_ms = Some(at_ms);
            }
            view.holds.push(HoldView {
                reason: e.reason,
                note: e.note.clone(),
                held_at_ms: at_ms,
                due_at_ms: e.due_at.millis(),
                released_at_ms: None,
                rule: rule_of(applied.actor),
            });
        }
        Event::OrderHoldReleased(_) => {
            if let Some(open) = view.holds.last_mut().filter(|h| h.released_at_ms.is_none()) {
                open.released_at_ms = Some(at_ms);
            }
        }
        Event::LineAllocated(e) => {
            release(view, at_ms);
            let line = line_mut(view, e.line)?;
            line.attempted = true;
            line.allocated += e.qty.get();
            reservation(line, &e.location, e.lot.as_ref()).reserved += e.qty.get();
        }
        Event::LineBackordered(e) => {
            release(view, at_ms);
            line_mut(view, e.line)?.attempted = true;
        }
        Event::LineSubstituted(e) => {
            let line = line_mut(view, e.line)?;
            if line.substituted_from.is_none() {
                line.substituted_from = Some(e.from.clone());
            }
            line.sku = e.to.clone();
        }
        Event::ReservationReleased(e) => {
            let qty = e.qty.get();
            let line = line_mut(view, e.line)?;
            sub(&mut line.allocated, qty, "allocated")?;
            let r = reservation(line, &e.location, e.lot.as_ref());
            // Units pulled back from picked or packed were never picked, as far as the
            // line's cumulative counts go: they are picked again when re-allocated.
            match e.from {
                Claim::Reserved => sub(&mut r.reserved, qty, "reserved")?,
                Claim::Picked => sub(&mut r.picked, qty, "picked")?,
                Claim::Packed => sub(&mut r.packed, qty, "packed")?,
            }
            if matches!(e.from, Claim::Picked | Claim::Packed) {
                sub(&mut line.picked, qty, "picked")?;
            }
            if e.from == Claim::Packed {
                sub(&mut line.packed, qty, "packed")?;
            }
        }
        Event::OrderPicked(e) | Event::OrderPacked(e) => {
            let picking = matches!(event, Event::OrderPicked(_));
            for item in &e.items {
                let qty = item.qty.get();
                let line = line_mut(view, item.line)?;
                let r = reservation(line, &item.location, item.lot.as_ref());
                if picking {
                    sub(&mut r.reserved, qty, "reserved")?;
                    r.picked += qty;
                    line.picked += qty;
                } else {
                    sub(&mut r.picked, qty, "picked")?;
                    r.packed += qty;
                    line.packed += qty;
                }
            }
        }
        Event::OrderShipped(e) => {
            for item in &e.items {
                let qty = item.qty.get();
                let line = line_mut(view, item.line)?;
                let r = reservation(line, &item.location, item.lot.as_ref());
                sub(&mut r.packed, qty, "packed")?;
                line.shipped += qty;
            }
            if view.lines.iter().all(|l| l.shipped >= l.ordered) {
                view.status = OrderStatus::Shipped;
            }
        }
        Event::OrderDelivered(_) => view.status = OrderStatus::Delivered,
        Event::BackordersCancelled(e) => {
            view.cancel_reason = Some(e.reason);
            for cut in &e.lines {
                let line = line_mut(view, cut.line)?;
                line.cancelled = line.cancelled.saturating_add(cut.qty.get()).min(line.ordered);
            }
            if view.lines.iter().all(|l| l.shipped.saturating_add(l.cancelled) >= l.ordered) {
                view.status = OrderStatus::Shipped;
            }
        }
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => {
            // A partly shipped order keeps what shipped and can still be delivered.
            let whole = matches!(event, Event::OrderCancelled(_));
            view.status = if whole { OrderStatus::Cancelled } else { OrderStatus::Shipped };
            view.cancel_reason = Some(e.reason);
            for line in &mut view.lines {
                line.cancelled = line.ordered.saturating_sub(line.shipped);
                line.allocated = line.shipped;
                line.reservations.clear();
            }
        }
        _ => {}
    }
    for line in &mut view.lines {
        line.reservations.retain(|r| r.reserved + r.picked + r.packed > 0);
        line.backordered = if line.attempted && view.status == OrderStatus::Fulfilling {
            line.ordered.saturating_sub(line.allocated).saturating_sub(line.cancelled)
        } else {
            0
        };
        if line.backordered == 0 {
            line.backordered_since_ms = None;
        } else if line.backordered_since_ms.is_none() {
            line.backordered_since_ms = Some(at_ms);
        }
    }
    Ok(())
}

fn order_of(event: &Event) -> Option<&OrderId> {
    match event {
        Event::OrderAmended(e) => Some(&e.order),
        Event::OrderValidated(e) | Event::OrderHoldReleased(e) | Event::OrderDelivered(e) => {
            Some(&e.order)
        }
        Event::OrderHeld(e) => Some(&e.order),
        Event::LineAllocated(e) => Some(&e.order),
        Event::LineBackordered(e) => Some(&e.order),
        Event::LineSubstituted(e) => Some(&e.order),
        Event::ReservationReleased(e) => Some(&e.order),
        Event::OrderPicked(e) | Event::OrderPacked(e) => Some(&e.order),
        Event::OrderShipped(e) => Some(&e.order),
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => Some(&e.order),
        Event::BackordersCancelled(e) => Some(&e.order),
        _ => None,
    }
}

fn write(tx: &mut Tx<'_>, before: Option<&OrderView>, after: &OrderView) -> Result<(), ApplyError> {
    let old = match before {
        Some(v) => index(v)?,
        None => BTreeSet::new(),
    };
    let new = index(after)?;
    for (k, _) in old.difference(&new) {
        if !new.iter().any(|(nk, _)| nk == k) {
            tx.delete(k.clone());
        }
    }
    for (k, v) in new.difference(&old) {
        tx.put_raw(k.clone(), v.clone());
    }
    tx.put(order_key(after.id.as_str()), after)
}

impl Orders {
    /// The rule behind an exception: the one that acted, or for a hold past its SLA the one
    /// that put the hold on.
    fn raising_rule(
        self,
        tx: &Tx<'_>,
        applied: &Applied<'_>,
        e: &tally_domain::event::ExceptionRaised,
    ) -> Result<Option<String>, ApplyError> {
        if e.kind == tally_domain::event::ExceptionKind::HoldSlaBreach
            && let tally_domain::journal::JournalRef::Order(order) = &e.subject
        {
            let view: Option<OrderView> = tx.get(&order_key(order.as_str()))?;
            if let Some(rule) =
                view.as_ref().and_then(|v| v.open_hold()).and_then(|h| h.rule.clone())
            {
                return Ok(Some(rule));
            }
        }
        Ok(rule_of(applied.actor))
    }
}

impl Projection for Orders {
    fn name(&self) -> &'static str {
        "orders"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, applied: &Applied<'_>) -> Result<(), ApplyError> {
        let at_ms = applied.occurred_at_ms;
        match applied.event {
            Event::ChannelDefined(c) => {
                tx.put(key(&[CHANNEL, c.id.as_str().as_bytes()]), &c.priority)?;
            }
            Event::OrderReceived(e) => {
                if tx.get_raw(&order_key(e.order.as_str()))?.is_some() {
                    return Err(ApplyError::new(format!("order '{}' received twice", e.order)));
                }
                let class = tx
                    .get::<PriorityClass>(&key(&[CHANNEL, e.channel.as_str().as_bytes()]))?
                    .unwrap_or(PriorityClass::Standard);
                let lines =
                    e.lines.iter().map(|l| LineView::new(l.sku.clone(), l.qty.get())).collect();
                let view = OrderView {
                    id: e.order.clone(),
                    number: e.number.clone(),
                    channel: e.channel.clone(),
                    class,
                    status: OrderStatus::Received,
                    placed_at_ms: e.placed_at.millis(),
                    received_at_ms: at_ms,
                    received_seq: applied.seq,
                    released_at_ms: None,
                    holds: Vec::new(),
                    cancel_reason: None,
                    lines,
                    stage: Some(Stage::Received),
                    stage_since_ms: Some(at_ms),
                };
                write(tx, None, &view)?;
            }
            Event::WorkflowConfigured(e) => {
                tx.put(key(&[WORKFLOW]), &e.channels)?;
            }
            Event::ExceptionRaised(e) => {
                let (subject_type, subject_id) = crate::ledger::reference_parts(&e.subject);
                let number = tx.get::<u64>(&key(&[EXNO]))?.unwrap_or(0) + 1;
                let row = RaisedException {
                    seq: applied.seq,
                    number,
                    kind: e.kind,
                    subject_type: subject_type.to_owned(),
                    subject_id,
                    message: e.message.clone(),
                    raised_at_ms: at_ms,
                    rule: self.raising_rule(tx, applied, e)?,
                    acknowledgements: Vec::new(),
                    closed: None,
                };
                tx.put(key(&[EXNO]), &number)?;
                tx.put(key(&[EXNO, &be64(number)]), &applied.seq)?;
                tx.put(key(&[RAISED, &be64(applied.seq)]), &row)?;
            }
            Event::ExceptionAcknowledged(e) => {
                let (k, mut row) = raised_row(tx, e.exception)?;
                row.acknowledgements.push(ExceptionNote {
                    by: applied.actor.to_owned(),
                    at_ms,
                    note: e.note.clone(),
                    seq: applied.seq,
                });
                tx.put(k, &row)?;
            }
            Event::ExceptionResolved(e) => {
                let (k, mut row) = raised_row(tx, e.exception)?;
                if row.closed.is_some() {
                    return Err(ApplyError::new(format!(
                        "exception {} resolved twice",
                        e.exception
                    )));
                }
                row.closed = Some(ExceptionClosure {
                    resolution: e.resolution,
                    by: applied.actor.to_owned(),
                    at_ms,
                    note: e.note.clone(),
                    seq: applied.seq,
                });
                tx.put(k, &row)?;
            }
            event => {
                let Some(order) = order_of(event) else { return Ok(()) };
                let before: OrderView = tx
                    .get(&order_key(order.as_str()))?
                    .ok_or_else(|| ApplyError::new(format!("unknown order '{order}'")))?;
                let mut after = before.clone();
                change(&mut after, applied, at_ms)?;
                write(tx, Some(&before), &after)?;
            }
        }
        Ok(())
    }
}

/// One order.
pub fn order(r: &ViewReader, id: &str) -> Result<Option<OrderView>> {
    r.get(&order_key(id))
}

/// Orders in `status`, by order id, after the cursor `after` (an order id), at most `limit`.
pub fn orders_by_status(
    r: &ViewReader,
    status: OrderStatus,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<OrderView, String>> {
    let p = prefix(&[STATUS, status.as_str().as_bytes()]);
    let cursor = after.map(|a| [p.as_slice(), a.as_bytes()].concat());
    let mut rows = Vec::new();
    for (k, _) in r.scan_after(&p, cursor.as_deref(), limit.saturating_add(1))? {
        let id = text(&k[p.len()..]);
        // The index and the order are written in one batch: an entry without its order
        // is corrupt data, not a reason to return a short page.
        let view = order(r, &id)?.ok_or_else(|| {
            malformed("orders", format!("status index names unknown order '{id}'"))
        })?;
        rows.push(view);
    }
    Ok(page(rows, limit, |v| v.id.to_string()))
}

/// Every order, by order id (a scan of the whole view).
pub fn all(r: &ViewReader) -> Result<Vec<OrderView>> {
    Ok(r.scan_typed::<OrderView>(&prefix(&[ORDER]))?.into_iter().map(|(_, v)| v).collect())
}

/// An `exception.raised`: something a person must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct RaisedException {
    /// The seq of its event.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub seq: u64,
    /// What to do.
    pub kind: tally_domain::event::ExceptionKind,
    /// What it is about: `order`, `return`, `settlement`, `stock`, `payout`, `supplier` or
    /// `manual` (as in the journal export).
    pub subject_type: String,
    /// The subject's id (`O1`; for stock `location/sku[/lot]`).
    pub subject_id: String,
    /// A one-line description with the numbers.
    pub message: String,
    /// Business time of the decision that raised it.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub raised_at_ms: i64,
    /// The workflow rule that raised it (for a hold past its SLA: the rule that held the
    /// order); `None` when a person's or an integration's command did.
    pub rule: Option<String>,
    /// Its number: the ordinal of its `exception.raised` in the log (1 is the first ever
    /// raised); what `acknowledgeException` and `resolveException` take.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub number: u64,
    /// Who took it in hand, oldest first.
    pub acknowledgements: Vec<ExceptionNote>,
    /// How it left the queue; null while it is open.
    pub closed: Option<ExceptionClosure>,
}

/// A person's note on an exception (`exception.acknowledged`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct ExceptionNote {
    /// Who (the envelope's actor).
    pub by: String,
    /// When (business time).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub at_ms: i64,
    /// What they said.
    pub note: String,
    /// The seq of the event.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub seq: u64,
}

/// How an exception left the queue (`exception.resolved`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct ExceptionClosure {
    /// Resolved or dismissed by a person, or cleared by the decision that removed its cause.
    pub resolution: tally_domain::event::ExceptionResolution,
    /// Who (the envelope's actor: a person, an integration or `rule:<name>`).
    pub by: String,
    /// When (business time).
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub at_ms: i64,
    /// What was done.
    pub note: String,
    /// The seq of the event.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub seq: u64,
}

/// Open orders in one workflow stage and channel, with how long they have been in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageCount {
    /// The stage.
    pub stage: Stage,
    /// The channel.
    pub channel: ChannelId,
    /// Orders in it.
    pub orders: u64,
    /// Since when the longest-waiting of them is in it (business time).
    pub oldest_since_ms: i64,
}

/// The workflow rules in force, by channel.
pub fn workflow_rules(r: &ViewReader) -> Result<Vec<tally_domain::workflow::ChannelWorkflow>> {
    Ok(r.get(&key(&[WORKFLOW]))?.unwrap_or_default())
}

/// Open orders per workflow stage and channel (optionally one channel), in stage order.
pub fn stage_counts(r: &ViewReader, channel: Option<&ChannelId>) -> Result<Vec<StageCount>> {
    let mut out: Vec<StageCount> = Vec::new();
    for stage in Stage::ALL {
        let p = match channel {
            Some(c) => prefix(&[STAGE, stage.as_str().as_bytes(), c.as_str().as_bytes()]),
            None => prefix(&[STAGE, stage.as_str().as_bytes()]),
        };
        let stage_prefix = prefix(&[STAGE, stage.as_str().as_bytes()]);
        for (k, _) in r.scan(&p)? {
            // `{channel}\0{since: 8 bytes}\0{order}`
            let rest = &k[stage_prefix.len()..];
            let Some(cut) = rest.iter().position(|b| *b == 0) else { continue };
            let ch = text(&rest[..cut]);
            let Some(since) = rest.get(cut + 1..cut + 9).and_then(time_from) else { continue };
            let ch = ChannelId::parse(ch)
                .map_err(|e| malformed("orders", format!("stage index channel: {e}")))?;
            match out.last_mut() {
                Some(last) if last.stage == stage && last.channel == ch => {
                    last.orders += 1;
                    last.oldest_since_ms = last.oldest_since_ms.min(since);
                }
                _ => out.push(StageCount { stage, channel: ch, orders: 1, oldest_since_ms: since }),
            }
        }
    }
    Ok(out)
}

/// Open orders in `stage` (optionally of one channel), longest in it first, at most `limit`.
pub fn orders_in_stage(
    r: &ViewReader,
    stage: Stage,
    channel: Option<&ChannelId>,
    limit: usize,
) -> Result<Vec<OrderView>> {
    let mut rows: Vec<OrderView> = Vec::new();
    let p = match channel {
        Some(c) => prefix(&[STAGE, stage.as_str().as_bytes(), c.as_str().as_bytes()]),
        None => prefix(&[STAGE, stage.as_str().as_bytes()]),
    };
    for (k, _) in r.scan(&p)? {
        let Some(cut) = k.iter().rposition(|b| *b == 0) else { continue };
        let id = text(&k[cut + 1..]);
        let view = order(r, &id)?.ok_or_else(|| {
            malformed("orders", format!("stage index names unknown order '{id}'"))
        })?;
        rows.push(view);
    }
    rows.sort_by_key(|v| (v.stage_since_ms, v.received_seq));
    rows.truncate(limit);
    Ok(rows)
}

/// Every raised exception, in log order; with `open_only`, those still in the queue.
pub fn raised_exceptions(r: &ViewReader, open_only: bool) -> Result<Vec<RaisedException>> {
    Ok(r.scan_typed::<RaisedException>(&prefix(&[RAISED]))?
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| !open_only || v.closed.is_none())
        .collect())
}

/// Exception `number` (its ordinal), if raised.
pub fn raised_exception(r: &ViewReader, number: u64) -> Result<Option<RaisedException>> {
    let Some(seq) = r.get::<u64>(&key(&[EXNO, &be64(number)]))? else { return Ok(None) };
    r.get(&key(&[RAISED, &be64(seq)]))
}

/// The row of exception `number` and its key; a number the view never saw is corrupt input.
fn raised_row(tx: &Tx<'_>, number: u64) -> Result<(Vec<u8>, RaisedException), ApplyError> {
    let seq: u64 = tx
        .get(&key(&[EXNO, &be64(number)]))?
        .ok_or_else(|| ApplyError::new(format!("unknown exception {number}")))?;
    let k = key(&[RAISED, &be64(seq)]);
    let row = tx
        .get(&k)?
        .ok_or_else(|| ApplyError::new(format!("exception {number} has no row at seq {seq}")))?;
    Ok((k, row))
}

/// An open hold past its SLA due time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct HoldException {
    /// The order.
    pub order: OrderId,
    /// The hold.
    pub hold: HoldView,
    /// `now − due`.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub overdue_ms: i64,
}

/// Open holds whose SLA due time is before `now_ms`, most overdue first.
pub fn exceptions(r: &ViewReader, now_ms: i64) -> Result<Vec<HoldException>> {
    let p = prefix(&[DUE]);
    let mut out = Vec::new();
    for (k, _) in r.scan(&p)? {
        // `{due_at: 8 bytes}\0{order}`: the time part is binary, so cut by width.
        let rest = &k[p.len()..];
        let (Some(due), Some(id)) = (rest.get(..8), rest.get(9..)) else { continue };
        if time_from(due).is_none_or(|due_ms| due_ms >= now_ms) {
            break;
        }
        let Some(view) = order(r, &text(id))? else { continue };
        if let Some(hold) = view.open_hold() {
            out.push(HoldException {
                order: view.id.clone(),
                hold: hold.clone(),
                overdue_ms: now_ms - hold.due_at_ms,
            });
        }
    }
    Ok(out)
}

/// A line waiting for stock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Backorder", complex)
)]
pub struct BackorderRow {
    /// The order.
    pub order: OrderId,
    /// The line's index in the order (from 0; an order has at most a few hundred lines).
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Units waiting (at most 10⁹, the quantity bound).
    pub qty: u64,
    /// The channel.
    pub channel: ChannelId,
    /// Its class.
    #[cfg_attr(feature = "graphql", graphql(name = "priorityClass"))]
    pub class: PriorityClass,
    /// When the order was placed.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub placed_at_ms: i64,
    /// Since when the line waits.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub since_ms: i64,
    /// `now − since`.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub age_ms: i64,
}

/// Lines waiting for stock, in the order stock will fill them: `contract` first, then oldest
/// placement, then arrival.
pub fn backorders(r: &ViewReader, now_ms: i64) -> Result<Vec<BackorderRow>> {
    let mut out = Vec::new();
    for (_, b) in r.scan_typed::<BackorderRef>(&prefix(&[BACKORDER]))? {
        let Some(view) = order(r, b.order.as_str())? else { continue };
        let Some(line) = usize::try_from(b.line).ok().and_then(|i| view.lines.get(i)) else {
            continue;
        };
        let since_ms = line.backordered_since_ms.unwrap_or(view.placed_at_ms);
        out.push(BackorderRow {
            order: view.id.clone(),
            line: b.line,
            sku: line.sku.clone(),
            qty: line.backordered,
            channel: view.channel.clone(),
            class: view.class,
            placed_at_ms: view.placed_at_ms,
            since_ms,
            age_ms: now_ms - since_ms,
        });
    }
    Ok(out)
}
