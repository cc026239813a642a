//! Allocation policy (DOMAIN.md §2): locations serving the channel in rank order, split across
//! locations, safety stock respected for `standard` channels, FEFO for lot-tracked SKUs, the
//! remainder backordered; backorders filled on arrival, `contract` first then oldest first.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, LineAllocated, LineBackordered};
use crate::ids::{ChannelId, LocationId, LotId, OrderId, Sku};
use crate::inventory::{Lot, StockKey};
use crate::master::PriorityClass;
use crate::order::OrderStatus;
use crate::quantity::Quantity;
use crate::state::State;
use crate::time::Date;

/// Changes to `available` (and new lots) made earlier in the same decision, so that later
/// allocations in that decision see them without cloning the state.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    available: BTreeMap<StockKey, i64>,
    lots: BTreeMap<(Sku, LotId), Lot>,
    safety: BTreeMap<(LocationId, Sku), u64>,
}

impl Overlay {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` to available of `key`.
    pub(crate) fn add(&mut self, key: &StockKey, delta: i64) {
        *self.available.entry(key.clone()).or_insert(0) += delta;
    }

    /// Registers a lot received (or changed, e.g. recalled) in this decision; it shadows the
    /// state's record of the lot.
    pub(crate) fn add_lot(&mut self, sku: &Sku, lot: &LotId, info: Lot) {
        self.lots.insert((sku.clone(), lot.clone()), info);
    }

    /// Sets safety stock decided in this decision; it shadows the state's value.
    pub(crate) fn set_safety(&mut self, location: &LocationId, sku: &Sku, qty: u64) {
        self.safety.insert((location.clone(), sku.clone()), qty);
    }

    fn safety(&self, state: &State, location: &LocationId, sku: &Sku) -> u64 {
        self.safety
            .get(&(location.clone(), sku.clone()))
            .copied()
            .unwrap_or_else(|| state.safety_stock(location, sku))
    }

    fn available(&self, state: &State, key: &StockKey) -> u64 {
        let base = state.stock.get(key).map_or(0, |s| s.available);
        let delta = self.available.get(key).copied().unwrap_or(0);
        let value = i128::from(base) + i128::from(delta);
        u64::try_from(value.max(0)).unwrap_or(u64::MAX)
    }

    fn lot<'a>(&'a self, state: &'a State, sku: &Sku, lot: &LotId) -> Option<&'a Lot> {
        let key = (sku.clone(), lot.clone());
        self.lots.get(&key).or_else(|| state.lots.get(&key))
    }

    fn keys_at(&self, state: &State, location: &LocationId, sku: &Sku) -> BTreeSet<StockKey> {
        let start = StockKey::new(location.clone(), sku.clone(), None);
        let same = |k: &&StockKey| &k.location == location && &k.sku == sku;
        state
            .stock
            .range(start.clone()..)
            .map(|(k, _)| k)
            .take_while(same)
            .chain(self.available.range(start..).map(|(k, _)| k).take_while(same))
            .cloned()
            .collect()
    }
}

/// One line to allocate.
pub(crate) struct LineRequest<'a> {
    pub(crate) order: &'a OrderId,
    pub(crate) channel: &'a ChannelId,
    pub(crate) line: u32,
    pub(crate) sku: &'a Sku,
    pub(crate) qty: u64,
    pub(crate) backorder_fill: bool,
}

/// Reserves what the policy allows for one line; returns the events and the units left over.
pub(crate) fn allocate_line(
    state: &State,
    overlay: &mut Overlay,
    request: &LineRequest<'_>,
    today: Date,
) -> (Vec<Event>, u64) {
    let mut events = Vec::new();
    let mut remaining = request.qty;
    let (Some(channel), Some(sku_def)) =
        (state.channels.get(request.channel), state.skus.get(request.sku))
    else {
        return (events, remaining);
    };
    let mut locations: Vec<_> =
        state.locations.values().filter(|l| l.channels.contains(request.channel)).collect();
    locations.sort_by(|a, b| (a.rank, &a.id).cmp(&(b.rank, &b.id)));
    for location in locations {
        if remaining == 0 {
            break;
        }
        let keys = overlay.keys_at(state, &location.id, request.sku);
        let mut candidates: Vec<(Option<Date>, StockKey)> = Vec::new();
        for key in keys {
            match (&key.lot, sku_def.lot_tracked) {
                (None, false) => candidates.push((None, key)),
                (Some(lot), true) => {
                    if let Some(info) = overlay.lot(state, request.sku, lot)
                        && info.allocatable_on(today, sku_def.shelf_life_margin_days)
                    {
                        candidates.push((info.expiry, key));
                    }
                }
                _ => {}
            }
        }
        // Safety stock is kept out of what allocation may take (DOMAIN §1: ATS = max(0,
        // allocatable − safety)), so units of lots it may not take never count toward it.
        let allocatable: u64 = candidates.iter().map(|(_, k)| overlay.available(state, k)).sum();
        let mut cap = match channel.priority {
            PriorityClass::Contract => allocatable,
            PriorityClass::Standard => {
                allocatable.saturating_sub(overlay.safety(state, &location.id, request.sku))
            }
        };
        // FEFO: earliest expiry first; lots without expiry last; then by lot id.
        candidates.sort_by(|(ea, ka), (eb, kb)| {
            (ea.is_none(), ea, &ka.lot).cmp(&(eb.is_none(), eb, &kb.lot))
        });
        for (_, key) in candidates {
            if remaining == 0 || cap == 0 {
                break;
            }
            let take = overlay.available(state, &key).min(cap).min(remaining);
            let Ok(qty) = Quantity::from_u64(take) else { continue };
            overlay.add(&key, -i64::try_from(take).unwrap_or(i64::MAX));
            cap -= take;
            remaining -= take;
            events.push(Event::LineAllocated(LineAllocated {
                order: request.order.clone(),
                line: request.line,
                sku: request.sku.clone(),
                location: key.location.clone(),
                lot: key.lot.clone(),
                qty,
                backorder_fill: request.backorder_fill,
            }));
        }
    }
    (events, remaining)
}

/// Allocates a line and backorders what is left.
pub(crate) fn allocate_or_backorder(
    state: &State,
    overlay: &mut Overlay,
    request: &LineRequest<'_>,
    today: Date,
) -> Vec<Event> {
    let (mut events, remaining) = allocate_line(state, overlay, request, today);
    if let Ok(qty) = Quantity::from_u64(remaining) {
        events.push(Event::LineBackordered(LineBackordered {
            order: request.order.clone(),
            line: request.line,
            sku: request.sku.clone(),
            qty,
        }));
    }
    events
}

/// Fills waiting lines of `skus` from stock the overlay made available, in policy order.
pub(crate) fn fill_backorders(
    state: &State,
    overlay: &mut Overlay,
    skus: &BTreeSet<Sku>,
    exclude: Option<&OrderId>,
    today: Date,
) -> Vec<Event> {
    let mut events = Vec::new();
    // One fill per line and decision: `line.unallocated()` reads the state before this
    // decision, so a line met twice would be filled twice (the index files each line once;
    // this keeps the promise should it ever not).
    let mut filled: BTreeSet<(&OrderId, u32)> = BTreeSet::new();
    for waiting in state.backorders.iter().filter(|k| skus.contains(&k.sku)) {
        if exclude == Some(&waiting.order) || !filled.insert((&waiting.order, waiting.line)) {
            continue;
        }
        let Some(order) = state.orders.get(&waiting.order) else { continue };
        // Held orders hold no stock (DOMAIN §2): a release allocates them.
        if order.status != OrderStatus::Fulfilling || order.hold.is_some() {
            continue;
        }
        let Some(line) = usize::try_from(waiting.line).ok().and_then(|i| order.lines.get(i)) else {
            continue;
        };
        if line.sku != waiting.sku || line.unallocated() == 0 {
            continue;
        }
        let request = LineRequest {
            order: &order.id,
            channel: &order.channel,
            line: waiting.line,
            sku: &line.sku,
            qty: line.unallocated(),
            backorder_fill: true,
        };
        let (mut allocated, _) = allocate_line(state, overlay, &request, today);
        events.append(&mut allocated);
    }
    events
}
