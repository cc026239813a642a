//! Master data: locations, channels, SKUs, safety stock, count tolerances.

use tally_domain::command::*;
use tally_domain::event::{CountToleranceSet, Event, ReorderPointSet, SafetyStockSet};
use tally_domain::master::{AbcClass, ChannelKind, CountTolerance, LocationKind, PriorityClass};
use tally_domain::money::{Currency, Rate};

use crate::support::*;

#[test]
fn define_channel_then_same_again_is_a_no_op() {
    Scenario::given([])
        .when(define_channel("web", PriorityClass::Standard))
        .then_types(&["channel.defined"]);
    Scenario::given([define_channel("web", PriorityClass::Standard)])
        .when(define_channel("web", PriorityClass::Standard))
        .then_events(&[]);
}

#[test]
fn channel_currency_cannot_change_under_open_orders() {
    let change = Command::DefineChannel(DefineChannel {
        channel: ch("web"),
        priority: PriorityClass::Standard,
        kind: ChannelKind::Direct,
        currency: Currency::EUR,
        facilitator_tax: false,
    });
    Scenario::given(world_and([place("O1", "web", &[("A", 1, 100)], 0, 0)]))
        .when(change)
        .then_rejects("INVALID_STATE");
}

#[test]
fn define_location_needs_known_channels() {
    Scenario::given(world())
        .when(define_location("WH3", 3, &["web"]))
        .then_types(&["location.defined"]);
    let r = Scenario::given(world())
        .when(define_location("WH3", 3, &["nope"]))
        .then_rejects("UNKNOWN_CHANNEL");
    assert_eq!(r.to_string(), "unknown channel 'nope'");
    let _ = LocationKind::Store;
}

#[test]
fn define_sku_and_its_rejections() {
    Scenario::given([]).when(define_sku("B", false, 0, 100)).then_types(&["sku.defined"]);
    Scenario::given([]).when(define_sku("B", false, 0, -1)).then_rejects("INVALID_AMOUNT");
    Scenario::given(world_and([receive("WH1", "A", 1)]))
        .when(define_sku("A", true, 0, 2000))
        .then_rejects("INVALID_STATE");
}

#[test]
fn safety_stock_set_and_rejections() {
    Scenario::given(world()).when(safety("WH1", "A", 2)).then_events(&[Event::SafetyStockSet(
        SafetyStockSet { location: loc("WH1"), sku: sku("A"), qty: 2 },
    )]);
    Scenario::given(world()).when(safety("WH1", "A", -1)).then_rejects("INVALID_QUANTITY");
    Scenario::given(world()).when(safety("WHX", "A", 1)).then_rejects("UNKNOWN_LOCATION");
    let r = Scenario::given(world()).when(safety("WH1", "ABC-1", 1)).then_rejects("UNKNOWN_SKU");
    assert_eq!(r.to_string(), "unknown sku 'ABC-1'");
}

#[test]
fn lowering_safety_stock_fills_standard_backorders() {
    let s = world_and([
        receive("WH1", "A", 4),
        safety("WH1", "A", 3),
        place("O1", "web", &[("A", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    let (_, state) = Scenario::given(s.clone())
        .when(safety("WH1", "A", 1))
        .then_types(&["inventory.safety_stock_set", "order.line_allocated"]);
    assert_eq!(state.order(&oid("O1")).unwrap().lines[0].allocated, 2);
    assert_eq!(state.ats(&ch("web"), &sku("A"), ctx_at(T0).now.date()), 1);
    Scenario::given(s).when(safety("WH1", "A", 4)).then_types(&["inventory.safety_stock_set"]);
}

fn reorder(location: &str, sku_id: &str, point: i64, reorder_qty: i64) -> Command {
    Command::SetReorderPoint(SetReorderPoint {
        location: loc(location),
        sku: sku(sku_id),
        point,
        reorder_qty,
    })
}

#[test]
fn reorder_point_set_changed_cleared_and_its_rejections() {
    let set = Event::ReorderPointSet(ReorderPointSet {
        location: loc("WH1"),
        sku: sku("A"),
        point: 10,
        reorder_qty: 48,
    });
    let after = Scenario::given(world()).when(reorder("WH1", "A", 10, 48)).then_events(&[set]);
    assert_eq!(after.reorder_point(&loc("WH1"), &sku("A")), Some((10, 48)));
    // The same values again: nothing to record.
    Scenario::given(world_and([reorder("WH1", "A", 10, 48)]))
        .when(reorder("WH1", "A", 10, 48))
        .then_events(&[]);
    // A new quantity is recorded.
    Scenario::given(world_and([reorder("WH1", "A", 10, 48)]))
        .when(reorder("WH1", "A", 10, 60))
        .then_types(&["inventory.reorder_point_set"]);
    // Point 0 clears it (its quantity is ignored); clearing what is unset is a no-op.
    let cleared = Scenario::given(world_and([reorder("WH1", "A", 10, 48)]))
        .when(reorder("WH1", "A", 0, 999))
        .then_events(&[Event::ReorderPointSet(ReorderPointSet {
            location: loc("WH1"),
            sku: sku("A"),
            point: 0,
            reorder_qty: 0,
        })]);
    assert_eq!(cleared.reorder_point(&loc("WH1"), &sku("A")), None);
    Scenario::given(world()).when(reorder("WH1", "A", 0, 0)).then_events(&[]);
    Scenario::given(world()).when(reorder("WH1", "A", -1, 5)).then_rejects("INVALID_QUANTITY");
    Scenario::given(world()).when(reorder("WH1", "A", 10, 0)).then_rejects("INVALID_QUANTITY");
    Scenario::given(world())
        .when(reorder("WH1", "A", 10, 2_000_000_000))
        .then_rejects("INVALID_QUANTITY");
    Scenario::given(world()).when(reorder("WHX", "A", 10, 5)).then_rejects("UNKNOWN_LOCATION");
    Scenario::given(world()).when(reorder("WH1", "NOPE", 10, 5)).then_rejects("UNKNOWN_SKU");
}

fn tolerance(class: AbcClass, units: i64, fraction: Option<&str>) -> Command {
    Command::SetCountTolerance(SetCountTolerance {
        class,
        units,
        fraction: fraction.map(|f| Rate::parse_fraction(f).unwrap()),
    })
}

#[test]
fn count_tolerance_is_master_data_kept_per_class() {
    let five_percent = Rate::parse_fraction("0.05").unwrap();
    let state = Scenario::given([]).when(tolerance(AbcClass::B, 2, Some("0.05"))).then_events(&[
        Event::CountToleranceSet(CountToleranceSet {
            class: AbcClass::B,
            tolerance: CountTolerance { units: 2, fraction: five_percent },
        }),
    ]);
    assert_eq!(
        state.count_tolerance(AbcClass::B),
        CountTolerance { units: 2, fraction: five_percent }
    );
    assert_eq!(state.count_tolerance(AbcClass::A), CountTolerance::EXACT);
    // The same values again change nothing; back to exact is an event and clears it.
    Scenario::given([tolerance(AbcClass::B, 2, Some("0.05"))])
        .when(tolerance(AbcClass::B, 2, Some("0.05")))
        .then_events(&[]);
    let state = Scenario::given([tolerance(AbcClass::B, 2, Some("0.05"))])
        .when(tolerance(AbcClass::B, 0, None))
        .then_events(&[Event::CountToleranceSet(CountToleranceSet {
            class: AbcClass::B,
            tolerance: CountTolerance::EXACT,
        })]);
    assert_eq!(state.count_tolerance(AbcClass::B), CountTolerance::EXACT);
    Scenario::given([]).when(tolerance(AbcClass::A, 0, None)).then_events(&[]);
    // Units are bounded like any quantity (0 to 10⁹).
    Scenario::given([]).when(tolerance(AbcClass::A, -1, None)).then_rejects("INVALID_QUANTITY");
    Scenario::given([])
        .when(tolerance(AbcClass::A, 1_000_000_001, None))
        .then_rejects("INVALID_QUANTITY");
    Scenario::given([])
        .when(tolerance(AbcClass::A, 1_000_000_000, None))
        .then_types(&["inventory.count_tolerance_set"]);
}

#[test]
fn a_count_tolerance_allows_units_or_a_fraction_of_expected() {
    let t = CountTolerance { units: 1, fraction: Rate::parse_fraction("0.05").unwrap() };
    assert!(t.allows(100, 105)); // 5 = 5 % of 100
    assert!(t.allows(100, 95));
    assert!(!t.allows(100, 106)); // 6 > 1 and > 5
    assert!(t.allows(10, 11)); // 1 unit; 5 % of 10 is 0.5
    assert!(!t.allows(10, 12));
    assert!(t.allows(0, 1));
    assert!(!t.allows(0, 2)); // 5 % of nothing is nothing
    assert!(CountTolerance::EXACT.allows(7, 7));
    assert!(!CountTolerance::EXACT.allows(7, 8));
    let all = CountTolerance { units: 0, fraction: Rate::parse_fraction("1").unwrap() };
    assert!(all.allows(u64::MAX, 0));
    assert!(!all.allows(1, 3));
}
