//! The receivables view (DOMAIN.md §4 "B2B on terms"): customers, their invoices with an amount
//! open in 1300 accounts receivable, their unapplied credit, and AR aging by days past due
//! (current, 1–30, 31–60, 61–90, > 90) as of any business date. Σ open of every invoice equals
//! the 1300 balance.
//!
//! Key layout (parts joined by 0x00):
//! - `customer/{customer}` → [`CustomerRec`];
//! - `invoice/{invoice}` → [`InvoiceRec`] while an amount is open (deleted when paid);
//! - `order/{order}` → the customer of an order invoiced on terms (for refunds to credit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::customer::InvoiceApplication;
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::time::Date;

use crate::keys::prefix;
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const CUSTOMER: &[u8] = b"customer";
const INVOICE: &[u8] = b"invoice";
const ORDER: &[u8] = b"order";

/// The receivables projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Receivables;

/// A customer as the view keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRec {
    /// Its name.
    pub name: String,
    /// Currency of its invoices.
    pub currency: Option<Currency>,
    /// Payment terms `net N`.
    pub terms_days: u32,
    /// Credit limit, in minor units.
    pub credit_limit_minor: i64,
    /// Unapplied credit (in 2100), in minor units.
    pub credit_minor: i64,
}

/// An invoice with an amount open in 1300.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRec {
    /// The invoice id.
    pub invoice: String,
    /// Its order.
    pub order: String,
    /// The customer owing it; `None` for a consumer order shipped before it was paid.
    pub customer: Option<String>,
    /// Currency.
    pub currency: Currency,
    /// Issue (shipment) date.
    pub issued_on: Date,
    /// Due date.
    pub due_on: Date,
    /// Amount debited to 1300 at issue, in minor units.
    pub amount_minor: i64,
    /// Amount still open, in minor units.
    pub open_minor: i64,
}

fn apply_to(tx: &mut Tx<'_>, a: &InvoiceApplication) -> Result<(), ApplyError> {
    let k = key(&[INVOICE, a.invoice.as_str().as_bytes()]);
    let Some(mut invoice) = tx.get::<InvoiceRec>(&k)? else {
        return Err(ApplyError::new(format!("application to unknown invoice {}", a.invoice)));
    };
    invoice.open_minor -= a.amount.minor();
    if invoice.open_minor <= 0 {
        tx.delete(k);
    } else {
        tx.put(k, &invoice)?;
    }
    Ok(())
}

fn add_credit(tx: &mut Tx<'_>, customer: &str, delta: i64) -> Result<(), ApplyError> {
    if delta == 0 {
        return Ok(());
    }
    tx.update(key(&[CUSTOMER, customer.as_bytes()]), |c: &mut CustomerRec| {
        c.credit_minor += delta;
    })?;
    Ok(())
}

impl Projection for Receivables {
    fn name(&self) -> &'static str {
        "receivables"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        match a.event {
            Event::CustomerDefined(c) => {
                tx.update(key(&[CUSTOMER, c.id.as_str().as_bytes()]), |r: &mut CustomerRec| {
                    r.name.clone_from(&c.name);
                    r.currency = Some(c.currency);
                    r.terms_days = c.terms_days;
                    r.credit_limit_minor = c.credit_limit.minor();
                })?;
            }
            Event::InvoiceIssued(e) => {
                if let Some(customer) = &e.customer {
                    tx.put(
                        key(&[ORDER, e.order.as_str().as_bytes()]),
                        &customer.as_str().to_owned(),
                    )?;
                }
                if e.receivable_account == Account::AccountsReceivable && e.receivable.minor() > 0 {
                    let rec = InvoiceRec {
                        invoice: e.invoice.to_string(),
                        order: e.order.to_string(),
                        customer: e.customer.as_ref().map(ToString::to_string),
                        currency: e.receivable.currency(),
                        issued_on: e.issued_on,
                        due_on: e.due_on,
                        amount_minor: e.receivable.minor(),
                        open_minor: e.receivable.minor(),
                    };
                    tx.put(key(&[INVOICE, e.invoice.as_str().as_bytes()]), &rec)?;
                }
            }
            Event::PaymentCaptured(e) => {
                for app in &e.applied {
                    apply_to(tx, app)?;
                }
            }
            Event::CustomerPaymentRecorded(e) => {
                for app in &e.applications {
                    apply_to(tx, app)?;
                }
                add_credit(tx, e.customer.as_str(), e.unapplied.minor() - e.credit_used.minor())?;
            }
            Event::RefundIssued(e) => {
                for app in &e.credit_notes {
                    apply_to(tx, app)?;
                }
                if e.customer_credit.minor() != 0 {
                    let customer: Option<String> =
                        tx.get(&key(&[ORDER, e.order.as_str().as_bytes()]))?;
                    let Some(customer) = customer else {
                        return Err(ApplyError::new(format!(
                            "customer credit for order {} without a customer",
                            e.order
                        )));
                    };
                    add_credit(tx, &customer, e.customer_credit.minor())?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Open amounts by days past due, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buckets {
    /// Not yet due.
    pub current: i64,
    /// 1 to 30 days past due.
    pub days_1_30: i64,
    /// 31 to 60 days past due.
    pub days_31_60: i64,
    /// 61 to 90 days past due.
    pub days_61_90: i64,
    /// More than 90 days past due.
    pub over_90: i64,
}

impl Buckets {
    /// Adds `minor` to the bucket of an invoice `days_past_due` days past its due date.
    pub fn add(&mut self, days_past_due: i32, minor: i64) {
        let bucket = match days_past_due {
            ..=0 => &mut self.current,
            1..=30 => &mut self.days_1_30,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.over_90,
        };
        *bucket += minor;
    }

    /// Σ of every bucket.
    #[must_use]
    pub fn total(&self) -> i64 {
        self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90
    }

    fn merge(&mut self, other: &Buckets) {
        self.current += other.current;
        self.days_1_30 += other.days_1_30;
        self.days_31_60 += other.days_31_60;
        self.days_61_90 += other.days_61_90;
        self.over_90 += other.over_90;
    }
}

/// Days from `due` to `as_of` (negative before the due date).
#[must_use]
pub fn days_past_due(as_of: Date, due: Date) -> i32 {
    as_of.days().saturating_sub(due.days())
}

/// One debtor's aging in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorAging {
    /// The customer; `None` for consumer orders shipped before they were paid.
    pub customer: Option<String>,
    /// The customer's record, when it is one.
    pub record: Option<CustomerRec>,
    /// Currency.
    pub currency: Currency,
    /// Open amounts by days past due.
    pub buckets: Buckets,
    /// Number of open invoices.
    pub open_invoices: u64,
}

/// The aging answer: per debtor, and per currency over every debtor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aging {
    /// Customers by id (then consumer orders), each with open invoices or credit.
    pub debtors: Vec<DebtorAging>,
    /// Per currency: Σ of every debtor (equals the 1300 balance of the currency).
    pub totals: Vec<(Currency, Buckets)>,
}

/// Every invoice with an amount open, by invoice id; only `customer`'s when given.
pub fn open_invoices(r: &ViewReader, customer: Option<&str>) -> Result<Vec<InvoiceRec>> {
    Ok(r.scan_typed::<InvoiceRec>(&prefix(&[INVOICE]))?
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| customer.is_none_or(|c| v.customer.as_deref() == Some(c)))
        .collect())
}

/// A customer's record.
pub fn customer(r: &ViewReader, id: &str) -> Result<Option<CustomerRec>> {
    r.get::<CustomerRec>(&key(&[CUSTOMER, id.as_bytes()]))
}

/// AR aging as of `as_of`: every debtor with open invoices (or unapplied credit), and totals.
pub fn aging(r: &ViewReader, as_of: Date, only: Option<&str>) -> Result<Aging> {
    let mut by_debtor: BTreeMap<(Option<String>, Currency), (Buckets, u64)> = BTreeMap::new();
    for invoice in open_invoices(r, only)? {
        let entry = by_debtor.entry((invoice.customer.clone(), invoice.currency)).or_default();
        entry.0.add(days_past_due(as_of, invoice.due_on), invoice.open_minor);
        entry.1 += 1;
    }
    let customers = r.scan_typed::<CustomerRec>(&prefix(&[CUSTOMER]))?;
    let mut records = BTreeMap::new();
    for (id, rec) in customers {
        let id = crate::keys::text(&id);
        if only.is_some_and(|o| o != id) {
            continue;
        }
        if let Some(currency) = rec.currency
            && rec.credit_minor != 0
        {
            by_debtor.entry((Some(id.clone()), currency)).or_default();
        }
        records.insert(id, rec);
    }
    let mut totals: BTreeMap<Currency, Buckets> = BTreeMap::new();
    let mut debtors = Vec::with_capacity(by_debtor.len());
    // Customers first (by id), consumer orders (no customer) last.
    let mut keys: Vec<_> = by_debtor.into_iter().collect();
    keys.sort_by(|a, b| (a.0.0.is_none(), &a.0).cmp(&(b.0.0.is_none(), &b.0)));
    for ((customer, currency), (buckets, n)) in keys {
        totals.entry(currency).or_default().merge(&buckets);
        debtors.push(DebtorAging {
            record: customer.as_ref().and_then(|c| records.get(c).cloned()),
            customer,
            currency,
            buckets,
            open_invoices: n,
        });
    }
    Ok(Aging { debtors, totals: totals.into_iter().collect() })
}
