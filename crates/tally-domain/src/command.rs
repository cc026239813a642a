//! Commands: what integrations, people and jobs ask of the ledger. One JSON-friendly enum,
//! tagged by `type`; quantities are signed so that a bad one is a rejection, not a parse error.

use serde::{Deserialize, Serialize};

use crate::ids::{
    Actor, ChannelId, LocationId, LotId, OrderId, PaymentId, PayoutId, RefundId, ReturnId,
    SettlementId, Sku, TransferId,
};
use crate::inventory::{AdjustReason, QuarantineReason};
use crate::journal::Posting;
use crate::master::{AbcClass, ChannelKind, LocationKind, PriorityClass};
use crate::money::{Currency, Money, Rate};
use crate::order::{CancelReason, HoldReason};
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

/// A command. JSON: `{"type": "receive_inventory", "location": "WH1", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Define or redefine a location.
    DefineLocation(DefineLocation),
    /// Define or redefine a channel.
    DefineChannel(DefineChannel),
    /// Define or redefine a SKU.
    DefineSku(DefineSku),
    /// Set safety stock of a SKU at a location.
    SetSafetyStock(SetSafetyStock),
    /// Receive (place) an order.
    ReceiveOrder(ReceiveOrder),
    /// Validate a received order.
    ValidateOrder(OrderRef),
    /// Put an order on hold.
    HoldOrder(HoldOrder),
    /// Release an order's hold.
    ReleaseHold(OrderRef),
    /// Allocate a validated order: rank order, split, backorder, FEFO.
    AllocateOrder(OrderRef),
    /// Pick reserved units (at one location, or all).
    PickOrder(FulfilOrder),
    /// Pack picked units.
    PackOrder(FulfilOrder),
    /// Ship packed units; issues the invoice and the COGS entry.
    ShipOrder(ShipOrder),
    /// Record delivery of a fully shipped order.
    DeliverOrder(OrderRef),
    /// Cancel an order nothing of which has shipped.
    CancelOrder(CancelOrder),
    /// Replace the SKU of a line nothing of which is allocated.
    SubstituteLine(SubstituteLine),
    /// Record expected inbound (purchase order / ASN).
    ExpectInbound(ExpectInbound),
    /// Receive stock.
    ReceiveInventory(ReceiveInventory),
    /// Adjust available stock up or down.
    AdjustInventory(AdjustInventory),
    /// Record a cycle count; the variance becomes an adjustment.
    CycleCount(CycleCount),
    /// Ship a transfer: available at the source → in transit at the destination.
    ShipTransfer(ShipTransfer),
    /// Receive a transfer: in transit → available.
    ReceiveTransfer(ReceiveTransfer),
    /// Move available units to quarantine.
    QuarantineStock(QuarantineStock),
    /// Move quarantined units back to available.
    ReleaseQuarantine(ReleaseQuarantine),
    /// Scrap units from available or a quarantine.
    ScrapStock(ScrapStock),
    /// Recall a lot: quarantine it wherever available, block allocation.
    RecallLot(RecallLot),
    /// Authorise a return.
    AuthorizeReturn(AuthorizeReturn),
    /// Receive returned units into `returned`.
    ReceiveReturn(ReceiveReturn),
    /// Inspect returned units with a disposition each.
    InspectReturn(InspectReturn),
    /// Close a fully inspected return.
    CloseReturn(ReturnRef),
    /// Record a payment captured for an order.
    CapturePayment(CapturePayment),
    /// Record the processor's fee on an order's payments.
    RecordProcessorFee(RecordProcessorFee),
    /// Refund shipped units and their tax.
    IssueRefund(IssueRefund),
    /// Pay back customer money held for an order that was not invoiced (e.g. after a
    /// cancellation).
    RefundDeposit(RefundDeposit),
    /// Record a processor payout to the bank.
    RecordProcessorPayout(RecordProcessorPayout),
    /// Open a marketplace settlement.
    OpenSettlement(OpenSettlement),
    /// Record one money line of a settlement.
    RecordSettlementLine(RecordSettlementLine),
    /// Settle a settlement's payout to the bank.
    SettlePayout(SettlePayout),
    /// Post a manual journal entry.
    PostJournalEntry(PostJournalEntry),
}

impl Command {
    /// The command's type name, as in its JSON `type` tag.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::DefineLocation(_) => "define_location",
            Self::DefineChannel(_) => "define_channel",
            Self::DefineSku(_) => "define_sku",
            Self::SetSafetyStock(_) => "set_safety_stock",
            Self::ReceiveOrder(_) => "receive_order",
            Self::ValidateOrder(_) => "validate_order",
            Self::HoldOrder(_) => "hold_order",
            Self::ReleaseHold(_) => "release_hold",
            Self::AllocateOrder(_) => "allocate_order",
            Self::PickOrder(_) => "pick_order",
            Self::PackOrder(_) => "pack_order",
            Self::ShipOrder(_) => "ship_order",
            Self::DeliverOrder(_) => "deliver_order",
            Self::CancelOrder(_) => "cancel_order",
            Self::SubstituteLine(_) => "substitute_line",
            Self::ExpectInbound(_) => "expect_inbound",
            Self::ReceiveInventory(_) => "receive_inventory",
            Self::AdjustInventory(_) => "adjust_inventory",
            Self::CycleCount(_) => "cycle_count",
            Self::ShipTransfer(_) => "ship_transfer",
            Self::ReceiveTransfer(_) => "receive_transfer",
            Self::QuarantineStock(_) => "quarantine_stock",
            Self::ReleaseQuarantine(_) => "release_quarantine",
            Self::ScrapStock(_) => "scrap_stock",
            Self::RecallLot(_) => "recall_lot",
            Self::AuthorizeReturn(_) => "authorize_return",
            Self::ReceiveReturn(_) => "receive_return",
            Self::InspectReturn(_) => "inspect_return",
            Self::CloseReturn(_) => "close_return",
            Self::CapturePayment(_) => "capture_payment",
            Self::RecordProcessorFee(_) => "record_processor_fee",
            Self::IssueRefund(_) => "issue_refund",
            Self::RefundDeposit(_) => "refund_deposit",
            Self::RecordProcessorPayout(_) => "record_processor_payout",
            Self::OpenSettlement(_) => "open_settlement",
            Self::RecordSettlementLine(_) => "record_settlement_line",
            Self::SettlePayout(_) => "settle_payout",
            Self::PostJournalEntry(_) => "post_journal_entry",
        }
    }
}

/// Define or redefine a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct DefineChannel {
    /// Its id.
    pub channel: ChannelId,
    /// Priority class.
    pub priority: PriorityClass,
    /// Kind.
    pub kind: ChannelKind,
    /// Currency of its orders.
    pub currency: Currency,
}

/// Define or redefine a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefineSku {
    /// Its id.
    pub sku: Sku,
    /// Kept by lot with expiry?
    pub lot_tracked: bool,
    /// Days before expiry when a lot stops being allocatable.
    #[serde(default)]
    pub shelf_life_margin_days: u32,
    /// Standard unit cost (non-negative).
    pub unit_cost: Money,
    /// ABC class.
    pub abc: AbcClass,
}

/// Set safety stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSafetyStock {
    /// Where.
    pub location: LocationId,
    /// Which SKU.
    pub sku: Sku,
    /// Units (zero or more).
    pub qty: i64,
}

/// A line of an incoming order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineInput {
    /// The SKU.
    pub sku: Sku,
    /// Units (at least 1).
    pub qty: i64,
    /// Unit price before tax (non-negative, in the order's currency).
    pub unit_price: Money,
}

/// Receive (place) an order. The same order id with the same content is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveOrder {
    /// Its id.
    pub order: OrderId,
    /// The channel.
    pub channel: ChannelId,
    /// When the customer placed it.
    pub placed_at: Timestamp,
    /// Currency (must be the channel's).
    pub currency: Currency,
    /// Lines.
    pub lines: Vec<OrderLineInput>,
    /// Shipping charged.
    pub shipping: Money,
    /// Sales tax rate.
    pub tax_rate: Rate,
}

/// A command about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    /// The order.
    pub order: OrderId,
}

/// Hold an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldOrder {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: HoldReason,
    /// SLA due time.
    pub due_at: Timestamp,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// Pick or pack an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilOrder {
    /// The order.
    pub order: OrderId,
    /// Only units at this location; all when absent.
    #[serde(default)]
    pub location: Option<LocationId>,
}

/// Ship an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipOrder {
    /// The order.
    pub order: OrderId,
    /// Only units at this location; all when absent.
    #[serde(default)]
    pub location: Option<LocationId>,
    /// Carrier name.
    #[serde(default)]
    pub carrier: String,
    /// Tracking number.
    #[serde(default)]
    pub tracking: String,
    /// Serial numbers of the units shipped, if serialised.
    #[serde(default)]
    pub serials: Vec<String>,
}

/// Cancel an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    /// The order.
    pub order: OrderId,
    /// Why.
    pub reason: CancelReason,
}

/// Substitute a line's SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Actual unit cost; the SKU's standard cost when absent.
    #[serde(default)]
    pub unit_cost: Option<Money>,
}

/// Adjust available stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Ship a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ReceiveTransfer {
    /// The transfer.
    pub transfer: TransferId,
    /// Units received.
    pub qty: i64,
}

/// Quarantine available units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct RecallLot {
    /// The SKU.
    pub sku: Sku,
    /// The lot.
    pub lot: LotId,
}

/// Units of an order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineQty {
    /// Line number (0-based).
    pub line: u32,
    /// Units.
    pub qty: i64,
}

/// Authorise a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct InspectReturn {
    /// The return.
    pub return_id: ReturnId,
    /// Results.
    pub items: Vec<InspectionInput>,
}

/// A command about one return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRef {
    /// The return.
    pub return_id: ReturnId,
}

/// Payment captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturePayment {
    /// The order.
    pub order: OrderId,
    /// The processor's payment id.
    pub payment: PaymentId,
    /// Amount (positive, order currency).
    pub amount: Money,
}

/// How a processor fee is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeeInput {
    /// The exact fee, as the processor reports it.
    Amount {
        /// The fee.
        amount: Money,
    },
    /// Rate × captured amount (half-even) + fixed.
    Rate {
        /// The percentage.
        rate: Rate,
        /// The fixed part.
        fixed: Money,
    },
}

/// Processor fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProcessorFee {
    /// The order.
    pub order: OrderId,
    /// The fee.
    pub fee: FeeInput,
}

/// Refund shipped units and their tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRefund {
    /// New refund id.
    pub refund: RefundId,
    /// The order.
    pub order: OrderId,
    /// Units per line.
    pub lines: Vec<LineQty>,
}

/// Pay back customer money held in deposits for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct RecordProcessorPayout {
    /// The payout id.
    pub payout: PayoutId,
    /// Amount (positive, at most the clearing balance).
    pub amount: Money,
}

/// Open a settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSettlement {
    /// New settlement id.
    pub settlement: SettlementId,
    /// The marketplace channel.
    pub channel: ChannelId,
    /// Currency.
    pub currency: Currency,
    /// First day.
    pub period_start: Date,
    /// Last day.
    pub period_end: Date,
}

/// One settlement money line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub qty: u64,
    /// The marketplace's description.
    #[serde(default)]
    pub description: String,
}

/// Payout of a settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct PostJournalEntry {
    /// Description.
    pub memo: String,
    /// Postings, debit positive (must balance per currency).
    pub postings: Vec<Posting>,
}
