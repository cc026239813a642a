//! Order money (#15): line discounts (4200 contra revenue), several tax lines per line and for
//! shipping, tax-included prices with tax extracted half-even and remainders allocated to the
//! source's total, zero-decimal currencies, partial shipments and refunds that add up to the
//! order to the cent. Every figure is computed by hand in the comments, the way a Shopify order
//! states it (subtotal, discounts, shipping, tax, total).

use serde_json::{Value, json};
use tally_domain::command::Command;
use tally_domain::event::Event;
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::state::State;

use crate::support::Scenario;

fn cmd(v: Value) -> Command {
    serde_json::from_value(v).unwrap()
}

fn m(amount: &str, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

fn usd(amount: &str) -> Value {
    m(amount, "USD")
}

fn bal(state: &State, account: Account, currency: Currency) -> i64 {
    state.balance(account, currency).minor()
}

fn tax(title: &str, rate: &str, amount: Option<Value>) -> Value {
    match amount {
        Some(a) => json!({"title": title, "rate": rate, "amount": a}),
        None => json!({"title": title, "rate": rate}),
    }
}

/// Channel `web` in `currency`, one warehouse, SKUs A and B (cost 20.00 / ¥2000) with `a` and
/// 5 units on hand.
fn world(currency: &str, a: i64) -> Vec<Command> {
    let cost = if currency == "JPY" { "2000" } else { "20.00" };
    vec![
        cmd(json!({"type": "define_channel", "channel": "web", "priority": "standard",
            "kind": "direct", "currency": currency})),
        cmd(json!({"type": "define_location", "location": "WH1", "kind": "warehouse",
            "rank": 1, "channels": ["web"]})),
        cmd(json!({"type": "define_sku", "sku": "A", "lot_tracked": false,
            "unit_cost": m(cost, currency), "abc": "A"})),
        cmd(json!({"type": "define_sku", "sku": "B", "lot_tracked": false,
            "unit_cost": m(cost, currency), "abc": "A"})),
        cmd(json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": a})),
        cmd(json!({"type": "receive_inventory", "location": "WH1", "sku": "B", "qty": 5})),
    ]
}

fn steps(id: &str, steps: &[&str]) -> Vec<Command> {
    steps.iter().map(|t| cmd(json!({"type": t, "order": id}))).collect()
}

/// A Los Angeles order as Shopify states it (tax added to prices):
/// - line 0: 2 × 49.99 = 99.98, code SAVE10 allocates 10.00 → 89.98; CA state 7.25 % 6.52
///   (6.52355), LA county 1 % 0.90 (0.8998), city 1.25 % 1.12 (1.12475): 8.54;
/// - line 1: 1 × 15.00, 1.50 allocated → 13.50; 0.98 (0.97875) + 0.14 (0.135, half-even)
///   + 0.17 (0.16875): 1.29;
/// - shipping Standard 10.00: 0.72 (0.725, half-even) + 0.10 + 0.12 (0.125): 0.94.
///
/// Subtotal 114.98 − 11.50 = 103.48, shipping 10.00, tax 10.77, total 124.25.
fn la_order() -> Command {
    let taxes = |state: &str, county: &str, city: &str| {
        json!([
            tax("CA State Tax", "0.0725", Some(usd(state))),
            tax("Los Angeles County Tax", "0.01", Some(usd(county))),
            tax("Los Angeles City Tax", "0.0125", Some(usd(city)))
        ])
    };
    cmd(json!({"type": "receive_order", "order": "5531918336", "channel": "web",
        "placed_at": "2026-03-01T08:00:00Z", "currency": "USD", "number": "#1001",
        "lines": [
            {"sku": "A", "qty": 2, "unit_price": usd("49.99"), "discount": usd("10.00"),
             "tax_lines": taxes("6.52", "0.90", "1.12")},
            {"sku": "B", "qty": 1, "unit_price": usd("15.00"), "discount": usd("1.50"),
             "tax_lines": taxes("0.98", "0.14", "0.17")}],
        "shipping": usd("10.00"), "tax_rate": "0",
        "shipping_lines": [{"title": "Standard", "price": usd("10.00"),
            "tax_lines": taxes("0.72", "0.10", "0.12")}],
        "total_tax": usd("10.77"), "total": usd("124.25")}))
}

#[test]
fn a_discounted_order_with_three_jurisdictions_is_invoiced_to_the_cent_across_two_shipments() {
    // One A on hand: the first shipment takes 1 A and the B, the second the other A.
    let mut history = world("USD", 1);
    history.push(la_order());
    history.extend(steps("5531918336", &["validate_order", "allocate_order", "pick_order"]));
    history.extend(steps("5531918336", &["pack_order", "ship_order"]));
    let s = Scenario::given(history);
    // Invoice 1: line 0 half: 44.99 after discount (share of 89.98), discount 5.00, tax
    // 3.26 + 0.45 + 0.56 = 4.27; line 1: 13.50 + 1.29; shipping 10.00 + 0.94.
    // 44.99 + 4.27 + 13.50 + 1.29 + 10.00 + 0.94 = 74.99, owed in 1300.
    let usd_bal = |s: &State, a| bal(s, a, Currency::USD);
    assert_eq!(usd_bal(&s.state, Account::AccountsReceivable), 7_499);
    assert_eq!(usd_bal(&s.state, Account::ProductRevenue), -(4_999 + 1_500));
    assert_eq!(usd_bal(&s.state, Account::Discounts), 500 + 150);
    assert_eq!(usd_bal(&s.state, Account::ShippingRevenue), -1_000);
    assert_eq!(usd_bal(&s.state, Account::SalesTaxPayable), -(427 + 129 + 94));
    let order = s.state.order(&crate::support::oid("5531918336")).unwrap();
    assert_eq!(order.number.as_deref(), Some("#1001"));

    let mut rest =
        vec![cmd(json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1}))];
    rest.extend(steps("5531918336", &["pick_order", "pack_order"]));
    let s = rest.into_iter().fold(s, Scenario::and);
    let (events, state) =
        s.when(cmd(json!({"type": "ship_order", "order": "5531918336"}))).then_types(&[
            "order.shipped",
            "finance.invoice_issued",
            "journal.entry_posted",
            "journal.entry_posted",
        ]);
    let Event::InvoiceIssued(inv) = &events[1] else { unreachable!() };
    // Invoice 2: the other half of line 0, 44.99 + 4.27, no shipping.
    assert_eq!(inv.total.minor(), 4_926);
    assert_eq!(
        inv.lines[0].taxes.iter().map(|t| t.amount.minor()).collect::<Vec<_>>(),
        [326, 45, 56]
    );
    assert_eq!(inv.shipping.minor(), 0);
    // The two invoices reproduce Shopify's order: total 124.25, 4000 − 4200 = subtotal 103.48,
    // 4100 shipping 10.00, 2200 tax 10.77.
    let usd_bal = |a| bal(&state, a, Currency::USD);
    assert_eq!(usd_bal(Account::AccountsReceivable), 12_425);
    assert_eq!(usd_bal(Account::ProductRevenue), -11_498);
    assert_eq!(usd_bal(Account::Discounts), 1_150);
    assert_eq!(usd_bal(Account::ShippingRevenue), -1_000);
    assert_eq!(usd_bal(Account::SalesTaxPayable), -1_077);
}

#[test]
fn refunds_take_the_source_amounts_or_the_units_share_and_never_more_than_was_charged() {
    let mut history = world("USD", 2);
    history.push(la_order());
    history.push(cmd(json!({"type": "capture_payment", "order": "5531918336",
        "payment": "shopify-5531918336", "amount": usd("124.25")})));
    history.extend(steps(
        "5531918336",
        &["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"],
    ));
    let s = Scenario::given(history);
    assert_eq!(bal(&s.state, Account::ProcessorClearing, Currency::USD), 12_425);
    // Shopify's refund of one A: subtotal 44.99 (the discounted unit), total_tax 4.27.
    let (events, state) = s
        .when(cmd(json!({"type": "issue_refund", "refund": "shopify-r-1", "order": "5531918336",
            "lines": [{"line": 0, "qty": 1, "amount": usd("44.99"), "tax": usd("4.27")}]})))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { unreachable!() };
    assert_eq!((r.total.minor(), r.processor.minor()), (4_926, 4_926));
    assert_eq!(bal(&state, Account::SalesReturns, Currency::USD), 4_499);
    assert_eq!(bal(&state, Account::SalesTaxPayable, Currency::USD), -1_077 + 427);
    // The other A without amounts: its share, 44.99 + 4.27 again; the line is then spent.
    let s = Scenario { state, ctx: crate::support::ctx_at(crate::support::T0) };
    let over = cmd(json!({"type": "issue_refund", "refund": "shopify-r-2", "order": "5531918336",
        "lines": [{"line": 0, "qty": 1, "amount": usd("45.00")}]}));
    let r = s.clone().when(over).then_rejects("INVALID_AMOUNT");
    assert!(r.to_string().contains("44.99 + tax 4.27 left"), "{r}");
    let (_, state) = s
        .when(cmd(json!({"type": "issue_refund", "refund": "shopify-r-2", "order": "5531918336",
            "lines": [{"line": 0, "qty": 1}]})))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    assert_eq!(bal(&state, Account::SalesReturns, Currency::USD), 8_998);
    assert_eq!(bal(&state, Account::ProcessorClearing, Currency::USD), 12_425 - 9_852);
}

#[test]
fn tax_included_prices_are_extracted_half_even_and_the_remainder_goes_to_the_source_total() {
    // A Berlin order with VAT included: 3 × 19.99 = 59.97 at 19 %: 59.97 × 19 / 119 = 9.57504
    // → 9.58; 1 × 7.99 at 7 %: 0.52271 → 0.52; shipping 4.90 at 19 %: 0.78235 → 0.78.
    // Computed 10.88; the source states 10.87 (it rounds once per order): the cent comes off the
    // line rounded up the most (9.58 → 9.57).
    let mut history = world("EUR", 5);
    let order = |total_tax: &str| {
        cmd(json!({"type": "receive_order", "order": "DE-1", "channel": "web",
            "placed_at": "2026-03-01T08:00:00Z", "currency": "EUR", "taxes_included": true,
            "lines": [
                {"sku": "A", "qty": 3, "unit_price": m("19.99", "EUR"),
                 "tax_lines": [tax("DE MwSt", "0.19", None)]},
                {"sku": "B", "qty": 1, "unit_price": m("7.99", "EUR"),
                 "tax_lines": [tax("DE MwSt ermäßigt", "0.07", None)]}],
            "shipping": m("4.90", "EUR"), "tax_rate": "0.19",
            "total_tax": m(total_tax, "EUR"), "total": m("72.86", "EUR")}))
    };
    // Four cents off cannot come from three computed tax lines (a cent each at most): refused,
    // naming both sums.
    let r = Scenario::given(history.clone()).when(order("10.84")).then_rejects("INVALID_INPUT");
    assert!(r.to_string().contains("10.88") && r.to_string().contains("10.84"), "{r}");
    history.push(order("10.87"));
    history
        .extend(steps("DE-1", &["validate_order", "allocate_order", "pick_order", "pack_order"]));
    let (events, state) = Scenario::given(history)
        .when(cmd(json!({"type": "ship_order", "order": "DE-1"})))
        .then_types(&[
            "order.shipped",
            "finance.invoice_issued",
            "journal.entry_posted",
            "journal.entry_posted",
        ]);
    let Event::InvoiceIssued(inv) = &events[1] else { unreachable!() };
    let taxes: Vec<i64> = inv.lines.iter().map(|l| l.tax.minor()).collect();
    assert_eq!((taxes, inv.shipping_tax.minor()), (vec![957, 52], 78));
    // Total 72.86 as charged; 2200 = 10.87; revenue net of tax 50.40 + 7.47, shipping 4.12.
    let eur = |a| bal(&state, a, Currency::EUR);
    assert_eq!(inv.total.minor(), 7_286);
    assert_eq!(eur(Account::SalesTaxPayable), -1_087);
    assert_eq!(eur(Account::ProductRevenue), -(5_040 + 747));
    assert_eq!(eur(Account::ShippingRevenue), -412);
    assert_eq!(eur(Account::AccountsReceivable), 7_286);
}

#[test]
fn a_yen_order_has_no_minor_digits_and_matches_its_total() {
    // 2 × ¥1,980 = ¥3,960, code 10OFF ¥396 → ¥3,564; consumption tax 10 % added: ¥356
    // (356.4); shipping ¥550 + ¥55. Total ¥4,525.
    let mut history = world("JPY", 5);
    let order = |total: &str| {
        cmd(json!({"type": "receive_order", "order": "JP-1", "channel": "web",
            "placed_at": "2026-03-01T08:00:00Z", "currency": "JPY",
            "lines": [{"sku": "A", "qty": 2, "unit_price": m("1980", "JPY"),
                       "discount": m("396", "JPY")}],
            "shipping": m("550", "JPY"), "tax_rate": "0.1", "total": m(total, "JPY")}))
    };
    let r = Scenario::given(history.clone()).when(order("4526")).then_rejects("INVALID_INPUT");
    assert!(r.to_string().contains("adds up to 4525"), "{r}");
    history.push(order("4525"));
    history.extend(steps(
        "JP-1",
        &["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"],
    ));
    let s = Scenario::given(history);
    let jpy = |a| bal(&s.state, a, Currency::JPY);
    assert_eq!(jpy(Account::AccountsReceivable), 4_525);
    assert_eq!(jpy(Account::ProductRevenue), -3_960);
    assert_eq!(jpy(Account::Discounts), 396);
    assert_eq!(jpy(Account::SalesTaxPayable), -(356 + 55));
}

#[test]
fn discounts_and_tax_lines_beyond_their_line_are_refused() {
    let history = world("USD", 5);
    let line = |discount: &str, tax_amount: &str| {
        cmd(json!({"type": "receive_order", "order": "X1", "channel": "web",
            "placed_at": "2026-03-01T08:00:00Z", "currency": "USD",
            "lines": [{"sku": "A", "qty": 1, "unit_price": usd("10.00"),
                       "discount": usd(discount),
                       "tax_lines": [tax("State", "0.05", Some(usd(tax_amount)))]}],
            "shipping": usd("0.00"), "tax_rate": "0"}))
    };
    Scenario::given(history.clone()).when(line("10.01", "0.00")).then_rejects("INVALID_AMOUNT");
    Scenario::given(history.clone()).when(line("1.00", "9.01")).then_rejects("INVALID_AMOUNT");
    Scenario::given(history.clone()).when(line("1.00", "-0.01")).then_rejects("INVALID_AMOUNT");
    Scenario::given(history).when(line("1.00", "0.45")).then_types(&["order.received"]);
}

#[test]
fn shipping_is_refunded_with_the_lines_or_alone_and_never_beyond_what_was_invoiced() {
    let mut history = world("USD", 2);
    history.push(la_order());
    history.push(cmd(json!({"type": "capture_payment", "order": "5531918336",
        "payment": "shopify-5531918336", "amount": usd("124.25")})));
    history.extend(steps(
        "5531918336",
        &["validate_order", "allocate_order", "pick_order", "pack_order", "ship_order"],
    ));
    let s = Scenario::given(history);
    // Shipping was 10.00 + 0.94 tax. Refunding 10.00 + 0.95 is one cent too many.
    let too_much = cmd(json!({"type": "issue_refund", "refund": "r-s", "order": "5531918336",
        "lines": [], "shipping": usd("10.00"), "shipping_tax": usd("0.95")}));
    let r = s.clone().when(too_much).then_rejects("INVALID_AMOUNT");
    assert!(r.to_string().contains("10.00 + tax 0.94 left"), "{r}");
    // Shipping alone: Dr 4100 10.00, Dr 2200 0.94, Cr 1100 10.94.
    let (events, state) = s
        .when(cmd(json!({"type": "issue_refund", "refund": "r-s", "order": "5531918336",
            "lines": [], "shipping": usd("10.00"), "shipping_tax": usd("0.94")})))
        .then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { unreachable!() };
    assert_eq!((r.total.minor(), r.processor.minor()), (1_094, 1_094));
    assert_eq!(bal(&state, Account::ShippingRevenue, Currency::USD), 0);
    assert_eq!(bal(&state, Account::SalesTaxPayable, Currency::USD), -1_077 + 94);
    // Nothing of it is left to refund.
    Scenario { state, ctx: crate::support::ctx_at(crate::support::T0) }
        .when(cmd(json!({"type": "issue_refund", "refund": "r-s2", "order": "5531918336",
            "lines": [], "shipping": usd("0.01")})))
        .then_rejects("INVALID_AMOUNT");
}
