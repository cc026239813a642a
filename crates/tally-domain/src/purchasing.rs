//! Purchasing: suppliers, purchase orders, goods received not invoiced (2050) and open
//! supplier invoices (2000), as decision state (docs/domain.md §5).

use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, Sku, SupplierId, SupplierInvoiceId};
use crate::money::{Currency, Money, Rate, div_half_even};
use crate::time::{Date, Timestamp};

/// A supplier's master record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    /// Its id.
    pub id: SupplierId,
    /// Its name.
    pub name: String,
    /// The currency it invoices and is paid in.
    pub currency: Currency,
    /// Payment terms: an invoice is due this many days after it is recorded (net N).
    pub payment_terms_days: u32,
    /// Units an invoice line may bill beyond the units received and not yet invoiced before
    /// the invoice is an exception instead of a posting.
    pub qty_tolerance: u64,
    /// Fraction of the reference unit cost an invoiced unit price may differ by before the
    /// invoice is an exception instead of a posting.
    pub price_tolerance: Rate,
}

/// Goods received and not yet invoiced for one purchase-order line, or for one SKU's receipts
/// without a purchase order. `received_value − matched_value` is this bucket's share of 2050.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grni {
    /// Units received.
    pub received: u64,
    /// Their value at receipt cost, minor units.
    pub received_value: i64,
    /// Units matched by supplier invoices.
    pub matched: u64,
    /// Value cleared from 2050 by those matches, minor units.
    pub matched_value: i64,
}

impl Grni {
    /// Units received and not yet invoiced.
    #[must_use]
    pub const fn open_qty(&self) -> u64 {
        self.received.saturating_sub(self.matched)
    }

    /// Their value (this bucket's 2050 balance, as a positive number), minor units.
    #[must_use]
    pub const fn open_value(&self) -> i64 {
        self.received_value.saturating_sub(self.matched_value)
    }

    /// The value 2050 clears for `qty` matched units: pro rata of the open value, half-even;
    /// all of it when `qty` covers every open unit.
    #[must_use]
    pub fn clear_value(&self, qty: u64) -> i64 {
        let open = self.open_qty();
        if open == 0 {
            return 0;
        }
        if qty >= open {
            return self.open_value();
        }
        let v = div_half_even(i128::from(self.open_value()) * i128::from(qty), i128::from(open));
        i64::try_from(v).unwrap_or(i64::MAX)
    }
}

/// One line of a purchase order, with what was received and invoiced against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderLine {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered.
    pub qty: u64,
    /// Agreed unit cost, in the order's currency.
    pub unit_cost: Money,
    /// Where the goods are expected, if said.
    pub location: Option<LocationId>,
    /// Expected arrival, if said.
    pub eta: Option<Timestamp>,
    /// Units billed by supplier invoices (may pass `grni.matched` within tolerance).
    pub invoiced: u64,
    /// Received and matched units and values.
    pub grni: Grni,
}

/// A purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrder {
    /// The supplier.
    pub supplier: SupplierId,
    /// Its currency (the supplier's).
    pub currency: Currency,
    /// Lines, numbered from 0 in order.
    pub lines: Vec<PurchaseOrderLine>,
}

/// A supplier invoice in decision state: what is still owed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApInvoice {
    /// Its id.
    pub id: SupplierInvoiceId,
    /// The supplier.
    pub supplier: SupplierId,
    /// Total billed.
    pub total: Money,
    /// Paid so far, minor units.
    pub paid_minor: i64,
    /// Due date.
    pub due: Date,
}

impl ApInvoice {
    /// Still owed, minor units.
    #[must_use]
    pub const fn open_minor(&self) -> i64 {
        self.total.minor().saturating_sub(self.paid_minor)
    }
}

/// Applies a purchasing event to decision state (called by `evolve`).
pub(crate) fn evolve(state: &mut crate::state::State, event: &crate::event::Event) {
    use crate::event::Event;
    match event {
        Event::SupplierDefined(e) => {
            state.suppliers.insert(e.id.clone(), e.clone());
        }
        Event::PurchaseOrderCreated(e) => {
            let lines = e
                .lines
                .iter()
                .map(|l| PurchaseOrderLine {
                    sku: l.sku.clone(),
                    qty: l.qty.get(),
                    unit_cost: l.unit_cost,
                    location: l.location.clone(),
                    eta: l.eta,
                    invoiced: 0,
                    grni: Grni::default(),
                })
                .collect();
            state.purchase_orders.insert(
                e.purchase_order.clone(),
                PurchaseOrder { supplier: e.supplier.clone(), currency: e.currency, lines },
            );
        }
        Event::InventoryReceived(e) => {
            // Every receipt credits 2050; until a purchase-order line claims it, it counts as
            // a receipt without a purchase order of its SKU.
            let qty = i64::try_from(e.qty.get()).unwrap_or(i64::MAX);
            let value = e.unit_cost.minor().saturating_mul(qty);
            let (_, g) = state
                .unmatched_receipts
                .entry(e.key.sku.clone())
                .or_insert((e.unit_cost.currency(), Grni::default()));
            g.received += e.qty.get();
            g.received_value = g.received_value.saturating_add(value);
        }
        Event::PurchaseOrderReceived(e) => {
            if let Some((_, g)) = state.unmatched_receipts.get_mut(&e.key.sku) {
                g.received = g.received.saturating_sub(e.qty.get());
                g.received_value = g.received_value.saturating_sub(e.value.minor());
            }
            if let Some(line) = state
                .purchase_orders
                .get_mut(&e.purchase_order)
                .and_then(|p| usize::try_from(e.line).ok().and_then(|i| p.lines.get_mut(i)))
            {
                line.grni.received += e.qty.get();
                line.grni.received_value += e.value.minor();
            }
            forget_settled(state);
        }
        Event::SupplierInvoiceRecorded(e) => {
            for l in &e.lines {
                let grni = match (&e.purchase_order, l.po_line) {
                    (Some(po), Some(n)) => state
                        .purchase_orders
                        .get_mut(po)
                        .and_then(|p| usize::try_from(n).ok().and_then(|i| p.lines.get_mut(i)))
                        .map(|line| {
                            line.invoiced += l.qty.get();
                            &mut line.grni
                        }),
                    _ => state.unmatched_receipts.get_mut(&l.sku).map(|(_, g)| g),
                };
                if let Some(g) = grni {
                    g.matched += l.matched_qty;
                    g.matched_value += l.grni_value.minor();
                }
            }
            forget_settled(state);
            state.ap_invoices.insert(
                (e.supplier.clone(), e.invoice.clone()),
                ApInvoice {
                    id: e.invoice.clone(),
                    supplier: e.supplier.clone(),
                    total: e.total,
                    paid_minor: 0,
                    due: e.due,
                },
            );
        }
        Event::SupplierPaymentRecorded(e) => {
            state.supplier_payments.insert(e.payment.clone());
            for a in &e.applied {
                if let Some(inv) =
                    state.ap_invoices.get_mut(&(e.supplier.clone(), a.invoice.clone()))
                {
                    inv.paid_minor += a.amount.minor();
                }
            }
            let credit = state.supplier_credit.entry(e.supplier.clone()).or_insert(0);
            *credit += e.unapplied.minor();
            if *credit == 0 {
                state.supplier_credit.remove(&e.supplier);
            }
        }
        _ => {}
    }
}

/// Receipts without a purchase order are forgotten once nothing of them is left to invoice.
fn forget_settled(state: &mut crate::state::State) {
    state.unmatched_receipts.retain(|_, (_, g)| g.open_qty() > 0 || g.open_value() != 0);
}
