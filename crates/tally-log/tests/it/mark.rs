//! The high-water mark: a journal that lost acknowledged batches, a missing or stale mark, and
//! a seeded sweep of bit flips over the journal. Every case must end either with the store
//! reading exactly as before or with the log refusing (open fails, or it serves reads and
//! refuses writes and verification): never with fewer events and a clean bill of health.

use crate::support::{event, fill, open};
use std::path::{Path, PathBuf};
use tally_log::{AppendRequest, Corruption, Error, Log, VerifyOptions, mark};

const EVENTS: u64 = 60;

fn journal(dir: &Path) -> PathBuf {
    let mut journals: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jnl"))
        .collect();
    journals.sort();
    journals.pop().unwrap()
}

/// Bytes up to the last non-zero one: fjall preallocates its journal with zeros.
fn used_bytes(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i as u64 + 1)
}

fn build(dir: &Path) {
    let log = open(dir);
    fill(&log, EVENTS, 4);
    log.close();
}

/// Every frame's stored bytes, in seq order.
fn frames(log: &Log) -> Vec<Vec<u8>> {
    log.read(..).map(|e| e.unwrap().stored_bytes().to_vec()).collect()
}

fn assert_refused(log: &Log, needle: &str) {
    let refusal = log.refusal().expect("the log must refuse writes");
    assert!(matches!(refusal, Corruption::HighWaterMark(_)), "{refusal}");
    assert!(refusal.to_string().contains(needle), "{refusal}");
    let err =
        log.append_blocking(AppendRequest::new(vec![event(9_999, "s-x", b"late")])).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::HighWaterMark(_))), "{err}");
    let err = log.checkpoint_blocking().unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::HighWaterMark(_))), "{err}");
    let err = log.verify(VerifyOptions::full()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(Corruption::HighWaterMark(_))), "{err}");
}

/// fjall cuts a journal at the first batch it cannot decode and carries on: what follows is
/// gone without an error. The mark names both heads, and the refusal survives a reopen.
#[test]
fn a_journal_cut_short_is_refused_naming_both_heads() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let path = journal(dir.path());
    let used = used_bytes(&path);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(used / 2).unwrap();
    drop(file);
    for round in 0..2 {
        let log = open(dir.path());
        let head = log.head().seq;
        assert!(head < EVENTS, "the cut lost events: head {head}");
        if round == 0 {
            // The partial batch fjall cut is kept as evidence, and the message says where.
            assert_refused(&log, "journal-tails");
            let tails = std::fs::read_dir(dir.path().join("journal-tails")).unwrap().count();
            assert_eq!(tails, 1);
        }
        assert_refused(&log, &format!("records seq {EVENTS}"));
        assert_refused(&log, &format!("head is seq {head}"));
        // Reads stay up.
        assert_eq!(log.read(..).count() as u64, head);
        log.close();
    }
}

#[test]
fn a_missing_or_stale_mark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let stale = std::fs::read(dir.path().join(mark::MARK_FILE)).unwrap();
    {
        let log = open(dir.path());
        fill_more(&log, 50_000, 5);
        log.close();
    }
    std::fs::write(dir.path().join(mark::MARK_FILE), &stale).unwrap();
    let log = open(dir.path());
    assert_refused(&log, "older than the log");
    log.close();
    drop(log);
    std::fs::remove_file(dir.path().join(mark::MARK_FILE)).unwrap();
    let log = open(dir.path());
    assert_refused(&log, "is missing");
}

/// Appends `count` more single events, ids from `first_id`.
fn fill_more(log: &Log, first_id: u128, count: u128) {
    for i in 0..count {
        log.append_blocking(AppendRequest::new(vec![event(first_id + i, "s-more", b"more")]))
            .unwrap();
    }
}

/// The mark lags one commit when the process dies between the commit and the mark's write;
/// that is not a loss, and the next open catches the mark up.
#[test]
fn a_mark_one_commit_behind_is_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let before = std::fs::read(dir.path().join(mark::MARK_FILE)).unwrap();
    {
        let log = open(dir.path());
        fill_more(&log, 50_000, 1);
        log.close();
    }
    std::fs::write(dir.path().join(mark::MARK_FILE), &before).unwrap();
    let log = open(dir.path());
    assert_eq!(log.refusal(), None);
    assert_eq!(log.head().seq, EVENTS + 1);
    fill_more(&log, 60_000, 10);
    log.verify(VerifyOptions::full()).unwrap();
}

/// A small xorshift: the sweep is seeded and reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Flips single bits at seeded offsets of the journal (`TALLY_FLIPS` of them, default 60).
#[test]
fn no_journal_bit_flip_loses_events_silently() {
    let flips: u64 = std::env::var("TALLY_FLIPS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let seed: u64 =
        std::env::var("TALLY_FLIP_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let original = tempfile::tempdir().unwrap();
    build(original.path());
    let expected = {
        let log = open(original.path());
        let frames = frames(&log);
        log.close();
        frames
    };
    let journal_name = journal(original.path()).file_name().unwrap().to_owned();
    // The written part and the first bytes of the zeros after it.
    let journal_path = original.path().join(&journal_name);
    let len = (used_bytes(&journal_path) + 64).min(std::fs::metadata(&journal_path).unwrap().len());
    let mut rng = Rng(seed | 1);
    let (mut intact, mut refused, mut failed) = (0, 0, 0);
    for i in 0..flips {
        let case = tempfile::tempdir().unwrap();
        copy(original.path(), case.path());
        let path = case.path().join(&journal_name);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = usize::try_from(rng.next() % len).unwrap();
        let bit = rng.next() % 8;
        bytes[at] ^= 1 << bit;
        std::fs::write(&path, bytes).unwrap();
        let log = match Log::open(case.path(), tally_log::Config::default()) {
            Err(e) => {
                assert!(
                    matches!(e, Error::Corrupt(_)) || e.damage().is_some(),
                    "flip {i} (byte {at}, bit {bit}): opening failed with an error that does \
                     not name damage: {e}"
                );
                failed += 1;
                continue;
            }
            Ok(log) => log,
        };
        if log.refusal().is_some() {
            assert!(log.verify(VerifyOptions::full()).is_err(), "flip {i} at {at}");
            refused += 1;
        } else {
            let verified = log.verify(VerifyOptions::full());
            let now = frames(&log);
            assert!(
                verified.is_err() || now == expected,
                "flip {i} (byte {at}, bit {bit}, seed {seed}): the log opened and verified with \
                 {} of {} events",
                now.len(),
                expected.len()
            );
            if verified.is_err() {
                refused += 1;
            } else {
                intact += 1;
            }
        }
        log.close();
    }
    println!("{flips} flips: {intact} intact, {refused} refused at open, {failed} failed to open");
    assert_eq!(intact + refused + failed, flips);
}

fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
