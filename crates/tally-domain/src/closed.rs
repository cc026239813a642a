//! Closed orders (delivered or cancelled): the part of the decision state that grows with
//! history. Decisions still need them (a return or refund of a delivered order, a deposit
//! refund, an amendment refused as closed, a re-sent order told apart from a conflicting
//! one), but only by id and rarely, so the state keeps the recently used ones and the
//! engine keeps the rest outside it ("spilled"), loading the ones a command or event names
//! before deciding or evolving. The domain does no I/O: it says what it is missing
//! ([`crate::decide::decide_or_load`], [`crate::evolve::closed_orders_touched`]) and takes
//! what it is given ([`ClosedOrders::load`]).
//!
//! A state that never spilled (every state outside the engine) answers every lookup itself.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::OrderId;
use crate::order::ClosedOrder;

/// What the state knows of an order id as a closed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// It is closed: here it is.
    Closed(&'a ClosedOrder),
    /// It is not a closed order (open, or never seen).
    NotClosed,
    /// It may be a closed order kept outside the state: load it first.
    Unloaded,
}

/// The closed orders held in the decision state, least recently used first out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosedOrders {
    /// The resident ones, with the tick of their last use.
    resident: BTreeMap<OrderId, (ClosedOrder, u64)>,
    /// Resident ids by last use.
    by_use: BTreeMap<u64, OrderId>,
    tick: u64,
    /// Ids the engine looked up outside the state and found not closed; valid until the
    /// next eviction (only `evolve` closes orders, and it inserts them here).
    absent: BTreeSet<OrderId>,
    /// Whether some closed orders live outside the state: then a miss is unknown.
    spilled: bool,
}

impl ClosedOrders {
    /// What the state knows of `id`.
    #[must_use]
    pub fn lookup(&self, id: &OrderId) -> Lookup<'_> {
        match self.resident.get(id) {
            Some((closed, _)) => Lookup::Closed(closed),
            None if !self.spilled || self.absent.contains(id) => Lookup::NotClosed,
            None => Lookup::Unloaded,
        }
    }

    /// The resident closed order `id`, if it is one.
    #[must_use]
    pub fn get(&self, id: &OrderId) -> Option<&ClosedOrder> {
        self.resident.get(id).map(|(closed, _)| closed)
    }

    /// The closed order `id` to change it, marked as just used.
    ///
    /// # Panics
    /// When `id` may be a closed order kept outside the state: `evolve` would lose the
    /// change. The engine loads every id [`crate::evolve::closed_orders_touched`] names
    /// before it evolves an event; a miss here is a bug of that list, and stops the writer
    /// before it decides on a wrong state.
    pub fn get_mut(&mut self, id: &OrderId) -> Option<&mut ClosedOrder> {
        assert!(
            !matches!(self.lookup(id), Lookup::Unloaded),
            "closed order '{id}' is not loaded: `closed_orders_touched` must name it"
        );
        let tick = self.next_tick();
        let (closed, used) = self.resident.get_mut(id)?;
        self.by_use.remove(used);
        *used = tick;
        self.by_use.insert(tick, id.clone());
        Some(closed)
    }

    /// Records `id` as closed.
    pub fn insert(&mut self, id: OrderId, closed: ClosedOrder) {
        self.absent.remove(&id);
        let tick = self.next_tick();
        if let Some((_, used)) = self.resident.insert(id.clone(), (closed, tick)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(tick, id);
    }

    /// Takes what the engine found outside the state for `id`: the closed order, or `None`
    /// when it is not one. A resident order is left as it is (it is the newer).
    pub fn load(&mut self, id: OrderId, found: Option<ClosedOrder>) {
        if self.resident.contains_key(&id) {
            return;
        }
        match found {
            Some(closed) => self.insert(id, closed),
            None => {
                self.absent.insert(id);
            }
        }
    }

    /// Whether `id` must be loaded before it is read.
    #[must_use]
    pub fn needs_load(&self, id: &OrderId) -> bool {
        matches!(self.lookup(id), Lookup::Unloaded)
    }

    /// The least recently used resident orders beyond `max`, oldest first: the engine
    /// writes them outside the state, then [`ClosedOrders::evict`]s them.
    #[must_use]
    pub fn over(&self, max: usize) -> Vec<(&OrderId, &ClosedOrder)> {
        let excess = self.resident.len().saturating_sub(max);
        self.by_use
            .values()
            .take(excess)
            .filter_map(|id| self.resident.get(id).map(|(closed, _)| (id, closed)))
            .collect()
    }

    /// Drops `ids` from the state (the engine keeps them now), and forgets the ids checked
    /// absent. From the first eviction on, a miss is unknown until loaded.
    pub fn evict(&mut self, ids: &[OrderId]) {
        for id in ids {
            if let Some((_, used)) = self.resident.remove(id) {
                self.by_use.remove(&used);
                self.spilled = true;
            }
        }
        self.absent.clear();
    }

    /// How many closed orders the state holds.
    #[must_use]
    pub fn resident_len(&self) -> usize {
        self.resident.len()
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::order::OrderStatus;

    fn closed(deposit: i64) -> ClosedOrder {
        ClosedOrder {
            digest: crate::order::Digest([0; 32]),
            status: OrderStatus::Cancelled,
            currency: Currency::parse("EUR").unwrap(),
            deposit_minor: deposit,
            returnable: None,
        }
    }

    fn id(s: &str) -> OrderId {
        OrderId::parse(s).unwrap()
    }

    #[test]
    fn a_state_that_never_spilled_answers_every_lookup() {
        let mut c = ClosedOrders::default();
        c.insert(id("A"), closed(1));
        assert!(matches!(c.lookup(&id("A")), Lookup::Closed(o) if o.deposit_minor == 1));
        assert_eq!(c.lookup(&id("B")), Lookup::NotClosed);
        assert!(!c.needs_load(&id("B")));
    }

    #[test]
    fn eviction_takes_the_least_recently_used_and_makes_misses_unknown() {
        let mut c = ClosedOrders::default();
        for (i, name) in ["A", "B", "C"].into_iter().enumerate() {
            c.insert(id(name), closed(i64::try_from(i).unwrap()));
        }
        // A is used (changed) after B and C were closed: B is now the oldest.
        c.get_mut(&id("A")).unwrap().deposit_minor = 10;
        let over: Vec<OrderId> = c.over(1).into_iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(over, vec![id("B"), id("C")]);
        c.evict(&over);
        assert_eq!(c.resident_len(), 1);
        assert_eq!(c.lookup(&id("B")), Lookup::Unloaded);
        assert_eq!(c.lookup(&id("Z")), Lookup::Unloaded, "any miss is unknown once spilled");
        assert!(matches!(c.lookup(&id("A")), Lookup::Closed(o) if o.deposit_minor == 10));

        // Loaded back: found, or checked absent until the next eviction.
        c.load(id("B"), Some(closed(1)));
        c.load(id("Z"), None);
        assert!(matches!(c.lookup(&id("B")), Lookup::Closed(o) if o.deposit_minor == 1));
        assert_eq!(c.lookup(&id("Z")), Lookup::NotClosed);
        // A load never replaces the resident (newer) copy.
        c.load(id("A"), Some(closed(0)));
        assert!(matches!(c.lookup(&id("A")), Lookup::Closed(o) if o.deposit_minor == 10));
        // Closing Z after it was checked absent makes it closed.
        c.insert(id("Z"), closed(7));
        assert!(matches!(c.lookup(&id("Z")), Lookup::Closed(_)));
        c.evict(&[]);
        assert_eq!(c.lookup(&id("Y")), Lookup::Unloaded, "checked-absent ids expire");
    }

    #[test]
    #[should_panic(expected = "is not loaded")]
    fn changing_an_unloaded_order_is_a_bug_that_stops() {
        let mut c = ClosedOrders::default();
        c.insert(id("A"), closed(1));
        c.evict(&[id("A")]);
        let _ = c.get_mut(&id("A"));
    }
}
