//! B2B customers on terms and their receivables: open invoices in 1300, unapplied credit in
//! 2100 (DOMAIN.md §4 "B2B on terms").

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, CustomerId, InvoiceId, OrderId};
use crate::money::{Currency, Money};
use crate::time::Date;

/// Longest payment terms, in days (`net 365`).
pub const TERMS_DAYS_MAX: u32 = 365;

/// A customer's master record (also the payload of `customer.defined`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Its id.
    pub id: CustomerId,
    /// Its name.
    pub name: String,
    /// Currency of its invoices and payments.
    pub currency: Currency,
    /// Payment terms `net N`: days from shipment to due date.
    pub terms_days: u32,
    /// Credit limit on open receivables.
    pub credit_limit: Money,
}

/// A customer in decision state: its record and its running balances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccount {
    /// The master record.
    pub customer: Customer,
    /// Σ open amounts of its invoices in 1300, in minor units.
    pub open_ar_minor: i64,
    /// Unapplied credit (overpayments, credit notes past the open amount), held in 2100.
    pub credit_minor: i64,
}

/// An invoice with an amount still open in 1300 accounts receivable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInvoice {
    /// The order invoiced.
    pub order: OrderId,
    /// The channel of the order.
    pub channel: ChannelId,
    /// The customer, when the order named one.
    pub customer: Option<CustomerId>,
    /// Currency.
    pub currency: Currency,
    /// Issue (shipment) date.
    pub issued_on: Date,
    /// Due date: issue date + the customer's terms (the issue date without a customer).
    pub due_on: Date,
    /// Amount debited to 1300 at issue.
    pub amount_minor: i64,
    /// Amount still open.
    pub open_minor: i64,
}

/// Money applied to one invoice (by a payment, a capture or a credit note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceApplication {
    /// The invoice.
    pub invoice: InvoiceId,
    /// The invoice's order.
    pub order: OrderId,
    /// Amount applied.
    pub amount: Money,
}
