//! Purchasing: GRNI (2050) and AP (2000) through purchase orders, receipts, three-way-matched
//! supplier invoices and payments, with hand-computed numbers; and the reconciliation the
//! property tests check after every command.

use std::collections::BTreeMap;

use tally_domain::command::*;
use tally_domain::event::{Event, ExceptionKind};
use tally_domain::ids::{PurchaseOrderId, SupplierId, SupplierInvoiceId, SupplierPaymentId};
use tally_domain::journal::Account;
use tally_domain::money::{Currency, Rate};
use tally_domain::{Command, State};

use crate::support::*;

fn sup() -> SupplierId {
    SupplierId::parse("ACME").unwrap()
}
fn po_id(s: &str) -> PurchaseOrderId {
    PurchaseOrderId::parse(s).unwrap()
}
fn inv_id(s: &str) -> SupplierInvoiceId {
    SupplierInvoiceId::parse(s).unwrap()
}

pub fn define_supplier(qty_tolerance: i64, price_tolerance: &str) -> Command {
    Command::DefineSupplier(DefineSupplier {
        supplier: sup(),
        name: "Acme".to_owned(),
        currency: Currency::USD,
        payment_terms_days: 30,
        qty_tolerance,
        price_tolerance: Some(Rate::parse_fraction(price_tolerance).unwrap()),
    })
}

/// A purchase order of `lines` (sku, qty, unit cost minor).
pub fn create_po(id: &str, lines: &[(&str, i64, i64)]) -> Command {
    Command::CreatePurchaseOrder(CreatePurchaseOrder {
        purchase_order: po_id(id),
        supplier: sup(),
        lines: lines
            .iter()
            .map(|(s, q, c)| PurchaseOrderLineInput {
                sku: sku(s),
                qty: *q,
                unit_cost: usd(*c),
                location: None,
                eta: None,
            })
            .collect(),
    })
}

pub fn receive_po(l: &str, s: &str, qty: i64, po: &str, line: u32) -> Command {
    Command::ReceiveInventory(ReceiveInventory {
        location: loc(l),
        sku: sku(s),
        lot: None,
        expiry: None,
        qty,
        unit_cost: None,
        purchase_order: Some(po_id(po)),
        po_line: Some(line),
    })
}

/// An invoice of `lines` (po line, qty, unit price minor) against `po`.
pub fn invoice(id: &str, po: &str, lines: &[(u32, i64, i64)]) -> Command {
    Command::RecordSupplierInvoice(RecordSupplierInvoice {
        invoice: inv_id(id),
        supplier: sup(),
        purchase_order: Some(po_id(po)),
        lines: lines
            .iter()
            .map(|(n, q, p)| SupplierInvoiceLineInput {
                po_line: Some(*n),
                sku: None,
                qty: *q,
                unit_price: usd(*p),
            })
            .collect(),
    })
}

pub fn pay(id: &str, amount: i64, applications: &[(&str, i64)]) -> Command {
    Command::RecordSupplierPayment(RecordSupplierPayment {
        payment: SupplierPaymentId::parse(id).unwrap(),
        supplier: sup(),
        amount: usd(amount),
        applications: applications
            .iter()
            .map(|(i, a)| PaymentApplicationInput { invoice: inv_id(i), amount: usd(*a) })
            .collect(),
    })
}

fn bal(state: &State, account: Account) -> i64 {
    state.balance(account, Currency::USD).minor()
}

/// 2050 = −Σ open GRNI (purchase-order lines and receipts without one); 2000 = −(Σ open
/// invoices − Σ unapplied credit), per currency.
pub fn check_purchasing(state: &State) {
    let mut grni: BTreeMap<Currency, i64> = BTreeMap::new();
    for (_, po) in state.purchase_orders() {
        for line in &po.lines {
            *grni.entry(po.currency).or_insert(0) += line.grni.open_value();
            assert!(line.grni.matched <= line.grni.received, "matched beyond received: {line:?}");
        }
    }
    for (_, (currency, g)) in state.unmatched_receipts() {
        *grni.entry(*currency).or_insert(0) += g.open_value();
    }
    let mut ap: BTreeMap<Currency, i64> = BTreeMap::new();
    for inv in state.ap_invoices() {
        assert!(inv.open_minor() >= 0, "invoice paid beyond its total: {inv:?}");
        *ap.entry(inv.total.currency()).or_insert(0) += inv.open_minor();
    }
    for s in state.suppliers() {
        let credit = state.supplier_credit(&s.id);
        assert!(credit >= 0, "negative unapplied credit of {}", s.id);
        *ap.entry(s.currency).or_insert(0) -= credit;
    }
    for (account, m) in state.balances() {
        match account {
            Account::GoodsReceivedNotInvoiced => {
                assert_eq!(-m.minor(), grni.remove(&m.currency()).unwrap_or(0), "2050 vs GRNI")
            }
            Account::AccountsPayable => {
                assert_eq!(-m.minor(), ap.remove(&m.currency()).unwrap_or(0), "2000 vs open AP")
            }
            _ => {}
        }
    }
    assert!(grni.values().all(|v| *v == 0), "GRNI without a 2050 balance: {grni:?}");
    assert!(ap.values().all(|v| *v == 0), "open AP without a 2000 balance: {ap:?}");
}

#[test]
fn receipts_invoice_with_price_variance_and_payment_clear_grni_and_ap() {
    // PO-1: 10 @ 20.00 and 10 @ 26.00 of A (two lines). Receive both: 1200 = 460.00,
    // 2050 = −460.00, pool average 23.00.
    let s = Scenario::given(world_and([
        define_supplier(0, "0.05"),
        create_po("PO-1", &[("A", 10, 2000), ("A", 10, 2600)]),
        receive_po("WH1", "A", 10, "PO-1", 0),
        receive_po("WH1", "A", 10, "PO-1", 1),
    ]));
    assert_eq!(bal(&s.state, Account::Inventory), 46_000);
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), -46_000);
    assert_eq!(s.state.pool(&sku("A")).unwrap().average(), Some(usd(2300)));
    check_purchasing(&s.state);
    // Ship 5: COGS 5 × 23.00 = 115.00.
    let mut s = s;
    let mut more = allocated_order("O1", "web", "A", 5);
    more.extend([pick("O1"), pack("O1"), ship("O1")]);
    for c in more {
        s = s.and(c);
    }
    assert_eq!(bal(&s.state, Account::CostOfGoodsSold), 11_500);
    // The second line is invoiced at 26.50 (within 5 %): Dr 2050 260.00, Dr 5600 5.00,
    // Cr 2000 265.00. GRNI is left with line 0: 200.00.
    let (events, state) = s
        .when(invoice("INV-1", "PO-1", &[(1, 10, 2650)]))
        .then_types(&["supplier.invoice_recorded", "journal.entry_posted"]);
    let Event::SupplierInvoiceRecorded(recorded) = &events[0] else { unreachable!() };
    assert_eq!(recorded.total, usd(26_500));
    assert_eq!(recorded.due, date("2026-03-31"));
    assert_eq!(bal(&state, Account::GoodsReceivedNotInvoiced), -20_000);
    assert_eq!(bal(&state, Account::PurchasePriceVariance), 500);
    assert_eq!(bal(&state, Account::AccountsPayable), -26_500);
    check_purchasing(&state);
    // Pay it: Dr 2000 265.00 / Cr 1000 → AP clears.
    let s = Scenario { state, ctx: ctx_at(T0) }.and(pay("PAY-1", 26_500, &[("INV-1", 26_500)]));
    assert_eq!(bal(&s.state, Account::AccountsPayable), 0);
    assert_eq!(bal(&s.state, Account::Bank), -26_500);
    check_purchasing(&s.state);
    // Line 0 invoiced at cost: 2050 clears to 0; 1200 still carries the 15 units (345.00).
    let s = s.and(invoice("INV-2", "PO-1", &[(0, 10, 2000)]));
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), 0);
    assert_eq!(bal(&s.state, Account::AccountsPayable), -20_000);
    assert_eq!(bal(&s.state, Account::Inventory), 34_500);
    check_purchasing(&s.state);
    crate::valuation::check_pools(&s.state);
}

#[test]
fn an_invoice_beyond_tolerance_is_an_exception_and_posts_nothing() {
    let s = Scenario::given(world_and([
        define_supplier(1, "0.02"),
        create_po("PO-1", &[("A", 10, 2000)]),
        receive_po("WH1", "A", 8, "PO-1", 0),
    ]));
    // Price 20.50 is 2.5 % over 20.00: beyond 2 %.
    let (events, state) = Scenario { state: s.state.clone(), ctx: s.ctx.clone() }
        .when(invoice("INV-1", "PO-1", &[(0, 8, 2050)]))
        .then_types(&["exception.raised"]);
    let Event::ExceptionRaised(x) = &events[0] else { unreachable!() };
    assert_eq!(x.kind, ExceptionKind::InvoiceMismatch);
    assert!(x.message.contains("unit price 20.50 against 20.00"), "{}", x.message);
    assert_eq!(bal(&state, Account::AccountsPayable), 0);
    assert_eq!(bal(&state, Account::GoodsReceivedNotInvoiced), -16_000);
    // 10 units billed, 8 received, tolerance 1: beyond.
    let (events, _) = Scenario { state: s.state.clone(), ctx: s.ctx.clone() }
        .when(invoice("INV-1", "PO-1", &[(0, 10, 2000)]))
        .then_types(&["exception.raised"]);
    let Event::ExceptionRaised(x) = &events[0] else { unreachable!() };
    assert!(x.message.contains("10 units billed, 8 received and not invoiced"), "{}", x.message);
    // Within tolerance: 9 billed @ 20.40 (2 %): 8 matched clear 160.00 from 2050, the bill is
    // 183.60, so 23.60 goes to 5600.
    let s = s.and(invoice("INV-1", "PO-1", &[(0, 9, 2040)]));
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), 0);
    assert_eq!(bal(&s.state, Account::PurchasePriceVariance), 2_360);
    assert_eq!(bal(&s.state, Account::AccountsPayable), -18_360);
    check_purchasing(&s.state);
    // The same invoice number again is refused.
    s.when(invoice("INV-1", "PO-1", &[(0, 1, 2000)])).then_rejects("DUPLICATE_ID");
}

#[test]
fn receipts_without_a_purchase_order_stay_in_grni_until_billed_by_sku() {
    // 4 received at 12.50 without a PO: 2050 −50.00, shown as unmatched receipts of A.
    let s = Scenario::given(world_and([
        define_supplier(0, "0.10"),
        Command::ReceiveInventory(ReceiveInventory {
            location: loc("WH1"),
            sku: sku("A"),
            lot: None,
            expiry: None,
            qty: 4,
            unit_cost: Some(usd(1250)),
            purchase_order: None,
            po_line: None,
        }),
    ]));
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), -5_000);
    check_purchasing(&s.state);
    // Billed by SKU: 4 @ 13.00 (4 % over the 12.50 average): Dr 2050 50.00, Dr 5600 2.00.
    let s = s.and(Command::RecordSupplierInvoice(RecordSupplierInvoice {
        invoice: inv_id("INV-9"),
        supplier: sup(),
        purchase_order: None,
        lines: vec![SupplierInvoiceLineInput {
            po_line: None,
            sku: Some(sku("A")),
            qty: 4,
            unit_price: usd(1300),
        }],
    }));
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), 0);
    assert_eq!(bal(&s.state, Account::PurchasePriceVariance), 200);
    assert_eq!(bal(&s.state, Account::AccountsPayable), -5_200);
    assert_eq!(s.state.unmatched_receipts().count(), 0);
    check_purchasing(&s.state);
}

#[test]
fn payments_apply_partially_and_leave_unapplied_credit() {
    let s = Scenario::given(world_and([
        define_supplier(0, "0"),
        create_po("PO-1", &[("A", 5, 1000)]),
        receive_po("WH1", "A", 5, "PO-1", 0),
        invoice("INV-1", "PO-1", &[(0, 5, 1000)]),
        // 30.00 applied, 20.00 more paid on account.
        pay("PAY-1", 5_000, &[("INV-1", 3_000)]),
    ]));
    assert_eq!(bal(&s.state, Account::AccountsPayable), 0);
    assert_eq!(s.state.supplier_credit(&sup()), 2_000);
    check_purchasing(&s.state);
    // Applying beyond the invoice's open 20.00 is refused; applying the credit clears it.
    Scenario { state: s.state.clone(), ctx: s.ctx.clone() }
        .when(pay("PAY-2", 0, &[("INV-1", 2_100)]))
        .then_rejects("EXCEEDS_OUTSTANDING");
    let (_, state) =
        s.when(pay("PAY-2", 0, &[("INV-1", 2_000)])).then_types(&["supplier.payment_recorded"]);
    assert_eq!(state.supplier_credit(&sup()), 0);
    assert_eq!(state.ap_invoices().next().unwrap().open_minor(), 0);
    check_purchasing(&state);
}

#[test]
fn purchasing_rejections() {
    let w = || world_and([define_supplier(0, "0"), create_po("PO-1", &[("A", 5, 1000)])]);
    Scenario::given(w()).when(create_po("PO-1", &[("A", 1, 1)])).then_rejects("DUPLICATE_ID");
    Scenario::given(world())
        .when(create_po("PO-2", &[("A", 1, 1)]))
        .then_rejects("UNKNOWN_SUPPLIER");
    Scenario::given(w())
        .when(receive_po("WH1", "A", 1, "PO-9", 0))
        .then_rejects("UNKNOWN_PURCHASE_ORDER");
    Scenario::given(w()).when(receive_po("WH1", "A", 1, "PO-1", 1)).then_rejects("INVALID_INPUT");
    let mut other_sku = w();
    other_sku.push(define_sku("B", false, 0, 100));
    Scenario::given(other_sku)
        .when(receive_po("WH1", "B", 1, "PO-1", 0))
        .then_rejects("INVALID_INPUT");
    let mut at_other_cost = receive_po("WH1", "A", 1, "PO-1", 0);
    if let Command::ReceiveInventory(r) = &mut at_other_cost {
        r.unit_cost = Some(usd(999));
    }
    Scenario::given(w()).when(at_other_cost).then_rejects("INVALID_INPUT");
    Scenario::given(w()).when(pay("P", 0, &[])).then_rejects("INVALID_AMOUNT");
    Scenario::given(w()).when(pay("P", 100, &[("NOPE", 100)])).then_rejects("INVALID_INPUT");
}

#[test]
fn over_receipt_is_recorded_and_a_located_po_line_is_expected_inbound() {
    let s = Scenario::given(world_and([
        define_supplier(0, "0"),
        Command::CreatePurchaseOrder(CreatePurchaseOrder {
            purchase_order: po_id("PO-1"),
            supplier: sup(),
            lines: vec![PurchaseOrderLineInput {
                sku: sku("A"),
                qty: 5,
                unit_cost: usd(1000),
                location: Some(loc("WH1")),
                eta: None,
            }],
        }),
    ]));
    assert_eq!(s.state.stock(&key("WH1", "A", None)).incoming, 5);
    // 6 arrive against a line of 5: a physical fact, recorded at the line's cost.
    let s = s.and(receive_po("WH1", "A", 6, "PO-1", 0));
    let line = &s.state.purchase_order(&po_id("PO-1")).unwrap().lines[0];
    assert_eq!((line.grni.received, line.grni.received_value), (6, 6_000));
    assert_eq!(s.state.stock(&key("WH1", "A", None)).incoming, 0);
    assert_eq!(bal(&s.state, Account::GoodsReceivedNotInvoiced), -6_000);
    check_purchasing(&s.state);
}
