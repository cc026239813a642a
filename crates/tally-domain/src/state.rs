//! Decision state: what `decide` needs, sized by SKUs × locations and open orders, never by
//! history. Read helpers are cheap (map lookups and short range scans).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::customer::{CustomerAccount, OpenInvoice};
use crate::ids::{
    ChannelId, CustomerId, InvoiceId, LocationId, LotId, OrderId, ReturnId, SettlementId, Sku,
    TransferId,
};
use crate::inventory::{Lot, Stock, StockKey};
use crate::journal::Account;
use crate::master::{Channel, Location, PriorityClass, SkuDef};
use crate::money::{Currency, Money};
use crate::order::{ClosedOrder, Order};
use crate::returns::Return;
use crate::settlement::Settlement;
use crate::time::Timestamp;

/// A line waiting for stock, ordered by the backorder-fill policy: per SKU, `contract` channels
/// first, then oldest placement, then arrival.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BackorderKey {
    /// The SKU waited for.
    pub sku: Sku,
    /// The order channel's class.
    pub class: PriorityClass,
    /// When the order was placed.
    pub placed_at: Timestamp,
    /// Arrival order of the order.
    pub seq: u64,
    /// The order.
    pub order: OrderId,
    /// Line number.
    pub line: u32,
}

/// A transfer in transit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Source bucket.
    pub from: StockKey,
    /// Destination location.
    pub to: LocationId,
    /// Units not yet received.
    pub outstanding: u64,
}

/// The in-memory state decisions are made on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub(crate) locations: BTreeMap<LocationId, Location>,
    pub(crate) channels: BTreeMap<ChannelId, Channel>,
    pub(crate) skus: BTreeMap<Sku, SkuDef>,
    pub(crate) safety: BTreeMap<(LocationId, Sku), u64>,
    /// Reorder point and quantity per location × SKU (absent when unset).
    pub(crate) reorder: BTreeMap<(LocationId, Sku), (u64, u64)>,
    pub(crate) stock: BTreeMap<StockKey, Stock>,
    pub(crate) lots: BTreeMap<(Sku, LotId), Lot>,
    pub(crate) orders: BTreeMap<OrderId, Order>,
    pub(crate) closed_orders: BTreeMap<OrderId, ClosedOrder>,
    pub(crate) backorders: BTreeSet<BackorderKey>,
    /// The keys each order has filed in `backorders`, exactly as filed: unfiling removes these,
    /// never keys recomputed from master data that may have changed since (a class change
    /// once left a stale key behind, and the line was filled twice).
    pub(crate) filed: BTreeMap<OrderId, Vec<BackorderKey>>,
    pub(crate) order_count: u64,
    pub(crate) transfers: BTreeMap<TransferId, Transfer>,
    pub(crate) returns: BTreeMap<ReturnId, Return>,
    pub(crate) settlements: BTreeMap<SettlementId, Settlement>,
    pub(crate) balances: BTreeMap<(Account, Currency), i64>,
    pub(crate) journal_entry_count: u64,
    /// B2B customers with their open AR and unapplied credit.
    pub(crate) customers: BTreeMap<CustomerId, CustomerAccount>,
    /// Invoices with an amount open in 1300 (removed when paid in full).
    pub(crate) invoices: BTreeMap<InvoiceId, OpenInvoice>,
}

impl State {
    /// An empty state.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A location's master record.
    #[must_use]
    pub fn location(&self, id: &LocationId) -> Option<&Location> {
        self.locations.get(id)
    }

    /// A channel's master record.
    #[must_use]
    pub fn channel(&self, id: &ChannelId) -> Option<&Channel> {
        self.channels.get(id)
    }

    /// A SKU's master record.
    #[must_use]
    pub fn sku(&self, sku: &Sku) -> Option<&SkuDef> {
        self.skus.get(sku)
    }

    /// A lot.
    #[must_use]
    pub fn lot(&self, sku: &Sku, lot: &LotId) -> Option<&Lot> {
        self.lots.get(&(sku.clone(), lot.clone()))
    }

    /// Safety stock of a SKU at a location (0 when unset).
    #[must_use]
    pub fn safety_stock(&self, location: &LocationId, sku: &Sku) -> u64 {
        self.safety.get(&(location.clone(), sku.clone())).copied().unwrap_or(0)
    }

    /// The reorder point and reorder quantity of a SKU at a location, if set.
    #[must_use]
    pub fn reorder_point(&self, location: &LocationId, sku: &Sku) -> Option<(u64, u64)> {
        self.reorder.get(&(location.clone(), sku.clone())).copied()
    }

    /// One bucket's states (all zero when never touched).
    #[must_use]
    pub fn stock(&self, key: &StockKey) -> Stock {
        self.stock.get(key).cloned().unwrap_or_default()
    }

    /// Every bucket, in key order.
    pub fn stock_buckets(&self) -> impl Iterator<Item = (&StockKey, &Stock)> {
        self.stock.iter()
    }

    /// Buckets of one SKU at one location (every lot).
    pub fn buckets_at<'a>(
        &'a self,
        location: &'a LocationId,
        sku: &'a Sku,
    ) -> impl Iterator<Item = (&'a StockKey, &'a Stock)> + 'a {
        self.stock
            .range(StockKey::new(location.clone(), sku.clone(), None)..)
            .take_while(move |(k, _)| &k.location == location && &k.sku == sku)
    }

    /// Σ over lots of one state of a SKU at a location.
    fn sum_at(&self, location: &LocationId, sku: &Sku, f: impl Fn(&Stock) -> u64) -> u64 {
        self.buckets_at(location, sku).map(|(_, s)| f(s)).sum()
    }

    /// on_hand of a SKU at a location, over all lots.
    #[must_use]
    pub fn on_hand(&self, location: &LocationId, sku: &Sku) -> u64 {
        self.sum_at(location, sku, Stock::on_hand)
    }

    /// available of a SKU at a location, over all lots.
    #[must_use]
    pub fn available(&self, location: &LocationId, sku: &Sku) -> u64 {
        self.sum_at(location, sku, |s| s.available)
    }

    /// reserved of a SKU at a location, over all lots.
    #[must_use]
    pub fn reserved(&self, location: &LocationId, sku: &Sku) -> u64 {
        self.sum_at(location, sku, |s| s.reserved)
    }

    /// Available-to-sell for a channel: Σ over locations serving it of
    /// max(0, available − safety stock). A `contract` channel may take safety stock, so its ATS
    /// is Σ available. Unknown channels have none.
    #[must_use]
    pub fn ats(&self, channel: &ChannelId, sku: &Sku) -> u64 {
        let Some(ch) = self.channels.get(channel) else { return 0 };
        self.locations
            .values()
            .filter(|l| l.channels.contains(channel))
            .map(|l| {
                let available = self.available(&l.id, sku);
                match ch.priority {
                    PriorityClass::Contract => available,
                    PriorityClass::Standard => {
                        available.saturating_sub(self.safety_stock(&l.id, sku))
                    }
                }
            })
            .sum()
    }

    /// Network ATS: Σ over all locations of max(0, available − safety stock).
    #[must_use]
    pub fn network_ats(&self, sku: &Sku) -> u64 {
        self.locations
            .keys()
            .map(|l| self.available(l, sku).saturating_sub(self.safety_stock(l, sku)))
            .sum()
    }

    /// An open order.
    #[must_use]
    pub fn order(&self, id: &OrderId) -> Option<&Order> {
        self.orders.get(id)
    }

    /// Open orders, by id.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// A delivered or cancelled order's digest record.
    #[must_use]
    pub fn closed_order(&self, id: &OrderId) -> Option<&ClosedOrder> {
        self.closed_orders.get(id)
    }

    /// Lines waiting for stock, in fill order.
    pub fn backorders(&self) -> impl Iterator<Item = &BackorderKey> {
        self.backorders.iter()
    }

    /// Open orders whose hold is past its SLA due time at `now`.
    #[must_use]
    pub fn overdue_holds(&self, now: Timestamp) -> Vec<OrderId> {
        self.orders
            .values()
            .filter(|o| o.hold.as_ref().is_some_and(|h| h.due_at < now))
            .map(|o| o.id.clone())
            .collect()
    }

    /// A transfer in transit.
    #[must_use]
    pub fn transfer(&self, id: &TransferId) -> Option<&Transfer> {
        self.transfers.get(id)
    }

    /// An open return.
    #[must_use]
    pub fn return_(&self, id: &ReturnId) -> Option<&Return> {
        self.returns.get(id)
    }

    /// An open settlement.
    #[must_use]
    pub fn settlement(&self, id: &SettlementId) -> Option<&Settlement> {
        self.settlements.get(id)
    }

    /// Balance of an account in a currency, debit positive.
    #[must_use]
    pub fn balance(&self, account: Account, currency: Currency) -> Money {
        Money::from_minor(self.balances.get(&(account, currency)).copied().unwrap_or(0), currency)
    }

    /// Every non-zero balance.
    pub fn balances(&self) -> impl Iterator<Item = (Account, Money)> + '_ {
        self.balances.iter().map(|((a, c), m)| (*a, Money::from_minor(*m, *c)))
    }

    /// A B2B customer with its open AR and unapplied credit.
    #[must_use]
    pub fn customer(&self, id: &CustomerId) -> Option<&CustomerAccount> {
        self.customers.get(id)
    }

    /// An invoice with an amount open in 1300.
    #[must_use]
    pub fn open_invoice(&self, id: &InvoiceId) -> Option<&OpenInvoice> {
        self.invoices.get(id)
    }

    /// Invoices with an amount open in 1300, by id.
    pub fn open_invoices(&self) -> impl Iterator<Item = (&InvoiceId, &OpenInvoice)> {
        self.invoices.iter()
    }

    /// Journal entries posted so far.
    #[must_use]
    pub fn journal_entry_count(&self) -> u64 {
        self.journal_entry_count
    }
}
