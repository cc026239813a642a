//! Returns: authorise, receive, inspect with each disposition, close.

use tally_domain::command::*;
use tally_domain::inventory::QuarantineReason;
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::order::CancelReason;
use tally_domain::returns::Disposition;

use crate::support::*;

fn delivered() -> Vec<Command> {
    world_and(
        [receive("WH1", "A", 5)].into_iter().chain(allocated_order("O1", "web", "A", 3)).chain([
            pick("O1"),
            pack("O1"),
            ship("O1"),
            deliver("O1"),
        ]),
    )
}

fn authorize(id: &str, qty: i64) -> Command {
    Command::AuthorizeReturn(AuthorizeReturn {
        return_id: rid(id),
        order: oid("O1"),
        lines: vec![LineQty { line: 0, qty }],
    })
}
fn receive_ret(id: &str, l: &str, qty: i64) -> Command {
    Command::ReceiveReturn(ReceiveReturn {
        return_id: rid(id),
        location: loc(l),
        items: vec![ReturnItemInput { line: 0, lot: None, qty }],
    })
}
fn inspect(id: &str, items: &[(i64, Disposition)]) -> Command {
    Command::InspectReturn(InspectReturn {
        return_id: rid(id),
        items: items
            .iter()
            .map(|(qty, disposition)| InspectionInput {
                line: 0,
                lot: None,
                qty: *qty,
                disposition: *disposition,
            })
            .collect(),
    })
}
fn close(id: &str) -> Command {
    Command::CloseReturn(ReturnRef { return_id: rid(id) })
}

#[test]
fn authorize_and_its_rejections() {
    Scenario::given(delivered()).when(authorize("R1", 2)).then_types(&["return.authorized"]);
    Scenario::given(delivered())
        .and(authorize("R1", 2))
        .when(authorize("R2", 2))
        .then_rejects("EXCEEDS_OUTSTANDING");
    Scenario::given(delivered())
        .and(authorize("R1", 1))
        .when(authorize("R1", 1))
        .then_rejects("DUPLICATE_ID");
    Scenario::given(delivered()).when(authorize("R1", 0)).then_rejects("INVALID_QUANTITY");
    Scenario::given(delivered())
        .when(Command::AuthorizeReturn(AuthorizeReturn {
            return_id: rid("R1"),
            order: oid("O1"),
            lines: vec![LineQty { line: 3, qty: 1 }],
        }))
        .then_rejects("UNKNOWN_LINE");
    Scenario::given(world())
        .when(Command::AuthorizeReturn(AuthorizeReturn {
            return_id: rid("R1"),
            order: oid("X"),
            lines: vec![LineQty { line: 0, qty: 1 }],
        }))
        .then_rejects("UNKNOWN_ORDER");
    Scenario::given(world_and([
        place("O1", "web", &[("A", 1, 100)], 0, 0),
        Command::CancelOrder(CancelOrder { order: oid("O1"), reason: CancelReason::Customer }),
    ]))
    .when(authorize("R1", 1))
    .then_rejects("INVALID_STATE");
}

#[test]
fn receive_into_returned() {
    let s = Scenario::given(delivered()).and(authorize("R1", 2));
    let before = s.state.on_hand(&loc("WH1"), &sku("A"));
    let (_, state) = s.when(receive_ret("R1", "WH1", 2)).then_types(&["return.received"]);
    assert_eq!(state.stock(&key("WH1", "A", None)).returned, 2);
    assert_eq!(state.on_hand(&loc("WH1"), &sku("A")), before + 2);
    Scenario::given(delivered())
        .and(authorize("R1", 2))
        .when(receive_ret("R1", "WH1", 3))
        .then_rejects("EXCEEDS_OUTSTANDING");
    Scenario::given(delivered())
        .and(authorize("R1", 2))
        .when(receive_ret("R1", "NOPE", 1))
        .then_rejects("UNKNOWN_LOCATION");
    Scenario::given(delivered())
        .and(authorize("R1", 2))
        .and(receive_ret("R1", "WH1", 1))
        .when(receive_ret("R1", "WH2", 1))
        .then_rejects("INVALID_STATE");
    Scenario::given(delivered()).when(receive_ret("R9", "WH1", 1)).then_rejects("UNKNOWN_RETURN");
}

#[test]
fn inspect_with_each_disposition_then_close() {
    let s = Scenario::given(delivered()).and(authorize("R1", 3)).and(receive_ret("R1", "WH1", 3));
    let inventory_before = s.state.balance(Account::Inventory, Currency::USD).minor();
    let cogs_before = s.state.balance(Account::CostOfGoodsSold, Currency::USD).minor();
    let (_, state) = s
        .when(inspect(
            "R1",
            &[(1, Disposition::Restock), (1, Disposition::Quarantine), (1, Disposition::Scrap)],
        ))
        .then_types(&["return.inspected", "journal.entry_posted"]);
    let st = state.stock(&key("WH1", "A", None));
    assert_eq!(st.returned, 0);
    assert_eq!(st.available, 2 + 1);
    assert_eq!(st.quarantined.get(&QuarantineReason::ReturnInspection), Some(&1));
    // Restocked and quarantined units are back in inventory value at standard cost 20.00.
    assert_eq!(state.balance(Account::Inventory, Currency::USD).minor(), inventory_before + 4_000);
    assert_eq!(state.balance(Account::CostOfGoodsSold, Currency::USD).minor(), cogs_before - 4_000);
    let (_, state) =
        Scenario { state, ctx: ctx_at(T0) }.when(close("R1")).then_types(&["return.closed"]);
    assert!(state.return_(&rid("R1")).is_none());
}

#[test]
fn inspection_and_close_rejections() {
    let s = delivered();
    Scenario::given(s.clone())
        .and(authorize("R1", 2))
        .when(inspect("R1", &[(1, Disposition::Restock)]))
        .then_rejects("INVALID_STATE");
    Scenario::given(s.clone())
        .and(authorize("R1", 2))
        .and(receive_ret("R1", "WH1", 1))
        .when(inspect("R1", &[(2, Disposition::Restock)]))
        .then_rejects("EXCEEDS_OUTSTANDING");
    Scenario::given(s.clone())
        .and(authorize("R1", 2))
        .and(receive_ret("R1", "WH1", 1))
        .when(close("R1"))
        .then_rejects("INVALID_STATE");
    Scenario::given(s.clone()).when(close("R1")).then_rejects("UNKNOWN_RETURN");
    Scenario::given(s)
        .when(inspect("R1", &[(1, Disposition::Scrap)]))
        .then_rejects("UNKNOWN_RETURN");
}

#[test]
fn restock_fills_backorders() {
    let s = Scenario::given(delivered())
        .and(authorize("R1", 1))
        .and(receive_ret("R1", "WH1", 1))
        .and(place("E1", "edi", &[("A", 3, 100)], 0, 0))
        .and(validate("E1"))
        .and(allocate("E1"));
    assert_eq!(s.state.backorders().count(), 1);
    let (_, state) = s.when(inspect("R1", &[(1, Disposition::Restock)])).then_types(&[
        "return.inspected",
        "journal.entry_posted",
        "order.line_allocated",
    ]);
    assert_eq!(state.order(&oid("E1")).unwrap().lines[0].allocated, 3);
}

#[test]
fn lot_tracked_returns_need_lots() {
    let s = world_and([
        receive_lot("WH1", "L", "L1", "2026-09-01", 2),
        place("O1", "web", &[("L", 1, 100)], 0, 0),
        validate("O1"),
        allocate("O1"),
        pick("O1"),
        pack("O1"),
        ship("O1"),
        authorize("R1", 1),
    ]);
    Scenario::given(s.clone()).when(receive_ret("R1", "WH1", 1)).then_rejects("LOT_REQUIRED");
    Scenario::given(s)
        .when(Command::ReceiveReturn(ReceiveReturn {
            return_id: rid("R1"),
            location: loc("WH1"),
            items: vec![ReturnItemInput { line: 0, lot: Some(lot("L1")), qty: 1 }],
        }))
        .then_types(&["return.received"]);
}

/// A returned unit of a recalled lot is never restocked to available: its restock lands in
/// quarantine (reason `recalled`).
#[test]
fn a_restocked_return_of_a_recalled_lot_goes_to_quarantine() {
    let shipped = world_and(
        [receive_lot("WH1", "L", "X", "2027-01-01", 5)]
            .into_iter()
            .chain(allocated_order("O1", "web", "L", 2))
            .chain([pick("O1"), pack("O1"), ship("O1"), deliver("O1")]),
    );
    let history = shipped.into_iter().chain([
        authorize("R1", 1),
        Command::ReceiveReturn(ReceiveReturn {
            return_id: rid("R1"),
            location: loc("WH1"),
            items: vec![ReturnItemInput { line: 0, lot: Some(lot("X")), qty: 1 }],
        }),
        Command::RecallLot(RecallLot { sku: sku("L"), lot: lot("X") }),
    ]);
    let restock = Command::InspectReturn(InspectReturn {
        return_id: rid("R1"),
        items: vec![InspectionInput {
            line: 0,
            lot: Some(lot("X")),
            qty: 1,
            disposition: Disposition::Restock,
        }],
    });
    let (_, state) = Scenario::given(history).when(restock).then_types(&[
        "return.inspected",
        "journal.entry_posted",
        "inventory.quarantined",
    ]);
    let s = state.stock(&key("WH1", "L", Some("X")));
    assert_eq!(s.available, 0);
    assert_eq!(s.quarantined.get(&QuarantineReason::Recalled), Some(&4));
}
