//! Decisions on purchasing: suppliers, purchase orders, the cost and GRNI of a receipt, the
//! three-way match of supplier invoices and supplier payments (docs/domain.md §5).

use std::collections::{BTreeMap, BTreeSet};

use super::{Decision, Journal, non_negative, positive, same_currency, text, times};
use crate::command::{
    CreatePurchaseOrder, DefineSupplier, ReceiveInventory, RecordSupplierInvoice,
    RecordSupplierPayment,
};
use crate::event::{
    Event, ExceptionKind, ExceptionRaised, InboundExpected, PaymentApplied, PurchaseOrderCreated,
    PurchaseOrderLineCreated, PurchaseOrderReceived, SupplierInvoiceLine, SupplierInvoiceRecorded,
    SupplierPaymentRecorded,
};
use crate::ids::{PurchaseOrderId, SupplierId};
use crate::inventory::StockKey;
use crate::journal::{Account, JournalRef, Posting};
use crate::master::SkuDef;
use crate::money::{Money, Rate};
use crate::purchasing::{Grni, Supplier};
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::time::Date;

/// Longest payment terms accepted, in days (ten years).
pub const PAYMENT_TERMS_DAYS_MAX: u32 = 3650;

/// Accounts only their subledger posts to: 1200 (valuation pools), 2000 (supplier invoices
/// and payments) and 2050 (receipts and invoice matches). A manual entry to them would leave
/// the account disagreeing with the view that explains it.
const SUBLEDGER_ACCOUNTS: [Account; 3] =
    [Account::Inventory, Account::AccountsPayable, Account::GoodsReceivedNotInvoiced];

/// `INVALID_INPUT` when a manual entry posts to an account kept by a subledger.
pub(super) fn no_subledger_account(postings: &[Posting]) -> Result<(), Rejection> {
    match postings.iter().find(|p| SUBLEDGER_ACCOUNTS.contains(&p.account)) {
        Some(p) => Err(Rejection::InvalidInput(format!(
            "account {} is kept by its subledger: no manual entry may post to it",
            p.account.number()
        ))),
        None => Ok(()),
    }
}

fn supplier<'a>(d: &'a Decision<'_>, id: &SupplierId) -> Result<&'a Supplier, Rejection> {
    d.state.suppliers.get(id).ok_or_else(|| Rejection::UnknownSupplier(id.clone()))
}

fn line_index(po: &PurchaseOrderId, line: u32, count: usize) -> Result<usize, Rejection> {
    usize::try_from(line)
        .ok()
        .filter(|i| *i < count)
        .ok_or_else(|| Rejection::InvalidInput(format!("purchase order '{po}' has no line {line}")))
}

pub(super) fn define_supplier(
    d: &Decision<'_>,
    c: &DefineSupplier,
) -> Result<Vec<Event>, Rejection> {
    text("supplier name", &c.name)?;
    if c.payment_terms_days > PAYMENT_TERMS_DAYS_MAX {
        return Err(Rejection::InvalidInput(format!(
            "payment terms of {} days, more than {PAYMENT_TERMS_DAYS_MAX}",
            c.payment_terms_days
        )));
    }
    let qty_tolerance = super::units(c.qty_tolerance)?;
    let price_tolerance = match c.price_tolerance {
        Some(rate) => rate,
        None => Rate::from_ppm(0).map_err(|e| Rejection::InvalidInput(e.to_string()))?,
    };
    if price_tolerance.ppm() > 1_000_000 {
        return Err(Rejection::InvalidInput(format!(
            "price tolerance {} is more than 1",
            price_tolerance.to_fraction_string()
        )));
    }
    if let Some(old) = d.state.suppliers.get(&c.supplier)
        && old.currency != c.currency
        && (d.state.purchase_orders.values().any(|p| p.supplier == c.supplier)
            || d.state.ap_invoices.keys().any(|(s, _)| s == &c.supplier))
    {
        return Err(Rejection::InvalidState {
            entity: "supplier",
            id: c.supplier.to_string(),
            state: format!("invoicing in {}", old.currency),
            action: "change currency with purchase orders or invoices",
        });
    }
    Ok(vec![Event::SupplierDefined(Supplier {
        id: c.supplier.clone(),
        name: c.name.clone(),
        currency: c.currency,
        payment_terms_days: c.payment_terms_days,
        qty_tolerance,
        price_tolerance,
    })])
}

pub(super) fn create_purchase_order(
    d: &Decision<'_>,
    c: &CreatePurchaseOrder,
) -> Result<Vec<Event>, Rejection> {
    if d.state.purchase_orders.contains_key(&c.purchase_order) {
        return Err(Rejection::DuplicateId {
            kind: "purchase order",
            id: c.purchase_order.to_string(),
        });
    }
    let s = supplier(d, &c.supplier)?;
    if c.lines.is_empty() || c.lines.len() > super::ORDER_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "purchase order '{}' has {} lines (1 to {})",
            c.purchase_order,
            c.lines.len(),
            super::ORDER_LINES_MAX
        )));
    }
    let mut lines = Vec::with_capacity(c.lines.len());
    let mut expected = Vec::new();
    for l in &c.lines {
        let def = d.sku(&l.sku)?;
        let qty = positive(l.qty)?;
        non_negative("unit cost", l.unit_cost, true)?;
        same_currency(s.currency, l.unit_cost.currency())?;
        // Goods are valued in the SKU's cost currency (one pool per SKU).
        same_currency(def.unit_cost.currency(), l.unit_cost.currency())?;
        times(l.unit_cost, qty.get())?;
        if let Some(location) = &l.location {
            d.location(location)?;
            let key = StockKey::new(location.clone(), l.sku.clone(), None);
            super::ensure_room(d.state, &key, qty.get())?;
            expected.push(Event::InboundExpected(InboundExpected {
                location: location.clone(),
                sku: l.sku.clone(),
                qty,
                eta: l.eta.unwrap_or(d.ctx.now),
            }));
        }
        lines.push(PurchaseOrderLineCreated {
            sku: l.sku.clone(),
            qty,
            unit_cost: l.unit_cost,
            location: l.location.clone(),
            eta: l.eta,
        });
    }
    let mut events = vec![Event::PurchaseOrderCreated(PurchaseOrderCreated {
        purchase_order: c.purchase_order.clone(),
        supplier: c.supplier.clone(),
        currency: s.currency,
        lines,
    })];
    events.extend(expected);
    Ok(events)
}

/// The unit cost of a receipt and the purchase-order line it is against: the line's cost
/// (a different `unit_cost` is refused), else the given cost or the SKU's standard cost.
pub(super) fn receipt_cost(
    d: &Decision<'_>,
    c: &ReceiveInventory,
    def: &SkuDef,
) -> Result<(Money, Option<(PurchaseOrderId, u32)>), Rejection> {
    let (po_id, n) = match (&c.purchase_order, c.po_line) {
        (None, None) => return Ok((c.unit_cost.unwrap_or(def.unit_cost), None)),
        (Some(po), Some(n)) => (po, n),
        _ => {
            return Err(Rejection::InvalidInput(
                "a receipt against a purchase order names both purchase_order and po_line"
                    .to_owned(),
            ));
        }
    };
    let po = d
        .state
        .purchase_orders
        .get(po_id)
        .ok_or_else(|| Rejection::UnknownPurchaseOrder(po_id.clone()))?;
    let line = &po.lines[line_index(po_id, n, po.lines.len())?];
    if line.sku != c.sku {
        return Err(Rejection::InvalidInput(format!(
            "line {n} of purchase order '{po_id}' is sku '{}', not '{}'",
            line.sku, c.sku
        )));
    }
    if let Some(cost) = c.unit_cost
        && cost != line.unit_cost
    {
        return Err(Rejection::InvalidInput(format!(
            "unit cost {} differs from the purchase order's {}",
            cost.to_decimal_string(),
            line.unit_cost.to_decimal_string()
        )));
    }
    Ok((line.unit_cost, Some((po_id.clone(), n))))
}

/// The `purchase_order.received` of a receipt against a purchase-order line.
pub(super) fn po_received(
    po: Option<(PurchaseOrderId, u32)>,
    key: &StockKey,
    qty: Quantity,
    value: Money,
) -> Option<Event> {
    let (purchase_order, line) = po?;
    Some(Event::PurchaseOrderReceived(PurchaseOrderReceived {
        purchase_order,
        line,
        key: key.clone(),
        qty,
        value,
    }))
}

/// Whether `price` is within `tolerance` of the reference unit cost `num / den` (den > 0):
/// |price × den − num| ≤ num × tolerance.
fn price_within(price: Money, num: i64, den: u64, tolerance: Rate) -> bool {
    let diff = (i128::from(price.minor()) * i128::from(den) - i128::from(num)).abs();
    diff * 1_000_000 <= i128::from(num).abs() * i128::from(tolerance.ppm())
}

pub(super) fn record_invoice(
    d: &Decision<'_>,
    c: &RecordSupplierInvoice,
) -> Result<Vec<Event>, Rejection> {
    let s = supplier(d, &c.supplier)?;
    if d.state.ap_invoices.contains_key(&(c.supplier.clone(), c.invoice.clone())) {
        return Err(Rejection::DuplicateId { kind: "supplier invoice", id: c.invoice.to_string() });
    }
    let po = match &c.purchase_order {
        Some(id) => {
            let po = d
                .state
                .purchase_orders
                .get(id)
                .ok_or_else(|| Rejection::UnknownPurchaseOrder(id.clone()))?;
            if po.supplier != c.supplier {
                return Err(Rejection::InvalidInput(format!(
                    "purchase order '{id}' is from supplier '{}', not '{}'",
                    po.supplier, c.supplier
                )));
            }
            Some((id, po))
        }
        None => None,
    };
    if c.lines.is_empty() || c.lines.len() > super::ORDER_LINES_MAX {
        return Err(Rejection::InvalidInput(format!(
            "supplier invoice '{}' has {} lines (1 to {})",
            c.invoice,
            c.lines.len(),
            super::ORDER_LINES_MAX
        )));
    }
    let mut seen = BTreeSet::new();
    let mut lines = Vec::with_capacity(c.lines.len());
    let mut problems = Vec::new();
    let mut total = Money::zero(s.currency);
    let mut grni_total = Money::zero(s.currency);
    for (i, l) in c.lines.iter().enumerate() {
        let qty = positive(l.qty)?;
        non_negative("unit price", l.unit_price, true)?;
        same_currency(s.currency, l.unit_price.currency())?;
        let amount = times(l.unit_price, qty.get())?;
        // What the line matches: a purchase-order line (reference price: its cost) or the
        // SKU's receipts without a purchase order (reference: their average cost).
        let (sku, grni, reference): (_, Grni, (i64, u64)) = match (&po, l.po_line, &l.sku) {
            (Some((id, po)), Some(n), _) => {
                let line = &po.lines[line_index(id, n, po.lines.len())?];
                if l.sku.as_ref().is_some_and(|s| s != &line.sku) {
                    return Err(Rejection::InvalidInput(format!(
                        "line {n} of purchase order '{id}' is sku '{}'",
                        line.sku
                    )));
                }
                (line.sku.clone(), line.grni, (line.unit_cost.minor(), 1))
            }
            (None, None, Some(sku)) => {
                let def = d.sku(sku)?;
                let (grni, reference) = match d.state.unmatched_receipts.get(sku) {
                    Some((currency, g)) => {
                        same_currency(s.currency, *currency)?;
                        let r = if g.open_qty() > 0 {
                            (g.open_value(), g.open_qty())
                        } else {
                            (def.unit_cost.minor(), 1)
                        };
                        (*g, r)
                    }
                    None => (Grni::default(), (def.unit_cost.minor(), 1)),
                };
                (sku.clone(), grni, reference)
            }
            _ => {
                return Err(Rejection::InvalidInput(format!(
                    "invoice line {i}: name po_line with a purchase order, sku without one"
                )));
            }
        };
        let target = (l.po_line, if po.is_some() { None } else { Some(sku.clone()) });
        if !seen.insert(target) {
            return Err(Rejection::InvalidInput(format!(
                "invoice line {i} bills a line or sku an earlier line bills"
            )));
        }
        let open = grni.open_qty();
        let what = match l.po_line {
            Some(n) => format!("po line {n}"),
            None => format!("sku '{sku}'"),
        };
        if qty.get() > open.saturating_add(s.qty_tolerance) {
            problems.push(format!(
                "{what}: {} units billed, {open} received and not invoiced (tolerance {})",
                qty.get(),
                s.qty_tolerance
            ));
        }
        if !price_within(l.unit_price, reference.0, reference.1, s.price_tolerance) {
            let reference_price = Money::from_minor(
                i64::try_from(crate::money::div_half_even(
                    i128::from(reference.0),
                    i128::from(reference.1),
                ))
                .unwrap_or(i64::MAX),
                s.currency,
            );
            problems.push(format!(
                "{what}: unit price {} against {} (tolerance {})",
                l.unit_price.to_decimal_string(),
                reference_price.to_decimal_string(),
                s.price_tolerance.to_fraction_string()
            ));
        }
        let matched_qty = qty.get().min(open);
        let grni_value = Money::from_minor(grni.clear_value(matched_qty), s.currency);
        total = super::plus(total, amount)?;
        grni_total = super::plus(grni_total, grni_value)?;
        lines.push(SupplierInvoiceLine {
            po_line: l.po_line,
            sku,
            qty,
            unit_price: l.unit_price,
            amount,
            matched_qty,
            grni_value,
        });
    }
    let subject = JournalRef::Supplier(c.supplier.clone());
    if !problems.is_empty() {
        // Beyond tolerance: a person must look at it; nothing is posted and the invoice is
        // not recorded (it may be entered again once resolved).
        let mut message = format!(
            "supplier invoice '{}' not posted: {}",
            c.invoice,
            problems.first().map_or("", String::as_str)
        );
        if problems.len() > 1 {
            message.push_str(&format!(" (and {} more)", problems.len() - 1));
        }
        if message.len() > crate::limits::TEXT_BYTES_MAX {
            let mut cut = crate::limits::TEXT_BYTES_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        return Ok(vec![Event::ExceptionRaised(ExceptionRaised {
            kind: ExceptionKind::InvoiceMismatch,
            subject,
            message,
        })]);
    }
    let variance = Money::from_minor(total.minor() - grni_total.minor(), s.currency);
    let due = Date::from_days(
        d.today().days().saturating_add(i32::try_from(s.payment_terms_days).unwrap_or(0)),
    );
    let mut events = vec![Event::SupplierInvoiceRecorded(SupplierInvoiceRecorded {
        invoice: c.invoice.clone(),
        supplier: c.supplier.clone(),
        purchase_order: c.purchase_order.clone(),
        lines,
        total,
        due,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        subject,
        "supplier invoice",
        vec![
            Posting::debit(Account::GoodsReceivedNotInvoiced, grni_total),
            Posting::debit(Account::PurchasePriceVariance, variance),
            Posting::credit(Account::AccountsPayable, total),
        ],
    )?);
    Ok(events)
}

pub(super) fn record_payment(
    d: &Decision<'_>,
    c: &RecordSupplierPayment,
) -> Result<Vec<Event>, Rejection> {
    let s = supplier(d, &c.supplier)?;
    if d.state.supplier_payments.contains(&c.payment) {
        return Err(Rejection::DuplicateId { kind: "supplier payment", id: c.payment.to_string() });
    }
    same_currency(s.currency, c.amount.currency())?;
    non_negative("supplier payment", c.amount, !c.applications.is_empty())?;
    let mut per_invoice: BTreeMap<_, i64> = BTreeMap::new();
    let mut applied = Vec::with_capacity(c.applications.len());
    let mut applied_total = Money::zero(s.currency);
    for a in &c.applications {
        same_currency(s.currency, a.amount.currency())?;
        non_negative("payment application", a.amount, false)?;
        let key = (c.supplier.clone(), a.invoice.clone());
        let invoice = d.state.ap_invoices.get(&key).ok_or_else(|| {
            Rejection::InvalidInput(format!(
                "unknown invoice '{}' of supplier '{}'",
                a.invoice, c.supplier
            ))
        })?;
        let sum = per_invoice.entry(a.invoice.clone()).or_insert(0);
        *sum += a.amount.minor();
        let open = invoice.open_minor();
        if *sum > open {
            return Err(Rejection::ExceedsOutstanding {
                what: "payment application",
                requested: sum.unsigned_abs(),
                allowed: open.unsigned_abs(),
            });
        }
        applied_total = super::plus(applied_total, a.amount)?;
        applied.push(PaymentApplied { invoice: a.invoice.clone(), amount: a.amount });
    }
    let available = c.amount.minor().saturating_add(d.state.supplier_credit(&c.supplier));
    if applied_total.minor() > available {
        return Err(Rejection::ExceedsOutstanding {
            what: "payment applications (amount plus unapplied credit)",
            requested: applied_total.minor().unsigned_abs(),
            allowed: available.unsigned_abs(),
        });
    }
    let unapplied = Money::from_minor(c.amount.minor() - applied_total.minor(), s.currency);
    let mut events = vec![Event::SupplierPaymentRecorded(SupplierPaymentRecorded {
        payment: c.payment.clone(),
        supplier: c.supplier.clone(),
        amount: c.amount,
        applied,
        unapplied,
    })];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Supplier(c.supplier.clone()),
        "supplier payment",
        vec![
            Posting::debit(Account::AccountsPayable, c.amount),
            Posting::credit(Account::Bank, c.amount),
        ],
    )?);
    Ok(events)
}
