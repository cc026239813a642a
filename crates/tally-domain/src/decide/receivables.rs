//! Decisions on receivables (DOMAIN.md §4 "B2B on terms"): customers, the split of an invoice
//! between deposits and what is owed, customer payments with cash application, the credit
//! hold, and the routing of refunds back the way the money came.

use std::collections::BTreeMap;

use super::{Decision, Journal, non_negative, plus, same_currency, text};
use crate::command::{DefineCustomer, ReceiveOrder, RecordCustomerPayment};
use crate::customer::{Customer, CustomerAccount, InvoiceApplication, OpenInvoice, TERMS_DAYS_MAX};
use crate::event::{CustomerPaymentRecorded, Event, OrderEvent, OrderHeld};
use crate::ids::{CustomerId, InvoiceId, OrderId};
use crate::journal::{Account, JournalRef, Posting};
use crate::master::ChannelKind;
use crate::money::{Currency, Money};
use crate::order::{Billing, HoldReason, Order};
use crate::rejection::Rejection;
use crate::time::{DAY_MS, Date, Timestamp};

/// Most invoices one customer payment may be applied to.
pub const APPLICATIONS_MAX: usize = 1_000;

impl Decision<'_> {
    pub(crate) fn customer(&self, id: &CustomerId) -> Result<&CustomerAccount, Rejection> {
        self.state.customers.get(id).ok_or_else(|| Rejection::UnknownCustomer(id.clone()))
    }
}

fn decimal(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).to_decimal_string()
}

pub(super) fn define_customer(
    d: &Decision<'_>,
    c: &DefineCustomer,
) -> Result<Vec<Event>, Rejection> {
    text("customer name", &c.name)?;
    if c.name.trim().is_empty() {
        return Err(Rejection::InvalidInput(format!("customer '{}' has no name", c.customer)));
    }
    if c.terms_days > TERMS_DAYS_MAX {
        return Err(Rejection::InvalidInput(format!(
            "terms net {} are longer than net {TERMS_DAYS_MAX}",
            c.terms_days
        )));
    }
    same_currency(c.currency, c.credit_limit.currency())?;
    non_negative("credit limit", c.credit_limit, true)?;
    let customer = Customer {
        id: c.customer.clone(),
        name: c.name.clone(),
        currency: c.currency,
        terms_days: c.terms_days,
        credit_limit: c.credit_limit,
    };
    if let Some(existing) = d.state.customers.get(&c.customer) {
        if existing.customer == customer {
            return Ok(Vec::new());
        }
        let in_use = existing.open_ar_minor != 0
            || existing.credit_minor != 0
            || d.state.orders.values().any(|o| o.billing.customer.as_ref() == Some(&c.customer));
        if existing.customer.currency != c.currency && in_use {
            return Err(Rejection::InvalidState {
                entity: "customer",
                id: c.customer.to_string(),
                state: "in use by open orders, invoices or credit".to_owned(),
                action: "change its currency",
            });
        }
    }
    Ok(vec![Event::CustomerDefined(customer)])
}

/// What an order's invoices will charge in all (every line and shipping line, discounts off,
/// the seller's taxes on), as at receipt.
fn order_value(order: &Order) -> Result<Money, Rejection> {
    crate::pricing::order_total(order, order.billing.facilitator_tax)
}

/// An order's total as its invoices will charge it (merchandise and shipping after
/// discounts, with the seller's tax), or `None` when it does not fit the bounds.
pub(crate) fn order_gross(order: &crate::order::Order) -> Option<Money> {
    crate::pricing::order_total(order, order.billing.facilitator_tax).ok()
}

/// Whether an order of a B2B customer fits its credit limit: open AR − unapplied credit +
/// the order's total ≤ limit (true for orders without a customer on terms).
pub(crate) fn credit_fits(state: &crate::state::State, order: &crate::order::Order) -> bool {
    let Some(id) = &order.billing.customer else { return true };
    let (Some(account), Some(gross)) = (state.customers.get(id), order_gross(order)) else {
        return false;
    };
    let after = i128::from(exposure(account)) + i128::from(gross.minor());
    after <= i128::from(account.customer.credit_limit.minor())
}

/// What the customer owes beyond its unapplied credit, in minor units.
fn exposure(account: &CustomerAccount) -> i64 {
    account.open_ar_minor - account.credit_minor
}

/// Checks the order's customer; the `order.held` (reason `credit`) when open AR − unapplied
/// credit + the order's value (what its invoices will charge, `value`) would pass the customer's credit limit.
pub(super) fn receive_checks(
    d: &Decision<'_>,
    c: &ReceiveOrder,
    value: Money,
) -> Result<Option<Event>, Rejection> {
    let Some(id) = &c.customer else { return Ok(None) };
    let account = d.customer(id)?;
    same_currency(account.customer.currency, c.currency)?;
    let limit = account.customer.credit_limit.minor();
    let after = i128::from(exposure(account)) + i128::from(value.minor());
    if after <= i128::from(limit) {
        return Ok(None);
    }
    Ok(Some(Event::OrderHeld(OrderHeld {
        order: c.order.clone(),
        reason: HoldReason::Credit,
        due_at: Timestamp::from_millis(d.ctx.now.millis().saturating_add(DAY_MS)),
        note: format!(
            "credit limit {}: open AR {} − credit {} + this order {} = {}",
            decimal(limit, c.currency),
            decimal(account.open_ar_minor, c.currency),
            decimal(account.credit_minor, c.currency),
            value.to_decimal_string(),
            i64::try_from(after).map_or_else(|_| after.to_string(), |m| decimal(m, c.currency)),
        ),
    })))
}

/// How an invoice's total is paid for.
pub(super) struct InvoiceSplit {
    pub(super) deposits_applied: Money,
    pub(super) receivable: Money,
    pub(super) account: Account,
    pub(super) customer: Option<CustomerId>,
    pub(super) issued_on: Date,
    pub(super) due_on: Date,
}

/// The invoice total is covered first by the order's deposits (money received before
/// shipment, 2100); the rest is owed: by the marketplace (1150) for a marketplace order, else
/// by the customer (1300), due after the customer's terms (at once without a customer).
pub(super) fn invoice_split(
    d: &Decision<'_>,
    order: &Order,
    total: Money,
) -> Result<InvoiceSplit, Rejection> {
    let deposits = order.deposit_minor.clamp(0, total.minor().max(0));
    let deposits_applied = Money::from_minor(deposits, total.currency());
    let receivable = Money::from_minor(total.minor() - deposits, total.currency());
    let account = match d.state.channels.get(&order.channel).map(|c| c.kind) {
        Some(ChannelKind::Marketplace) => Account::MarketplaceClearing,
        _ => Account::AccountsReceivable,
    };
    let terms = order
        .billing
        .customer
        .as_ref()
        .and_then(|c| d.state.customers.get(c))
        .map_or(0, |a| a.customer.terms_days);
    let issued_on = d.today();
    Ok(InvoiceSplit {
        deposits_applied,
        receivable,
        account,
        customer: order.billing.customer.clone(),
        issued_on,
        due_on: issued_on.plus_days(terms),
    })
}

/// Open invoices of an order, oldest first.
fn open_invoices_of<'a>(
    d: &'a Decision<'_>,
    order: &OrderId,
) -> Vec<(&'a InvoiceId, &'a OpenInvoice)> {
    let mut out: Vec<_> = d.state.invoices.iter().filter(|(_, i)| &i.order == order).collect();
    out.sort_by_key(|(id, i)| (i.issued_on, i.amount_minor, (*id).clone()));
    out
}

/// Applies up to `amount` to the order's open invoices, oldest first.
pub(super) fn apply_to_order(
    d: &Decision<'_>,
    order: &OrderId,
    amount: Money,
) -> Vec<InvoiceApplication> {
    let mut left = amount.minor();
    let mut out = Vec::new();
    for (id, invoice) in open_invoices_of(d, order) {
        if left <= 0 {
            break;
        }
        let take = left.min(invoice.open_minor);
        left -= take;
        out.push(InvoiceApplication {
            invoice: id.clone(),
            order: order.clone(),
            amount: Money::from_minor(take, amount.currency()),
        });
    }
    out
}

/// Where a refund's money goes (DOMAIN.md §4 "Refunds go back the way the money came").
pub(super) struct RefundRoute {
    pub(super) credit_notes: Vec<InvoiceApplication>,
    pub(super) processor: Money,
    pub(super) marketplace: Money,
    pub(super) customer_credit: Money,
}

impl RefundRoute {
    pub(super) fn postings(&self) -> Vec<Posting> {
        let credit_notes: i64 = self.credit_notes.iter().map(|a| a.amount.minor()).sum();
        let currency = self.processor.currency();
        vec![
            Posting::credit(Account::AccountsReceivable, Money::from_minor(credit_notes, currency)),
            Posting::credit(Account::ProcessorClearing, self.processor),
            Posting::credit(Account::MarketplaceClearing, self.marketplace),
            Posting::credit(Account::CustomerDeposits, self.customer_credit),
        ]
    }
}

/// Routes a refund of `total`: a marketplace order through its settlement (1150); otherwise a
/// credit note against the order's open invoices first (1300), then money paid back the way it
/// came: through the processor (1100), then, for a customer who paid by bank, as the
/// customer's unapplied credit (2100). More than is open plus paid is refused.
pub(super) fn route_refund(
    d: &Decision<'_>,
    order: &OrderId,
    channel: &crate::ids::ChannelId,
    billing: &Billing,
    total: Money,
) -> Result<RefundRoute, Rejection> {
    let currency = total.currency();
    let zero = Money::zero(currency);
    let marketplace =
        d.state.channels.get(channel).is_some_and(|c| c.kind == ChannelKind::Marketplace);
    if marketplace {
        return Ok(RefundRoute {
            credit_notes: Vec::new(),
            processor: zero,
            marketplace: total,
            customer_credit: zero,
        });
    }
    let credit_notes = apply_to_order(d, order, total);
    let noted: i64 = credit_notes.iter().map(|a| a.amount.minor()).sum();
    let mut left = total.minor() - noted;
    let processor = left.min(billing.paid_processor_minor.max(0));
    left -= processor;
    let customer_credit =
        if billing.customer.is_some() { left.min(billing.paid_customer_minor.max(0)) } else { 0 };
    left -= customer_credit;
    if left > 0 {
        let open = noted
            + billing.paid_processor_minor.max(0)
            + if billing.customer.is_some() { billing.paid_customer_minor.max(0) } else { 0 };
        return Err(Rejection::ExceedsOpenAmount {
            what: "refund",
            id: order.to_string(),
            open: decimal(open, currency),
            requested: total.to_decimal_string(),
        });
    }
    Ok(RefundRoute {
        credit_notes,
        processor: Money::from_minor(processor, currency),
        marketplace: zero,
        customer_credit: Money::from_minor(customer_credit, currency),
    })
}

pub(super) fn record_customer_payment(
    d: &Decision<'_>,
    c: &RecordCustomerPayment,
) -> Result<Vec<Event>, Rejection> {
    let account = d.customer(&c.customer)?;
    let currency = account.customer.currency;
    same_currency(currency, c.amount.currency())?;
    non_negative("customer payment", c.amount, true)?;
    if c.amount.minor() == 0 && c.applications.is_empty() {
        return Err(Rejection::InvalidAmount {
            what: "customer payment",
            value: c.amount.to_decimal_string(),
        });
    }
    if c.applications.len() > APPLICATIONS_MAX {
        return Err(Rejection::InvalidInput(format!(
            "payment '{}' has {} applications, more than {APPLICATIONS_MAX}",
            c.payment,
            c.applications.len()
        )));
    }
    let mut per_invoice: BTreeMap<&InvoiceId, i64> = BTreeMap::new();
    let mut applications = Vec::with_capacity(c.applications.len());
    let mut applied = Money::zero(currency);
    for a in &c.applications {
        let invoice = d
            .state
            .invoices
            .get(&a.invoice)
            .ok_or_else(|| Rejection::UnknownInvoice(a.invoice.clone()))?;
        if invoice.customer.as_ref() != Some(&c.customer) {
            return Err(Rejection::InvalidInput(format!(
                "invoice '{}' is not owed by customer '{}'",
                a.invoice, c.customer
            )));
        }
        same_currency(currency, a.amount.currency())?;
        non_negative("payment application", a.amount, false)?;
        let total = per_invoice.entry(&a.invoice).or_insert(0);
        *total += a.amount.minor();
        if *total > invoice.open_minor {
            return Err(Rejection::ExceedsOpenAmount {
                what: "payment application",
                id: a.invoice.to_string(),
                open: decimal(invoice.open_minor, currency),
                requested: decimal(*total, currency),
            });
        }
        applied = plus(applied, a.amount)?;
        applications.push(InvoiceApplication {
            invoice: a.invoice.clone(),
            order: invoice.order.clone(),
            amount: a.amount,
        });
    }
    let available = i128::from(c.amount.minor()) + i128::from(account.credit_minor.max(0));
    if i128::from(applied.minor()) > available {
        return Err(Rejection::ExceedsOpenAmount {
            what: "payment applications",
            id: c.customer.to_string(),
            open: format!(
                "{} paid + {} credit",
                c.amount.to_decimal_string(),
                decimal(account.credit_minor, currency)
            ),
            requested: applied.to_decimal_string(),
        });
    }
    let cash_applied = applied.minor().min(c.amount.minor());
    let credit_used = Money::from_minor(applied.minor() - cash_applied, currency);
    let unapplied = Money::from_minor(c.amount.minor() - cash_applied, currency);
    let mut events = vec![Event::CustomerPaymentRecorded(CustomerPaymentRecorded {
        payment: c.payment.clone(),
        customer: c.customer.clone(),
        amount: c.amount,
        applications,
        credit_used,
        unapplied,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Customer(c.customer.clone()),
        "customer payment",
        vec![
            Posting::debit(Account::Bank, c.amount),
            Posting::debit(Account::CustomerDeposits, credit_used),
            Posting::credit(Account::AccountsReceivable, applied),
            Posting::credit(Account::CustomerDeposits, unapplied),
        ],
    )?);
    // Orders held for credit are released, oldest first, while they fit under the limit.
    let mut exposure_after =
        exposure(account) - applied.minor() - unapplied.minor() + credit_used.minor();
    let mut held: Vec<&Order> = d
        .state
        .orders
        .values()
        .filter(|o| {
            o.billing.customer.as_ref() == Some(&c.customer)
                && o.hold.as_ref().is_some_and(|h| h.reason == HoldReason::Credit)
        })
        .collect();
    held.sort_by_key(|o| (o.placed_at, o.seq));
    for order in held {
        let value = order_value(order)?;
        if exposure_after + value.minor() > account.customer.credit_limit.minor() {
            break;
        }
        exposure_after += value.minor();
        events.push(Event::OrderHoldReleased(OrderEvent { order: order.id.clone() }));
    }
    Ok(events)
}
