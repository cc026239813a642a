//! The inventory view on DOMAIN.md §8: states, on_hand and ATS per channel.

use tally_domain::inventory::QuarantineReason;
use tally_projections::inventory::{ats, ats_by_channel, by_location, by_sku, stock};

use crate::support::*;

#[test]
fn domain_scenario_states_and_ats() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(safety("WH1", "A", 2));
    let r = l.reader("inventory");
    assert_eq!(ats(&r, "A", Some("web")).unwrap(), 8);
    assert_eq!(ats(&r, "A", Some("edi")).unwrap(), 10);
    assert_eq!(ats(&r, "A", None).unwrap(), 8);

    l.run_all(order_flow("W1", "edi", T0, "A", 6));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap();
    assert_eq!((s.total.stock.reserved, s.total.stock.available, s.total.on_hand), (6, 4, 10));
    assert_eq!(ats(&r, "A", Some("web")).unwrap(), 2);

    l.run_all(order_flow("D1", "web", T0, "A", 2));
    let r = l.reader("inventory");
    assert_eq!(stock(&r, "WH1", "A").unwrap().total.stock.available, 2);
    assert_eq!(ats(&r, "A", Some("web")).unwrap(), 0);

    l.run_all(order_flow("D2", "web", T0, "A", 2));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap().total;
    assert_eq!((s.stock.available, s.stock.reserved, s.on_hand), (2, 8, 10));
    assert_eq!(ats(&r, "A", Some("web")).unwrap(), 0);

    l.run(receive("WH1", "A", 20));
    let r = l.reader("inventory");
    let s = stock(&r, "WH1", "A").unwrap();
    assert_eq!((s.total.stock.reserved, s.total.stock.available, s.total.on_hand), (10, 20, 30));
    assert_eq!(s.lots.len(), 1);
    assert_eq!(s.lots[0].lot, None);
    assert_eq!(ats(&r, "A", Some("web")).unwrap(), 18);
    let view = ats_by_channel(&r, "A").unwrap();
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
