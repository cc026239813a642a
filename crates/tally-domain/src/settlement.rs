//! Marketplace settlements: money lines, their counter accounts, and the payout invariant
//! Σ net of lines = payout.

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, SettlementId};
use crate::journal::Account;
use crate::money::Currency;
use crate::time::Date;

/// The kind of a settlement money line. Amounts are signed as the marketplace reports them:
/// positive is money owed to us. Variant order is part of the event format (new kinds are
/// appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum SettlementLineKind {
    /// Item price collected from the customer.
    Principal,
    /// Shipping collected from the customer.
    Shipping,
    /// Sales tax collected for us (we remit it). On a channel flagged `facilitator_tax` the
    /// decision records it as [`SettlementLineKind::FacilitatorTax`]: the seller never
    /// credits 2200 there.
    Tax,
    /// Marketplace-facilitator tax: collected and remitted by the marketplace, in pairs that net
    /// to zero.
    FacilitatorTax,
    /// Marketplace commission (negative; positive when given back on a refund).
    Commission,
    /// Fulfilment fee (negative): FBA per-unit and per-order fees, shipping chargebacks,
    /// shipping labels, inbound transport, removal and disposal.
    FulfillmentFee,
    /// Storage fee (negative): monthly and long-term storage.
    StorageFee,
    /// Refund to a customer (negative).
    Refund,
    /// Reserve held back by the marketplace (negative) or released (positive).
    Reserve,
    /// A promotion the seller funds (negative; positive when reversed on a refund): contra
    /// revenue 4200.
    Promotion,
    /// The marketplace's refund administration fee, kept out of the commission it gives back
    /// on a refund (negative).
    RefundCommission,
    /// The marketplace's selling-plan subscription fee (negative).
    Subscription,
    /// Advertising charged against the settlement (negative; sponsored products).
    Advertising,
    /// The marketplace reimbursing inventory it lost or damaged (positive; negative when it
    /// reverses one): recovers 5500 inventory write-off.
    Reimbursement,
    /// A line whose description Tally does not know: posted to 9999 suspense and raised as an
    /// exception (`suspense_line`), never dropped.
    Suspense,
}

impl SettlementLineKind {
    /// Every kind, in definition order.
    pub const ALL: [SettlementLineKind; 15] = [
        Self::Principal,
        Self::Shipping,
        Self::Tax,
        Self::FacilitatorTax,
        Self::Commission,
        Self::FulfillmentFee,
        Self::StorageFee,
        Self::Refund,
        Self::Reserve,
        Self::Promotion,
        Self::RefundCommission,
        Self::Subscription,
        Self::Advertising,
        Self::Reimbursement,
        Self::Suspense,
    ];

    /// The account on the other side of marketplace clearing (1150). Principal, shipping, tax
    /// and refund lines confirm what the order side already posted to 1150 (the invoice at
    /// shipment, `issue_refund`), and facilitator tax is never the seller's: their entries post
    /// both halves inside 1150 and net to zero there. A difference between what was invoiced and
    /// what the marketplace settles stays in 1150 for reconciliation.
    #[must_use]
    pub const fn counter_account(self) -> Account {
        match self {
            Self::Principal | Self::Shipping | Self::Tax | Self::FacilitatorTax | Self::Refund => {
                Account::MarketplaceClearing
            }
            Self::Commission | Self::RefundCommission | Self::Subscription => {
                Account::MarketplaceCommissions
            }
            Self::FulfillmentFee => Account::FulfillmentFees,
            Self::StorageFee => Account::StorageFees,
            Self::Reserve => Account::MarketplaceReserve,
            Self::Promotion => Account::Discounts,
            Self::Advertising => Account::Advertising,
            Self::Reimbursement => Account::InventoryWriteOff,
            Self::Suspense => Account::Suspense,
        }
    }

    /// The snake_case name used in exports.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Shipping => "shipping",
            Self::Tax => "tax",
            Self::FacilitatorTax => "facilitator_tax",
            Self::Commission => "commission",
            Self::FulfillmentFee => "fulfillment_fee",
            Self::StorageFee => "storage_fee",
            Self::Refund => "refund",
            Self::Reserve => "reserve",
            Self::Promotion => "promotion",
            Self::RefundCommission => "refund_commission",
            Self::Subscription => "subscription",
            Self::Advertising => "advertising",
            Self::Reimbursement => "reimbursement",
            Self::Suspense => "suspense",
        }
    }
}

/// An open settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Its id.
    pub id: SettlementId,
    /// The marketplace channel.
    pub channel: ChannelId,
    /// Its currency.
    pub currency: Currency,
    /// First day of the period.
    pub period_start: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// Number of lines recorded.
    pub line_count: u32,
    /// Σ net of its lines, in minor units.
    pub net_minor: i64,
    /// Σ of its facilitator-tax lines, in minor units (must be zero at payout).
    pub facilitator_tax_minor: i64,
    /// The deposit, once paid out (minor units). A deposit that differs from `net_minor` is
    /// recorded all the same and raises a reconciliation exception; lines that arrive later
    /// (a re-import of lines once refused) are taken until the two agree.
    pub paid_out_minor: Option<i64>,
}

impl Settlement {
    /// Paid out, and the deposit equals the lines: closed to more lines and payouts.
    #[must_use]
    pub fn reconciled(&self) -> bool {
        self.paid_out_minor == Some(self.net_minor)
    }
}
