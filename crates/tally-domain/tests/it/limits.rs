//! The documented bounds of `tally_domain::limits`: quantities, amounts, running sums and text
//! past them are rejections, never wrapped numbers.

use tally_domain::command::*;
use tally_domain::event::{Event, InventoryReceived};
use tally_domain::ids::PaymentId;
use tally_domain::journal::{Account, Posting};
use tally_domain::limits::{
    AMOUNT_MINOR_MAX, BALANCE_MINOR_MAX, BUCKET_UNITS_MAX, QTY_MAX, TEXT_BYTES_MAX,
};
use tally_domain::money::{Currency, Money};
use tally_domain::quantity::Quantity;

use crate::support::*;

fn capture(payment: &str, minor: i64) -> Command {
    Command::CapturePayment(CapturePayment {
        order: oid("O1"),
        payment: PaymentId::parse(payment).unwrap(),
        amount: usd(minor),
        cumulative: false,
    })
}

fn qty(n: i64) -> i64 {
    n
}

#[test]
fn a_payment_past_the_amount_bound_is_refused_and_balances_never_wrap() {
    let s = world_and([place("O1", "web", &[("A", 2, 5000)], 1000, 80_000)]);
    // The reported case: a capture of i64::MAX minor units (92,233,720,368,547,758.07 USD).
    Scenario::given(s.clone()).when(capture("P1", i64::MAX)).then_rejects("INVALID_AMOUNT");
    Scenario::given(s.clone())
        .when(capture("P1", AMOUNT_MINOR_MAX + 1))
        .then_rejects("INVALID_AMOUNT");
    // Captures at the bound add up until a balance would pass BALANCE_MINOR_MAX.
    let mut scenario = Scenario::given(s);
    let fits = BALANCE_MINOR_MAX / AMOUNT_MINOR_MAX;
    for i in 0..fits {
        scenario = scenario.and(capture(&format!("P{i}"), AMOUNT_MINOR_MAX));
    }
    assert_eq!(
        scenario.state.balance(Account::ProcessorClearing, Currency::USD).minor(),
        BALANCE_MINOR_MAX
    );
    scenario.when(capture("PX", 1)).then_rejects("INVALID_AMOUNT");
}

#[test]
fn an_order_line_past_the_quantity_bound_is_refused() {
    let s = world();
    Scenario::given(s.clone())
        .when(place("O1", "web", &[("A", i64::MAX, 1)], 0, 0))
        .then_rejects("INVALID_QUANTITY");
    Scenario::given(s.clone())
        .when(place("O1", "web", &[("A", qty(1_000_000_001), 1)], 0, 0))
        .then_rejects("INVALID_QUANTITY");
    // Price × units past the amount bound is refused too.
    Scenario::given(s.clone())
        .when(place("O1", "web", &[("A", 1_000_000_000, 2_000_000)], 0, 0))
        .then_rejects("INVALID_AMOUNT");
    Scenario::given(s)
        .when(place("O1", "web", &[("A", i64::try_from(QTY_MAX).unwrap(), 1)], 0, 0))
        .then_types(&["order.received"]);
}

#[test]
fn receipts_past_the_quantity_or_bucket_bound_are_refused() {
    let s = world();
    // The reported case: receipts of 2^63−1, 2^63−1 and 2 units.
    Scenario::given(s.clone()).when(receive("WH1", "A", i64::MAX)).then_rejects("INVALID_QUANTITY");
    Scenario::given(s.clone())
        .when(receive("WH1", "A", i64::try_from(QTY_MAX).unwrap() + 1))
        .then_rejects("INVALID_QUANTITY");
    // A bucket at its bound takes no more units, from any direction.
    let mut full = Scenario::given(s);
    tally_domain::evolve(
        &mut full.state,
        &Event::InventoryReceived(InventoryReceived {
            key: key("WH1", "A", None),
            expiry: None,
            qty: Quantity::from_u64(BUCKET_UNITS_MAX).unwrap(),
            unit_cost: usd(0),
            from_incoming: 0,
        }),
        ctx_at(T0).now,
    );
    let state = full.state.clone();
    let again = |c: Command| Scenario { state: state.clone(), ctx: ctx_at(T0) }.when(c);
    again(receive("WH1", "A", 1)).then_rejects("INVALID_QUANTITY");
    again(Command::AdjustInventory(AdjustInventory {
        location: loc("WH1"),
        sku: sku("A"),
        lot: None,
        delta: 1,
        reason: tally_domain::inventory::AdjustReason::Found,
    }))
    .then_rejects("INVALID_QUANTITY");
    again(Command::AdjustInventory(AdjustInventory {
        location: loc("WH1"),
        sku: sku("A"),
        lot: None,
        delta: i64::MIN,
        reason: tally_domain::inventory::AdjustReason::Lost,
    }))
    .then_rejects("INVALID_QUANTITY");
}

#[test]
fn postings_past_the_bound_and_overlong_text_are_refused() {
    let s = world();
    let entry = |memo: String, minor: i64| {
        Command::PostJournalEntry(PostJournalEntry {
            memo,
            postings: vec![
                Posting { account: Account::Bank, amount: usd(minor) },
                Posting { account: Account::Bank, amount: usd(minor) },
                Posting {
                    account: Account::InventoryWriteOff,
                    amount: Money::from_minor(-minor, Currency::USD),
                },
                Posting {
                    account: Account::InventoryWriteOff,
                    amount: Money::from_minor(-minor, Currency::USD),
                },
            ],
        })
    };
    // Two postings of i64::MAX on one account used to overflow while being merged.
    Scenario::given(s.clone()).when(entry("m".into(), i64::MAX)).then_rejects("INVALID_AMOUNT");
    // Each at the bound, merged past it.
    Scenario::given(s.clone())
        .when(entry("m".into(), AMOUNT_MINOR_MAX))
        .then_rejects("INVALID_AMOUNT");
    Scenario::given(s.clone())
        .when(entry("m".into(), AMOUNT_MINOR_MAX / 2))
        .then_types(&["journal.entry_posted"]);
    Scenario::given(s).when(entry("m".repeat(TEXT_BYTES_MAX + 1), 1)).then_rejects("INVALID_INPUT");
}

/// Ranks and shelf-life margins have bounds (they are GraphQL `Int`s, 32-bit).
#[test]
fn ranks_and_shelf_life_margins_are_bounded() {
    use tally_domain::limits::{RANK_MAX, SHELF_LIFE_MARGIN_DAYS_MAX};
    Scenario::given(world())
        .when(define_location("WH9", RANK_MAX, &["web"]))
        .then_types(&["location.defined"]);
    Scenario::given(world())
        .when(define_location("WH9", RANK_MAX + 1, &["web"]))
        .then_rejects("INVALID_INPUT");
    Scenario::given([])
        .when(define_sku("B", true, SHELF_LIFE_MARGIN_DAYS_MAX, 100))
        .then_types(&["sku.defined"]);
    Scenario::given([])
        .when(define_sku("B", true, SHELF_LIFE_MARGIN_DAYS_MAX + 1, 100))
        .then_rejects("INVALID_INPUT");
}
