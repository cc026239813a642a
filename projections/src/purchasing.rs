//! The purchasing view (docs/domain.md §5): goods received not invoiced per purchase-order
//! line and per SKU received without one (Σ = the 2050 balance), open payables per supplier
//! (Σ = the 2000 balance) and each SKU's valuation pool (Σ = the 1200 balance), all kept from
//! the events with the domain's own rules (`tally_domain::valuation::move_pool`,
//! `tally_domain::purchasing::Grni`).
//!
//! Key layout (parts joined by 0x00):
//! - `po/{purchase order}` → [`PoView`] (its lines with received and matched units/values);
//! - `unmatched/{sku}` → [`Unmatched`] (receipts without a purchase order, until invoiced);
//! - `supplier/{supplier}` → [`SupplierView`];
//! - `invoice/{supplier}/{invoice}` → [`InvoiceView`];
//! - `pool/{sku}` → `tally_domain::valuation::Pool` (absent when the SKU holds no units);
//! - `cost/{sku}` → the SKU's standard unit cost (`Money`), for units found into an empty pool.

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{LocationId, PurchaseOrderId, Sku, SupplierId, SupplierInvoiceId};
use tally_domain::money::{Currency, Money};
use tally_domain::purchasing::{Grni, Supplier};
use tally_domain::time::Date;
use tally_domain::valuation::{self, Pool};

use crate::keys::{prefix, text};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const PO: &[u8] = b"po";
const UNMATCHED: &[u8] = b"unmatched";
const SUPPLIER: &[u8] = b"supplier";
const INVOICE: &[u8] = b"invoice";
const POOL: &[u8] = b"pool";
const COST: &[u8] = b"cost";

/// The purchasing projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Purchasing;

/// A purchase-order line with what was received and invoiced against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoLineView {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered.
    pub qty: u64,
    /// Agreed unit cost.
    pub unit_cost: Money,
    /// Where the goods are expected, if said.
    pub location: Option<LocationId>,
    /// Units billed by supplier invoices.
    pub invoiced: u64,
    /// Received and matched units and values.
    pub grni: Grni,
}

/// A purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoView {
    /// Its id.
    pub id: PurchaseOrderId,
    /// The supplier.
    pub supplier: SupplierId,
    /// Its currency.
    pub currency: Currency,
    /// When it was created (business time).
    pub created_at_ms: i64,
    /// Lines, numbered from 0.
    pub lines: Vec<PoLineView>,
}

/// Receipts of a SKU without a purchase order, until invoiced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Currency of their cost.
    pub currency: Currency,
    /// Received and matched units and values.
    pub grni: Grni,
}

/// A supplier with its payables totals (minor units of its currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierView {
    /// Its master record.
    pub supplier: Supplier,
    /// Σ invoices recorded.
    pub invoiced_minor: i64,
    /// Σ payments made.
    pub paid_minor: i64,
    /// Paid and not applied to an invoice.
    pub unapplied_minor: i64,
}

/// A recorded supplier invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    /// The supplier's number.
    pub invoice: SupplierInvoiceId,
    /// The supplier.
    pub supplier: SupplierId,
    /// The purchase order, if any.
    pub purchase_order: Option<PurchaseOrderId>,
    /// Total billed.
    pub total: Money,
    /// What its matched lines cleared from 2050.
    pub grni_minor: i64,
    /// Paid so far.
    pub paid_minor: i64,
    /// Due date.
    pub due: Date,
    /// When it was recorded (business time).
    pub recorded_at_ms: i64,
}

impl InvoiceView {
    /// Still owed, minor units.
    #[must_use]
    pub const fn open_minor(&self) -> i64 {
        self.total.minor() - self.paid_minor
    }
}

fn with_grni(
    tx: &mut Tx<'_>,
    po: &PurchaseOrderId,
    line: u32,
    change: impl FnOnce(&mut PoLineView),
) -> Result<(), ApplyError> {
    let k = key(&[PO, po.as_str().as_bytes()]);
    let Some(mut view) = tx.get::<PoView>(&k)? else {
        return Err(ApplyError::new(format!("unknown purchase order '{po}'")));
    };
    let l = usize::try_from(line)
        .ok()
        .and_then(|i| view.lines.get_mut(i))
        .ok_or_else(|| ApplyError::new(format!("purchase order '{po}' has no line {line}")))?;
    change(l);
    tx.put(k, &view)
}

fn with_unmatched(
    tx: &mut Tx<'_>,
    sku: &Sku,
    currency: Currency,
    change: impl FnOnce(&mut Grni),
) -> Result<(), ApplyError> {
    let k = key(&[UNMATCHED, sku.as_str().as_bytes()]);
    let mut u = tx.get::<Unmatched>(&k)?.unwrap_or(Unmatched { currency, grni: Grni::default() });
    change(&mut u.grni);
    if u.grni.open_qty() == 0 && u.grni.open_value() == 0 {
        tx.delete(k);
        Ok(())
    } else {
        tx.put(k, &u)
    }
}

fn with_supplier(
    tx: &mut Tx<'_>,
    id: &SupplierId,
    change: impl FnOnce(&mut SupplierView),
) -> Result<(), ApplyError> {
    let k = key(&[SUPPLIER, id.as_str().as_bytes()]);
    let Some(mut view) = tx.get::<SupplierView>(&k)? else {
        return Err(ApplyError::new(format!("unknown supplier '{id}'")));
    };
    change(&mut view);
    tx.put(k, &view)
}

impl Projection for Purchasing {
    fn name(&self) -> &'static str {
        "purchasing"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        // Valuation: the same flows and rule as the domain's pools.
        for flow in valuation::flows(a.event) {
            let sku = valuation::flow_sku(&flow).as_str().as_bytes().to_vec();
            let pool_key = key(&[POOL, &sku]);
            let before = tx.get::<Pool>(&pool_key)?;
            let standard = tx.get::<Money>(&key(&[COST, &sku]))?;
            let (after, _) = valuation::move_pool(before, standard, &flow);
            if after.units == 0 {
                tx.delete(pool_key);
            } else {
                tx.put(pool_key, &after)?;
            }
        }
        match a.event {
            Event::SkuDefined(e) => {
                tx.put(key(&[COST, e.sku.as_str().as_bytes()]), &e.unit_cost)?;
            }
            Event::InventoryReceived(e) => {
                let qty = i64::try_from(e.qty.get()).unwrap_or(i64::MAX);
                let value = e.unit_cost.minor().saturating_mul(qty);
                with_unmatched(tx, &e.key.sku, e.unit_cost.currency(), |g| {
                    g.received += e.qty.get();
                    g.received_value += value;
                })?;
            }
            Event::PurchaseOrderReceived(e) => {
                with_unmatched(tx, &e.key.sku, e.value.currency(), |g| {
                    g.received = g.received.saturating_sub(e.qty.get());
                    g.received_value -= e.value.minor();
                })?;
                with_grni(tx, &e.purchase_order, e.line, |l| {
                    l.grni.received += e.qty.get();
                    l.grni.received_value += e.value.minor();
                })?;
            }
            Event::SupplierDefined(e) => {
                let k = key(&[SUPPLIER, e.id.as_str().as_bytes()]);
                let view = match tx.get::<SupplierView>(&k)? {
                    Some(old) => SupplierView { supplier: e.clone(), ..old },
                    None => SupplierView {
                        supplier: e.clone(),
                        invoiced_minor: 0,
                        paid_minor: 0,
                        unapplied_minor: 0,
                    },
                };
                tx.put(k, &view)?;
            }
            Event::PurchaseOrderCreated(e) => {
                let view = PoView {
                    id: e.purchase_order.clone(),
                    supplier: e.supplier.clone(),
                    currency: e.currency,
                    created_at_ms: a.occurred_at_ms,
                    lines: e
                        .lines
                        .iter()
                        .map(|l| PoLineView {
                            sku: l.sku.clone(),
                            qty: l.qty.get(),
                            unit_cost: l.unit_cost,
                            location: l.location.clone(),
                            invoiced: 0,
                            grni: Grni::default(),
                        })
                        .collect(),
                };
                tx.put(key(&[PO, e.purchase_order.as_str().as_bytes()]), &view)?;
            }
            Event::SupplierInvoiceRecorded(e) => {
                let mut grni_minor = 0_i64;
                for l in &e.lines {
                    grni_minor += l.grni_value.minor();
                    match (&e.purchase_order, l.po_line) {
                        (Some(po), Some(n)) => with_grni(tx, po, n, |line| {
                            line.invoiced += l.qty.get();
                            line.grni.matched += l.matched_qty;
                            line.grni.matched_value += l.grni_value.minor();
                        })?,
                        _ => with_unmatched(tx, &l.sku, e.total.currency(), |g| {
                            g.matched += l.matched_qty;
                            g.matched_value += l.grni_value.minor();
                        })?,
                    }
                }
                let view = InvoiceView {
                    invoice: e.invoice.clone(),
                    supplier: e.supplier.clone(),
                    purchase_order: e.purchase_order.clone(),
                    total: e.total,
                    grni_minor,
                    paid_minor: 0,
                    due: e.due,
                    recorded_at_ms: a.occurred_at_ms,
                };
                tx.put(
                    key(&[INVOICE, e.supplier.as_str().as_bytes(), e.invoice.as_str().as_bytes()]),
                    &view,
                )?;
                with_supplier(tx, &e.supplier, |s| s.invoiced_minor += e.total.minor())?;
            }
            Event::SupplierPaymentRecorded(e) => {
                for p in &e.applied {
                    let k = key(&[
                        INVOICE,
                        e.supplier.as_str().as_bytes(),
                        p.invoice.as_str().as_bytes(),
                    ]);
                    let Some(mut inv) = tx.get::<InvoiceView>(&k)? else {
                        return Err(ApplyError::new(format!(
                            "unknown invoice '{}' of supplier '{}'",
                            p.invoice, e.supplier
                        )));
                    };
                    inv.paid_minor += p.amount.minor();
                    tx.put(k, &inv)?;
                }
                with_supplier(tx, &e.supplier, |s| {
                    s.paid_minor += e.amount.minor();
                    s.unapplied_minor += e.unapplied.minor();
                })?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// One row of goods received not invoiced: a purchase-order line, or a SKU's receipts
/// without a purchase order (`purchase_order` and `line` null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrniRow {
    /// The purchase order, if any.
    pub purchase_order: Option<PurchaseOrderId>,
    /// Its line, if any.
    pub line: Option<u32>,
    /// The supplier, if known.
    pub supplier: Option<SupplierId>,
    /// The SKU.
    pub sku: Sku,
    /// Currency.
    pub currency: Currency,
    /// Units ordered (0 without a purchase order).
    pub ordered: u64,
    /// Units billed by supplier invoices.
    pub invoiced: u64,
    /// Received and matched units and values.
    pub grni: Grni,
}

/// Every purchase-order line and every SKU's receipts without a purchase order that still
/// hold goods received not invoiced (open units or value), by purchase order and line, then
/// by SKU. Σ open value = the 2050 balance (as a credit).
pub fn grni(r: &ViewReader) -> Result<Vec<GrniRow>> {
    let mut rows = Vec::new();
    for (_, po) in r.scan_typed::<PoView>(&prefix(&[PO]))? {
        for (line, n) in po.lines.iter().zip(0_u32..) {
            if line.grni.open_qty() == 0 && line.grni.open_value() == 0 {
                continue;
            }
            rows.push(GrniRow {
                purchase_order: Some(po.id.clone()),
                line: Some(n),
                supplier: Some(po.supplier.clone()),
                sku: line.sku.clone(),
                currency: po.currency,
                ordered: line.qty,
                invoiced: line.invoiced,
                grni: line.grni,
            });
        }
    }
    for (k, u) in r.scan_typed::<Unmatched>(&prefix(&[UNMATCHED]))? {
        let sku = Sku::parse(text(&k))
            .map_err(|e| crate::keys::malformed("purchasing", e.to_string()))?;
        rows.push(GrniRow {
            purchase_order: None,
            line: None,
            supplier: None,
            sku,
            currency: u.currency,
            ordered: 0,
            invoiced: 0,
            grni: u.grni,
        });
    }
    Ok(rows)
}

/// A purchase order, or `None` when unknown.
pub fn purchase_order(r: &ViewReader, id: &str) -> Result<Option<PoView>> {
    r.get(&key(&[PO, id.as_bytes()]))
}

/// A supplier's payables: its totals and its invoices still owed (by invoice number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payables {
    /// The supplier and its totals.
    pub supplier: SupplierView,
    /// Invoices with money still owed.
    pub open_invoices: Vec<InvoiceView>,
}

impl Payables {
    /// Owed to the supplier: Σ open invoices − unapplied credit (the supplier's share of the
    /// 2000 balance, as a credit), minor units.
    #[must_use]
    pub fn balance_minor(&self) -> i64 {
        self.open_invoices.iter().map(InvoiceView::open_minor).sum::<i64>()
            - self.supplier.unapplied_minor
    }
}

/// Every supplier's payables, by supplier id.
pub fn payables(r: &ViewReader) -> Result<Vec<Payables>> {
    let mut out = Vec::new();
    for (_, supplier) in r.scan_typed::<SupplierView>(&prefix(&[SUPPLIER]))? {
        let open_invoices = r
            .scan_typed::<InvoiceView>(&prefix(&[
                INVOICE,
                supplier.supplier.id.as_str().as_bytes(),
            ]))?
            .into_iter()
            .map(|(_, v)| v)
            .filter(|v| v.open_minor() != 0)
            .collect();
        out.push(Payables { supplier, open_invoices });
    }
    Ok(out)
}

/// Every SKU holding units with its pool (units and carrying value), by SKU. Σ value = the
/// 1200 balance.
pub fn valuation(r: &ViewReader) -> Result<Vec<(Sku, Pool)>> {
    r.scan_typed::<Pool>(&prefix(&[POOL]))?
        .into_iter()
        .map(|(k, pool)| {
            let sku = Sku::parse(text(&k))
                .map_err(|e| crate::keys::malformed("purchasing", e.to_string()))?;
            Ok((sku, pool))
        })
        .collect()
}
