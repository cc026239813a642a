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

/// How many keys not alive as of the seq a history scan walks before it reads the lifetime
/// index: always, at the first, and the store's default.
const INDEX_AFTER: [usize; 3] = [0, 1, 256];

/// Compares every view read from history as of `seq` with a replay up to `seq`, with every
/// way of reading a history scan.
fn assert_as_of_equals_replay(l: &Ledger, seq: u64) {
    // The index from the first key and the default (the churn test below covers the rest).
    assert_as_of_equals_replay_of(l, tally_projections::all(), seq, &[0, INDEX_AFTER[2]]);
}

fn assert_as_of_equals_replay_of(
    l: &Ledger,
    projections: Vec<std::sync::Arc<dyn tally_projections::Projection>>,
    seq: u64,
    index_after: &[usize],
) {
    let replay = ViewStore::replay_as_of(&l.log, projections, seq, &mut |_, _| {}).unwrap();
    for name in replay.names() {
        let replayed = replay.reader(name).unwrap();
        for &dead in index_after {
            l.store.set_dead_keys_before_index(dead);
            let historical = l.store.reader_at(name, seq).unwrap();
            assert_reads_equal(name, seq, &historical, &replayed);
        }
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
        // At the head, the history read in the state's own snapshot holds the state.
        for name in l.store.names() {
            let live = l.store.reader(name).unwrap();
            let twin = l.store.history_twin(name, &live).unwrap().unwrap();
            assert!(twin.is_historical());
            assert!(twin.scan(&[]).unwrap() == live.scan(&[]).unwrap(), "{name}: history at the head");
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

/// Records the seq of every event it applies (what a business-time answer counted).
#[derive(Debug)]
struct Seen;

impl tally_projections::Projection for Seen {
    fn name(&self) -> &'static str {
        "seen"
    }
    fn version(&self) -> u32 {
        1
    }
    fn apply(
        &self,
        tx: &mut tally_projections::Tx<'_>,
        a: &tally_projections::Applied<'_>,
    ) -> Result<(), tally_projections::ApplyError> {
        tx.put_raw(a.seq.to_be_bytes().to_vec(), Vec::new());
        Ok(())
    }
}

fn with_seen() -> Vec<std::sync::Arc<dyn tally_projections::Projection>> {
    let mut projections = tally_projections::all();
    projections.push(std::sync::Arc::new(Seen));
    projections
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    /// An answer in business time (`occurredAt` T, known at seq R) counts exactly the events up
    /// to R that occurred by T, late ones included; and when those are a prefix of the log
    /// (facts arrived in order), it is byte for byte the view as of the end of that prefix.
    #[test]
    fn business_time_counts_exactly_the_events_that_occurred_by_then(
        ops in prop::collection::vec((op(), prop::option::weighted(0.2, 1..48_i64)), 1..40),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 4),
    ) {
        let mut l = Ledger::with(with_seen());
        l.run_all(world());
        for (op, late_hours) in &ops {
            if let Op::Wait(hours) = op {
                let now = l.now + hours * HOUR_MS;
                l.at(now);
            }
            // A late fact: recorded now, occurred hours ago.
            let now = l.now;
            if let Some(hours) = late_hours {
                l.at(now - hours * HOUR_MS);
            }
            for c in commands(op) {
                let _rejected_is_fine = l.append(&c);
            }
            l.at(now);
        }
        l.store.catch_up(&l.log, None).unwrap();
        let head = l.head();
        let occurred: Vec<i64> = (1..=head)
            .map(|seq| l.log.get(seq).unwrap().unwrap().occurred_at_ms())
            .collect();
        let mut times: Vec<i64> = occurred.clone();
        times.sort_unstable();
        for (t_pick, r_pick) in &picks {
            // T on an occurred time (ties count), R anywhere up to the head.
            let by = times[t_pick.index(times.len())];
            let known = r_pick.index(usize::try_from(head).unwrap() + 1) as u64;
            let store =
                ViewStore::replay_occurred_by(&l.log, with_seen(), known, by, &mut |_, _| {})
                    .unwrap();
            let counted: Vec<u64> = state(&store.reader("seen").unwrap())
                .into_iter()
                .map(|(k, _)| u64::from_be_bytes(k.try_into().unwrap()))
                .collect();
            let expected: Vec<u64> =
                (1..=known).filter(|s| occurred[usize::try_from(*s - 1).unwrap()] <= by).collect();
            prop_assert_eq!(&counted, &expected);
            prop_assert_eq!(store.reader("seen").unwrap().applied(), known);
            // In order: the same as the view as of the last of them, for every view.
            let prefix = expected.len() as u64;
            if expected.iter().copied().eq(1..=prefix) {
                for name in tally_projections::all().iter().map(|p| p.name()) {
                    let business = state(&store.reader(name).unwrap());
                    let logged = state(&l.store.reader_at(name, prefix).unwrap());
                    prop_assert!(business == logged, "{} at T {} R {}", name, by, known);
                }
            }
        }
    }
}

/// Puts, updates and deletes keys at random (from a seed and each event's seq): many keys
/// that come and go, as the index keys of a shop's orders do, a key deleted and written
/// again by one event, and a hot key with long runs of versions.
#[derive(Debug)]
struct Churn {
    seed: u64,
}

impl Churn {
    /// A number drawn from the seed, a seq and a salt (splitmix64's finaliser).
    fn draw(&self, seq: u64, salt: u64) -> u64 {
        let mut z = self.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.rotate_left(32);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl tally_projections::Projection for Churn {
    fn name(&self) -> &'static str {
        "churn"
    }
    fn version(&self) -> u32 {
        1
    }
    fn apply(
        &self,
        tx: &mut tally_projections::Tx<'_>,
        a: &tally_projections::Applied<'_>,
    ) -> Result<(), tally_projections::ApplyError> {
        for salt in 0..=self.draw(a.seq, 99) % 3 {
            let n = self.draw(a.seq, salt);
            let family: &[u8] = [&b"a"[..], b"b", b"c\0x"][usize::try_from(n % 3).unwrap()];
            let key = tally_projections::key(&[family, format!("{:02}", (n >> 8) % 24).as_bytes()]);
            match (tx.get_raw(&key)?, (n >> 16) % 4) {
                (None, _) => tx.put_raw(key, a.seq.to_be_bytes().to_vec()),
                (Some(_), 0) => tx.put_raw(key, a.seq.to_le_bytes().to_vec()),
                (Some(_), 1) => {
                    // Deleted and written again within the event: one version, a value.
                    tx.delete(key.clone());
                    tx.put_raw(key, vec![1]);
                }
                (Some(_), _) => tx.delete(key),
            }
        }
        let hot = b"hot".to_vec();
        if self.draw(a.seq, 7).is_multiple_of(90) {
            tx.delete(hot);
        } else {
            tx.add(hot, 1)?;
        }
        Ok(())
    }
}

fn churn(seed: u64) -> Vec<std::sync::Arc<dyn tally_projections::Projection>> {
    vec![std::sync::Arc::new(Churn { seed })]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]
    /// Ranges whose keys come and go read as of any seq exactly as a replay, whether a scan
    /// walks the history or reads the lifetime index, at chunk edges and inside chunks.
    #[test]
    fn churning_ranges_read_as_of_any_seq_equal_a_replay_to_it(
        seed in any::<u64>(),
        receipts in 120..200_usize,
        catch_up_every in 1..40_usize,
        picks in prop::collection::vec(any::<prop::sample::Index>(), 6),
    ) {
        let mut l = Ledger::with(churn(seed));
        l.run_all(world());
        for i in 0..receipts {
            l.append(&receive("WH1", "A", 1)).unwrap();
            if i % catch_up_every == 0 {
                l.store.catch_up(&l.log, None).unwrap();
            }
        }
        l.store.catch_up(&l.log, None).unwrap();
        let head = l.head();
        let mut seqs = BTreeSet::from([1, head / 2, head.saturating_sub(1)]);
        seqs.extend(picks.iter().map(|p| p.index(usize::try_from(head).unwrap()) as u64 + 1));
        for seq in seqs {
            assert_as_of_equals_replay_of(&l, churn(seed), seq, &INDEX_AFTER);
        }
    }
}
