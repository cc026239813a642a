//! The remaining rejection of each command, one row each: given a history, when a command,
//! then this code.

use tally_domain::command::*;
use tally_domain::ids::{PaymentId, RefundId, SettlementId};
use tally_domain::inventory::QuarantineReason;
use tally_domain::money::Currency;
use tally_domain::order::CancelReason;
use tally_domain::returns::Disposition;
use tally_domain::time::Timestamp;

use crate::support::*;

fn shipped_l() -> Vec<Command> {
    world_and([
        receive_lot("WH1", "L", "L1", "2026-09-01", 3),
        place("O1", "web", &[("L", 2, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
        pack("O1"),
        ship("O1"),
        Command::AuthorizeReturn(AuthorizeReturn {
            return_id: rid("R1"),
            order: oid("O1"),
            lines: vec![LineQty { line: 0, qty: 2 }],
        }),
    ])
}

#[test]
fn every_remaining_rejection() {
    let day = 86_400_000;
    let cases: Vec<(&str, Vec<Command>, Command, &str)> = vec![
        ("deliver unknown order", world(), deliver("X"), "UNKNOWN_ORDER"),
        ("pack unknown order", world(), pack("X"), "UNKNOWN_ORDER"),
        ("ship unknown order", world(), ship("X"), "UNKNOWN_ORDER"),
        ("release unknown order", world(), Command::ReleaseHold(oref("X")), "UNKNOWN_ORDER"),
        (
            "substitute unknown order",
            world(),
            Command::SubstituteLine(SubstituteLine { order: oid("X"), line: 0, sku: sku("A") }),
            "UNKNOWN_ORDER",
        ),
        (
            "negative shipping",
            world(),
            place("O1", "web", &[("A", 1, 100)], -1, 0),
            "INVALID_AMOUNT",
        ),
        (
            "inbound at unknown location",
            world(),
            Command::ExpectInbound(ExpectInbound {
                location: loc("X"),
                sku: sku("A"),
                qty: 1,
                eta: Timestamp::from_millis(T0),
            }),
            "UNKNOWN_LOCATION",
        ),
        (
            "inbound of unknown sku",
            world(),
            Command::ExpectInbound(ExpectInbound {
                location: loc("WH1"),
                sku: sku("X"),
                qty: 1,
                eta: Timestamp::from_millis(T0),
            }),
            "UNKNOWN_SKU",
        ),
        (
            "expiry without a lot",
            world(),
            Command::ReceiveInventory(ReceiveInventory {
                location: loc("WH1"),
                sku: sku("A"),
                lot: None,
                expiry: Some(date("2027-01-01")),
                qty: 1,
                unit_cost: None,
                purchase_order: None,
                po_line: None,
            }),
            "INVALID_INPUT",
        ),
        (
            "negative receipt cost",
            world(),
            Command::ReceiveInventory(ReceiveInventory {
                location: loc("WH1"),
                sku: sku("A"),
                lot: None,
                expiry: None,
                qty: 1,
                unit_cost: Some(usd(-1)),
                purchase_order: None,
                po_line: None,
            }),
            "INVALID_AMOUNT",
        ),
        (
            "quarantine at unknown location",
            world(),
            Command::QuarantineStock(QuarantineStock {
                location: loc("X"),
                sku: sku("A"),
                lot: None,
                qty: 1,
                reason: QuarantineReason::Damaged,
            }),
            "UNKNOWN_LOCATION",
        ),
        (
            "scrap without a lot",
            world(),
            Command::ScrapStock(ScrapStock {
                location: loc("WH1"),
                sku: sku("L"),
                lot: None,
                qty: 1,
                from: None,
            }),
            "LOT_REQUIRED",
        ),
        (
            "count with a lot of an untracked sku",
            world(),
            Command::CycleCount(CycleCount {
                location: loc("WH1"),
                sku: sku("A"),
                lot: Some(lot("X")),
                counted: 1,
            }),
            "LOT_NOT_TRACKED",
        ),
        (
            "return receipt of an unknown lot",
            shipped_l(),
            Command::ReceiveReturn(ReceiveReturn {
                return_id: rid("R1"),
                location: loc("WH1"),
                items: vec![ReturnItemInput { line: 0, lot: Some(lot("NOPE")), qty: 1 }],
            }),
            "UNKNOWN_LOT",
        ),
        (
            "return receipt of a line not in the return",
            shipped_l(),
            Command::ReceiveReturn(ReceiveReturn {
                return_id: rid("R1"),
                location: loc("WH1"),
                items: vec![ReturnItemInput { line: 1, lot: None, qty: 1 }],
            }),
            "UNKNOWN_LINE",
        ),
        (
            "empty return receipt",
            shipped_l(),
            Command::ReceiveReturn(ReceiveReturn {
                return_id: rid("R1"),
                location: loc("WH1"),
                items: vec![],
            }),
            "INVALID_INPUT",
        ),
        (
            "inspection of a line not in the return",
            {
                let mut g = shipped_l();
                g.push(Command::ReceiveReturn(ReceiveReturn {
                    return_id: rid("R1"),
                    location: loc("WH1"),
                    items: vec![ReturnItemInput { line: 0, lot: Some(lot("L1")), qty: 1 }],
                }));
                g
            },
            Command::InspectReturn(InspectReturn {
                return_id: rid("R1"),
                items: vec![InspectionInput {
                    line: 1,
                    lot: None,
                    qty: 1,
                    disposition: Disposition::Scrap,
                }],
            }),
            "UNKNOWN_LINE",
        ),
        (
            "refund of an unknown order",
            world(),
            Command::IssueRefund(IssueRefund {
                refund: RefundId::parse("F").unwrap(),
                order: oid("X"),
                lines: vec![RefundLine { line: 0, qty: 1, amount: None, tax: None }],
                shipping: None,
                shipping_tax: None,
            }),
            "UNKNOWN_ORDER",
        ),
        (
            "refund of a cancelled order",
            world_and([
                place("O1", "web", &[("A", 1, 100)], 0, 0),
                Command::CancelOrder(CancelOrder { order: oid("O1"), reason: CancelReason::Fraud }),
            ]),
            Command::IssueRefund(IssueRefund {
                refund: RefundId::parse("F").unwrap(),
                order: oid("O1"),
                lines: vec![RefundLine { line: 0, qty: 1, amount: None, tax: None }],
                shipping: None,
                shipping_tax: None,
            }),
            "INVALID_STATE",
        ),
        (
            "refund with no lines",
            shipped_l(),
            Command::IssueRefund(IssueRefund {
                refund: RefundId::parse("F").unwrap(),
                order: oid("O1"),
                lines: vec![],
                shipping: None,
                shipping_tax: None,
            }),
            "INVALID_INPUT",
        ),
        (
            "payment on a cancelled order",
            world_and([
                place("O1", "web", &[("A", 1, 100)], 0, 0),
                Command::CancelOrder(CancelOrder { order: oid("O1"), reason: CancelReason::Fraud }),
            ]),
            Command::CapturePayment(CapturePayment {
                order: oid("O1"),
                payment: PaymentId::parse("P").unwrap(),
                amount: usd(100),
                cumulative: false,
            }),
            "UNKNOWN_ORDER",
        ),
        (
            "payout of an unknown settlement",
            world(),
            Command::SettlePayout(SettlePayout {
                settlement: SettlementId::parse("S").unwrap(),
                amount: usd(1),
                deposit_date: date("2026-03-02"),
            }),
            "UNKNOWN_SETTLEMENT",
        ),
        (
            "settlement in another currency than its channel",
            world(),
            Command::OpenSettlement(OpenSettlement {
                settlement: SettlementId::parse("S").unwrap(),
                channel: ch("web"),
                currency: Currency::EUR,
                period_start: date("2026-03-01"),
                period_end: date("2026-03-02"),
            }),
            "CURRENCY_MISMATCH",
        ),
        (
            "hold a shipped order",
            shipped_l(),
            Command::HoldOrder(HoldOrder {
                order: oid("O1"),
                reason: tally_domain::order::HoldReason::Address,
                due_at: Timestamp::from_millis(T0 + day),
                note: String::new(),
            }),
            "INVALID_STATE",
        ),
    ];
    for (name, given, when, code) in cases {
        let r = Scenario::given(given).when(when).then_rejects(code);
        assert!(!r.to_string().is_empty(), "{name}");
    }
    // Releasing a lot from quarantine once it is past its removal date (expiry − 30 days).
    Scenario::given(world_and([
        receive_lot("WH1", "L", "L1", "2026-06-01", 2),
        Command::QuarantineStock(QuarantineStock {
            location: loc("WH1"),
            sku: sku("L"),
            lot: Some(lot("L1")),
            qty: 2,
            reason: QuarantineReason::QualityHold,
        }),
    ]))
    .at(T0 + 70 * day)
    .when(Command::ReleaseQuarantine(ReleaseQuarantine {
        location: loc("WH1"),
        sku: sku("L"),
        lot: Some(lot("L1")),
        qty: 2,
        reason: QuarantineReason::QualityHold,
    }))
    .then_rejects("LOT_EXPIRED");
}

/// Each code's text is its variant's name in SCREAMING_SNAKE_CASE, the form GraphQL gives the
/// enum's values, so `userErrors.code` and the error extensions' `code` are the same text.
#[test]
fn rejection_codes_are_their_variant_names_in_screaming_snake_case() {
    use tally_domain::rejection::RejectionCode;
    assert!(RejectionCode::ALL.len() >= 28);
    for code in RejectionCode::ALL {
        let name = format!("{code:?}");
        let mut snake = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_uppercase());
        }
        assert_eq!(code.as_str(), snake);
        assert_eq!(RejectionCode::parse(code.as_str()), Some(*code));
    }
    assert_eq!(RejectionCode::parse("NOPE"), None);
}
