//! Decisions on money: payments, processor fees, refunds, processor payouts, marketplace
//! settlements and manual entries. Each posts a balanced journal entry (DOMAIN.md §4).

use std::collections::BTreeMap;

use super::receivables::{apply_to_order, route_refund};
use super::returns::{line_of, sold_lines};
use super::{
    Decision, Journal, amount, non_negative, plus, positive, same_currency, text, within_total,
};
use crate::command::{
    CapturePayment, FeeAmount, FeeInput, FeeRate, IssueRefund, OpenSettlement, PostJournalEntry,
    RecordProcessorFee, RecordProcessorPayout, RecordSettlementLine, RefundDeposit, SettlePayout,
};
use crate::event::{
    DepositRefunded, Event, ExceptionKind, ExceptionRaised, MoneyLine, PaymentCaptured,
    PayoutSettled, ProcessorFeeRecorded, ProcessorPayoutRecorded, RefundIssued,
    SettlementLineRecorded, SettlementOpened,
};
use crate::ids::{ChannelId, OrderId};
use crate::journal::{Account, JournalRef, Posting, check_balanced};
use crate::money::{Currency, Money, Rate};
use crate::order::{Billing, TaxLine};
use crate::rejection::Rejection;
use crate::settlement::{Settlement, SettlementLineKind};

/// Currency, whether prices include tax, and captured amount of an open or delivered order.
fn order_money(d: &Decision<'_>, order: &OrderId) -> Result<(Currency, bool, i64), Rejection> {
    if let Some(o) = d.state.orders.get(order) {
        return Ok((o.currency, o.taxes_included, o.captured_minor));
    }
    sold_lines(d, order)?;
    d.closed(order)
        .and_then(|c| c.returnable.as_ref())
        .map(|r| (r.currency, r.taxes_included, r.captured_minor))
        .ok_or_else(|| Rejection::UnknownOrder(order.clone()))
}

/// The channel and billing record of a sold order, open or delivered.
fn sold_billing<'a>(
    d: &'a Decision<'_>,
    order: &OrderId,
) -> Result<(&'a ChannelId, &'a Billing), Rejection> {
    if let Some(o) = d.state.orders.get(order) {
        return Ok((&o.channel, &o.billing));
    }
    d.closed(order)
        .and_then(|c| c.returnable.as_ref())
        .map(|r| (&r.channel, &r.billing))
        .ok_or_else(|| Rejection::UnknownOrder(order.clone()))
}

pub(super) fn capture_payment(
    d: &Decision<'_>,
    c: &CapturePayment,
) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    same_currency(order.currency, c.amount.currency())?;
    non_negative("payment", c.amount, false)?;
    // A cumulative capture says what the captures add up to: only the rest is new money.
    let c = &if c.cumulative {
        let new = c.amount.minor() - order.captured_minor;
        if new <= 0 {
            return Ok(Vec::new());
        }
        CapturePayment {
            amount: Money::from_minor(new, c.amount.currency()),
            cumulative: false,
            ..c.clone()
        }
    } else {
        c.clone()
    };
    within_total("order's captured total", order.captured_minor, c.amount)?;
    within_total("order's deposits", order.deposit_minor, c.amount)?;
    // Captured after shipment, the money pays the order's open invoices first; only the rest is
    // a deposit (2100 holds money received before it is invoiced, never a debit).
    let applied = apply_to_order(d, &c.order, c.amount);
    let to_ar: i64 = applied.iter().map(|a| a.amount.minor()).sum();
    let to_ar = Money::from_minor(to_ar, c.amount.currency());
    let deposit = Money::from_minor(c.amount.minor() - to_ar.minor(), c.amount.currency());
    let mut events = vec![Event::PaymentCaptured(PaymentCaptured {
        order: c.order.clone(),
        payment: c.payment.clone(),
        amount: c.amount,
        applied,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Order(c.order.clone()),
        "payment captured",
        vec![
            Posting::debit(Account::ProcessorClearing, c.amount),
            Posting::credit(Account::AccountsReceivable, to_ar),
            Posting::credit(Account::CustomerDeposits, deposit),
        ],
    )?);
    Ok(events)
}

pub(super) fn processor_fee(
    d: &Decision<'_>,
    c: &RecordProcessorFee,
) -> Result<Vec<Event>, Rejection> {
    let (currency, _, captured) = order_money(d, &c.order)?;
    let amount = match &c.fee {
        FeeInput::Amount(FeeAmount { amount }) => *amount,
        FeeInput::Rate(FeeRate { rate, fixed }) => {
            same_currency(currency, fixed.currency())?;
            plus(Money::from_minor(captured, currency).times_rate(*rate), *fixed)?
        }
    };
    same_currency(currency, amount.currency())?;
    non_negative("processor fee", amount, false)?;
    let mut events =
        vec![Event::ProcessorFeeRecorded(ProcessorFeeRecorded { order: c.order.clone(), amount })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Order(c.order.clone()),
        "processor fee",
        vec![
            Posting::debit(Account::PaymentFees, amount),
            Posting::credit(Account::ProcessorClearing, amount),
        ],
    )?);
    Ok(events)
}

/// Splits `tax` between the jurisdictions of `default` in proportion to their amounts (the
/// last one takes the rounding), for a refund whose tax the source states.
fn split_tax(tax: Money, default: &[TaxLine]) -> Vec<TaxLine> {
    let whole: i64 = default.iter().map(|t| t.amount.minor()).sum();
    if whole == 0 || default.is_empty() {
        return vec![TaxLine { title: "Tax".to_owned(), rate: Rate::ZERO, amount: tax }];
    }
    let mut left = tax.minor();
    let mut out = Vec::with_capacity(default.len());
    for (i, t) in default.iter().enumerate() {
        let amount = if i + 1 == default.len() {
            left
        } else {
            let share = crate::money::div_half_even(
                i128::from(tax.minor()) * i128::from(t.amount.minor()),
                i128::from(whole),
            );
            i64::try_from(share).unwrap_or(0)
        };
        left -= amount;
        out.push(TaxLine {
            title: t.title.clone(),
            rate: t.rate,
            amount: Money::from_minor(amount, tax.currency()),
        });
    }
    out
}

/// Refunds shipped units: each takes its share of its line (after discount, with its taxes;
/// `crate::pricing`), or the money the source states for it; a line's refunds never exceed
/// what its shipped units were invoiced at. Shipping may be refunded with them (or alone), up to
/// the shipping invoiced and not refunded. Dr 4500 returns (tax excluded), Dr 4100 shipping,
/// Dr 2200 tax, Cr the way the money came.
pub(super) fn refund(d: &Decision<'_>, c: &IssueRefund) -> Result<Vec<Event>, Rejection> {
    let (currency, included, _) = order_money(d, &c.order)?;
    let (channel, billing) = sold_billing(d, &c.order)?;
    let facilitator = billing.facilitator_tax;
    let lines = sold_lines(d, &c.order)?;
    let shipping = c.shipping.unwrap_or(Money::zero(currency));
    let shipping_tax = c.shipping_tax.unwrap_or(Money::zero(currency));
    for m in [shipping, shipping_tax] {
        same_currency(currency, m.currency())?;
        non_negative("shipping refund", m, true)?;
    }
    if c.lines.is_empty() && shipping.minor() == 0 && shipping_tax.minor() == 0 {
        return Err(Rejection::InvalidInput(format!("refund '{}' has no lines", c.refund)));
    }
    if shipping.minor() > billing.shipping_open_minor
        || shipping_tax.minor() > billing.shipping_tax_open_minor
    {
        return Err(Rejection::InvalidAmount {
            what: "shipping refund beyond the shipping invoiced and not refunded",
            value: format!(
                "{} + tax {} ({} + tax {} left)",
                shipping.to_decimal_string(),
                shipping_tax.to_decimal_string(),
                Money::from_minor(billing.shipping_open_minor, currency).to_decimal_string(),
                Money::from_minor(billing.shipping_tax_open_minor, currency).to_decimal_string()
            ),
        });
    }
    let mut asked: BTreeMap<u32, (u64, Option<Money>, Option<Money>)> = BTreeMap::new();
    for l in &c.lines {
        line_of(lines, &c.order, l.line)?;
        let qty = positive(l.qty)?.get();
        for m in [l.amount, l.tax].into_iter().flatten() {
            same_currency(currency, m.currency())?;
            non_negative("refund line", m, true)?;
        }
        let entry = asked.entry(l.line).or_insert((0, None, None));
        if entry.0 > 0 && (l.amount.is_some() || l.tax.is_some() || entry.1.is_some()) {
            return Err(Rejection::InvalidInput(format!(
                "refund '{}' lists line {} twice with its money",
                c.refund, l.line
            )));
        }
        *entry = (entry.0 + qty, l.amount, l.tax);
    }
    let mut out = Vec::with_capacity(asked.len());
    let mut merchandise = Money::zero(currency);
    let mut tax = Money::zero(currency);
    for (n, (qty, amount_in, tax_in)) in asked {
        let line = line_of(lines, &c.order, n)?;
        let refunded = line.after_sale.refunded;
        let allowed = line.shipped.saturating_sub(refunded);
        if qty > allowed {
            return Err(Rejection::ExceedsOutstanding { what: "refund", requested: qty, allowed });
        }
        let share =
            super::orders::line_share(line, included, facilitator, refunded, refunded + qty)?;
        let line_tax = match tax_in {
            Some(t) if facilitator && t.minor() != 0 => {
                return Err(Rejection::InvalidAmount {
                    what: "refund tax on an order whose tax the marketplace collects",
                    value: t.to_decimal_string(),
                });
            }
            Some(t) => t,
            None => share.tax,
        };
        let amount = match amount_in {
            Some(a) if included => Money::from_minor(a.minor() - line_tax.minor(), currency),
            Some(a) => a,
            None => share.amount,
        };
        let taxes = if line_tax == share.tax {
            share.taxes.clone()
        } else {
            split_tax(line_tax, &share.taxes)
        };
        // What the shipped units were charged, less what was refunded before.
        let sold = super::orders::line_share(line, included, facilitator, 0, line.shipped)?;
        let room = (
            sold.amount.minor() - line.after_sale.refunded_minor,
            sold.tax.minor() - line.after_sale.refunded_tax_minor,
        );
        if amount.minor() < 0 || amount.minor() > room.0 || line_tax.minor() > room.1 {
            return Err(Rejection::InvalidAmount {
                what: "refund of a line beyond what its shipped units were charged",
                value: format!(
                    "{} + tax {} (line {n}: {} + tax {} left)",
                    amount.to_decimal_string(),
                    line_tax.to_decimal_string(),
                    Money::from_minor(room.0, currency).to_decimal_string(),
                    Money::from_minor(room.1, currency).to_decimal_string()
                ),
            });
        }
        merchandise = plus(merchandise, amount)?;
        tax = plus(tax, line_tax)?;
        out.push(MoneyLine {
            line: n,
            sku: line.sku.clone(),
            qty: positive(i64::try_from(qty).unwrap_or(i64::MAX))?,
            amount,
            discount: share.discount,
            tax: line_tax,
            taxes,
        });
    }
    let total = plus(plus(plus(merchandise, tax)?, shipping)?, shipping_tax)?;
    let route = route_refund(d, &c.order, channel, billing, total)?;
    let mut postings = vec![
        Posting::debit(Account::SalesReturns, merchandise),
        Posting::debit(Account::ShippingRevenue, shipping),
        Posting::debit(Account::SalesTaxPayable, plus(tax, shipping_tax)?),
    ];
    postings.extend(route.postings());
    let mut events = vec![Event::RefundIssued(RefundIssued {
        refund: c.refund.clone(),
        order: c.order.clone(),
        lines: out,
        shipping,
        shipping_tax,
        total,
        credit_notes: route.credit_notes,
        processor: route.processor,
        marketplace: route.marketplace,
        customer_credit: route.customer_credit,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(JournalRef::Order(c.order.clone()), "refund", postings)?);
    Ok(events)
}

pub(super) fn refund_deposit(d: &Decision<'_>, c: &RefundDeposit) -> Result<Vec<Event>, Rejection> {
    let (currency, deposit) = match d.state.orders.get(&c.order) {
        Some(o) => (o.currency, o.deposit_minor),
        None => d
            .closed(&c.order)
            .map(|o| (o.currency, o.deposit_minor))
            .ok_or_else(|| Rejection::UnknownOrder(c.order.clone()))?,
    };
    same_currency(currency, c.amount.currency())?;
    non_negative("deposit refund", c.amount, false)?;
    if c.amount.minor() > deposit {
        return Err(Rejection::RefundExceedsDeposit {
            order: c.order.clone(),
            deposit: Money::from_minor(deposit, currency).to_decimal_string(),
            requested: c.amount.to_decimal_string(),
        });
    }
    let mut events = vec![Event::DepositRefunded(DepositRefunded {
        refund: c.refund.clone(),
        order: c.order.clone(),
        amount: c.amount,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Order(c.order.clone()),
        "deposit refund",
        vec![
            Posting::debit(Account::CustomerDeposits, c.amount),
            Posting::credit(Account::ProcessorClearing, c.amount),
        ],
    )?);
    Ok(events)
}

pub(super) fn processor_payout(
    d: &Decision<'_>,
    c: &RecordProcessorPayout,
) -> Result<Vec<Event>, Rejection> {
    non_negative("payout", c.amount, false)?;
    // A payout is a fact (the bank has the money): it is recorded even when it exceeds what
    // the ledger holds in clearing, and the difference is raised for reconciliation.
    let balance = d.state.balance(Account::ProcessorClearing, c.amount.currency());
    let mismatch = (c.amount.minor() > balance.minor()).then(|| {
        Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::ReconciliationMismatch,
            subject: JournalRef::Payout(c.payout.clone()),
            message: format!(
                "payout {} {} exceeds the processor clearing balance {}",
                c.payout,
                c.amount.to_decimal_string(),
                balance.to_decimal_string()
            ),
        })
    });
    let mut events = vec![Event::ProcessorPayoutRecorded(ProcessorPayoutRecorded {
        payout: c.payout.clone(),
        amount: c.amount,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Payout(c.payout.clone()),
        "payout",
        vec![
            Posting::debit(Account::Bank, c.amount),
            Posting::credit(Account::ProcessorClearing, c.amount),
        ],
    )?);
    events.extend(mismatch);
    Ok(events)
}

fn open_settlement_of<'a>(
    d: &'a Decision<'_>,
    id: &crate::ids::SettlementId,
) -> Result<&'a Settlement, Rejection> {
    d.state.settlements.get(id).ok_or_else(|| Rejection::UnknownSettlement(id.clone()))
}

pub(super) fn open_settlement(
    d: &Decision<'_>,
    c: &OpenSettlement,
) -> Result<Vec<Event>, Rejection> {
    if d.state.settlements.contains_key(&c.settlement) {
        return Err(Rejection::DuplicateId { kind: "settlement", id: c.settlement.to_string() });
    }
    let channel = d.channel(&c.channel)?;
    same_currency(channel.currency, c.currency)?;
    if c.period_end < c.period_start {
        return Err(Rejection::InvalidInput(format!(
            "settlement '{}' ends {} before it starts {}",
            c.settlement, c.period_end, c.period_start
        )));
    }
    Ok(vec![Event::SettlementOpened(SettlementOpened {
        settlement: c.settlement.clone(),
        channel: c.channel.clone(),
        currency: c.currency,
        period_start: c.period_start,
        period_end: c.period_end,
    })])
}

pub(super) fn settlement_line(
    d: &Decision<'_>,
    c: &RecordSettlementLine,
) -> Result<Vec<Event>, Rejection> {
    let settlement = open_settlement_of(d, &c.settlement)?;
    if settlement.reconciled() {
        return Err(Rejection::SettlementPaidOut(c.settlement.clone()));
    }
    same_currency(settlement.currency, c.amount.currency())?;
    if c.amount.minor() == 0 {
        return Err(Rejection::InvalidAmount {
            what: "settlement line",
            value: c.amount.to_decimal_string(),
        });
    }
    amount("settlement line", c.amount)?;
    within_total("settlement net", settlement.net_minor, c.amount)?;
    if c.qty > crate::limits::QTY_MAX {
        return Err(Rejection::InvalidQuantity(i64::try_from(c.qty).unwrap_or(i64::MAX)));
    }
    text("settlement line description", &c.description)?;
    if let Some(sku) = &c.sku {
        d.sku(sku)?;
    }
    // On a marketplace-facilitator channel the tax the buyer paid is the marketplace's to
    // remit (DOMAIN.md §4): it pairs with the withheld line inside 1150, never 2200.
    let facilitator = d.state.channel(&settlement.channel).is_some_and(|ch| ch.facilitator_tax);
    let kind = match c.kind {
        SettlementLineKind::Tax if facilitator => SettlementLineKind::FacilitatorTax,
        kind => kind,
    };
    if kind == SettlementLineKind::FacilitatorTax {
        within_total("settlement facilitator tax", settlement.facilitator_tax_minor, c.amount)?;
    }
    let line_no = settlement.line_count + 1;
    let mut events = vec![Event::SettlementLineRecorded(SettlementLineRecorded {
        settlement: c.settlement.clone(),
        line_no,
        kind,
        amount: c.amount,
        order: c.order.clone(),
        sku: c.sku.clone(),
        qty: c.qty,
        description: c.description.clone(),
    })];
    // Marketplace clearing takes the signed amount; the kind's counter account the opposite.
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Settlement(c.settlement.clone()),
        kind.as_str(),
        vec![
            Posting { account: Account::MarketplaceClearing, amount: c.amount },
            Posting { account: kind.counter_account(), amount: c.amount.negated() },
        ],
    )?);
    // An unknown line is recorded (the money moved) in 9999 suspense, and a person is asked
    // to classify it: never dropped, never silently booked.
    if kind == SettlementLineKind::Suspense {
        events.push(Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::SuspenseLine,
            subject: JournalRef::Settlement(c.settlement.clone()),
            message: format!(
                "settlement '{}' line {line_no}: '{}' of {} is not a known line kind; posted to \
                 9999 suspense until it is reclassified",
                c.settlement,
                c.description,
                c.amount.to_decimal_string()
            ),
        }));
    }
    // A line of a settlement already paid out explains (part of) its deposit's difference:
    // when the lines now equal the deposit, the reconciliation exception is cleared.
    if settlement.paid_out_minor == settlement.net_minor.checked_add(c.amount.minor()) {
        events.extend(super::exceptions::clear(
            d,
            ExceptionKind::ReconciliationMismatch,
            &JournalRef::Settlement(c.settlement.clone()),
            &format!("the lines of settlement '{}' now equal its deposit", c.settlement),
        ));
    }
    Ok(events)
}

pub(super) fn settle_payout(d: &Decision<'_>, c: &SettlePayout) -> Result<Vec<Event>, Rejection> {
    let settlement = open_settlement_of(d, &c.settlement)?;
    if settlement.paid_out_minor.is_some() {
        return Err(Rejection::SettlementPaidOut(c.settlement.clone()));
    }
    same_currency(settlement.currency, c.amount.currency())?;
    amount("payout", c.amount)?;
    if settlement.facilitator_tax_minor != 0 {
        return Err(Rejection::FacilitatorTaxNotNetted {
            settlement: c.settlement.clone(),
            net: Money::from_minor(settlement.facilitator_tax_minor, settlement.currency)
                .to_decimal_string(),
        });
    }
    let mut events = vec![Event::PayoutSettled(PayoutSettled {
        settlement: c.settlement.clone(),
        amount: c.amount,
        deposit_date: c.deposit_date,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Settlement(c.settlement.clone()),
        "payout",
        vec![
            Posting::debit(Account::Bank, c.amount),
            Posting::credit(Account::MarketplaceClearing, c.amount),
        ],
    )?);
    // The deposit is a fact (the bank has the money, DOMAIN.md §4): one that differs from
    // the settlement's lines is recorded all the same, the difference stays in 1150, and a
    // person is asked to reconcile it. Lines that explain it later clear the exception.
    if c.amount.minor() != settlement.net_minor {
        let net = Money::from_minor(settlement.net_minor, settlement.currency);
        let difference = c.amount.minor().checked_sub(settlement.net_minor).ok_or_else(|| {
            Rejection::InvalidAmount { what: "payout", value: c.amount.to_decimal_string() }
        })?;
        events.push(Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::ReconciliationMismatch,
            subject: JournalRef::Settlement(c.settlement.clone()),
            message: format!(
                "deposit {} of settlement '{}' differs from the net {} of its {} lines by {}",
                c.amount.to_decimal_string(),
                c.settlement,
                net.to_decimal_string(),
                settlement.line_count,
                Money::from_minor(difference, settlement.currency).to_decimal_string()
            ),
        }));
    }
    Ok(events)
}

pub(super) fn manual_entry(
    d: &Decision<'_>,
    c: &PostJournalEntry,
) -> Result<Vec<Event>, Rejection> {
    if c.postings.len() < 2 || c.postings.iter().any(|p| p.amount.minor() == 0) {
        return Err(Rejection::InvalidAmount {
            what: "manual entry",
            value: format!("{} postings", c.postings.len()),
        });
    }
    check_balanced(&c.postings)?;
    super::purchasing::no_subledger_account(&c.postings)?;
    let mut journal = Journal::new(d);
    Ok(journal.post(JournalRef::Manual, &c.memo, c.postings.clone())?.into_iter().collect())
}
