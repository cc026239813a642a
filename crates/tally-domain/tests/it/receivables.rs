//! Receivables (#14): B2B invoices on terms in 1300, customer payments with cash application,
//! the credit hold, facilitator tax, and refunds that go back the way the money came. Every
//! number is computed by hand in the comments.

use serde_json::{Value, json};
use tally_domain::command::Command;
use tally_domain::event::Event;
use tally_domain::ids::{CustomerId, InvoiceId};
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::order::HoldReason;
use tally_domain::state::State;
use tally_domain::time::DAY_MS;

use crate::support::{Scenario, T0, oid};

fn cmd(v: Value) -> Command {
    serde_json::from_value(v).unwrap()
}

fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

fn bal(state: &State, account: Account) -> i64 {
    state.balance(account, Currency::USD).minor()
}

fn cust(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

fn inv(id: &str) -> InvoiceId {
    InvoiceId::parse(id).unwrap()
}

/// Channels of every kind, one location serving them all, 20 units of A (cost 20.00) and the
/// customer ACME on net 30 with a credit limit of `limit`.
fn world(limit: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for (channel, kind, priority, facilitator) in [
        ("web", "direct", "standard", false),
        ("b2b", "wholesale", "contract", false),
        ("amz", "marketplace", "standard", false),
        ("amzf", "marketplace", "standard", true),
    ] {
        out.push(cmd(json!({"type": "define_channel", "channel": channel, "priority": priority,
            "kind": kind, "currency": "USD", "facilitator_tax": facilitator})));
    }
    out.push(cmd(json!({"type": "define_location", "location": "WH1", "kind": "warehouse",
        "rank": 1, "channels": ["web", "b2b", "amz", "amzf"]})));
    out.push(cmd(json!({"type": "define_sku", "sku": "A", "lot_tracked": false,
        "unit_cost": usd("20.00"), "abc": "A"})));
    out.push(cmd(json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 20})));
    out.push(cmd(json!({"type": "define_customer", "customer": "ACME", "name": "Acme Clinics",
        "currency": "USD", "terms_days": 30, "credit_limit": usd(limit)})));
    out
}

/// Receives `qty` × A at `price` with 8 % tax (and `shipping`), optionally for ACME.
fn order(id: &str, channel: &str, qty: i64, price: &str, shipping: &str, b2b: bool) -> Command {
    let mut v = json!({"type": "receive_order", "order": id, "channel": channel,
        "placed_at": "2026-03-01T08:00:00Z", "currency": "USD",
        "lines": [{"sku": "A", "qty": qty, "unit_price": usd(price)}],
        "shipping": usd(shipping), "tax_rate": "0.08"});
    if b2b {
        v["customer"] = json!("ACME");
    }
    cmd(v)
}

/// Validate, allocate, pick, pack, ship.
fn fulfil(id: &str) -> Vec<Command> {
    ["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"]
        .into_iter()
        .map(|t| cmd(json!({"type": t, "order": id})))
        .collect()
}

fn pay(payment: &str, amount: &str, applications: &[(&str, &str)]) -> Command {
    let applications: Vec<Value> =
        applications.iter().map(|(i, a)| json!({"invoice": i, "amount": usd(a)})).collect();
    cmd(json!({"type": "record_customer_payment", "payment": payment, "customer": "ACME",
        "amount": usd(amount), "applications": applications}))
}

fn refund(id: &str, order: &str, qty: i64) -> Command {
    cmd(json!({"type": "issue_refund", "refund": id, "order": order,
        "lines": [{"line": 0, "qty": qty}]}))
}

fn given(commands: Vec<Command>) -> Scenario {
    Scenario::given(commands)
}

/// B1: 4 × 50.00 + shipping 10.00 at 8 %: 200.00 + 16.00 + 10.00 + 0.80 = 226.80.
fn shipped_b2b(limit: &str) -> Scenario {
    let mut commands = world(limit);
    commands.push(order("B1", "b2b", 4, "50.00", "10.00", true));
    commands.extend(fulfil("B1"));
    given(commands)
}

#[test]
fn b2b_invoice_on_net_30_goes_to_1300_with_a_due_date() {
    let s = shipped_b2b("1000.00");
    assert_eq!(bal(&s.state, Account::AccountsReceivable), 22_680);
    assert_eq!(bal(&s.state, Account::CustomerDeposits), 0, "2100 holds no money: none received");
    assert_eq!(bal(&s.state, Account::ProductRevenue), -20_000);
    assert_eq!(bal(&s.state, Account::ShippingRevenue), -1_000);
    assert_eq!(bal(&s.state, Account::SalesTaxPayable), -1_680);
    let invoice = s.state.open_invoice(&inv("B1-inv-1")).unwrap();
    assert_eq!(invoice.open_minor, 22_680);
    // Shipped 2026-03-01 on net 30: due 2026-03-31.
    assert_eq!(invoice.due_on.to_string(), "2026-03-31");
    assert_eq!(s.state.customer(&cust("ACME")).unwrap().open_ar_minor, 22_680);
}

#[test]
fn partial_payment_then_overpayment_leaves_unapplied_credit_in_2100() {
    let s = shipped_b2b("1000.00");
    let (events, state) = s
        .when(pay("ach-1", "100.00", &[("B1-inv-1", "100.00")]))
        .then_types(&["finance.customer_payment_recorded", "journal.entry_posted"]);
    let Event::JournalEntryPosted(entry) = &events[1] else { unreachable!() };
    assert_eq!(entry.postings.len(), 2, "Dr 1000 / Cr 1300: {entry:?}");
    // 226.80 − 100.00 = 126.80 still open.
    assert_eq!(bal(&state, Account::AccountsReceivable), 12_680);
    assert_eq!(bal(&state, Account::Bank), 10_000);
    assert_eq!(state.open_invoice(&inv("B1-inv-1")).unwrap().open_minor, 12_680);
    // 150.00 pays the 126.80 and leaves 23.20 of unapplied credit.
    let s = Scenario { state, ctx: s_ctx() };
    let (_, state) = s
        .when(pay("ach-2", "150.00", &[("B1-inv-1", "126.80")]))
        .then_types(&["finance.customer_payment_recorded", "journal.entry_posted"]);
    assert_eq!(bal(&state, Account::AccountsReceivable), 0);
    assert_eq!(bal(&state, Account::CustomerDeposits), -2_320);
    assert_eq!(bal(&state, Account::Bank), 25_000);
    assert!(state.open_invoice(&inv("B1-inv-1")).is_none(), "paid in full");
    let acme = state.customer(&cust("ACME")).unwrap();
    assert_eq!((acme.open_ar_minor, acme.credit_minor), (0, 2_320));
}

fn s_ctx() -> tally_domain::command::Context {
    crate::support::ctx_at(T0)
}

#[test]
fn unapplied_credit_pays_a_later_invoice_and_applications_are_bounded() {
    let mut commands = world("1000.00");
    commands.push(order("B1", "b2b", 4, "50.00", "10.00", true));
    commands.extend(fulfil("B1"));
    // 300.00 received: 226.80 applied, 73.20 credit.
    commands.push(pay("ach-1", "300.00", &[("B1-inv-1", "226.80")]));
    // B2: 1 × 50.00, no shipping: 50.00 + 4.00 = 54.00.
    commands.push(order("B2", "b2b", 1, "50.00", "0.00", true));
    commands.extend(fulfil("B2"));
    let s = given(commands);
    assert_eq!(bal(&s.state, Account::AccountsReceivable), 5_400);
    assert_eq!(bal(&s.state, Account::CustomerDeposits), -7_320);
    // Over the invoice's open amount.
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(pay("x", "0.00", &[("B2-inv-1", "54.01")]))
        .then_rejects("EXCEEDS_OPEN_AMOUNT");
    // Unknown invoice, nothing at all, a paid invoice.
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(pay("x", "1.00", &[("B9-inv-1", "1.00")]))
        .then_rejects("UNKNOWN_INVOICE");
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(pay("x", "0.00", &[]))
        .then_rejects("INVALID_AMOUNT");
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(pay("x", "1.00", &[("B1-inv-1", "1.00")]))
        .then_rejects("UNKNOWN_INVOICE");
    // Zero cash, 54.00 drawn from the 73.20 credit: Dr 2100 / Cr 1300.
    let (events, state) = Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(pay("credit-1", "0.00", &[("B2-inv-1", "54.00")]))
        .then_types(&["finance.customer_payment_recorded", "journal.entry_posted"]);
    let Event::CustomerPaymentRecorded(p) = &events[0] else { unreachable!() };
    assert_eq!((p.credit_used.minor(), p.unapplied.minor()), (5_400, 0));
    assert_eq!(bal(&state, Account::AccountsReceivable), 0);
    assert_eq!(bal(&state, Account::CustomerDeposits), -1_920);
    assert_eq!(bal(&state, Account::Bank), 30_000);
}

#[test]
fn applications_above_payment_and_credit_are_refused() {
    let s = shipped_b2b("1000.00");
    // 100.00 paid, no credit: 100.01 cannot be applied.
    s.when(pay("ach-1", "100.00", &[("B1-inv-1", "100.01")])).then_rejects("EXCEEDS_OPEN_AMOUNT");
    let s = shipped_b2b("1000.00");
    s.when(cmd(json!({"type": "record_customer_payment", "payment": "p", "customer": "NOPE",
        "amount": usd("1.00")})))
        .then_rejects("UNKNOWN_CUSTOMER");
}

#[test]
fn an_order_over_the_credit_limit_is_held_and_a_payment_releases_it() {
    // Limit 300.00; open AR 226.80 after B1.
    let s = shipped_b2b("300.00");
    // B2: 1 × 50.00 → 54.00; 226.80 + 54.00 = 280.80 ≤ 300.00: not held.
    let (_, state) =
        s.when(order("B2", "b2b", 1, "50.00", "0.00", true)).then_types(&["order.received"]);
    // B3: 1 × 100.00 → 108.00; 226.80 + 108.00 = 334.80 > 300.00: held for credit.
    let (events, state) = Scenario { state, ctx: s_ctx() }
        .when(order("B3", "b2b", 1, "100.00", "0.00", true))
        .then_types(&["order.received", "order.held"]);
    let Event::OrderHeld(held) = &events[1] else { unreachable!() };
    assert_eq!(held.reason, HoldReason::Credit);
    assert_eq!(held.due_at.millis(), T0 + DAY_MS);
    assert!(held.note.contains("334.80"), "{}", held.note);
    assert_eq!(state.order(&oid("B3")).unwrap().hold.as_ref().unwrap().reason, HoldReason::Credit);
    // 30.00 paid: 196.80 + 108.00 = 304.80 > 300.00, still held.
    let (_, state) = Scenario { state, ctx: s_ctx() }
        .when(pay("ach-1", "30.00", &[("B1-inv-1", "30.00")]))
        .then_types(&["finance.customer_payment_recorded", "journal.entry_posted"]);
    // 20.00 more: 176.80 + 108.00 = 284.80 ≤ 300.00, released.
    let (_, state) = Scenario { state, ctx: s_ctx() }
        .when(pay("ach-2", "20.00", &[("B1-inv-1", "20.00")]))
        .then_types(&[
            "finance.customer_payment_recorded",
            "journal.entry_posted",
            "order.hold_released",
        ]);
    assert!(state.order(&oid("B3")).unwrap().hold.is_none());
    // Orders need a known customer in their currency.
    let s = shipped_b2b("300.00");
    let mut v = serde_json::to_value(order("B4", "b2b", 1, "1.00", "0.00", true)).unwrap();
    v["customer"] = json!("NOPE");
    s.when(cmd(v)).then_rejects("UNKNOWN_CUSTOMER");
}

#[test]
fn customer_definitions_are_bounded() {
    let s = given(world("10.00"));
    let bad = |terms: u32, limit: &str, name: &str| {
        cmd(json!({"type": "define_customer", "customer": "X", "name": name, "currency": "USD",
            "terms_days": terms, "credit_limit": usd(limit)}))
    };
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(bad(366, "1.00", "x"))
        .then_rejects("INVALID_INPUT");
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(bad(30, "-1.00", "x"))
        .then_rejects("INVALID_AMOUNT");
    Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(bad(30, "1.00", " "))
        .then_rejects("INVALID_INPUT");
    // The same definition again is a no-op.
    let (events, _) = Scenario { state: s.state.clone(), ctx: s_ctx() }
        .when(cmd(json!({"type": "define_customer", "customer": "ACME", "name": "Acme Clinics",
            "currency": "USD", "terms_days": 30, "credit_limit": usd("10.00")})))
        .then_types(&[]);
    assert!(events.is_empty());
}

/// M1 on `channel`: 2 × 50.00, no shipping, 8 %.
fn shipped_marketplace(channel: &str) -> Scenario {
    let mut commands = world("0.00");
    commands.push(order("M1", channel, 2, "50.00", "0.00", false));
    commands.extend(fulfil("M1"));
    given(commands)
}

fn settle(s: Scenario, lines: &[(&str, &str)], payout: &str) -> State {
    let mut s = s.and(cmd(json!({"type": "open_settlement", "settlement": "S1",
        "channel": "amzf", "currency": "USD", "period_start": "2026-03-01",
        "period_end": "2026-03-07"})));
    for (kind, amount) in lines {
        s = s.and(cmd(json!({"type": "record_settlement_line", "settlement": "S1",
            "kind": kind, "amount": usd(amount), "order": "M1", "description": kind})));
    }
    s.and(cmd(json!({"type": "settle_payout", "settlement": "S1", "amount": usd(payout),
        "deposit_date": "2026-03-09"})))
        .state
}

#[test]
fn facilitator_tax_never_touches_2200_and_the_pair_nets_to_zero_in_1150() {
    let s = shipped_marketplace("amzf");
    // The marketplace collects the 8.00 tax: the seller invoices 100.00 to 1150, no 2200.
    assert_eq!(bal(&s.state, Account::MarketplaceClearing), 10_000);
    assert_eq!(bal(&s.state, Account::SalesTaxPayable), 0);
    assert_eq!(bal(&s.state, Account::CustomerDeposits), 0);
    assert_eq!(bal(&s.state, Account::ProductRevenue), -10_000);
    // Principal 100.00, tax charged 8.00 and withheld −8.00, commission −15.00: net 85.00.
    let state = settle(
        s,
        &[
            ("principal", "100.00"),
            ("facilitator_tax", "8.00"),
            ("facilitator_tax", "-8.00"),
            ("commission", "-15.00"),
        ],
        "85.00",
    );
    assert_eq!(bal(&state, Account::MarketplaceClearing), 0);
    assert_eq!(bal(&state, Account::SalesTaxPayable), 0);
    assert_eq!(bal(&state, Account::CustomerDeposits), 0);
    assert_eq!(bal(&state, Account::Bank), 8_500);
    assert_eq!(bal(&state, Account::MarketplaceCommissions), 1_500);
}

#[test]
fn a_marketplace_that_does_not_collect_tax_leaves_it_in_2200() {
    let s = shipped_marketplace("amz");
    // 100.00 + 8.00 owed by the marketplace; the seller remits the 8.00.
    assert_eq!(bal(&s.state, Account::MarketplaceClearing), 10_800);
    assert_eq!(bal(&s.state, Account::SalesTaxPayable), -800);
    assert_eq!(bal(&s.state, Account::CustomerDeposits), 0);
}

#[test]
fn marketplace_refunds_go_through_1150() {
    // Non-facilitator: 1 × 50.00 + 4.00 tax back: Dr 4500 50.00, Dr 2200 4.00, Cr 1150 54.00.
    let (events, state) = shipped_marketplace("amz")
        .when(refund("RF1", "M1", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { unreachable!() };
    assert_eq!((r.marketplace.minor(), r.processor.minor()), (5_400, 0));
    assert_eq!(bal(&state, Account::MarketplaceClearing), 10_800 - 5_400);
    assert_eq!(bal(&state, Account::SalesTaxPayable), -800 + 400);
    assert_eq!(bal(&state, Account::SalesReturns), 5_000);
    assert_eq!(bal(&state, Account::ProcessorClearing), 0);
    // Facilitator: 50.00 only, 2200 untouched.
    let (_, state) = shipped_marketplace("amzf")
        .when(refund("RF1", "M1", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    assert_eq!(bal(&state, Account::MarketplaceClearing), 10_000 - 5_000);
    assert_eq!(bal(&state, Account::SalesTaxPayable), 0);
    // Never more units than shipped: 2 shipped, 1 refunded.
    Scenario { state, ctx: s_ctx() }
        .when(refund("RF2", "M1", 2))
        .then_rejects("EXCEEDS_OUTSTANDING");
}

#[test]
fn processor_paid_refunds_go_through_1100_and_never_exceed_what_was_captured() {
    // W1: 3 × 0.30 at 8 %: 0.90 + 0.07 (0.072) = 0.97, captured in full.
    let mut commands = world("0.00");
    commands.push(order("W1", "web", 3, "0.30", "0.00", false));
    commands.push(cmd(json!({"type": "capture_payment", "order": "W1", "payment": "ch_1",
        "amount": usd("0.97")})));
    commands.extend(fulfil("W1"));
    let s = given(commands);
    assert_eq!(bal(&s.state, Account::CustomerDeposits), 0);
    assert_eq!(bal(&s.state, Account::AccountsReceivable), 0);
    assert_eq!(bal(&s.state, Account::ProcessorClearing), 97);
    // Unit by unit, each takes its share of the line (crate::pricing): tax 0.07 over 3 units
    // is 0.02, 0.03, 0.02 (round(7 × k / 3) − round(7 × (k − 1) / 3)): 0.32 + 0.33 = 0.65.
    let s = s.and(refund("RF1", "W1", 1)).and(refund("RF2", "W1", 1));
    assert_eq!(bal(&s.state, Account::ProcessorClearing), 97 - 65);
    // The third: 0.32; the three add up to the 0.97 charged, and 1100 is back to zero.
    let (_, state) = s
        .when(refund("RF3", "W1", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    assert_eq!(bal(&state, Account::ProcessorClearing), 0);

    // W2: 4 × 0.30 at 5 %: 1.20 + 0.06 = 1.26 captured. Per-unit rounding (0.015 → 0.02 each)
    // would refund 1.28 > 1.26; shares of the line refund 0.32 + 0.31 + 0.31 + 0.32 = 1.26.
    let mut commands = world("0.00");
    commands.push(cmd(json!({"type": "receive_order", "order": "W2", "channel": "web",
        "placed_at": "2026-03-01T08:00:00Z", "currency": "USD",
        "lines": [{"sku": "A", "qty": 4, "unit_price": usd("0.30")}],
        "shipping": usd("0.00"), "tax_rate": "0.05"})));
    commands.push(cmd(json!({"type": "capture_payment", "order": "W2", "payment": "ch_2",
        "amount": usd("1.26")})));
    commands.extend(fulfil("W2"));
    let s = given(commands)
        .and(refund("RF1", "W2", 1))
        .and(refund("RF2", "W2", 1))
        .and(refund("RF3", "W2", 1));
    assert_eq!(bal(&s.state, Account::ProcessorClearing), 126 - 94);
    // A source stating more money than the line has left is refused with both figures.
    let over = cmd(json!({"type": "issue_refund", "refund": "RF4", "order": "W2",
        "lines": [{"line": 0, "qty": 1, "amount": usd("0.31"), "tax": usd("0.02")}]}));
    let r = s.clone().when(over).then_rejects("INVALID_AMOUNT");
    assert!(r.to_string().contains("0.30 + tax 0.02 left"), "{r}");
    let (_, state) = s
        .when(refund("RF4", "W2", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    assert_eq!(bal(&state, Account::ProcessorClearing), 0);
}

#[test]
fn a_capture_after_shipment_pays_the_open_invoice_not_2100() {
    // W3: 1 × 50.00 at 8 % = 54.00, shipped before any capture: owed in 1300.
    let mut commands = world("0.00");
    commands.push(order("W3", "web", 1, "50.00", "0.00", false));
    commands.extend(fulfil("W3"));
    let s = given(commands);
    assert_eq!(bal(&s.state, Account::AccountsReceivable), 5_400);
    // 60.00 captured: 54.00 pays the invoice, 6.00 is a deposit (refundable).
    let (events, state) = s
        .when(cmd(json!({"type": "capture_payment", "order": "W3", "payment": "ch_3",
            "amount": usd("60.00")})))
        .then_types(&["finance.payment_captured", "journal.entry_posted"]);
    let Event::PaymentCaptured(p) = &events[0] else { unreachable!() };
    assert_eq!(p.applied.len(), 1);
    assert_eq!(bal(&state, Account::AccountsReceivable), 0);
    assert_eq!(bal(&state, Account::CustomerDeposits), -600);
    assert_eq!(bal(&state, Account::ProcessorClearing), 6_000);
}

#[test]
fn an_unpaid_b2b_invoice_is_refunded_by_a_credit_note_then_by_customer_credit() {
    // B1 226.80 open; refund 1 unit: 50.00 + 4.00 = 54.00 credit note against 1300.
    let (events, state) = shipped_b2b("1000.00")
        .when(refund("CN1", "B1", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { unreachable!() };
    assert_eq!(r.credit_notes.len(), 1);
    assert_eq!(r.credit_notes[0].amount.minor(), 5_400);
    assert_eq!(r.processor.minor(), 0);
    assert_eq!(bal(&state, Account::AccountsReceivable), 22_680 - 5_400);
    assert_eq!(bal(&state, Account::SalesTaxPayable), -1_680 + 400);
    assert_eq!(bal(&state, Account::ProcessorClearing), 0);
    assert_eq!(state.open_invoice(&inv("B1-inv-1")).unwrap().open_minor, 17_280);
    // The customer pays the 172.80 by bank; the next unit's 54.00 becomes its credit (2100).
    let s = Scenario { state, ctx: s_ctx() }.and(pay("ach-1", "172.80", &[("B1-inv-1", "172.80")]));
    let (events, state) = s
        .when(refund("CN2", "B1", 1))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { unreachable!() };
    assert_eq!((r.customer_credit.minor(), r.processor.minor()), (5_400, 0));
    assert!(r.credit_notes.is_empty());
    assert_eq!(bal(&state, Account::AccountsReceivable), 0);
    assert_eq!(bal(&state, Account::CustomerDeposits), -5_400);
    assert_eq!(state.customer(&cust("ACME")).unwrap().credit_minor, 5_400);
    assert_eq!(bal(&state, Account::ProcessorClearing), 0);
}
