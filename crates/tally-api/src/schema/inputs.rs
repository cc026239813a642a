//! Typed GraphQL inputs of the most used commands. Each serialises to the domain's command
//! JSON and is parsed by `tally_domain` itself, so the domain's newtypes stay the only
//! validation (parse, don't validate) and a bad value is `INVALID_INPUT` with serde's message.

use async_graphql::{Enum, InputObject};
use chrono::{DateTime, Utc};
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
    /// The lot's expiry, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
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
