//! Typed GraphQL inputs of the most used commands. Each serialises to the domain's command
//! JSON and is parsed by `tally_domain` itself, so the domain's newtypes stay the only
//! validation (parse, don't validate) and a bad value is `INVALID_INPUT` with serde's message.

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// A decimal amount in a currency: `{amount: "118.80", currency: "USD"}`.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct MoneyInput {
    /// Decimal string with at most the currency's minor digits.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// Kind of location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Own warehouse.
    Warehouse,
    /// Retail store.
    Store,
    /// Third-party logistics.
    ThirdParty,
    /// Marketplace fulfilment centre.
    MarketplaceFulfillment,
}

/// Allocation priority of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    /// May allocate into safety stock.
    Contract,
    /// May not.
    Standard,
}

/// Kind of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Direct to consumer.
    Direct,
    /// Marketplace.
    Marketplace,
    /// Wholesale / B2B.
    Wholesale,
}

/// ABC class of a SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
pub enum AbcClass {
    /// A.
    A,
    /// B.
    B,
    /// C.
    C,
}

/// Why stock is adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    /// Found.
    Found,
    /// Lost.
    Lost,
    /// Stolen.
    Theft,
    /// Damaged.
    Damage,
    /// From a cycle count.
    CycleCount,
    /// A correction.
    Correction,
}

/// Why an order is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The customer asked.
    Customer,
    /// Fraud.
    Fraud,
    /// No stock.
    Stockout,
}

/// The envelope of a typed mutation.
#[derive(Debug, Clone, InputObject)]
pub struct EnvelopeInput {
    /// Chosen by the caller (1–128 bytes); a retry with the same key returns the first result.
    pub idempotency_key: String,
    /// Where the command comes from, e.g. `shopify/web/#1001`. Default `api`.
    pub source: Option<String>,
    /// Business time. Default: when the engine decides it.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Any command, as the domain's JSON (`{"type": "receive_inventory", …}`).
#[derive(Debug, Clone, InputObject)]
pub struct CommandInput {
    /// Chosen by the caller (1–128 bytes); a retry with the same key returns the first result.
    pub idempotency_key: String,
    /// The command JSON, tagged by `type` (snake_case), as in `tally_domain::Command`.
    pub command: async_graphql::Json<serde_json::Value>,
    /// Where the command comes from. Default `api`.
    pub source: Option<String>,
    /// Business time. Default: when the engine decides it.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Define or redefine a location.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DefineLocationInput {
    /// Its id.
    pub location: String,
    /// Its kind.
    pub kind: LocationKind,
    /// Allocation rank (lower first).
    pub rank: u32,
    /// Channels it ships for.
    pub channels: Vec<String>,
}

/// Define or redefine a channel.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DefineChannelInput {
    /// Its id.
    pub channel: String,
    /// Priority class.
    pub priority: PriorityClass,
    /// Kind.
    pub kind: ChannelKind,
    /// Currency of its orders.
    pub currency: String,
}

/// Define or redefine a SKU.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct DefineSkuInput {
    /// Its id.
    pub sku: String,
    /// Kept by lot with expiry?
    pub lot_tracked: bool,
    /// Days before expiry when a lot stops being allocatable. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shelf_life_margin_days: Option<u32>,
    /// Standard unit cost.
    pub unit_cost: MoneyInput,
    /// ABC class.
    pub abc: AbcClass,
}

/// Set safety stock of a SKU at a location.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct SetSafetyStockInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Units (zero or more).
    pub qty: i64,
}

/// A line of an order.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct OrderLineInput {
    /// The SKU.
    pub sku: String,
    /// Units (at least 1).
    pub qty: i64,
    /// Unit price before tax.
    pub unit_price: MoneyInput,
}

/// Receive (place) an order.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ReceiveOrderInput {
    /// Its id.
    pub order: String,
    /// The channel.
    pub channel: String,
    /// When the customer placed it.
    pub placed_at: DateTime<Utc>,
    /// Currency (the channel's).
    pub currency: String,
    /// Lines.
    pub lines: Vec<OrderLineInput>,
    /// Shipping charged.
    pub shipping: MoneyInput,
    /// Sales tax rate in parts per million (8% = 80000).
    #[serde(rename = "tax_rate")]
    pub tax_rate_ppm: u32,
}

/// Ship packed units.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ShipOrderInput {
    /// The order.
    pub order: String,
    /// Only units at this location; all when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Carrier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// Tracking number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// Serial numbers shipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serials: Option<Vec<String>>,
}

/// Cancel an order.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CancelOrderInput {
    /// The order.
    pub order: String,
    /// Why.
    pub reason: CancelReason,
}

/// Receive stock.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ReceiveInventoryInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// The lot (lot-tracked SKUs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// The lot's expiry date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<NaiveDate>,
    /// Units.
    pub qty: i64,
    /// Actual unit cost; the SKU's standard cost when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<MoneyInput>,
}

/// Adjust available stock.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct AdjustInventoryInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Which lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Signed units (non-zero).
    pub delta: i64,
    /// Why.
    pub reason: AdjustReason,
}

/// Record a captured payment.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CapturePaymentInput {
    /// The order.
    pub order: String,
    /// The processor's payment id.
    pub payment: String,
    /// Amount (positive, order currency).
    pub amount: MoneyInput,
}

/// Units of an order line.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct LineQtyInput {
    /// Line number (0-based).
    pub line: u32,
    /// Units.
    pub qty: i64,
}

/// Refund shipped units and their tax.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct IssueRefundInput {
    /// New refund id.
    pub refund: String,
    /// The order.
    pub order: String,
    /// Units per line.
    pub lines: Vec<LineQtyInput>,
}

/// A command about one order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRef {
    /// The order.
    pub order: String,
}

/// A command about one return.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnRef {
    /// The return.
    pub return_id: String,
}

/// Why an order is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Suspected fraud.
    Fraud,
    /// Payment not cleared.
    Payment,
    /// Address to check.
    Address,
    /// Credit limit.
    Credit,
    /// By hand.
    Manual,
}

/// Why units are quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// Damaged.
    Damaged,
    /// Quality hold.
    QualityHold,
    /// Recalled lot.
    Recalled,
    /// Expired.
    Expired,
    /// Awaiting return inspection.
    ReturnInspection,
}

/// What happens to an inspected returned unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back to available.
    Restock,
    /// To quarantine.
    Quarantine,
    /// Leaves on hand.
    Scrap,
}

/// Kind of a settlement money line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementLineKind {
    /// Item price.
    Principal,
    /// Shipping charged.
    Shipping,
    /// Tax collected.
    Tax,
    /// Marketplace-facilitator tax (collected and remitted by the marketplace).
    FacilitatorTax,
    /// Commission.
    Commission,
    /// Fulfilment fee.
    FulfillmentFee,
    /// Storage fee.
    StorageFee,
    /// Refund.
    Refund,
    /// Reserve held or released.
    Reserve,
}

/// A ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// 1000.
    Bank,
    /// 1100.
    ProcessorClearing,
    /// 1150.
    MarketplaceClearing,
    /// 1160.
    MarketplaceReserve,
    /// 1200.
    Inventory,
    /// Goods received, not invoiced.
    GoodsReceivedNotInvoiced,
    /// 2100.
    CustomerDeposits,
    /// 2200.
    SalesTaxPayable,
    /// 4000.
    ProductRevenue,
    /// 4100.
    ShippingRevenue,
    /// 4500.
    SalesReturns,
    /// 5000.
    CostOfGoodsSold,
    /// 5100.
    PaymentFees,
    /// 5200.
    MarketplaceCommissions,
    /// 5300.
    FulfillmentFees,
    /// 5400.
    StorageFees,
    /// 5500.
    InventoryWriteOff,
}

/// Put an order on hold.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct HoldOrderInput {
    /// The order.
    pub order: String,
    /// Why.
    pub reason: HoldReason,
    /// SLA due time.
    pub due_at: DateTime<Utc>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Pick or pack an order.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct FulfilOrderInput {
    /// The order.
    pub order: String,
    /// Only units at this location; all when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Replace the SKU of a line nothing of which is allocated.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct SubstituteLineInput {
    /// The order.
    pub order: String,
    /// Line number (0-based).
    pub line: u32,
    /// The replacement SKU.
    pub sku: String,
}

/// Expected inbound (purchase order / ASN).
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ExpectInboundInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Units.
    pub qty: i64,
    /// Expected arrival.
    pub eta: DateTime<Utc>,
}

/// A cycle count of one bucket.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct CycleCountInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Which lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units physically counted.
    pub counted: i64,
}

/// Ship a transfer.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ShipTransferInput {
    /// New transfer id.
    pub transfer: String,
    /// Source.
    pub from: String,
    /// Destination.
    pub to: String,
    /// Which SKU.
    pub sku: String,
    /// Which lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units.
    pub qty: i64,
}

/// Receive (part of) a transfer.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ReceiveTransferInput {
    /// The transfer.
    pub transfer: String,
    /// Units received.
    pub qty: i64,
}

/// Move units between available and a quarantine.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct QuarantineInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Which lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units.
    pub qty: i64,
    /// Which quarantine.
    pub reason: QuarantineReason,
}

/// Scrap units.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ScrapStockInput {
    /// Where.
    pub location: String,
    /// Which SKU.
    pub sku: String,
    /// Which lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units.
    pub qty: i64,
    /// From which quarantine; from available when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<QuarantineReason>,
}

/// Recall a lot.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct RecallLotInput {
    /// The SKU.
    pub sku: String,
    /// The lot.
    pub lot: String,
}

/// Authorise a return.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct AuthorizeReturnInput {
    /// New return id.
    pub return_id: String,
    /// The order.
    pub order: String,
    /// Units per line.
    pub lines: Vec<LineQtyInput>,
}

/// Returned units of a line and lot.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ReturnItemInput {
    /// Line number.
    pub line: u32,
    /// Lot (lot-tracked SKUs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units.
    pub qty: i64,
}

/// Receive returned units.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct ReceiveReturnInput {
    /// The return.
    pub return_id: String,
    /// Where.
    pub location: String,
    /// Units.
    pub items: Vec<ReturnItemInput>,
}

/// An inspection result.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct InspectionInput {
    /// Line number.
    pub line: u32,
    /// Lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units.
    pub qty: i64,
    /// What happens to them.
    pub disposition: Disposition,
}

/// Inspect returned units.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct InspectReturnInput {
    /// The return.
    pub return_id: String,
    /// Results.
    pub items: Vec<InspectionInput>,
}

/// A fee given as an exact amount.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct FeeAmountInput {
    /// The fee.
    pub amount: MoneyInput,
}

/// A fee given as rate × captured amount (half-even) + fixed.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct FeeRateInput {
    /// The rate in parts per million (2.9% = 29000).
    #[serde(rename = "rate")]
    pub rate_ppm: u32,
    /// The fixed part.
    pub fixed: MoneyInput,
}

/// How a processor fee is given: exactly one of the two.
#[derive(Debug, Clone, async_graphql::OneofObject, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeeInput {
    /// The exact fee, as the processor reports it.
    Amount(FeeAmountInput),
    /// Rate and fixed part.
    Rate(FeeRateInput),
}

/// Record the processor's fee on an order's payments.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct RecordProcessorFeeInput {
    /// The order.
    pub order: String,
    /// The fee.
    pub fee: FeeInput,
}

/// Pay back a deposit held for an order that was not invoiced.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct RefundDepositInput {
    /// New refund id.
    pub refund: String,
    /// The order.
    pub order: String,
    /// Amount.
    pub amount: MoneyInput,
}

/// A processor payout to the bank.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct RecordProcessorPayoutInput {
    /// The payout id.
    pub payout: String,
    /// Amount.
    pub amount: MoneyInput,
}

/// Open a marketplace settlement.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct OpenSettlementInput {
    /// New settlement id.
    pub settlement: String,
    /// The marketplace channel.
    pub channel: String,
    /// Currency.
    pub currency: String,
    /// First day.
    pub period_start: NaiveDate,
    /// Last day.
    pub period_end: NaiveDate,
}

/// One money line of a settlement.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct RecordSettlementLineInput {
    /// The settlement.
    pub settlement: String,
    /// Kind.
    pub kind: SettlementLineKind,
    /// Signed amount (non-zero, positive = owed to us).
    pub amount: MoneyInput,
    /// The order, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The SKU, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Units, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty: Option<u64>,
    /// The marketplace's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Settle a settlement's payout to the bank.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct SettlePayoutInput {
    /// The settlement.
    pub settlement: String,
    /// Amount deposited (Σ net of the lines).
    pub amount: MoneyInput,
    /// Deposit date.
    pub deposit_date: NaiveDate,
}

/// One posting: debit positive, credit negative.
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct PostingInput {
    /// The account.
    pub account: Account,
    /// Signed amount.
    pub amount: MoneyInput,
}

/// A manual journal entry (must balance per currency).
#[derive(Debug, Clone, InputObject, Serialize)]
pub struct PostJournalEntryInput {
    /// Description.
    pub memo: String,
    /// Postings.
    pub postings: Vec<PostingInput>,
}
