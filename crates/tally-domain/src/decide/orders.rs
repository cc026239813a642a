//! Decisions on orders: receive, validate, hold/release, allocate, pick, pack, ship (with the
//! invoice and COGS entries), deliver, cancel, substitute.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::claims::{self, Pullback};
use super::receivables::{self, invoice_split};
use super::{Decision, Journal, non_negative, plus, positive, same_currency, text, within_total};
use crate::allocation::{LineRequest, Overlay, allocate_or_backorder, fill_backorders};
use crate::command::{
    CancelOrder, FulfilOrder, HoldOrder, OrderRef, ReceiveOrder, ShipOrder, ShippingLineInput,
    SubstituteLine, TaxLineInput,
};
use crate::event::{
    AmendedLine, BackordersCancelled, Event, ExceptionKind, ExceptionRaised, FulfilmentItem,
    HoldSlaBreached, InventoryAdjusted, InvoiceIssued, LineSubstituted, LineUnits, MoneyLine,
    OrderAmended, OrderCancelled, OrderEvent, OrderFulfilment, OrderHeld, OrderReceived,
    OrderShipped, PaymentCaptured, QuarantineMove, ShippedItem,
};
use crate::ids::{ChannelId, InvoiceId, LocationId, Sku};
use crate::inventory::{AdjustReason, Claim, QuarantineReason, StockKey};
use crate::journal::{Account, JournalRef, Posting};
use crate::money::{Currency, Money, Rate};
use crate::order::{Digest, Order, OrderLine, OrderStatus, Profile, ShippingLine, Stages};
use crate::pricing::{self, TaxAsked};
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::time::Timestamp;

/// Most lines one order may have.
pub const ORDER_LINES_MAX: usize = 1_000;
const _: () = assert!(ORDER_LINES_MAX <= u32::MAX as usize);

/// The content an order id is bound to; its digest decides duplicates.
#[derive(Serialize)]
struct OrderContent<'a> {
    channel: &'a ChannelId,
    placed_at: Timestamp,
    currency: Currency,
    lines: &'a [OrderLine],
    shipping_lines: &'a [ShippingLine],
    taxes_included: bool,
    number: Option<&'a str>,
}

/// Most shipping lines one order may have.
pub const SHIPPING_LINES_MAX: usize = 100;

/// An order's money as received (or amended): every line and shipping line with its taxes,
/// and what the customer pays in all.
pub(super) struct Priced {
    /// Lines by number (0 units only for lines an amendment removes).
    pub(super) lines: Vec<AmendedLine>,
    pub(super) shipping_lines: Vec<ShippingLine>,
    /// What the customer pays: lines − discounts + shipping − its discounts + tax added.
    pub(super) total: Money,
    /// Σ of every tax line.
    pub(super) tax: Money,
}

impl Priced {
    /// The lines with units (what the order's digest covers: a line removed at 0 units is no
    /// part of its content).
    pub(super) fn order_lines(&self) -> Vec<OrderLine> {
        self.lines
            .iter()
            .filter_map(|l| {
                Some(OrderLine {
                    sku: l.sku.clone(),
                    qty: Quantity::from_u64(l.qty).ok()?,
                    unit_price: l.unit_price,
                    discount: l.discount,
                    taxes: l.taxes.clone(),
                })
            })
            .collect()
    }
}

/// What pricing reads of a `receive_order` or an `amend_order`.
pub(super) struct PriceInput<'a> {
    pub(super) order: &'a crate::ids::OrderId,
    pub(super) currency: Currency,
    pub(super) taxes_included: bool,
    pub(super) lines: &'a [crate::command::OrderLineInput],
    pub(super) shipping: Money,
    pub(super) tax_rate: Rate,
    pub(super) shipping_lines: &'a [ShippingLineInput],
    pub(super) total_tax: Option<Money>,
    pub(super) total: Option<Money>,
    /// Whether lines of 0 units are allowed (removed by the source).
    pub(super) zero_lines: bool,
}

impl<'a> PriceInput<'a> {
    pub(super) fn of_receive(c: &'a ReceiveOrder) -> Self {
        Self {
            order: &c.order,
            currency: c.currency,
            taxes_included: c.taxes_included,
            lines: &c.lines,
            shipping: c.shipping,
            tax_rate: c.tax_rate,
            shipping_lines: &c.shipping_lines,
            total_tax: c.total_tax,
            total: c.total,
            zero_lines: c.revision.is_some(),
        }
    }
}

fn asked_taxes<'a>(
    given: Option<&'a [TaxLineInput]>,
    default: &'a [TaxAsked<'a>],
) -> Vec<TaxAsked<'a>> {
    match given {
        Some(list) => list
            .iter()
            .map(|t| TaxAsked { title: &t.title, rate: t.rate, amount: t.amount })
            .collect(),
        None => default.to_vec(),
    }
}

fn discount_of(
    what: &'static str,
    discount: Option<Money>,
    gross: Money,
) -> Result<Money, Rejection> {
    let currency = gross.currency();
    let Some(discount) = discount else { return Ok(Money::zero(currency)) };
    same_currency(currency, discount.currency())?;
    if discount.minor() < 0 || discount.minor() > gross.minor() {
        return Err(Rejection::InvalidAmount { what, value: discount.to_decimal_string() });
    }
    Ok(discount)
}

/// Prices an incoming order (`crate::pricing`): discounts checked against their lines, taxes
/// computed where the source gives only a rate, the source's total tax and total matched.
pub(super) fn price(c: &PriceInput<'_>) -> Result<Priced, Rejection> {
    let currency = c.currency;
    let included = c.taxes_included;
    let default = if c.tax_rate == Rate::ZERO {
        Vec::new()
    } else {
        vec![TaxAsked { title: "Tax", rate: c.tax_rate, amount: None }]
    };
    let mut lines = Vec::with_capacity(c.lines.len());
    let mut remainders = Vec::new();
    for line in c.lines {
        let qty = if c.zero_lines && line.qty == 0 { 0 } else { positive(line.qty)?.get() };
        same_currency(currency, line.unit_price.currency())?;
        non_negative("unit price", line.unit_price, true)?;
        let gross = pricing::gross(line.unit_price, qty)?;
        let discount = discount_of("line discount", line.discount, gross)?;
        let base = Money::from_minor(gross.minor() - discount.minor(), currency);
        let asked = asked_taxes(line.tax_lines.as_deref(), &default);
        let (taxes, rems) = pricing::taxes(base, &asked, included)?;
        remainders.extend(rems.into_iter().map(|r| (lines.len(), r)));
        lines.push(AmendedLine {
            sku: line.sku.clone(),
            qty,
            unit_price: line.unit_price,
            discount,
            taxes,
        });
    }
    same_currency(currency, c.shipping.currency())?;
    non_negative("shipping", c.shipping, true)?;
    if c.shipping_lines.len() > SHIPPING_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "order '{}' has {} shipping lines, more than {SHIPPING_LINES_MAX}",
            c.order,
            c.shipping_lines.len()
        )));
    }
    let default_shipping;
    let shipping_in: &[ShippingLineInput] = if c.shipping_lines.is_empty() {
        default_shipping = if c.shipping.minor() == 0 {
            Vec::new()
        } else {
            vec![ShippingLineInput {
                title: "Shipping".to_owned(),
                price: c.shipping,
                discount: None,
                tax_lines: None,
            }]
        };
        &default_shipping
    } else {
        c.shipping_lines
    };
    let mut shipping_lines = Vec::with_capacity(shipping_in.len());
    let mut shipping_sum = Money::zero(currency);
    for s in shipping_in {
        text("shipping line title", &s.title)?;
        same_currency(currency, s.price.currency())?;
        non_negative("shipping line", s.price, true)?;
        shipping_sum = plus(shipping_sum, s.price)?;
        let discount = discount_of("shipping discount", s.discount, s.price)?;
        let base = Money::from_minor(s.price.minor() - discount.minor(), currency);
        let asked = asked_taxes(s.tax_lines.as_deref(), &default);
        let (taxes, rems) = pricing::taxes(base, &asked, included)?;
        remainders.extend(rems.into_iter().map(|r| (lines.len() + shipping_lines.len(), r)));
        shipping_lines.push(ShippingLine {
            title: s.title.clone(),
            price: s.price,
            discount,
            taxes,
        });
    }
    if shipping_sum != c.shipping {
        return Err(Rejection::InvalidInput(format!(
            "order '{}': shipping {} is not the sum of its shipping lines {}",
            c.order,
            c.shipping.to_decimal_string(),
            shipping_sum.to_decimal_string()
        )));
    }
    let tax_of = |lines: &[AmendedLine], shipping: &[ShippingLine]| -> i64 {
        lines.iter().map(|l| pricing::tax_sum(&l.taxes)).sum::<i64>()
            + shipping.iter().map(|l| pricing::tax_sum(&l.taxes)).sum::<i64>()
    };
    if let Some(expected) = c.total_tax {
        same_currency(currency, expected.currency())?;
        let diff = expected.minor() - tax_of(&lines, &shipping_lines);
        let n_lines = lines.len();
        let fits = pricing::allocate_remainder(diff, &mut remainders, &mut |at, index, cents| {
            let taxes = if at < n_lines {
                &mut lines[at].taxes
            } else {
                &mut shipping_lines[at - n_lines].taxes
            };
            let t = &mut taxes[index];
            t.amount = Money::from_minor(t.amount.minor() + cents, currency);
        });
        if fits.is_none() {
            return Err(Rejection::InvalidInput(format!(
                "order '{}': its tax lines add up to {}, the source's total tax is {}",
                c.order,
                Money::from_minor(tax_of(&lines, &shipping_lines), currency).to_decimal_string(),
                expected.to_decimal_string()
            )));
        }
    }
    let mut total = Money::zero(currency);
    for l in &lines {
        let gross = pricing::gross(l.unit_price, l.qty)?;
        let whole = pricing::line_part(gross, l.discount, &l.taxes, included, (0, 1, 1))?;
        total = plus(total, whole.charged()?)?;
    }
    for s in &shipping_lines {
        let whole = pricing::line_part(s.price, s.discount, &s.taxes, included, (0, 1, 1))?;
        total = plus(total, whole.charged()?)?;
    }
    if let Some(expected) = c.total {
        same_currency(currency, expected.currency())?;
        if expected != total {
            return Err(Rejection::InvalidInput(format!(
                "order '{}' adds up to {} (lines − discounts + shipping + tax), the source's total is {}",
                c.order,
                total.to_decimal_string(),
                expected.to_decimal_string()
            )));
        }
    }
    let tax = Money::from_minor(tax_of(&lines, &shipping_lines), currency);
    Ok(Priced { lines, shipping_lines, total, tax })
}

/// What an order's digest covers: its content as received (or amended), the customer and the
/// profile (orders without either keep the digest they had before those existed).
pub(super) struct Content<'a> {
    pub(super) channel: &'a ChannelId,
    pub(super) placed_at: Timestamp,
    pub(super) currency: Currency,
    pub(super) lines: &'a [OrderLine],
    pub(super) shipping_lines: &'a [ShippingLine],
    pub(super) taxes_included: bool,
    pub(super) number: Option<&'a str>,
    pub(super) customer: Option<&'a crate::ids::CustomerId>,
    pub(super) profile: &'a Profile,
}

pub(super) fn content_digest(c: &Content<'_>) -> Result<Digest, Rejection> {
    let bytes = postcard::to_allocvec(&OrderContent {
        channel: c.channel,
        placed_at: c.placed_at,
        currency: c.currency,
        lines: c.lines,
        shipping_lines: c.shipping_lines,
        taxes_included: c.taxes_included,
        number: c.number,
    })
    .map_err(|e| Rejection::InvalidInput(e.to_string()))?;
    let mut digest = Digest(*blake3::hash(&bytes).as_bytes());
    if let Some(customer) = c.customer {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&digest.0);
        hasher.update(customer.as_str().as_bytes());
        digest = Digest(*hasher.finalize().as_bytes());
    }
    if !c.profile.is_empty() {
        let extra =
            postcard::to_allocvec(c.profile).map_err(|e| Rejection::InvalidInput(e.to_string()))?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&digest.0);
        hasher.update(&extra);
        digest = Digest(*hasher.finalize().as_bytes());
    }
    Ok(digest)
}

fn invalid_state(order: &Order, action: &'static str) -> Rejection {
    let state = if order.hold.is_some() && order.status != OrderStatus::Shipped {
        format!("{} and held", order.status.as_str())
    } else {
        order.status.as_str().to_owned()
    };
    Rejection::InvalidState { entity: "order", id: order.id.to_string(), state, action }
}

fn not_held(order: &Order) -> Result<(), Rejection> {
    if order.hold.is_some() { Err(Rejection::OrderOnHold(order.id.clone())) } else { Ok(()) }
}

pub(super) fn receive(d: &Decision<'_>, c: &ReceiveOrder) -> Result<Vec<Event>, Rejection> {
    let channel = d.channel(&c.channel)?;
    same_currency(channel.currency, c.currency)?;
    if c.lines.is_empty() {
        return Err(Rejection::InvalidInput(format!("order '{}' has no lines", c.order)));
    }
    if c.lines.len() > ORDER_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "order '{}' has {} lines, more than {ORDER_LINES_MAX}",
            c.order,
            c.lines.len()
        )));
    }
    for line in &c.lines {
        d.sku(&line.sku)?;
    }
    if let Some(number) = &c.number {
        text("order number", number)?;
    }
    let priced = price(&PriceInput::of_receive(c))?;
    let lines = priced.order_lines();
    if lines.is_empty() {
        return Err(Rejection::InvalidInput(format!("order '{}' has no line with units", c.order)));
    }
    let profile = profile(c)?;
    check_payments_at_receipt(c)?;
    // Payments at receipt are not part of the content: the same order sent again once paid
    // is the same order (a channel's later captures come as cumulative `capture_payment`s).
    let digest = content_digest(&Content {
        channel: &c.channel,
        placed_at: c.placed_at,
        currency: c.currency,
        lines: &lines,
        shipping_lines: &priced.shipping_lines,
        taxes_included: c.taxes_included,
        number: c.number.as_deref(),
        customer: c.customer.as_ref(),
        profile: &profile,
    })?;
    if let Some(existing) = existing_digest(d, &c.order) {
        if existing == digest {
            return Ok(Vec::new());
        }
        // The source's later version of an order it sent before: an amendment.
        if c.revision.is_some() {
            if let Some(order) = d.state.orders.get(&c.order) {
                let same_order = order.channel == c.channel
                    && order.currency == c.currency
                    && order.placed_at == c.placed_at
                    && order.taxes_included == c.taxes_included
                    && order.number == c.number
                    && order.billing.customer == c.customer
                    && order.profile.buyer == profile.buyer
                    && order.profile.fraud_score == profile.fraud_score;
                // Other content under the version the order has is no edit of the source's.
                if same_order && c.revision != order.revision {
                    return super::amend::amend(d, &super::amend::amendment_of(c));
                }
            } else if let Some(refusal) = super::amend::closed_refusal(d, &c.order) {
                return Err(refusal);
            }
        }
        return Err(Rejection::DuplicateOrderConflict(c.order.clone()));
    }
    // What the customer will owe: the marketplace keeps the tax it collects (tax added to
    // prices is then not the seller's).
    let value = if channel.facilitator_tax && !c.taxes_included {
        Money::from_minor(priced.total.minor() - priced.tax.minor(), c.currency)
    } else {
        priced.total
    };
    let credit_hold = receivables::receive_checks(d, c, value)?;
    // Lines the source removed before the ledger saw the order (0 units) keep their place
    // when a line with units follows, so line numbers stay the source's: received as one
    // unit without money, then amended to none in the same decision.
    let last = priced.lines.iter().rposition(|l| l.qty > 0).unwrap_or(0);
    let kept = priced.lines.get(..=last).unwrap_or_default();
    let removed_before = if kept.iter().any(|l| l.qty == 0) {
        Some(OrderAmended {
            order: c.order.clone(),
            revision: c.revision,
            lines: kept.to_vec(),
            shipping_lines: priced.shipping_lines.clone(),
            ship_to: profile.ship_to.clone(),
            total: priced.total,
            digest,
            revalidate: false,
        })
    } else {
        None
    };
    let lines = match &removed_before {
        None => lines,
        Some(_) => kept
            .iter()
            .filter_map(|l| {
                Some(OrderLine {
                    sku: l.sku.clone(),
                    qty: Quantity::from_u64(l.qty.max(1)).ok()?,
                    unit_price: l.unit_price,
                    discount: l.discount,
                    taxes: l.taxes.clone(),
                })
            })
            .collect(),
    };
    let mut events = vec![Event::OrderReceived(OrderReceived {
        order: c.order.clone(),
        channel: c.channel.clone(),
        placed_at: c.placed_at,
        currency: c.currency,
        lines,
        shipping_lines: priced.shipping_lines,
        taxes_included: c.taxes_included,
        number: c.number.clone(),
        digest,
        customer: c.customer.clone(),
        profile,
        revision: c.revision,
    })];
    events.extend(removed_before.map(Event::OrderAmended));
    events.extend(credit_hold);
    // Payments the channel captured before the order arrived: nothing is invoiced yet, so all
    // of each is a deposit (as `capturePayment` on a new order).
    let mut journal = Journal::new(d);
    for p in &c.payments {
        events.push(Event::PaymentCaptured(PaymentCaptured {
            order: c.order.clone(),
            payment: p.payment.clone(),
            amount: p.amount,
            applied: Vec::new(),
        }));
        events.extend(journal.post(
            JournalRef::Order(c.order.clone()),
            "payment captured",
            vec![
                Posting::debit(Account::ProcessorClearing, p.amount),
                Posting::credit(Account::CustomerDeposits, p.amount),
            ],
        )?);
    }
    Ok(events)
}

/// Most payments one order may arrive with.
pub const PAYMENTS_AT_RECEIPT_MAX: usize = 100;

/// Highest fraud score a channel may send (scores are 0 to 100).
pub const FRAUD_SCORE_MAX: i64 = 100;

fn profile(c: &ReceiveOrder) -> Result<Profile, Rejection> {
    if let Some(address) = &c.ship_to {
        for (what, value) in address.fields() {
            text(what, value)?;
        }
    }
    let fraud_score = match c.fraud_score {
        None => None,
        Some(score) => Some(
            u32::try_from(score).ok().filter(|s| i64::from(*s) <= FRAUD_SCORE_MAX).ok_or_else(
                || {
                    Rejection::InvalidInput(format!(
                        "fraud score {score} of order '{}' is not between 0 and {FRAUD_SCORE_MAX}",
                        c.order
                    ))
                },
            )?,
        ),
    };
    Ok(Profile { ship_to: c.ship_to.as_deref().cloned(), buyer: c.buyer.clone(), fraud_score })
}

fn check_payments_at_receipt(c: &ReceiveOrder) -> Result<(), Rejection> {
    if c.payments.len() > PAYMENTS_AT_RECEIPT_MAX {
        return Err(Rejection::InvalidInput(format!(
            "order '{}' arrives with {} payments, more than {PAYMENTS_AT_RECEIPT_MAX}",
            c.order,
            c.payments.len()
        )));
    }
    let mut total = 0i64;
    let mut seen = BTreeSet::new();
    for p in &c.payments {
        same_currency(c.currency, p.amount.currency())?;
        non_negative("payment", p.amount, false)?;
        within_total("order's captured total", total, p.amount)?;
        total += p.amount.minor();
        if !seen.insert(&p.payment) {
            return Err(Rejection::InvalidInput(format!(
                "payment '{}' is listed twice in order '{}'",
                p.payment, c.order
            )));
        }
    }
    Ok(())
}

fn existing_digest(d: &Decision<'_>, order: &crate::ids::OrderId) -> Option<Digest> {
    d.state.orders.get(order).map(|o| o.digest).or_else(|| d.closed(order).map(|o| o.digest))
}

pub(super) fn validate(d: &Decision<'_>, c: &OrderRef) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    if order.status != OrderStatus::Received {
        return Err(invalid_state(order, "validate"));
    }
    for line in &order.lines {
        d.sku(&line.sku)?;
    }
    d.channel(&order.channel)?;
    Ok(vec![Event::OrderValidated(OrderEvent { order: c.order.clone() })])
}

pub(super) fn hold(d: &Decision<'_>, c: &HoldOrder) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    let holdable = matches!(
        order.status,
        OrderStatus::Received | OrderStatus::Validated | OrderStatus::Fulfilling
    );
    if !holdable || order.hold.is_some() {
        return Err(invalid_state(order, "hold"));
    }
    text("hold note", &c.note)?;
    let mut events = vec![Event::OrderHeld(OrderHeld {
        order: c.order.clone(),
        reason: c.reason,
        due_at: c.due_at,
        note: c.note.clone(),
    })];
    // A held order holds no reservations (DOMAIN §2): units reserved and not yet picked go
    // back to available, and waiting lines of other orders may take them. Picked and packed
    // units stay with the order (work done in the warehouse is not undone by a hold).
    let pullbacks = claims::reserved_of(order);
    let mut overlay = Overlay::new();
    let (released, _) = claims::release(d, &mut overlay, &pullbacks, false);
    events.extend(released);
    events.extend(fill_backorders(
        d.state,
        &mut overlay,
        &claims::skus_of(&pullbacks),
        Some(&c.order),
        d.today(),
    ));
    Ok(events)
}

/// Releasing a hold allocates the order (DOMAIN §2: allocation happens on release) when it
/// was validated or already being fulfilled: every line's unallocated units, by the policy.
pub(super) fn release_hold(d: &Decision<'_>, c: &OrderRef) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    if order.hold.is_none() {
        return Err(invalid_state(order, "release a hold"));
    }
    let mut events = vec![Event::OrderHoldReleased(OrderEvent { order: c.order.clone() })];
    events.extend(super::exceptions::clear(
        d,
        ExceptionKind::HoldSlaBreach,
        &JournalRef::Order(c.order.clone()),
        &format!("the hold of order '{}' was released", c.order),
    ));
    if matches!(order.status, OrderStatus::Validated | OrderStatus::Fulfilling) {
        events.extend(allocate_lines(d, order));
    }
    Ok(events)
}

/// Records that a hold passed its SLA due time. The clock decides: refused before the due
/// time; once recorded, the same hold's breach is a no-op (the timer may ask again).
pub(super) fn hold_sla_breach(d: &Decision<'_>, c: &OrderRef) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    let Some(hold) = &order.hold else {
        return Err(invalid_state(order, "record a hold's SLA breach"));
    };
    if hold.breached {
        return Ok(Vec::new());
    }
    if d.ctx.now <= hold.due_at {
        return Err(Rejection::InvalidState {
            entity: "order",
            id: order.id.to_string(),
            state: format!("held until {}", hold.due_at.to_rfc3339()),
            action: "record a hold's SLA breach before its due time",
        });
    }
    Ok(vec![
        Event::HoldSlaBreached(HoldSlaBreached {
            order: c.order.clone(),
            reason: hold.reason,
            due_at: hold.due_at,
        }),
        Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::HoldSlaBreach,
            subject: JournalRef::Order(c.order.clone()),
            message: format!(
                "order '{}' held ({}) past its SLA due {}: {}",
                c.order,
                hold.reason.as_str(),
                hold.due_at.to_rfc3339(),
                hold.note
            ),
        }),
    ])
}

/// Cancels what of an order still waits for stock; what is allocated or shipped stays.
pub(super) fn cancel_backorders(
    d: &Decision<'_>,
    c: &CancelOrder,
) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    if order.status != OrderStatus::Fulfilling {
        return Err(invalid_state(order, "cancel backorders of"));
    }
    let lines: Vec<LineUnits> = order
        .lines
        .iter()
        .zip(0_u32..)
        .filter_map(|(l, n)| {
            i64::try_from(l.unallocated())
                .ok()
                .and_then(|u| Quantity::new(u).ok())
                .map(|qty| LineUnits { line: n, qty })
        })
        .collect();
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Event::BackordersCancelled(BackordersCancelled {
        order: c.order.clone(),
        reason: c.reason,
        lines,
    })])
}

/// Allocates a validated order. Allocating an order already being fulfilled changes nothing
/// (its waiting lines are filled as stock arrives, and a hold release allocates it), so a
/// retried or automatic allocate is harmless.
pub(super) fn allocate(d: &Decision<'_>, c: &OrderRef) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    not_held(order)?;
    if order.status == OrderStatus::Fulfilling {
        return Ok(Vec::new());
    }
    if order.status != OrderStatus::Validated {
        return Err(invalid_state(order, "allocate"));
    }
    Ok(allocate_lines(d, order))
}

/// Every line's unallocated units, allocated or backordered by the policy.
fn allocate_lines(d: &Decision<'_>, order: &Order) -> Vec<Event> {
    let mut overlay = Overlay::new();
    let mut events = Vec::new();
    for (line, n) in order.lines.iter().zip(0_u32..) {
        if line.unallocated() == 0 {
            continue;
        }
        let request = LineRequest {
            order: &order.id,
            channel: &order.channel,
            line: n,
            sku: &line.sku,
            qty: line.unallocated(),
            backorder_fill: false,
        };
        events.extend(allocate_or_backorder(d.state, &mut overlay, &request, d.today()));
    }
    events
}

/// Units of the order at `location` (or everywhere) in the stage `stage` picks out.
fn stage_items(
    order: &Order,
    location: Option<&LocationId>,
    stage: impl Fn(&Stages) -> u64,
) -> Vec<FulfilmentItem> {
    order
        .allocations
        .iter()
        .filter(|(k, _)| location.is_none_or(|l| &k.location == l))
        .filter_map(|(k, st)| {
            let qty = Quantity::from_u64(stage(st)).ok()?;
            let line = order.lines.get(usize::try_from(k.line).ok()?)?;
            Some(FulfilmentItem {
                line: k.line,
                sku: line.sku.clone(),
                location: k.location.clone(),
                lot: k.lot.clone(),
                qty,
            })
        })
        .collect()
}

fn fulfil_preamble<'a>(d: &'a Decision<'_>, c: &FulfilOrder) -> Result<&'a Order, Rejection> {
    let order = d.order(&c.order)?;
    if let Some(location) = &c.location {
        d.location(location)?;
    }
    not_held(order)?;
    Ok(order)
}

pub(super) fn pick(d: &Decision<'_>, c: &FulfilOrder) -> Result<Vec<Event>, Rejection> {
    let order = fulfil_preamble(d, c)?;
    let items = stage_items(order, c.location.as_ref(), |s| s.reserved);
    if items.is_empty() {
        return Err(invalid_state(order, "pick: nothing reserved"));
    }
    // Short picks: the units not found come off the items picked.
    let mut shorts: Vec<(StockKey, u32, u64)> = Vec::with_capacity(c.short.len());
    let mut left: Vec<u64> = items.iter().map(|i| i.qty.get()).collect();
    for s in &c.short {
        let missing = positive(s.missing)?.get();
        let at = items
            .iter()
            .position(|i| i.line == s.line && i.location == s.location && i.lot == s.lot)
            .ok_or_else(|| {
                Rejection::InvalidInput(format!(
                    "short pick of line {} at '{}'{}: no units of the order are reserved there",
                    s.line,
                    s.location,
                    s.lot.as_ref().map(|l| format!(" lot '{l}'")).unwrap_or_default()
                ))
            })?;
        if missing > left[at] {
            return Err(Rejection::ExceedsOutstanding {
                what: "short pick",
                requested: missing,
                allowed: left[at],
            });
        }
        left[at] -= missing;
        let sku = items[at].sku.clone();
        shorts.push((StockKey::new(s.location.clone(), sku, s.lot.clone()), s.line, missing));
    }
    let items: Vec<FulfilmentItem> = items
        .into_iter()
        .zip(left)
        .filter_map(|(item, qty)| {
            Quantity::from_u64(qty).ok().map(|qty| FulfilmentItem { qty, ..item })
        })
        .collect();
    let mut events = Vec::new();
    if !items.is_empty() {
        events.push(Event::OrderPicked(OrderFulfilment { order: c.order.clone(), items }));
    }
    if shorts.is_empty() {
        return Ok(events);
    }
    let pullbacks: Vec<Pullback> = shorts
        .iter()
        .map(|(key, line, missing)| Pullback {
            order: order.id.clone(),
            line: *line,
            key: key.clone(),
            from: Claim::Reserved,
            qty: *missing,
        })
        .collect();
    let mut overlay = Overlay::new();
    // The missing units leave the order and then on hand: available is unchanged in the end.
    let (released, lines) = claims::release(d, &mut overlay, &pullbacks, true);
    events.extend(released);
    let mut journal = Journal::new(d);
    // Written off at the SKU's moving average (crate::valuation), shorts of one SKU in turn.
    let mut pools = crate::valuation::Scratch::new(d.state);
    for (key, line, missing) in &shorts {
        let delta = i64::try_from(*missing).map_err(|_| Rejection::InvalidQuantity(0))?;
        let adjusted = Event::InventoryAdjusted(InventoryAdjusted {
            key: key.clone(),
            delta: -delta,
            reason: AdjustReason::ShortPick,
        });
        let value = pools
            .event(&adjusted)
            .into_iter()
            .try_fold(Money::zero(d.sku(&key.sku)?.unit_cost.currency()), |sum, v| {
                plus(sum, v.negated())
            })?;
        events.push(adjusted);
        events.extend(journal.post(
            JournalRef::Stock(key.clone()),
            "short pick",
            vec![
                Posting::debit(Account::InventoryWriteOff, value),
                Posting::credit(Account::Inventory, value),
            ],
        )?);
        events.push(Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::CycleCountTask,
            subject: JournalRef::Stock(key.clone()),
            message: format!(
                "count {} at {}: {missing} unit(s) not found picking line {line} of order {}",
                key.sku, key.location, order.id
            ),
        }));
    }
    events.extend(claims::reallocate(d, &mut overlay, &lines));
    Ok(events)
}

pub(super) fn pack(d: &Decision<'_>, c: &FulfilOrder) -> Result<Vec<Event>, Rejection> {
    if !c.short.is_empty() {
        return Err(Rejection::InvalidInput(
            "short picks are reported when picking, not packing".to_owned(),
        ));
    }
    let order = fulfil_preamble(d, c)?;
    let items = stage_items(order, c.location.as_ref(), |s| s.picked);
    if items.is_empty() {
        return Err(invalid_state(order, "pack: nothing picked"));
    }
    Ok(vec![Event::OrderPacked(OrderFulfilment { order: c.order.clone(), items })])
}

pub(super) fn ship(d: &Decision<'_>, c: &ShipOrder) -> Result<Vec<Event>, Rejection> {
    let order = fulfil_preamble(
        d,
        &FulfilOrder { order: c.order.clone(), location: c.location.clone(), short: Vec::new() },
    )?;
    let packed = stage_items(order, c.location.as_ref(), |s| s.packed);
    if packed.is_empty() {
        return Err(invalid_state(order, "ship: nothing packed"));
    }
    let mut items = Vec::with_capacity(packed.len());
    for item in packed {
        let expiry = match &item.lot {
            Some(lot) => {
                let info = d.known_lot(&item.sku, lot)?;
                if info.recalled {
                    return Err(Rejection::LotRecalled { sku: item.sku.clone(), lot: lot.clone() });
                }
                if info.expiry.is_some_and(|e| e < d.today()) {
                    return Err(Rejection::LotExpired { sku: item.sku.clone(), lot: lot.clone() });
                }
                info.expiry
            }
            None => None,
        };
        items.push(ShippedItem {
            line: item.line,
            sku: item.sku,
            location: item.location,
            lot: item.lot,
            expiry,
            qty: item.qty,
        });
    }
    text("carrier", &c.carrier)?;
    text("tracking", &c.tracking)?;
    if c.serials.len() > crate::limits::SERIALS_MAX {
        return Err(Rejection::InvalidInput(format!(
            "{} serials, more than {}",
            c.serials.len(),
            crate::limits::SERIALS_MAX
        )));
    }
    for serial in &c.serials {
        text("serial", serial)?;
    }
    let mut events = vec![Event::OrderShipped(OrderShipped {
        order: c.order.clone(),
        items: items.clone(),
        carrier: c.carrier.clone(),
        tracking: c.tracking.clone(),
        serials: c.serials.clone(),
    })];
    events.extend(invoice_and_cogs(d, order, &items)?);
    Ok(events)
}

/// Revenue is recognised at shipment: the invoice total is paid from the order's deposits first,
/// the rest is owed (1300, or 1150 for a marketplace order). Each line's shipped units take
/// their share of its amount, discount and taxes (`crate::pricing`); shipping goes with the
/// first invoice. Postings: Cr 4000 revenue and 4100 shipping at their price before discount
/// (tax excluded), Dr 4200 discounts, Cr 2200 tax (none when the marketplace collects it);
/// plus COGS at the SKU's moving average.
fn invoice_and_cogs(
    d: &Decision<'_>,
    order: &Order,
    items: &[ShippedItem],
) -> Result<Vec<Event>, Rejection> {
    let currency = order.currency;
    let facilitator = order.billing.facilitator_tax;
    let mut by_line: BTreeMap<u32, u64> = BTreeMap::new();
    for item in items {
        *by_line.entry(item.line).or_insert(0) += item.qty.get();
    }
    let mut lines = Vec::with_capacity(by_line.len());
    let mut revenue = Money::zero(currency);
    let mut discounts = Money::zero(currency);
    let mut tax = Money::zero(currency);
    let mut total = Money::zero(currency);
    for (n, qty) in by_line {
        let Some(line) = usize::try_from(n).ok().and_then(|i| order.lines.get(i)) else { continue };
        let part = line_share(
            line,
            order.taxes_included,
            facilitator,
            line.invoiced,
            line.invoiced + qty,
        )?;
        revenue = plus(revenue, part.gross()?)?;
        discounts = plus(discounts, part.discount)?;
        tax = plus(tax, part.tax)?;
        total = plus(total, part.charged()?)?;
        lines.push(MoneyLine {
            line: n,
            sku: line.sku.clone(),
            qty: Quantity::from_u64(qty).map_err(|_| Rejection::InvalidQuantity(0))?,
            amount: part.amount,
            discount: part.discount,
            tax: part.tax,
            taxes: part.taxes,
        });
    }
    let mut shipping = Money::zero(currency);
    let mut shipping_gross = Money::zero(currency);
    let mut shipping_discount = Money::zero(currency);
    let mut shipping_tax = Money::zero(currency);
    if !order.shipping_invoiced {
        for s in &order.shipping_lines {
            let taxes: &[crate::order::TaxLine] = if facilitator { &[] } else { &s.taxes };
            let part =
                pricing::line_part(s.price, s.discount, taxes, order.taxes_included, (0, 1, 1))?;
            shipping = plus(shipping, part.amount)?;
            shipping_gross = plus(shipping_gross, part.gross()?)?;
            shipping_discount = plus(shipping_discount, part.discount)?;
            shipping_tax = plus(shipping_tax, part.tax)?;
            total = plus(total, part.charged()?)?;
        }
    }
    let invoice = invoice_id(order)?;
    let split = invoice_split(d, order, total)?;
    let mut events = vec![Event::InvoiceIssued(InvoiceIssued {
        order: order.id.clone(),
        invoice,
        lines,
        shipping,
        shipping_discount,
        shipping_tax,
        total,
        deposits_applied: split.deposits_applied,
        receivable: split.receivable,
        receivable_account: split.account,
        customer: split.customer,
        issued_on: split.issued_on,
        due_on: split.due_on,
    })];
    let mut journal = Journal::new(d);
    let reference = JournalRef::Order(order.id.clone());
    events.extend(journal.post(
        reference.clone(),
        "invoice",
        vec![
            Posting::debit(Account::CustomerDeposits, split.deposits_applied),
            Posting::debit(split.account, split.receivable),
            Posting::debit(Account::Discounts, plus(discounts, shipping_discount)?),
            Posting::credit(Account::ProductRevenue, revenue),
            Posting::credit(Account::ShippingRevenue, shipping_gross),
            Posting::credit(Account::SalesTaxPayable, plus(tax, shipping_tax)?),
        ],
    )?);
    // COGS at each SKU's moving average at this moment (crate::valuation).
    let mut pools = crate::valuation::Scratch::new(d.state);
    let mut cogs = Vec::new();
    for item in items {
        let cost = pools
            .flow(&crate::valuation::Flow::Out { sku: item.sku.clone(), qty: item.qty.get() })
            .negated();
        cogs.push(Posting::debit(Account::CostOfGoodsSold, cost));
        cogs.push(Posting::credit(Account::Inventory, cost));
    }
    events.extend(journal.post(reference, "cogs", cogs)?);
    Ok(events)
}

/// `{order}-inv-{n}`; for an order id too long to take the suffix, `inv-{hash of the id}-{n}`.
fn invoice_id(order: &Order) -> Result<InvoiceId, Rejection> {
    let n = order.invoice_count + 1;
    InvoiceId::parse(format!("{}-inv-{n}", order.id))
        .or_else(|_| {
            let hash = blake3::hash(order.id.as_str().as_bytes()).to_hex();
            InvoiceId::parse(format!("inv-{}-{n}", &hash[..32]))
        })
        .map_err(|e| Rejection::InvalidInput(e.to_string()))
}

/// The share of `line` that its units `from..to` take, taxes dropped when the marketplace
/// collects them.
pub(super) fn line_share(
    line: &crate::order::Line,
    included: bool,
    facilitator: bool,
    from: u64,
    to: u64,
) -> Result<pricing::Charge, Rejection> {
    let gross = pricing::gross(line.unit_price, line.ordered)?;
    let taxes: &[crate::order::TaxLine] = if facilitator { &[] } else { &line.taxes };
    pricing::line_part(gross, line.discount, taxes, included, (from, to, line.ordered))
}

pub(super) fn deliver(d: &Decision<'_>, c: &OrderRef) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    if order.status != OrderStatus::Shipped {
        return Err(invalid_state(order, "deliver"));
    }
    Ok(vec![Event::OrderDelivered(OrderEvent { order: c.order.clone() })])
}

pub(super) fn cancel(d: &Decision<'_>, c: &CancelOrder) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    let cancellable = matches!(
        order.status,
        OrderStatus::Received | OrderStatus::Validated | OrderStatus::Fulfilling
    );
    if !cancellable {
        return Err(invalid_state(order, "cancel"));
    }
    let partly_shipped = order.lines.iter().any(|l| l.shipped > 0);
    let released = stage_items(order, None, |s| s.reserved + s.picked + s.packed);
    let mut overlay = Overlay::new();
    let mut skus = BTreeSet::new();
    let mut quarantined = Vec::new();
    for item in &released {
        let key = StockKey::new(item.location.clone(), item.sku.clone(), item.lot.clone());
        let recalled = item
            .lot
            .as_ref()
            .is_some_and(|lot| d.known_lot(&item.sku, lot).is_ok_and(|l| l.recalled));
        if recalled {
            // Units of a recalled lot go from the order straight back into quarantine.
            quarantined.push(Event::StockQuarantined(QuarantineMove {
                key,
                qty: item.qty,
                reason: QuarantineReason::Recalled,
            }));
            continue;
        }
        overlay.add(&key, i64::try_from(item.qty.get()).unwrap_or(i64::MAX));
        skus.insert(item.sku.clone());
    }
    let cancelled = OrderCancelled { order: c.order.clone(), reason: c.reason, released };
    // A partly shipped order keeps what shipped: only its remainder is cancelled, and it can then
    // be delivered.
    let mut events = vec![if partly_shipped {
        Event::OrderRemainderCancelled(cancelled)
    } else {
        Event::OrderCancelled(cancelled)
    }];
    events.extend(quarantined);
    events.extend(super::exceptions::clear(
        d,
        ExceptionKind::HoldSlaBreach,
        &JournalRef::Order(c.order.clone()),
        &format!("order '{}' was cancelled", c.order),
    ));
    // The cancelled order's own lines are still indexed; skip them when refilling.
    events.extend(fill_backorders(d.state, &mut overlay, &skus, Some(&c.order), d.today()));
    Ok(events)
}

pub(super) fn substitute(d: &Decision<'_>, c: &SubstituteLine) -> Result<Vec<Event>, Rejection> {
    let order = d.order(&c.order)?;
    let line = usize::try_from(c.line)
        .ok()
        .and_then(|i| order.lines.get(i))
        .ok_or_else(|| Rejection::UnknownLine { order: c.order.clone(), line: c.line })?;
    d.sku(&c.sku)?;
    let open = matches!(
        order.status,
        OrderStatus::Received | OrderStatus::Validated | OrderStatus::Fulfilling
    );
    if !open || line.allocated > 0 {
        return Err(invalid_state(order, "substitute an allocated line"));
    }
    if line.sku == c.sku {
        return Ok(Vec::new());
    }
    let mut events = vec![Event::LineSubstituted(LineSubstituted {
        order: c.order.clone(),
        line: c.line,
        from: line.sku.clone(),
        to: c.sku.clone(),
    })];
    if order.status == OrderStatus::Fulfilling {
        let request = LineRequest {
            order: &order.id,
            channel: &order.channel,
            line: c.line,
            sku: &c.sku,
            qty: line.unallocated(),
            backorder_fill: false,
        };
        let mut overlay = Overlay::new();
        events.extend(allocate_or_backorder(d.state, &mut overlay, &request, d.today()));
    }
    Ok(events)
}

/// Fills waiting lines after stock arrives; shared by every inbound decision.
pub(super) fn fill(d: &Decision<'_>, overlay: &mut Overlay, skus: &BTreeSet<Sku>) -> Vec<Event> {
    fill_backorders(d.state, overlay, skus, None, d.today())
}
