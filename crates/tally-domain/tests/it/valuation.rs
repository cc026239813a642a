//! Inventory valuation: the moving weighted average pool per SKU (docs/domain.md §5), with
//! hand-computed numbers, and the invariant the property tests check after every command.

use std::collections::BTreeMap;

use tally_domain::command::*;
use tally_domain::inventory::AdjustReason;
use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_domain::returns::Disposition;
use tally_domain::{Command, State};

use crate::support::*;

/// 1200 inventory = Σ pools' value per currency, to the minor unit; each pool's units = the
/// SKU's on hand (except `returned`) + in transit; a pool's value is ≥ 0 and 0 with no units.
pub fn check_pools(state: &State) {
    let mut units: BTreeMap<String, u64> = BTreeMap::new();
    for (k, b) in state.stock_buckets() {
        *units.entry(k.sku.to_string()).or_insert(0) += b.on_hand() - b.returned + b.in_transit;
    }
    let mut value: BTreeMap<Currency, i64> = BTreeMap::new();
    for (s, pool) in state.pools() {
        assert!(pool.value.minor() >= 0, "pool of {s} below zero: {pool:?}");
        assert!(pool.units > 0, "an empty pool of {s} is kept: {pool:?}");
        *value.entry(pool.value.currency()).or_insert(0) += pool.value.minor();
        assert_eq!(units.remove(s.as_str()).unwrap_or(0), pool.units, "pool units of {s}");
    }
    assert!(units.values().all(|n| *n == 0), "units without a pool: {units:?}");
    let mut inventory: BTreeMap<Currency, i64> = BTreeMap::new();
    for (account, m) in state.balances() {
        if account == Account::Inventory {
            inventory.insert(m.currency(), m.minor());
        }
    }
    value.retain(|_, v| *v != 0);
    assert_eq!(inventory, value, "1200 inventory against Σ pool value");
}

fn receive_at(l: &str, s: &str, qty: i64, cost: i64) -> Command {
    Command::ReceiveInventory(ReceiveInventory {
        location: loc(l),
        sku: sku(s),
        lot: None,
        expiry: None,
        qty,
        unit_cost: Some(usd(cost)),
        purchase_order: None,
        po_line: None,
    })
}

fn adjust(s: &str, delta: i64) -> Command {
    Command::AdjustInventory(AdjustInventory {
        location: loc("WH1"),
        sku: sku(s),
        lot: None,
        delta,
        reason: AdjustReason::Correction,
    })
}

fn inventory(state: &State) -> i64 {
    state.balance(Account::Inventory, Currency::USD).minor()
}

#[test]
fn receipts_at_two_costs_average_and_cogs_takes_the_average() {
    // 10 @ 20.00 + 10 @ 26.00 = 460.00 for 20 units: average 23.00.
    let s = Scenario::given(world_and([
        receive_at("WH1", "A", 10, 2000),
        receive_at("WH1", "A", 10, 2600),
    ]));
    let pool = *s.state.pool(&sku("A")).unwrap();
    assert_eq!((pool.units, pool.value.minor()), (20, 46_000));
    assert_eq!(pool.average(), Some(usd(2300)));
    // Ship 5: COGS 5 × 23.00 = 115.00; 15 left worth 345.00.
    let mut more = allocated_order("O1", "web", "A", 5);
    more.extend([pick("O1"), pack("O1"), ship("O1")]);
    let mut s = s;
    for c in more {
        s = s.and(c);
    }
    assert_eq!(s.state.balance(Account::CostOfGoodsSold, Currency::USD).minor(), 11_500);
    assert_eq!(inventory(&s.state), 34_500);
    let pool = *s.state.pool(&sku("A")).unwrap();
    assert_eq!((pool.units, pool.value.minor()), (15, 34_500));
    check_pools(&s.state);
}

#[test]
fn the_last_unit_out_takes_what_is_left_and_rounding_never_strands_value() {
    // 3 units worth 10.00: the average is 3.333…; taking 1 takes 3.33 (half-even), taking the
    // next 1 takes 6.67 × 1/2 = 3.335 → 3.34 (half-even of 333.5 is 334), the last takes 3.33.
    let s =
        Scenario::given(world_and([receive_at("WH1", "A", 1, 1000), receive_at("WH1", "A", 2, 0)]))
            .and(adjust("A", -1));
    assert_eq!(s.state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 333);
    assert_eq!(inventory(&s.state), 667);
    let s = s.and(adjust("A", -1));
    assert_eq!(s.state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 333 + 334);
    let s = s.and(adjust("A", -1));
    assert_eq!(s.state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 1000);
    assert_eq!(inventory(&s.state), 0);
    assert!(s.state.pool(&sku("A")).is_none());
    check_pools(&s.state);
}

#[test]
fn the_issue_case_no_longer_ends_with_negative_inventory() {
    // Receipt at 17.00 while the standard cost is 20.00, then every unit leaves: under standard
    // cost this ended at 1200 = −30.00 with nothing on hand; at moving average it ends at 0.
    let s = Scenario::given(world_and([receive_at("WH1", "A", 10, 1700)])).and(adjust("A", -10));
    assert_eq!(inventory(&s.state), 0);
    assert_eq!(s.state.balance(Account::InventoryWriteOff, Currency::USD).minor(), 17_000);
    check_pools(&s.state);
}

#[test]
fn found_units_come_in_at_the_average_and_at_standard_cost_into_an_empty_pool() {
    // Empty pool: 2 found at the SKU's unit cost 20.00 = 40.00.
    let s = Scenario::given(world_and([adjust("A", 2)]));
    assert_eq!(inventory(&s.state), 4000);
    // Then 2 @ 26.00 → 4 worth 92.00 (avg 23.00); 1 more found at 23.00 → 115.00.
    let s = s.and(receive_at("WH1", "A", 2, 2600)).and(adjust("A", 1));
    assert_eq!(inventory(&s.state), 11_500);
    assert_eq!(s.state.balance(Account::InventoryWriteOff, Currency::USD).minor(), -6_300);
    check_pools(&s.state);
}

#[test]
fn transfers_keep_value_and_a_restocked_return_comes_back_at_the_average() {
    let mut cmds = world_and([receive_at("WH1", "A", 4, 2500)]);
    cmds.extend(allocated_order("O1", "web", "A", 2));
    cmds.extend([pick("O1"), pack("O1"), ship("O1")]);
    cmds.push(Command::ShipTransfer(ShipTransfer {
        transfer: tally_domain::ids::TransferId::parse("T1").unwrap(),
        from: loc("WH1"),
        to: loc("WH2"),
        sku: sku("A"),
        lot: None,
        qty: 1,
    }));
    let s = Scenario::given(cmds);
    // 4 @ 25.00, 2 shipped (COGS 50.00), 1 in transit: pool 2 units, 50.00.
    assert_eq!(inventory(&s.state), 5000);
    assert_eq!(s.state.pool(&sku("A")).unwrap().units, 2);
    check_pools(&s.state);
    let s = s
        .and(Command::AuthorizeReturn(AuthorizeReturn {
            return_id: rid("R1"),
            order: oid("O1"),
            lines: vec![LineQty { line: 0, qty: 2 }],
        }))
        .and(Command::ReceiveReturn(ReceiveReturn {
            return_id: rid("R1"),
            location: loc("WH1"),
            items: vec![ReturnItemInput { line: 0, lot: None, qty: 2 }],
        }));
    // Returned units are not valued until inspected.
    assert_eq!(inventory(&s.state), 5000);
    check_pools(&s.state);
    let s = s.and(Command::InspectReturn(InspectReturn {
        return_id: rid("R1"),
        items: vec![
            InspectionInput { line: 0, lot: None, qty: 1, disposition: Disposition::Restock },
            InspectionInput { line: 0, lot: None, qty: 1, disposition: Disposition::Scrap },
        ],
    }));
    // One restocked at the average 25.00 (Cr COGS), the scrapped one never re-enters value.
    assert_eq!(inventory(&s.state), 7500);
    assert_eq!(s.state.balance(Account::CostOfGoodsSold, Currency::USD).minor(), 2500);
    check_pools(&s.state);
}

#[test]
fn a_receipt_in_another_currency_than_the_pool_is_refused() {
    let eur = tally_domain::money::Money::from_minor(100, Currency::EUR);
    Scenario::given(world())
        .when(Command::ReceiveInventory(ReceiveInventory {
            location: loc("WH1"),
            sku: sku("A"),
            lot: None,
            expiry: None,
            qty: 1,
            unit_cost: Some(eur),
            purchase_order: None,
            po_line: None,
        }))
        .then_rejects("CURRENCY_MISMATCH");
}

#[test]
fn a_manual_entry_cannot_touch_the_accounts_kept_by_subledgers() {
    use tally_domain::journal::Posting;
    for account in [Account::Inventory, Account::GoodsReceivedNotInvoiced, Account::AccountsPayable]
    {
        let r = Scenario::given(world())
            .when(Command::PostJournalEntry(PostJournalEntry {
                memo: "plug".to_owned(),
                postings: vec![
                    Posting::debit(account, usd(100)),
                    Posting::credit(Account::Bank, usd(100)),
                ],
            }))
            .then_rejects("INVALID_INPUT");
        assert!(r.to_string().contains(&account.number().to_string()), "{r}");
    }
}
