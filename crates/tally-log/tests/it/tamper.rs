//! Tampering written straight into the fjall keyspaces, and what opening and verify say.

use crate::support::{fill, named_seq, open, short_recovery};
use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use std::path::Path;
use tally_log::tally_proof::hash::leaf_hash;
use tally_log::tally_proof::merkle::Frontier;
use tally_log::{Corruption, Error, Log, VerifyOptions, chain_hash, layout};

pub const EVENTS: u64 = 40;

pub fn build(dir: &Path) {
    let log = open(dir);
    fill(&log, EVENTS, 4);
    log.close();
}

/// Runs `edit` on the raw store with the log closed.
pub fn tamper(dir: &Path, edit: impl FnOnce(&Database)) {
    let db = Database::builder(dir).open().unwrap();
    edit(&db);
    db.persist(PersistMode::SyncAll).unwrap();
}

pub fn ks(db: &Database, name: &str) -> fjall::Keyspace {
    db.keyspace(name, KeyspaceCreateOptions::default).unwrap()
}

/// Opens (re-hashing only the last frame) and verifies with indexes; returns the first error.
fn open_and_verify(dir: &Path) -> Result<tally_log::VerifyReport, Error> {
    let log = Log::open(dir, short_recovery())?;
    log.verify(VerifyOptions::full())
}

#[test]
fn every_flipped_byte_of_a_frame_is_found_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let frame_len = {
        let db = Database::builder(dir.path()).open().unwrap();
        ks(&db, layout::FRAMES).get(layout::frame_key(1)).unwrap().unwrap().len()
    };
    // Every byte position of the stored value, spread over several frames (head included).
    for offset in 0..frame_len {
        let seq = 1 + (offset as u64 * 7) % EVENTS;
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), work.path());
        tamper(work.path(), |db| {
            let frames = ks(db, layout::FRAMES);
            let mut value = frames.get(layout::frame_key(seq)).unwrap().unwrap().to_vec();
            value[offset] ^= 0x5a;
            frames.insert(layout::frame_key(seq), value).unwrap();
        });
        let err = open_and_verify(work.path()).expect_err("a flipped byte must be found");
        assert!(err.is_corruption(), "offset {offset}: {err}");
        assert_eq!(named_seq(&err), Some(seq), "offset {offset} of seq {seq}: {err}");
    }
}

#[test]
fn a_deleted_frame_is_named() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    tamper(dir.path(), |db| ks(db, layout::FRAMES).remove(layout::frame_key(17)).unwrap());
    let err = open_and_verify(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::MissingFrame { seq: 17 })), "{err}");
}

#[test]
fn a_deleted_head_frame_stops_opening() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    tamper(dir.path(), |db| ks(db, layout::FRAMES).remove(layout::frame_key(EVENTS)).unwrap());
    let err = Log::open(dir.path(), short_recovery()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::MissingFrame { seq: EVENTS })), "{err}");
}

#[test]
fn swapped_frames_are_found() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    tamper(dir.path(), |db| {
        let frames = ks(db, layout::FRAMES);
        let a = frames.get(layout::frame_key(5)).unwrap().unwrap();
        let b = frames.get(layout::frame_key(9)).unwrap().unwrap();
        frames.insert(layout::frame_key(5), b).unwrap();
        frames.insert(layout::frame_key(9), a).unwrap();
    });
    let err = open_and_verify(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Corrupt(Corruption::MisplacedFrame { key: 5, found: 9 })),
        "{err}"
    );
}

#[test]
fn index_damage_is_found_by_index_verification() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    tamper(dir.path(), |db| {
        ks(db, layout::STREAMS).remove(layout::stream_key("s-1", 3)).unwrap();
    });
    let log = Log::open(dir.path(), short_recovery()).unwrap();
    // The chain alone is intact.
    log.verify(VerifyOptions::default()).unwrap();
    let err = log.verify(VerifyOptions::full()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::Index { index: "streams", .. })), "{err}");
}

/// The relink attack: flips a payload byte of frame `at`, rewrites every later frame's
/// `prev_hash` and hash, and the head record; with `tree`, also recomputes every Merkle node
/// and the frontier, so nothing inside the store disagrees any more.
pub fn relink(db: &Database, at: u64, tree: bool) {
    let frames = ks(db, layout::FRAMES);
    let meta = ks(db, layout::META);
    let head = layout::parse_head_value(&meta.get(layout::META_HEAD).unwrap().unwrap()).unwrap();
    let hash_of = |v: &[u8]| tally_log::Digest::from_slice(&v[v.len() - 32..]).unwrap();
    let mut prev = if at == 1 {
        tally_log::GENESIS
    } else {
        hash_of(&frames.get(layout::frame_key(at - 1)).unwrap().unwrap())
    };
    for seq in at..=head.0 {
        let mut value = frames.get(layout::frame_key(seq)).unwrap().unwrap().to_vec();
        let frame_len = value.len() - 32;
        value[83..115].copy_from_slice(prev.as_bytes());
        if seq == at {
            value[frame_len - 1] ^= 1; // the forged payload byte
        }
        let hash = chain_hash(&prev, &value[..frame_len]);
        value[frame_len..].copy_from_slice(hash.as_bytes());
        frames.insert(layout::frame_key(seq), value).unwrap();
        prev = hash;
    }
    meta.insert(layout::META_HEAD, layout::head_value(head.0, &prev, head.2)).unwrap();
    if tree {
        let merkle = ks(db, layout::MERKLE);
        let mut frontier = Frontier::new();
        for seq in 1..=head.0 {
            let hash = hash_of(&frames.get(layout::frame_key(seq)).unwrap().unwrap());
            for (id, digest) in frontier.push(leaf_hash(&hash)) {
                if id.level > 0 {
                    merkle.insert(id.to_bytes(), digest.as_bytes()).unwrap();
                }
            }
        }
        meta.insert(layout::META_FRONTIER, frontier.to_bytes()).unwrap();
    }
}

/// Rewrites the high-water mark to the store's current head, as an attacker with write access
/// to the files can.
pub fn forge_mark(dir: &Path) {
    let (seq, hash, commit) = {
        let db = Database::builder(dir).open().unwrap();
        let meta = ks(&db, layout::META);
        let head =
            layout::parse_head_value(&meta.get(layout::META_HEAD).unwrap().unwrap()).unwrap();
        let commit = layout::be_u64(&meta.get(layout::META_COMMITS).unwrap().unwrap()).unwrap();
        (head.0, head.1, commit)
    };
    tally_log::mark::overwrite(dir, tally_log::mark::Mark { commit, seq, hash }).unwrap();
}

/// Rewriting a frame and recomputing every later hash (and the head record) makes the chain
/// verify again: the chain alone cannot catch a relink. The stored Merkle tree does, unless the
/// attacker recomputed it too (see `proofs::relink_with_tree_is_caught_by_a_saved_checkpoint`).
#[test]
fn a_relinked_chain_verifies_but_the_tree_and_a_trusted_head_catch_it() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let saved_head = open(dir.path()).head();
    tamper(dir.path(), |db| relink(db, 10, false));
    // The high-water mark saw the old head: the relinked log serves reads, refuses writes and
    // fails verification.
    let log = open(dir.path());
    assert!(matches!(log.refusal(), Some(Corruption::HighWaterMark(_))), "{:?}", log.refusal());
    let err = log.verify(VerifyOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::HighWaterMark(_))), "{err}");
    log.close();
    drop(log);
    // An attacker who can write the files rewrites the mark too.
    forge_mark(dir.path());
    let log = open(dir.path());
    let report = log.verify(VerifyOptions { indexes: true, ..VerifyOptions::default() }).unwrap();
    assert_eq!(report.last_seq, EVENTS);
    assert_ne!(report.head_hash, saved_head.hash, "the relink changed the head hash");
    let err = log.verify(VerifyOptions::full()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::Merkle(_))), "{err}");
    // Incremental verification from the saved (trusted) head names the mismatch.
    let err = log
        .verify(VerifyOptions {
            trusted: Some((saved_head.seq, saved_head.hash)),
            ..VerifyOptions::default()
        })
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::TrustedMismatch { seq: EVENTS, .. })));
}

#[test]
fn incremental_verify_from_a_trusted_point() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    fill(&log, 30, 3);
    let mid = log.get(12).unwrap().unwrap();
    let report = log
        .verify(VerifyOptions { trusted: Some((12, mid.hash())), ..VerifyOptions::default() })
        .unwrap();
    assert_eq!((report.first_seq, report.last_seq, report.frames_checked), (13, 30, 18));
    let err = log
        .verify(VerifyOptions {
            trusted: Some((12, tally_log::Digest::from_bytes([7; 32]))),
            ..VerifyOptions::default()
        })
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::TrustedMismatch { seq: 12, .. })));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
