//! Giving claims back and allocating again: the one path every decision takes when units an
//! order line holds must leave it (a hold, a recall, a count below the claims, a short pick,
//! an expired lot). Releases are `order.reservation_released` events from the claim they
//! leave; the lines are then allocated again by the normal policy (other locations and lots,
//! else backordered), in backorder priority order, skipping held orders (DOMAIN.md §1–§2).

use std::collections::{BTreeMap, BTreeSet};

use super::Decision;
use crate::allocation::{LineRequest, Overlay, allocate_or_backorder};
use crate::event::{Event, ReservationReleased};
use crate::ids::{OrderId, Sku};
use crate::inventory::{Claim, StockKey};
use crate::master::PriorityClass;
use crate::order::{Order, OrderStatus};
use crate::quantity::Quantity;
use crate::time::Timestamp;

/// Units of one order line at one bucket, in one claim, to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pullback {
    pub(super) order: OrderId,
    pub(super) line: u32,
    pub(super) key: StockKey,
    pub(super) from: Claim,
    pub(super) qty: u64,
}

/// Backorder-fill priority of an order: class (`contract` first), placement, arrival.
type FillRank = (PriorityClass, Timestamp, u64);

/// The order in which claims are given back: claim, whether the channel is `contract`
/// (`standard` first), newest order first.
type GiveBackRank = (Claim, bool, std::cmp::Reverse<(Timestamp, u64)>);

/// Lines whose units were given back, with the units each gave back.
pub(super) type Released = BTreeMap<(OrderId, u32), u64>;

/// `order.reservation_released` for each pullback; the units go back to `available` (in the
/// overlay, so later allocations in the decision see them) unless `keep_out` says the caller
/// moves them elsewhere at once (quarantine, write-off): then the overlay is left alone.
pub(super) fn release(
    d: &Decision<'_>,
    overlay: &mut Overlay,
    pullbacks: &[Pullback],
    keep_out: bool,
) -> (Vec<Event>, Released) {
    let mut events = Vec::with_capacity(pullbacks.len());
    let mut released = Released::new();
    for p in pullbacks {
        let Ok(qty) = Quantity::from_u64(p.qty) else { continue };
        let Some(sku) = line_sku(d, &p.order, p.line) else { continue };
        events.push(Event::ReservationReleased(ReservationReleased {
            order: p.order.clone(),
            line: p.line,
            sku,
            location: p.key.location.clone(),
            lot: p.key.lot.clone(),
            qty,
            from: p.from,
        }));
        if !keep_out {
            overlay.add(&p.key, i64::try_from(p.qty).unwrap_or(i64::MAX));
        }
        *released.entry((p.order.clone(), p.line)).or_insert(0) += p.qty;
    }
    (events, released)
}

fn line_sku(d: &Decision<'_>, order: &OrderId, line: u32) -> Option<Sku> {
    let o = d.state.orders.get(order)?;
    Some(o.lines.get(usize::try_from(line).ok()?)?.sku.clone())
}

/// Whether an order may be given stock now: open for fulfilment and not held.
pub(crate) fn takes_stock(order: &Order) -> bool {
    order.status == OrderStatus::Fulfilling && order.hold.is_none()
}

/// Allocates the released lines again, in backorder priority order (`contract` first, then
/// oldest), each for its units still unallocated plus what it gave back. Held orders and
/// orders no longer fulfilling are skipped: their lines wait (a release allocates them).
pub(super) fn reallocate(
    d: &Decision<'_>,
    overlay: &mut Overlay,
    released: &Released,
) -> Vec<Event> {
    let mut order_of_fill: Vec<(FillRank, &Order, u32, u64)> = Vec::new();
    for ((id, line), qty) in released {
        let Some(order) = d.state.orders.get(id) else { continue };
        if !takes_stock(order) {
            continue;
        }
        let class =
            d.state.channels.get(&order.channel).map_or(PriorityClass::Standard, |c| c.priority);
        order_of_fill.push(((class, order.placed_at, order.seq), order, *line, *qty));
    }
    order_of_fill.sort_by(|a, b| (&a.0, &a.1.id, a.2).cmp(&(&b.0, &b.1.id, b.2)));
    let mut events = Vec::new();
    for (_, order, n, qty) in order_of_fill {
        let Some(line) = usize::try_from(n).ok().and_then(|i| order.lines.get(i)) else {
            continue;
        };
        let request = LineRequest {
            order: &order.id,
            channel: &order.channel,
            line: n,
            sku: &line.sku,
            qty: line.unallocated() + qty,
            backorder_fill: false,
        };
        events.extend(allocate_or_backorder(d.state, overlay, &request, d.today()));
    }
    events
}

/// The claims on `key` by open orders, in the order they are given back when the bucket has
/// fewer units than it owes: reserved before picked before packed (the least work undone
/// first); within a claim, `standard` channels before `contract`, newest order first.
pub(super) fn claims_on(d: &Decision<'_>, key: &StockKey) -> Vec<Pullback> {
    let mut out: Vec<(GiveBackRank, Pullback)> = Vec::new();
    for order in d.state.orders.values() {
        // Contract claims are given back last.
        let contract = d
            .state
            .channels
            .get(&order.channel)
            .is_some_and(|c| c.priority == PriorityClass::Contract);
        for (k, stages) in &order.allocations {
            if k.location != key.location || k.lot != key.lot {
                continue;
            }
            let Some(line) = usize::try_from(k.line).ok().and_then(|i| order.lines.get(i)) else {
                continue;
            };
            if line.sku != key.sku {
                continue;
            }
            for from in [Claim::Reserved, Claim::Picked, Claim::Packed] {
                let qty = stages.of(from);
                if qty > 0 {
                    out.push((
                        (from, contract, std::cmp::Reverse((order.placed_at, order.seq))),
                        Pullback {
                            order: order.id.clone(),
                            line: k.line,
                            key: key.clone(),
                            from,
                            qty,
                        },
                    ));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.order.cmp(&b.1.order)));
    out.into_iter().map(|(_, p)| p).collect()
}

/// The first claims of [`claims_on`] that add up to `units` (the last one cut to fit).
pub(super) fn take_claims(claims: Vec<Pullback>, mut units: u64) -> Vec<Pullback> {
    let mut out = Vec::new();
    for mut p in claims {
        if units == 0 {
            break;
        }
        p.qty = p.qty.min(units);
        units -= p.qty;
        out.push(p);
    }
    out
}

/// SKUs of a set of pullbacks (to fill their backorders from what came free).
/// The units an order holds reserved (not yet picked), as pullbacks: what a hold gives back
/// (DOMAIN §2: a held order holds no reservations; picked and packed units stay).
pub(super) fn reserved_of(order: &Order) -> Vec<Pullback> {
    order
        .allocations
        .iter()
        .filter(|(_, st)| st.reserved > 0)
        .filter_map(|(k, st)| {
            let line = order.lines.get(usize::try_from(k.line).ok()?)?;
            Some(Pullback {
                order: order.id.clone(),
                line: k.line,
                key: StockKey::new(k.location.clone(), line.sku.clone(), k.lot.clone()),
                from: Claim::Reserved,
                qty: st.reserved,
            })
        })
        .collect()
}

pub(super) fn skus_of(pullbacks: &[Pullback]) -> BTreeSet<Sku> {
    pullbacks.iter().map(|p| p.key.sku.clone()).collect()
}
