//! Master data: locations, channels, SKUs, safety stock.

use tally_domain::command::*;
use tally_domain::event::{Event, SafetyStockSet};
use tally_domain::master::{ChannelKind, LocationKind, PriorityClass};
use tally_domain::money::Currency;

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
    assert_eq!(state.ats(&ch("web"), &sku("A")), 1);
    Scenario::given(s).when(safety("WH1", "A", 4)).then_types(&["inventory.safety_stock_set"]);
}
