//! Rebuild equals incremental, byte for byte: a store caught up in small steps holds exactly
//! the bytes of a store caught up in one go, for every projection; and an event a projection
//! cannot apply is quarantined for it alone.

use std::sync::Arc;

use proptest::prelude::*;
use tally_domain::Command;
use tally_domain::inventory::QuarantineReason;
use tally_domain::order::{CancelReason, HoldReason};
use tally_domain::returns::Disposition;
use tally_log::Log;
use tally_projections::{Applied, ApplyError, Projection, Tx, ViewStore, key};

use crate::support::*;

/// Catches a fresh store up in steps of `step` seqs and another in one go; compares dumps.
fn assert_steps_equal_one_go(log: &Log, step: u64) {
    let head = log.head().seq;
    let stepped = ViewStore::temporary(tally_projections::all()).unwrap();
    let mut at = 0;
    while at < head {
        at = (at + step).min(head);
        stepped.catch_up(log, Some(at)).unwrap();
    }
    let one_go = ViewStore::temporary(tally_projections::all()).unwrap();
    one_go.catch_up(log, None).unwrap();
    for name in one_go.names() {
        let a = stepped.dump(name).unwrap();
        let b = one_go.dump(name).unwrap();
        assert!(a == b, "view '{name}' differs: {} vs {} keys", a.len(), b.len());
        assert!(one_go.quarantined(name).unwrap().is_empty(), "{name} quarantined events");
    }
}

#[test]
fn scenarios_rebuild_byte_for_byte() {
    let mut l = Ledger::new();
    l.run_all(web_sale_to_payout());
    l.run(receive("WH1", "A", 10));
    l.run(safety("WH1", "A", 2));
    l.run(reorder("WH1", "A", 8, 24));
    l.run(reorder("WH2", "L", 3, 10));
    l.run_all(order_flow("W1", "edi", T0, "A", 6));
    l.run_all(order_flow("D1", "web", T0, "A", 20));
    l.run(hold("W1", HoldReason::Credit, T0 + HOUR_MS));
    l.run(cancel("D1", CancelReason::Stockout));
    l.run(receive_lot("WH2", "L", "L1", "2027-01-01", 5));
    l.run_all(order_flow("D3", "web", T0, "L", 3));
    l.run(recall("L", "L1"));
    l.run(count_tolerance(tally_domain::master::AbcClass::A, 1, Some("0.05")));
    l.run(cycle_count("WH1", "A", 9));
    l.run(count_tolerance(tally_domain::master::AbcClass::A, 0, None));
    l.run(reorder("WH2", "L", 0, 0));
    // Every view is compared below, the general ledger among them (and it has content).
    assert!(l.store.names().contains(&"ledger"));
    assert!(l.store.dump("ledger").unwrap().len() > 20);
    for step in [1, 2, 7] {
        assert_steps_equal_one_go(&l.log, step);
    }
    // The live store (caught up command by command) equals a rebuild too.
    for name in l.store.names() {
        let live = l.store.dump(name).unwrap();
        l.store.rebuild(name, &l.log, &mut |_, _| {}).unwrap();
        assert!(live == l.store.dump(name).unwrap(), "view '{name}' changed on rebuild");
    }
}

#[derive(Debug, Clone)]
pub enum Op {
    Receive(usize, usize, i64),
    Safety(usize, i64),
    Reorder(usize, usize, i64),
    Place(usize, usize, usize, i64),
    Validate(usize),
    Allocate(usize),
    Pick(usize),
    Pack(usize),
    Ship(usize),
    Deliver(usize),
    Cancel(usize, usize),
    Hold(usize),
    Release(usize),
    Quarantine(usize, i64),
    Recall(usize),
    Count(usize, i64),
    Capture(usize),
    Return(usize, usize),
    Wait(i64),
}

const LOTS: [(&str, &str); 2] = [("L1", "2027-01-01"), ("L2", "2027-06-01")];
const LOCS: [&str; 2] = ["WH1", "WH2"];

pub fn op() -> impl Strategy<Value = Op> {
    let o = 0..5_usize;
    prop_oneof![
        4 => (0..2_usize, 0..3_usize, 1..15_i64).prop_map(|(a, b, c)| Op::Receive(a, b, c)),
        1 => (0..2_usize, 0..4_i64).prop_map(|(a, b)| Op::Safety(a, b)),
        1 => (0..2_usize, 0..2_usize, 0..12_i64).prop_map(|(a, b, c)| Op::Reorder(a, b, c)),
        3 => (o.clone(), 0..2_usize, 0..2_usize, 1..8_i64).prop_map(|(a, b, c, d)| Op::Place(a, b, c, d)),
        3 => o.clone().prop_map(Op::Validate),
        3 => o.clone().prop_map(Op::Allocate),
        2 => o.clone().prop_map(Op::Pick),
        2 => o.clone().prop_map(Op::Pack),
        2 => o.clone().prop_map(Op::Ship),
        1 => o.clone().prop_map(Op::Deliver),
        1 => (o.clone(), 0..3_usize).prop_map(|(a, b)| Op::Cancel(a, b)),
        1 => o.clone().prop_map(Op::Hold),
        1 => o.clone().prop_map(Op::Release),
        1 => (0..2_usize, 1..4_i64).prop_map(|(a, b)| Op::Quarantine(a, b)),
        1 => (0..2_usize).prop_map(Op::Recall),
        1 => (0..2_usize, 0..20_i64).prop_map(|(a, b)| Op::Count(a, b)),
        1 => o.clone().prop_map(Op::Capture),
        1 => (o.clone(), 0..3_usize).prop_map(|(a, b)| Op::Return(a, b)),
        1 => (1..30_i64).prop_map(Op::Wait),
    ]
}

pub fn commands(op: &Op) -> Vec<Command> {
    let order = |n: &usize| format!("O{n}");
    match op {
        Op::Receive(l, s, q) => match s {
            0 => vec![receive(LOCS[*l], "A", *q)],
            n => {
                let (lt, exp) = LOTS[n - 1];
                vec![receive_lot(LOCS[*l], "L", lt, exp, *q)]
            }
        },
        Op::Safety(l, q) => vec![safety(LOCS[*l], "A", *q)],
        Op::Reorder(l, s, point) => vec![reorder(LOCS[*l], ["A", "L"][*s], *point, 24)],
        Op::Place(n, c, s, q) => {
            let channel = ["web", "edi"][*c];
            let sku_id = ["A", "L"][*s];
            vec![place(&order(n), channel, T0, &[(sku_id, *q, 1500), ("A", 1, 900)], 500, 80_000)]
        }
        Op::Validate(n) => vec![validate(&order(n))],
        Op::Allocate(n) => vec![allocate(&order(n))],
        Op::Pick(n) => vec![pick(&order(n))],
        Op::Pack(n) => vec![pack(&order(n))],
        Op::Ship(n) => vec![ship(&order(n))],
        Op::Deliver(n) => vec![deliver(&order(n))],
        Op::Cancel(n, r) => {
            let reason = [CancelReason::Customer, CancelReason::Stockout, CancelReason::Fraud][*r];
            vec![cancel(&order(n), reason)]
        }
        Op::Hold(n) => vec![hold(&order(n), HoldReason::Payment, T0 + HOUR_MS)],
        Op::Release(n) => vec![release_hold(&order(n))],
        Op::Quarantine(l, q) => {
            vec![quarantine(LOCS[*l], "A", None, *q, QuarantineReason::Damaged)]
        }
        Op::Recall(n) => vec![recall("L", LOTS[*n].0)],
        Op::Count(l, q) => vec![cycle_count(LOCS[*l], "A", *q)],
        Op::Capture(n) => vec![capture(&order(n), 1000)],
        Op::Return(n, d) => {
            let r = format!("R{n}");
            let disposition =
                [Disposition::Restock, Disposition::Quarantine, Disposition::Scrap][*d];
            vec![
                authorize_return(&r, &order(n), 1, 1),
                receive_return(&r, "WH1", 1, None, 1),
                inspect_return(&r, 1, None, 1, disposition),
                refund(&format!("F{n}"), &order(n), 1, 1),
            ]
        }
        Op::Wait(_) => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_commands_rebuild_byte_for_byte(ops in prop::collection::vec(op(), 1..60), step in 1..5_u64) {
        let mut l = Ledger::new();
        l.run_all(world());
        for op in &ops {
            if let Op::Wait(hours) = op {
                let now = l.now + hours * HOUR_MS;
                l.at(now);
            }
            for c in commands(op) {
                let _rejected_is_fine = l.append(&c);
            }
        }
        assert_steps_equal_one_go(&l.log, step);
    }
}

/// A test-only view that refuses one seq.
#[derive(Debug)]
struct Picky(u64);

impl Projection for Picky {
    fn name(&self) -> &'static str {
        "picky"
    }
    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        tx.put_raw(key(&[b"seen", &a.seq.to_be_bytes()]), Vec::new());
        if a.seq == self.0 {
            return Err(ApplyError::new(format!("cannot apply {}", a.event_type)));
        }
        Ok(())
    }
}

#[test]
fn an_event_a_view_cannot_apply_is_quarantined_for_it_alone() {
    let mut projections = tally_projections::all();
    projections.push(Arc::new(Picky(9)));
    let mut l = Ledger::with(projections);
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    l.run(receive("WH1", "A", 5));
    assert_eq!(l.log.get(9).unwrap().unwrap().event_type(), "inventory.received");
    assert_eq!(
        l.store.quarantined("picky").unwrap(),
        vec![(9, "cannot apply inventory.received".to_owned())]
    );
    let seen: Vec<_> = l.reader("picky").scan(b"seen").unwrap();
    assert!(
        !seen.iter().any(|(k, _)| k.ends_with(&9_u64.to_be_bytes())),
        "write of seq 9 rolled back"
    );
    assert_eq!(l.store.applied("picky").unwrap(), l.head());
    for name in tally_projections::all().iter().map(|p| p.name()) {
        assert!(l.store.quarantined(name).unwrap().is_empty());
    }
    let r = l.reader("inventory");
    assert_eq!(
        tally_projections::inventory::stock(&r, "WH1", "A").unwrap().total.stock.available,
        15
    );
}

/// Counts events by `step`: a projection whose output changes with its version.
#[derive(Debug)]
struct Counter {
    version: u32,
    step: u64,
}

impl Projection for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn apply(&self, tx: &mut Tx<'_>, _: &Applied<'_>) -> Result<(), ApplyError> {
        tx.add(b"count".to_vec(), i64::try_from(self.step).unwrap()).map(drop)
    }
}

#[test]
fn a_view_built_by_another_projection_version_is_stale_until_rebuilt() {
    let mut l = Ledger::with(vec![Arc::new(Counter { version: 1, step: 1 })]);
    l.run_all(world());
    l.run(receive("WH1", "A", 3));
    let head = i64::try_from(l.head()).unwrap();
    assert_eq!(l.store.stale().unwrap(), vec![]);
    let path = l.dir().join("views");
    let reopen = |l: &mut Ledger, counter: Counter| {
        // The old store closes (and unlocks) before the new one opens.
        l.store = ViewStore::temporary(Vec::new()).unwrap();
        l.store = ViewStore::open(&path, vec![Arc::new(counter)]).unwrap();
    };

    reopen(&mut l, Counter { version: 2, step: 10 });
    let stale = l.store.stale().unwrap();
    assert_eq!(
        stale,
        vec![("counter", "built by version 1 of the projection; this binary has 2".to_owned())]
    );
    // The old generation keeps serving, caught up by the code this binary has, until the
    // rebuild swaps.
    l.run(receive("WH1", "A", 1));
    let later = i64::try_from(l.head()).unwrap();
    assert_eq!(l.reader("counter").counter(b"count").unwrap(), head + 10 * (later - head));
    l.store.rebuild("counter", &l.log, &mut |_, _| {}).unwrap();
    assert_eq!(l.reader("counter").counter(b"count").unwrap(), later * 10);
    assert_eq!(l.store.stale().unwrap(), vec![]);

    reopen(&mut l, Counter { version: 2, step: 10 });
    assert_eq!(l.store.stale().unwrap(), vec![], "the version is recorded with the swap");
    reopen(&mut l, Counter { version: 1, step: 1 });
    assert_eq!(l.store.stale().unwrap().len(), 1, "a downgrade is a change too");
}
