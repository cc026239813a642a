//! The event codec: round trips, golden bytes, upcasting, and decode errors.

use tally_domain::codec::{DecodeError, KNOWN_TYPES, OrderHeldV1, decode, encode};
use tally_domain::event::{Event, LineAllocated, OrderEvent, OrderHeld, PaymentCaptured};
use tally_domain::ids::{JournalEntryId, PaymentId};
use tally_domain::journal::{Account, JournalEntry, JournalRef, Posting};
use tally_domain::order::HoldReason;
use tally_domain::quantity::Quantity;
use tally_domain::time::Timestamp;

use crate::support::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn golden() -> Vec<(Event, &'static str)> {
    vec![
        (Event::OrderValidated(OrderEvent { order: oid("O1") }), "024f31"),
        (
            Event::PaymentCaptured(PaymentCaptured {
                order: oid("O1"),
                payment: PaymentId::parse("P1").unwrap(),
                amount: usd(11_880),
                applied: Vec::new(),
            }),
            // "O1", "P1", zigzag varint 11880 = d0 b9 01, then the currency as its code:
            // length 3 + "USD" = 03 555344 (until this session a variant index, USD = 00; the
            // code keeps the bytes independent of the ISO table's order); no applications = 00
            "024f31025031d0b9010355534400",
        ),
        (
            Event::LineAllocated(LineAllocated {
                order: oid("O1"),
                line: 0,
                sku: sku("A"),
                location: loc("WH1"),
                lot: Some(lot("L1")),
                qty: Quantity::from_u64(3).unwrap(),
                backorder_fill: true,
            }),
            "024f310001410357483101024c310301",
        ),
        (
            Event::OrderHeld(OrderHeld {
                order: oid("O1"),
                reason: HoldReason::Payment,
                due_at: Timestamp::from_millis(1_000),
                note: "n".to_owned(),
            }),
            "024f3101d00f016e",
        ),
        (
            Event::JournalEntryPosted(JournalEntry {
                entry: JournalEntryId::parse("je-1").unwrap(),
                posted_at: Timestamp::from_millis(0),
                reference: JournalRef::Order(oid("O1")),
                memo: "fee".to_owned(),
                postings: vec![
                    Posting::debit(Account::PaymentFees, usd(375)),
                    Posting::credit(Account::ProcessorClearing, usd(375)),
                ],
            }),
            // "je-1", t=0, Order("O1"), "fee", [5100 (index 15 since store format 4) +3.75 USD,
            // 1100 -3.75 USD]; each currency is 03 555344 ("USD")
            "046a652d310000024f3103666565020fee050355534401ed0503555344",
        ),
    ]
}

#[test]
fn golden_bytes_are_pinned() {
    for (event, expected) in golden() {
        let bytes = encode(&event);
        assert_eq!(hex(&bytes), expected, "{}", event.event_type());
        assert_eq!(decode(event.event_type(), event.schema_version(), &bytes).unwrap(), event);
    }
}

#[test]
fn order_held_v1_is_upcast() {
    let v1 = OrderHeldV1 {
        order: oid("O1"),
        reason: HoldReason::Fraud,
        due_at: Timestamp::from_millis(5),
    };
    let bytes = postcard::to_allocvec(&v1).unwrap();
    let event = decode("order.held", 1, &bytes).unwrap();
    assert_eq!(
        event,
        Event::OrderHeld(OrderHeld {
            order: oid("O1"),
            reason: HoldReason::Fraud,
            due_at: Timestamp::from_millis(5),
            note: String::new()
        })
    );
    assert_eq!(event.schema_version(), 2);
}

#[test]
fn decode_errors() {
    assert!(matches!(decode("nope", 1, &[]), Err(DecodeError::UnknownType(_))));
    assert!(matches!(decode("order.validated", 9, &[]), Err(DecodeError::UnknownVersion { .. })));
    assert!(matches!(decode("order.validated", 1, &[5, 1]), Err(DecodeError::Malformed { .. })));
    assert!(matches!(
        decode("order.validated", 1, &[1, 0x41, 0]),
        Err(DecodeError::Malformed { .. })
    ));
    // Ids are re-validated on decode.
    assert!(matches!(decode("order.validated", 1, &[0]), Err(DecodeError::Malformed { .. })));
}

#[test]
fn every_event_of_the_scenarios_round_trips_and_replays() {
    let mut types: Vec<&str> = Vec::new();
    for (events, state) in crate::scenarios::all_stories() {
        for (_, e) in &events {
            let decoded = decode(e.event_type(), e.schema_version(), &encode(e)).unwrap();
            assert_eq!(&decoded, e);
            let json = serde_json::to_string(e).unwrap();
            assert_eq!(&serde_json::from_str::<Event>(&json).unwrap(), e, "{json}");
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(value["type"], e.event_type(), "json type tag is the stable type name");
            assert!(!e.stream().is_empty());
            assert!(
                tally_domain::event_type::EventType::parse(e.event_type()).is_some(),
                "{} is not in the event type list",
                e.event_type()
            );
            types.push(e.event_type());
        }
        // Replaying the events alone (with their business times) rebuilds the same state.
        assert_eq!(Scenario::given_events(events).state, state);
    }
    types.sort_unstable();
    types.dedup();
    // `command.accepted` is the engine's marker of a no-op command; `decide` never emits it.
    let missing: Vec<&&str> =
        KNOWN_TYPES.iter().filter(|t| !types.contains(t) && **t != "command.accepted").collect();
    assert!(missing.is_empty(), "scenarios miss event types {missing:?}");
}

/// The engine's no-op marker: round-trips, lives on the `commands` stream, changes no state.
#[test]
fn the_command_accepted_marker_round_trips_and_changes_nothing() {
    let e = Event::CommandAccepted(tally_domain::event::CommandAccepted {
        command: "define_location".to_owned(),
    });
    assert_eq!(decode(e.event_type(), e.schema_version(), &encode(&e)).unwrap(), e);
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(json, r#"{"type":"command.accepted","data":{"command":"define_location"}}"#);
    assert_eq!(e.stream(), "commands");
    let at = tally_domain::time::Timestamp::from_millis(0);
    assert_eq!(Scenario::given_events([(at, e)]).state, tally_domain::State::new());
}

/// `Command::kind` is the JSON `type` tag of every command the scenario files use.
#[test]
fn command_kind_matches_the_json_tag() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        for step in file["steps"].as_array().unwrap() {
            if let Some(json) = step.get("command") {
                let command: tally_domain::Command = serde_json::from_value(json.clone()).unwrap();
                assert_eq!(command.kind(), json["type"].as_str().unwrap());
                seen += 1;
            }
        }
    }
    assert!(seen > 100);
}
