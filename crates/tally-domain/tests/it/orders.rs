//! Orders: receive, validate, hold/release, allocate, pick, pack, ship, deliver, cancel,
//! substitute.

use tally_domain::command::*;
use tally_domain::event::{Event, LineAllocated, LineBackordered};
use tally_domain::inventory::AdjustReason;
use tally_domain::journal::Account;
use tally_domain::master::PriorityClass;
use tally_domain::money::Currency;
use tally_domain::order::{CancelReason, HoldReason, OrderStatus};
use tally_domain::quantity::Quantity;
use tally_domain::time::Timestamp;

use crate::support::*;

fn hold(id: &str) -> Command {
    Command::HoldOrder(HoldOrder {
        order: oid(id),
        reason: HoldReason::Fraud,
        due_at: Timestamp::from_millis(T0 + 3_600_000),
        note: "check".to_owned(),
    })
}

fn alloc(
    order: &str,
    line: u32,
    sku_id: &str,
    location: &str,
    lt: Option<&str>,
    qty: u64,
    fill: bool,
) -> Event {
    Event::LineAllocated(LineAllocated {
        order: oid(order),
        line,
        sku: sku(sku_id),
        location: loc(location),
        lot: lt.map(lot),
        qty: Quantity::from_u64(qty).unwrap(),
        backorder_fill: fill,
    })
}

fn backorder(order: &str, line: u32, sku_id: &str, qty: u64) -> Event {
    Event::LineBackordered(LineBackordered {
        order: oid(order),
        line,
        sku: sku(sku_id),
        qty: Quantity::from_u64(qty).unwrap(),
    })
}

#[test]
fn receive_order_and_its_rejections() {
    Scenario::given(world())
        .when(place("O1", "web", &[("A", 2, 5000)], 1000, 80_000))
        .then_types(&["order.received"]);
    Scenario::given(world())
        .when(place("O1", "nope", &[("A", 2, 5000)], 0, 0))
        .then_rejects("UNKNOWN_CHANNEL");
    Scenario::given(world())
        .when(place("O1", "web", &[("Z", 2, 5000)], 0, 0))
        .then_rejects("UNKNOWN_SKU");
    Scenario::given(world())
        .when(place("O1", "web", &[("A", 0, 5000)], 0, 0))
        .then_rejects("INVALID_QUANTITY");
    Scenario::given(world())
        .when(place("O1", "web", &[("A", -2, 5000)], 0, 0))
        .then_rejects("INVALID_QUANTITY");
    Scenario::given(world())
        .when(place("O1", "web", &[("A", 1, -1)], 0, 0))
        .then_rejects("INVALID_AMOUNT");
    Scenario::given(world()).when(place("O1", "web", &[], 0, 0)).then_rejects("INVALID_INPUT");
    let many = vec![("A", 1, 100); tally_domain::decide::ORDER_LINES_MAX + 1];
    Scenario::given(world()).when(place("O1", "web", &many, 0, 0)).then_rejects("INVALID_INPUT");
    let mut eur = place("O1", "web", &[("A", 1, 100)], 0, 0);
    if let Command::ReceiveOrder(o) = &mut eur {
        o.currency = Currency::EUR;
    }
    Scenario::given(world()).when(eur).then_rejects("CURRENCY_MISMATCH");
}

#[test]
fn duplicate_orders_are_idempotent_or_conflicts() {
    let first = place("O1", "web", &[("A", 2, 5000)], 1000, 80_000);
    Scenario::given(world_and([first.clone()])).when(first.clone()).then_events(&[]);
    let r = Scenario::given(world_and([first]))
        .when(place("O1", "web", &[("A", 3, 5000)], 1000, 80_000))
        .then_rejects("DUPLICATE_ORDER_CONFLICT");
    assert_eq!(r.to_string(), "order 'O1' already exists with different content");
    // Still detected once the order is closed (cancelled orders shrink to a digest).
    let placed = place("O2", "web", &[("A", 1, 5000)], 0, 0);
    let s = Scenario::given(world_and([
        placed.clone(),
        Command::CancelOrder(CancelOrder { order: oid("O2"), reason: CancelReason::Customer }),
    ]));
    assert!(s.state.order(&oid("O2")).is_none());
    assert!(s.state.closed_order(&oid("O2")).is_some());
    let s2 = Scenario { state: s.state.clone(), ctx: s.ctx.clone() };
    s.when(placed).then_events(&[]);
    s2.when(place("O2", "web", &[("A", 9, 5000)], 0, 0)).then_rejects("DUPLICATE_ORDER_CONFLICT");
}

#[test]
fn validate_once() {
    let s = world_and([place("O1", "web", &[("A", 1, 100)], 0, 0)]);
    Scenario::given(s.clone()).when(validate("O1")).then_types(&["order.validated"]);
    Scenario::given(s).and(validate("O1")).when(validate("O1")).then_rejects("INVALID_STATE");
    Scenario::given(world()).when(validate("NOPE")).then_rejects("UNKNOWN_ORDER");
}

#[test]
fn hold_and_release() {
    let s = world_and([place("O1", "web", &[("A", 1, 100)], 0, 0), validate("O1")]);
    let (_, state) = Scenario::given(s.clone()).when(hold("O1")).then_types(&["order.held"]);
    assert_eq!(state.overdue_holds(Timestamp::from_millis(T0 + 3_600_001)), vec![oid("O1")]);
    assert!(state.overdue_holds(Timestamp::from_millis(T0)).is_empty());
    Scenario::given(s.clone()).and(hold("O1")).when(hold("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).and(hold("O1")).when(allocate("O1")).then_rejects("ORDER_ON_HOLD");
    // Release allocates the validated order (DOMAIN §2); with no stock the line waits.
    Scenario::given(s.clone())
        .and(hold("O1"))
        .when(Command::ReleaseHold(oref("O1")))
        .then_types(&["order.hold_released", "order.line_backordered"]);
    Scenario::given(s).when(Command::ReleaseHold(oref("O1"))).then_rejects("INVALID_STATE");
    Scenario::given(world()).when(hold("NOPE")).then_rejects("UNKNOWN_ORDER");
}

#[test]
fn allocate_splits_across_locations_in_rank_order() {
    let s = world_and([
        receive("WH1", "A", 3),
        receive("WH2", "A", 5),
        place("O1", "web", &[("A", 6, 100)], 0, 0),
        validate("O1"),
    ]);
    let state = Scenario::given(s).when(allocate("O1")).then_events(&[
        alloc("O1", 0, "A", "WH1", None, 3, false),
        alloc("O1", 0, "A", "WH2", None, 3, false),
    ]);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 3);
    assert_eq!(state.available(&loc("WH2"), &sku("A")), 2);
    assert_eq!(state.order(&oid("O1")).unwrap().status, OrderStatus::Fulfilling);
}

#[test]
fn allocate_respects_safety_stock_for_standard_and_backorders_the_rest() {
    let s = world_and([
        receive("WH1", "A", 10),
        safety("WH1", "A", 2),
        place("O1", "web", &[("A", 10, 100)], 0, 0),
        validate("O1"),
    ]);
    Scenario::given(s)
        .when(allocate("O1"))
        .then_events(&[alloc("O1", 0, "A", "WH1", None, 8, false), backorder("O1", 0, "A", 2)]);
    let s = world_and([
        receive("WH1", "A", 10),
        safety("WH1", "A", 2),
        place("E1", "edi", &[("A", 10, 100)], 0, 0),
        validate("E1"),
    ]);
    Scenario::given(s)
        .when(allocate("E1"))
        .then_events(&[alloc("E1", 0, "A", "WH1", None, 10, false)]);
}

#[test]
fn allocate_only_validated_orders() {
    Scenario::given(world_and([place("O1", "web", &[("A", 1, 100)], 0, 0)]))
        .when(allocate("O1"))
        .then_rejects("INVALID_STATE");
    Scenario::given(world()).when(allocate("NOPE")).then_rejects("UNKNOWN_ORDER");
}

#[test]
fn allocate_fefo_skips_lots_past_removal_date() {
    // L has a 30-day shelf-life margin; now is 2026-03-01.
    let s = world_and([
        receive_lot("WH1", "L", "LATE", "2026-12-31", 5),
        receive_lot("WH1", "L", "EARLY", "2026-06-30", 2),
        receive_lot("WH1", "L", "SOON", "2026-03-20", 4),
    ]);
    // SOON is already past removal (2026-02-18): received, it goes straight to quarantine.
    Scenario::given(world()).when(receive_lot("WH1", "L", "SOON", "2026-03-20", 4)).then_types(&[
        "inventory.received",
        "journal.entry_posted",
        "inventory.quarantined",
    ]);
    let s = s
        .into_iter()
        .filter(|c| !matches!(c, Command::ReceiveInventory(r) if r.lot == Some(lot("SOON"))))
        .collect::<Vec<_>>();
    Scenario::given(s)
        .and(place("O1", "web", &[("L", 4, 100)], 0, 0))
        .and(validate("O1"))
        .when(allocate("O1"))
        .then_events(&[
            alloc("O1", 0, "L", "WH1", Some("EARLY"), 2, false),
            alloc("O1", 0, "L", "WH1", Some("LATE"), 2, false),
        ]);
    // A lot that was fine at receipt but is past removal at allocation time is skipped.
    let day = 86_400_000;
    Scenario::given(world_and([
        receive_lot("WH1", "L", "EARLY", "2026-06-30", 2),
        receive_lot("WH1", "L", "LATE", "2026-12-31", 5),
    ]))
    .and(place("O1", "web", &[("L", 3, 100)], 0, 0))
    .and(validate("O1"))
    .at(T0 + 100 * day)
    .when(allocate("O1"))
    .then_events(&[alloc("O1", 0, "L", "WH1", Some("LATE"), 3, false)]);
}

fn shipped_world() -> Vec<Command> {
    world_and([receive("WH1", "A", 5)].into_iter().chain(allocated_order("O1", "web", "A", 2)))
}

#[test]
fn pick_pack_ship_deliver() {
    let s = shipped_world();
    Scenario::given(s.clone()).when(pick("O1")).then_types(&["order.picked"]);
    Scenario::given(s.clone()).and(pick("O1")).when(pack("O1")).then_types(&["order.packed"]);
    let (_, state) =
        Scenario::given(s.clone()).and(pick("O1")).and(pack("O1")).when(ship("O1")).then_types(&[
            "order.shipped",
            "finance.invoice_issued",
            "journal.entry_posted",
            "journal.entry_posted",
        ]);
    let k = key("WH1", "A", None);
    assert_eq!(state.stock(&k).shipped, 2);
    assert_eq!(state.stock(&k).on_hand(), 3);
    assert_eq!(state.order(&oid("O1")).unwrap().status, OrderStatus::Shipped);
    let (_, state) =
        Scenario { state, ctx: ctx_at(T0) }.when(deliver("O1")).then_types(&["order.delivered"]);
    assert!(state.order(&oid("O1")).is_none());
}

#[test]
fn fulfilment_out_of_order_is_rejected() {
    let s = shipped_world();
    Scenario::given(s.clone()).when(ship("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).and(pick("O1")).when(ship("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).when(pack("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).and(pick("O1")).when(pick("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).when(deliver("O1")).then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).and(hold("O1")).when(pick("O1")).then_rejects("ORDER_ON_HOLD");
    Scenario::given(s.clone())
        .when(Command::PickOrder(FulfilOrder {
            order: oid("O1"),
            location: Some(loc("NOPE")),
            short: Vec::new(),
        }))
        .then_rejects("UNKNOWN_LOCATION");
    Scenario::given(s).when(pick("NOPE")).then_rejects("UNKNOWN_ORDER");
}

#[test]
fn ship_refuses_recalled_and_expired_lots() {
    let s = world_and([
        receive_lot("WH1", "L", "L1", "2026-06-30", 5),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
        pack("O1"),
    ]);
    // A recall pulls the packed units back (nothing of L1 is left to ship); no other lot, so
    // the line waits.
    let (events, state) = Scenario::given(s.clone())
        .when(Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("L1") }))
        .then_types(&[
            "lot.recalled",
            "order.reservation_released",
            "inventory.quarantined",
            "order.line_backordered",
        ]);
    let Event::ReservationReleased(r) = &events[1] else { panic!() };
    assert_eq!(r.from, tally_domain::inventory::Claim::Packed);
    assert_eq!(state.stock(&key("WH1", "L", Some("L1"))).quarantined_total(), 5);
    Scenario { state, ctx: ctx_at(T0) }.when(ship("O1")).then_rejects("INVALID_STATE");
    let day = 86_400_000;
    Scenario::given(s.clone()).at(T0 + 200 * day).when(ship("O1")).then_rejects("LOT_EXPIRED");
    let (events, _) = Scenario::given(s).when(ship("O1")).then_types(&[
        "order.shipped",
        "finance.invoice_issued",
        "journal.entry_posted",
        "journal.entry_posted",
    ]);
    let Event::OrderShipped(shipped) = &events[0] else { panic!() };
    assert_eq!(shipped.items[0].lot, Some(lot("L1")));
    assert_eq!(shipped.items[0].expiry, Some(date("2026-06-30")));
}

#[test]
fn cancel_releases_stock_and_fills_other_backorders() {
    let s = world_and([
        receive("WH1", "A", 3),
        place("O1", "web", &[("A", 3, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
        place("O2", "web", &[("A", 2, 100)], 0, 0),
        validate("O2"),
        allocate("O2"),
    ]);
    let (events, state) = Scenario::given(s)
        .when(Command::CancelOrder(CancelOrder {
            order: oid("O1"),
            reason: CancelReason::Stockout,
        }))
        .then_types(&["order.cancelled", "order.line_allocated"]);
    assert_eq!(events[1], alloc("O2", 0, "A", "WH1", None, 2, true));
    assert_eq!(state.available(&loc("WH1"), &sku("A")), 1);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 2);
    assert_eq!(state.stock(&key("WH1", "A", None)).picked, 0);
    assert_eq!(state.backorders().count(), 0);
}

#[test]
fn cancel_after_shipment_is_rejected() {
    let s = shipped_world();
    Scenario::given(s)
        .and(pick("O1"))
        .and(pack("O1"))
        .and(ship("O1"))
        .when(Command::CancelOrder(CancelOrder {
            order: oid("O1"),
            reason: CancelReason::Customer,
        }))
        .then_rejects("INVALID_STATE");
    Scenario::given(world())
        .when(Command::CancelOrder(CancelOrder { order: oid("X"), reason: CancelReason::Fraud }))
        .then_rejects("UNKNOWN_ORDER");
}

#[test]
fn substitute_a_backordered_line() {
    let s = world_and([
        receive("WH1", "B", 4),
        place("O1", "web", &[("A", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    let s = {
        let mut w = vec![define_sku("B", false, 0, 1500)];
        w.extend(s);
        w
    };
    let sub = |l: u32, to: &str| {
        Command::SubstituteLine(SubstituteLine { order: oid("O1"), line: l, sku: sku(to) })
    };
    let (_, state) = Scenario::given(s.clone())
        .when(sub(0, "B"))
        .then_types(&["order.line_substituted", "order.line_allocated"]);
    let line = &state.order(&oid("O1")).unwrap().lines[0];
    assert_eq!(
        (line.sku.as_str(), line.substituted_from.as_ref().map(|s| s.as_str())),
        ("B", Some("A"))
    );
    Scenario::given(s.clone()).when(sub(5, "B")).then_rejects("UNKNOWN_LINE");
    Scenario::given(s.clone()).when(sub(0, "Q")).then_rejects("UNKNOWN_SKU");
    Scenario::given(s).and(sub(0, "B")).when(sub(0, "A")).then_rejects("INVALID_STATE");
}

/// DOMAIN §7: a recall pulls picked units back from the order into quarantine and allocates
/// the line again from another lot (here L2, FEFO's next); a later cancel has nothing of the
/// recalled lot to give back.
#[test]
fn a_recall_pulls_back_picked_units_and_allocates_the_line_again() {
    let s = world_and([
        receive_lot("WH1", "L", "L1", "2026-09-01", 2),
        receive_lot("WH1", "L", "L2", "2026-12-01", 3),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
    ]);
    let (events, state) = Scenario::given(s)
        .when(Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("L1") }))
        .then_types(&[
            "lot.recalled",
            "order.reservation_released",
            "inventory.quarantined",
            "order.line_allocated",
        ]);
    let Event::ReservationReleased(r) = &events[1] else { panic!() };
    assert_eq!((r.from, r.qty.get()), (tally_domain::inventory::Claim::Picked, 2));
    let Event::LineAllocated(a) = &events[3] else { panic!() };
    assert_eq!((a.lot.clone(), a.qty.get()), (Some(lot("L2")), 2));
    let l1 = state.stock(&key("WH1", "L", Some("L1")));
    assert_eq!((l1.available, l1.picked, l1.quarantined_total()), (0, 0, 2));
    let l2 = state.stock(&key("WH1", "L", Some("L2")));
    assert_eq!((l2.available, l2.reserved), (1, 2));
    let order = state.order(&oid("O1")).unwrap();
    assert_eq!(order.lines[0].allocated, 2);
    let picked: u64 = order.allocations.values().map(|st| st.picked).sum();
    assert_eq!(picked, 0);
    Scenario::given(world_and([
        receive_lot("WH1", "L", "L1", "2026-09-01", 2),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
        Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("L1") }),
    ]))
    .when(Command::CancelOrder(CancelOrder { order: oid("O1"), reason: CancelReason::Customer }))
    .then_types(&["order.cancelled"]);
}

/// DOMAIN §2: holding an order releases its reserved (not yet picked) units, which a waiting
/// order may take at once; fills skip the held order; its release allocates it again.
#[test]
fn a_hold_gives_reservations_back_and_a_release_allocates() {
    let s = world_and([
        receive("WH1", "A", 4),
        place("O1", "web", &[("A", 4, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        place("O2", "web", &[("A", 3, 100)], 0, 0),
        validate("O2"),
        allocate("O2"),
    ]);
    let (events, state) = Scenario::given(s).when(hold("O1")).then_types(&[
        "order.held",
        "order.reservation_released",
        "order.line_allocated",
    ]);
    let Event::LineAllocated(a) = &events[2] else { panic!() };
    assert_eq!((a.order.as_str(), a.qty.get(), a.backorder_fill), ("O2", 3, true));
    assert_eq!(state.stock(&key("WH1", "A", None)).available, 1);
    assert_eq!(state.order(&oid("O1")).unwrap().lines[0].allocated, 0);
    // Stock arriving while O1 is held does not go to it.
    let (_, state) = Scenario { state, ctx: ctx_at(T0) }
        .when(receive("WH1", "A", 5))
        .then_types(&["inventory.received", "journal.entry_posted"]);
    assert_eq!(state.stock(&key("WH1", "A", None)).available, 6);
    // Its release allocates all 4.
    let (events, state) = Scenario { state, ctx: ctx_at(T0) }
        .when(Command::ReleaseHold(oref("O1")))
        .then_types(&["order.hold_released", "order.line_allocated"]);
    let Event::LineAllocated(a) = &events[1] else { panic!() };
    assert_eq!(a.qty.get(), 4);
    assert_eq!(state.stock(&key("WH1", "A", None)).available, 2);
}

/// DOMAIN §1: a short pick writes the missing units off (adjustment `short_pick`, 5500),
/// raises a cycle-count task, and allocates the shortfall again (here from WH2).
#[test]
fn a_short_pick_writes_off_raises_a_count_and_allocates_again() {
    let s = world_and([
        receive("WH1", "A", 3),
        receive("WH2", "A", 5),
        place("O1", "web", &[("A", 3, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    let short = |missing| {
        Command::PickOrder(FulfilOrder {
            order: oid("O1"),
            location: None,
            short: vec![ShortPick { line: 0, location: loc("WH1"), lot: None, missing }],
        })
    };
    let (events, state) = Scenario::given(s.clone()).when(short(2)).then_types(&[
        "order.picked",
        "order.reservation_released",
        "inventory.adjusted",
        "journal.entry_posted",
        "exception.raised",
        "order.line_allocated",
    ]);
    let Event::InventoryAdjusted(adj) = &events[2] else { panic!() };
    assert_eq!((adj.delta, adj.reason), (-2, AdjustReason::ShortPick));
    let Event::JournalEntryPosted(je) = &events[3] else { panic!() };
    // 2 × 20.00 standard cost written off.
    assert_eq!(je.postings[0].account, Account::InventoryWriteOff);
    assert_eq!(je.postings[0].amount.minor(), 4_000);
    let Event::ExceptionRaised(x) = &events[4] else { panic!() };
    assert_eq!(x.kind, tally_domain::event::ExceptionKind::CycleCountTask);
    assert_eq!(x.message, "count A at WH1: 2 unit(s) not found picking line 0 of order O1");
    let Event::LineAllocated(a) = &events[5] else { panic!() };
    assert_eq!((a.location.as_str(), a.qty.get()), ("WH2", 2));
    let wh1 = state.stock(&key("WH1", "A", None));
    assert_eq!((wh1.available, wh1.reserved, wh1.picked, wh1.on_hand()), (0, 0, 1, 1));
    assert_eq!(state.stock(&key("WH2", "A", None)).reserved, 2);
    assert_eq!(state.order(&oid("O1")).unwrap().lines[0].allocated, 3);
    // Everything short: nothing picked; more than reserved or elsewhere: refused.
    Scenario::given(s.clone()).when(short(3)).then_types(&[
        "order.reservation_released",
        "inventory.adjusted",
        "journal.entry_posted",
        "exception.raised",
        "order.line_allocated",
    ]);
    Scenario::given(s.clone()).when(short(4)).then_rejects("EXCEEDS_OUTSTANDING");
    Scenario::given(s.clone()).when(short(0)).then_rejects("INVALID_QUANTITY");
    Scenario::given(s)
        .when(Command::PickOrder(FulfilOrder {
            order: oid("O1"),
            location: None,
            short: vec![ShortPick { line: 0, location: loc("WH2"), lot: None, missing: 1 }],
        }))
        .then_rejects("INVALID_INPUT");
}

#[test]
fn stockout_cancel_of_a_partly_shipped_order_cancels_the_remainder() {
    let s = world_and([
        receive("WH1", "A", 2),
        receive("WH2", "A", 1),
        place("O1", "web", &[("A", 5, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        Command::PickOrder(FulfilOrder {
            order: oid("O1"),
            location: Some(loc("WH1")),
            short: Vec::new(),
        }),
        Command::PackOrder(FulfilOrder {
            order: oid("O1"),
            location: Some(loc("WH1")),
            short: Vec::new(),
        }),
        Command::ShipOrder(ShipOrder {
            order: oid("O1"),
            location: Some(loc("WH1")),
            carrier: String::new(),
            tracking: String::new(),
            serials: vec![],
        }),
    ]);
    let (_, state) = Scenario::given(s)
        .when(Command::CancelOrder(CancelOrder {
            order: oid("O1"),
            reason: CancelReason::Stockout,
        }))
        .then_types(&["order.remainder_cancelled"]);
    let order = state.order(&oid("O1")).unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(
        (order.lines[0].shipped, order.lines[0].cancelled, order.lines[0].unallocated()),
        (2, 3, 0)
    );
    assert_eq!(state.available(&loc("WH2"), &sku("A")), 1);
    assert_eq!(state.backorders().count(), 0);
    Scenario { state, ctx: ctx_at(T0) }.when(deliver("O1")).then_types(&["order.delivered"]);
}

/// Issue #14's oversell: a channel's class changed while it had a backordered line; the line
/// was filed twice (under the old and the new class) and one receipt filled it twice. Every
/// line must end with allocated ≤ ordered, and a class change re-files the line under the new
/// class (a `contract` line is filled first).
#[test]
fn a_class_change_with_a_backordered_line_never_fills_it_twice() {
    let upgraded = Scenario::given(world_and([
        place("O1", "web", &[("A", 5, 1000)], 0, 0),
        validate("O1"),
        allocate("O1"),
        define_channel("web", PriorityClass::Contract),
        receive("WH1", "A", 3),
    ]));
    let line = &upgraded.state.order(&oid("O1")).unwrap().lines[0];
    assert_eq!((line.ordered, line.allocated), (5, 3));
    let after = upgraded.and(receive("WH1", "A", 10));
    let line = &after.state.order(&oid("O1")).unwrap().lines[0];
    assert_eq!((line.ordered, line.allocated), (5, 5), "filled once, to its ordered quantity");
    assert_eq!(after.state.stock(&key("WH1", "A", None)).reserved, 5);
    assert_eq!(after.state.stock(&key("WH1", "A", None)).available, 8);
    assert_eq!(after.state.backorders().count(), 0);

    // Re-filed under the new class: an older standard order waits behind it.
    let priority = Scenario::given(world_and([
        place("S1", "web", &[("A", 2, 1000)], 0, 0),
        validate("S1"),
        allocate("S1"),
        place("E1", "edi", &[("A", 2, 1000)], 0, 0),
        validate("E1"),
        allocate("E1"),
        define_channel("edi", PriorityClass::Standard),
        define_channel("web", PriorityClass::Contract),
    ]))
    .and(receive("WH1", "A", 2));
    let filled = |id: &str| priority.state.order(&oid(id)).unwrap().lines[0].allocated;
    assert_eq!((filled("S1"), filled("E1")), (2, 0), "web is contract now, edi standard");
}
