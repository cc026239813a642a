//! Commands: what integrations, people and jobs ask of the ledger. One JSON-friendly enum,
//! tagged by `type`; quantities are signed so that a bad one is a rejection, not a parse error.

use serde::{Deserialize, Serialize};

use crate::ids::{
    Actor, BuyerId, ChannelId, CustomerId, InvoiceId, LocationId, LotId, OrderId, PaymentId,
    PayoutId, PurchaseOrderId, RefundId, ReturnId, SettlementId, Sku, SupplierId,
    SupplierInvoiceId, SupplierPaymentId, TransferId,
};
use crate::inventory::{AdjustReason, QuarantineReason};
use crate::journal::Posting;
use crate::master::{AbcClass, ChannelKind, LocationKind, PriorityClass};
use crate::money::{Currency, Money, Rate};
use crate::order::{Address, CancelReason, HoldReason};
use crate::returns::Disposition;
use crate::settlement::SettlementLineKind;
use crate::time::{Date, Timestamp};

/// What a decision may know besides state and command: business time and who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Business time of the command (never read from a clock inside the domain).
    pub now: Timestamp,
    /// Who asked.
    pub actor: Actor,
}

/// The list of every command, in one place: each with its doc, variant, payload type,
/// `type` tag (snake_case) and GraphQL field name (camelCase). Calls `$callback!` with it, so
/// that the [`Command`] enum here, the API's typed mutations and the checks of every surface
/// are generated from the same list and cannot drift. Adding a command means: its payload type
/// below (with its field docs, which become the GraphQL descriptions), one line here, its
/// decision, its example in [`crate::examples`], and its tests.
#[macro_export]
macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            /// Define or redefine a location.
            DefineLocation(DefineLocation) define_location "defineLocation";
            /// Define or redefine a channel.
            DefineChannel(DefineChannel) define_channel "defineChannel";
            /// Define or redefine a SKU.
            DefineSku(DefineSku) define_sku "defineSku";
            /// Set safety stock of a SKU at a location.
            SetSafetyStock(SetSafetyStock) set_safety_stock "setSafetyStock";
            /// Set the reorder point of a SKU at a location (point 0 clears it).
            SetReorderPoint(SetReorderPoint) set_reorder_point "setReorderPoint";
            /// Set how far a cycle count of a SKU class may be off and still be accurate.
            SetCountTolerance(SetCountTolerance) set_count_tolerance "setCountTolerance";
            /// Receive (place) an order.
            ReceiveOrder(ReceiveOrder) receive_order "receiveOrder";
            /// Validate a received order.
            ValidateOrder(OrderRef) validate_order "validateOrder";
            /// Put an order on hold.
            HoldOrder(HoldOrder) hold_order "holdOrder";
            /// Release an order's hold; a validated or fulfilling order is allocated.
            ReleaseHold(OrderRef) release_hold "releaseHold";
            /// Record that a hold is past its SLA due time (the engine's timer appends it; the
            /// clock decides: refused before the due time, a no-op once recorded).
            RecordHoldSlaBreach(OrderRef) record_hold_sla_breach "recordHoldSlaBreach";
            /// Allocate a validated order: rank order, split, backorder, FEFO.
            AllocateOrder(OrderRef) allocate_order "allocateOrder";
            /// Pick reserved units (at one location, or all).
            PickOrder(FulfilOrder) pick_order "pickOrder";
            /// Pack picked units.
            PackOrder(FulfilOrder) pack_order "packOrder";
            /// Ship packed units; issues the invoice and the COGS entry.
            ShipOrder(ShipOrder) ship_order "shipOrder";
            /// Record delivery of a fully shipped order.
            DeliverOrder(OrderRef) deliver_order "deliverOrder";
            /// Cancel an order nothing of which has shipped.
            CancelOrder(CancelOrder) cancel_order "cancelOrder";
            /// Replace the SKU of a line nothing of which is allocated.
            SubstituteLine(SubstituteLine) substitute_line "substituteLine";
            /// Cancel the units of an order still waiting for stock; what is allocated or
            /// shipped stays (the backorder timeout of a workflow sends it).
            CancelBackorders(CancelOrder) cancel_backorders "cancelBackorders";
            /// Record expected inbound (purchase order / ASN).
            ExpectInbound(ExpectInbound) expect_inbound "expectInbound";
            /// Define or redefine a supplier: currency, payment terms, invoice-match tolerances.
            DefineSupplier(DefineSupplier) define_supplier "defineSupplier";
            /// Create a purchase order (lines with located arrivals are also expected inbound).
            CreatePurchaseOrder(CreatePurchaseOrder) create_purchase_order "createPurchaseOrder";
            /// Receive stock (against a purchase-order line, or without one).
            ReceiveInventory(ReceiveInventory) receive_inventory "receiveInventory";
            /// Adjust available stock up or down.
            AdjustInventory(AdjustInventory) adjust_inventory "adjustInventory";
            /// Record a cycle count; the variance becomes an adjustment.
            CycleCount(CycleCount) cycle_count "cycleCount";
            /// Reconcile a partner's (3PL, drop-ship) on-hand count of one bucket: never
            /// overwrites; the variance against on-hand is recorded, adjusted when within the
            /// SKU class's count tolerance, raised as an exception beyond it.
            ReconcileStock(ReconcileStock) reconcile_stock "reconcileStock";
            /// Ship a transfer: available at the source → in transit at the destination.
            ShipTransfer(ShipTransfer) ship_transfer "shipTransfer";
            /// Receive a transfer: in transit → available.
            ReceiveTransfer(ReceiveTransfer) receive_transfer "receiveTransfer";
            /// Move available units to quarantine.
            QuarantineStock(QuarantineStock) quarantine_stock "quarantineStock";
            /// Move quarantined units back to available.
            ReleaseQuarantine(ReleaseQuarantine) release_quarantine "releaseQuarantine";
            /// Scrap units from available or a quarantine.
            ScrapStock(ScrapStock) scrap_stock "scrapStock";
            /// Recall a lot: quarantine it in every state, pull it back from orders, block
            /// allocation.
            RecallLot(RecallLot) recall_lot "recallLot";
            /// Expire a lot past its removal date: its available and reserved units go to
            /// quarantine (`expired`), reserved lines are allocated again (the engine's timer
            /// appends it; refused before the removal date).
            ExpireLot(LotRef) expire_lot "expireLot";
            /// Authorise a return.
            AuthorizeReturn(AuthorizeReturn) authorize_return "authorizeReturn";
            /// Receive returned units into `returned`.
            ReceiveReturn(ReceiveReturn) receive_return "receiveReturn";
            /// Inspect returned units with a disposition each.
            InspectReturn(InspectReturn) inspect_return "inspectReturn";
            /// Close a fully inspected return.
            CloseReturn(ReturnRef) close_return "closeReturn";
            /// Record a payment captured for an order.
            CapturePayment(CapturePayment) capture_payment "capturePayment";
            /// Record the processor's fee on an order's payments.
            RecordProcessorFee(RecordProcessorFee) record_processor_fee "recordProcessorFee";
            /// Refund shipped units and their tax.
            IssueRefund(IssueRefund) issue_refund "issueRefund";
            /// Pay back customer money held for an order that was not invoiced (e.g. after a
            /// cancellation).
            RefundDeposit(RefundDeposit) refund_deposit "refundDeposit";
            /// Record a processor payout to the bank.
            RecordProcessorPayout(RecordProcessorPayout) record_processor_payout "recordProcessorPayout";
            /// Open a marketplace settlement.
            OpenSettlement(OpenSettlement) open_settlement "openSettlement";
            /// Record one money line of a settlement.
            RecordSettlementLine(RecordSettlementLine) record_settlement_line "recordSettlementLine";
            /// Settle a settlement's payout to the bank.
            SettlePayout(SettlePayout) settle_payout "settlePayout";
            /// Record a supplier invoice: three-way match against received goods, or an exception.
            RecordSupplierInvoice(RecordSupplierInvoice) record_supplier_invoice "recordSupplierInvoice";
            /// Record a payment to a supplier, applied to its invoices.
            RecordSupplierPayment(RecordSupplierPayment) record_supplier_payment "recordSupplierPayment";
            /// Post a manual journal entry.
            PostJournalEntry(PostJournalEntry) post_journal_entry "postJournalEntry";
            /// Define or redefine a B2B customer: name, currency, payment terms, credit limit.
            DefineCustomer(DefineCustomer) define_customer "defineCustomer";
            /// Record a customer's payment and apply it to open invoices; what is not applied
            /// is the customer's unapplied credit.
            RecordCustomerPayment(RecordCustomerPayment) record_customer_payment "recordCustomerPayment";
            /// Set the workflow rules of every channel that has them (a channel left out runs
            /// none): validation, hold rules, auto-release, auto-allocation, backorder policy.
            ConfigureWorkflow(ConfigureWorkflow) configure_workflow "configureWorkflow";
            /// Take an open exception in hand (it stays open; acknowledging again adds a note).
            AcknowledgeException(AcknowledgeException) acknowledge_exception "acknowledgeException";
            /// Take an exception out of the queue, resolved or dismissed, with a note saying why.
            ResolveException(ResolveException) resolve_exception "resolveException";
            /// Amend an order before shipment to its channel's content now (an order edit).
            AmendOrder(AmendOrder) amend_order "amendOrder";
        }
    };
}

/// Defines [`Command`] and its tag list from [`for_each_command!`].
macro_rules! define_commands {
    ($($(#[doc = $doc:literal])* $variant:ident($payload:ident) $tag:ident $field:literal;)*) => {
        /// A command. JSON: `{"type": "receive_inventory", "location": "WH1", …}`; GraphQL: the
        /// `CommandInput` one-of (`{receiveInventory: {…}}`) or the typed mutation of the same
        /// name.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "graphql", derive(async_graphql::OneofObject), graphql(name = "CommandInput"))]
        #[serde(tag = "type", rename_all = "snake_case")]
        #[allow(
            clippy::large_enum_variant,
            reason = "a command lives for one decision; an order with its address, shipping lines and totals is the largest, and boxing it would change every caller"
        )]
        pub enum Command {
            $($(#[doc = $doc])* $variant($payload),)*
        }

        impl Command {
            /// Every command's `type` tag, in definition order.
            pub const TAGS: &'static [&'static str] = &[$(stringify!($tag)),*];

            /// The command's type name, as in its JSON `type` tag.
            #[must_use]
            pub const fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($tag),)*
                }
            }
        }
    };
}

for_each_command!(define_commands);

/// Define or redefine a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "DefineLocationInput")
)]
pub struct DefineLocation {
    /// Its id.
    pub location: LocationId,
    /// Its kind.
    pub kind: LocationKind,
    /// Allocation rank (lower first).
    pub rank: u32,
    /// Channels it ships for (must be defined).
    pub channels: Vec<ChannelId>,
}

/// Define or redefine a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "DefineChannelInput")
)]
pub struct DefineChannel {
    /// Its id.
    pub channel: ChannelId,
    /// Priority class.
    pub priority: PriorityClass,
    /// Kind.
    pub kind: ChannelKind,
    /// Currency of its orders.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Marketplace-facilitator tax: the marketplace collects and remits the tax of this
    /// channel's orders; the seller never credits 2200 for them. Default false (left out of the
    /// JSON then, so command ids of channels defined before the flag existed do not change).
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub facilitator_tax: bool,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if signature")]
fn is_false(value: &bool) -> bool {
    !*value
}

/// Define or redefine a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "DefineSkuInput")
)]
pub struct DefineSku {
    /// Its id.
    pub sku: Sku,
    /// Kept by lot with expiry?
    pub lot_tracked: bool,
    /// Days before expiry when a lot stops being allocatable.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub shelf_life_margin_days: u32,
    /// Standard unit cost (non-negative).
    pub unit_cost: Money,
    /// ABC class.
    pub abc: AbcClass,
}

/// Set safety stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SetSafetyStockInput")
)]
pub struct SetSafetyStock {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units (zero or more).
    pub qty: i64,
}

/// Set the reorder point of a SKU at a location: when the units there that are available or
/// in transit fall to or below `point`, the SKU needs replenishing with `reorder_qty` units
/// (an (s, Q) policy). A point of 0 clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SetReorderPointInput")
)]
pub struct SetReorderPoint {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units at or below which to reorder (zero or more; 0 clears the reorder point).
    pub point: i64,
    /// Units to order each time (at least 1 when `point` is set; ignored when clearing).
    pub reorder_qty: i64,
}

/// Set the cycle-count tolerance of an ABC class (DOMAIN §5 record accuracy): a count of a
/// SKU of `class` is accurate when it differs from the expected on-hand by at most `units`, or
/// by at most `fraction` of the expected on-hand. Counts are judged with the tolerance in
/// force when they are taken; a change does not rejudge earlier counts. Units 0 and no
/// fraction is exact, the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SetCountToleranceInput")
)]
pub struct SetCountTolerance {
    /// The ABC class whose counts it judges.
    pub class: AbcClass,
    /// Units a count may be off (0 to 10⁹).
    pub units: i64,
    /// Or this fraction of the expected on-hand (`"0.05"` = 5 %; absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<Rate>,
}

/// A line of an incoming order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "OrderLineInput")
)]
pub struct OrderLineInput {
    /// The SKU.
    pub sku: Sku,
    /// Units (at least 1).
    pub qty: i64,
    /// Unit price (non-negative, in the order's currency): before tax, or tax included when
    /// the order's `taxes_included` is set.
    pub unit_price: Money,
    /// Discounts allocated to this line, for all its units (Shopify's
    /// `discount_allocations`, order-level codes included); at most units × unit price.
    /// Absent: none.
    #[serde(default)]
    pub discount: Option<Money>,
    /// Its taxes by jurisdiction. Absent: one tax line `Tax` at the order's `tax_rate` (none
    /// when that rate is 0); an empty list: untaxed.
    #[serde(default)]
    pub tax_lines: Option<Vec<TaxLineInput>>,
}

impl OrderLineInput {
    /// A line at `unit_price`, without a discount, taxed at the order's `tax_rate`.
    #[must_use]
    pub fn new(sku: Sku, qty: i64, unit_price: Money) -> Self {
        Self { sku, qty, unit_price, discount: None, tax_lines: None }
    }
}

/// One tax on a line or on shipping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject), graphql(name = "TaxLineInput"))]
pub struct TaxLineInput {
    /// The jurisdiction as the channel names it (`CA State Tax`, `MwSt.`); at most 1 KiB.
    pub title: String,
    /// Its rate, an exact decimal fraction (`"0.0725"`).
    pub rate: Rate,
    /// What it charges on the whole line (all units), when the source states it (Shopify's
    /// `tax_lines[].price`); taken as given. Absent: computed from the rate, half-even (tax
    /// extracted from the price when taxes are included).
    #[serde(default)]
    pub amount: Option<Money>,
}

/// A shipping line of an incoming order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ShippingLineInput")
)]
pub struct ShippingLineInput {
    /// The method (`Standard`, `Express`); at most 1 KiB.
    pub title: String,
    /// Its price (non-negative; tax included when the order's `taxes_included` is set).
    pub price: Money,
    /// The discount on it (free-shipping codes), at most its price. Absent: none.
    #[serde(default)]
    pub discount: Option<Money>,
    /// Its taxes. Absent: one tax line `Tax` at the order's `tax_rate`; empty: untaxed.
    #[serde(default)]
    pub tax_lines: Option<Vec<TaxLineInput>>,
}

/// Receive (place) an order. The same order id with the same content is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReceiveOrderInput")
)]
pub struct ReceiveOrder {
    /// Its id.
    pub order: OrderId,
    /// The channel.
    pub channel: ChannelId,
    /// When the customer placed it.
    pub placed_at: Timestamp,
    /// Currency (must be the channel's).
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Lines.
    pub lines: Vec<OrderLineInput>,
    /// Shipping charged (before tax). With `shipping_lines`, must equal the sum of their
    /// prices.
    pub shipping: Money,
    /// Sales tax rate: the tax of every line and shipping line that lists no `tax_lines`.
    pub tax_rate: Rate,
    /// Whether prices include tax (VAT shops, Shopify's `taxes_included`): the tax is
    /// extracted from each line, not added. Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub taxes_included: bool,
    /// Shipping by method, with discounts and taxes. Absent or empty: one line `Shipping` of
    /// `shipping` taxed at `tax_rate` (none when `shipping` is 0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub shipping_lines: Vec<ShippingLineInput>,
    /// The number the customer knows the order by (Shopify's `name`, `#1001`); at most 1 KiB.
    #[serde(default)]
    pub number: Option<String>,
    /// The source's total tax: when given, computed taxes are adjusted by their rounding
    /// remainders (at most a cent each) to match it, and the order is refused when they cannot.
    #[serde(default)]
    pub total_tax: Option<Money>,
    /// The source's grand total (Shopify's `total_price`): when given, the order is refused
    /// unless lines − discounts + shipping + tax add up to it exactly.
    #[serde(default)]
    pub total: Option<Money>,
    /// The B2B customer buying on terms (must be defined, in the order's currency); absent
    /// for consumer orders.
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// Where the goods go. Validation holds an order without a complete address
    /// (reason `address`).
    #[serde(default)]
    pub ship_to: Option<Box<Address>>,
    /// Who buys, as the channel knows them (its customer id or e-mail): hold rules count a
    /// buyer's first order by it.
    #[serde(default)]
    pub buyer: Option<BuyerId>,
    /// The channel's fraud score, 0 (safe) to 100.
    #[serde(default)]
    pub fraud_score: Option<i64>,
    /// Payments the channel already captured for it (a web order paid at checkout): recorded
    /// with the order, as `capturePayment` would (Dr 1100 clearing, Cr 2100 deposits).
    /// (Left out of the JSON when empty, so that the content id of an order without them is
    /// what it was before the field existed.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub payments: Vec<PaymentAtReceipt>,
    /// The source's version of this content (Shopify's `updated_at`). With it, an order
    /// received before with other lines, shipping or ship-to is amended to this content (as
    /// `amendOrder` with the same revision) instead of refused, unless this revision is not
    /// later than the order's (a stale, out-of-order delivery: nothing changes); and lines of
    /// 0 units are allowed (lines the source removed: a new order keeps those before a line
    /// with units at 0 units, so line numbers stay the source's, and leaves out the others;
    /// same revision, other content: `DUPLICATE_ORDER_CONFLICT`). Without it,
    /// other content is refused (`DUPLICATE_ORDER_CONFLICT`). (Left out of the JSON when
    /// absent, so the content id of an order without it is what it was before.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Timestamp>,
}

/// Amend an order to the content its channel has now (DOMAIN.md §2; Shopify's order edits).
/// The lines are the whole order as it is now: each is matched to the order's first line of
/// the same SKU (as first ordered) and unit price not yet matched, in order; a line of the
/// order left unmatched is removed (0 units); lines left over are added. Refused for a
/// shipped, delivered or cancelled order, for units already picked, packed or shipped, for a
/// change of a line with shipped units or of shipping already invoiced, and for a ship-to
/// change after a shipment. Reducing a line releases its reservations (and backorder) for the
/// removed units; added units are allocated by the policy when the order is being fulfilled
/// and not held; an order not yet allocated goes back to `received` when its channel's
/// workflow validates orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "AmendOrderInput")
)]
pub struct AmendOrder {
    /// The order.
    pub order: OrderId,
    /// The source's version of this content (Shopify's `updated_at`): an amendment not later
    /// than the order's last revision is stale and changes nothing. Absent: always applies.
    #[serde(default)]
    pub revision: Option<Timestamp>,
    /// Every line as it is now (0 units: removed), priced as in `receiveOrder`.
    pub lines: Vec<OrderLineInput>,
    /// Shipping charged (before tax); with `shipping_lines`, the sum of their prices.
    pub shipping: Money,
    /// Sales tax rate of lines and shipping lines that list no `tax_lines`.
    pub tax_rate: Rate,
    /// Shipping by method. Absent or empty: one line `Shipping` of `shipping`.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub shipping_lines: Vec<ShippingLineInput>,
    /// The source's total tax now: computed taxes are adjusted to match it, as at receipt.
    #[serde(default)]
    pub total_tax: Option<Money>,
    /// The source's grand total now: refused unless the amended order adds up to it.
    #[serde(default)]
    pub total: Option<Money>,
    /// Where the goods go now. Absent: unchanged.
    #[serde(default)]
    pub ship_to: Option<Box<Address>>,
}

/// A payment captured before the order reached the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "PaymentAtReceiptInput")
)]
pub struct PaymentAtReceipt {
    /// The processor's payment id.
    pub payment: PaymentId,
    /// Amount (positive, order currency).
    pub amount: Money,
}

/// A command about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "OrderRefInput")
)]
pub struct OrderRef {
    /// The order.
    pub order: OrderId,
}

/// Hold an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "HoldOrderInput")
)]
pub struct HoldOrder {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: HoldReason,
    /// SLA due time.
    pub due_at: Timestamp,
    /// Free text.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub note: String,
}

/// Pick or pack an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "FulfilOrderInput")
)]
pub struct FulfilOrder {
    /// The order.
    pub order: OrderId,
    /// Only units at this location; all when absent.
    #[serde(default)]
    pub location: Option<LocationId>,
    /// Picks only: reserved units the picker did not find. They leave on hand (adjustment
    /// `short_pick`, written off), a cycle-count task is raised, and the line is allocated
    /// again by the normal policy. Refused on a pack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub short: Vec<ShortPick>,
}

/// Units of one reserved allocation a picker did not find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ShortPickInput")
)]
pub struct ShortPick {
    /// Line number (0-based).
    pub line: u32,
    /// Where the units were reserved.
    pub location: LocationId,
    /// Which lot (lot-tracked SKUs).
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units not found (1 to the units reserved there).
    pub missing: i64,
}

/// Ship an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ShipOrderInput")
)]
pub struct ShipOrder {
    /// The order.
    pub order: OrderId,
    /// Only units at this location; all when absent.
    #[serde(default)]
    pub location: Option<LocationId>,
    /// Carrier name.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub carrier: String,
    /// Tracking number.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub tracking: String,
    /// Serial numbers of the units shipped, if serialised.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub serials: Vec<String>,
}

/// Cancel an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "CancelOrderInput")
)]
pub struct CancelOrder {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: CancelReason,
}

/// Take an open exception in hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "AcknowledgeExceptionInput")
)]
pub struct AcknowledgeException {
    /// The exception's number (`number` in the exception queue: the ordinal of its
    /// `exception.raised` event, 1 being the first ever raised).
    pub exception: crate::exceptions::ExceptionNo,
    /// A note (who is on it, what happens next); may be empty, at most 256 bytes.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub note: String,
}

/// How a person takes an exception out of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ManualResolution {
    /// The cause was dealt with (counted, booked, corrected).
    Resolved,
    /// Nothing needs doing.
    Dismissed,
}

/// Take an exception out of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ResolveExceptionInput")
)]
pub struct ResolveException {
    /// The exception's number (see `acknowledgeException`).
    pub exception: crate::exceptions::ExceptionNo,
    /// Resolved or dismissed.
    pub resolution: ManualResolution,
    /// What was done, for the audit trail (required, at most 256 bytes).
    pub note: String,
}

/// Set the workflow rules (replacing the rules in force).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ConfigureWorkflowInput")
)]
pub struct ConfigureWorkflow {
    /// One workflow per channel.
    pub channels: Vec<crate::workflow::ChannelWorkflow>,
}

/// Substitute a line's SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SubstituteLineInput")
)]
pub struct SubstituteLine {
    /// The order.
    pub order: OrderId,
    /// Line number (0-based).
    pub line: u32,
    /// The replacement SKU.
    pub sku: Sku,
}

/// Expected inbound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ExpectInboundInput")
)]
pub struct ExpectInbound {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units.
    pub qty: i64,
    /// Expected arrival.
    pub eta: Timestamp,
}

/// Receive stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReceiveInventoryInput")
)]
pub struct ReceiveInventory {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// The lot (lot-tracked SKUs only).
    #[serde(default)]
    pub lot: Option<LotId>,
    /// The lot's expiry date.
    #[serde(default)]
    pub expiry: Option<Date>,
    /// Units.
    pub qty: i64,
    /// Actual unit cost; against a purchase order its line's cost (a different one is
    /// refused), otherwise the SKU's standard cost when absent.
    #[serde(default)]
    pub unit_cost: Option<Money>,
    /// The purchase order the goods arrive against (with `po_line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order: Option<PurchaseOrderId>,
    /// The purchase-order line (0-based; with `purchase_order`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_line: Option<u32>,
}

/// Adjust available stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "AdjustInventoryInput")
)]
pub struct AdjustInventory {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Signed units (non-zero).
    pub delta: i64,
    /// Why.
    pub reason: AdjustReason,
}

/// A cycle count of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "CycleCountInput")
)]
pub struct CycleCount {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units physically counted (compared with on_hand).
    pub counted: i64,
}

/// A partner's on-hand snapshot of one bucket (`stock-snapshot-csv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReconcileStockInput")
)]
pub struct ReconcileStock {
    /// The partner's location.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot (lot-tracked SKUs).
    #[serde(default)]
    pub lot: Option<LotId>,
    /// The lot's expiry as the partner reports it (kept on the event; a disagreement with
    /// the lot's recorded expiry is named in the exception, never overwritten).
    #[serde(default)]
    pub expiry: Option<Date>,
    /// Units on hand by the partner's count (0 to 10⁹).
    pub counted: i64,
    /// When the partner counted: the count is compared with on-hand at that time. At most
    /// `SNAPSHOT_AGE_MAX_MS` (30 days) before the command's business time, never after it.
    pub as_of: Timestamp,
}

/// Ship a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ShipTransferInput")
)]
pub struct ShipTransfer {
    /// New transfer id.
    pub transfer: TransferId,
    /// Source.
    pub from: LocationId,
    /// Destination.
    pub to: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
}

/// Receive (part of) a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReceiveTransferInput")
)]
pub struct ReceiveTransfer {
    /// The transfer.
    pub transfer: TransferId,
    /// Units received.
    pub qty: i64,
}

/// Quarantine available units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "QuarantineStockInput")
)]
pub struct QuarantineStock {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
    /// Why.
    pub reason: QuarantineReason,
}

/// Release quarantined units to available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReleaseQuarantineInput")
)]
pub struct ReleaseQuarantine {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
    /// Which quarantine.
    pub reason: QuarantineReason,
}

/// Scrap units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ScrapStockInput")
)]
pub struct ScrapStock {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Which lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
    /// From which quarantine; from available when absent.
    #[serde(default)]
    pub from: Option<QuarantineReason>,
}

/// Recall a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecallLotInput")
)]
pub struct RecallLot {
    /// The SKU.
    pub sku: Sku,
    /// The lot.
    pub lot: LotId,
}

/// A lot of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject), graphql(name = "LotRefInput"))]
pub struct LotRef {
    /// The SKU.
    pub sku: Sku,
    /// The lot.
    pub lot: LotId,
}

/// Units of an order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject), graphql(name = "LineQtyInput"))]
pub struct LineQty {
    /// Line number (0-based).
    pub line: u32,
    /// Units.
    pub qty: i64,
}

/// Authorise a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "AuthorizeReturnInput")
)]
pub struct AuthorizeReturn {
    /// New return id.
    pub return_id: ReturnId,
    /// The order.
    pub order: OrderId,
    /// Units per line (at most shipped − already authorised).
    pub lines: Vec<LineQty>,
}

/// Returned units of a line and lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReturnItemInput")
)]
pub struct ReturnItemInput {
    /// Line number.
    pub line: u32,
    /// Lot (lot-tracked SKUs).
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
}

/// Receive returned units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReceiveReturnInput")
)]
pub struct ReceiveReturn {
    /// The return.
    pub return_id: ReturnId,
    /// Where.
    pub location: LocationId,
    /// Units.
    pub items: Vec<ReturnItemInput>,
}

/// An inspection result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "InspectionInput")
)]
pub struct InspectionInput {
    /// Line number.
    pub line: u32,
    /// Lot.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Units.
    pub qty: i64,
    /// What happens to them.
    pub disposition: Disposition,
}

/// Inspect returned units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "InspectReturnInput")
)]
pub struct InspectReturn {
    /// The return.
    pub return_id: ReturnId,
    /// Results.
    pub items: Vec<InspectionInput>,
}

/// A command about one return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "ReturnRefInput")
)]
pub struct ReturnRef {
    /// The return.
    pub return_id: ReturnId,
}

/// Payment captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "CapturePaymentInput")
)]
pub struct CapturePayment {
    /// The order.
    pub order: OrderId,
    /// The processor's payment id.
    pub payment: PaymentId,
    /// Amount (positive, order currency).
    pub amount: Money,
    /// When true, `amount` is what the channel says the order's captures add up to so far
    /// (Shopify's paid total of a `partially_paid` order, then `paid`): only the part not yet
    /// recorded is captured, and nothing when it is recorded already. Left out of the JSON
    /// when false.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub cumulative: bool,
}

/// How a processor fee is given. JSON: `{"kind": "amount", "amount": …}` or
/// `{"kind": "rate", "rate": "0.029", "fixed": …}`; GraphQL: a one-of, `{exact: {amount: …}}` or
/// `{rate: {rate: "2.9", fixed: …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::OneofObject), graphql(name = "FeeInput"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeeInput {
    /// The exact fee, as the processor reports it.
    #[cfg_attr(feature = "graphql", graphql(name = "exact"))]
    Amount(FeeAmount),
    /// Rate × captured amount (half-even) + fixed.
    Rate(FeeRate),
}

/// A fee given as the processor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "FeeAmountInput")
)]
pub struct FeeAmount {
    /// The fee.
    pub amount: Money,
}

/// A fee given as a rate of the captured amount plus a fixed part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject), graphql(name = "FeeRateInput"))]
pub struct FeeRate {
    /// The percentage of the captured amount (rounded half-even to the minor unit).
    pub rate: Rate,
    /// The fixed part.
    pub fixed: Money,
}

/// Processor fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordProcessorFeeInput")
)]
pub struct RecordProcessorFee {
    /// The order.
    pub order: OrderId,
    /// The fee.
    pub fee: FeeInput,
}

/// Refund shipped units and their tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "IssueRefundInput")
)]
pub struct IssueRefund {
    /// New refund id.
    pub refund: RefundId,
    /// The order.
    pub order: OrderId,
    /// Units per line (may be empty when only shipping is refunded).
    pub lines: Vec<RefundLine>,
    /// Shipping refunded, tax excluded (Shopify's shipping refund). Absent: none. At most the
    /// shipping invoiced and not yet refunded.
    #[serde(default)]
    pub shipping: Option<Money>,
    /// The tax refunded with the shipping. Absent: none.
    #[serde(default)]
    pub shipping_tax: Option<Money>,
}

/// Units of an order line refunded, and the money when the source states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RefundLineInput")
)]
pub struct RefundLine {
    /// Line number (0-based).
    pub line: u32,
    /// Units.
    pub qty: i64,
    /// What the units are refunded at, after their discount, before tax (tax included in a
    /// tax-included order), as the source says (Shopify's `refund_line_items[].subtotal`).
    /// Absent: the units' share of the line (`crate::pricing`).
    #[serde(default)]
    pub amount: Option<Money>,
    /// The tax refunded with them (Shopify's `total_tax`). Absent: their share of the line's
    /// tax.
    #[serde(default)]
    pub tax: Option<Money>,
}

/// Pay back customer money held in deposits for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RefundDepositInput")
)]
pub struct RefundDeposit {
    /// New refund id.
    pub refund: RefundId,
    /// The order (open, delivered or cancelled).
    pub order: OrderId,
    /// Amount (positive, at most the deposit held).
    pub amount: Money,
}

/// Processor payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordProcessorPayoutInput")
)]
pub struct RecordProcessorPayout {
    /// The payout id.
    pub payout: PayoutId,
    /// Amount (positive, at most the clearing balance).
    pub amount: Money,
}

/// Open a settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "OpenSettlementInput")
)]
pub struct OpenSettlement {
    /// New settlement id.
    pub settlement: SettlementId,
    /// The marketplace channel.
    pub channel: ChannelId,
    /// Currency.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// First day.
    pub period_start: Date,
    /// Last day.
    pub period_end: Date,
}

/// One settlement money line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordSettlementLineInput")
)]
pub struct RecordSettlementLine {
    /// The settlement.
    pub settlement: SettlementId,
    /// Kind.
    pub kind: SettlementLineKind,
    /// Signed amount (non-zero, positive = owed to us).
    pub amount: Money,
    /// The order, if any.
    #[serde(default)]
    pub order: Option<OrderId>,
    /// The SKU, if any.
    #[serde(default)]
    pub sku: Option<Sku>,
    /// Units, if any.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub qty: u64,
    /// The marketplace's description.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub description: String,
}

/// Payout of a settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SettlePayoutInput")
)]
pub struct SettlePayout {
    /// The settlement.
    pub settlement: SettlementId,
    /// Amount deposited (must equal Σ net of lines).
    pub amount: Money,
    /// Deposit date.
    pub deposit_date: Date,
}

/// A manual journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "PostJournalEntryInput")
)]
pub struct PostJournalEntry {
    /// Description.
    pub memo: String,
    /// Postings, debit positive (must balance per currency).
    pub postings: Vec<Posting>,
}

/// Define or redefine a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "DefineSupplierInput")
)]
pub struct DefineSupplier {
    /// Its id.
    pub supplier: SupplierId,
    /// Its name.
    pub name: String,
    /// The currency it invoices in (its purchase orders, invoices and payments use it).
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Payment terms: invoices are due this many days after they are recorded (net N).
    pub payment_terms_days: u32,
    /// Units an invoice line may bill beyond what was received and not yet invoiced
    /// (0 when absent).
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub qty_tolerance: i64,
    /// Fraction an invoiced unit price may differ from the purchase-order cost ("0.02" = 2 %;
    /// 0 when absent).
    #[serde(default)]
    pub price_tolerance: Option<Rate>,
}

/// A line of a new purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "PurchaseOrderLineInput")
)]
pub struct PurchaseOrderLineInput {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered (at least 1).
    pub qty: i64,
    /// Agreed unit cost, in the supplier's currency (non-negative).
    pub unit_cost: Money,
    /// Where the goods will arrive; with it the units are also expected inbound there.
    #[serde(default)]
    pub location: Option<LocationId>,
    /// Expected arrival (the command's time when absent).
    #[serde(default)]
    pub eta: Option<Timestamp>,
}

/// Create a purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "CreatePurchaseOrderInput")
)]
pub struct CreatePurchaseOrder {
    /// Its id (new).
    pub purchase_order: PurchaseOrderId,
    /// The supplier (defined).
    pub supplier: SupplierId,
    /// Lines, numbered from 0 in this order.
    pub lines: Vec<PurchaseOrderLineInput>,
}

/// A line of a supplier invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "SupplierInvoiceLineInput")
)]
pub struct SupplierInvoiceLineInput {
    /// The purchase-order line billed (required with a purchase order).
    #[serde(default)]
    pub po_line: Option<u32>,
    /// The SKU billed (required without a purchase order: matches receipts made without one).
    #[serde(default)]
    pub sku: Option<Sku>,
    /// Units billed (at least 1).
    pub qty: i64,
    /// Unit price billed, in the supplier's currency (non-negative).
    pub unit_price: Money,
}

/// Record a supplier invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordSupplierInvoiceInput")
)]
pub struct RecordSupplierInvoice {
    /// The supplier's invoice number (new for this supplier).
    pub invoice: SupplierInvoiceId,
    /// The supplier.
    pub supplier: SupplierId,
    /// The purchase order billed; absent for goods received without one.
    #[serde(default)]
    pub purchase_order: Option<PurchaseOrderId>,
    /// Lines.
    pub lines: Vec<SupplierInvoiceLineInput>,
}

/// Money of a supplier payment applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "PaymentApplicationInput")
)]
pub struct PaymentApplicationInput {
    /// The invoice.
    pub invoice: SupplierInvoiceId,
    /// Amount applied (positive, at most what is still owed on it).
    pub amount: Money,
}

/// Record a payment to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordSupplierPaymentInput")
)]
pub struct RecordSupplierPayment {
    /// Its id (new).
    pub payment: SupplierPaymentId,
    /// The supplier.
    pub supplier: SupplierId,
    /// Amount paid from the bank (0 or more, the supplier's currency); 0 only applies credit
    /// left by earlier payments.
    pub amount: Money,
    /// Invoices it pays; Σ at most the amount plus the supplier's unapplied credit. What is
    /// not applied stays as unapplied credit.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub applications: Vec<PaymentApplicationInput>,
}

/// Define or redefine a B2B customer buying on terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "DefineCustomerInput")
)]
pub struct DefineCustomer {
    /// Its id.
    pub customer: CustomerId,
    /// Its name.
    pub name: String,
    /// Currency of its orders, invoices and payments.
    #[cfg_attr(feature = "graphql", graphql(name = "currencyCode"))]
    pub currency: Currency,
    /// Payment terms `net N`: an invoice is due N days after shipment (0 to 365).
    pub terms_days: u32,
    /// Credit limit on open receivables (non-negative): an order that would take open AR past
    /// it is held with reason `credit`.
    pub credit_limit: Money,
}

/// Part of a customer payment applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "CustomerPaymentApplicationInput")
)]
pub struct CustomerPaymentApplicationInput {
    /// The open invoice.
    pub invoice: InvoiceId,
    /// Amount applied (positive, at most the invoice's open amount).
    pub amount: Money,
}

/// Record a customer's payment (cash application).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "RecordCustomerPaymentInput")
)]
pub struct RecordCustomerPayment {
    /// The payment's id (new).
    pub payment: PaymentId,
    /// The paying customer.
    pub customer: CustomerId,
    /// Money received in the bank (zero when only applying existing credit).
    pub amount: Money,
    /// Invoices it pays. Σ may exceed `amount` by at most the customer's unapplied credit
    /// (cash is applied first, then credit); what is left of `amount` becomes credit.
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub applications: Vec<CustomerPaymentApplicationInput>,
}
