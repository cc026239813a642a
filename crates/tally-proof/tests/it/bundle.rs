//! The offline verifier: valid bundles verify; tampering, including the relink attack, is
//! caught and named.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs;

use ed25519_dalek::SigningKey;
use tally_proof::bundle::dir::{self, DirError};
use tally_proof::bundle::{BundleError, UnsignedTail, verify_log};
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
    let report = verify_log(
        log.items(),
        &checkpoints,
        &key().verifying_key(),
        Some(&trusted),
        UnsignedTail::Refuse,
    )
    .expect("verifies");
    assert_eq!(report.event_count, 100);
    assert_eq!(report.head_hash, log.hashes[99]);
    assert_eq!(report.root, log.checkpoint(100).root);
    assert_eq!(report.checkpoints_verified, 4);
    assert_eq!(report.latest_checkpoint.map(|c| c.size), Some(100));
    let proof = report.trusted_proof.expect("proof");
    assert_eq!((proof.old_size, proof.new_size), (10, 100));
}

/// Regression (issue 12, item 2): an emptied checkpoints file, or one holding only a size-0
/// checkpoint, used to verify: the chain and tree keys are public, so that proved nothing.
#[test]
fn a_bundle_without_a_signed_checkpoint_of_an_event_fails() {
    let log = Log::new(100);
    let zero = [log.signed(0, &key())];
    for (checkpoints, count) in [(&[][..], 0), (&zero[..], 1)] {
        for tail in [UnsignedTail::Refuse, UnsignedTail::Allow] {
            let error = verify_log(log.items(), checkpoints, &key().verifying_key(), None, tail)
                .expect_err("nothing is signed");
            assert!(
                matches!(
                    error,
                    BundleError::NoSignedCheckpoint { checkpoint_count, event_count: 100 }
                        if checkpoint_count == count
                ),
                "{error}"
            );
            assert!(error.to_string().starts_with("no checkpoint signed by the key"), "{error}");
        }
    }
    // An empty log proves nothing either.
    let empty = Log::new(0);
    let error = verify_log(
        empty.items(),
        &[empty.signed(0, &key())],
        &key().verifying_key(),
        None,
        UnsignedTail::Refuse,
    )
    .expect_err("empty");
    assert!(matches!(error, BundleError::NoSignedCheckpoint { event_count: 0, .. }), "{error}");
}

/// Regression (issue 12, item 2): events appended after the newest signed checkpoint (with
/// recomputed chain hashes) used to verify, even against a trusted checkpoint.
#[test]
fn an_unsigned_tail_fails_unless_allowed_and_is_counted() {
    let log = Log::new(100);
    let checkpoints = [log.signed(10, &key()), log.signed(50, &key())];
    let trusted = log.checkpoint(10);
    for trusted in [None, Some(&trusted)] {
        let error = verify_log(
            log.items(),
            &checkpoints,
            &key().verifying_key(),
            trusted,
            UnsignedTail::Refuse,
        )
        .expect_err("unsigned tail");
        assert!(
            matches!(error, BundleError::UnsignedTail { signed_event_count: 50, event_count: 100 }),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "50 events (seq 51 to 100) are beyond the newest signed checkpoint (size 50): no \
             signature covers them"
        );
        let report = verify_log(
            log.items(),
            &checkpoints,
            &key().verifying_key(),
            trusted,
            UnsignedTail::Allow,
        )
        .expect("allowed");
        assert_eq!(
            (report.event_count, report.signed_event_count, report.unsigned_event_count),
            (100, 50, 50)
        );
    }
    // Covered to the last event: nothing unsigned.
    let all = [log.signed(50, &key()), log.signed(100, &key())];
    let report = verify_log(log.items(), &all, &key().verifying_key(), None, UnsignedTail::Refuse)
        .expect("covered");
    assert_eq!((report.signed_event_count, report.unsigned_event_count), (100, 0));
}

/// `--trusted` must be a prefix of (or equal to) a signed checkpoint in the bundle: a trusted
/// checkpoint inside the unsigned tail is refused, one equal to the newest is fine.
#[test]
fn the_trusted_checkpoint_must_be_within_a_signed_one() {
    let log = Log::new(100);
    let checkpoints = [log.signed(50, &key())];
    let beyond = log.checkpoint(60);
    let error = verify_log(
        log.items(),
        &checkpoints,
        &key().verifying_key(),
        Some(&beyond),
        UnsignedTail::Allow,
    )
    .expect_err("beyond the signed prefix");
    assert!(
        matches!(error, BundleError::TrustedBeyondSigned { signed_event_count: 50, .. }),
        "{error}"
    );
    let equal = log.checkpoint(50);
    verify_log(
        log.items(),
        &checkpoints,
        &key().verifying_key(),
        Some(&equal),
        UnsignedTail::Allow,
    )
    .expect("equal to the newest signed checkpoint");
    // A trusted checkpoint of another history at the same size: root mismatch.
    let mut other = Log::new(100);
    other.frames[3] = frame(4, "order.cancelled");
    other.rechain();
    let error = verify_log(
        log.items(),
        &[log.signed(100, &key())],
        &key().verifying_key(),
        Some(&other.checkpoint(50)),
        UnsignedTail::Refuse,
    )
    .expect_err("not a prefix");
    assert!(matches!(error, BundleError::TrustedNotExtended { .. }), "{error}");
}

#[test]
fn two_checkpoints_of_one_size_are_refused() {
    let log = Log::new(20);
    let checkpoints = [log.signed(10, &key()), log.signed(20, &key()), log.signed(10, &key())];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None, UnsignedTail::Refuse)
            .expect_err("duplicate");
    assert!(matches!(error, BundleError::CheckpointDuplicate { first: 1, .. }), "{error}");
}

#[test]
fn the_trusted_consistency_proof_works_for_every_pair_of_sizes() {
    for size in 1..=40u64 {
        let log = Log::new(size);
        let nodes = MemoryNodes::from_leaves(log.hashes.iter().map(leaf_hash));
        for trusted_size in 0..=size {
            let trusted = log.checkpoint(trusted_size);
            let signed = [log.signed(size, &key())];
            let report = verify_log(
                log.items(),
                &signed,
                &key().verifying_key(),
                Some(&trusted),
                UnsignedTail::Refuse,
            )
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
    let error = verify_log(log.items(), &[], &key().verifying_key(), None, UnsignedTail::Refuse)
        .expect_err("tampered");
    assert!(matches!(error, BundleError::ChainMismatch { seq: 37, .. }), "{error}");
    assert!(error.to_string().starts_with("chain hash of seq 37 mismatch"), "{error}");
}

#[test]
fn a_seq_gap_is_named() {
    let log = Log::new(10);
    let items = log.items().filter(|item| !matches!(item, Ok((5, _, _))));
    let error = verify_log(items, &[], &key().verifying_key(), None, UnsignedTail::Refuse)
        .expect_err("gap");
    assert!(matches!(error, BundleError::SeqGap { expected: 5, found: 6 }), "{error}");
}

/// The relink attack: rewrite frame 30 and recompute every later chain hash. The chain then
/// verifies by itself; only a checkpoint signed before the rewrite can catch it.
fn relinked(log: &Log) -> Log {
    let mut forged = log.clone();
    forged.frames[29] = frame(30, "order.cancelled");
    forged.rechain();
    verify_log(
        forged.items(),
        &[forged.signed(1, &key())],
        &key().verifying_key(),
        None,
        UnsignedTail::Allow,
    )
    .expect("a relinked chain verifies by itself");
    forged
}

#[test]
fn relink_attack_is_caught_by_a_checkpoint_in_the_bundle() {
    let log = Log::new(100);
    let checkpoints: Vec<_> = [10, 50, 100].iter().map(|&s| log.signed(s, &key())).collect();
    let forged = relinked(&log);
    let error = verify_log(
        forged.items(),
        &checkpoints,
        &key().verifying_key(),
        None,
        UnsignedTail::Refuse,
    )
    .expect_err("caught");
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
    verify_log(forged.items(), &resigned, &key().verifying_key(), None, UnsignedTail::Refuse)
        .expect("self-consistent forgery");
    let error = verify_log(
        forged.items(),
        &resigned,
        &key().verifying_key(),
        Some(&saved),
        UnsignedTail::Refuse,
    )
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
    verify_log(
        forged.items(),
        &[log.signed(20, &key())],
        &key().verifying_key(),
        Some(&saved),
        UnsignedTail::Allow,
    )
    .expect("prefix intact");
    // ...but the checkpoint at 100 signed before the rewrite catches it.
    let error = verify_log(
        forged.items(),
        &checkpoints,
        &key().verifying_key(),
        Some(&saved),
        UnsignedTail::Refuse,
    )
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
    let error =
        verify_log(short.items(), &[], &key().verifying_key(), Some(&saved), UnsignedTail::Refuse)
            .expect_err("truncated");
    assert!(matches!(error, BundleError::TrustedBeyondLog { event_count: 90, .. }), "{error}");
    let error = verify_log(
        short.items(),
        &[log.signed(100, &key())],
        &key().verifying_key(),
        None,
        UnsignedTail::Refuse,
    )
    .expect_err("truncated");
    assert!(matches!(error, BundleError::CheckpointBeyondLog { event_count: 90, .. }), "{error}");
}

#[test]
fn a_forged_or_foreign_checkpoint_is_named() {
    let log = Log::new(20);
    let forged = log.signed(10, &SigningKey::from_bytes(&[1; 32]));
    let checkpoints = vec![log.signed(5, &key()), forged];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None, UnsignedTail::Refuse)
            .expect_err("forged");
    assert!(matches!(error, BundleError::CheckpointSignature { .. }), "{error}");
    assert!(error.to_string().starts_with("checkpoint #2 (checkpoint size 10 at"), "{error}");

    let mut foreign = log.checkpoint(10);
    foreign.origin = "elsewhere.example/log".to_owned();
    let checkpoints = vec![
        log.signed(5, &key()),
        SignedCheckpoint::sign(&foreign, &key(), "tally-ledger").expect("signs"),
    ];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None, UnsignedTail::Refuse)
            .expect_err("foreign");
    assert!(matches!(error, BundleError::CheckpointOrigin { .. }), "{error}");

    // A signed checkpoint whose head hash is wrong (a buggy or lying signer).
    let mut lying = log.checkpoint(10);
    lying.head_hash = log.hashes[8];
    let checkpoints = vec![SignedCheckpoint::sign(&lying, &key(), "tally-ledger").expect("signs")];
    let error =
        verify_log(log.items(), &checkpoints, &key().verifying_key(), None, UnsignedTail::Refuse)
            .expect_err("lying");
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
    let report = dir::verify_dir(tmp.path(), Some(&public), Some(&saved), UnsignedTail::Refuse)
        .expect("verifies");
    assert_eq!(report.event_count, 64);
    assert_eq!(report.checkpoints_verified, 2);

    let stranger = PublicKey::new("tally-ledger", SigningKey::from_bytes(&[1; 32]).verifying_key())
        .expect("name");
    assert!(matches!(
        dir::verify_dir(tmp.path(), Some(&stranger), None, UnsignedTail::Refuse),
        Err(DirError::KeyMismatch { .. })
    ));

    let mut tampered = log.clone();
    tampered.frames[40][2] ^= 0x20;
    write_bundle(tmp.path(), &tampered, &checkpoints);
    let error = dir::verify_dir(tmp.path(), Some(&public), None, UnsignedTail::Refuse)
        .expect_err("tampered");
    assert!(error.to_string().starts_with("chain hash of seq 41 mismatch"), "{error}");

    fs::write(tmp.path().join(dir::EVENTS_FILE), "{\"seq\":1}\n").expect("writes");
    let error = dir::verify_dir(tmp.path(), Some(&public), None, UnsignedTail::Refuse)
        .expect_err("malformed");
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

/// Regression (issue 12, item 2): unknown fields, trailing spaces and CRLF line ends in
/// `events.ndjson` used to be accepted; every bundle file now has exactly one spelling.
#[test]
fn every_bundle_file_is_read_strictly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = Log::new(3);
    let checkpoints = [log.signed(3, &key())];
    write_bundle(tmp.path(), &log, &checkpoints);
    let public = PublicKey::new("tally-ledger", key().verifying_key()).expect("name");
    let verify = || dir::verify_dir(tmp.path(), Some(&public), None, UnsignedTail::Refuse);
    verify().expect("the honest bundle verifies");

    let events_path = tmp.path().join(dir::EVENTS_FILE);
    let events = fs::read_to_string(&events_path).expect("reads");
    let first = events.lines().next().expect("a line").to_owned();
    let rest: String = events.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let (hash_at, frame_at) =
        (first.find(",\"hash\"").expect("hash"), first.find(",\"frame\"").expect("frame"));
    let (seq_part, hash_part, frame_part) =
        (&first[1..hash_at], &first[hash_at + 1..frame_at], &first[frame_at + 1..first.len() - 1]);
    let bad_lines = [
        (
            "an unknown field",
            format!("{{{seq_part},{hash_part},{frame_part},\"note\":\"x\"}}\n"),
            "unknown field",
        ),
        (
            "a duplicate key",
            format!("{{{seq_part},{seq_part},{hash_part},{frame_part}}}\n"),
            "duplicate field",
        ),
        ("trailing data", format!("{first} {{}}\n"), "trailing characters"),
        ("a trailing space", format!("{first} \n"), "canonical"),
        ("a space inside", format!("{{{seq_part}, {hash_part},{frame_part}}}\n"), "canonical"),
        ("reordered fields", format!("{{{hash_part},{seq_part},{frame_part}}}\n"), "canonical"),
        ("a CRLF line end", format!("{first}\r\n"), "canonical"),
        (
            "an escaped character",
            format!("{first}\n").replacen("\"seq\"", "\"s\\u0065q\"", 1),
            "canonical",
        ),
    ];
    for (what, line, expected) in bad_lines {
        fs::write(&events_path, format!("{line}{rest}")).expect("writes");
        let error = verify().expect_err(what);
        let message = anyhow_like(&error);
        assert!(
            message.contains("events.ndjson line 1") && message.contains(expected),
            "{what}: {message}"
        );
    }
    fs::write(&events_path, events.trim_end()).expect("writes");
    let message = anyhow_like(&verify().expect_err("no final newline"));
    assert!(message.contains("line 3: does not end with a newline"), "{message}");
    fs::write(&events_path, format!("{events}\n")).expect("writes");
    let message = anyhow_like(&verify().expect_err("a blank line"));
    assert!(message.contains("events.ndjson line 4"), "{message}");
    fs::write(&events_path, &events).expect("writes");
    verify().expect("restored");

    // key.pub: exactly one key.
    let key_path = tmp.path().join(dir::KEY_FILE);
    for (what, text) in [
        ("two keys", format!("{public}\n{public}\n")),
        ("a comment", format!("# the ledger key\n{public}\n")),
        ("a blank line after", format!("{public}\n\n")),
        ("a trailing space", format!("{public} \n")),
        ("a CRLF line end", format!("{public}\r\n")),
        ("nothing", String::new()),
    ] {
        fs::write(&key_path, &text).expect("writes");
        let error = verify().expect_err(what);
        assert!(matches!(error, DirError::Key { .. }), "{what}: {error}");
        assert!(dir::parse_key_file(&text).is_err(), "{what}");
    }
    assert_eq!(dir::parse_key_file(&format!("{public}")).expect("no newline is fine"), public);
    fs::write(&key_path, format!("{public}\n")).expect("writes");

    // checkpoints.txt: trailing data after the last note, or a note twice.
    let checkpoints_path = tmp.path().join(dir::CHECKPOINTS_FILE);
    let text = dir::write_checkpoints(&checkpoints);
    fs::write(&checkpoints_path, format!("{text}x")).expect("writes");
    assert!(matches!(verify().expect_err("trailing"), DirError::CheckpointsFile { .. }));
    fs::write(&checkpoints_path, format!("{text}{text}")).expect("writes");
    let error = verify().expect_err("twice");
    assert!(error.to_string().contains("has the same tree size as checkpoint #1"), "{error}");
    fs::write(&checkpoints_path, &text).expect("writes");
    verify().expect("restored");
}

#[test]
fn every_event_line_written_reads_back() {
    let frames: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0xff, 0xfe],
        vec![1, 2, 3],
        (0..=255u8).cycle().take(1000).collect(),
    ];
    for seq in [0, 1, 10, 1_000_000_007, u64::MAX] {
        for frame in &frames {
            let hash = chain_hash(&GENESIS, frame);
            let line = dir::event_line(seq, &hash, frame) + "\n";
            let read: Vec<_> = dir::read_events(line.as_bytes()).collect();
            assert_eq!(read, vec![Ok((seq, frame.clone(), hash))], "{line}");
        }
    }
    // Leading zeros, an uppercase digest, unpadded base64: not the one spelling.
    let hash = chain_hash(&GENESIS, b"abc");
    let line = dir::event_line(7, &hash, b"ab");
    for bad in [
        line.replacen(":7,", ":07,", 1),
        line.replacen(&hash.to_string(), &hash.to_string().to_uppercase(), 1),
        line.replacen("YWI=", "YWI", 1),
        line.replacen("YWI=", "YWJ=", 1),
    ] {
        assert_ne!(bad, line);
        let read: Vec<_> = dir::read_events(format!("{bad}\n").as_bytes()).collect();
        assert!(matches!(read.as_slice(), [Err(_)]), "{bad}: {read:?}");
    }
}
