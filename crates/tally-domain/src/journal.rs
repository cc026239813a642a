//! Journal entries: the chart of accounts (DOMAIN.md §4), postings and the balance check.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, JournalEntryId, OrderId, PayoutId, ReturnId, SettlementId};
use crate::inventory::StockKey;
use crate::money::{Currency, Money};
use crate::rejection::Rejection;
use crate::stream;
use crate::time::Timestamp;

/// An account of the chart (DOMAIN.md §4), in number order. Variant order is part of the event
/// format (store format 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// 1000 bank.
    Bank,
    /// 1100 processor clearing.
    ProcessorClearing,
    /// 1150 marketplace clearing.
    MarketplaceClearing,
    /// 1160 marketplace reserve.
    MarketplaceReserve,
    /// 1200 inventory.
    Inventory,
    /// 1300 accounts receivable (B2B invoices on terms).
    AccountsReceivable,
    /// 2000 accounts payable (supplier invoices).
    AccountsPayable,
    /// 2050 goods received not invoiced.
    GoodsReceivedNotInvoiced,
    /// 2100 customer deposits.
    CustomerDeposits,
    /// 2200 sales tax payable.
    SalesTaxPayable,
    /// 4000 product revenue.
    ProductRevenue,
    /// 4100 shipping revenue.
    ShippingRevenue,
    /// 4200 discounts (contra revenue).
    Discounts,
    /// 4500 sales returns.
    SalesReturns,
    /// 5000 cost of goods sold.
    CostOfGoodsSold,
    /// 5100 payment fees.
    PaymentFees,
    /// 5200 marketplace commissions.
    MarketplaceCommissions,
    /// 5300 fulfillment fees.
    FulfillmentFees,
    /// 5400 storage fees.
    StorageFees,
    /// 5450 advertising.
    Advertising,
    /// 5500 inventory write-off.
    InventoryWriteOff,
    /// 5600 purchase price variance (and valuation rounding).
    PurchasePriceVariance,
    /// 9999 suspense (unknown settlement lines; always raised as an exception).
    Suspense,
}

impl Account {
    /// Every account, in chart order.
    pub const ALL: [Account; 23] = [
        Account::Bank,
        Account::ProcessorClearing,
        Account::MarketplaceClearing,
        Account::MarketplaceReserve,
        Account::Inventory,
        Account::AccountsReceivable,
        Account::AccountsPayable,
        Account::GoodsReceivedNotInvoiced,
        Account::CustomerDeposits,
        Account::SalesTaxPayable,
        Account::ProductRevenue,
        Account::ShippingRevenue,
        Account::Discounts,
        Account::SalesReturns,
        Account::CostOfGoodsSold,
        Account::PaymentFees,
        Account::MarketplaceCommissions,
        Account::FulfillmentFees,
        Account::StorageFees,
        Account::Advertising,
        Account::InventoryWriteOff,
        Account::PurchasePriceVariance,
        Account::Suspense,
    ];

    /// The account number of the chart.
    #[must_use]
    pub const fn number(self) -> u16 {
        match self {
            Account::Bank => 1000,
            Account::ProcessorClearing => 1100,
            Account::MarketplaceClearing => 1150,
            Account::MarketplaceReserve => 1160,
            Account::Inventory => 1200,
            Account::AccountsReceivable => 1300,
            Account::AccountsPayable => 2000,
            Account::GoodsReceivedNotInvoiced => 2050,
            Account::CustomerDeposits => 2100,
            Account::SalesTaxPayable => 2200,
            Account::ProductRevenue => 4000,
            Account::ShippingRevenue => 4100,
            Account::Discounts => 4200,
            Account::SalesReturns => 4500,
            Account::CostOfGoodsSold => 5000,
            Account::PaymentFees => 5100,
            Account::MarketplaceCommissions => 5200,
            Account::FulfillmentFees => 5300,
            Account::StorageFees => 5400,
            Account::Advertising => 5450,
            Account::InventoryWriteOff => 5500,
            Account::PurchasePriceVariance => 5600,
            Account::Suspense => 9999,
        }
    }

    /// The account's name in the chart ("processor clearing").
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Account::Bank => "bank",
            Account::ProcessorClearing => "processor clearing",
            Account::MarketplaceClearing => "marketplace clearing",
            Account::MarketplaceReserve => "marketplace reserve",
            Account::Inventory => "inventory",
            Account::AccountsReceivable => "accounts receivable",
            Account::AccountsPayable => "accounts payable",
            Account::GoodsReceivedNotInvoiced => "goods received not invoiced",
            Account::CustomerDeposits => "customer deposits",
            Account::SalesTaxPayable => "sales tax payable",
            Account::ProductRevenue => "product revenue",
            Account::ShippingRevenue => "shipping revenue",
            Account::Discounts => "discounts",
            Account::SalesReturns => "sales returns",
            Account::CostOfGoodsSold => "cost of goods sold",
            Account::PaymentFees => "payment fees",
            Account::MarketplaceCommissions => "marketplace commissions",
            Account::FulfillmentFees => "fulfillment fees",
            Account::StorageFees => "storage fees",
            Account::Advertising => "advertising",
            Account::InventoryWriteOff => "inventory write-off",
            Account::PurchasePriceVariance => "purchase price variance",
            Account::Suspense => "suspense",
        }
    }

    /// The account with this number.
    #[must_use]
    pub fn from_number(number: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.number() == number)
    }
}

/// One line of a journal entry: a signed amount on an account, debit positive, credit negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject, async_graphql::SimpleObject),
    graphql(input_name = "PostingInput")
)]
pub struct Posting {
    /// The account.
    pub account: Account,
    /// Debit when positive, credit when negative.
    pub amount: Money,
}

impl Posting {
    /// A debit of `amount` (which should be non-negative).
    #[must_use]
    pub const fn debit(account: Account, amount: Money) -> Self {
        Self { account, amount }
    }

    /// A credit of `amount` (which should be non-negative).
    #[must_use]
    pub const fn credit(account: Account, amount: Money) -> Self {
        Self { account, amount: amount.negated() }
    }
}

/// What a journal entry is about; also names the stream it is recorded on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalRef {
    /// An order (payment, invoice, COGS, fee, refund).
    Order(OrderId),
    /// A return (restocked units back into inventory).
    Return(ReturnId),
    /// A marketplace settlement.
    Settlement(SettlementId),
    /// A stock bucket (receipt, adjustment, scrap).
    Stock(StockKey),
    /// A processor payout.
    Payout(PayoutId),
    /// A manual entry.
    Manual,
    /// A supplier (its invoices and payments; invoice-match exceptions).
    Supplier(crate::ids::SupplierId),
    /// A B2B customer (a customer payment and its cash application).
    Customer(CustomerId),
}

impl JournalRef {
    /// The stream of the referenced entity.
    #[must_use]
    pub fn stream(&self) -> String {
        match self {
            JournalRef::Order(id) => stream::order(id),
            JournalRef::Return(id) => stream::return_of(id),
            JournalRef::Settlement(id) => stream::settlement(id),
            JournalRef::Stock(key) => stream::inventory(key),
            JournalRef::Payout(id) => stream::payout(id),
            JournalRef::Manual => stream::JOURNAL.to_owned(),
            JournalRef::Supplier(id) => stream::supplier(id),
            JournalRef::Customer(id) => stream::customer(id),
        }
    }
}

/// A balanced journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Its id, minted deterministically from the entry count.
    pub entry: JournalEntryId,
    /// Business time of posting (the command's `ctx.now`).
    pub posted_at: Timestamp,
    /// What it is about.
    pub reference: JournalRef,
    /// A short lowercase description: `payment captured`, `invoice`, `cogs`, …
    pub memo: String,
    /// Its postings; they sum to zero per currency.
    pub postings: Vec<Posting>,
}

/// Σ of postings per currency.
#[must_use]
pub fn sums_by_currency(postings: &[Posting]) -> BTreeMap<Currency, i128> {
    let mut sums = BTreeMap::new();
    for p in postings {
        *sums.entry(p.amount.currency()).or_insert(0_i128) += i128::from(p.amount.minor());
    }
    sums
}

/// `Ok` when the postings sum to zero in every currency.
pub fn check_balanced(postings: &[Posting]) -> Result<(), Rejection> {
    for (currency, sum) in sums_by_currency(postings) {
        if sum != 0 {
            let imbalance = i64::try_from(sum).map_or_else(
                |_| sum.to_string(),
                |m| Money::from_minor(m, currency).to_decimal_string(),
            );
            return Err(Rejection::UnbalancedEntry { currency, imbalance });
        }
    }
    Ok(())
}

/// Drops zero postings and merges postings on the same account and currency, keeping the
/// order of first appearance; `None` when a merged amount would not fit in `i64`.
#[must_use]
pub fn compact(postings: Vec<Posting>) -> Option<Vec<Posting>> {
    let mut out: Vec<Posting> = Vec::with_capacity(postings.len());
    for p in postings {
        if let Some(existing) = out.iter_mut().find(|e| {
            e.account == p.account
                && e.amount.currency() == p.amount.currency()
                && (e.amount.minor() >= 0) == (p.amount.minor() >= 0)
        }) {
            existing.amount = existing.amount.checked_add(p.amount)?;
        } else {
            out.push(p);
        }
    }
    out.retain(|p| p.amount.minor() != 0);
    Some(out)
}
