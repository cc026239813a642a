//! The orders view: DOMAIN.md §8 backorder then fill, holds past their SLA, pagination.

use tally_domain::master::PriorityClass;
use tally_domain::order::{CancelReason, HoldReason, OrderStatus};
use tally_projections::orders::{backorders, exceptions, order, orders_by_status};

use crate::support::*;

#[test]
fn domain_scenario_backorder_then_filled() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(safety("WH1", "A", 2));
    l.run_all(order_flow("W1", "edi", T0, "A", 6));
    l.run_all(order_flow("D1", "web", T0 + 1, "A", 2));
    l.at(T0 + HOUR_MS);
    l.run_all(order_flow("D2", "web", T0 + 2, "A", 2));
    let r = l.reader("orders");
    let d2 = order(&r, "D2").unwrap().unwrap();
    assert_eq!(d2.status, OrderStatus::Fulfilling);
    assert_eq!(d2.released_at_ms, Some(T0 + HOUR_MS));
    assert_eq!((d2.lines[0].ordered, d2.lines[0].allocated, d2.lines[0].backordered), (2, 0, 2));
    let waiting = backorders(&r, T0 + 3 * HOUR_MS).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!((waiting[0].order.as_str(), waiting[0].qty), ("D2", 2));
    assert_eq!(waiting[0].age_ms, 2 * HOUR_MS);
    let w1 = order(&r, "W1").unwrap().unwrap();
    assert_eq!(w1.class, PriorityClass::Contract);
    assert_eq!(w1.lines[0].reservations.len(), 1);
    assert_eq!(w1.lines[0].reservations[0].reserved, 6);

    l.run(receive("WH1", "A", 20));
    let r = l.reader("orders");
    let d2 = order(&r, "D2").unwrap().unwrap();
    assert_eq!((d2.lines[0].allocated, d2.lines[0].backordered), (2, 0));
    assert_eq!(d2.lines[0].backordered_since_ms, None);
    assert!(backorders(&r, T0).unwrap().is_empty());

    l.run_all([pick("D2"), pack("D2"), ship("D2")]);
    l.run(cancel("D1", CancelReason::Customer));
    let r = l.reader("orders");
    let d2 = order(&r, "D2").unwrap().unwrap();
    assert_eq!(d2.status, OrderStatus::Shipped);
    assert_eq!((d2.lines[0].picked, d2.lines[0].packed, d2.lines[0].shipped), (2, 2, 2));
    assert!(d2.lines[0].reservations.is_empty());
    let d1 = order(&r, "D1").unwrap().unwrap();
    assert_eq!(
        (d1.status, d1.cancel_reason, d1.lines[0].cancelled),
        (OrderStatus::Cancelled, Some(CancelReason::Customer), 2)
    );
    let fulfilling = orders_by_status(&r, OrderStatus::Fulfilling, None, 10).unwrap();
    let ids: Vec<_> = fulfilling.items.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(ids, ["W1"]);
}

#[test]
fn holds_past_their_sla_are_exceptions() {
    let mut l = Ledger::new();
    l.run_all(world());
    for id in ["O1", "O2", "O3"] {
        l.run(place(id, "web", T0, &[("A", 1, 100)], 0, 0));
    }
    l.run(hold("O1", HoldReason::Fraud, T0 + 2 * HOUR_MS));
    l.run(hold("O2", HoldReason::Payment, T0 + HOUR_MS));
    l.run(hold("O3", HoldReason::Address, T0 + 5 * HOUR_MS));
    let r = l.reader("orders");
    assert!(exceptions(&r, T0 + HOUR_MS).unwrap().is_empty(), "due exactly now is not late");
    let late = exceptions(&r, T0 + 3 * HOUR_MS).unwrap();
    let ids: Vec<_> = late.iter().map(|e| (e.order.to_string(), e.overdue_ms)).collect();
    assert_eq!(ids, [("O2".to_owned(), 2 * HOUR_MS), ("O1".to_owned(), HOUR_MS)]);
    assert_eq!(late[0].hold.reason, HoldReason::Payment);

    l.at(T0 + 4 * HOUR_MS);
    l.run(release_hold("O2"));
    l.run(cancel("O1", CancelReason::Fraud));
    let r = l.reader("orders");
    assert!(exceptions(&r, T0 + 4 * HOUR_MS).unwrap().is_empty());
    let late: Vec<_> = exceptions(&r, T0 + 6 * HOUR_MS)
        .unwrap()
        .into_iter()
        .map(|e| e.order.to_string())
        .collect();
    assert_eq!(late, ["O3"]);
    let o2 = order(&r, "O2").unwrap().unwrap();
    assert_eq!(o2.holds[0].released_at_ms, Some(T0 + 4 * HOUR_MS));
}

#[test]
fn orders_by_status_pages_by_order_id() {
    let mut l = Ledger::new();
    l.run_all(world());
    for n in 0..7 {
        l.run(place(&format!("P{n}"), "web", T0, &[("A", 1, 100)], 0, 0));
    }
    let r = l.reader("orders");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = orders_by_status(&r, OrderStatus::Received, cursor.as_deref(), 3).unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|o| o.id.to_string()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|n| format!("P{n}")).collect::<Vec<_>>());
}
