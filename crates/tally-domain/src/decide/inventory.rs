//! Decisions on stock: expected inbound, receipts, adjustments, cycle counts, transfers,
//! quarantine, scrap and lot recalls. Every decision that makes units available also fills
//! waiting backorders.

use std::collections::BTreeSet;

use super::claims;
use super::orders::fill;
use super::{Decision, Journal, ensure_room, ensure_stock, non_negative, positive, times};
use crate::allocation::Overlay;
use crate::command::{
    AdjustInventory, CycleCount, ExpectInbound, LotRef, QuarantineStock, RecallLot,
    ReceiveInventory, ReceiveTransfer, ReconcileStock, ReleaseQuarantine, ScrapStock, ShipTransfer,
};
use crate::event::{
    CycleCounted, Event, ExceptionKind, ExceptionRaised, InboundExpected, InventoryAdjusted,
    InventoryReceived, LotRecalled, QuarantineMove, StockScrapped, StockSnapshotReconciled,
    TransferReceived, TransferShipped,
};
use crate::inventory::{AdjustReason, Claim, Lot, QuarantineReason, StockKey};
use crate::journal::{Account, JournalRef, Posting};
use crate::limits::QTY_MAX;
use crate::master::SkuDef;
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::valuation::Scratch;

fn signed(qty: u64) -> i64 {
    i64::try_from(qty).unwrap_or(i64::MAX)
}

/// Events of an inbound decision followed by the backorder fills it allows.
fn with_fills(
    d: &Decision<'_>,
    mut events: Vec<Event>,
    key: &StockKey,
    qty: u64,
    lot: Option<Lot>,
) -> Vec<Event> {
    let mut overlay = Overlay::new();
    overlay.add(key, signed(qty));
    if let (Some(lot_id), Some(info)) = (&key.lot, lot) {
        overlay.add_lot(&key.sku, lot_id, info);
    }
    events.extend(fill(d, &mut overlay, &BTreeSet::from([key.sku.clone()])));
    events
}

/// Why units of `key` that are about to become available must go to quarantine instead: its
/// lot is recalled, or past its removal date (expiry − the SKU's shelf-life margin) today.
/// `lot` is the lot as this decision knows it (a first receipt brings it); otherwise the
/// state's. `None` when the units may be available.
pub(crate) fn held_back(
    d: &Decision<'_>,
    def: &SkuDef,
    key: &StockKey,
    lot: Option<&Lot>,
) -> Option<QuarantineReason> {
    let lot_id = key.lot.as_ref()?;
    let known = d.state.lots.get(&(key.sku.clone(), lot_id.clone()));
    let info = known.or(lot)?;
    if info.recalled {
        return Some(QuarantineReason::Recalled);
    }
    if !info.allocatable_on(d.today(), def.shelf_life_margin_days) {
        return Some(QuarantineReason::Expired);
    }
    None
}

/// `events`, which make `qty` units of `key` available, and what follows: backorder fills, or
/// for a recalled or expired lot the units' quarantine (a physical fact is recorded, never
/// refused, and such units never become available by any path).
fn landed(
    d: &Decision<'_>,
    mut events: Vec<Event>,
    def: &SkuDef,
    key: &StockKey,
    qty: Quantity,
    lot: Option<Lot>,
) -> Vec<Event> {
    match held_back(d, def, key, lot.as_ref()) {
        Some(reason) => {
            events.push(Event::StockQuarantined(QuarantineMove { key: key.clone(), qty, reason }));
            events
        }
        None => with_fills(d, events, key, qty.get(), lot),
    }
}

/// Journal entry for the value `event` (an adjustment or a scrap) moves between 1200 inventory
/// and `other`, at the SKU's moving average ([`crate::valuation`]).
fn valuation(
    journal: &mut Journal<'_>,
    key: &StockKey,
    event: &Event,
    other: Account,
    memo: &str,
) -> Result<Option<Event>, Rejection> {
    let mut postings = Vec::new();
    for value in Scratch::new(journal.state()).event(event) {
        let (debit, credit, value) = if value.minor() >= 0 {
            (Account::Inventory, other, value)
        } else {
            (other, Account::Inventory, value.negated())
        };
        postings.push(Posting::debit(debit, value));
        postings.push(Posting::credit(credit, value));
    }
    journal.post(JournalRef::Stock(key.clone()), memo, postings)
}

fn check_allocatable_lot(d: &Decision<'_>, def: &SkuDef, key: &StockKey) -> Result<(), Rejection> {
    if let Some(lot) = &key.lot {
        let info = d.known_lot(&key.sku, lot)?;
        if info.recalled {
            return Err(Rejection::LotRecalled { sku: key.sku.clone(), lot: lot.clone() });
        }
        if !info.allocatable_on(d.today(), def.shelf_life_margin_days) {
            return Err(Rejection::LotExpired { sku: key.sku.clone(), lot: lot.clone() });
        }
    }
    Ok(())
}

pub(super) fn expect_inbound(d: &Decision<'_>, c: &ExpectInbound) -> Result<Vec<Event>, Rejection> {
    d.location(&c.location)?;
    d.sku(&c.sku)?;
    let qty = positive(c.qty)?;
    ensure_room(d.state, &StockKey::new(c.location.clone(), c.sku.clone(), None), qty.get())?;
    Ok(vec![Event::InboundExpected(InboundExpected {
        location: c.location.clone(),
        sku: c.sku.clone(),
        qty,
        eta: c.eta,
    })])
}

pub(super) fn receive(d: &Decision<'_>, c: &ReceiveInventory) -> Result<Vec<Event>, Rejection> {
    d.location(&c.location)?;
    let def = d.sku(&c.sku)?;
    d.check_lot_shape(def, c.lot.as_ref())?;
    let qty = positive(c.qty)?;
    if c.lot.is_none() && c.expiry.is_some() {
        return Err(Rejection::InvalidInput(format!(
            "sku '{}' has no lots: no expiry may be given",
            c.sku
        )));
    }
    let (unit_cost, po_line) = super::purchasing::receipt_cost(d, c, def)?;
    non_negative("unit cost", unit_cost, true)?;
    // The SKU's pool is kept in one currency: its own while it holds units, else the SKU's.
    let pool_currency =
        d.state.pools.get(&c.sku).map_or(def.unit_cost.currency(), |p| p.value.currency());
    super::same_currency(pool_currency, unit_cost.currency())?;
    let key = StockKey::new(c.location.clone(), c.sku.clone(), c.lot.clone());
    ensure_room(d.state, &key, qty.get())?;
    let mut lot_info = None;
    if let Some(lot) = &c.lot {
        if let Some(existing) = d.state.lots.get(&(c.sku.clone(), lot.clone()))
            && c.expiry.is_some()
            && existing.expiry != c.expiry
        {
            return Err(Rejection::LotExpiryConflict { sku: c.sku.clone(), lot: lot.clone() });
        }
        // A recalled lot or one past its removal date is received all the same (the units are
        // there) and goes straight to quarantine (`landed`).
        let info = Lot { expiry: c.expiry, recalled: false };
        lot_info = Some(d.state.lots.get(&(c.sku.clone(), lot.clone())).cloned().unwrap_or(info));
    }
    let incoming = d.state.stock(&StockKey::new(c.location.clone(), c.sku.clone(), None)).incoming;
    let expiry = lot_info.as_ref().and_then(|l| l.expiry);
    let mut events = vec![Event::InventoryReceived(InventoryReceived {
        key: key.clone(),
        expiry,
        qty,
        unit_cost,
        from_incoming: incoming.min(qty.get()),
    })];
    let value = times(unit_cost, qty.get())?;
    events.extend(super::purchasing::po_received(po_line, &key, qty, value));
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Stock(key.clone()),
        "receipt",
        vec![
            Posting::debit(Account::Inventory, value),
            Posting::credit(Account::GoodsReceivedNotInvoiced, value),
        ],
    )?);
    Ok(landed(d, events, def, &key, qty, lot_info))
}

pub(super) fn adjust(d: &Decision<'_>, c: &AdjustInventory) -> Result<Vec<Event>, Rejection> {
    let (key, def) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    if c.delta == 0 || c.delta.unsigned_abs() > QTY_MAX {
        return Err(Rejection::InvalidQuantity(c.delta));
    }
    adjustment(d, &key, def, c.delta, c.reason, Vec::new())
}

fn adjustment(
    d: &Decision<'_>,
    key: &StockKey,
    def: &SkuDef,
    delta: i64,
    reason: AdjustReason,
    mut events: Vec<Event>,
) -> Result<Vec<Event>, Rejection> {
    let stock = d.state.stock(key);
    let units = delta.unsigned_abs();
    if delta < 0 {
        ensure_stock(key, "available", stock.available, units)?;
    } else {
        ensure_room(d.state, key, units)?;
    }
    let adjusted = Event::InventoryAdjusted(InventoryAdjusted { key: key.clone(), delta, reason });
    let mut journal = Journal::new(d);
    let entry = valuation(&mut journal, key, &adjusted, Account::InventoryWriteOff, "adjustment")?;
    events.push(adjusted);
    events.extend(entry);
    if delta > 0 {
        let qty = Quantity::from_u64(units).map_err(|_| Rejection::InvalidQuantity(delta))?;
        return Ok(landed(d, events, def, key, qty, None));
    }
    Ok(events)
}

/// A count is a physical fact and is never refused for disagreeing with the record (DOMAIN
/// §1). A gain lands like a found adjustment. A shortfall comes out of `available` first;
/// when the count is below what orders claim, claims are given back (reserved before picked
/// before packed; standard channels before contract, newest order first) and their lines
/// allocated again; a shortfall beyond available and claims (units recorded in quarantine or
/// awaiting return inspection) is not guessed at: it raises a cycle-count task.
pub(super) fn cycle_count(d: &Decision<'_>, c: &CycleCount) -> Result<Vec<Event>, Rejection> {
    let (key, def) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    let counted = super::units(c.counted)?;
    let stock = d.state.stock(&key);
    let expected = stock.on_hand();
    let mut events =
        vec![Event::CycleCounted(CycleCounted { key: key.clone(), expected, counted })];
    if counted >= expected {
        if counted == expected {
            return Ok(events);
        }
        let delta = signed(counted - expected);
        return adjustment(d, &key, def, delta, AdjustReason::CycleCount, events);
    }
    let short = expected - counted;
    let from_available = short.min(stock.available);
    let claimed = stock.reserved + stock.picked + stock.packed;
    let from_claims = (short - from_available).min(claimed);
    let unexplained = short - from_available - from_claims;
    let pullbacks = claims::take_claims(claims::claims_on(d, &key), from_claims);
    let mut overlay = Overlay::new();
    // Claims given back land in available and leave with the adjustment below.
    let (released, lines) = claims::release(d, &mut overlay, &pullbacks, true);
    events.extend(released);
    let removed = from_available + from_claims;
    if removed > 0 {
        overlay.add(&key, -signed(from_available));
        let adjusted = Event::InventoryAdjusted(InventoryAdjusted {
            key: key.clone(),
            delta: -signed(removed),
            reason: AdjustReason::CycleCount,
        });
        let mut journal = Journal::new(d);
        let posted =
            valuation(&mut journal, &key, &adjusted, Account::InventoryWriteOff, "adjustment")?;
        events.push(adjusted);
        events.extend(posted);
    }
    if unexplained > 0 {
        events.push(Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::CycleCountTask,
            subject: JournalRef::Stock(key.clone()),
            message: format!(
                "count {} at {}: {counted} counted, {expected} recorded; {unexplained} unit(s) \
                 short beyond available and order claims (check quarantine and returns)",
                key.sku, key.location
            ),
        }));
    }
    events.extend(claims::reallocate(d, &mut overlay, &lines));
    Ok(events)
}

/// How old a partner's snapshot may be when it is reconciled: the window of on-hand history
/// the state keeps per bucket ([`crate::movements::HISTORY_WINDOW_MS`], 30 days) before the
/// command's business time. The variance is taken against on-hand *at `as_of`* (on-hand now
/// minus the changes dated after it), so a file that arrives a week late is compared with the
/// week it describes, not with today.
pub const SNAPSHOT_AGE_MAX_MS: i64 = crate::movements::HISTORY_WINDOW_MS;

/// A partner's count of a bucket is compared, never written over on-hand (DOMAIN §1: counts
/// are facts, but the partner's count is *their* record): the variance is recorded; within
/// the SKU class's count tolerance it is adjusted (reason `snapshot`, valued at the moving
/// average: 5500 write-off for a loss, a gain credited there); beyond it, or a loss larger
/// than what is available (claimed units are not pulled back on a partner's word), it raises
/// a `snapshot_variance` exception and nothing moves until a person counts.
pub(super) fn reconcile_stock(
    d: &Decision<'_>,
    c: &ReconcileStock,
) -> Result<Vec<Event>, Rejection> {
    let (key, def) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    let counted = super::units(c.counted)?;
    let now = d.ctx.now;
    let stale = |why| Rejection::StaleSnapshot {
        location: c.location.clone(),
        sku: c.sku.clone(),
        as_of: c.as_of.to_rfc3339(),
        now: now.to_rfc3339(),
        why,
    };
    if c.as_of > now {
        return Err(stale("after the time it is decided"));
    }
    if now.millis().saturating_sub(c.as_of.millis()) > SNAPSHOT_AGE_MAX_MS {
        return Err(stale("more than 30 days old"));
    }
    let stock = d.state.stock(&key);
    // Tally's on-hand when the partner counted; the partner cannot have counted the units
    // that moved since, nor missed the ones that moved before.
    let expected = d
        .state
        .on_hand_at(&key, c.as_of)
        .ok_or_else(|| stale("older than the 30 days of movements kept for this bucket"))?;
    let variance = signed(counted) - signed(expected);
    let tolerance = d.state.count_tolerance(def.abc);
    let within = tolerance.allows(expected, counted);
    let adjustable = variance >= 0 || variance.unsigned_abs() <= stock.available;
    let mut events = vec![Event::StockSnapshotReconciled(StockSnapshotReconciled {
        key: key.clone(),
        expiry: c.expiry,
        as_of: c.as_of,
        expected,
        counted,
        variance,
        within_tolerance: within,
    })];
    let recorded_expiry =
        c.lot.as_ref().and_then(|lot| d.state.lot(&c.sku, lot)).and_then(|l| l.expiry);
    let expiry_note = match (c.expiry, recorded_expiry) {
        (Some(theirs), Some(ours)) if theirs != ours => {
            format!("; partner reports expiry {theirs}, the lot's recorded expiry is {ours}")
        }
        _ => String::new(),
    };
    if variance == 0 && expiry_note.is_empty() {
        return Ok(events);
    }
    if variance != 0 && within && adjustable {
        if !expiry_note.is_empty() {
            events.push(snapshot_exception(&key, &format!("expiry disagrees{expiry_note}")));
        }
        return adjustment(d, &key, def, variance, AdjustReason::Snapshot, events);
    }
    let why = if variance == 0 {
        format!("on-hand agrees{expiry_note}")
    } else if within {
        format!(
            "partner counted {counted}, on-hand {expected}: {} unit(s) short but only {} \
             available (the rest is claimed by orders){expiry_note}",
            variance.unsigned_abs(),
            stock.available
        )
    } else {
        format!(
            "partner counted {counted} as of {}, on-hand {expected}: variance {variance:+} is \
             beyond the class {:?} count tolerance{expiry_note}",
            c.as_of.to_rfc3339(),
            def.abc
        )
    };
    events.push(snapshot_exception(&key, &why));
    Ok(events)
}

fn snapshot_exception(key: &StockKey, why: &str) -> Event {
    Event::ExceptionRaised(ExceptionRaised {
        kind: ExceptionKind::SnapshotVariance,
        subject: JournalRef::Stock(key.clone()),
        message: format!("snapshot of {} at {}: {why}", key.sku, key.location),
    })
}

pub(super) fn ship_transfer(d: &Decision<'_>, c: &ShipTransfer) -> Result<Vec<Event>, Rejection> {
    if d.state.transfers.contains_key(&c.transfer) {
        return Err(Rejection::DuplicateId { kind: "transfer", id: c.transfer.to_string() });
    }
    let (from, _) = d.stock_key(&c.from, &c.sku, c.lot.as_ref())?;
    d.location(&c.to)?;
    if c.from == c.to {
        return Err(Rejection::InvalidInput(format!(
            "transfer '{}' from '{}' to itself",
            c.transfer, c.to
        )));
    }
    let qty = positive(c.qty)?;
    ensure_stock(&from, "available", d.state.stock(&from).available, qty.get())?;
    ensure_room(d.state, &StockKey::new(c.to.clone(), c.sku.clone(), c.lot.clone()), qty.get())?;
    Ok(vec![Event::TransferShipped(TransferShipped {
        transfer: c.transfer.clone(),
        from,
        to: c.to.clone(),
        qty,
    })])
}

pub(super) fn receive_transfer(
    d: &Decision<'_>,
    c: &ReceiveTransfer,
) -> Result<Vec<Event>, Rejection> {
    let transfer = d
        .state
        .transfers
        .get(&c.transfer)
        .ok_or_else(|| Rejection::UnknownTransfer(c.transfer.clone()))?;
    let qty = positive(c.qty)?;
    if qty.get() > transfer.outstanding {
        return Err(Rejection::ExceedsOutstanding {
            what: "transfer receipt",
            requested: qty.get(),
            allowed: transfer.outstanding,
        });
    }
    let key =
        StockKey::new(transfer.to.clone(), transfer.from.sku.clone(), transfer.from.lot.clone());
    let def = d.sku(&key.sku)?;
    let events = vec![Event::TransferReceived(TransferReceived {
        transfer: c.transfer.clone(),
        key: key.clone(),
        qty,
    })];
    Ok(landed(d, events, def, &key, qty, None))
}

pub(super) fn quarantine(d: &Decision<'_>, c: &QuarantineStock) -> Result<Vec<Event>, Rejection> {
    let (key, _) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    let qty = positive(c.qty)?;
    ensure_stock(&key, "available", d.state.stock(&key).available, qty.get())?;
    Ok(vec![Event::StockQuarantined(QuarantineMove { key, qty, reason: c.reason })])
}

pub(super) fn release_quarantine(
    d: &Decision<'_>,
    c: &ReleaseQuarantine,
) -> Result<Vec<Event>, Rejection> {
    let (key, def) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    let qty = positive(c.qty)?;
    let present = d.state.stock(&key).quarantined.get(&c.reason).copied().unwrap_or(0);
    ensure_stock(&key, "quarantined", present, qty.get())?;
    check_allocatable_lot(d, def, &key)?;
    let events =
        vec![Event::QuarantineReleased(QuarantineMove { key: key.clone(), qty, reason: c.reason })];
    Ok(with_fills(d, events, &key, qty.get(), None))
}

pub(super) fn scrap(d: &Decision<'_>, c: &ScrapStock) -> Result<Vec<Event>, Rejection> {
    let (key, _) = d.stock_key(&c.location, &c.sku, c.lot.as_ref())?;
    let qty = positive(c.qty)?;
    let stock = d.state.stock(&key);
    match c.from {
        None => ensure_stock(&key, "available", stock.available, qty.get())?,
        Some(reason) => {
            ensure_stock(
                &key,
                "quarantined",
                stock.quarantined.get(&reason).copied().unwrap_or(0),
                qty.get(),
            )?;
        }
    }
    let scrapped = Event::StockScrapped(StockScrapped { key: key.clone(), qty, from: c.from });
    let mut journal = Journal::new(d);
    let entry = valuation(&mut journal, &key, &scrapped, Account::InventoryWriteOff, "scrap")?;
    let mut events = vec![scrapped];
    events.extend(entry);
    Ok(events)
}

/// Moves a lot's available units, and the units orders claim on it in the claims `pull`,
/// to quarantine with `reason` at every location; returns the events and the order lines
/// that gave units back (to be allocated again).
pub(super) fn pull_back_lot(
    d: &Decision<'_>,
    overlay: &mut Overlay,
    sku: &crate::ids::Sku,
    lot: &crate::ids::LotId,
    reason: QuarantineReason,
    pull: &[Claim],
) -> (Vec<Event>, claims::Released) {
    let mut events = Vec::new();
    let mut lines = claims::Released::new();
    for location in d.state.locations.keys() {
        let key = StockKey::new(location.clone(), sku.clone(), Some(lot.clone()));
        let available = d.state.stock(&key).available;
        let pullbacks: Vec<_> =
            claims::claims_on(d, &key).into_iter().filter(|p| pull.contains(&p.from)).collect();
        let (released, gave) = claims::release(d, overlay, &pullbacks, true);
        events.extend(released);
        for (line, qty) in gave {
            *lines.entry(line).or_insert(0) += qty;
        }
        let total = available + pullbacks.iter().map(|p| p.qty).sum::<u64>();
        if let Ok(qty) = Quantity::from_u64(total) {
            overlay.add(&key, -signed(available));
            events.push(Event::StockQuarantined(QuarantineMove { key, qty, reason }));
        }
    }
    (events, lines)
}

/// A lot past its removal date (expiry − the SKU's shelf-life margin) leaves `available`: its
/// available and reserved units go to quarantine (`expired`) at every location, and reserved
/// lines are allocated again from fresher lots (DOMAIN §1 expiry). Units already picked or
/// packed stay with their orders: they ship until the expiry itself (`ship_order` refuses a
/// lot past expiry). Refused before the removal date; nothing to move is a no-op.
pub(super) fn expire(d: &Decision<'_>, c: &LotRef) -> Result<Vec<Event>, Rejection> {
    let def = d.sku(&c.sku)?;
    if !def.lot_tracked {
        return Err(Rejection::LotNotTracked(c.sku.clone()));
    }
    let lot = d.known_lot(&c.sku, &c.lot)?;
    if lot.recalled {
        // Recalled lots are already quarantined in every state.
        return Ok(Vec::new());
    }
    let removal = lot.removal_date(def.shelf_life_margin_days);
    if removal.is_none_or(|r| d.today() <= r) {
        return Err(Rejection::InvalidState {
            entity: "lot",
            id: format!("{}/{}", c.sku, c.lot),
            state: removal
                .map_or_else(|| "without expiry".to_owned(), |r| format!("allocatable until {r}")),
            action: "expire",
        });
    }
    let mut overlay = Overlay::new();
    let (mut events, lines) = pull_back_lot(
        d,
        &mut overlay,
        &c.sku,
        &c.lot,
        QuarantineReason::Expired,
        &[Claim::Reserved],
    );
    events.extend(claims::reallocate(d, &mut overlay, &lines));
    Ok(events)
}

pub(super) fn recall(d: &Decision<'_>, c: &RecallLot) -> Result<Vec<Event>, Rejection> {
    let def = d.sku(&c.sku)?;
    if !def.lot_tracked {
        return Err(Rejection::LotNotTracked(c.sku.clone()));
    }
    let lot = d.known_lot(&c.sku, &c.lot)?;
    if lot.recalled {
        return Err(Rejection::LotRecalled { sku: c.sku.clone(), lot: c.lot.clone() });
    }
    let mut events =
        vec![Event::LotRecalled(LotRecalled { sku: c.sku.clone(), lot: c.lot.clone() })];
    // DOMAIN §7: the lot is quarantined wherever it is on hand and in every state. Units
    // claimed by orders (reserved, picked or packed, held orders included) are pulled back
    // and quarantined with the available ones; the lines are then allocated again from other
    // lots by the normal policy (held orders wait for their release).
    let mut overlay = Overlay::new();
    overlay.add_lot(&c.sku, &c.lot, Lot { expiry: lot.expiry, recalled: true });
    let every = [Claim::Reserved, Claim::Picked, Claim::Packed];
    let (pulled, lines) =
        pull_back_lot(d, &mut overlay, &c.sku, &c.lot, QuarantineReason::Recalled, &every);
    events.extend(pulled);
    events.extend(claims::reallocate(d, &mut overlay, &lines));
    Ok(events)
}
