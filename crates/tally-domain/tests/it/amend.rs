//! Amending an order before shipment (`amend_order`, and `receive_order` with a revision):
//! lines reduced, removed, added; ship-to changed; what is picked or shipped is locked.

use tally_domain::command::*;
use tally_domain::event::Event;
use tally_domain::order::{Address, OrderStatus};
use tally_domain::rejection::Rejection;
use tally_domain::time::Timestamp;

use crate::support::*;

fn amend(id: &str, lines: &[(&str, i64, i64)], shipping: i64, revision: Option<i64>) -> AmendOrder {
    AmendOrder {
        order: oid(id),
        revision: revision.map(Timestamp::from_millis),
        lines: lines.iter().map(|(s, q, p)| OrderLineInput::new(sku(s), *q, usd(*p))).collect(),
        shipping: usd(shipping),
        tax_rate: tally_domain::money::Rate::from_ppm(80_000).unwrap(),
        shipping_lines: Vec::new(),
        total_tax: None,
        total: None,
        ship_to: None,
    }
}

fn address(line1: &str) -> Address {
    Address {
        name: "Ana Müller".to_owned(),
        line1: line1.to_owned(),
        line2: String::new(),
        city: "San Francisco".to_owned(),
        region: "CA".to_owned(),
        postal_code: "94105".to_owned(),
        country: "US".to_owned(),
    }
}

/// O1: 3 × A allocated at WH1 (10 on hand).
fn allocated() -> Scenario {
    Scenario::given(world_and([receive("WH1", "A", 10)]))
        .and(place("O1", "web", &[("A", 3, 5000)], 1000, 80_000))
        .and(validate("O1"))
        .and(allocate("O1"))
}

#[test]
fn a_reduced_quantity_releases_its_reservation() {
    let s = allocated();
    assert_eq!(s.state.reserved(&loc("WH1"), &sku("A")), 3);
    let (events, state) = s
        .when(Command::AmendOrder(amend("O1", &[("A", 1, 5000)], 1000, None)))
        .then_types(&["order.reservation_released", "order.amended"]);
    let Event::OrderAmended(e) = &events[1] else { panic!() };
    assert_eq!(e.lines.len(), 1);
    assert_eq!(e.lines[0].qty, 1);
    // 50.00 + 10.00 shipping, 8 % on both.
    assert_eq!(e.total, usd(6480));
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 1);
    assert_eq!(state.available(&loc("WH1"), &sku("A")), 9);
    let order = state.order(&oid("O1")).unwrap();
    assert_eq!(order.lines[0].ordered, 1);
    assert_eq!(order.lines[0].allocated, 1);
    assert_eq!(order.status, OrderStatus::Fulfilling);
    assert_eq!(state.backorders().count(), 0);
}

#[test]
fn an_added_line_is_allocated_like_any_line_and_a_missing_line_is_removed() {
    let s = Scenario::given(world_and([receive("WH1", "A", 10)]))
        .and(place("O1", "web", &[("A", 3, 5000)], 1000, 80_000))
        .and(validate("O1"))
        .and(allocate("O1"));
    // A second line of A at another price: added (line 1) and allocated.
    let (events, state) = s
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000), ("A", 2, 4500)], 1000, None)))
        .then_types(&["order.amended", "order.line_allocated"]);
    let Event::LineAllocated(a) = &events[1] else { panic!() };
    assert_eq!((a.line, a.qty.get()), (1, 2));
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 5);
    assert_eq!(state.order(&oid("O1")).unwrap().lines.len(), 2);
    // More than is on hand: the rest is backordered.
    let (_, state) = s
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000), ("A", 9, 4500)], 1000, None)))
        .then_types(&["order.amended", "order.line_allocated", "order.line_backordered"]);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 10);
    assert_eq!(state.backorders().count(), 1);
    // The first line left out: removed (0 units), its reservation released; its number stays.
    let (events, state) = s
        .when(Command::AmendOrder(amend("O1", &[("A", 2, 4500)], 1000, None)))
        .then_types(&["order.reservation_released", "order.amended", "order.line_allocated"]);
    let Event::OrderAmended(e) = &events[1] else { panic!() };
    assert_eq!(e.lines.iter().map(|l| l.qty).collect::<Vec<_>>(), vec![0, 2]);
    assert_eq!(e.lines[0].discount, usd(0));
    let order = state.order(&oid("O1")).unwrap();
    assert_eq!((order.lines[0].ordered, order.lines[0].allocated), (0, 0));
    assert_eq!((order.lines[1].ordered, order.lines[1].allocated), (2, 2));
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 2);
}

#[test]
fn picked_or_shipped_units_are_locked_and_the_rejection_names_the_line() {
    let picked = allocated().and(pick("O1"));
    let r = picked
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 1, 5000)], 1000, None)))
        .then_rejects("LINE_LOCKED");
    assert!(matches!(&r, Rejection::LineLocked { line: 0, units: 3, .. }), "{r:?}");
    assert!(r.to_string().contains("line 0 of order 'O1'"), "{r}");
    // Adding a line to a picked order is fine: the picked line keeps its units.
    picked
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000), ("A", 1, 4500)], 1000, None)))
        .then_types(&["order.amended", "order.line_allocated"]);
    // A shipped order: a change of its shipped line is refused naming the line, anything
    // else it would change (a line added, the ship-to) as the order's state.
    let shipped = allocated().and(pick("O1")).and(pack("O1")).and(ship("O1"));
    let r = shipped
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 1, 5000)], 1000, None)))
        .then_rejects("LINE_LOCKED");
    assert!(matches!(&r, Rejection::LineLocked { line: 0, units: 3, why: "shipped", .. }), "{r:?}");
    shipped
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000), ("A", 1, 4500)], 1000, None)))
        .then_rejects("INVALID_STATE");
    let mut moved = amend("O1", &[("A", 3, 5000)], 1000, None);
    moved.ship_to = Some(Box::new(address("500 Howard St")));
    shipped.clone().when(Command::AmendOrder(moved)).then_rejects("INVALID_STATE");
    // The same content again is no change, shipped or not.
    let same = shipped.when(Command::AmendOrder(amend("O1", &[("A", 3, 5000)], 1000, None)));
    assert_eq!(same.result.unwrap(), Vec::<Event>::new());
}

#[test]
fn the_ship_to_changes_and_the_digest_follows_the_new_content() {
    let s = allocated();
    let mut c = amend("O1", &[("A", 3, 5000)], 1000, None);
    c.ship_to = Some(Box::new(address("500 Howard St")));
    let (events, state) =
        s.clone().when(Command::AmendOrder(c.clone())).then_types(&["order.amended"]);
    let order = state.order(&oid("O1")).unwrap();
    assert_eq!(order.profile.ship_to.as_ref().unwrap().line1, "500 Howard St");
    assert_ne!(order.digest, s.state.order(&oid("O1")).unwrap().digest);
    // The same amendment again changes nothing.
    let again = Scenario { state, ctx: s.ctx.clone() }.when(Command::AmendOrder(c));
    assert_eq!(again.result.unwrap(), Vec::<Event>::new());
    assert_eq!(events.len(), 1);
}

#[test]
fn a_stale_revision_changes_nothing_and_bad_amendments_are_refused() {
    let s =
        allocated().and(Command::AmendOrder(amend("O1", &[("A", 2, 5000)], 1000, Some(T0 + 20))));
    // An earlier version arriving late: nothing changes.
    let out =
        s.clone().when(Command::AmendOrder(amend("O1", &[("A", 3, 5000)], 1000, Some(T0 + 10))));
    assert_eq!(out.result.unwrap(), Vec::<Event>::new());
    // The same version again: nothing; the same version with other content: a conflict.
    let out =
        s.clone().when(Command::AmendOrder(amend("O1", &[("A", 2, 5000)], 1000, Some(T0 + 20))));
    assert_eq!(out.result.unwrap(), Vec::<Event>::new());
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000)], 1000, Some(T0 + 20))))
        .then_rejects("DUPLICATE_ORDER_CONFLICT");
    // A later one applies.
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 3, 5000)], 1000, Some(T0 + 30))))
        .then_types(&["order.amended", "order.line_allocated"]);
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 0, 5000)], 1000, None)))
        .then_rejects("INVALID_INPUT");
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("Z", 1, 5000)], 1000, None)))
        .then_rejects("UNKNOWN_SKU");
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("A", -1, 5000)], 1000, None)))
        .then_rejects("INVALID_QUANTITY");
    s.clone()
        .when(Command::AmendOrder(amend("NOPE", &[("A", 1, 5000)], 1000, None)))
        .then_rejects("UNKNOWN_ORDER");
    let mut wrong_total = amend("O1", &[("A", 1, 5000)], 1000, None);
    wrong_total.total = Some(usd(1));
    s.clone().when(Command::AmendOrder(wrong_total)).then_rejects("INVALID_INPUT");
    // Refused amendments leave the state as it was.
    assert_eq!(s.state.order(&oid("O1")).unwrap().lines[0].ordered, 2);
}

#[test]
fn receive_order_with_a_revision_amends_and_without_one_conflicts() {
    let s = allocated();
    let mut again = place("O1", "web", &[("A", 2, 5000)], 1000, 80_000);
    // Without a revision, other content is a conflict, as before.
    s.clone().when(again.clone()).then_rejects("DUPLICATE_ORDER_CONFLICT");
    if let Command::ReceiveOrder(o) = &mut again {
        o.revision = Some(Timestamp::from_millis(T0 + 60_000));
    }
    let (_, state) =
        s.clone().when(again.clone()).then_types(&["order.reservation_released", "order.amended"]);
    assert_eq!(state.order(&oid("O1")).unwrap().lines[0].ordered, 2);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 2);
    // The same record again: nothing.
    let out = Scenario { state: state.clone(), ctx: s.ctx.clone() }.when(again.clone());
    assert_eq!(out.result.unwrap(), Vec::<Event>::new());
    // The original record arriving late (no revision, first content): nothing either... it is
    // the content the order had, so it is a conflict only when it differs from now.
    let late = Scenario { state, ctx: s.ctx.clone() }.when(place(
        "O1",
        "web",
        &[("A", 3, 5000)],
        1000,
        80_000,
    ));
    late.then_rejects("DUPLICATE_ORDER_CONFLICT");
    // An order first seen after its source removed a line (0 units): a removed line before
    // a line with units keeps its place (line numbers stay the source's, which refunds name);
    // removed lines at the end are left out.
    let mut fresh = place("O2", "web", &[("A", 0, 5000), ("A", 1, 4000), ("A", 0, 3000)], 0, 0);
    if let Command::ReceiveOrder(o) = &mut fresh {
        o.revision = Some(Timestamp::from_millis(T0));
    }
    let (events, state) = Scenario::given(world())
        .when(fresh.clone())
        .then_types(&["order.received", "order.amended"]);
    let order = state.order(&oid("O2")).unwrap();
    let lines: Vec<(u64, i64)> =
        order.lines.iter().map(|l| (l.ordered, l.unit_price.minor())).collect();
    assert_eq!(lines, [(0, 5000), (1, 4000)]);
    assert_eq!(tally_domain::pricing::order_total(order, false).unwrap(), usd(4000));
    let Event::OrderAmended(e) = &events[1] else { panic!() };
    assert_eq!(e.total, usd(4000));
    // The same record again: nothing; without the removed lines, the same content.
    let again = Scenario { state: state.clone(), ctx: ctx_at(T0) }.when(fresh);
    assert_eq!(again.result.unwrap(), Vec::<Event>::new());
    // Without any removed line first, only the order is received.
    let mut plain = place("O3", "web", &[("A", 1, 4000), ("A", 0, 3000)], 0, 0);
    if let Command::ReceiveOrder(o) = &mut plain {
        o.revision = Some(Timestamp::from_millis(T0));
    }
    let (_, state) = Scenario::given(world()).when(plain).then_types(&["order.received"]);
    assert_eq!(state.order(&oid("O3")).unwrap().lines.len(), 1);
}

fn address_workflow() -> Command {
    Command::ConfigureWorkflow(ConfigureWorkflow {
        channels: vec![tally_domain::workflow::ChannelWorkflow {
            channel: ch("web"),
            validate: true,
            require_address: true,
            validation_sla_minutes: 60,
            holds: Vec::new(),
            auto_release: false,
            auto_allocate: false,
            backorder: tally_domain::workflow::BackorderPolicy::Wait,
            backorder_days: None,
            substitutes: Vec::new(),
        }],
    })
}

fn with_address(command: Command) -> Command {
    let Command::ReceiveOrder(mut o) = command else { panic!() };
    o.ship_to = Some(Box::new(address("1 Market St")));
    Command::ReceiveOrder(o)
}

/// The channel's validation looks at the amended order again: an order being fulfilled whose
/// new ship-to is incomplete is held (`address`) and its reservations go back; an order not
/// allocated yet goes back to `received`, to be validated again.
#[test]
fn the_workflow_checks_the_amended_address_again() {
    let fulfilling = Scenario::given(world_and([receive("WH1", "A", 10), address_workflow()]))
        .and(with_address(place("O1", "web", &[("A", 3, 5000)], 1000, 80_000)))
        .and(validate("O1"))
        .and(allocate("O1"));
    let mut c = amend("O1", &[("A", 3, 5000)], 1000, None);
    c.ship_to = Some(Box::new(Address { city: String::new(), ..address("500 Howard St") }));
    let (events, state) = fulfilling.when(Command::AmendOrder(c.clone())).then_types(&[
        "order.amended",
        "order.held",
        "order.reservation_released",
    ]);
    let Event::OrderHeld(h) = &events[1] else { panic!() };
    assert_eq!(h.reason, tally_domain::order::HoldReason::Address);
    assert!(h.note.contains("city"), "{}", h.note);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 0);

    let received = Scenario::given(world_and([receive("WH1", "A", 10), address_workflow()]))
        .and(with_address(place("O1", "web", &[("A", 3, 5000)], 1000, 80_000)))
        .and(validate("O1"));
    let (events, state) = received.when(Command::AmendOrder(c)).then_types(&["order.amended"]);
    let Event::OrderAmended(e) = &events[0] else { panic!() };
    assert!(e.revalidate);
    assert_eq!(state.order(&oid("O1")).unwrap().status, OrderStatus::Received);
    // The channel's workflow now wants it held for the missing city.
    let order = state.order(&oid("O1")).unwrap();
    let next = tally_domain::workflow::next(&state, order, Timestamp::from_millis(T0)).unwrap();
    let Command::HoldOrder(hold) = next.command else { panic!("{next:?}") };
    assert_eq!(hold.reason, tally_domain::order::HoldReason::Address);
    assert!(hold.note.contains("city"), "{}", hold.note);
}

fn at_location(command: Command, location: &str) -> Command {
    match command {
        Command::PickOrder(mut c) => {
            c.location = Some(loc(location));
            Command::PickOrder(c)
        }
        Command::PackOrder(mut c) => {
            c.location = Some(loc(location));
            Command::PackOrder(c)
        }
        Command::ShipOrder(mut c) => {
            c.location = Some(loc(location));
            Command::ShipOrder(c)
        }
        other => other,
    }
}

/// A partly shipped order: its unshipped line may still be reduced (its reservation goes
/// back); its shipped line, its invoiced shipping and its ship-to may not change.
#[test]
fn a_partly_shipped_order_amends_only_what_has_not_shipped() {
    let s = Scenario::given(world_and([
        define_sku("B", false, 0, 1000),
        receive("WH1", "A", 2),
        receive("WH2", "B", 3),
    ]))
    .and(place("O1", "web", &[("A", 2, 5000), ("B", 3, 2000)], 1000, 80_000))
    .and(validate("O1"))
    .and(allocate("O1"))
    .and(at_location(pick("O1"), "WH1"))
    .and(at_location(pack("O1"), "WH1"))
    .and(at_location(ship("O1"), "WH1"));
    assert_eq!(s.state.order(&oid("O1")).unwrap().status, OrderStatus::Fulfilling);
    let (_, state) = s
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 2, 5000), ("B", 1, 2000)], 1000, None)))
        .then_types(&["order.reservation_released", "order.amended"]);
    assert_eq!(state.reserved(&loc("WH2"), &sku("B")), 1);
    assert_eq!(state.available(&loc("WH2"), &sku("B")), 2);
    let r = s
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 1, 5000), ("B", 3, 2000)], 1000, None)))
        .then_rejects("LINE_LOCKED");
    assert!(matches!(&r, Rejection::LineLocked { line: 0, units: 2, why: "shipped", .. }), "{r:?}");
    s.clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 2, 5000), ("B", 3, 2000)], 1200, None)))
        .then_rejects("INVALID_STATE");
    let mut moved = amend("O1", &[("A", 2, 5000), ("B", 3, 2000)], 1000, None);
    moved.ship_to = Some(Box::new(address("500 Howard St")));
    s.when(Command::AmendOrder(moved)).then_rejects("INVALID_STATE");
}

/// A backordered line reduced to what is reserved: nothing is released, nothing waits.
#[test]
fn a_backordered_line_reduced_waits_for_less() {
    let s = Scenario::given(world_and([receive("WH1", "A", 2)]))
        .and(place("O1", "web", &[("A", 5, 5000)], 1000, 80_000))
        .and(validate("O1"))
        .and(allocate("O1"));
    assert_eq!(s.state.backorders().count(), 1);
    let (_, state) = s
        .clone()
        .when(Command::AmendOrder(amend("O1", &[("A", 2, 5000)], 1000, None)))
        .then_types(&["order.amended"]);
    assert_eq!(state.backorders().count(), 0);
    assert_eq!(state.reserved(&loc("WH1"), &sku("A")), 2);
    // Raised again: the new units wait too (nothing is free).
    let (_, state) = s
        .when(Command::AmendOrder(amend("O1", &[("A", 7, 5000)], 1000, None)))
        .then_types(&["order.amended", "order.line_backordered"]);
    assert_eq!(state.backorders().count(), 1);
}
