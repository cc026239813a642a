//! The Merkle tree and signed checkpoints as the log keeps them: cadence, proofs against signed
//! roots, bundles that verify offline, and the relink attack caught by a saved checkpoint.

use crate::support::{event, fill};
use crate::tamper::{relink, tamper};
use std::path::Path;
use tally_log::tally_proof::bundle::UnsignedTail;
use tally_log::tally_proof::bundle::dir::verify_dir;
use tally_log::tally_proof::checkpoint::SignedCheckpoint;
use tally_log::tally_proof::hash::leaf_hash;
use tally_log::tally_proof::key::LedgerKey;
use tally_log::tally_proof::merkle::{MemoryNodes, verify_consistency, verify_inclusion};
use tally_log::{AppendRequest, CheckpointPolicy, Config, Corruption, Error, Log, VerifyOptions};

fn key() -> LedgerKey {
    LedgerKey::generate("tally-test").unwrap()
}

fn signed_config(key: &LedgerKey, every_events: u64) -> Config {
    let mut policy = CheckpointPolicy::new(key.clone(), "tally.test/ledger");
    policy.every_events = every_events;
    policy.every_ms = 0;
    Config { checkpoints: Some(policy), ..Config::default() }
}

fn open_signed(dir: &Path, key: &LedgerKey, every_events: u64) -> Log {
    Log::open(dir, signed_config(key, every_events)).unwrap()
}

#[test]
fn checkpoints_are_cut_by_count_signed_and_match_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 10);
    fill(&log, 35, 3);
    let checkpoints = log.checkpoints().unwrap();
    let sizes: Vec<u64> = checkpoints.iter().map(|c| c.unverified().size).collect();
    assert_eq!(sizes, vec![10, 20, 30], "single-event appends cross each multiple of 10");

    let mut reference = MemoryNodes::new();
    let events: Vec<_> = log.read(..).map(Result::unwrap).collect();
    for e in &events {
        reference.push(leaf_hash(&e.hash()));
    }
    for signed in &checkpoints {
        let cp = signed.verify(key.public_key().verifying_key()).unwrap();
        assert_eq!(cp.root, log.root_at(cp.size).unwrap());
        assert_eq!(cp.head_hash, events[(cp.size - 1) as usize].hash());
        assert_eq!(cp.counts.values().sum::<u64>(), cp.size);
        assert_eq!(cp.counts.get("test.happened"), Some(&cp.size));
    }
    assert_eq!(log.root_at(35).unwrap(), reference.root());

    // On demand: a new checkpoint at the head, then the same one again.
    let at_head = log.checkpoint_blocking().unwrap();
    assert_eq!(at_head.unverified().size, 35);
    assert_eq!(log.checkpoint_blocking().unwrap(), at_head);
    assert_eq!(log.checkpoints().unwrap().len(), 4);
}

/// Issue #16: the checkpoint covering an answer is found by one seek, and is the same one the
/// scan of every checkpoint finds, for every seq (keys are big-endian, so 256 sorts after 255).
#[test]
fn the_checkpoint_at_or_below_a_size_is_the_newest_that_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 85);
    fill(&log, 600, 1);
    let all = log.checkpoints().unwrap();
    let sizes: Vec<u64> = all.iter().map(|c| c.unverified().size).collect();
    assert_eq!(sizes, vec![85, 170, 255, 340, 425, 510, 595]);
    for seq in 0..=601 {
        let scanned = all.iter().rev().find(|c| c.unverified().size <= seq);
        assert_eq!(log.checkpoint_at_or_below(seq).unwrap().as_ref(), scanned, "seq {seq}");
    }
    assert_eq!(log.latest_checkpoint().unwrap().as_ref(), all.last());
    assert_eq!(log.checkpoint_at_or_below(u64::MAX).unwrap().as_ref(), all.last());
    // Pages by one range read: the same checkpoints, nearest first, as a slice of the scan.
    assert_eq!(log.checkpoint_count().unwrap(), 7);
    let sizes_of = |page: Vec<tally_proof::checkpoint::SignedCheckpoint>| -> Vec<u64> {
        page.iter().map(|c| c.unverified().size).collect()
    };
    assert_eq!(sizes_of(log.checkpoints_page(true, None, 3).unwrap()), vec![85, 170, 255]);
    assert_eq!(sizes_of(log.checkpoints_page(true, Some(255), 3).unwrap()), vec![340, 425, 510]);
    assert_eq!(
        sizes_of(log.checkpoints_page(true, Some(256), 9).unwrap()),
        vec![340, 425, 510, 595]
    );
    assert_eq!(sizes_of(log.checkpoints_page(false, None, 2).unwrap()), vec![595, 510]);
    assert_eq!(sizes_of(log.checkpoints_page(false, Some(255), 9).unwrap()), vec![170, 85]);
    assert!(log.checkpoints_page(false, Some(85), 9).unwrap().is_empty());
    assert!(log.checkpoints_page(false, Some(0), 9).unwrap().is_empty());
    assert!(log.checkpoints_page(true, Some(u64::MAX), 9).unwrap().is_empty());
    let empty = tempfile::tempdir().unwrap();
    let none = open_signed(empty.path(), &key, 85);
    assert_eq!(none.latest_checkpoint().unwrap(), None);
    assert_eq!(none.checkpoint_at_or_below(10).unwrap(), None);
}

#[test]
fn proofs_from_the_store_verify_against_signed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 0);
    fill(&log, 21, 4);
    let old = log.checkpoint_blocking().unwrap().verify(key.public_key().verifying_key()).unwrap();
    fill_more(&log, 22, 50);
    let new = log.checkpoint_blocking().unwrap().verify(key.public_key().verifying_key()).unwrap();
    assert_eq!((old.size, new.size), (21, 50));
    for seq in 1..=new.size {
        let event = log.get(seq).unwrap().unwrap();
        let proof = log.inclusion_proof(seq, new.size).unwrap();
        assert!(proof.path.len() <= 6, "⌈log2 50⌉ = 6 hashes at most");
        verify_inclusion(&proof, &event.hash(), seq - 1, new.size, &new.root).unwrap();
        assert!(verify_inclusion(&proof, &event.hash(), seq - 1, new.size, &old.root).is_err());
    }
    let consistency = log.consistency_proof(old.size, new.size).unwrap();
    verify_consistency(&consistency, old.size, new.size, &old.root, &new.root).unwrap();
    assert!(matches!(log.inclusion_proof(51, 50), Err(Error::Invalid(_))));
    assert!(matches!(log.consistency_proof(10, 51), Err(Error::Invalid(_))));
}

fn fill_more(log: &Log, from: u64, to: u64) {
    for i in from..=to {
        let e = event(u128::from(i), "more", format!("{i}").as_bytes());
        log.append_blocking(AppendRequest::new(vec![e])).unwrap();
    }
}

#[test]
fn frontier_and_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let root = {
        let log = open_signed(dir.path(), &key, 7);
        fill(&log, 20, 2);
        let root = log.root_at(20).unwrap();
        log.close();
        root
    };
    let log = open_signed(dir.path(), &key, 7);
    assert_eq!(log.root_at(20).unwrap(), root);
    fill_more(&log, 21, 30);
    let report = log.verify(VerifyOptions::full()).unwrap();
    assert_eq!(report.root, Some(log.root_at(30).unwrap()));
    let latest = log.latest_checkpoint().unwrap().unwrap();
    let cp = latest.verify(key.public_key().verifying_key()).unwrap();
    assert_eq!(cp.size, 28, "cut at 7, 14, 21, 28 across the restart");
    assert_eq!(cp.counts.values().sum::<u64>(), 28);
}

#[test]
fn an_exported_bundle_verifies_offline_and_a_tampered_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 16);
    fill(&log, 40, 5);
    let upto = log.checkpoint_blocking().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let summary = log.export_bundle(bundle.path(), &upto).unwrap();
    assert_eq!((summary.event_count, summary.checkpoint_count), (40, 3));
    let report =
        verify_dir(bundle.path(), Some(&key.public_key()), None, UnsignedTail::Refuse).unwrap();
    assert_eq!(report.event_count, 40);
    assert_eq!(report.root, log.root_at(40).unwrap());
    assert_eq!(report.checkpoints_verified, 3);

    // Exporting into a non-empty directory is refused.
    assert!(matches!(log.export_bundle(bundle.path(), &upto), Err(Error::Invalid(_))));

    // One changed character in one event line: the offline verifier names the event.
    let events = bundle.path().join("events.ndjson");
    let text = std::fs::read_to_string(&events).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let line = &mut lines[16];
    let at = line.rfind("\"}").unwrap() - 2;
    let replacement = if &line[at..=at] == "A" { "B" } else { "A" };
    line.replace_range(at..=at, replacement);
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let err =
        verify_dir(bundle.path(), Some(&key.public_key()), None, UnsignedTail::Refuse).unwrap_err();
    assert!(err.to_string().contains("17"), "names seq 17: {err}");
}

/// An export is covered by a signed checkpoint of its last event, or refused: an empty log, or
/// a checkpoint another key signed, gives no bundle.
#[test]
fn an_export_is_signed_to_its_last_event_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 16);
    let empty = log.checkpoint_blocking().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let error = log.export_bundle(bundle.path(), &empty).unwrap_err();
    assert!(error.to_string().contains("the log holds no events"), "{error}");

    fill(&log, 20, 5);
    let upto = log.checkpoint_blocking().unwrap();
    let stranger = LedgerKey::generate("tally-test").unwrap();
    let forged =
        SignedCheckpoint::sign(upto.unverified(), stranger.signing_key(), "tally-test").unwrap();
    let error = log.export_bundle(bundle.path(), &forged).unwrap_err();
    assert!(error.to_string().contains("not signed by this log's key"), "{error}");

    // The checkpoints stored so far (size 0, the cadence's) and the one at the head; the
    // bundle ends at the head.
    let summary = log.export_bundle(bundle.path(), &upto).unwrap();
    assert_eq!(summary.event_count, 20);
    assert_eq!(summary.checkpoint_count, log.checkpoints().unwrap().len());
    let report =
        verify_dir(bundle.path(), Some(&key.public_key()), None, UnsignedTail::Refuse).unwrap();
    assert_eq!((report.signed_event_count, report.unsigned_event_count), (20, 0));
}

/// The relink attack with the tree recomputed too: nothing in the store disagrees, so full
/// verification passes; a checkpoint the auditor saved before the rewrite catches it.
#[test]
fn relink_with_tree_is_caught_by_a_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let saved: SignedCheckpoint = {
        let log = open_signed(dir.path(), &key, 0);
        fill(&log, 40, 4);
        let saved = log.checkpoint_blocking().unwrap();
        log.close();
        saved
    };
    let saved_text = saved.to_text();
    tamper(dir.path(), |db| relink(db, 10, true));
    crate::tamper::forge_mark(dir.path());

    let log = open_signed(dir.path(), &key, 0);
    log.verify(VerifyOptions::full()).expect("a thorough relink leaves the store self-consistent");
    let trusted = SignedCheckpoint::parse(&saved_text)
        .unwrap()
        .verify(key.public_key().verifying_key())
        .unwrap();
    let err =
        log.verify(VerifyOptions { against: Some(trusted), ..VerifyOptions::full() }).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt(Corruption::Checkpoint { size: 40, reason }) if reason.contains("root mismatch")),
        "{err}"
    );

    // Truncation below a saved checkpoint is caught the same way.
    let cp = saved.unverified().clone();
    let shorter = tally_log::tally_proof::checkpoint::Checkpoint { size: 41, head_seq: 41, ..cp };
    let err =
        log.verify(VerifyOptions { against: Some(shorter), ..VerifyOptions::full() }).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::Checkpoint { size: 41, .. })), "{err}");
}

#[test]
fn verify_and_export_report_progress_up_to_their_snapshot_and_a_locked_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let log = open_signed(dir.path(), &key, 0);
    for batch in 0..20u64 {
        let events = (0..500u64)
            .map(|i| {
                let n = batch * 500 + i + 1;
                event(u128::from(n), &format!("s-{}", n % 7), format!("payload {n}").as_bytes())
            })
            .collect();
        log.append_blocking(AppendRequest::new(events)).unwrap();
    }
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let report = log
        .verify_with_progress(VerifyOptions::full(), &mut |done, total| calls.push((done, total)))
        .unwrap();
    assert_eq!(report.last_seq, 10_000);
    assert!(calls.len() >= 2, "a call per 4096 frames and one at the end: {calls:?}");
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");
    assert!(calls.iter().all(|&(_, total)| total == 10_000), "{calls:?}");
    assert_eq!(calls.last(), Some(&(10_000, 10_000)));

    let upto = log.checkpoint_blocking().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let mut calls: Vec<(u64, u64)> = Vec::new();
    log.export_bundle_with_progress(bundle.path(), &upto, &mut |done, total| {
        calls.push((done, total));
    })
    .unwrap();
    assert_eq!(calls.first(), Some(&(4096, 10_000)));
    assert_eq!(calls.last(), Some(&(10_000, 10_000)));

    // A second open of the same store while this one holds it: the lock, named as such.
    let second = Log::open(dir.path(), signed_config(&key, 0)).map(drop).unwrap_err();
    assert!(second.is_locked(), "{second}");
    assert!(!second.is_corruption() && second.damage().is_none());
    log.close();
}
