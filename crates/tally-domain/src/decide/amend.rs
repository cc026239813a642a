//! Amending an order before shipment (DOMAIN.md §2; Shopify's order edits): the channel's
//! content now, matched to the order's lines, re-priced, and the claims that follow.
//!
//! Matching: each line of the new content is the order's first line of the same SKU (as
//! first ordered, before any substitution) and unit price not yet matched; the order's lines
//! left unmatched are removed (0 units); content lines left over are added after the order's
//! lines. Line numbers never change, so allocations, invoices and returns keep theirs.
//!
//! Rules: a shipped, delivered or cancelled order is not amended; units picked, packed or
//! shipped are never removed, and a line with shipped units keeps its money (its invoice took
//! its share); shipping once invoiced does not change; the ship-to does not change after a
//! shipment. Reducing a line releases its reservations for the removed units (a backordered
//! remainder shrinks with the line); added units are allocated by the policy when the order
//! is being fulfilled and not held. An order not allocated yet goes back to `received` when
//! its channel's workflow validates orders (validation and hold rules look at it again); an
//! order being fulfilled is checked at once, and held (`address`, `data`) when it fails.
//! Nothing is posted: revenue is recognised at shipment, and captured money stays in deposits
//! (an over-capture is refunded by `refund_deposit`).

use std::collections::{BTreeMap, BTreeSet};

use super::claims::{self, Pullback};
use super::orders::{Content, PriceInput, content_digest, price};
use super::{Decision, text};
use crate::allocation::{LineRequest, Overlay, allocate_or_backorder, fill_backorders};
use crate::command::{AmendOrder, ReceiveOrder};
use crate::event::{AmendedLine, Event, OrderAmended, OrderHeld};
use crate::inventory::{Claim, StockKey};
use crate::order::{AllocKey, Order, OrderLine, OrderStatus, Profile};
use crate::rejection::Rejection;
use crate::time::Timestamp;

/// The amendment a receive with a revision means for an order the ledger has.
pub(super) fn amendment_of(c: &ReceiveOrder) -> AmendOrder {
    AmendOrder {
        order: c.order.clone(),
        revision: c.revision,
        lines: c.lines.clone(),
        shipping: c.shipping,
        tax_rate: c.tax_rate,
        shipping_lines: c.shipping_lines.clone(),
        total_tax: c.total_tax,
        total: c.total,
        ship_to: c.ship_to.clone(),
    }
}

fn refused(order: &Order, state: &str, action: &'static str) -> Rejection {
    Rejection::InvalidState {
        entity: "order",
        id: order.id.to_string(),
        state: state.to_owned(),
        action,
    }
}

/// Applies an amendment to an order (shared with `evolve`, so a decision can look at the
/// amended order before the event is applied).
pub(crate) fn apply(order: &mut Order, e: &OrderAmended) {
    for (n, new) in e.lines.iter().enumerate() {
        if let Some(line) = order.lines.get_mut(n) {
            line.ordered = new.qty;
            line.unit_price = new.unit_price;
            line.discount = new.discount;
            line.taxes.clone_from(&new.taxes);
        } else {
            order.lines.push(crate::order::Line {
                sku: new.sku.clone(),
                substituted_from: None,
                ordered: new.qty,
                unit_price: new.unit_price,
                discount: new.discount,
                taxes: new.taxes.clone(),
                allocated: 0,
                shipped: 0,
                invoiced: 0,
                cancelled: 0,
                after_sale: crate::order::AfterSale::default(),
                shipped_lots: BTreeMap::new(),
            });
        }
    }
    order.shipping_lines.clone_from(&e.shipping_lines);
    order.profile.ship_to.clone_from(&e.ship_to);
    order.digest = e.digest;
    if e.revision.is_some() {
        order.revision = e.revision;
    }
    // A person's waiver of the checks was for the content before.
    order.checks_waived = false;
    if e.revalidate {
        order.status = OrderStatus::Received;
    }
}

/// The refusal of an amendment of a closed (shipped, delivered or cancelled) order, if `id` is
/// one.
pub(super) fn closed_refusal(d: &Decision<'_>, id: &crate::ids::OrderId) -> Option<Rejection> {
    d.closed(id).map(|closed| Rejection::InvalidState {
        entity: "order",
        id: id.to_string(),
        state: closed.status.as_str().to_owned(),
        action: "amend",
    })
}

pub(super) fn amend(d: &Decision<'_>, c: &AmendOrder) -> Result<Vec<Event>, Rejection> {
    let Some(order) = d.state.orders.get(&c.order) else {
        return Err(
            closed_refusal(d, &c.order).unwrap_or_else(|| Rejection::UnknownOrder(c.order.clone()))
        );
    };
    if let (Some(new), Some(last)) = (c.revision, order.revision)
        && new < last
    {
        // A stale, out-of-order delivery of an earlier version: nothing changes.
        return Ok(Vec::new());
    }
    // A shipped order goes on to the line checks, so a change of a shipped line is refused
    // naming the line; any other change of it is refused below.
    let open = matches!(
        order.status,
        OrderStatus::Received | OrderStatus::Validated | OrderStatus::Fulfilling
    );
    if !open && order.status != OrderStatus::Shipped {
        return Err(refused(order, order.status.as_str(), "amend"));
    }
    if c.lines.len() > super::orders::ORDER_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "order '{}' has {} lines, more than {}",
            c.order,
            c.lines.len(),
            super::orders::ORDER_LINES_MAX
        )));
    }
    for line in &c.lines {
        d.sku(&line.sku)?;
    }
    if let Some(address) = &c.ship_to {
        for (what, value) in address.fields() {
            text(what, value)?;
        }
    }
    let priced = price(&PriceInput {
        order: &c.order,
        currency: order.currency,
        taxes_included: order.taxes_included,
        lines: &c.lines,
        shipping: c.shipping,
        tax_rate: c.tax_rate,
        shipping_lines: &c.shipping_lines,
        total_tax: c.total_tax,
        total: c.total,
        zero_lines: true,
    })?;
    let content_lines: Vec<OrderLine> = priced.order_lines();
    if content_lines.is_empty() {
        return Err(Rejection::InvalidInput(format!(
            "order '{}': an amendment that leaves no units is a cancellation (cancel_order)",
            c.order
        )));
    }

    // Match the content to the order's lines.
    let mut new_lines: Vec<Option<AmendedLine>> = vec![None; order.lines.len()];
    let mut added = Vec::new();
    for line in priced.lines {
        let at = order.lines.iter().enumerate().position(|(n, l)| {
            new_lines[n].is_none()
                && l.substituted_from.as_ref().unwrap_or(&l.sku) == &line.sku
                && l.unit_price == line.unit_price
        });
        match at {
            Some(n) => {
                // A substituted line keeps its substitute.
                new_lines[n] = Some(AmendedLine { sku: order.lines[n].sku.clone(), ..line });
            }
            None if line.qty > 0 => added.push(line),
            None => {}
        }
    }
    let zero = crate::money::Money::zero(order.currency);
    let mut lines: Vec<AmendedLine> = new_lines
        .into_iter()
        .zip(&order.lines)
        .map(|(new, old)| {
            new.unwrap_or_else(|| AmendedLine {
                sku: old.sku.clone(),
                qty: 0,
                unit_price: old.unit_price,
                discount: zero,
                taxes: old
                    .taxes
                    .iter()
                    .map(|t| crate::order::TaxLine { amount: zero, ..t.clone() })
                    .collect(),
            })
        })
        .collect();
    if order.lines.len() + added.len() > super::orders::ORDER_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "order '{}' would have more than {} lines",
            c.order,
            super::orders::ORDER_LINES_MAX
        )));
    }
    lines.extend(added);

    // What each line's units are doing, and what the amendment may not touch.
    let mut pullbacks = Vec::new();
    for (n, (old, new)) in (0_u32..).zip(order.lines.iter().zip(&lines)) {
        let in_warehouse: u64 = order
            .allocations
            .iter()
            .filter(|(k, _)| k.line == n)
            .map(|(_, st)| st.picked + st.packed)
            .sum();
        let money_changed = new.qty != old.ordered
            || new.unit_price != old.unit_price
            || new.discount != old.discount
            || new.taxes != old.taxes;
        if old.shipped > 0 && money_changed {
            return Err(Rejection::LineLocked {
                order: c.order.clone(),
                line: n,
                units: old.shipped,
                why: "shipped",
            });
        }
        let locked = in_warehouse + old.shipped;
        if new.qty < locked {
            return Err(Rejection::LineLocked {
                order: c.order.clone(),
                line: n,
                units: locked,
                why: "picked, packed or shipped",
            });
        }
        // Reserved units beyond the new quantity go back, last location first.
        let mut excess = old.allocated.saturating_sub(new.qty);
        let keys: Vec<(&AllocKey, u64)> = order
            .allocations
            .iter()
            .filter(|(k, st)| k.line == n && st.reserved > 0)
            .map(|(k, st)| (k, st.reserved))
            .collect();
        for (k, reserved) in keys.into_iter().rev() {
            if excess == 0 {
                break;
            }
            let qty = reserved.min(excess);
            excess -= qty;
            pullbacks.push(Pullback {
                order: order.id.clone(),
                line: n,
                key: StockKey::new(k.location.clone(), old.sku.clone(), k.lot.clone()),
                from: Claim::Reserved,
                qty,
            });
        }
    }
    let shipped_any = order.lines.iter().any(|l| l.shipped > 0);
    if order.shipping_invoiced && priced.shipping_lines != order.shipping_lines {
        return Err(refused(order, "invoiced with its shipping", "amend its shipping"));
    }
    let ship_to = match &c.ship_to {
        Some(a) => Some((**a).clone()),
        None => order.profile.ship_to.clone(),
    };
    if shipped_any && ship_to != order.profile.ship_to {
        let state = if open { "partly shipped" } else { order.status.as_str() };
        return Err(refused(order, state, "change its ship-to address"));
    }

    let profile = Profile { ship_to: ship_to.clone(), ..order.profile.clone() };
    let digest = content_digest(&Content {
        channel: &order.channel,
        placed_at: order.placed_at,
        currency: order.currency,
        lines: &content_lines,
        shipping_lines: &priced.shipping_lines,
        taxes_included: order.taxes_included,
        number: order.number.as_deref(),
        customer: order.billing.customer.as_ref(),
        profile: &profile,
    })?;
    let unchanged = lines.len() == order.lines.len()
        && lines.iter().zip(&order.lines).all(|(new, old)| {
            new.qty == old.ordered
                && new.unit_price == old.unit_price
                && new.discount == old.discount
                && new.taxes == old.taxes
        })
        && priced.shipping_lines == order.shipping_lines
        && ship_to == order.profile.ship_to;
    if unchanged {
        return Ok(Vec::new());
    }
    if !open {
        return Err(refused(order, order.status.as_str(), "amend"));
    }
    if c.revision.is_some() && c.revision == order.revision {
        // Other content under the version the order has: not an edit the source made.
        return Err(Rejection::DuplicateOrderConflict(c.order.clone()));
    }

    let workflow = d.state.workflow.get(&order.channel).filter(|wf| wf.validate);
    let allocated_any = order.lines.iter().any(|l| l.allocated > 0);
    let revalidate =
        workflow.is_some() && !allocated_any && order.status != OrderStatus::Fulfilling;
    let amended = OrderAmended {
        order: c.order.clone(),
        revision: c.revision,
        lines,
        shipping_lines: priced.shipping_lines,
        ship_to,
        total: priced.total,
        digest,
        revalidate,
    };
    let mut overlay = Overlay::new();
    let (mut events, _) = claims::release(d, &mut overlay, &pullbacks, false);
    let mut after = order.clone();
    for e in &events {
        if let Event::ReservationReleased(r) = e {
            if let Some(line) = usize::try_from(r.line).ok().and_then(|i| after.lines.get_mut(i)) {
                line.allocated = line.allocated.saturating_sub(r.qty.get());
            }
            let key = AllocKey { line: r.line, location: r.location.clone(), lot: r.lot.clone() };
            if let Some(st) = after.allocations.get_mut(&key) {
                st.reserved = st.reserved.saturating_sub(r.qty.get());
                if st.is_empty() {
                    after.allocations.remove(&key);
                }
            }
        }
    }
    apply(&mut after, &amended);
    let old_qty: Vec<u64> = order.lines.iter().map(|l| l.ordered).collect();
    events.push(Event::OrderAmended(amended));

    // An order being fulfilled is checked at once: a failure holds it (its reservations go
    // back, as any hold's); otherwise its added units are allocated.
    let problem = match workflow {
        Some(wf) if order.status == OrderStatus::Fulfilling || allocated_any => {
            crate::workflow::validation_problems(d.state, wf, &after)
                .map(|p| (p, wf.validation_sla_minutes))
        }
        _ => None,
    };
    let mut skus: BTreeSet<crate::ids::Sku> = claims::skus_of(&pullbacks);
    if let Some(((reason, note), sla_minutes)) = problem {
        if order.hold.is_none() {
            events.push(Event::OrderHeld(OrderHeld {
                order: c.order.clone(),
                reason,
                due_at: Timestamp::from_millis(
                    d.ctx.now.millis().saturating_add(sla_minutes.saturating_mul(60_000)),
                ),
                note: format!("amended: {note}"),
            }));
            let holds = claims::reserved_of(&after);
            let (released, _) = claims::release(d, &mut overlay, &holds, false);
            events.extend(released);
            skus.extend(claims::skus_of(&holds));
        }
    } else if after.status == OrderStatus::Fulfilling && after.hold.is_none() {
        for (n, line) in (0_u32..).zip(&after.lines) {
            let before = usize::try_from(n).ok().and_then(|i| old_qty.get(i)).copied().unwrap_or(0);
            let more = line.ordered.saturating_sub(before).min(line.unallocated());
            if more == 0 {
                continue;
            }
            let request = LineRequest {
                order: &order.id,
                channel: &order.channel,
                line: n,
                sku: &line.sku,
                qty: more,
                backorder_fill: false,
            };
            events.extend(allocate_or_backorder(d.state, &mut overlay, &request, d.today()));
        }
    }
    // Units given back may fill other orders' backorders.
    events.extend(fill_backorders(d.state, &mut overlay, &skus, Some(&c.order), d.today()));
    Ok(events)
}
