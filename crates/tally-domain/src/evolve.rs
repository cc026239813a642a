//! `evolve`: applies one event to the decision state. Total and panic-free: an event that
//! refers to something unknown changes nothing it cannot find.

use std::collections::BTreeMap;

use crate::customer::{CustomerAccount, InvoiceApplication, OpenInvoice};
use crate::event::{Event, InvoiceIssued};
use crate::ids::{ChannelId, OrderId};
use crate::inventory::{Claim, Lot, QuarantineReason, Stock, StockKey};
use crate::journal::Account;
use crate::master::{Channel, PriorityClass};
use crate::order::{
    AfterSale, AllocKey, Billing, ClosedOrder, HoldReason, Line, Order, OrderStatus, Returnable,
    Stages,
};
use crate::returns::{Disposition, Return, ReturnLine};
use crate::settlement::{Settlement, SettlementLineKind};
use crate::state::{BackorderKey, State, Transfer};
use crate::time::Timestamp;

/// Applies `event` to `state`. `at` is the business time of the decision that made it (the
/// envelope's `occurred_at`): the state's on-hand history is kept by it
/// ([`crate::movements`]), so the writer and every replay must pass the same time.
pub fn evolve(state: &mut State, event: &Event, at: Timestamp) {
    let indexed_order = order_of(event);
    if let Some(id) = &indexed_order {
        unindex(state, id);
    }
    crate::valuation::evolve(state, event);
    debug_assert!(state.touched.is_empty());
    apply(state, event);
    record_on_hand_changes(state, event, at);
    if let Some(id) = &indexed_order {
        index(state, id);
    }
}

/// Records the on-hand change of every bucket the event touched, at `at`. The adjustment a
/// partner's snapshot makes corrects on-hand *as of the snapshot*, so it is dated `as_of`:
/// another snapshot of the same moment then agrees instead of adjusting twice.
fn record_on_hand_changes(state: &mut State, event: &Event, at: Timestamp) {
    if let Event::StockSnapshotReconciled(e) = event {
        state.on_hand_history.entry(e.key.clone()).or_default().snapshot_as_of(e.as_of.millis());
    }
    let at = match event {
        Event::InventoryAdjusted(e) if e.reason == crate::inventory::AdjustReason::Snapshot => {
            state
                .on_hand_history
                .get(&e.key)
                .and_then(crate::movements::OnHandHistory::last_snapshot_ms)
                .map_or(at, Timestamp::from_millis)
        }
        _ => at,
    };
    // The scratch list keeps its allocation from event to event.
    let mut touched = std::mem::take(&mut state.touched);
    for (key, before) in touched.drain(..) {
        let after = state.stock.get(&key).map_or(0, Stock::on_hand);
        if after == before {
            continue;
        }
        // Buckets stay within limits::BUCKET_UNITS_MAX (10¹⁸ < 2⁶³), so both fit in i64.
        let change = i64::try_from(after).expect("bucket within limits")
            - i64::try_from(before).expect("bucket within limits");
        state.on_hand_history.entry(key).or_default().record(at.millis(), change);
    }
    state.touched = touched;
}

fn order_of(event: &Event) -> Option<OrderId> {
    match event {
        Event::OrderReceived(e) => Some(e.order.clone()),
        Event::OrderAmended(e) => Some(e.order.clone()),
        Event::OrderValidated(e) | Event::OrderHoldReleased(e) | Event::OrderDelivered(e) => {
            Some(e.order.clone())
        }
        Event::OrderHeld(e) => Some(e.order.clone()),
        Event::LineAllocated(e) => Some(e.order.clone()),
        Event::LineBackordered(e) => Some(e.order.clone()),
        Event::LineSubstituted(e) => Some(e.order.clone()),
        Event::ReservationReleased(e) => Some(e.order.clone()),
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => Some(e.order.clone()),
        Event::BackordersCancelled(e) => Some(e.order.clone()),
        _ => None,
    }
}

fn backorder_keys(channels: &BTreeMap<ChannelId, Channel>, order: &Order) -> Vec<BackorderKey> {
    // A held order waits for its release, not for stock: it is not filed.
    if order.status != OrderStatus::Fulfilling || order.hold.is_some() {
        return Vec::new();
    }
    let class = channels.get(&order.channel).map_or(PriorityClass::Standard, |c| c.priority);
    order
        .lines
        .iter()
        .zip(0_u32..)
        .filter(|(l, _)| l.unallocated() > 0)
        .map(|(l, n)| BackorderKey {
            sku: l.sku.clone(),
            class,
            placed_at: order.placed_at,
            seq: order.seq,
            order: order.id.clone(),
            line: n,
        })
        .collect()
}

/// Removes the backorder keys `id` filed (exactly those, whatever master data says now).
fn unindex(state: &mut State, id: &OrderId) {
    for key in state.filed.remove(id).unwrap_or_default() {
        state.backorders.remove(&key);
    }
}

/// Files `id`'s waiting lines under the current master data, and remembers the keys.
fn index(state: &mut State, id: &OrderId) {
    let Some(order) = state.orders.get(id) else { return };
    let keys = backorder_keys(&state.channels, order);
    if keys.is_empty() {
        return;
    }
    state.backorders.extend(keys.iter().cloned());
    state.filed.insert(id.clone(), keys);
}

/// Files again every waiting order of `channel` (its class may have changed: its lines move
/// to their new place in the fill order, each line still filed once).
fn refile_channel(state: &mut State, channel: &ChannelId) {
    let waiting: Vec<OrderId> = state
        .filed
        .keys()
        .filter(|id| state.orders.get(*id).is_some_and(|o| &o.channel == channel))
        .cloned()
        .collect();
    for id in waiting {
        unindex(state, &id);
        index(state, &id);
    }
}

/// The one way `evolve` changes a bucket: it notes the bucket's on-hand before the event's
/// first change, for [`record_on_hand_changes`].
fn stock_mut<'a>(state: &'a mut State, key: &StockKey) -> &'a mut Stock {
    if !state.touched.iter().any(|(k, _)| k == key) {
        let before = state.stock.get(key).map_or(0, Stock::on_hand);
        state.touched.push((key.clone(), before));
    }
    state.stock.entry(key.clone()).or_default()
}

fn sub(value: &mut u64, qty: u64) {
    debug_assert!(*value >= qty, "state would go negative: {value} - {qty}");
    *value = value.saturating_sub(qty);
}

fn add_signed(value: &mut u64, delta: i64) {
    if delta >= 0 {
        *value = value.saturating_add(delta.unsigned_abs());
    } else {
        sub(value, delta.unsigned_abs());
    }
}

fn quarantine_sub(stock: &mut Stock, reason: QuarantineReason, qty: u64) {
    if let Some(n) = stock.quarantined.get_mut(&reason) {
        sub(n, qty);
        if *n == 0 {
            stock.quarantined.remove(&reason);
        }
    } else {
        debug_assert!(qty == 0, "quarantine {reason:?} would go negative");
    }
}

/// Returns every unshipped allocated unit of an order to available and forgets the allocations.
fn release_allocations(state: &mut State, order: &OrderId) {
    let Some(o) = state.orders.get_mut(order) else { return };
    let allocations = std::mem::take(&mut o.allocations);
    let moves: Vec<(StockKey, Stages)> = allocations
        .into_iter()
        .filter_map(|(k, st)| {
            let sku =
                usize::try_from(k.line).ok().and_then(|i| o.lines.get(i)).map(|l| l.sku.clone())?;
            Some((StockKey::new(k.location, sku, k.lot), st))
        })
        .collect();
    for (key, st) in moves {
        let s = stock_mut(state, &key);
        sub(&mut s.reserved, st.reserved);
        sub(&mut s.picked, st.picked);
        sub(&mut s.packed, st.packed);
        s.available += st.reserved + st.picked + st.packed;
    }
}

/// The orders whose closed record `evolve` of `event` may read or change. The engine loads
/// the ones kept outside the state before it evolves the event ([`crate::closed`]); every
/// read of a closed order below goes through [`sold_line_mut`], [`billing_mut`] or the
/// deposit refund, and a closed order changed without being named here stops the writer
/// ([`crate::closed::ClosedOrders::get_mut`]).
#[must_use]
pub fn closed_orders_touched(event: &Event) -> Vec<&OrderId> {
    match event {
        Event::ReturnAuthorized(e) => vec![&e.order],
        Event::DepositRefunded(e) => vec![&e.order],
        Event::RefundIssued(e) => vec![&e.order],
        Event::CustomerPaymentRecorded(e) => e.applications.iter().map(|a| &a.order).collect(),
        _ => Vec::new(),
    }
}

/// The line of a sold order, open or delivered, for returns and refunds.
fn sold_line_mut<'a>(state: &'a mut State, order: &OrderId, line: u32) -> Option<&'a mut Line> {
    let index = usize::try_from(line).ok()?;
    if let Some(o) = state.orders.get_mut(order) {
        return o.lines.get_mut(index);
    }
    state.closed_orders.get_mut(order)?.returnable.as_mut()?.lines.get_mut(index)
}

/// The billing record of a sold order, open or delivered.
fn billing_mut<'a>(state: &'a mut State, order: &OrderId) -> Option<&'a mut Billing> {
    if let Some(o) = state.orders.get_mut(order) {
        return Some(&mut o.billing);
    }
    Some(&mut state.closed_orders.get_mut(order)?.returnable.as_mut()?.billing)
}

/// Files the part of an invoice debited to 1300 as open, under its customer.
fn open_invoice(state: &mut State, e: &InvoiceIssued) {
    if e.receivable_account != Account::AccountsReceivable || e.receivable.minor() == 0 {
        return;
    }
    let Some(channel) = state.orders.get(&e.order).map(|o| o.channel.clone()) else { return };
    state.invoices.insert(
        e.invoice.clone(),
        OpenInvoice {
            order: e.order.clone(),
            channel,
            customer: e.customer.clone(),
            currency: e.receivable.currency(),
            issued_on: e.issued_on,
            due_on: e.due_on,
            amount_minor: e.receivable.minor(),
            open_minor: e.receivable.minor(),
        },
    );
    if let Some(c) = e.customer.as_ref().and_then(|c| state.customers.get_mut(c)) {
        c.open_ar_minor += e.receivable.minor();
    }
}

/// Reduces an open invoice (and its customer's open AR) by an application; a paid invoice is
/// forgotten.
fn apply_to_invoice(state: &mut State, a: &InvoiceApplication) {
    let Some(invoice) = state.invoices.get_mut(&a.invoice) else { return };
    debug_assert!(invoice.open_minor >= a.amount.minor(), "invoice over-applied: {a:?}");
    invoice.open_minor -= a.amount.minor();
    let customer = invoice.customer.clone();
    if invoice.open_minor <= 0 {
        state.invoices.remove(&a.invoice);
    }
    if let Some(c) = customer.and_then(|c| state.customers.get_mut(&c)) {
        c.open_ar_minor -= a.amount.minor();
    }
}

#[expect(clippy::too_many_lines, reason = "one arm per event reads best as one match")]
fn apply(state: &mut State, event: &Event) {
    match event {
        Event::LocationDefined(l) => {
            state.locations.insert(l.id.clone(), l.clone());
        }
        Event::ChannelDefined(c) => {
            state.channels.insert(c.id.clone(), c.clone());
            refile_channel(state, &c.id);
        }
        Event::SkuDefined(s) => {
            state.skus.insert(s.sku.clone(), s.clone());
        }
        Event::ReorderPointSet(e) => {
            let key = (e.location.clone(), e.sku.clone());
            if e.point == 0 {
                state.reorder.remove(&key);
            } else {
                state.reorder.insert(key, (e.point, e.reorder_qty));
            }
        }
        Event::CountToleranceSet(e) => {
            if e.tolerance.is_exact() {
                state.count_tolerances.remove(&e.class);
            } else {
                state.count_tolerances.insert(e.class, e.tolerance);
            }
        }
        Event::SafetyStockSet(e) => {
            let key = (e.location.clone(), e.sku.clone());
            if e.qty == 0 {
                state.safety.remove(&key);
            } else {
                state.safety.insert(key, e.qty);
            }
        }
        Event::OrderReceived(e) => {
            state.order_count += 1;
            if let Some(buyer) = &e.profile.buyer {
                *state.buyer_orders.entry(buyer.clone()).or_insert(0) += 1;
            }
            let lines = e
                .lines
                .iter()
                .map(|l| Line {
                    sku: l.sku.clone(),
                    substituted_from: None,
                    ordered: l.qty.get(),
                    unit_price: l.unit_price,
                    discount: l.discount,
                    taxes: l.taxes.clone(),
                    allocated: 0,
                    shipped: 0,
                    invoiced: 0,
                    cancelled: 0,
                    after_sale: AfterSale::default(),
                    shipped_lots: BTreeMap::new(),
                })
                .collect();
            let order = Order {
                id: e.order.clone(),
                channel: e.channel.clone(),
                currency: e.currency,
                placed_at: e.placed_at,
                seq: state.order_count,
                lines,
                shipping_lines: e.shipping_lines.clone(),
                taxes_included: e.taxes_included,
                number: e.number.clone(),
                status: OrderStatus::Received,
                hold: None,
                allocations: BTreeMap::new(),
                captured_minor: 0,
                deposit_minor: 0,
                invoice_count: 0,
                shipping_invoiced: false,
                digest: e.digest,
                billing: Billing {
                    customer: e.customer.clone(),
                    facilitator_tax: state
                        .channels
                        .get(&e.channel)
                        .is_some_and(|c| c.facilitator_tax),
                    paid_processor_minor: 0,
                    paid_customer_minor: 0,
                    shipping_open_minor: 0,
                    shipping_tax_open_minor: 0,
                },
                profile: e.profile.clone(),
                checks_waived: false,
                revision: e.revision,
            };
            state.orders.insert(e.order.clone(), order);
        }
        Event::OrderAmended(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                crate::decide::apply_amendment(o, e);
            }
        }
        Event::OrderValidated(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.status = OrderStatus::Validated;
            }
        }
        Event::OrderHeld(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.hold = Some(crate::order::Hold {
                    reason: e.reason,
                    due_at: e.due_at,
                    note: e.note.clone(),
                    breached: false,
                });
            }
        }
        Event::OrderHoldReleased(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                // Releasing an `address` or `data` hold says the order is fine as it is.
                if o.hold
                    .as_ref()
                    .is_some_and(|h| matches!(h.reason, HoldReason::Address | HoldReason::Data))
                {
                    o.checks_waived = true;
                }
                o.hold = None;
            }
        }
        Event::LineAllocated(e) => {
            let qty = e.qty.get();
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.status = OrderStatus::Fulfilling;
                if let Some(line) = usize::try_from(e.line).ok().and_then(|i| o.lines.get_mut(i)) {
                    line.allocated += qty;
                }
                let key =
                    AllocKey { line: e.line, location: e.location.clone(), lot: e.lot.clone() };
                o.allocations.entry(key).or_default().reserved += qty;
            }
            let s =
                stock_mut(state, &StockKey::new(e.location.clone(), e.sku.clone(), e.lot.clone()));
            sub(&mut s.available, qty);
            s.reserved += qty;
        }
        Event::LineBackordered(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.status = OrderStatus::Fulfilling;
            }
        }
        Event::LineSubstituted(e) => {
            if let Some(line) = state
                .orders
                .get_mut(&e.order)
                .and_then(|o| usize::try_from(e.line).ok().and_then(|i| o.lines.get_mut(i)))
            {
                if line.substituted_from.is_none() {
                    line.substituted_from = Some(e.from.clone());
                }
                line.sku = e.to.clone();
            }
        }
        Event::ReservationReleased(e) => {
            let qty = e.qty.get();
            if let Some(o) = state.orders.get_mut(&e.order) {
                if let Some(line) = usize::try_from(e.line).ok().and_then(|i| o.lines.get_mut(i)) {
                    sub(&mut line.allocated, qty);
                }
                let key =
                    AllocKey { line: e.line, location: e.location.clone(), lot: e.lot.clone() };
                if let Some(stages) = o.allocations.get_mut(&key) {
                    sub(stages.of_mut(e.from), qty);
                    if stages.is_empty() {
                        o.allocations.remove(&key);
                    }
                }
            }
            let s =
                stock_mut(state, &StockKey::new(e.location.clone(), e.sku.clone(), e.lot.clone()));
            let held = match e.from {
                Claim::Reserved => &mut s.reserved,
                Claim::Picked => &mut s.picked,
                Claim::Packed => &mut s.packed,
            };
            sub(held, qty);
            s.available += qty;
        }
        Event::OrderPicked(e) | Event::OrderPacked(e) => {
            let picking = matches!(event, Event::OrderPicked(_));
            for item in &e.items {
                let qty = item.qty.get();
                if let Some(o) = state.orders.get_mut(&e.order) {
                    let key = AllocKey {
                        line: item.line,
                        location: item.location.clone(),
                        lot: item.lot.clone(),
                    };
                    let stages = o.allocations.entry(key).or_default();
                    if picking {
                        sub(&mut stages.reserved, qty);
                        stages.picked += qty;
                    } else {
                        sub(&mut stages.picked, qty);
                        stages.packed += qty;
                    }
                }
                let s = stock_mut(
                    state,
                    &StockKey::new(item.location.clone(), item.sku.clone(), item.lot.clone()),
                );
                if picking {
                    sub(&mut s.reserved, qty);
                    s.picked += qty;
                } else {
                    sub(&mut s.picked, qty);
                    s.packed += qty;
                }
            }
        }
        Event::OrderShipped(e) => {
            for item in &e.items {
                let qty = item.qty.get();
                if let Some(o) = state.orders.get_mut(&e.order) {
                    let key = AllocKey {
                        line: item.line,
                        location: item.location.clone(),
                        lot: item.lot.clone(),
                    };
                    if let Some(stages) = o.allocations.get_mut(&key) {
                        sub(&mut stages.packed, qty);
                        if stages.is_empty() {
                            o.allocations.remove(&key);
                        }
                    }
                    if let Some(line) =
                        usize::try_from(item.line).ok().and_then(|i| o.lines.get_mut(i))
                    {
                        line.shipped += qty;
                        if let Some(lot) = &item.lot {
                            *line.shipped_lots.entry(lot.clone()).or_insert(0) += qty;
                        }
                    }
                }
                let s = stock_mut(
                    state,
                    &StockKey::new(item.location.clone(), item.sku.clone(), item.lot.clone()),
                );
                sub(&mut s.packed, qty);
                s.shipped += qty;
            }
            if let Some(o) = state.orders.get_mut(&e.order)
                && o.lines.iter().all(|l| l.shipped >= l.ordered)
            {
                o.status = OrderStatus::Shipped;
            }
        }
        Event::OrderDelivered(e) => {
            if let Some(o) = state.orders.remove(&e.order) {
                let closed = ClosedOrder {
                    digest: o.digest,
                    status: OrderStatus::Delivered,
                    currency: o.currency,
                    deposit_minor: o.deposit_minor,
                    returnable: Some(Returnable {
                        channel: o.channel,
                        currency: o.currency,
                        taxes_included: o.taxes_included,
                        captured_minor: o.captured_minor,
                        lines: o.lines,
                        billing: o.billing,
                    }),
                };
                state.closed_orders.insert(e.order.clone(), closed);
            }
        }
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => {
            release_allocations(state, &e.order);
            let whole = matches!(event, Event::OrderCancelled(_));
            if whole {
                if let Some(o) = state.orders.remove(&e.order) {
                    state.closed_orders.insert(
                        e.order.clone(),
                        ClosedOrder {
                            digest: o.digest,
                            status: OrderStatus::Cancelled,
                            currency: o.currency,
                            deposit_minor: o.deposit_minor,
                            returnable: None,
                        },
                    );
                }
            } else if let Some(o) = state.orders.get_mut(&e.order) {
                for line in &mut o.lines {
                    line.allocated = line.shipped;
                    line.cancelled = line.ordered.saturating_sub(line.shipped);
                }
                o.status = OrderStatus::Shipped;
            }
        }
        Event::BackordersCancelled(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                for cut in &e.lines {
                    if let Some(line) =
                        usize::try_from(cut.line).ok().and_then(|i| o.lines.get_mut(i))
                    {
                        line.cancelled = line.cancelled.saturating_add(cut.qty.get());
                    }
                }
                if o.lines.iter().all(|l| l.shipped.saturating_add(l.cancelled) >= l.ordered) {
                    o.status = OrderStatus::Shipped;
                }
            }
        }
        Event::WorkflowConfigured(e) => {
            state.workflow = e.channels.iter().map(|w| (w.channel.clone(), w.clone())).collect();
        }
        Event::InboundExpected(e) => {
            stock_mut(state, &StockKey::new(e.location.clone(), e.sku.clone(), None)).incoming +=
                e.qty.get();
        }
        Event::InventoryReceived(e) => {
            crate::purchasing::evolve(state, event);
            stock_mut(state, &e.key).available += e.qty.get();
            if e.from_incoming > 0 {
                let k = StockKey::new(e.key.location.clone(), e.key.sku.clone(), None);
                sub(&mut stock_mut(state, &k).incoming, e.from_incoming);
            }
            if let Some(lot) = &e.key.lot {
                state
                    .lots
                    .entry((e.key.sku.clone(), lot.clone()))
                    .or_insert(Lot { expiry: e.expiry, recalled: false });
            }
        }
        Event::InventoryAdjusted(e) => add_signed(&mut stock_mut(state, &e.key).available, e.delta),
        Event::CycleCounted(_) | Event::StockSnapshotReconciled(_) => {}
        Event::TransferShipped(e) => {
            let qty = e.qty.get();
            sub(&mut stock_mut(state, &e.from).available, qty);
            let to = StockKey::new(e.to.clone(), e.from.sku.clone(), e.from.lot.clone());
            stock_mut(state, &to).in_transit += qty;
            state.transfers.insert(
                e.transfer.clone(),
                Transfer { from: e.from.clone(), to: e.to.clone(), outstanding: qty },
            );
        }
        Event::TransferReceived(e) => {
            let qty = e.qty.get();
            let s = stock_mut(state, &e.key);
            sub(&mut s.in_transit, qty);
            s.available += qty;
            if let Some(t) = state.transfers.get_mut(&e.transfer) {
                sub(&mut t.outstanding, qty);
                if t.outstanding == 0 {
                    state.transfers.remove(&e.transfer);
                }
            }
        }
        Event::StockQuarantined(e) => {
            let s = stock_mut(state, &e.key);
            sub(&mut s.available, e.qty.get());
            *s.quarantined.entry(e.reason).or_insert(0) += e.qty.get();
        }
        Event::QuarantineReleased(e) => {
            let s = stock_mut(state, &e.key);
            quarantine_sub(s, e.reason, e.qty.get());
            s.available += e.qty.get();
        }
        Event::StockScrapped(e) => {
            let s = stock_mut(state, &e.key);
            match e.from {
                None => sub(&mut s.available, e.qty.get()),
                Some(reason) => quarantine_sub(s, reason, e.qty.get()),
            }
        }
        Event::LotRecalled(e) => {
            state
                .lots
                .entry((e.sku.clone(), e.lot.clone()))
                .or_insert(Lot { expiry: None, recalled: false })
                .recalled = true;
        }
        Event::ReturnAuthorized(e) => {
            let mut lines = BTreeMap::new();
            for l in &e.lines {
                lines.insert(
                    l.line,
                    ReturnLine {
                        sku: l.sku.clone(),
                        authorized: l.qty.get(),
                        received: 0,
                        inspected: 0,
                    },
                );
                if let Some(line) = sold_line_mut(state, &e.order, l.line) {
                    line.after_sale.return_authorized += l.qty.get();
                }
            }
            state.returns.insert(
                e.return_id.clone(),
                Return {
                    id: e.return_id.clone(),
                    order: e.order.clone(),
                    location: None,
                    lines,
                    pending: BTreeMap::new(),
                },
            );
        }
        Event::ReturnReceived(e) => {
            if let Some(r) = state.returns.get_mut(&e.return_id) {
                r.location = Some(e.location.clone());
                for item in &e.items {
                    if let Some(l) = r.lines.get_mut(&item.line) {
                        l.received += item.qty.get();
                    }
                    *r.pending.entry((item.line, item.lot.clone())).or_insert(0) += item.qty.get();
                }
            }
            for item in &e.items {
                let key = StockKey::new(e.location.clone(), item.sku.clone(), item.lot.clone());
                stock_mut(state, &key).returned += item.qty.get();
            }
        }
        Event::ReturnInspected(e) => {
            if let Some(r) = state.returns.get_mut(&e.return_id) {
                for item in &e.items {
                    if let Some(l) = r.lines.get_mut(&item.line) {
                        l.inspected += item.qty.get();
                    }
                    let pk = (item.line, item.lot.clone());
                    if let Some(n) = r.pending.get_mut(&pk) {
                        sub(n, item.qty.get());
                        if *n == 0 {
                            r.pending.remove(&pk);
                        }
                    }
                }
            }
            for item in &e.items {
                let qty = item.qty.get();
                let key = StockKey::new(e.location.clone(), item.sku.clone(), item.lot.clone());
                let s = stock_mut(state, &key);
                sub(&mut s.returned, qty);
                match item.disposition {
                    Disposition::Restock => s.available += qty,
                    Disposition::Quarantine => {
                        *s.quarantined.entry(QuarantineReason::ReturnInspection).or_insert(0) +=
                            qty;
                    }
                    Disposition::Scrap => {}
                }
            }
        }
        Event::ReturnClosed(e) => {
            state.returns.remove(&e.return_id);
        }
        Event::PaymentCaptured(e) => {
            let applied: i64 = e.applied.iter().map(|a| a.amount.minor()).sum();
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.captured_minor += e.amount.minor();
                o.deposit_minor += e.amount.minor() - applied;
                o.billing.paid_processor_minor += applied;
            }
            for a in &e.applied {
                apply_to_invoice(state, a);
            }
        }
        Event::InvoiceIssued(e) => {
            open_invoice(state, e);
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.deposit_minor -= e.deposits_applied.minor();
                o.billing.paid_processor_minor += e.deposits_applied.minor();
                o.invoice_count += 1;
                o.shipping_invoiced = true;
                o.billing.shipping_open_minor += e.shipping.minor();
                o.billing.shipping_tax_open_minor += e.shipping_tax.minor();
                for l in &e.lines {
                    if let Some(line) =
                        usize::try_from(l.line).ok().and_then(|i| o.lines.get_mut(i))
                    {
                        line.invoiced += l.qty.get();
                    }
                }
            }
        }
        Event::ProcessorFeeRecorded(_) | Event::ProcessorPayoutRecorded(_) => {}
        Event::DepositRefunded(e) => {
            if let Some(o) = state.orders.get_mut(&e.order) {
                o.deposit_minor -= e.amount.minor();
            } else if let Some(c) = state.closed_orders.get_mut(&e.order) {
                c.deposit_minor -= e.amount.minor();
            }
        }
        Event::RefundIssued(e) => {
            for l in &e.lines {
                if let Some(line) = sold_line_mut(state, &e.order, l.line) {
                    line.after_sale.refunded += l.qty.get();
                    line.after_sale.refunded_minor += l.amount.minor();
                    line.after_sale.refunded_tax_minor += l.tax.minor();
                }
            }
            for a in &e.credit_notes {
                apply_to_invoice(state, a);
            }
            let mut customer = None;
            if let Some(b) = billing_mut(state, &e.order) {
                b.shipping_open_minor -= e.shipping.minor();
                b.shipping_tax_open_minor -= e.shipping_tax.minor();
                b.paid_processor_minor -= e.processor.minor();
                b.paid_customer_minor -= e.customer_credit.minor();
                customer.clone_from(&b.customer);
            }
            if let Some(c) = customer.and_then(|c| state.customers.get_mut(&c)) {
                c.credit_minor += e.customer_credit.minor();
            }
        }
        Event::CustomerDefined(c) => {
            state
                .customers
                .entry(c.id.clone())
                .and_modify(|a| a.customer = c.clone())
                .or_insert_with(|| CustomerAccount {
                    customer: c.clone(),
                    open_ar_minor: 0,
                    credit_minor: 0,
                });
        }
        Event::CustomerPaymentRecorded(e) => {
            for a in &e.applications {
                apply_to_invoice(state, a);
                if let Some(b) = billing_mut(state, &a.order) {
                    b.paid_customer_minor += a.amount.minor();
                }
            }
            if let Some(c) = state.customers.get_mut(&e.customer) {
                c.credit_minor += e.unapplied.minor() - e.credit_used.minor();
            }
        }
        Event::SettlementOpened(e) => {
            state.settlements.insert(
                e.settlement.clone(),
                Settlement {
                    id: e.settlement.clone(),
                    channel: e.channel.clone(),
                    currency: e.currency,
                    period_start: e.period_start,
                    period_end: e.period_end,
                    line_count: 0,
                    net_minor: 0,
                    facilitator_tax_minor: 0,
                    paid_out_minor: None,
                },
            );
        }
        Event::SettlementLineRecorded(e) => {
            if let Some(s) = state.settlements.get_mut(&e.settlement) {
                s.line_count += 1;
                s.net_minor += e.amount.minor();
                if e.kind == SettlementLineKind::FacilitatorTax {
                    s.facilitator_tax_minor += e.amount.minor();
                }
            }
        }
        Event::PayoutSettled(e) => {
            if let Some(s) = state.settlements.get_mut(&e.settlement) {
                s.paid_out_minor = Some(e.amount.minor());
            }
        }
        Event::JournalEntryPosted(e) => {
            debug_assert!(
                crate::journal::check_balanced(&e.postings).is_ok(),
                "unbalanced entry {e:?}"
            );
            state.journal_entry_count += 1;
            for p in &e.postings {
                let balance = state.balances.entry((p.account, p.amount.currency())).or_insert(0);
                *balance += p.amount.minor();
                if *balance == 0 {
                    state.balances.remove(&(p.account, p.amount.currency()));
                }
            }
        }
        // A marker of an accepted command changes nothing.
        Event::CommandAccepted(_) | Event::ExceptionAcknowledged(_) => {}
        // Exceptions are numbered in log order; decisions read only whether one is open.
        Event::ExceptionRaised(e) => state.exceptions.raise(e.kind, &e.subject),
        Event::ExceptionResolved(e) => state.exceptions.close(e.exception),
        Event::HoldSlaBreached(e) => {
            if let Some(hold) = state.orders.get_mut(&e.order).and_then(|o| o.hold.as_mut()) {
                hold.breached = true;
            }
        }
        Event::SupplierDefined(_)
        | Event::PurchaseOrderCreated(_)
        | Event::PurchaseOrderReceived(_)
        | Event::SupplierInvoiceRecorded(_)
        | Event::SupplierPaymentRecorded(_) => crate::purchasing::evolve(state, event),
    }
}
