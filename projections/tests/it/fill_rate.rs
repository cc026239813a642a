//! Fill rates: DOMAIN.md §8 (D2 backordered then filled), a customer cancellation before
//! release and a stockout cancellation.

use tally_domain::order::CancelReason;
use tally_domain::time::Timestamp;
use tally_projections::fill_rate::{FillCounts, Grouping, fill_rates};

use crate::support::*;

#[test]
fn first_time_and_final_with_cancellations() {
    let day = Timestamp::from_millis(T0).date().days();
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(safety("WH1", "A", 2));
    l.run_all(order_flow("W1", "edi", T0, "A", 6));
    l.run_all(order_flow("D1", "web", T0, "A", 2));
    l.run_all(order_flow("D2", "web", T0, "A", 2));
    l.run(receive("WH1", "A", 20));
    for id in ["W1", "D1", "D2"] {
        l.run_all([pick(id), pack(id), ship(id)]);
    }
    // Cancelled by the customer before release: out of the denominators.
    l.run(place("C1", "web", T0, &[("A", 1, 100)], 0, 0));
    l.run(cancel("C1", CancelReason::Customer));
    // Cancelled for stockout after being backordered: unfilled.
    l.run(place("S1", "web", T0, &[("A", 100, 100)], 0, 0));
    l.run_all([validate("S1"), allocate("S1")]);
    l.run(cancel("S1", CancelReason::Stockout));
    // Placed the next day: outside a one-day window.
    l.run_all(order_flow("N1", "web", T0 + DAY_MS, "A", 1));

    let r = l.reader("fill_rate");
    let rows = fill_rates(&r, Grouping::Channel, day, day).unwrap();
    let web = &rows.iter().find(|x| x.group == "web").unwrap().counts;
    // D1 (2 of 2 first and final), D2 (0 first, 2 final), S1 (100 ordered, 18 reserved first
    // but cancelled: unfilled).
    assert_eq!((web.orders, web.lines, web.units), (3, 3, 104));
    assert_eq!((web.first_orders, web.first_lines, web.first_units), (1, 1, 2));
    assert_eq!((web.final_orders, web.final_lines, web.final_units), (2, 2, 4));
    let edi = &rows.iter().find(|x| x.group == "edi").unwrap().counts;
    assert_eq!((edi.orders, edi.first_orders, edi.final_orders, edi.final_units), (1, 1, 1, 6));
    assert_eq!(FillCounts::bps(web.final_units, web.units), Some(384));

    let both_days = fill_rates(&r, Grouping::Channel, day, day + 1).unwrap();
    let web2 = &both_days.iter().find(|x| x.group == "web").unwrap().counts;
    assert_eq!((web2.orders, web2.first_orders), (4, 2));

    let by_location = fill_rates(&r, Grouping::Location, day, day).unwrap();
    let wh1 = &by_location.iter().find(|x| x.group == "WH1").unwrap().counts;
    assert_eq!((wh1.orders, wh1.final_orders), (4, 3));
    assert_eq!(wh1.units, 110);
}

/// An order amended before it ships (issue #15): the orders view shows the lines as they are
/// now (a removed line at 0 units keeps its number, an added line after it), and the fill
/// rate counts the units ordered now, not the removed line.
#[test]
fn an_amended_order_counts_as_amended() {
    use tally_domain::command::{AmendOrder, Command, OrderLineInput};
    let day = Timestamp::from_millis(T0).date().days();
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(place("E1", "web", T0, &[("A", 3, 5000)], 1000, 80_000));
    l.run_all([validate("E1"), allocate("E1")]);
    // The A line removed, 2 of A at another price added: line 1.
    l.run(Command::AmendOrder(AmendOrder {
        order: oid("E1"),
        revision: None,
        lines: vec![OrderLineInput::new(sku("A"), 2, usd(4500))],
        shipping: usd(1000),
        tax_rate: tally_domain::money::Rate::from_ppm(80_000).unwrap(),
        shipping_lines: Vec::new(),
        total_tax: None,
        total: None,
        ship_to: None,
    }));
    let view = tally_projections::orders::order(&l.reader("orders"), "E1").unwrap().unwrap();
    let lines: Vec<(u64, u64, u64)> =
        view.lines.iter().map(|x| (x.ordered, x.allocated, x.backordered)).collect();
    assert_eq!(lines, [(0, 0, 0), (2, 2, 0)]);
    l.run_all([pick("E1"), pack("E1"), ship("E1")]);
    let rows = fill_rates(&l.reader("fill_rate"), Grouping::Channel, day, day).unwrap();
    let web = &rows.iter().find(|x| x.group == "web").unwrap().counts;
    assert_eq!((web.orders, web.lines, web.units), (1, 1, 2));
    assert_eq!((web.final_orders, web.final_lines, web.final_units), (1, 1, 2));
}
