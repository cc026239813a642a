//! The inventory view on DOMAIN.md §8: states, on_hand and ATS per channel.

use tally_domain::Command;
use tally_domain::command::{ReceiveTransfer, ShipTransfer};
use tally_domain::ids::TransferId;
use tally_domain::inventory::QuarantineReason;
use tally_projections::inventory::{
    ReorderPoint, StockRow, ats, ats_by_channel, buckets, by_location, by_sku, reorder_point, stock,
};

use crate::support::*;

/// The day the tests' stories happen (T0's day): no lot of theirs is past removal.
fn today() -> tally_domain::time::Date {
    tally_domain::time::Timestamp::from_millis(T0).date()
}

#[test]
fn domain_scenario_states_and_ats() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(safety("WH1", "A", 2));
    let r = l.reader("inventory");
    assert_eq!(ats(&r, "A", Some("web"), today()).unwrap(), 8);
    assert_eq!(ats(&r, "A", Some("edi"), today()).unwrap(), 10);
    assert_eq!(ats(&r, "A", None, today()).unwrap(), 8);

    l.run_all(order_flow("W1", "edi", T0, "A", 6));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap();
    assert_eq!((s.total.stock.reserved, s.total.stock.available, s.total.on_hand), (6, 4, 10));
    assert_eq!(ats(&r, "A", Some("web"), today()).unwrap(), 2);

    l.run_all(order_flow("D1", "web", T0, "A", 2));
    let r = l.reader("inventory");
    assert_eq!(stock(&r, "WH1", "A").unwrap().total.stock.available, 2);
    assert_eq!(ats(&r, "A", Some("web"), today()).unwrap(), 0);

    l.run_all(order_flow("D2", "web", T0, "A", 2));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap().total;
    assert_eq!((s.stock.available, s.stock.reserved, s.on_hand), (2, 8, 10));
    assert_eq!(ats(&r, "A", Some("web"), today()).unwrap(), 0);

    l.run(receive("WH1", "A", 20));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap();
    assert_eq!((s.total.stock.reserved, s.total.stock.available, s.total.on_hand), (10, 20, 30));
    assert_eq!(s.lots.len(), 1);
    assert_eq!(s.lots[0].lot, None);
    assert_eq!(ats(&r, "A", Some("web"), today()).unwrap(), 18);
    let view = ats_by_channel(&r, "A", today()).unwrap();
    assert_eq!(view.network, 18);
    let channels: Vec<(&str, u64)> =
        view.channels.iter().map(|c| (c.channel.as_str(), c.ats)).collect();
    assert_eq!(channels, vec![("edi", 20), ("web", 18)]);
    assert_eq!(by_sku(&r, "A").unwrap().len(), 1);
    assert_eq!(by_location(&r, "WH1").unwrap()[0].on_hand, 30);
}

#[test]
fn fulfilment_quarantine_and_lots_move_between_states() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive_lot("WH1", "L", "L1", "2027-01-01", 5));
    l.run(receive_lot("WH1", "L", "L2", "2027-06-01", 5));
    l.run(receive("WH2", "A", 4));
    l.run_all(order_flow("D1", "web", T0, "L", 7));
    l.run(pick("D1"));
    l.run(pack("D1"));
    l.run(quarantine("WH2", "A", None, 1, QuarantineReason::Damaged));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "L").unwrap();
    assert_eq!(s.lots.len(), 2);
    assert_eq!(s.lots[0].lot.as_deref(), Some("L1"));
    assert_eq!((s.lots[0].stock.packed, s.lots[0].stock.available), (5, 0));
    assert_eq!((s.lots[1].stock.packed, s.lots[1].stock.available), (2, 3));
    assert_eq!(s.total.on_hand, 10);
    let a = stock(&r, "WH2", "A").unwrap().total;
    assert_eq!(a.stock.quarantined.get(&QuarantineReason::Damaged), Some(&1));
    assert_eq!(a.stock.quarantined_total(), 1);
    assert_eq!(a.on_hand, 4);

    l.run(ship("D1"));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "L").unwrap().total;
    assert_eq!((s.stock.packed, s.stock.shipped, s.on_hand), (0, 7, 3));
}

/// (reorder point, below it) of a row.
fn reorder_of(row: &StockRow) -> (Option<(u64, u64)>, bool) {
    (row.reorder_point.map(|p| (p.point, p.reorder_qty)), row.below_reorder_point)
}

#[test]
fn a_reorder_point_flags_its_location_and_sku_by_available_plus_in_transit() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive_lot("WH2", "L", "L1", "2027-01-01", 3));
    l.run(receive_lot("WH2", "L", "L2", "2027-06-01", 3));
    l.run(receive("WH1", "A", 10));
    l.run(receive("WH2", "A", 2));
    // Nothing set: no point, never below.
    let r = l.reader("inventory");
    assert_eq!(reorder_of(&stock(&r, "WH2", "L").unwrap().total), (None, false));
    assert_eq!(reorder_point(&r, "WH2", "L").unwrap(), None);

    // L at WH2: 6 units over two lots, point 6 → below; every lot row says so too.
    l.run(reorder("WH2", "L", 6, 12));
    let r = l.reader("inventory");
    assert_eq!(
        reorder_point(&r, "WH2", "L").unwrap(),
        Some(ReorderPoint { point: 6, reorder_qty: 12 })
    );
    let s = stock(&r, "WH2", "L").unwrap();
    assert_eq!(reorder_of(&s.total), (Some((6, 12)), true));
    assert_eq!(s.lots.len(), 2);
    assert!(s.lots.iter().all(|row| reorder_of(row) == (Some((6, 12)), true)), "lot rows");
    let levels = buckets(&r, Some("WH2"), None).unwrap();
    let flags: Vec<_> = levels
        .iter()
        .map(|row| (row.sku.as_str(), row.lot.as_deref(), row.below_reorder_point))
        .collect();
    assert_eq!(flags, [("A", None, false), ("L", Some("L1"), true), ("L", Some("L2"), true)]);
    let at_wh2 = by_location(&r, "WH2").unwrap();
    assert_eq!(
        at_wh2.iter().map(reorder_of).collect::<Vec<_>>(),
        [(None, false), (Some((6, 12)), true)]
    );

    // A at WH2: point 5, 2 available; 4 more in transit from WH1 → 6 > 5, not below.
    l.run(reorder("WH2", "A", 5, 20));
    let r = l.reader("inventory");
    let a = by_sku(&r, "A").unwrap();
    assert_eq!(
        a.iter().map(reorder_of).collect::<Vec<_>>(),
        [(None, false), (Some((5, 20)), true)]
    );
    l.run(Command::ShipTransfer(ShipTransfer {
        transfer: TransferId::parse("T1").unwrap(),
        from: loc("WH1"),
        to: loc("WH2"),
        sku: sku("A"),
        lot: None,
        qty: 4,
    }));
    let r = l.reader("inventory");
    let wh2 = stock(&r, "WH2", "A").unwrap().total;
    assert_eq!((wh2.stock.available, wh2.stock.in_transit), (2, 4));
    assert_eq!(reorder_of(&wh2), (Some((5, 20)), false));
    l.run(Command::ReceiveTransfer(ReceiveTransfer {
        transfer: TransferId::parse("T1").unwrap(),
        qty: 4,
    }));
    // Two units are quarantined: 4 available → below again.
    l.run(quarantine("WH2", "A", None, 2, QuarantineReason::Damaged));
    let r = l.reader("inventory");
    let wh2 = stock(&r, "WH2", "A").unwrap().total;
    assert_eq!(wh2.stock.available, 4);
    assert_eq!(reorder_of(&wh2), (Some((5, 20)), true));

    // Cleared: no point, not below.
    l.run(reorder("WH2", "A", 0, 0));
    let r = l.reader("inventory");
    assert_eq!(reorder_of(&stock(&r, "WH2", "A").unwrap().total), (None, false));
    assert_eq!(reorder_point(&r, "WH2", "A").unwrap(), None);
}
