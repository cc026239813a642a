//! KPIs: order release time gross and net of holds, return cycle times (customer and
//! operations views), inventory record accuracy with class tolerances and without netting.

use std::sync::Arc;

use tally_domain::Command;
use tally_domain::command::{ReturnItemInput, ReturnRef};
use tally_domain::ids::ReturnId;
use tally_domain::master::{AbcClass, CountTolerance};
use tally_domain::order::{CancelReason, HoldReason};
use tally_domain::returns::Disposition;
use tally_domain::time::Timestamp;
use tally_projections::kpis::{
    AccuracyRow, CycleSums, Kpis, ReleaseTimeRow, count_tolerances, record_accuracy, release_times,
    return_cycle_times,
};
use tally_projections::orders::order;

use crate::support::*;

const MIN_MS: i64 = 60_000;

fn day(ms: i64) -> i32 {
    Timestamp::from_millis(ms).date().days()
}

fn row(channel: &str, day: i32, orders: u64, gross_ms_sum: i64, net_ms_sum: i64) -> ReleaseTimeRow {
    ReleaseTimeRow { channel: channel.to_owned(), day, orders, gross_ms_sum, net_ms_sum }
}

#[test]
fn release_time_gross_and_net_of_holds() {
    let d0 = day(T0);
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 50));
    // N1: no hold; received at T0, released 2 h later.
    l.run(place("N1", "web", T0, &[("A", 1, 100)], 0, 0));
    l.at(T0 + 30 * MIN_MS).run(validate("N1"));
    l.at(T0 + 2 * HOUR_MS).run(allocate("N1"));
    // H1: received at T0 + 10 min, held 70 min (payment, then replaced by a fraud hold that
    // is released), released 3 h after receipt: net 1 h 50 min.
    l.at(T0 + 10 * MIN_MS).run(place("H1", "web", T0, &[("A", 1, 100)], 0, 0));
    l.at(T0 + 20 * MIN_MS).run(hold("H1", HoldReason::Payment, T0 + DAY_MS));
    l.at(T0 + 50 * MIN_MS).run(release_hold("H1"));
    l.at(T0 + 60 * MIN_MS).run(hold("H1", HoldReason::Fraud, T0 + DAY_MS));
    l.at(T0 + 100 * MIN_MS).run(release_hold("H1"));
    l.at(T0 + 150 * MIN_MS).run(validate("H1"));
    l.at(T0 + 190 * MIN_MS).run(allocate("H1"));
    // A hold after release changes nothing.
    l.at(T0 + 200 * MIN_MS).run(hold("H1", HoldReason::Manual, T0 + DAY_MS));
    l.at(T0 + 300 * MIN_MS).run(release_hold("H1"));
    // B1 (edi): released by a backorder alone, 45 min after receipt.
    l.at(T0 + 5 * HOUR_MS).run(place("B1", "edi", T0, &[("A", 500, 100)], 0, 0));
    l.run(validate("B1"));
    l.at(T0 + 5 * HOUR_MS + 45 * MIN_MS).run(allocate("B1"));
    // C1: cancelled by the customer before release: never counts.
    l.run(place("C1", "web", T0, &[("A", 1, 100)], 0, 0));
    l.run(cancel("C1", CancelReason::Customer));
    // P1: placed the next day, still waiting.
    l.run(place("P1", "web", T0 + DAY_MS, &[("A", 1, 100)], 0, 0));
    // N2: placed the next day, released 1 min after receipt.
    l.run(place("N2", "web", T0 + DAY_MS, &[("A", 1, 100)], 0, 0));
    l.run(validate("N2"));
    let t = l.now;
    l.at(t + MIN_MS).run(allocate("N2"));

    let r = l.reader("kpis");
    let h1_gross = 180 * MIN_MS;
    let h1_net = h1_gross - 70 * MIN_MS;
    assert_eq!(
        release_times(&r, None, d0, d0).unwrap(),
        [
            row("edi", d0, 1, 45 * MIN_MS, 45 * MIN_MS),
            row("web", d0, 2, 2 * HOUR_MS + h1_gross, 2 * HOUR_MS + h1_net)
        ]
    );
    assert_eq!(
        release_times(&r, Some("web"), d0, d0 + 1).unwrap(),
        [
            row("web", d0, 2, 2 * HOUR_MS + h1_gross, 2 * HOUR_MS + h1_net),
            row("web", d0 + 1, 1, MIN_MS, MIN_MS)
        ]
    );
    assert!(release_times(&r, Some("we"), d0, d0 + 1).unwrap().is_empty(), "whole channel ids");
    assert!(release_times(&r, None, d0 + 2, d0 + 9).unwrap().is_empty());

    // The same release policy as the orders view.
    let o = l.reader("orders");
    let mut gross = 0;
    for id in ["N1", "H1"] {
        let v = order(&o, id).unwrap().unwrap();
        gross += v.released_at_ms.unwrap() - v.received_at_ms;
    }
    assert_eq!(gross, 2 * HOUR_MS + h1_gross);
}

fn close_return(id: &str) -> Command {
    Command::CloseReturn(ReturnRef { return_id: ReturnId::parse(id).unwrap() })
}

fn receive_return_units(id: &str, qty: i64) -> Command {
    Command::ReceiveReturn(tally_domain::command::ReceiveReturn {
        return_id: ReturnId::parse(id).unwrap(),
        location: loc("WH1"),
        items: vec![ReturnItemInput { line: 0, lot: None, qty }],
    })
}

#[test]
fn return_cycle_times_customer_and_operations_views() {
    let d0 = day(T0);
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 50));
    for id in ["O1", "O2", "O3"] {
        l.run_all(order_flow(id, "web", T0, "A", 3));
        l.run_all([pick(id), pack(id), ship(id)]);
    }
    let t = T0 + HOUR_MS;
    // R1: 1 unit; authorised t, received t+1 d, inspected t+1 d+3 h, refunded t+2 d.
    l.at(t).run(authorize_return("R1", "O1", 0, 1));
    l.at(t + DAY_MS).run(receive_return("R1", "WH1", 0, None, 1));
    l.at(t + DAY_MS + 3 * HOUR_MS).run(inspect_return("R1", 0, None, 1, Disposition::Restock));
    l.at(t + 2 * DAY_MS).run(refund("F1", "O1", 0, 1));
    // R2: 2 units of O2, refunded before they come back (in two refunds); received in two
    // parcels and inspected in two goes.
    l.at(t).run(authorize_return("R2", "O2", 0, 2));
    l.at(t + 10 * MIN_MS).run(refund("F2a", "O2", 0, 1));
    l.at(t + 20 * MIN_MS).run(refund("F2b", "O2", 0, 1));
    l.at(t + DAY_MS).run(receive_return_units("R2", 1));
    l.at(t + DAY_MS + HOUR_MS).run(inspect_return("R2", 0, None, 1, Disposition::Scrap));
    l.at(t + DAY_MS + 2 * HOUR_MS).run(receive_return_units("R2", 1));
    l.at(t + DAY_MS + 4 * HOUR_MS).run(inspect_return("R2", 0, None, 1, Disposition::Quarantine));
    // R3: 2 units of O3 authorised, 1 comes back and is refunded; the return waits for its
    // second unit until it is closed, then needs refunds only for the unit received.
    l.at(t).run(authorize_return("R3", "O3", 0, 2));
    l.at(t + DAY_MS).run(receive_return_units("R3", 1));
    l.at(t + DAY_MS + 30 * MIN_MS).run(inspect_return("R3", 0, None, 1, Disposition::Restock));
    l.at(t + DAY_MS + 40 * MIN_MS).run(refund("F3", "O3", 0, 1));
    l.at(t + 3 * DAY_MS).run(close_return("R3"));
    // A refund of O3's remaining units with no return open: not a return refund.
    l.at(t + 3 * DAY_MS).run(refund("F4", "O3", 0, 2));

    let r = l.reader("kpis");
    let rows = return_cycle_times(&r, d0, d0 + 10).unwrap();
    let days: Vec<i32> = rows.iter().map(|x| x.day).collect();
    assert_eq!(days, [d0, d0 + 1, d0 + 2]);
    // Day 0: R2's customer cycle (authorised t, fully refunded t + 20 min).
    assert_eq!(
        rows[0].sums,
        CycleSums { customer_returns: 1, customer_ms_sum: 20 * MIN_MS, ..CycleSums::default() }
    );
    // Day 1: operations cycles of R1 (3 h), R2 (first receipt to last inspection, 4 h) and R3
    // (ended by the close at its last inspection, 30 min); R3's customer cycle, ended by the
    // close and counted on the day of its last matched refund (1 d 40 min).
    assert_eq!(
        rows[1].sums,
        CycleSums {
            customer_returns: 1,
            customer_ms_sum: DAY_MS + 40 * MIN_MS,
            operations_returns: 3,
            operations_ms_sum: 3 * HOUR_MS + 4 * HOUR_MS + 30 * MIN_MS,
        }
    );
    // Day 2: R1's customer cycle (2 d).
    assert_eq!(
        rows[2].sums,
        CycleSums { customer_returns: 1, customer_ms_sum: 2 * DAY_MS, ..CycleSums::default() }
    );
    assert_eq!(return_cycle_times(&r, d0 + 1, d0 + 1).unwrap(), rows[1..2]);
    // Finished returns are forgotten: only aggregates remain.
    assert!(r.scan(b"return\0").unwrap().is_empty());
    assert!(r.scan(b"refundable\0").unwrap().is_empty());
}

fn accuracy(location: &str, day: i32, counts: u64, within: u64) -> AccuracyRow {
    AccuracyRow { location: location.to_owned(), day, counts, within }
}

#[test]
fn record_accuracy_per_class_tolerance_without_netting() {
    let d0 = day(T0);
    let mut l = Ledger::with(vec![Arc::new(Kpis::new())]);
    l.run_all(world());
    l.run(count_tolerance(AbcClass::B, 1, None));
    l.run(count_tolerance(AbcClass::C, 0, Some("0.05")));
    l.run(define_sku("B", false, 100, AbcClass::B));
    l.run(define_sku("C", false, 100, AbcClass::C));
    for s in ["A", "B", "C"] {
        l.run(receive("WH1", s, 100));
    }
    // A is class A: exact by default. +2 then −2: netted it would look accurate; it is not.
    l.run(cycle_count("WH1", "A", 102));
    l.run(cycle_count("WH1", "A", 100));
    l.run(cycle_count("WH1", "A", 100)); // exact: within
    // B: ±1 unit. +1 within, −2 outside, −1 within.
    l.run(cycle_count("WH1", "B", 101));
    l.run(cycle_count("WH1", "B", 99));
    l.run(cycle_count("WH1", "B", 98));
    // C: 5 %. 100 → 95 is exactly 5 % (within); 95 → 89 is 6.3 % (outside).
    l.run(cycle_count("WH1", "C", 95));
    l.run(cycle_count("WH1", "C", 89));
    // WH2 the next day: a count of nothing, exact.
    l.at(T0 + DAY_MS).run(cycle_count("WH2", "A", 0));

    let r = l.reader("kpis");
    assert_eq!(
        record_accuracy(&r, None, d0, d0 + 1).unwrap(),
        [accuracy("WH1", d0, 8, 4), accuracy("WH2", d0 + 1, 1, 1)]
    );
    assert_eq!(record_accuracy(&r, Some("WH1"), d0, d0 + 1).unwrap(), [accuracy("WH1", d0, 8, 4)]);
    assert!(record_accuracy(&r, Some("WH2"), d0, d0).unwrap().is_empty());
    assert!(record_accuracy(&r, Some("WH"), d0, d0 + 1).unwrap().is_empty(), "whole ids");

    // The default projection (as registered in `all()`) is exact for every class.
    let mut exact = Ledger::new();
    exact.run_all(world());
    exact.run(define_sku("B", false, 100, AbcClass::B));
    exact.run(receive("WH1", "B", 10));
    exact.run(cycle_count("WH1", "B", 11));
    let r = exact.reader("kpis");
    assert_eq!(record_accuracy(&r, None, d0, d0).unwrap(), [accuracy("WH1", d0, 1, 0)]);
}

/// A tolerance change judges the counts taken after it; counts already taken keep their
/// judgement, and a rebuild from the log reproduces both.
#[test]
fn a_tolerance_change_judges_later_counts_only() {
    let d0 = day(T0);
    let mut l = Ledger::with(vec![Arc::new(Kpis::new())]);
    l.run_all(world());
    l.run(receive("WH1", "A", 100));
    // Exact (default): 100 → 98 is off by 2, outside; 98 → 98 within.
    l.run(cycle_count("WH1", "A", 98));
    l.run(cycle_count("WH1", "A", 98));
    let r = l.reader("kpis");
    assert_eq!(record_accuracy(&r, None, d0, d0).unwrap(), [accuracy("WH1", d0, 2, 1)]);
    assert_eq!(count_tolerances(&r).unwrap()[0], (AbcClass::A, CountTolerance::EXACT));

    // A: 2 units or 10 %. 98 → 95 is 3 units, 3.06 % of 98: within; 95 → 80 is 15 units,
    // 15.8 %: outside; the first count (off by 2) stays outside.
    l.run(count_tolerance(AbcClass::A, 2, Some("0.10")));
    l.run(cycle_count("WH1", "A", 95));
    l.run(cycle_count("WH1", "A", 80));
    // Back to exact: 80 → 81 is outside again.
    l.run(count_tolerance(AbcClass::A, 0, None));
    l.run(cycle_count("WH1", "A", 81));
    let r = l.reader("kpis");
    assert_eq!(record_accuracy(&r, None, d0, d0).unwrap(), [accuracy("WH1", d0, 5, 2)]);
    assert_eq!(count_tolerances(&r).unwrap()[0], (AbcClass::A, CountTolerance::EXACT));
    // A rebuild from the log judges each count with the tolerance of its time again.
    l.store.rebuild("kpis", &l.log, &mut |_, _| {}).unwrap();
    let r = l.reader("kpis");
    assert_eq!(record_accuracy(&r, None, d0, d0).unwrap(), [accuracy("WH1", d0, 5, 2)]);
}
