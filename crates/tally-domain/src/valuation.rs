//! Inventory valuation: one moving-weighted-average cost pool per SKU for the whole store
//! (docs/domain.md §5). Every posting to 1200 inventory is a value the pool moved, so
//! 1200 = Σ pools' value, to the minor unit, after any history.
//!
//! A pool holds the SKU's owned units — on hand in every state except `returned` (units back
//! from a customer are valued when inspected) plus units in transit between locations — and
//! their value. Units come in at a cost (a receipt's) or at the pool's average (found units,
//! count gains, inspected returns; the SKU's `unit_cost` when the pool is empty). Units go out
//! (shipment COGS, write-offs, scrap) at `value × qty / units` rounded half-even, so the last
//! unit out takes exactly what is left and an empty pool is worth exactly zero: no rounding
//! residue is ever left behind in 1200.
//!
//! Decisions value what they are about to emit with a [`Scratch`] copy of the pools; `evolve`
//! applies the same movements ([`flows`]) to the state's pools, with the same arithmetic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::ids::Sku;
use crate::master::SkuDef;
use crate::money::{Currency, Money, div_half_even};
use crate::returns::Disposition;
use crate::state::State;

/// One SKU's units and their value (in the currency of the SKU's cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// Owned units (on hand except `returned`, plus in transit).
    pub units: u64,
    /// Their carrying value.
    pub value: Money,
}

impl Pool {
    /// An empty pool in `currency`.
    #[must_use]
    pub const fn empty(currency: Currency) -> Self {
        Self { units: 0, value: Money::zero(currency) }
    }

    /// The moving average unit cost, rounded half-even to a minor unit (for display; postings
    /// use the exact ratio). `None` when the pool is empty.
    #[must_use]
    pub fn average(&self) -> Option<Money> {
        if self.units == 0 {
            return None;
        }
        let avg = div_half_even(i128::from(self.value.minor()), i128::from(self.units));
        Some(Money::from_minor(clamp(avg), self.value.currency()))
    }

    /// The value of `qty` of the pool's units at its average: `value × qty / units`, half-even
    /// (all of the value when `qty ≥ units`). Zero for an empty pool.
    #[must_use]
    pub fn value_of(&self, qty: u64) -> i64 {
        if self.units == 0 {
            return 0;
        }
        if qty >= self.units {
            return self.value.minor();
        }
        clamp(div_half_even(
            i128::from(self.value.minor()) * i128::from(qty),
            i128::from(self.units),
        ))
    }

    /// Adds `qty` units worth `value` minor units.
    fn put(&mut self, qty: u64, value: i64) {
        self.units = self.units.saturating_add(qty);
        self.value =
            Money::from_minor(self.value.minor().saturating_add(value), self.value.currency());
    }

    /// Takes `qty` units at the average; returns their value.
    fn take(&mut self, qty: u64) -> i64 {
        let value = self.value_of(qty);
        self.units = self.units.saturating_sub(qty);
        let left = if self.units == 0 { 0 } else { self.value.minor().saturating_sub(value) };
        self.value = Money::from_minor(left, self.value.currency());
        value
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// One movement of units into or out of a SKU's pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Units come in at `unit_cost`, or at the pool's average when `None`.
    In {
        /// The SKU.
        sku: Sku,
        /// Units.
        qty: u64,
        /// Their unit cost, if the event fixes one.
        unit_cost: Option<Money>,
    },
    /// Units leave at the pool's average.
    Out {
        /// The SKU.
        sku: Sku,
        /// Units.
        qty: u64,
    },
}

/// The pool movements an event makes. Transfers, quarantines, reservations and customer
/// returns received (not yet inspected) make none.
#[must_use]
pub fn flows(event: &Event) -> Vec<Flow> {
    match event {
        Event::InventoryReceived(e) => vec![Flow::In {
            sku: e.key.sku.clone(),
            qty: e.qty.get(),
            unit_cost: Some(e.unit_cost),
        }],
        Event::InventoryAdjusted(e) if e.delta > 0 => {
            vec![Flow::In { sku: e.key.sku.clone(), qty: e.delta.unsigned_abs(), unit_cost: None }]
        }
        Event::InventoryAdjusted(e) => {
            vec![Flow::Out { sku: e.key.sku.clone(), qty: e.delta.unsigned_abs() }]
        }
        Event::StockScrapped(e) => vec![Flow::Out { sku: e.key.sku.clone(), qty: e.qty.get() }],
        Event::OrderShipped(e) => {
            e.items.iter().map(|i| Flow::Out { sku: i.sku.clone(), qty: i.qty.get() }).collect()
        }
        Event::ReturnInspected(e) => e
            .items
            .iter()
            .filter(|i| i.disposition != Disposition::Scrap)
            .map(|i| Flow::In { sku: i.sku.clone(), qty: i.qty.get(), unit_cost: None })
            .collect(),
        _ => Vec::new(),
    }
}

/// One flow applied to one SKU's pool (`None`: empty; `standard`: the SKU's unit cost, for
/// units coming in at the average of an empty pool): the pool after it and the value moved,
/// positive into inventory. The one valuation rule, shared by decisions, `evolve` and views.
#[must_use]
pub fn move_pool(pool: Option<Pool>, standard: Option<Money>, flow: &Flow) -> (Pool, Money) {
    let mut pool = pool.unwrap_or_else(|| {
        let currency = match flow {
            Flow::In { unit_cost: Some(c), .. } => c.currency(),
            _ => standard.map_or(Currency::USD, |s| s.currency()),
        };
        Pool::empty(currency)
    });
    let currency = pool.value.currency();
    let moved = match flow {
        Flow::In { qty, unit_cost, .. } => {
            let units = i64::try_from(*qty).unwrap_or(i64::MAX);
            let value = match unit_cost {
                Some(cost) => cost.minor().saturating_mul(units),
                None if pool.units > 0 => clamp(div_half_even(
                    i128::from(pool.value.minor()) * i128::from(*qty),
                    i128::from(pool.units),
                )),
                None => standard.map_or(0, |s| s.minor()).saturating_mul(units),
            };
            pool.put(*qty, value);
            value
        }
        Flow::Out { qty, .. } => pool.take(*qty).saturating_neg(),
    };
    (pool, Money::from_minor(moved, currency))
}

/// The SKU a flow moves.
#[must_use]
pub fn flow_sku(flow: &Flow) -> &Sku {
    match flow {
        Flow::In { sku, .. } | Flow::Out { sku, .. } => sku,
    }
}

/// Applies one flow to `pools` (read through to `base` for a decision's scratch copy); an
/// emptied pool is dropped from the state's pools.
fn apply(
    pools: &mut BTreeMap<Sku, Pool>,
    skus: &BTreeMap<Sku, SkuDef>,
    base: Option<&BTreeMap<Sku, Pool>>,
    flow: &Flow,
) -> Money {
    let sku = flow_sku(flow);
    let before = pools
        .get(sku)
        .copied()
        .or_else(|| base.and_then(|b| b.get(sku)).copied())
        .filter(|p| p.units > 0);
    let (after, moved) = move_pool(before, skus.get(sku).map(|d| d.unit_cost), flow);
    if after.units == 0 && base.is_none() {
        pools.remove(sku);
    } else {
        pools.insert(sku.clone(), after);
    }
    moved
}

/// Applies an event's movements to the state's pools (called by `evolve`).
pub(crate) fn evolve(state: &mut State, event: &Event) {
    for flow in flows(event) {
        apply(&mut state.pools, &state.skus, None, &flow);
    }
}

/// A decision's working copy of the pools it touches: values what the decision is about to
/// emit, in emission order, exactly as `evolve` will.
pub(crate) struct Scratch<'a> {
    state: &'a State,
    pools: BTreeMap<Sku, Pool>,
}

impl<'a> Scratch<'a> {
    pub(crate) fn new(state: &'a State) -> Self {
        Self { state, pools: BTreeMap::new() }
    }

    /// The value one flow moves (positive into inventory), and the pool after it.
    pub(crate) fn flow(&mut self, flow: &Flow) -> Money {
        apply(&mut self.pools, &self.state.skus, Some(&self.state.pools), flow)
    }

    /// The value an event's flows move, per flow, in order.
    pub(crate) fn event(&mut self, event: &Event) -> Vec<Money> {
        flows(event).iter().map(|f| self.flow(f)).collect()
    }
}
