//! Lot traceability of a recalled lot: receipts, where it is, who received it.

use tally_domain::inventory::QuarantineReason;
use tally_projections::lots::trace;

use crate::support::*;

#[test]
fn recalled_lot_is_traced_to_customers_and_quarantine() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive_lot("WH1", "L", "L1", "2027-01-01", 6));
    l.run(receive_lot("WH2", "L", "L1", "2027-01-01", 4));
    l.run(receive_lot("WH1", "L", "L2", "2027-06-01", 10));
    l.run_all(order_flow("D1", "web", T0, "L", 4));
    l.run_all([pick("D1"), pack("D1"), ship("D1")]);
    l.run_all(order_flow("D2", "web", T0, "L", 1));
    l.at(T0 + DAY_MS);
    l.run(recall("L", "L1"));
    let r = l.reader("lots");
    let t = trace(&r, "L", "L1").unwrap().unwrap();
    assert_eq!(t.info.recalled_at_ms, Some(T0 + DAY_MS));
    assert_eq!(t.info.expiry, Some(date("2027-01-01")));
    assert_eq!(
        t.receipts.iter().map(|x| (x.location.to_string(), x.qty)).collect::<Vec<_>>(),
        [("WH1".to_owned(), 6), ("WH2".to_owned(), 4)]
    );
    assert_eq!(t.orders, [(oid("D1"), 4)]);
    assert_eq!(t.shipments[0].tracking, "1Z-D1");
    let wh1 = t.locations.iter().find(|x| x.location == "WH1").unwrap();
    // 6 received, 4 shipped, D2's reserved unit released and quarantined with the rest.
    assert_eq!((wh1.stock.shipped, wh1.stock.reserved, wh1.stock.available), (4, 0, 0));
    assert_eq!(wh1.stock.quarantined.get(&QuarantineReason::Recalled), Some(&2));
    let wh2 = t.locations.iter().find(|x| x.location == "WH2").unwrap();
    assert_eq!(wh2.stock.quarantined.get(&QuarantineReason::Recalled), Some(&4));
    assert!(trace(&r, "L", "nope").unwrap().is_none());
    let l2 = trace(&r, "L", "L2").unwrap().unwrap();
    assert!(l2.info.recalled_at_ms.is_none());
    assert_eq!(l2.locations[0].stock.reserved, 1, "D2 reallocated from L2");
}
