//! Events: the facts `decide` emits and `evolve` applies. One enum of payload structs; every
//! variant has a stable type name, a schema version and the stream it belongs to.

use serde::{Deserialize, Serialize};

use crate::customer::{Customer, InvoiceApplication};
use crate::ids::{
    ChannelId, CustomerId, InvoiceId, LocationId, LotId, OrderId, PaymentId, PayoutId, RefundId,
    ReturnId, SettlementId, Sku, TransferId,
};
use crate::inventory::{AdjustReason, Claim, QuarantineReason, StockKey};
use crate::journal::{Account, JournalEntry};
use crate::master::{AbcClass, Channel, CountTolerance, Location, SkuDef};
use crate::money::{Currency, Money};
use crate::order::{CancelReason, Digest, HoldReason, OrderLine};
use crate::quantity::Quantity;
use crate::returns::Disposition;
use crate::settlement::SettlementLineKind;
use crate::stream;
use crate::time::{Date, Timestamp};

/// Safety stock set for a location × SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyStockSet {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units.
    pub qty: u64,
}

/// A reorder point set for a location × SKU (point 0: cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReorderPointSet {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units at or below which to reorder; 0 when cleared.
    pub point: u64,
    /// Units to order each time; 0 when cleared.
    pub reorder_qty: u64,
}

/// The cycle-count tolerance of an ABC class was set: counts taken from now on are judged
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountToleranceSet {
    /// The class.
    pub class: AbcClass,
    /// The tolerance (exact: units 0, fraction 0).
    pub tolerance: CountTolerance,
}

/// An order was received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReceived {
    /// Its id.
    pub order: OrderId,
    /// The channel.
    pub channel: ChannelId,
    /// When the customer placed it.
    pub placed_at: Timestamp,
    /// Currency.
    pub currency: Currency,
    /// Lines, with their discounts and taxes (computed ones already computed).
    pub lines: Vec<OrderLine>,
    /// Shipping charged, by method, with discounts and taxes.
    pub shipping_lines: Vec<crate::order::ShippingLine>,
    /// Whether prices include tax.
    pub taxes_included: bool,
    /// The number the customer knows it by (`#1001`).
    pub number: Option<String>,
    /// Digest of the content, for duplicate detection.
    pub digest: Digest,
    /// The B2B customer, when the order names one.
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// Address, buyer and fraud score as the channel sent them.
    #[serde(default)]
    pub profile: crate::order::Profile,
    /// The source's version of this content (Shopify's `updated_at`), when it gave one.
    #[serde(default)]
    pub revision: Option<crate::time::Timestamp>,
}

/// One line of an order after an amendment: its units (0 when the source removed it) and its
/// money for those units, re-derived like a received line's (`crate::pricing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendedLine {
    /// The SKU (a substituted line keeps its substitute).
    pub sku: Sku,
    /// Units ordered now (0: removed).
    pub qty: u64,
    /// Price of one unit.
    pub unit_price: Money,
    /// Discounts allocated to the line, for all its units.
    pub discount: Money,
    /// Its taxes, for all its units.
    pub taxes: Vec<crate::order::TaxLine>,
}

/// An order's content was changed before shipment (Shopify's order edits): lines reduced,
/// removed or added, shipping re-priced, the ship-to changed. Line numbers never change:
/// `lines` lists every line of the order after the amendment, the existing ones first in
/// their place, then the added ones. Reservations released for removed units precede it;
/// allocations of added units follow it. Nothing is posted in the books (revenue is
/// recognised at shipment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmended {
    /// The order.
    pub order: OrderId,
    /// The source's version of the new content, when it gave one.
    pub revision: Option<crate::time::Timestamp>,
    /// Every line after the amendment, by line number.
    pub lines: Vec<AmendedLine>,
    /// Shipping after the amendment.
    pub shipping_lines: Vec<crate::order::ShippingLine>,
    /// Where the goods go after the amendment.
    pub ship_to: Option<crate::order::Address>,
    /// What the customer pays in all now (lines − discounts + shipping + tax added).
    pub total: Money,
    /// Digest of the new content (a receive of the same content is then no duplicate).
    pub digest: Digest,
    /// Whether the order goes back to `received`, so its channel's workflow validates it
    /// (and its hold rules look at it) again.
    pub revalidate: bool,
}

/// An event about one order and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// The order.
    pub order: OrderId,
}

/// An order was put on hold (schema v2: v1 had no `note`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderHeld {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: HoldReason,
    /// SLA due time.
    pub due_at: Timestamp,
    /// Free text.
    pub note: String,
}

/// Units of an order line were reserved at a location (and lot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAllocated {
    /// The order.
    pub order: OrderId,
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Which lot.
    pub lot: Option<LotId>,
    /// Units reserved.
    pub qty: Quantity,
    /// Whether this filled a backorder when stock arrived.
    pub backorder_fill: bool,
}

/// Units of an order line wait for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineBackordered {
    /// The order.
    pub order: OrderId,
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Units waiting.
    pub qty: Quantity,
}

/// A line's SKU was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSubstituted {
    /// The order.
    pub order: OrderId,
    /// Line number.
    pub line: u32,
    /// The SKU ordered.
    pub from: Sku,
    /// The SKU that replaces it.
    pub to: Sku,
}

/// Units claimed by a line went back to available: reserved units (a hold, a recall, a count
/// below the claims, a short pick), or picked or packed units pulled back. The line is
/// allocated again by the same decision or waits for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationReleased {
    /// The order.
    pub order: OrderId,
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Which lot.
    pub lot: Option<LotId>,
    /// Units released.
    pub qty: Quantity,
    /// The claim they leave (reserved unless pulled back from picked or packed).
    #[serde(default)]
    pub from: Claim,
}

/// Units of a line moved one fulfilment stage at a location (and lot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentItem {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Which lot.
    pub lot: Option<LotId>,
    /// Units.
    pub qty: Quantity,
}

/// Units were picked or packed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFulfilment {
    /// The order.
    pub order: OrderId,
    /// What moved.
    pub items: Vec<FulfilmentItem>,
}

/// A shipped unit group, with its lot's expiry for traceability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedItem {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// From where.
    pub location: LocationId,
    /// Which lot.
    pub lot: Option<LotId>,
    /// The lot's expiry.
    pub expiry: Option<Date>,
    /// Units.
    pub qty: Quantity,
}

/// Packed units left to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderShipped {
    /// The order.
    pub order: OrderId,
    /// What shipped.
    pub items: Vec<ShippedItem>,
    /// Carrier.
    pub carrier: String,
    /// Tracking number.
    pub tracking: String,
    /// Serial numbers.
    pub serials: Vec<String>,
}

/// An order (or, for `order.remainder_cancelled`, the unshipped remainder of a partly shipped
/// order) was cancelled; its reserved, picked and packed units return to available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: CancelReason,
    /// Units released back to available.
    pub released: Vec<FulfilmentItem>,
}

/// Inbound expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundExpected {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units.
    pub qty: Quantity,
    /// Expected arrival.
    pub eta: Timestamp,
}

/// Stock received into available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReceived {
    /// Where.
    pub key: StockKey,
    /// The lot's expiry.
    pub expiry: Option<Date>,
    /// Units.
    pub qty: Quantity,
    /// Unit cost.
    pub unit_cost: Money,
    /// Units of `incoming` this receipt fulfils.
    pub from_incoming: u64,
}

/// Available stock adjusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryAdjusted {
    /// Where.
    pub key: StockKey,
    /// Signed units.
    pub delta: i64,
    /// Why.
    pub reason: AdjustReason,
}

/// A cycle count (its variance follows as an adjustment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleCounted {
    /// Where.
    pub key: StockKey,
    /// on_hand before the count.
    pub expected: u64,
    /// Units counted.
    pub counted: u64,
}

/// A partner's on-hand snapshot of a bucket was compared with Tally's on-hand. It never
/// overwrites: an accepted variance follows as an `inventory.adjusted` (reason `snapshot`),
/// one beyond tolerance as an `exception.raised` (`snapshot_variance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSnapshotReconciled {
    /// Where.
    pub key: StockKey,
    /// The lot's expiry as the partner reported it.
    pub expiry: Option<crate::time::Date>,
    /// When the partner counted.
    pub as_of: crate::time::Timestamp,
    /// Tally's on-hand at `as_of` (on-hand when decided minus the changes dated after it).
    pub expected: u64,
    /// The partner's count.
    pub counted: u64,
    /// `counted − expected`.
    pub variance: i64,
    /// Whether the variance was within the SKU class's count tolerance (and so adjusted).
    pub within_tolerance: bool,
}

/// A transfer left its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferShipped {
    /// The transfer.
    pub transfer: TransferId,
    /// Source bucket.
    pub from: StockKey,
    /// Destination location.
    pub to: LocationId,
    /// Units.
    pub qty: Quantity,
}

/// A transfer (or part) arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReceived {
    /// The transfer.
    pub transfer: TransferId,
    /// Destination bucket.
    pub key: StockKey,
    /// Units.
    pub qty: Quantity,
}

/// Units moved between available and a quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineMove {
    /// Where.
    pub key: StockKey,
    /// Units.
    pub qty: Quantity,
    /// Which quarantine.
    pub reason: QuarantineReason,
}

/// Units scrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockScrapped {
    /// Where.
    pub key: StockKey,
    /// Units.
    pub qty: Quantity,
    /// From which quarantine; available when `None`.
    pub from: Option<QuarantineReason>,
}

/// A lot was recalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotRecalled {
    /// The SKU.
    pub sku: Sku,
    /// The lot.
    pub lot: LotId,
}

/// What a raised exception asks a person to do. Variant order is part of the event format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Count the bucket: a pick came up short, or a count disagreed with the claims on it.
    CycleCountTask,
    /// A return named a lot that was not shipped on its order line.
    ReturnLotMismatch,
    /// A supplier invoice is beyond the three-way-match tolerance.
    InvoiceMismatch,
    /// Money moved that does not match the ledger (a payout above the clearing balance, a
    /// deposit that differs from its settlement).
    ReconciliationMismatch,
    /// A settlement line of an unknown kind went to 9999 suspense.
    SuspenseLine,
    /// A hold passed its SLA due time.
    HoldSlaBreach,
    /// A partner's stock snapshot differs from on-hand beyond tolerance (or by more than can
    /// be adjusted out of available): count the bucket.
    SnapshotVariance,
}

impl ExceptionKind {
    /// The stored name (`cycle_count_task`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CycleCountTask => "cycle_count_task",
            Self::ReturnLotMismatch => "return_lot_mismatch",
            Self::InvoiceMismatch => "invoice_mismatch",
            Self::ReconciliationMismatch => "reconciliation_mismatch",
            Self::SuspenseLine => "suspense_line",
            Self::HoldSlaBreach => "hold_sla_breach",
            Self::SnapshotVariance => "snapshot_variance",
        }
    }
}

/// Something a person must look at, raised by a decision that recorded a fact it could not
/// settle by itself (a short pick, an invoice outside tolerance, a payout above clearing).
/// It is recorded on the stream of what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRaised {
    /// What to do.
    pub kind: ExceptionKind,
    /// What it is about (its stream is this event's stream).
    pub subject: crate::journal::JournalRef,
    /// A one-line description with the numbers.
    pub message: String,
}

/// How an exception left the queue. Variant order is part of the event format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionResolution {
    /// A person fixed the cause (counted the bucket, booked the difference, …).
    Resolved,
    /// A person judged that nothing needs doing.
    Dismissed,
    /// A later decision cleared the cause by itself (the hold was released or the order
    /// cancelled; the settlement's deposit now equals its lines): resolved by that decision's
    /// actor.
    Cleared,
}

impl ExceptionResolution {
    /// The stored name (`resolved`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::Dismissed => "dismissed",
            Self::Cleared => "cleared",
        }
    }
}

/// A person took an open exception in hand (it stays in the queue until resolved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionAcknowledged {
    /// The exception's number: the ordinal of its `exception.raised` event in the log (1 is
    /// the first exception ever raised).
    pub exception: u64,
    /// What it was about (its stream is this event's stream).
    pub subject: crate::journal::JournalRef,
    /// What the person said (may be empty).
    pub note: String,
}

/// An exception left the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionResolved {
    /// The exception's number (see [`ExceptionAcknowledged::exception`]).
    pub exception: u64,
    /// Its kind.
    pub kind: ExceptionKind,
    /// What it was about (its stream is this event's stream).
    pub subject: crate::journal::JournalRef,
    /// How.
    pub resolution: ExceptionResolution,
    /// Why: the person's note, or what cleared it.
    pub note: String,
}

/// Units of an order still waiting for stock were cancelled; what is allocated or shipped
/// stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackordersCancelled {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: crate::order::CancelReason,
    /// The units cancelled, per line.
    pub lines: Vec<crate::event::LineUnits>,
}

/// Units of one order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineUnits {
    /// Line number.
    pub line: u32,
    /// Units.
    pub qty: Quantity,
}

/// The workflow rules were set (every channel's; a channel not listed runs none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowConfigured {
    /// One workflow per channel, in channel order.
    pub channels: Vec<crate::workflow::ChannelWorkflow>,
}

/// A hold passed its SLA due time without being released: an exception for people and rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldSlaBreached {
    /// The order.
    pub order: OrderId,
    /// The hold's reason.
    pub reason: HoldReason,
    /// The due time it passed.
    pub due_at: Timestamp,
}

/// A purchase order line as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderLineCreated {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered.
    pub qty: Quantity,
    /// Agreed unit cost.
    pub unit_cost: Money,
    /// Where the goods will arrive, if said.
    pub location: Option<LocationId>,
    /// Expected arrival, if said.
    pub eta: Option<Timestamp>,
}

/// A purchase order was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderCreated {
    /// Its id.
    pub purchase_order: crate::ids::PurchaseOrderId,
    /// The supplier.
    pub supplier: crate::ids::SupplierId,
    /// Its currency.
    pub currency: Currency,
    /// Lines, numbered from 0.
    pub lines: Vec<PurchaseOrderLineCreated>,
}

/// Units of the `inventory.received` just before it arrived against a purchase-order line:
/// their goods-received-not-invoiced value moves from the SKU's receipts without a purchase
/// order to that line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderReceived {
    /// The purchase order.
    pub purchase_order: crate::ids::PurchaseOrderId,
    /// Its line.
    pub line: u32,
    /// Where the units went.
    pub key: StockKey,
    /// Units.
    pub qty: Quantity,
    /// Their value at receipt cost (what 2050 was credited).
    pub value: Money,
}

/// A matched line of a supplier invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierInvoiceLine {
    /// The purchase-order line, if the invoice is against a purchase order.
    pub po_line: Option<u32>,
    /// The SKU.
    pub sku: Sku,
    /// Units billed.
    pub qty: Quantity,
    /// Unit price billed.
    pub unit_price: Money,
    /// qty × unit price (credited to 2000).
    pub amount: Money,
    /// Units matched against goods received not invoiced (≤ qty).
    pub matched_qty: u64,
    /// Value those units cleared from 2050; `amount − grni_value` went to 5600.
    pub grni_value: Money,
}

/// A supplier invoice matched and recorded (Dr 2050, ± 5600, Cr 2000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierInvoiceRecorded {
    /// The supplier's invoice number.
    pub invoice: crate::ids::SupplierInvoiceId,
    /// The supplier.
    pub supplier: crate::ids::SupplierId,
    /// The purchase order, if any.
    pub purchase_order: Option<crate::ids::PurchaseOrderId>,
    /// Lines.
    pub lines: Vec<SupplierInvoiceLine>,
    /// Σ amounts: what is owed.
    pub total: Money,
    /// Due date (recorded date + the supplier's terms).
    pub due: Date,
}

/// Money of a supplier payment applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentApplied {
    /// The invoice.
    pub invoice: crate::ids::SupplierInvoiceId,
    /// Amount applied.
    pub amount: Money,
}

/// A payment to a supplier (Dr 2000 / Cr 1000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierPaymentRecorded {
    /// Its id.
    pub payment: crate::ids::SupplierPaymentId,
    /// The supplier.
    pub supplier: crate::ids::SupplierId,
    /// Amount paid from the bank.
    pub amount: Money,
    /// Applications to invoices.
    pub applied: Vec<PaymentApplied>,
    /// amount − Σ applied: the change in the supplier's unapplied credit (negative when
    /// earlier credit was applied).
    pub unapplied: Money,
}

/// Units of a line in a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLineQty {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub qty: Quantity,
}

/// A return was authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnAuthorized {
    /// The return.
    pub return_id: ReturnId,
    /// The order.
    pub order: OrderId,
    /// Units per line.
    pub lines: Vec<ReturnLineQty>,
}

/// Returned units of a line and lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Lot.
    pub lot: Option<LotId>,
    /// Units.
    pub qty: Quantity,
}

/// Returned units arrived into `returned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReceived {
    /// The return.
    pub return_id: ReturnId,
    /// Where.
    pub location: LocationId,
    /// Units.
    pub items: Vec<ReturnItem>,
}

/// Inspected units with their disposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectedItem {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Lot.
    pub lot: Option<LotId>,
    /// Units.
    pub qty: Quantity,
    /// What happens to them.
    pub disposition: Disposition,
}

/// Returned units were inspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnInspected {
    /// The return.
    pub return_id: ReturnId,
    /// Where.
    pub location: LocationId,
    /// Results.
    pub items: Vec<InspectedItem>,
}

/// A return was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnClosed {
    /// The return.
    pub return_id: ReturnId,
}

/// A payment was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCaptured {
    /// The order.
    pub order: OrderId,
    /// The payment.
    pub payment: PaymentId,
    /// Amount.
    pub amount: Money,
    /// The part applied to the order's open invoices in 1300 (a capture after shipment); the
    /// rest is a deposit in 2100.
    #[serde(default)]
    pub applied: Vec<InvoiceApplication>,
}

/// A line of an invoice or a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyLine {
    /// Line number.
    pub line: u32,
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub qty: Quantity,
    /// The units' share of the line after its discount, tax excluded (net revenue; see
    /// `crate::pricing`).
    pub amount: Money,
    /// The units' share of the line's discount (tax included in tax-included orders).
    pub discount: Money,
    /// Their tax (Σ of `taxes`).
    pub tax: Money,
    /// Their tax by jurisdiction.
    pub taxes: Vec<crate::order::TaxLine>,
}

/// An invoice was issued at shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceIssued {
    /// The order.
    pub order: OrderId,
    /// The invoice (`{order}-inv-{n}`).
    pub invoice: InvoiceId,
    /// Lines shipped.
    pub lines: Vec<MoneyLine>,
    /// Shipping invoiced (first invoice only), after its discount, tax excluded.
    pub shipping: Money,
    /// The discount on shipping.
    pub shipping_discount: Money,
    /// Tax on shipping.
    pub shipping_tax: Money,
    /// Σ amounts + shipping + taxes: what the customer pays for this shipment.
    pub total: Money,
    /// The part of `total` covered by the order's deposits (2100, money received before
    /// shipment).
    pub deposits_applied: Money,
    /// The rest, owed to us: debited to `receivable_account`.
    pub receivable: Money,
    /// 1300 accounts receivable, or 1150 marketplace clearing for a marketplace order.
    pub receivable_account: Account,
    /// The customer owing it, for an order on terms.
    pub customer: Option<CustomerId>,
    /// Issue (shipment) date.
    pub issued_on: Date,
    /// Due date: issue date + the customer's terms (the issue date without a customer).
    pub due_on: Date,
}

/// A processor fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorFeeRecorded {
    /// The order.
    pub order: OrderId,
    /// The fee.
    pub amount: Money,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundIssued {
    /// The refund.
    pub refund: RefundId,
    /// The order.
    pub order: OrderId,
    /// Lines.
    pub lines: Vec<MoneyLine>,
    /// Shipping refunded, tax excluded (Dr 4100).
    pub shipping: Money,
    /// Tax refunded with the shipping.
    pub shipping_tax: Money,
    /// Σ amounts + taxes + shipping + its tax.
    pub total: Money,
    /// Credit notes against the order's open invoices (Cr 1300).
    pub credit_notes: Vec<InvoiceApplication>,
    /// Paid back through the processor (Cr 1100).
    pub processor: Money,
    /// Deducted by the marketplace from its settlement (Cr 1150).
    pub marketplace: Money,
    /// Credited to the customer's unapplied credit (Cr 2100): money the customer paid by bank.
    pub customer_credit: Money,
}

/// Customer money held for an order (captured, not invoiced) was paid back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRefunded {
    /// The refund.
    pub refund: RefundId,
    /// The order.
    pub order: OrderId,
    /// Amount.
    pub amount: Money,
}

/// A processor payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorPayoutRecorded {
    /// The payout.
    pub payout: PayoutId,
    /// Amount.
    pub amount: Money,
}

/// A B2B customer's payment was received and applied (cash application).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPaymentRecorded {
    /// The payment.
    pub payment: PaymentId,
    /// The customer.
    pub customer: CustomerId,
    /// Money received in the bank.
    pub amount: Money,
    /// Applications to open invoices.
    pub applications: Vec<InvoiceApplication>,
    /// Part of the applications drawn from the customer's earlier unapplied credit.
    pub credit_used: Money,
    /// Part of `amount` not applied: added to the customer's unapplied credit.
    pub unapplied: Money,
}

/// A settlement was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementOpened {
    /// The settlement.
    pub settlement: SettlementId,
    /// The channel.
    pub channel: ChannelId,
    /// Currency.
    pub currency: Currency,
    /// First day.
    pub period_start: Date,
    /// Last day.
    pub period_end: Date,
}

/// A settlement money line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLineRecorded {
    /// The settlement.
    pub settlement: SettlementId,
    /// Line number within the settlement.
    pub line_no: u32,
    /// Kind.
    pub kind: SettlementLineKind,
    /// Signed amount.
    pub amount: Money,
    /// The order.
    pub order: Option<OrderId>,
    /// The SKU.
    pub sku: Option<Sku>,
    /// Units.
    pub qty: u64,
    /// Description.
    pub description: String,
}

/// A settlement was paid out to the bank; it is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSettled {
    /// The settlement.
    pub settlement: SettlementId,
    /// Amount.
    pub amount: Money,
    /// Deposit date.
    pub deposit_date: Date,
}

/// A command was accepted and decided no other event: an identical re-sent order, a master
/// record defined again exactly as it is. Written by the engine, never by `decide`, so that
/// the command's idempotency key is in the log like every other accepted command's (its
/// event id derives from the key, its causation id is the command's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAccepted {
    /// The command's type name (`define_location`, …).
    pub command: String,
}

/// Every event. Variant order does not matter to the codec (which keys on `event_type`); JSON
/// is `{"type": "order.received", "data": {…}}` with the same stable type names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// `location.defined`
    #[serde(rename = "location.defined")]
    LocationDefined(Location),
    /// `channel.defined`
    #[serde(rename = "channel.defined")]
    ChannelDefined(Channel),
    /// `sku.defined`
    #[serde(rename = "sku.defined")]
    SkuDefined(SkuDef),
    /// `inventory.safety_stock_set`
    #[serde(rename = "inventory.safety_stock_set")]
    SafetyStockSet(SafetyStockSet),
    /// `inventory.reorder_point_set`
    #[serde(rename = "inventory.reorder_point_set")]
    ReorderPointSet(ReorderPointSet),
    /// `inventory.count_tolerance_set`
    #[serde(rename = "inventory.count_tolerance_set")]
    CountToleranceSet(CountToleranceSet),
    /// `order.received`
    #[serde(rename = "order.received")]
    OrderReceived(OrderReceived),
    /// `order.validated`
    #[serde(rename = "order.validated")]
    OrderValidated(OrderEvent),
    /// `order.held`
    #[serde(rename = "order.held")]
    OrderHeld(OrderHeld),
    /// `order.hold_released`
    #[serde(rename = "order.hold_released")]
    OrderHoldReleased(OrderEvent),
    /// `order.line_allocated`
    #[serde(rename = "order.line_allocated")]
    LineAllocated(LineAllocated),
    /// `order.line_backordered`
    #[serde(rename = "order.line_backordered")]
    LineBackordered(LineBackordered),
    /// `order.line_substituted`
    #[serde(rename = "order.line_substituted")]
    LineSubstituted(LineSubstituted),
    /// `order.reservation_released`
    #[serde(rename = "order.reservation_released")]
    ReservationReleased(ReservationReleased),
    /// `order.picked`
    #[serde(rename = "order.picked")]
    OrderPicked(OrderFulfilment),
    /// `order.packed`
    #[serde(rename = "order.packed")]
    OrderPacked(OrderFulfilment),
    /// `order.shipped`
    #[serde(rename = "order.shipped")]
    OrderShipped(OrderShipped),
    /// `order.delivered`
    #[serde(rename = "order.delivered")]
    OrderDelivered(OrderEvent),
    /// `order.cancelled`
    #[serde(rename = "order.cancelled")]
    OrderCancelled(OrderCancelled),
    /// `order.remainder_cancelled`
    #[serde(rename = "order.remainder_cancelled")]
    OrderRemainderCancelled(OrderCancelled),
    /// `inventory.inbound_expected`
    #[serde(rename = "inventory.inbound_expected")]
    InboundExpected(InboundExpected),
    /// `inventory.received`
    #[serde(rename = "inventory.received")]
    InventoryReceived(InventoryReceived),
    /// `inventory.adjusted`
    #[serde(rename = "inventory.adjusted")]
    InventoryAdjusted(InventoryAdjusted),
    /// `inventory.cycle_counted`
    #[serde(rename = "inventory.cycle_counted")]
    CycleCounted(CycleCounted),
    /// `inventory.snapshot_reconciled`
    #[serde(rename = "inventory.snapshot_reconciled")]
    StockSnapshotReconciled(StockSnapshotReconciled),
    /// `inventory.transfer_shipped`
    #[serde(rename = "inventory.transfer_shipped")]
    TransferShipped(TransferShipped),
    /// `inventory.transfer_received`
    #[serde(rename = "inventory.transfer_received")]
    TransferReceived(TransferReceived),
    /// `inventory.quarantined`
    #[serde(rename = "inventory.quarantined")]
    StockQuarantined(QuarantineMove),
    /// `inventory.quarantine_released`
    #[serde(rename = "inventory.quarantine_released")]
    QuarantineReleased(QuarantineMove),
    /// `inventory.scrapped`
    #[serde(rename = "inventory.scrapped")]
    StockScrapped(StockScrapped),
    /// `lot.recalled`
    #[serde(rename = "lot.recalled")]
    LotRecalled(LotRecalled),
    /// `return.authorized`
    #[serde(rename = "return.authorized")]
    ReturnAuthorized(ReturnAuthorized),
    /// `return.received`
    #[serde(rename = "return.received")]
    ReturnReceived(ReturnReceived),
    /// `return.inspected`
    #[serde(rename = "return.inspected")]
    ReturnInspected(ReturnInspected),
    /// `return.closed`
    #[serde(rename = "return.closed")]
    ReturnClosed(ReturnClosed),
    /// `finance.payment_captured`
    #[serde(rename = "finance.payment_captured")]
    PaymentCaptured(PaymentCaptured),
    /// `finance.invoice_issued`
    #[serde(rename = "finance.invoice_issued")]
    InvoiceIssued(InvoiceIssued),
    /// `finance.processor_fee_recorded`
    #[serde(rename = "finance.processor_fee_recorded")]
    ProcessorFeeRecorded(ProcessorFeeRecorded),
    /// `finance.refund_issued`
    #[serde(rename = "finance.refund_issued")]
    RefundIssued(RefundIssued),
    /// `finance.deposit_refunded`
    #[serde(rename = "finance.deposit_refunded")]
    DepositRefunded(DepositRefunded),
    /// `finance.processor_payout_recorded`
    #[serde(rename = "finance.processor_payout_recorded")]
    ProcessorPayoutRecorded(ProcessorPayoutRecorded),
    /// `settlement.opened`
    #[serde(rename = "settlement.opened")]
    SettlementOpened(SettlementOpened),
    /// `settlement.line_recorded`
    #[serde(rename = "settlement.line_recorded")]
    SettlementLineRecorded(SettlementLineRecorded),
    /// `settlement.payout_settled`
    #[serde(rename = "settlement.payout_settled")]
    PayoutSettled(PayoutSettled),
    /// `journal.entry_posted`
    #[serde(rename = "journal.entry_posted")]
    JournalEntryPosted(JournalEntry),
    /// `command.accepted`
    #[serde(rename = "command.accepted")]
    CommandAccepted(CommandAccepted),
    /// `exception.raised`
    #[serde(rename = "exception.raised")]
    ExceptionRaised(ExceptionRaised),
    /// `order.hold_sla_breached`
    #[serde(rename = "order.hold_sla_breached")]
    HoldSlaBreached(HoldSlaBreached),
    /// `order.backorders_cancelled`
    #[serde(rename = "order.backorders_cancelled")]
    BackordersCancelled(BackordersCancelled),
    /// `workflow.configured`
    #[serde(rename = "workflow.configured")]
    WorkflowConfigured(WorkflowConfigured),
    /// `supplier.defined`
    #[serde(rename = "supplier.defined")]
    SupplierDefined(crate::purchasing::Supplier),
    /// `purchase_order.created`
    #[serde(rename = "purchase_order.created")]
    PurchaseOrderCreated(PurchaseOrderCreated),
    /// `purchase_order.received`
    #[serde(rename = "purchase_order.received")]
    PurchaseOrderReceived(PurchaseOrderReceived),
    /// `supplier.invoice_recorded`
    #[serde(rename = "supplier.invoice_recorded")]
    SupplierInvoiceRecorded(SupplierInvoiceRecorded),
    /// `supplier.payment_recorded`
    #[serde(rename = "supplier.payment_recorded")]
    SupplierPaymentRecorded(SupplierPaymentRecorded),
    /// `customer.defined`
    #[serde(rename = "customer.defined")]
    CustomerDefined(Customer),
    /// `finance.customer_payment_recorded`
    #[serde(rename = "finance.customer_payment_recorded")]
    CustomerPaymentRecorded(CustomerPaymentRecorded),
    /// `exception.acknowledged`
    #[serde(rename = "exception.acknowledged")]
    ExceptionAcknowledged(ExceptionAcknowledged),
    /// `exception.resolved`
    #[serde(rename = "exception.resolved")]
    ExceptionResolved(ExceptionResolved),
    /// `order.amended`
    #[serde(rename = "order.amended")]
    OrderAmended(OrderAmended),
}

impl Event {
    /// The stable type name stored in the envelope.
    #[must_use]
    pub const fn event_type(&self) -> &'static str {
        match self {
            Event::LocationDefined(_) => "location.defined",
            Event::ChannelDefined(_) => "channel.defined",
            Event::SkuDefined(_) => "sku.defined",
            Event::SafetyStockSet(_) => "inventory.safety_stock_set",
            Event::ReorderPointSet(_) => "inventory.reorder_point_set",
            Event::CountToleranceSet(_) => "inventory.count_tolerance_set",
            Event::OrderReceived(_) => "order.received",
            Event::OrderValidated(_) => "order.validated",
            Event::OrderHeld(_) => "order.held",
            Event::OrderHoldReleased(_) => "order.hold_released",
            Event::LineAllocated(_) => "order.line_allocated",
            Event::LineBackordered(_) => "order.line_backordered",
            Event::LineSubstituted(_) => "order.line_substituted",
            Event::ReservationReleased(_) => "order.reservation_released",
            Event::OrderPicked(_) => "order.picked",
            Event::OrderPacked(_) => "order.packed",
            Event::OrderShipped(_) => "order.shipped",
            Event::OrderDelivered(_) => "order.delivered",
            Event::OrderCancelled(_) => "order.cancelled",
            Event::OrderRemainderCancelled(_) => "order.remainder_cancelled",
            Event::InboundExpected(_) => "inventory.inbound_expected",
            Event::InventoryReceived(_) => "inventory.received",
            Event::InventoryAdjusted(_) => "inventory.adjusted",
            Event::CycleCounted(_) => "inventory.cycle_counted",
            Event::StockSnapshotReconciled(_) => "inventory.snapshot_reconciled",
            Event::TransferShipped(_) => "inventory.transfer_shipped",
            Event::TransferReceived(_) => "inventory.transfer_received",
            Event::StockQuarantined(_) => "inventory.quarantined",
            Event::QuarantineReleased(_) => "inventory.quarantine_released",
            Event::StockScrapped(_) => "inventory.scrapped",
            Event::LotRecalled(_) => "lot.recalled",
            Event::ReturnAuthorized(_) => "return.authorized",
            Event::ReturnReceived(_) => "return.received",
            Event::ReturnInspected(_) => "return.inspected",
            Event::ReturnClosed(_) => "return.closed",
            Event::PaymentCaptured(_) => "finance.payment_captured",
            Event::InvoiceIssued(_) => "finance.invoice_issued",
            Event::ProcessorFeeRecorded(_) => "finance.processor_fee_recorded",
            Event::RefundIssued(_) => "finance.refund_issued",
            Event::DepositRefunded(_) => "finance.deposit_refunded",
            Event::ProcessorPayoutRecorded(_) => "finance.processor_payout_recorded",
            Event::SettlementOpened(_) => "settlement.opened",
            Event::SettlementLineRecorded(_) => "settlement.line_recorded",
            Event::PayoutSettled(_) => "settlement.payout_settled",
            Event::JournalEntryPosted(_) => "journal.entry_posted",
            Event::CommandAccepted(_) => "command.accepted",
            Event::ExceptionRaised(_) => "exception.raised",
            Event::HoldSlaBreached(_) => "order.hold_sla_breached",
            Event::BackordersCancelled(_) => "order.backorders_cancelled",
            Event::WorkflowConfigured(_) => "workflow.configured",
            Event::SupplierDefined(_) => "supplier.defined",
            Event::PurchaseOrderCreated(_) => "purchase_order.created",
            Event::PurchaseOrderReceived(_) => "purchase_order.received",
            Event::SupplierInvoiceRecorded(_) => "supplier.invoice_recorded",
            Event::SupplierPaymentRecorded(_) => "supplier.payment_recorded",
            Event::CustomerDefined(_) => "customer.defined",
            Event::CustomerPaymentRecorded(_) => "finance.customer_payment_recorded",
            Event::ExceptionAcknowledged(_) => "exception.acknowledged",
            Event::ExceptionResolved(_) => "exception.resolved",
            Event::OrderAmended(_) => "order.amended",
        }
    }

    /// The current schema version of this variant's payload.
    #[must_use]
    pub const fn schema_version(&self) -> u16 {
        match self {
            Event::OrderHeld(_) => 2,
            _ => 1,
        }
    }

    /// The entity stream this event belongs to (docs/domain.md §1), named by [`crate::stream`].
    #[must_use]
    pub fn stream(&self) -> String {
        match self {
            Event::LocationDefined(e) => stream::location(&e.id),
            Event::ChannelDefined(e) => stream::channel(&e.id),
            Event::SkuDefined(e) => stream::sku(&e.sku),
            Event::SafetyStockSet(e) => {
                StockKey::new(e.location.clone(), e.sku.clone(), None).stream()
            }
            Event::ReorderPointSet(e) => {
                StockKey::new(e.location.clone(), e.sku.clone(), None).stream()
            }
            Event::CountToleranceSet(e) => stream::count_tolerance(e.class),
            Event::OrderReceived(e) => order_stream(&e.order),
            Event::OrderValidated(e) | Event::OrderHoldReleased(e) | Event::OrderDelivered(e) => {
                order_stream(&e.order)
            }
            Event::OrderHeld(e) => order_stream(&e.order),
            Event::LineAllocated(e) => order_stream(&e.order),
            Event::LineBackordered(e) => order_stream(&e.order),
            Event::LineSubstituted(e) => order_stream(&e.order),
            Event::ReservationReleased(e) => order_stream(&e.order),
            Event::OrderPicked(e) | Event::OrderPacked(e) => order_stream(&e.order),
            Event::OrderShipped(e) => order_stream(&e.order),
            Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => order_stream(&e.order),
            Event::InboundExpected(e) => {
                StockKey::new(e.location.clone(), e.sku.clone(), None).stream()
            }
            Event::InventoryReceived(e) => e.key.stream(),
            Event::InventoryAdjusted(e) => e.key.stream(),
            Event::CycleCounted(e) => e.key.stream(),
            Event::StockSnapshotReconciled(e) => e.key.stream(),
            Event::TransferShipped(e) => e.from.stream(),
            Event::TransferReceived(e) => e.key.stream(),
            Event::StockQuarantined(e) | Event::QuarantineReleased(e) => e.key.stream(),
            Event::StockScrapped(e) => e.key.stream(),
            Event::LotRecalled(e) => stream::lot(&e.sku, &e.lot),
            Event::ReturnAuthorized(e) => return_stream(&e.return_id),
            Event::ReturnReceived(e) => return_stream(&e.return_id),
            Event::ReturnInspected(e) => return_stream(&e.return_id),
            Event::ReturnClosed(e) => return_stream(&e.return_id),
            Event::PaymentCaptured(e) => order_stream(&e.order),
            Event::InvoiceIssued(e) => order_stream(&e.order),
            Event::ProcessorFeeRecorded(e) => order_stream(&e.order),
            Event::RefundIssued(e) => order_stream(&e.order),
            Event::DepositRefunded(e) => order_stream(&e.order),
            Event::ProcessorPayoutRecorded(e) => stream::payout(&e.payout),
            Event::SettlementOpened(e) => settlement_stream(&e.settlement),
            Event::SettlementLineRecorded(e) => settlement_stream(&e.settlement),
            Event::PayoutSettled(e) => settlement_stream(&e.settlement),
            Event::JournalEntryPosted(e) => e.reference.stream(),
            Event::CommandAccepted(_) => stream::COMMANDS.to_owned(),
            Event::ExceptionRaised(e) => e.subject.stream(),
            Event::HoldSlaBreached(e) => order_stream(&e.order),
            Event::BackordersCancelled(e) => order_stream(&e.order),
            Event::WorkflowConfigured(_) => stream::WORKFLOW.to_owned(),
            Event::SupplierDefined(e) => stream::supplier(&e.id),
            Event::PurchaseOrderCreated(e) => stream::purchase_order(&e.purchase_order),
            Event::PurchaseOrderReceived(e) => stream::purchase_order(&e.purchase_order),
            Event::SupplierInvoiceRecorded(e) => stream::supplier(&e.supplier),
            Event::SupplierPaymentRecorded(e) => stream::supplier(&e.supplier),
            Event::CustomerDefined(e) => stream::customer(&e.id),
            Event::CustomerPaymentRecorded(e) => stream::customer(&e.customer),
            Event::ExceptionAcknowledged(e) => e.subject.stream(),
            Event::ExceptionResolved(e) => e.subject.stream(),
            Event::OrderAmended(e) => order_stream(&e.order),
        }
    }
}

fn order_stream(order: &OrderId) -> String {
    stream::order(order)
}

fn return_stream(id: &ReturnId) -> String {
    stream::return_of(id)
}

fn settlement_stream(id: &SettlementId) -> String {
    stream::settlement(id)
}
