//! Reads as of an earlier seq from a view's history answer exactly what a replay of the log up
//! to that seq holds, byte for byte, for every read a query can make (get, prefix scan, pages
//! both ways, quarantine), on random histories.

use proptest::prelude::*;
use std::collections::BTreeSet;
use tally_projections::{CHECKPOINT_KEY, ViewReader, ViewStore};

use crate::rebuild::{Op, commands, op};
use crate::support::*;

/// Every (key, value) of a view's state, without the store's checkpoint key.
fn state(reader: &ViewReader) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all = reader.scan(&[]).unwrap();
    all.retain(|(k, _)| k != CHECKPOINT_KEY);
    all
}

/// The prefixes a query would scan under: every 0x00-separated head of every key, and the
/// empty prefix.
fn prefixes(keys: &BTreeSet<Vec<u8>>) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::from([Vec::new()]);
    for key in keys {
        for (i, b) in key.iter().enumerate() {
            if *b == 0 {
                out.insert(key[..=i].to_vec());
            }
        }
        out.insert(key[..key.len().min(1)].to_vec());
    }
    out
}

/// Asserts that `historical` (from history) reads exactly as `replayed` (from a replay).
fn assert_reads_equal(name: &str, seq: u64, historical: &ViewReader, replayed: &ViewReader) {
    assert!(historical.is_historical() || historical.applied() == seq);
    assert_eq!(historical.applied(), replayed.applied(), "{name} at {seq}: applied");
    let expected = state(replayed);
    assert!(state(historical) == expected, "{name} at {seq}: state differs");
    assert_eq!(historical.quarantine_summary().unwrap(), replayed.quarantine_summary().unwrap());
    // Keys that existed at some point (from the live state) and keys of this state.
    let mut keys: BTreeSet<Vec<u8>> = expected.iter().map(|(k, _)| k.clone()).collect();
    keys.insert(b"no such key".to_vec());
    for key in &keys {
        assert_eq!(historical.get_raw(key).unwrap(), replayed.get_raw(key).unwrap());
    }
    for prefix in prefixes(&keys) {
        let all = replayed.scan(&prefix).unwrap();
        assert!(historical.scan(&prefix).unwrap() == all, "{name} at {seq}: scan {prefix:?}");
        let mut cursors: Vec<Option<Vec<u8>>> = vec![None, Some(prefix.clone())];
        // Cursors at keys of the answer (at most 16 of them, spread over it).
        let stride = all.len() / 16 + 1;
        cursors.extend(all.iter().step_by(stride).map(|(k, _)| Some(k.clone())));
        for cursor in &cursors {
            for limit in [1, 2, 1000] {
                let after = cursor.as_deref();
                assert!(
                    historical.scan_after(&prefix, after, limit).unwrap()
                        == replayed.scan_after(&prefix, after, limit).unwrap(),
                    "{name} at {seq}: scan_after {prefix:?} {after:?} {limit}"
                );
                assert!(
                    historical.scan_before(&prefix, after, limit).unwrap()
                        == replayed.scan_before(&prefix, after, limit).unwrap(),
                    "{name} at {seq}: scan_before {prefix:?} {after:?} {limit}"
                );
            }
        }
    }
}

/// Compares every view read from history as of `seq` with a replay up to `seq`.
fn assert_as_of_equals_replay(l: &Ledger, seq: u64) {
    let replay =
        ViewStore::replay_as_of(&l.log, tally_projections::all(), seq, &mut |_, _| {}).unwrap();
    for name in l.store.names() {
        let historical = l.store.reader_at(name, seq).unwrap();
        let replayed = replay.reader(name).unwrap();
        assert_reads_equal(name, seq, &historical, &replayed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn reads_as_of_any_seq_equal_a_replay_to_it(
        ops in prop::collection::vec(op(), 1..50),
        catch_up_every in 1..6_usize,
        picks in prop::collection::vec(any::<prop::sample::Index>(), 4),
    ) {
        let mut l = Ledger::new();
        l.run_all(world());
        for (i, op) in ops.iter().enumerate() {
            if let Op::Wait(hours) = op {
                let now = l.now + hours * HOUR_MS;
                l.at(now);
            }
            for c in commands(op) {
                let _rejected_is_fine = l.append(&c);
            }
            // Chunks of several events: versions of one key within a chunk stay apart.
            if i % catch_up_every == 0 {
                l.store.catch_up(&l.log, None).unwrap();
            }
        }
        l.store.catch_up(&l.log, None).unwrap();
        let head = l.head();
        let mut seqs = BTreeSet::from([0, 1, head.saturating_sub(1), head]);
        seqs.extend(picks.iter().map(|p| p.index(usize::try_from(head).unwrap() + 1) as u64));
        for seq in seqs {
            assert_as_of_equals_replay(&l, seq);
        }
    }
}

#[test]
fn a_seq_the_view_has_not_applied_is_lagging_not_a_guess() {
    let mut l = Ledger::new();
    l.run_all(world());
    let before = l.head();
    l.append(&receive("WH1", "A", 3)).unwrap();
    let head = l.head();
    let err = l.store.reader_at("inventory", head).unwrap_err();
    assert!(matches!(err, tally_projections::Error::Lagging { .. }), "{err}");
    l.store.catch_up(&l.log, None).unwrap();
    let reader = l.store.reader_at("inventory", head).unwrap();
    assert!(!reader.is_historical(), "the seq the view is at reads the view itself");
    assert!(l.store.reader_at("inventory", before).unwrap().is_historical());
}

#[test]
fn a_rebuilt_view_keeps_its_history() {
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(receive("WH1", "A", 10));
    let middle = l.head();
    l.run_all(order_flow("W1", "web", T0, "A", 4));
    let before = state(&l.store.reader_at("inventory", middle).unwrap());
    l.store.rebuild("inventory", &l.log, &mut |_, _| {}).unwrap();
    let after = state(&l.store.reader_at("inventory", middle).unwrap());
    assert!(before == after, "history of the new generation differs");
    let replay =
        ViewStore::replay_as_of(&l.log, tally_projections::all(), middle, &mut |_, _| {}).unwrap();
    assert!(after == state(&replay.reader("inventory").unwrap()));
}
