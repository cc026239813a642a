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
use crate::master::{AbcClass, Channel, CountTolerance, Location, PriorityClass, SkuDef};
use crate::money::{Currency, Money};
use crate::order::{ClosedOrder, Order};
use crate::returns::Return;
use crate::settlement::Settlement;
use crate::time::{Date, Timestamp};

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
    /// Cycle-count tolerance per ABC class (absent: exact).
    pub(crate) count_tolerances: BTreeMap<AbcClass, CountTolerance>,
    pub(crate) stock: BTreeMap<StockKey, Stock>,
    pub(crate) lots: BTreeMap<(Sku, LotId), Lot>,
    pub(crate) orders: BTreeMap<OrderId, Order>,
    /// Delivered and cancelled orders: the recently used ones (the engine keeps the rest).
    pub(crate) closed_orders: crate::closed::ClosedOrders,
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
    /// Moving-average cost pool per SKU with units ([`crate::valuation`]).
    pub(crate) pools: BTreeMap<Sku, crate::valuation::Pool>,
    /// Purchasing ([`crate::purchasing`]): suppliers, purchase orders, receipts without a
    /// purchase order not yet invoiced (per SKU, in the currency of their cost), supplier
    /// invoices (every one, for duplicate numbers; open amounts), payment ids and each
    /// supplier's unapplied credit.
    pub(crate) suppliers: BTreeMap<crate::ids::SupplierId, crate::purchasing::Supplier>,
    pub(crate) purchase_orders:
        BTreeMap<crate::ids::PurchaseOrderId, crate::purchasing::PurchaseOrder>,
    pub(crate) unmatched_receipts: BTreeMap<Sku, (Currency, crate::purchasing::Grni)>,
    pub(crate) ap_invoices: BTreeMap<
        (crate::ids::SupplierId, crate::ids::SupplierInvoiceId),
        crate::purchasing::ApInvoice,
    >,
    pub(crate) supplier_payments: BTreeSet<crate::ids::SupplierPaymentId>,
    pub(crate) supplier_credit: BTreeMap<crate::ids::SupplierId, i64>,
    /// B2B customers with their open AR and unapplied credit.
    pub(crate) customers: BTreeMap<CustomerId, CustomerAccount>,
    /// Invoices with an amount open in 1300 (removed when paid in full).
    pub(crate) invoices: BTreeMap<InvoiceId, OpenInvoice>,
    /// The workflow rules in force, per channel ([`crate::workflow`]).
    pub(crate) workflow: BTreeMap<ChannelId, crate::workflow::ChannelWorkflow>,
    /// Orders received per buyer (what "first order" counts).
    pub(crate) buyer_orders: BTreeMap<crate::ids::BuyerId, u64>,
    /// The exception queue ([`crate::exceptions`]).
    pub(crate) exceptions: crate::exceptions::Exceptions,
    /// On-hand changes per bucket by business time, over a bounded window
    /// ([`crate::movements`]): what a partner's snapshot at `as_of` is compared with.
    pub(crate) on_hand_history: BTreeMap<StockKey, crate::movements::OnHandHistory>,
    /// Scratch of `evolve`: the buckets the event being applied touched, with their on-hand
    /// before it. Always empty between events.
    pub(crate) touched: Vec<(StockKey, u64)>,
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

    /// The exception queue: numbers and open exceptions.
    #[must_use]
    pub const fn exceptions(&self) -> &crate::exceptions::Exceptions {
        &self.exceptions
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

    /// The cycle-count tolerance of an ABC class (exact unless set).
    #[must_use]
    pub fn count_tolerance(&self, class: AbcClass) -> CountTolerance {
        self.count_tolerances.get(&class).copied().unwrap_or(CountTolerance::EXACT)
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

    /// On-hand of a bucket at business time `at` (the changes dated after it taken back), or
    /// `None` when the bucket's history no longer reaches back to `at`
    /// ([`crate::movements::HISTORY_WINDOW_MS`]).
    #[must_use]
    pub fn on_hand_at(&self, key: &StockKey, at: crate::time::Timestamp) -> Option<u64> {
        let now = self.stock(key).on_hand();
        let later = match self.on_hand_history.get(key) {
            Some(history) => history.change_after(at.millis())?,
            None => 0,
        };
        let now = i64::try_from(now).ok()?;
        u64::try_from(now.checked_sub(later)?).ok()
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

    /// Units of a SKU at a location that allocation may take on `today`: available units of
    /// the SKU itself (untracked) or of lots neither recalled nor past their removal date.
    #[must_use]
    pub fn allocatable(&self, location: &LocationId, sku: &Sku, today: Date) -> u64 {
        let Some(def) = self.skus.get(sku) else { return 0 };
        self.buckets_at(location, sku)
            .filter(|(k, _)| match (&k.lot, def.lot_tracked) {
                (None, false) => true,
                (Some(lot), true) => self
                    .lots
                    .get(&(sku.clone(), lot.clone()))
                    .is_some_and(|l| l.allocatable_on(today, def.shelf_life_margin_days)),
                _ => false,
            })
            .map(|(_, s)| s.available)
            .sum()
    }

    /// Available-to-sell for a channel on `today` (DOMAIN §1): Σ over locations serving it of
    /// max(0, allocatable − safety stock); a `contract` channel may take safety stock, so its
    /// ATS is Σ allocatable. Exactly what allocation would reserve for the channel now.
    /// Unknown channels have none.
    #[must_use]
    pub fn ats(&self, channel: &ChannelId, sku: &Sku, today: Date) -> u64 {
        let Some(ch) = self.channels.get(channel) else { return 0 };
        self.locations
            .values()
            .filter(|l| l.channels.contains(channel))
            .map(|l| {
                let allocatable = self.allocatable(&l.id, sku, today);
                match ch.priority {
                    PriorityClass::Contract => allocatable,
                    PriorityClass::Standard => {
                        allocatable.saturating_sub(self.safety_stock(&l.id, sku))
                    }
                }
            })
            .sum()
    }

    /// Network ATS on `today`: Σ over all locations of max(0, allocatable − safety stock).
    #[must_use]
    pub fn network_ats(&self, sku: &Sku, today: Date) -> u64 {
        self.locations
            .keys()
            .map(|l| self.allocatable(l, sku, today).saturating_sub(self.safety_stock(l, sku)))
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

    /// The closed orders held in the state, to load and evict them (the engine).
    #[must_use]
    pub const fn closed_orders(&self) -> &crate::closed::ClosedOrders {
        &self.closed_orders
    }

    /// The closed orders held in the state, to load and evict them (the engine).
    pub const fn closed_orders_mut(&mut self) -> &mut crate::closed::ClosedOrders {
        &mut self.closed_orders
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

    /// A settlement, open or paid out.
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

    /// A SKU's valuation pool (owned units and their carrying value), if it holds units.
    #[must_use]
    pub fn pool(&self, sku: &Sku) -> Option<&crate::valuation::Pool> {
        self.pools.get(sku)
    }

    /// Every SKU's valuation pool that holds units, by SKU.
    pub fn pools(&self) -> impl Iterator<Item = (&Sku, &crate::valuation::Pool)> {
        self.pools.iter()
    }

    /// A supplier's master record.
    #[must_use]
    pub fn supplier(&self, id: &crate::ids::SupplierId) -> Option<&crate::purchasing::Supplier> {
        self.suppliers.get(id)
    }

    /// Every supplier, by id.
    pub fn suppliers(&self) -> impl Iterator<Item = &crate::purchasing::Supplier> {
        self.suppliers.values()
    }

    /// A purchase order with what was received and invoiced against it.
    #[must_use]
    pub fn purchase_order(
        &self,
        id: &crate::ids::PurchaseOrderId,
    ) -> Option<&crate::purchasing::PurchaseOrder> {
        self.purchase_orders.get(id)
    }

    /// Every purchase order, by id.
    pub fn purchase_orders(
        &self,
    ) -> impl Iterator<Item = (&crate::ids::PurchaseOrderId, &crate::purchasing::PurchaseOrder)>
    {
        self.purchase_orders.iter()
    }

    /// Receipts without a purchase order, per SKU: currency and received / matched.
    pub fn unmatched_receipts(
        &self,
    ) -> impl Iterator<Item = (&Sku, &(Currency, crate::purchasing::Grni))> {
        self.unmatched_receipts.iter()
    }

    /// Every supplier invoice, by supplier and invoice number.
    pub fn ap_invoices(&self) -> impl Iterator<Item = &crate::purchasing::ApInvoice> {
        self.ap_invoices.values()
    }

    /// A supplier's unapplied credit (paid and not applied to an invoice), minor units.
    #[must_use]
    pub fn supplier_credit(&self, id: &crate::ids::SupplierId) -> i64 {
        self.supplier_credit.get(id).copied().unwrap_or(0)
    }

    /// Whether no channel runs a workflow.
    #[must_use]
    pub fn workflow_is_empty(&self) -> bool {
        self.workflow.is_empty()
    }

    /// The workflow rules in force, per channel.
    pub fn workflows(&self) -> impl Iterator<Item = &crate::workflow::ChannelWorkflow> {
        self.workflow.values()
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
