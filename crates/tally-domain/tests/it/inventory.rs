//! Inventory: inbound, receipts, adjustments, cycle counts, transfers, quarantine, scrap, recall.

use tally_domain::command::*;
use tally_domain::event::{CycleCounted, Event, InventoryAdjusted};
use tally_domain::inventory::{AdjustReason, QuarantineReason};
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::time::Timestamp;

use crate::support::*;

fn adjust(l: &str, s: &str, lt: Option<&str>, delta: i64) -> Command {
    Command::AdjustInventory(AdjustInventory {
        location: loc(l),
        sku: sku(s),
        lot: lt.map(lot),
        delta,
        reason: AdjustReason::Found,
    })
}
fn count(l: &str, s: &str, counted: i64) -> Command {
    Command::CycleCount(CycleCount { location: loc(l), sku: sku(s), lot: None, counted })
}
fn transfer(id: &str, from: &str, to: &str, qty: i64) -> Command {
    Command::ShipTransfer(ShipTransfer {
        transfer: tally_domain::ids::TransferId::parse(id).unwrap(),
        from: loc(from),
        to: loc(to),
        sku: sku("A"),
        lot: None,
        qty,
    })
}
fn transfer_in(id: &str, qty: i64) -> Command {
    Command::ReceiveTransfer(ReceiveTransfer {
        transfer: tally_domain::ids::TransferId::parse(id).unwrap(),
        qty,
    })
}
fn quarantine(qty: i64, reason: QuarantineReason) -> Command {
    Command::QuarantineStock(QuarantineStock {
        location: loc("WH1"),
        sku: sku("A"),
        lot: None,
        qty,
        reason,
    })
}
fn release(qty: i64, reason: QuarantineReason) -> Command {
    Command::ReleaseQuarantine(ReleaseQuarantine {
        location: loc("WH1"),
        sku: sku("A"),
        lot: None,
        qty,
        reason,
    })
}
fn scrap(qty: i64, from: Option<QuarantineReason>) -> Command {
    Command::ScrapStock(ScrapStock { location: loc("WH1"), sku: sku("A"), lot: None, qty, from })
}

#[test]
fn expected_inbound_then_receipt_consumes_incoming() {
    let expect = Command::ExpectInbound(ExpectInbound {
        location: loc("WH1"),
        sku: sku("A"),
        qty: 10,
        eta: Timestamp::from_millis(T0),
    });
    let (_, state) =
        Scenario::given(world()).when(expect.clone()).then_types(&["inventory.inbound_expected"]);
    assert_eq!(state.stock(&key("WH1", "A", None)).incoming, 10);
    let (_, state) = Scenario::given(world_and([expect]))
        .when(receive("WH1", "A", 4))
        .then_types(&["inventory.received", "journal.entry_posted"]);
    let s = state.stock(&key("WH1", "A", None));
    assert_eq!((s.incoming, s.available), (6, 4));
    assert_eq!(state.balance(Account::Inventory, Currency::USD).minor(), 8_000);
    assert_eq!(state.balance(Account::GoodsReceivedNotInvoiced, Currency::USD).minor(), -8_000);
    Scenario::given(world())
        .when(Command::ExpectInbound(ExpectInbound {
            location: loc("WH1"),
            sku: sku("A"),
            qty: 0,
            eta: Timestamp::from_millis(T0),
        }))
        .then_rejects("INVALID_QUANTITY");
}

#[test]
fn receipt_rejections() {
    Scenario::given(world()).when(receive("NOPE", "A", 1)).then_rejects("UNKNOWN_LOCATION");
    Scenario::given(world()).when(receive("WH1", "NOPE", 1)).then_rejects("UNKNOWN_SKU");
    Scenario::given(world()).when(receive("WH1", "A", 0)).then_rejects("INVALID_QUANTITY");
    Scenario::given(world()).when(receive("WH1", "L", 1)).then_rejects("LOT_REQUIRED");
    Scenario::given(world())
        .when(receive_lot("WH1", "A", "X", "2027-01-01", 1))
        .then_rejects("LOT_NOT_TRACKED");
    Scenario::given(world_and([receive_lot("WH1", "L", "X", "2027-01-01", 1)]))
        .when(receive_lot("WH1", "L", "X", "2027-02-01", 1))
        .then_rejects("LOT_EXPIRY_CONFLICT");
}

/// Receiving a lot past its removal date, or a recalled one, is a physical fact: the units are
/// recorded (and valued) in `quarantined` with the reason, never refused and never available.
#[test]
fn expired_or_recalled_lots_are_received_into_quarantine() {
    let (_, state) = Scenario::given(world())
        .when(receive_lot("WH1", "L", "X", "2026-03-10", 3))
        .then_types(&["inventory.received", "journal.entry_posted", "inventory.quarantined"]);
    let s = state.stock(&key("WH1", "L", Some("X")));
    assert_eq!((s.available, s.on_hand()), (0, 3));
    assert_eq!(s.quarantined.get(&QuarantineReason::Expired), Some(&3));
    let (_, state) = Scenario::given(world_and([
        receive_lot("WH1", "L", "X", "2027-01-01", 1),
        Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("X") }),
    ]))
    .when(receive_lot("WH2", "L", "X", "2027-01-01", 2))
    .then_types(&["inventory.received", "journal.entry_posted", "inventory.quarantined"]);
    let s = state.stock(&key("WH2", "L", Some("X")));
    assert_eq!(s.available, 0);
    assert_eq!(s.quarantined.get(&QuarantineReason::Recalled), Some(&2));
}

/// Recalled stock never comes back to `available`: found units, a count above the record, a
/// transfer that arrives and a restocked return of a recalled lot all land in quarantine, and
/// releasing the recall quarantine is refused.
#[test]
fn recalled_stock_never_comes_back_to_available_by_any_path() {
    let recalled = || {
        world_and([
            receive_lot("WH1", "L", "X", "2027-01-01", 5),
            Command::ShipTransfer(ShipTransfer {
                transfer: tally_domain::ids::TransferId::parse("T1").unwrap(),
                from: loc("WH1"),
                to: loc("WH2"),
                sku: sku("L"),
                lot: Some(lot("X")),
                qty: 2,
            }),
            Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("X") }),
        ])
    };
    let quarantined = |state: &tally_domain::State, at: &str| {
        let s = state.stock(&key(at, "L", Some("X")));
        assert_eq!(s.available, 0, "nothing available at {at}: {s:?}");
        s.quarantined.get(&QuarantineReason::Recalled).copied().unwrap_or(0)
    };
    let found = Command::AdjustInventory(AdjustInventory {
        location: loc("WH1"),
        sku: sku("L"),
        lot: Some(lot("X")),
        delta: 2,
        reason: AdjustReason::Found,
    });
    let (_, state) = Scenario::given(recalled()).when(found).then_types(&[
        "inventory.adjusted",
        "journal.entry_posted",
        "inventory.quarantined",
    ]);
    assert_eq!(quarantined(&state, "WH1"), 5);
    let counted = Command::CycleCount(CycleCount {
        location: loc("WH1"),
        sku: sku("L"),
        lot: Some(lot("X")),
        counted: 4,
    });
    let (_, state) = Scenario::given(recalled()).when(counted).then_types(&[
        "inventory.cycle_counted",
        "inventory.adjusted",
        "journal.entry_posted",
        "inventory.quarantined",
    ]);
    assert_eq!(quarantined(&state, "WH1"), 4);
    let arrived = Command::ReceiveTransfer(ReceiveTransfer {
        transfer: tally_domain::ids::TransferId::parse("T1").unwrap(),
        qty: 2,
    });
    let (_, state) = Scenario::given(recalled())
        .when(arrived)
        .then_types(&["inventory.transfer_received", "inventory.quarantined"]);
    assert_eq!(quarantined(&state, "WH2"), 2);
    let release = Command::ReleaseQuarantine(ReleaseQuarantine {
        location: loc("WH1"),
        sku: sku("L"),
        lot: Some(lot("X")),
        qty: 1,
        reason: QuarantineReason::Recalled,
    });
    Scenario::given(recalled()).when(release).then_rejects("LOT_RECALLED");
}

#[test]
fn adjustments_up_and_down() {
    let s = world_and([receive("WH1", "A", 5)]);
    let state = Scenario::given(s.clone()).when(adjust("WH1", "A", None, -2)).then_events(&[
        Event::InventoryAdjusted(InventoryAdjusted {
            key: key("WH1", "A", None),
            delta: -2,
            reason: AdjustReason::Found,
        }),
        Event::JournalEntryPosted(tally_domain::journal::JournalEntry {
            entry: tally_domain::ids::JournalEntryId::parse("je-2").unwrap(),
            posted_at: Timestamp::from_millis(T0),
            reference: tally_domain::journal::JournalRef::Stock(key("WH1", "A", None)),
            memo: "adjustment".to_owned(),
            postings: vec![
                tally_domain::journal::Posting::debit(Account::InventoryWriteOff, usd(4000)),
                tally_domain::journal::Posting::credit(Account::Inventory, usd(4000)),
            ],
        }),
    ]);
    assert_eq!(state.available(&loc("WH1"), &sku("A")), 3);
    Scenario::given(s.clone())
        .when(adjust("WH1", "A", None, 3))
        .then_types(&["inventory.adjusted", "journal.entry_posted"]);
    Scenario::given(s.clone())
        .when(adjust("WH1", "A", None, -6))
        .then_rejects("INSUFFICIENT_STOCK");
    Scenario::given(s.clone()).when(adjust("WH1", "A", None, 0)).then_rejects("INVALID_QUANTITY");
    Scenario::given(s).when(adjust("WH1", "L", Some("NOPE"), 1)).then_rejects("UNKNOWN_LOT");
}

#[test]
fn cycle_count_records_and_adjusts_variance() {
    let s = world_and([receive("WH1", "A", 5)]);
    let (events, state) = Scenario::given(s.clone()).when(count("WH1", "A", 3)).then_types(&[
        "inventory.cycle_counted",
        "inventory.adjusted",
        "journal.entry_posted",
    ]);
    assert_eq!(
        events[0],
        Event::CycleCounted(CycleCounted { key: key("WH1", "A", None), expected: 5, counted: 3 })
    );
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 3);
    Scenario::given(s.clone()).when(count("WH1", "A", 5)).then_types(&["inventory.cycle_counted"]);
    Scenario::given(s.clone()).when(count("WH1", "A", -1)).then_rejects("INVALID_QUANTITY");
    // Five reserved: a count of 2 is a fact. Three reservations are given back and leave
    // with the adjustment; the line waits for 3 (WH2 has none).
    let (events, state) = Scenario::given(s)
        .and(place("O1", "edi", &[("A", 5, 100)], 0, 0))
        .and(validate("O1"))
        .and(allocate("O1"))
        .when(count("WH1", "A", 2))
        .then_types(&[
            "inventory.cycle_counted",
            "order.reservation_released",
            "inventory.adjusted",
            "journal.entry_posted",
            "order.line_backordered",
        ]);
    let Event::InventoryAdjusted(adj) = &events[2] else { panic!() };
    assert_eq!(adj.delta, -3);
    let st = state.stock(&key("WH1", "A", None));
    assert_eq!((st.available, st.reserved, st.on_hand()), (0, 2, 2));
    assert_eq!(state.order(&oid("O1")).unwrap().lines[0].allocated, 2);
}

/// A shortfall beyond available and claims (units recorded in quarantine) is not guessed at:
/// the count is recorded, what can be assigned is adjusted, and a count task is raised.
#[test]
fn a_count_short_of_quarantined_units_raises_a_task() {
    let s = world_and([
        receive("WH1", "A", 5),
        Command::QuarantineStock(QuarantineStock {
            location: loc("WH1"),
            sku: sku("A"),
            lot: None,
            qty: 4,
            reason: QuarantineReason::Damaged,
        }),
    ]);
    let (events, state) = Scenario::given(s).when(count("WH1", "A", 2)).then_types(&[
        "inventory.cycle_counted",
        "inventory.adjusted",
        "journal.entry_posted",
        "exception.raised",
    ]);
    let Event::ExceptionRaised(x) = &events[3] else { panic!() };
    assert!(x.message.contains("2 unit(s) short beyond available"), "{}", x.message);
    let st = state.stock(&key("WH1", "A", None));
    assert_eq!((st.available, st.quarantined_total()), (0, 4));
}

#[test]
fn transfers_go_through_in_transit() {
    let s = world_and([receive("WH1", "A", 5)]);
    let (_, state) = Scenario::given(s.clone())
        .when(transfer("T1", "WH1", "WH2", 4))
        .then_types(&["inventory.transfer_shipped"]);
    assert_eq!(state.stock(&key("WH2", "A", None)).in_transit, 4);
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 1);
    let (_, state) = Scenario::given(s.clone())
        .and(transfer("T1", "WH1", "WH2", 4))
        .when(transfer_in("T1", 3))
        .then_types(&["inventory.transfer_received"]);
    assert_eq!(state.stock(&key("WH2", "A", None)).in_transit, 1);
    assert_eq!(state.available(&loc("WH2"), &sku("A")), 3);
    Scenario::given(s.clone())
        .and(transfer("T1", "WH1", "WH2", 4))
        .when(transfer_in("T1", 5))
        .then_rejects("EXCEEDS_OUTSTANDING");
    Scenario::given(s.clone())
        .and(transfer("T1", "WH1", "WH2", 4))
        .when(transfer("T1", "WH1", "WH2", 1))
        .then_rejects("DUPLICATE_ID");
    Scenario::given(s.clone()).when(transfer_in("T9", 1)).then_rejects("UNKNOWN_TRANSFER");
    Scenario::given(s.clone())
        .when(transfer("T1", "WH1", "WH2", 6))
        .then_rejects("INSUFFICIENT_STOCK");
    Scenario::given(s.clone()).when(transfer("T1", "WH1", "WH1", 1)).then_rejects("INVALID_INPUT");
    Scenario::given(s).when(transfer("T1", "WH1", "NOPE", 1)).then_rejects("UNKNOWN_LOCATION");
}

#[test]
fn transfer_receipt_fills_backorders() {
    let s = world_and([
        receive("WH2", "A", 5),
        place("O1", "edi", &[("A", 3, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        transfer("T1", "WH2", "WH1", 5),
    ]);
    let (_, state) = Scenario::given(s)
        .when(transfer_in("T1", 5))
        .then_types(&["inventory.transfer_received", "order.line_allocated"]);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 3);
}

#[test]
fn quarantine_release_and_scrap() {
    let s = world_and([receive("WH1", "A", 5)]);
    let (_, state) = Scenario::given(s.clone())
        .when(quarantine(2, QuarantineReason::Damaged))
        .then_types(&["inventory.quarantined"]);
    let k = key("WH1", "A", None);
    assert_eq!(state.stock(&k).quarantined.get(&QuarantineReason::Damaged), Some(&2));
    assert_eq!(state.stock(&k).on_hand(), 5);
    let q = Scenario::given(s.clone()).and(quarantine(2, QuarantineReason::Damaged));
    let q2 = Scenario { state: q.state.clone(), ctx: q.ctx.clone() };
    q.when(release(2, QuarantineReason::Damaged)).then_types(&["inventory.quarantine_released"]);
    q2.when(release(1, QuarantineReason::QualityHold)).then_rejects("INSUFFICIENT_STOCK");
    Scenario::given(s.clone())
        .when(quarantine(6, QuarantineReason::Damaged))
        .then_rejects("INSUFFICIENT_STOCK");
    Scenario::given(s.clone())
        .when(quarantine(0, QuarantineReason::Damaged))
        .then_rejects("INVALID_QUANTITY");
    let (_, state) = Scenario::given(s.clone())
        .and(quarantine(2, QuarantineReason::Damaged))
        .when(scrap(2, Some(QuarantineReason::Damaged)))
        .then_types(&["inventory.scrapped", "journal.entry_posted"]);
    assert_eq!(state.stock(&k).on_hand(), 3);
    assert_eq!(state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 4_000);
    Scenario::given(s.clone())
        .when(scrap(1, None))
        .then_types(&["inventory.scrapped", "journal.entry_posted"]);
    Scenario::given(s.clone()).when(scrap(6, None)).then_rejects("INSUFFICIENT_STOCK");
    Scenario::given(s)
        .when(scrap(1, Some(QuarantineReason::Expired)))
        .then_rejects("INSUFFICIENT_STOCK");
}

#[test]
fn recall_quarantines_the_lot_everywhere_and_blocks_allocation() {
    let s = world_and([
        receive_lot("WH1", "L", "BAD", "2026-06-01", 3),
        receive_lot("WH2", "L", "BAD", "2026-06-01", 2),
        receive_lot("WH2", "L", "GOOD", "2026-09-01", 4),
    ]);
    let recall = Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("BAD") });
    let (_, state) = Scenario::given(s.clone()).when(recall.clone()).then_types(&[
        "lot.recalled",
        "inventory.quarantined",
        "inventory.quarantined",
    ]);
    assert_eq!(
        state.stock(&key("WH2", "L", Some("BAD"))).quarantined.get(&QuarantineReason::Recalled),
        Some(&2)
    );
    assert_eq!(state.ats(&ch("web"), &sku("L"), ctx_at(T0).now.date()), 4);
    Scenario::given(s.clone())
        .and(recall.clone())
        .when(recall.clone())
        .then_rejects("LOT_RECALLED");
    Scenario::given(s.clone())
        .and(recall)
        .when(Command::ReleaseQuarantine(ReleaseQuarantine {
            location: loc("WH1"),
            sku: sku("L"),
            lot: Some(lot("BAD")),
            qty: 1,
            reason: QuarantineReason::Recalled,
        }))
        .then_rejects("LOT_RECALLED");
    Scenario::given(s.clone())
        .when(Command::RecallLot(RecallLot { sku: sku("A"), lot: lot("BAD") }))
        .then_rejects("LOT_NOT_TRACKED");
    Scenario::given(s)
        .when(Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("NOPE") }))
        .then_rejects("UNKNOWN_LOT");
}

#[test]
fn receipt_fills_backorders_contract_first_then_oldest() {
    let mut later = place("W2", "web", &[("A", 2, 100)], 0, 0);
    if let Command::ReceiveOrder(o) = &mut later {
        o.placed_at = Timestamp::from_millis(T0 + 10);
    }
    let mut edi_late = place("E1", "edi", &[("A", 2, 100)], 0, 0);
    if let Command::ReceiveOrder(o) = &mut edi_late {
        o.placed_at = Timestamp::from_millis(T0 + 20);
    }
    let s = world_and([
        later,
        validate("W2"),
        allocate("W2"),
        place("W1", "web", &[("A", 2, 100)], 0, 0),
        validate("W1"),
        allocate("W1"),
        edi_late,
        validate("E1"),
        allocate("E1"),
    ]);
    let (events, _) = Scenario::given(s).when(receive("WH1", "A", 5)).then_types(&[
        "inventory.received",
        "journal.entry_posted",
        "order.line_allocated",
        "order.line_allocated",
        "order.line_allocated",
    ]);
    let order_of = |e: &Event| match e {
        Event::LineAllocated(a) => (a.order.to_string(), a.qty.get()),
        _ => unreachable!(),
    };
    assert_eq!(order_of(&events[2]), ("E1".to_owned(), 2));
    assert_eq!(order_of(&events[3]), ("W1".to_owned(), 2));
    assert_eq!(order_of(&events[4]), ("W2".to_owned(), 1));
}

#[test]
fn recall_releases_reservations_of_the_lot_and_reallocates() {
    let s = world_and([
        receive_lot("WH1", "L", "BAD", "2026-06-01", 3),
        receive_lot("WH1", "L", "GOOD", "2026-09-01", 1),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    let (events, state) = Scenario::given(s)
        .when(Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("BAD") }))
        .then_types(&[
            "lot.recalled",
            "order.reservation_released",
            "inventory.quarantined",
            "order.line_allocated",
            "order.line_backordered",
        ]);
    let Event::StockQuarantined(q) = &events[2] else { panic!() };
    assert_eq!(q.qty.get(), 3);
    let bad = state.stock(&key("WH1", "L", Some("BAD")));
    assert_eq!((bad.available, bad.reserved, bad.quarantined_total()), (0, 0, 3));
    assert_eq!(state.stock(&key("WH1", "L", Some("GOOD"))).reserved, 1);
    let line = &state.order(&oid("O1")).unwrap().lines[0];
    assert_eq!((line.allocated, line.unallocated()), (1, 1));
    assert_eq!(state.backorders().count(), 1);
}

#[test]
fn quarantine_release_positive_adjustment_and_count_fill_backorders() {
    let waiting = world_and([
        receive("WH1", "A", 2),
        quarantine(2, QuarantineReason::QualityHold),
        place("O1", "web", &[("A", 1, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    Scenario::given(waiting.clone())
        .when(release(2, QuarantineReason::QualityHold))
        .then_types(&["inventory.quarantine_released", "order.line_allocated"]);
    Scenario::given(waiting.clone()).when(adjust("WH1", "A", None, 1)).then_types(&[
        "inventory.adjusted",
        "journal.entry_posted",
        "order.line_allocated",
    ]);
    Scenario::given(waiting).when(count("WH1", "A", 3)).then_types(&[
        "inventory.cycle_counted",
        "inventory.adjusted",
        "journal.entry_posted",
        "order.line_allocated",
    ]);
}

fn snapshot(s: &str, counted: i64, as_of_ms: i64) -> Command {
    Command::ReconcileStock(ReconcileStock {
        location: loc("WH1"),
        sku: sku(s),
        lot: None,
        expiry: None,
        counted,
        as_of: Timestamp::from_millis(as_of_ms),
    })
}

fn tolerance(units: i64) -> Command {
    Command::SetCountTolerance(SetCountTolerance {
        class: tally_domain::master::AbcClass::A,
        units,
        fraction: None,
    })
}

const HOUR: i64 = 3_600_000;

#[test]
fn a_matching_snapshot_records_the_comparison_and_moves_nothing() {
    let (events, state) = Scenario::given(world_and([receive("WH1", "A", 10)]))
        .at(T0 + 2 * HOUR)
        .when(snapshot("A", 10, T0 + HOUR))
        .then_types(&["inventory.snapshot_reconciled"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.expected, e.counted, e.variance, e.within_tolerance), (10, 10, 0, true));
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 10);
}

#[test]
fn a_snapshot_variance_within_tolerance_is_adjusted_and_valued() {
    let (events, state) = Scenario::given(world_and([receive("WH1", "A", 10), tolerance(2)]))
        .at(T0 + 2 * HOUR)
        .when(snapshot("A", 8, T0 + HOUR))
        .then_types(&[
            "inventory.snapshot_reconciled",
            "inventory.adjusted",
            "journal.entry_posted",
        ]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.expected, e.counted, e.variance, e.within_tolerance), (10, 8, -2, true));
    let Event::InventoryAdjusted(a) = &events[1] else { panic!() };
    assert_eq!((a.delta, a.reason), (-2, AdjustReason::Snapshot));
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 8);
    // Two units at the 20.00 average are written off.
    assert_eq!(state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 4000);
    // A gain within tolerance lands and credits 5500.
    let (_, state) = Scenario::given(world_and([receive("WH1", "A", 10), tolerance(2)]))
        .when(snapshot("A", 11, T0))
        .then_types(&[
            "inventory.snapshot_reconciled",
            "inventory.adjusted",
            "journal.entry_posted",
        ]);
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 11);
    assert_eq!(state.balance(Account::InventoryWriteOff, Currency::USD).minor(), -2000);
}

#[test]
fn a_snapshot_variance_beyond_tolerance_raises_an_exception_and_never_overwrites() {
    let (events, state) = Scenario::given(world_and([receive("WH1", "A", 10), tolerance(2)]))
        .when(snapshot("A", 4, T0))
        .then_types(&["inventory.snapshot_reconciled", "exception.raised"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.variance, e.within_tolerance), (-6, false));
    let Event::ExceptionRaised(x) = &events[1] else { panic!() };
    assert_eq!(x.kind, tally_domain::event::ExceptionKind::SnapshotVariance);
    assert!(x.message.contains("variance -6"), "{}", x.message);
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 10);
}

#[test]
fn a_snapshot_short_of_claimed_units_is_raised_not_adjusted() {
    let mut history = world_and([receive("WH1", "A", 10), tolerance(5)]);
    history.extend(allocated_order("O1", "web", "A", 8));
    let (_, state) = Scenario::given(history)
        .when(snapshot("A", 6, T0))
        .then_types(&["inventory.snapshot_reconciled", "exception.raised"]);
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), 10);
}

#[test]
fn stale_future_unknown_and_negative_snapshots_are_refused() {
    let given = || Scenario::given(world_and([receive("WH1", "A", 10)]));
    given().at(T0 + 31 * 24 * HOUR).when(snapshot("A", 10, T0)).then_rejects("STALE_SNAPSHOT");
    given().when(snapshot("A", 10, T0 + 1)).then_rejects("STALE_SNAPSHOT");
    given().when(snapshot("NOPE", 10, T0)).then_rejects("UNKNOWN_SKU");
    given().when(snapshot("A", -1, T0)).then_rejects("INVALID_QUANTITY");
}

/// A partner's count is of the units there *at `as_of`*: it is compared with on-hand then,
/// not with on-hand when the file arrives (issue #15: a late file was turning every movement
/// since into a false variance).
#[test]
fn a_snapshot_is_compared_with_on_hand_at_its_as_of() {
    // 10 received at T0; 3 written off at T0 + 2 h; the file arrives at T0 + 5 h.
    let history = || {
        Scenario::given(world_and([receive("WH1", "A", 10), tolerance(2)]))
            .at(T0 + 2 * HOUR)
            .and(adjust("WH1", "A", None, -3))
            .at(T0 + 5 * HOUR)
    };
    // Counted 10 at T0 + 1 h: on-hand was 10 then; nothing to do.
    let (events, _) =
        history().when(snapshot("A", 10, T0 + HOUR)).then_types(&["inventory.snapshot_reconciled"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.expected, e.counted, e.variance), (10, 10, 0));
    // Counted 7 at T0 + 3 h: on-hand was 7 then (the same as now).
    let (events, _) = history()
        .when(snapshot("A", 7, T0 + 3 * HOUR))
        .then_types(&["inventory.snapshot_reconciled"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.expected, e.variance), (7, 0));
    // Counted 9 at T0 + 1 h: one unit was missing then; it is adjusted off today's on-hand.
    let (_, state) = history().when(snapshot("A", 9, T0 + HOUR)).then_types(&[
        "inventory.snapshot_reconciled",
        "inventory.adjusted",
        "journal.entry_posted",
    ]);
    assert_eq!(state.stock(&key("WH1", "A", None)).on_hand(), 6);
    // The adjustment is dated as of the count: the same count again (another file of that
    // moment) agrees, and a later count sees it.
    assert_eq!(
        state.on_hand_at(&key("WH1", "A", None), Timestamp::from_millis(T0 + HOUR)),
        Some(9)
    );
    let again = Scenario { state: state.clone(), ctx: ctx_at(T0 + 6 * HOUR) };
    let (events, _) =
        again.when(snapshot("A", 9, T0 + HOUR)).then_types(&["inventory.snapshot_reconciled"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!(e.variance, 0);
    assert_eq!(
        state.on_hand_at(&key("WH1", "A", None), Timestamp::from_millis(T0 + 3 * HOUR)),
        Some(6)
    );
}

/// The history behind it is kept for 30 days of business time per bucket, and pruned by event
/// time only (every replay keeps the same entries).
#[test]
fn on_hand_history_reaches_back_thirty_days() {
    const DAY: i64 = 24 * HOUR;
    let state = Scenario::given(world_and([receive("WH1", "A", 10)]))
        .at(T0 + 40 * DAY)
        .and(adjust("WH1", "A", None, -4))
        .state;
    let bucket = key("WH1", "A", None);
    // The receipt at T0 left the window (older than 30 days before the newest movement),
    // but every movement after T0 + 1 day is kept: on-hand at T0 + 20 days is known.
    assert_eq!(state.on_hand_at(&bucket, Timestamp::from_millis(T0 + 20 * DAY)), Some(10));
    assert_eq!(state.on_hand_at(&bucket, Timestamp::from_millis(T0)), Some(10));
    assert_eq!(state.on_hand_at(&bucket, Timestamp::from_millis(T0 - 1)), None);
    let at = |days: i64| Scenario { state: state.clone(), ctx: ctx_at(T0 + days * DAY) };
    at(41).when(snapshot("A", 10, T0 + 20 * DAY)).then_types(&["inventory.snapshot_reconciled"]);
    at(41).when(snapshot("A", 10, T0 + 10 * DAY)).then_rejects("STALE_SNAPSHOT");
}

#[test]
fn a_snapshot_disagreeing_on_expiry_is_raised_and_the_lot_keeps_its_own() {
    let given = world_and([receive_lot("WH1", "L", "L1", "2026-12-31", 10)]);
    let command = Command::ReconcileStock(ReconcileStock {
        location: loc("WH1"),
        sku: sku("L"),
        lot: Some(lot("L1")),
        expiry: Some(date("2027-01-31")),
        counted: 10,
        as_of: Timestamp::from_millis(T0),
    });
    let (events, state) = Scenario::given(given)
        .when(command)
        .then_types(&["inventory.snapshot_reconciled", "exception.raised"]);
    let Event::StockSnapshotReconciled(e) = &events[0] else { panic!() };
    assert_eq!((e.variance, e.expiry), (0, Some(date("2027-01-31"))));
    let Event::ExceptionRaised(x) = &events[1] else { panic!() };
    assert!(
        x.message.contains("expiry 2027-01-31") && x.message.contains("2026-12-31"),
        "{}",
        x.message
    );
    assert_eq!(state.lot(&sku("L"), &lot("L1")).unwrap().expiry, Some(date("2026-12-31")));
    // The event survives its encoding.
    let bytes = tally_domain::encode(&events[0]);
    let decoded =
        tally_domain::decode(events[0].event_type(), events[0].schema_version(), &bytes).unwrap();
    assert_eq!(decoded, events[0]);
}
