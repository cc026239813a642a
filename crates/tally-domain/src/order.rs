//! Orders in decision state: lines, holds, allocations by stage, and the digest that closed
//! orders shrink to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, CustomerId, LocationId, LotId, OrderId, Sku};
use crate::money::{Currency, Money, Rate};
use crate::time::Timestamp;

/// Where an order is in its lifecycle (holds are kept apart, see [`Order::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Received from the channel, not yet validated.
    Received,
    /// Validated, ready to allocate.
    Validated,
    /// Allocated (possibly split, possibly partly backordered) and in fulfilment.
    Fulfilling,
    /// Every unit shipped.
    Shipped,
    /// Delivered to the customer.
    Delivered,
    /// Cancelled.
    Cancelled,
}

impl OrderStatus {
    /// Lowercase name, for messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::Validated => "validated",
            OrderStatus::Fulfilling => "fulfilling",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// Why an order is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Suspected fraud.
    Fraud,
    /// Payment not confirmed.
    Payment,
    /// Address to verify.
    Address,
    /// Credit limit.
    Credit,
    /// Held by hand.
    Manual,
    /// The order's data is incomplete or wrong (e.g. a price missing); validation holds it.
    Data,
}

impl HoldReason {
    /// Lowercase name, as in the rules file and the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            HoldReason::Fraud => "fraud",
            HoldReason::Payment => "payment",
            HoldReason::Address => "address",
            HoldReason::Credit => "credit",
            HoldReason::Manual => "manual",
            HoldReason::Data => "data",
        }
    }
}

/// Countries whose addresses have no postal code (ISO 3166-1 alpha-2): an address there is
/// complete without one.
pub const NO_POSTAL_CODE_COUNTRIES: &[&str] = &[
    "AE", "AG", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI", "CK",
    "CM", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "JM", "KI", "KM", "KN",
    "KP", "LC", "ML", "MO", "MR", "MW", "NR", "NU", "QA", "RW", "SB", "SC", "SL", "SR", "ST", "SY",
    "TD", "TF", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW",
];

/// Where an order's goods go. Free text, each field bounded like every text
/// (`limits::TEXT_BYTES_MAX`); any Unicode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject, async_graphql::SimpleObject),
    graphql(input_name = "AddressInput")
)]
pub struct Address {
    /// Recipient name.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Apartment, suite, building (optional).
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub line2: String,
    /// City.
    pub city: String,
    /// State, province or region code (optional).
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub region: String,
    /// Postal code (optional in countries that have none).
    #[serde(default)]
    #[cfg_attr(feature = "graphql", graphql(default))]
    pub postal_code: String,
    /// Country, ISO 3166-1 alpha-2 (`US`, `DE`).
    pub country: String,
}

impl Address {
    /// What is missing for a carrier to deliver here, or `None` when it is complete: name,
    /// street, city, a two-letter country, and a postal code where the country has them.
    #[must_use]
    pub fn missing(&self) -> Option<&'static str> {
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.name) {
            return Some("recipient name");
        }
        if blank(&self.line1) {
            return Some("street");
        }
        if blank(&self.city) {
            return Some("city");
        }
        let country = self.country.trim();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some("country (ISO 3166-1 alpha-2)");
        }
        if blank(&self.postal_code) && !NO_POSTAL_CODE_COUNTRIES.contains(&country) {
            return Some("postal code");
        }
        None
    }

    /// Every field, for the bounds check.
    #[must_use]
    pub fn fields(&self) -> [(&'static str, &str); 7] {
        [
            ("address name", &self.name),
            ("address line1", &self.line1),
            ("address line2", &self.line2),
            ("address city", &self.city),
            ("address region", &self.region),
            ("address postal code", &self.postal_code),
            ("address country", &self.country),
        ]
    }
}

/// What the channel says about an order besides its lines: where it goes, who buys, how risky
/// it looks. Read by validation and the workflow's hold rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Where the goods go.
    pub ship_to: Option<Address>,
    /// Who buys, as the channel knows them.
    pub buyer: Option<crate::ids::BuyerId>,
    /// The channel's fraud score, 0 (safe) to 100.
    pub fraud_score: Option<u32>,
}

impl Profile {
    /// Whether the channel said nothing besides the lines.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ship_to.is_none() && self.buyer.is_none() && self.fraud_score.is_none()
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The customer asked.
    Customer,
    /// Fraud.
    Fraud,
    /// No stock to fill it.
    Stockout,
}

/// A hold on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Why.
    pub reason: HoldReason,
    /// When the hold must be resolved (SLA); past it, the hold is an exception.
    pub due_at: Timestamp,
    /// Free text.
    pub note: String,
    /// Whether its SLA breach was recorded (`order.hold_sla_breached`).
    pub breached: bool,
}

/// One tax charged on a line or on shipping: a jurisdiction (state, county, city; a VAT) with
/// its rate and the amount it charges on the whole line (all its units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// The jurisdiction as the channel names it (`CA State Tax`, `MwSt. 19 %`).
    pub title: String,
    /// Its rate, an exact decimal fraction (`0.0725`).
    pub rate: Rate,
    /// What it charges on the whole line, in the order's currency (non-negative).
    pub amount: Money,
}

/// Shipping charged on an order: a method with its price, the discount on it and its taxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingLine {
    /// The method as the channel names it (`Standard`, `Express`).
    pub title: String,
    /// Its price (tax included when the order's prices include tax).
    pub price: Money,
    /// The discount on it (free-shipping codes), at most its price.
    pub discount: Money,
    /// Its taxes.
    pub taxes: Vec<TaxLine>,
}

/// An order line as received: SKU, units, unit price, the discount allocated to it and its
/// taxes (DOMAIN.md §4; see `crate::pricing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered (at least 1).
    pub qty: crate::quantity::Quantity,
    /// Price of one unit (tax included when the order's prices include tax).
    pub unit_price: Money,
    /// Discounts allocated to the line, for all its units (at most units × unit price).
    pub discount: Money,
    /// Its taxes, for all its units.
    pub taxes: Vec<TaxLine>,
}

/// Counters of a line after the sale, kept while the order can still be returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSale {
    /// Units authorised for return.
    pub return_authorized: u64,
    /// Units refunded.
    pub refunded: u64,
    /// Money refunded for the line, tax excluded, in minor units.
    pub refunded_minor: i64,
    /// Tax refunded for the line, in minor units.
    pub refunded_tax_minor: i64,
}

/// An order line in decision state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The SKU (after any substitution).
    pub sku: Sku,
    /// The SKU first ordered, when substituted.
    pub substituted_from: Option<Sku>,
    /// Units ordered.
    pub ordered: u64,
    /// Price of one unit (tax included when the order's prices include tax).
    pub unit_price: Money,
    /// Discounts allocated to the line, for all its ordered units.
    pub discount: Money,
    /// Its taxes, for all its ordered units.
    pub taxes: Vec<TaxLine>,
    /// Units allocated so far (whatever stage they are in now).
    pub allocated: u64,
    /// Units shipped.
    pub shipped: u64,
    /// Units invoiced.
    pub invoiced: u64,
    /// Units cancelled (the unshipped remainder of a partly shipped order).
    pub cancelled: u64,
    /// Returns and refunds.
    pub after_sale: AfterSale,
    /// Units shipped per lot (lot-tracked SKUs): what a return of this line may name.
    pub shipped_lots: BTreeMap<LotId, u64>,
}

impl Line {
    /// Units still waiting for stock.
    #[must_use]
    pub fn unallocated(&self) -> u64 {
        self.ordered.saturating_sub(self.allocated).saturating_sub(self.cancelled)
    }
}

/// Where allocated units of a line are: by location and lot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AllocKey {
    /// The line number (0-based).
    pub line: u32,
    /// The location.
    pub location: LocationId,
    /// The lot.
    pub lot: Option<LotId>,
}

/// Units of an allocation by fulfilment stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stages {
    /// Reserved, not yet picked.
    pub reserved: u64,
    /// Picked, not yet packed.
    pub picked: u64,
    /// Packed, not yet shipped.
    pub packed: u64,
}

impl Stages {
    /// The units of one claim.
    #[must_use]
    pub fn of(&self, claim: crate::inventory::Claim) -> u64 {
        match claim {
            crate::inventory::Claim::Reserved => self.reserved,
            crate::inventory::Claim::Picked => self.picked,
            crate::inventory::Claim::Packed => self.packed,
        }
    }

    /// The units of one claim, to change.
    pub fn of_mut(&mut self, claim: crate::inventory::Claim) -> &mut u64 {
        match claim {
            crate::inventory::Claim::Reserved => &mut self.reserved,
            crate::inventory::Claim::Picked => &mut self.picked,
            crate::inventory::Claim::Packed => &mut self.packed,
        }
    }

    /// Whether nothing remains in any stage.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.reserved == 0 && self.picked == 0 && self.packed == 0
    }
}

/// Who pays for an order and how much of its invoiced money was received, by route: what
/// refunds need to go back the way the money came (DOMAIN.md §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    /// The B2B customer on terms, if any.
    pub customer: Option<CustomerId>,
    /// Whether the channel's marketplace collects and remits the tax (copied at receipt).
    pub facilitator_tax: bool,
    /// Money received through the processor and applied to the order's invoices (deposits
    /// consumed at shipment, captures after it), less processor refunds.
    pub paid_processor_minor: i64,
    /// Money the customer paid by bank and applied to the order's invoices, less what refunds
    /// gave back as customer credit.
    pub paid_customer_minor: i64,
    /// Shipping invoiced (tax excluded, after its discount) less shipping refunded.
    pub shipping_open_minor: i64,
    /// Tax on shipping invoiced less shipping tax refunded.
    pub shipping_tax_open_minor: i64,
}

/// 32-byte BLAKE3 digest of an order's content, for duplicate detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

/// An open order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The channel that placed it.
    pub channel: ChannelId,
    /// The currency of its prices.
    pub currency: Currency,
    /// When the customer placed it (orders backorder-fill oldest first).
    pub placed_at: Timestamp,
    /// Arrival order among all orders, the tie-break after `placed_at`.
    pub seq: u64,
    /// Its lines, numbered from 0.
    pub lines: Vec<Line>,
    /// Shipping charged.
    pub shipping_lines: Vec<ShippingLine>,
    /// Whether its prices include tax (VAT shops): the tax is part of each price, not added.
    pub taxes_included: bool,
    /// The number the customer knows it by (Shopify's `#1001`), when the channel has one.
    pub number: Option<String>,
    /// Lifecycle status.
    pub status: OrderStatus,
    /// The current hold, if any.
    pub hold: Option<Hold>,
    /// Allocated units by line, location and lot.
    pub allocations: BTreeMap<AllocKey, Stages>,
    /// Σ payments captured, in minor units.
    pub captured_minor: i64,
    /// Customer money held in deposits for this order: captured − invoiced − deposit refunds.
    pub deposit_minor: i64,
    /// Number of invoices issued (one per shipment).
    pub invoice_count: u32,
    /// Whether shipping was invoiced (with the first shipment).
    pub shipping_invoiced: bool,
    /// Digest of the content it was received with.
    pub digest: Digest,
    /// Customer, tax regime and money received by route.
    pub billing: Billing,
    /// Address, buyer and fraud score as the channel sent them.
    pub profile: Profile,
    /// Whether a person released an `address` or `data` hold: validation accepts the order as
    /// it is from then on (until an amendment changes it).
    pub checks_waived: bool,
    /// The source's version of the content it has now (Shopify's `updated_at`), when the
    /// source gave one: an amendment of an earlier or equal version is stale.
    pub revision: Option<Timestamp>,
}

/// What a delivered or cancelled order shrinks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedOrder {
    /// Digest of the content it was received with.
    pub digest: Digest,
    /// `Delivered` or `Cancelled`.
    pub status: OrderStatus,
    /// Currency of the order.
    pub currency: Currency,
    /// Customer money still held in deposits, in minor units (refundable).
    pub deposit_minor: i64,
    /// For delivered orders: what returns and refunds need.
    pub returnable: Option<Returnable>,
}

/// The part of a delivered order that returns and refunds need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returnable {
    /// The channel.
    pub channel: ChannelId,
    /// The currency.
    pub currency: Currency,
    /// Whether its prices include tax.
    pub taxes_included: bool,
    /// Σ payments captured, in minor units.
    pub captured_minor: i64,
    /// The lines.
    pub lines: Vec<Line>,
    /// Customer, tax regime and money received by route.
    pub billing: Billing,
}
