//! Stock movements: what an event does to the states of each location × SKU × lot bucket
//! (DOMAIN.md §1), shared by the inventory and lot views so both move units the same way.
//!
//! Cancelling an order returns its reserved, picked and packed units to available; the event
//! carries only the sum per bucket, so the stage split is kept per order line and bucket in an
//! allocation table owned by the caller's keyspace.

use crate::keys::{be32, lot_part};
use crate::projection::ApplyError;
use crate::tx::{Tx, key};
use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{LocationId, LotId, OrderId, Sku};
use tally_domain::inventory::{Claim, QuarantineReason, Stock, StockKey};
use tally_domain::returns::Disposition;

/// One state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Sellable, unclaimed.
    Available,
    /// Claimed by an order line.
    Reserved,
    /// Picked for an order.
    Picked,
    /// Packed for an order.
    Packed,
    /// Not sellable, for this reason.
    Quarantined(QuarantineReason),
    /// Returned, awaiting inspection.
    Returned,
    /// On its way here from another location.
    InTransit,
    /// Expected inbound.
    Incoming,
    /// Cumulative units shipped to customers (a counter).
    Shipped,
}

/// A signed change of one state of one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The bucket.
    pub key: StockKey,
    /// The state.
    pub state: State,
    /// Units, signed.
    pub units: i64,
}

/// Units of an order line at one bucket, by fulfilment stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stages {
    /// Reserved, not picked.
    pub reserved: u64,
    /// Picked, not packed.
    pub picked: u64,
    /// Packed, not shipped.
    pub packed: u64,
}

impl Stages {
    fn of_mut(&mut self, claim: Claim) -> &mut u64 {
        match claim {
            Claim::Reserved => &mut self.reserved,
            Claim::Picked => &mut self.picked,
            Claim::Packed => &mut self.packed,
        }
    }
}

fn units(qty: u64) -> Result<i64, ApplyError> {
    i64::try_from(qty).map_err(|_| ApplyError::new(format!("quantity {qty} out of range")))
}

fn sub(value: &mut u64, qty: u64, what: &str) -> Result<(), ApplyError> {
    *value = value
        .checked_sub(qty)
        .ok_or_else(|| ApplyError::new(format!("{what} would go negative: {value} - {qty}")))?;
    Ok(())
}

/// Applies a delta to a bucket's states; refuses to make one negative.
pub fn apply_delta(stock: &mut Stock, state: State, delta: i64) -> Result<(), ApplyError> {
    let add = |value: &mut u64| -> Result<(), ApplyError> {
        let next = if delta >= 0 {
            value.checked_add(delta.unsigned_abs())
        } else {
            value.checked_sub(delta.unsigned_abs())
        };
        *value = next.ok_or_else(|| {
            ApplyError::new(format!("state {state:?} would go out of range: {value} + {delta}"))
        })?;
        Ok(())
    };
    match state {
        State::Available => add(&mut stock.available),
        State::Reserved => add(&mut stock.reserved),
        State::Picked => add(&mut stock.picked),
        State::Packed => add(&mut stock.packed),
        State::Returned => add(&mut stock.returned),
        State::InTransit => add(&mut stock.in_transit),
        State::Incoming => add(&mut stock.incoming),
        State::Shipped => add(&mut stock.shipped),
        State::Quarantined(reason) => {
            let value = stock.quarantined.entry(reason).or_insert(0);
            add(value)?;
            if *value == 0 {
                stock.quarantined.remove(&reason);
            }
            Ok(())
        }
    }
}

/// The allocation-table key of an order line at a bucket, under `table`.
fn alloc_key(
    table: &[u8],
    order: &OrderId,
    line: u32,
    location: &LocationId,
    lot: Option<&LotId>,
) -> Vec<u8> {
    key(&[
        table,
        order.as_str().as_bytes(),
        &be32(line),
        location.as_str().as_bytes(),
        lot_part(lot),
    ])
}

struct Movements<'t, 'a> {
    tx: &'t mut Tx<'a>,
    table: &'t [u8],
    keep: &'t dyn Fn(&StockKey) -> bool,
    out: Vec<Delta>,
}

impl Movements<'_, '_> {
    fn push(&mut self, key: StockKey, state: State, qty: u64) -> Result<(), ApplyError> {
        if qty > 0 && (self.keep)(&key) {
            self.out.push(Delta { key, state, units: units(qty)? });
        }
        Ok(())
    }

    fn take(&mut self, key: StockKey, state: State, qty: u64) -> Result<(), ApplyError> {
        if qty > 0 && (self.keep)(&key) {
            self.out.push(Delta { key, state, units: -units(qty)? });
        }
        Ok(())
    }

    fn transfer(
        &mut self,
        key: &StockKey,
        from: State,
        to: State,
        qty: u64,
    ) -> Result<(), ApplyError> {
        self.take(key.clone(), from, qty)?;
        self.push(key.clone(), to, qty)
    }

    /// Changes the stages of an order line at a bucket.
    fn stages(
        &mut self,
        order: &OrderId,
        line: u32,
        key: &StockKey,
        change: impl FnOnce(&mut Stages) -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        if !(self.keep)(key) {
            return Ok(());
        }
        let k = alloc_key(self.table, order, line, &key.location, key.lot.as_ref());
        let mut stages: Stages = self.tx.get(&k)?.unwrap_or_default();
        change(&mut stages)?;
        if stages == Stages::default() {
            self.tx.delete(k);
        } else {
            self.tx.put(k, &stages)?;
        }
        Ok(())
    }
}

/// The stock deltas `event` causes on buckets `keep` accepts, in event order. Maintains the
/// order-line stages under `table` (for accepted buckets only).
#[expect(clippy::too_many_lines, reason = "one arm per event reads best as one match")]
pub fn deltas(
    tx: &mut Tx<'_>,
    table: &[u8],
    keep: &dyn Fn(&StockKey) -> bool,
    event: &Event,
) -> Result<Vec<Delta>, ApplyError> {
    let mut m = Movements { tx, table, keep, out: Vec::new() };
    let bucket = |l: &LocationId, s: &Sku, lot: &Option<LotId>| {
        StockKey::new(l.clone(), s.clone(), lot.clone())
    };
    match event {
        Event::LineAllocated(e) => {
            let k = bucket(&e.location, &e.sku, &e.lot);
            let qty = e.qty.get();
            m.transfer(&k, State::Available, State::Reserved, qty)?;
            m.stages(&e.order, e.line, &k, |s| {
                s.reserved += qty;
                Ok(())
            })?;
        }
        Event::ReservationReleased(e) => {
            let k = bucket(&e.location, &e.sku, &e.lot);
            let qty = e.qty.get();
            let (state, what) = match e.from {
                Claim::Reserved => (State::Reserved, "reserved stage"),
                Claim::Picked => (State::Picked, "picked stage"),
                Claim::Packed => (State::Packed, "packed stage"),
            };
            m.transfer(&k, state, State::Available, qty)?;
            m.stages(&e.order, e.line, &k, |s| sub(s.of_mut(e.from), qty, what))?;
        }
        Event::OrderPicked(e) => {
            for item in &e.items {
                let k = bucket(&item.location, &item.sku, &item.lot);
                let qty = item.qty.get();
                m.transfer(&k, State::Reserved, State::Picked, qty)?;
                m.stages(&e.order, item.line, &k, |s| {
                    sub(&mut s.reserved, qty, "reserved stage")?;
                    s.picked += qty;
                    Ok(())
                })?;
            }
        }
        Event::OrderPacked(e) => {
            for item in &e.items {
                let k = bucket(&item.location, &item.sku, &item.lot);
                let qty = item.qty.get();
                m.transfer(&k, State::Picked, State::Packed, qty)?;
                m.stages(&e.order, item.line, &k, |s| {
                    sub(&mut s.picked, qty, "picked stage")?;
                    s.packed += qty;
                    Ok(())
                })?;
            }
        }
        Event::OrderShipped(e) => {
            for item in &e.items {
                let k = bucket(&item.location, &item.sku, &item.lot);
                let qty = item.qty.get();
                m.take(k.clone(), State::Packed, qty)?;
                m.push(k.clone(), State::Shipped, qty)?;
                m.stages(&e.order, item.line, &k, |s| sub(&mut s.packed, qty, "packed stage"))?;
            }
        }
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => {
            for item in &e.released {
                let k = bucket(&item.location, &item.sku, &item.lot);
                if !(m.keep)(&k) {
                    continue;
                }
                let ak = alloc_key(m.table, &e.order, item.line, &item.location, item.lot.as_ref());
                let stages: Stages = m.tx.get(&ak)?.unwrap_or_default();
                if stages.reserved + stages.picked + stages.packed != item.qty.get() {
                    return Err(ApplyError::new(format!(
                        "order '{}' line {} releases {} units but holds {stages:?}",
                        e.order, item.line, item.qty
                    )));
                }
                m.tx.delete(ak);
                m.transfer(&k, State::Reserved, State::Available, stages.reserved)?;
                m.transfer(&k, State::Picked, State::Available, stages.picked)?;
                m.transfer(&k, State::Packed, State::Available, stages.packed)?;
            }
        }
        Event::InboundExpected(e) => {
            m.push(
                StockKey::new(e.location.clone(), e.sku.clone(), None),
                State::Incoming,
                e.qty.get(),
            )?;
        }
        Event::InventoryReceived(e) => {
            m.push(e.key.clone(), State::Available, e.qty.get())?;
            if e.from_incoming > 0 {
                let k = StockKey::new(e.key.location.clone(), e.key.sku.clone(), None);
                m.take(k, State::Incoming, e.from_incoming)?;
            }
        }
        Event::InventoryAdjusted(e) => {
            if e.delta >= 0 {
                m.push(e.key.clone(), State::Available, e.delta.unsigned_abs())?;
            } else {
                m.take(e.key.clone(), State::Available, e.delta.unsigned_abs())?;
            }
        }
        Event::TransferShipped(e) => {
            let qty = e.qty.get();
            m.take(e.from.clone(), State::Available, qty)?;
            let to = StockKey::new(e.to.clone(), e.from.sku.clone(), e.from.lot.clone());
            m.push(to, State::InTransit, qty)?;
        }
        Event::TransferReceived(e) => {
            m.transfer(&e.key, State::InTransit, State::Available, e.qty.get())?;
        }
        Event::StockQuarantined(e) => {
            m.transfer(&e.key, State::Available, State::Quarantined(e.reason), e.qty.get())?;
        }
        Event::QuarantineReleased(e) => {
            m.transfer(&e.key, State::Quarantined(e.reason), State::Available, e.qty.get())?;
        }
        Event::StockScrapped(e) => {
            let from = e.from.map_or(State::Available, State::Quarantined);
            m.take(e.key.clone(), from, e.qty.get())?;
        }
        Event::ReturnReceived(e) => {
            for item in &e.items {
                m.push(bucket(&e.location, &item.sku, &item.lot), State::Returned, item.qty.get())?;
            }
        }
        Event::ReturnInspected(e) => {
            for item in &e.items {
                let k = bucket(&e.location, &item.sku, &item.lot);
                let qty = item.qty.get();
                m.take(k.clone(), State::Returned, qty)?;
                match item.disposition {
                    Disposition::Restock => m.push(k, State::Available, qty)?,
                    Disposition::Quarantine => {
                        m.push(k, State::Quarantined(QuarantineReason::ReturnInspection), qty)?;
                    }
                    Disposition::Scrap => {}
                }
            }
        }
        _ => {}
    }
    Ok(m.out)
}
