//! The offline verifier: valid bundles verify; tampering, including the relink attack, is
//! caught and named.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs;

use ed25519_dalek::SigningKey;
use tally_proof::bundle::dir::{self, DirError};
use tally_proof::bundle::{BundleError, verify_log};
use tally_proof::checkpoint::{Checkpoint, SignedCheckpoint};
use tally_proof::hash::{Digest, GENESIS, chain_hash, leaf_hash};
use tally_proof::key::PublicKey;
use tally_proof::merkle::{MemoryNodes, consistency_proof};

const ORIGIN: &str = "tally.example/ledger";

/// An in-memory log: frames and their chain hashes, seq `i + 1` at position `i`.
#[derive(Clone)]
struct Log {
    frames: Vec<Vec<u8>>,
    hashes: Vec<Digest>,
}

impl Log {
    fn new(event_count: u64) -> Self {
        let frames = (1..=event_count).map(|seq| frame(seq, "order.received")).collect();
        let mut log = Self { frames, hashes: Vec::new() };
        log.rechain();
        log
    }

    /// Recomputes every chain hash from the frames (what a relinking attacker does).
    fn rechain(&mut self) {
        let mut prev = GENESIS;
        self.hashes = self
            .frames
            .iter()
            .map(|frame| {
                prev = chain_hash(&prev, frame);
                prev
            })
            .collect();
    }

    fn items(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>, Digest), Infallible>> + '_ {
        self.frames
            .iter()
            .zip(&self.hashes)
            .enumerate()
            .map(|(i, (frame, hash))| Ok((i as u64 + 1, frame.clone(), *hash)))
    }

    fn checkpoint(&self, size: u64) -> Checkpoint {
        let nodes = MemoryNodes::from_leaves(self.hashes[..size as usize].iter().map(leaf_hash));
        let mut counts = BTreeMap::new();
        counts.insert("order.received".to_owned(), size);
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: nodes.root(),
            head_seq: size,
            head_hash: if size == 0 { GENESIS } else { self.hashes[size as usize - 1] },
            time: format!("2026-11-26T15:{:02}:00Z", size % 60),
            counts,
        }
    }

    fn signed(&self, size: u64, key: &SigningKey) -> SignedCheckpoint {
        SignedCheckpoint::sign(&self.checkpoint(size), key, "tally-ledger").expect("signs")
    }
}

fn frame(seq: u64, event_type: &str) -> Vec<u8> {
    format!("{{\"seq\":{seq},\"type\":\"{event_type}\",\"qty\":{}}}", seq * 7 % 13).into_bytes()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

#[test]
fn a_valid_bundle_verifies() {
    let log = Log::new(100);
    let checkpoints: Vec<_> = [50, 10, 100, 0].iter().map(|&s| log.signed(s, &key())).collect();
    let trusted = log.checkpoint(10);
    let report = verify_log(log.items(), &checkpoints, &key().verifying_key(), Some(&trusted))
        .expect("verifies");
    assert_eq!(report.event_count, 100);
    assert_eq!(report.head_hash, log.hashes[99]);
    assert_eq!(report.root, log.checkpoint(100).root);
    assert_eq!(report.checkpoints_verified, 4);
    assert_eq!(report.latest_checkpoint.map(|c| c.size), Some(100));
    let proof = report.trusted_proof.expect("proof");
    assert_eq!((proof.old_size, proof.new_size), (10, 100));
}

#[test]
fn an_empty_bundle_verifies() {
    let log = Log::new(0);
    let report = verify_log(log.items(), &[], &key().verifying_key(), None).expect("verifies");
    assert_eq!(report.event_count, 0);
    assert_eq!(report.head_hash, GENESIS);
}

#[test]
fn the_trusted_consistency_proof_works_for_every_pair_of_sizes() {
    for size in 1..=40u64 {
        let log = Log::new(size);
        let nodes = MemoryNodes::from_leaves(log.hashes.iter().map(leaf_hash));
        for trusted_size in 0..=size {
            let trusted = log.checkpoint(trusted_size);
            let report = verify_log(log.items(), &[], &key().verifying_key(), Some(&trusted))
                .unwrap_or_else(|e| panic!("m={trusted_size} n={size}: {e}"));
            assert_eq!(
                report.trusted_proof.expect("proof"),
                consistency_proof(&nodes, trusted_size, size).expect("proof"),
                "m={trusted_size} n={size}"
            );
        }
    }
}

#[test]
fn a_flipped_frame_byte_names_the_seq() {
    let mut log = Log::new(100);
    log.frames[36][3] ^= 0x01;
    let error = verify_log(log.items(), &[], &key().verifying_key(), None).expect_err("tampered");
    assert!(matches!(error, BundleError::ChainMismatch { seq: 37, .. }), "{error}");
    assert!(error.to_string().starts_with("chain hash of seq 37 mismatch"), "{error}");
}

#[test]
fn a_seq_gap_is_named() {
    let log = Log::new(10);
    let items = log.items().filter(|item| !matches!(item, Ok((5, _, _))));
    let error = verify_log(items, &[], &key().verifying_key(), None).expect_err("gap");
    assert!(matches!(error, BundleError::SeqGap { expected: 5, found: 6 }), "{error}");
}

/// The relink attack: rewrite frame 30 and recompute every later chain hash. The chain then
/// verifies by itself; only a checkpoint signed before the rewrite can catch it.
fn relinked(log: &Log) -> Log {
    let mut forged = log.clone();
    forged.frames[29] = frame(30, "order.cancelled");
    forged.rechain();
    verify_log(forged.items(), &[], &key().verifying_key(), None)
        .expect("a relinked chain verifies by itself");
    forged
}

#[test]
fn relink_attack_is_caught_by_a_checkpoint_in_the_bundle() {
    let log = Log::new(100);
    let checkpoints: Vec<_> = [10, 50, 100].iter().map(|&s| log.signed(s, &key())).collect();
    let forged = relinked(&log);
    let error =
        verify_log(forged.items(), &checkpoints, &key().verifying_key(), None).expect_err("caught");
    assert!(matches!(error, BundleError::CheckpointRoot { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "checkpoint #2 (checkpoint size 50 at 2026-11-26T15:50:00Z) root mismatch: signed "
        ),
        "{message}"
    );
}

#[test]
fn relink_attack_is_caught_by_the_auditors_saved_checkpoint() {
    let log = Log::new(100);
    let saved = log.checkpoint(50);
    let forged = relinked(&log);
    // The attacker drops the old checkpoints and, holding the key, signs new ones.
    let resigned: Vec<_> = [60, 100].iter().map(|&s| forged.signed(s, &key())).collect();
    verify_log(forged.items(), &resigned, &key().verifying_key(), None)
        .expect("self-consistent forgery");
    let error = verify_log(forged.items(), &resigned, &key().verifying_key(), Some(&saved))
        .expect_err("caught");
    assert!(matches!(error, BundleError::TrustedNotExtended { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "the log does not extend the trusted checkpoint size 50 at 2026-11-26T15:50:00Z: root of tree size 50 mismatch"
        ),
        "{message}"
    );
}

#[test]
fn a_rewrite_after_the_saved_checkpoint_is_caught_by_a_later_one() {
    let log = Log::new(100);
    let saved = log.checkpoint(20);
    let checkpoints = vec![log.signed(100, &key())];
    // Rewriting seq 30 > 20 leaves the saved checkpoint's prefix intact...
    let forged = relinked(&log);
    verify_log(forged.items(), &[], &key().verifying_key(), Some(&saved)).expect("prefix intact");
    // ...but the checkpoint at 100 signed before the rewrite catches it.
    let error = verify_log(forged.items(), &checkpoints, &key().verifying_key(), Some(&saved))
        .expect_err("caught");
    assert!(matches!(error, BundleError::CheckpointRoot { .. }), "{error}");
}

#[test]
fn a_truncated_log_is_caught() {
    let log = Log::new(100);
    let saved = log.checkpoint(100);
    let mut short = log.clone();
    short.frames.truncate(90);
    short.hashes.truncate(90);
    let error = verify_log(short.items(), &[], &key().verifying_key(), Some(&saved))
        .expect_err("truncated");
    assert!(matches!(error, BundleError::TrustedBeyondLog { event_count: 90, .. }), "{error}");
    let error = verify_log(short.items(), &[log.signed(100, &key())], &key().verifying_key(), None)
        .expect_err("truncated");
    assert!(matches!(error, BundleError::CheckpointBeyondLog { event_count: 90, .. }), "{error}");
}

#[test]
fn a_forged_or_foreign_checkpoint_is_named() {
    let log = Log::new(20);
    let forged = log.signed(10, &SigningKey::from_bytes(&[1; 32]));
    let checkpoints = vec![log.signed(5, &key()), forged];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None).expect_err("forged");
    assert!(matches!(error, BundleError::CheckpointSignature { .. }), "{error}");
    assert!(error.to_string().starts_with("checkpoint #2 (checkpoint size 10 at"), "{error}");

    let mut foreign = log.checkpoint(10);
    foreign.origin = "elsewhere.example/log".to_owned();
    let checkpoints = vec![
        log.signed(5, &key()),
        SignedCheckpoint::sign(&foreign, &key(), "tally-ledger").expect("signs"),
    ];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None).expect_err("foreign");
    assert!(matches!(error, BundleError::CheckpointOrigin { .. }), "{error}");

    // A signed checkpoint whose head hash is wrong (a buggy or lying signer).
    let mut lying = log.checkpoint(10);
    lying.head_hash = log.hashes[8];
    let checkpoints = vec![SignedCheckpoint::sign(&lying, &key(), "tally-ledger").expect("signs")];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None).expect_err("lying");
    assert!(matches!(error, BundleError::CheckpointChain { .. }), "{error}");
}

fn write_bundle(dir: &std::path::Path, log: &Log, checkpoints: &[SignedCheckpoint]) {
    let events: String = log
        .frames
        .iter()
        .zip(&log.hashes)
        .enumerate()
        .map(|(i, (frame, hash))| dir::event_line(i as u64 + 1, hash, frame) + "\n")
        .collect();
    fs::write(dir.join(dir::EVENTS_FILE), events).expect("writes");
    fs::write(dir.join(dir::CHECKPOINTS_FILE), dir::write_checkpoints(checkpoints))
        .expect("writes");
    let public = PublicKey::new("tally-ledger", key().verifying_key()).expect("name");
    fs::write(dir.join(dir::KEY_FILE), format!("{public}\n")).expect("writes");
}

#[test]
fn a_bundle_directory_verifies_and_tampering_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = Log::new(64);
    let checkpoints: Vec<_> = [16, 64].iter().map(|&s| log.signed(s, &key())).collect();
    write_bundle(tmp.path(), &log, &checkpoints);
    let first_line = fs::read_to_string(tmp.path().join(dir::EVENTS_FILE))
        .expect("reads")
        .lines()
        .next()
        .expect("line")
        .to_owned();
    assert!(first_line.starts_with("{\"seq\":1,\"hash\":\""), "{first_line}");
    let public = PublicKey::new("tally-ledger", key().verifying_key()).expect("name");
    let saved = log.checkpoint(16);
    let report = dir::verify_dir(tmp.path(), Some(&public), Some(&saved)).expect("verifies");
    assert_eq!(report.event_count, 64);
    assert_eq!(report.checkpoints_verified, 2);

    let stranger = PublicKey::new("tally-ledger", SigningKey::from_bytes(&[1; 32]).verifying_key())
        .expect("name");
    assert!(matches!(
        dir::verify_dir(tmp.path(), Some(&stranger), None),
        Err(DirError::KeyMismatch { .. })
    ));

    let mut tampered = log.clone();
    tampered.frames[40][2] ^= 0x20;
    write_bundle(tmp.path(), &tampered, &checkpoints);
    let error = dir::verify_dir(tmp.path(), Some(&public), None).expect_err("tampered");
    assert!(error.to_string().starts_with("chain hash of seq 41 mismatch"), "{error}");

    fs::write(tmp.path().join(dir::EVENTS_FILE), "{\"seq\":1}\n").expect("writes");
    let error = dir::verify_dir(tmp.path(), Some(&public), None).expect_err("malformed");
    assert!(format!("{:#}", anyhow_like(&error)).contains("events.ndjson line 1"), "{error}");
}

/// The error and its sources, joined like anyhow's `{:#}`.
fn anyhow_like(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[test]
fn checkpoints_file_roundtrips() {
    let log = Log::new(8);
    let checkpoints: Vec<_> = [2, 4, 8].iter().map(|&s| log.signed(s, &key())).collect();
    let text = dir::write_checkpoints(&checkpoints);
    assert_eq!(dir::parse_checkpoints(&text).expect("parses"), checkpoints);
    assert_eq!(dir::parse_checkpoints("").expect("empty"), vec![]);
    assert!(dir::parse_checkpoints(&text[..text.len() - 2]).is_err());
}
