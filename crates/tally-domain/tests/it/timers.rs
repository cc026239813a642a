//! Time-driven facts (DOMAIN §1 expiry, §2 hold SLA): `expire_lot` and
//! `record_hold_sla_breach`, and `timers::due`, which the engine's timer submits.

use tally_domain::Command;
use tally_domain::command::{CancelOrder, HoldOrder, LotRef, OrderRef};
use tally_domain::event::Event;
use tally_domain::inventory::QuarantineReason;
use tally_domain::order::{CancelReason, HoldReason};
use tally_domain::time::Timestamp;
use tally_domain::timers::due;

use crate::support::*;

const DAY: i64 = 86_400_000;

fn expire(lt: &str) -> Command {
    Command::ExpireLot(LotRef { sku: sku("L"), lot: lot(lt) })
}

/// SKU L has a 30-day shelf-life margin: lot E (expiry 2026-04-15) is removable after
/// 2026-03-16, T0 is 2026-03-01. Past that day its available and reserved units go to
/// quarantine (`expired`) and the reserved line is allocated from the later lot F.
#[test]
fn a_lot_past_its_removal_date_is_expired_and_its_reservations_move_to_a_fresher_lot() {
    let s = world_and([
        receive_lot("WH1", "L", "E", "2026-04-15", 5),
        receive_lot("WH1", "L", "F", "2026-09-01", 4),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
    ]);
    // Before the removal date the clock refuses it.
    Scenario::given(s.clone()).at(T0 + 15 * DAY).when(expire("E")).then_rejects("INVALID_STATE");
    // ATS counts E until its removal date, not after (web: 3 + 4 available, no safety stock).
    let before = Scenario::given(s.clone()).state;
    assert_eq!(before.ats(&ch("web"), &sku("L"), date("2026-03-16")), 7);
    assert_eq!(before.ats(&ch("web"), &sku("L"), date("2026-03-17")), 4);
    let (events, state) =
        Scenario::given(s.clone()).at(T0 + 16 * DAY).when(expire("E")).then_types(&[
            "order.reservation_released",
            "inventory.quarantined",
            "order.line_allocated",
        ]);
    let Event::StockQuarantined(q) = &events[1] else { panic!() };
    assert_eq!((q.qty.get(), q.reason), (5, QuarantineReason::Expired));
    let Event::LineAllocated(a) = &events[2] else { panic!() };
    assert_eq!((a.lot.clone(), a.qty.get()), (Some(lot("F")), 2));
    let e = state.stock(&key("WH1", "L", Some("E")));
    assert_eq!((e.available, e.reserved, e.quarantined_total()), (0, 0, 5));
    // Nothing left to move: a no-op the timer may repeat.
    Scenario { state, ctx: ctx_at(T0 + 16 * DAY) }.when(expire("E")).then_types(&[]);
    Scenario::given(s).when(expire("NOPE")).then_rejects("UNKNOWN_LOT");
}

#[test]
fn a_hold_past_its_sla_is_recorded_once() {
    let s = world_and([
        place("O1", "web", &[("A", 1, 100)], 0, 0),
        Command::HoldOrder(HoldOrder {
            order: oid("O1"),
            reason: HoldReason::Payment,
            due_at: Timestamp::from_millis(T0 + 3_600_000),
            note: String::new(),
        }),
    ]);
    let breach = || Command::RecordHoldSlaBreach(OrderRef { order: oid("O1") });
    Scenario::given(s.clone()).at(T0 + 3_600_000).when(breach()).then_rejects("INVALID_STATE");
    let (events, state) = Scenario::given(s.clone())
        .at(T0 + 3_600_001)
        .when(breach())
        .then_types(&["order.hold_sla_breached", "exception.raised"]);
    let Event::HoldSlaBreached(b) = &events[0] else { panic!() };
    assert_eq!((b.reason, b.due_at.millis()), (HoldReason::Payment, T0 + 3_600_000));
    // The breach is also an exception for the queue, about the order.
    let Event::ExceptionRaised(x) = &events[1] else { panic!() };
    assert_eq!(x.kind, tally_domain::event::ExceptionKind::HoldSlaBreach);
    assert_eq!(x.subject, tally_domain::journal::JournalRef::Order(oid("O1")));
    assert!(x.message.contains("payment"), "{}", x.message);
    Scenario { state: state.clone(), ctx: ctx_at(T0 + 7_200_000) }.when(breach()).then_types(&[]);
    assert_eq!(state.exceptions().open_count(), 1);
    // Releasing the hold (or cancelling the order) clears the breach from the queue, in the
    // same decision, by whoever released it.
    let release = Command::ReleaseHold(OrderRef { order: oid("O1") });
    let (events, released) = Scenario { state: state.clone(), ctx: ctx_at(T0 + 7_200_000) }
        .when(release)
        .then_types(&["order.hold_released", "exception.resolved"]);
    let Event::ExceptionResolved(r) = &events[1] else { panic!() };
    assert_eq!((r.exception, r.resolution), (1, tally_domain::event::ExceptionResolution::Cleared));
    assert_eq!(released.exceptions().open_count(), 0);
    let cancel =
        Command::CancelOrder(CancelOrder { order: oid("O1"), reason: CancelReason::Customer });
    let (events, _) = Scenario { state, ctx: ctx_at(T0 + 7_200_000) }
        .when(cancel)
        .then_types(&["order.cancelled", "exception.resolved"]);
    let Event::ExceptionResolved(r) = &events[1] else { panic!() };
    assert_eq!(r.note, "order 'O1' was cancelled");
    Scenario::given(world_and([place("O2", "web", &[("A", 1, 100)], 0, 0)]))
        .when(Command::RecordHoldSlaBreach(OrderRef { order: oid("O2") }))
        .then_rejects("INVALID_STATE");
}

/// What the timer submits: each due fact once, with a key that names the fact (and stays
/// within 128 bytes with 64-byte ids), nothing before it is due.
#[test]
fn timers_list_each_due_fact_with_its_own_key() {
    let long_lot = "X".repeat(64);
    let s = Scenario::given(world_and([
        receive_lot("WH1", "L", &long_lot, "2026-04-15", 5),
        receive_lot("WH1", "L", "F", "2026-09-01", 4),
        place("O1", "web", &[("A", 1, 100)], 0, 0),
        Command::HoldOrder(HoldOrder {
            order: oid("O1"),
            reason: HoldReason::Fraud,
            due_at: Timestamp::from_millis(T0 + 3_600_000),
            note: String::new(),
        }),
    ]))
    .state;
    assert!(due(&s, Timestamp::from_millis(T0)).is_empty());
    let hold_due = due(&s, Timestamp::from_millis(T0 + 3_600_001));
    assert_eq!(hold_due.len(), 1);
    assert_eq!(hold_due[0].1, Command::RecordHoldSlaBreach(OrderRef { order: oid("O1") }));
    let later = due(&s, Timestamp::from_millis(T0 + 16 * DAY));
    let commands: Vec<&Command> = later.iter().map(|(_, c)| c).collect();
    assert_eq!(
        commands,
        [
            &Command::ExpireLot(LotRef { sku: sku("L"), lot: lot(&long_lot) }),
            &Command::RecordHoldSlaBreach(OrderRef { order: oid("O1") }),
        ]
    );
    for (key, _) in &later {
        assert!(key.starts_with("timer:") && key.len() <= 128, "{key}");
    }
    assert!(later[0].0.ends_with(":2026-03-17"), "{}", later[0].0);
    // The same fact the next day is another key (units that became available again would be
    // moved again); the same day, the same key.
    let next_day = due(&s, Timestamp::from_millis(T0 + 17 * DAY));
    assert_ne!(next_day[0].0, later[0].0);
    assert_eq!(due(&s, Timestamp::from_millis(T0 + 16 * DAY + 1_000))[0].0, later[0].0);
}
