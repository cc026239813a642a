//! The durable high-water mark: what the log has acknowledged, kept outside fjall's journal.
//!
//! fjall recovers a journal by cutting it at the first batch that does not decode and going
//! on without an error. A damaged journal can therefore lose acknowledged batches on the next
//! open, and nothing inside the store can tell: the frames, the head and the Merkle frontier
//! vanish together. The mark is the witness that cannot vanish with them: a small file in the
//! log's directory (`high-water-mark`), rewritten and `fdatasync`ed after every committed
//! batch and before any caller of that batch is answered.
//!
//! Every batch the writer commits (a group of events, or an on-demand checkpoint) also stores
//! its ordinal, the *commit count*, in the `meta` keyspace. The mark records the commit count,
//! seq and chain hash of the newest batch that was durable before it was written. So at open:
//!
//! * the store's commit count must be at least the mark's (else acknowledged batches are gone),
//!   and at most one more (the mark write after the last commit may not have happened);
//! * where the counts are equal the head must be the mark's (seq, hash); where the store is
//!   ahead, the frame at the mark's seq must still carry the mark's hash.
//!
//! The file holds two copies (slots 4 KiB apart, the newest commit wins), each with a blake3
//! check, written alternately: a torn write spoils at most the slot being written, and the
//! other one still vouches for the commit before it. A store whose `meta` says it keeps a mark
//! (the `commits` key) and whose mark file is missing, unreadable, or older than the store
//! allows is refused for writes: see [`check`].

use crate::chain::Digest;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

/// File name of the mark inside the log's directory.
pub const MARK_FILE: &str = "high-water-mark";

/// Bytes between the two slots: one page each, so a torn write cannot reach the other.
const SLOT_BYTES: u64 = 4096;
/// Magic and format version of a slot.
const MAGIC: [u8; 8] = *b"TALLYHW1";
/// Bytes of an encoded record: magic, commit, seq, hash, check.
const RECORD_BYTES: usize = 8 + 8 + 8 + 32 + 32;
/// Key derivation context of a slot's check digest.
const CHECK_CONTEXT: &str = "tally 2026-12-06 log high-water mark v1";

/// One record: the newest batch known durable when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Batches committed by the writer since the store was created (or began keeping a mark).
    pub commit: u64,
    /// The head seq after that batch.
    pub seq: u64,
    /// The head's chain hash.
    pub hash: Digest,
}

impl Mark {
    fn encode(&self) -> [u8; RECORD_BYTES] {
        let mut out = [0u8; RECORD_BYTES];
        out[..8].copy_from_slice(&MAGIC);
        out[8..16].copy_from_slice(&self.commit.to_be_bytes());
        out[16..24].copy_from_slice(&self.seq.to_be_bytes());
        out[24..56].copy_from_slice(self.hash.as_bytes());
        let check = blake3::derive_key(CHECK_CONTEXT, &out[..56]);
        out[56..].copy_from_slice(&check);
        out
    }

    /// Decodes a slot; `None` when it is not a whole, checked record.
    fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes = bytes.get(..RECORD_BYTES)?;
        if bytes[..8] != MAGIC || blake3::derive_key(CHECK_CONTEXT, &bytes[..56])[..] != bytes[56..]
        {
            return None;
        }
        Some(Self {
            commit: crate::layout::be_u64(&bytes[8..16])?,
            seq: crate::layout::be_u64(&bytes[16..24])?,
            hash: Digest::from_slice(&bytes[24..56]).ok()?,
        })
    }
}

/// What the mark file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkSlots {
    /// The two slots, `None` where a slot does not decode (torn or damaged).
    pub slots: [Option<Mark>; 2],
}

impl MarkSlots {
    /// The newest readable record.
    #[must_use]
    pub fn newest(&self) -> Option<Mark> {
        self.slots.iter().flatten().max_by_key(|m| m.commit).copied()
    }
}

/// The open mark file, written by the log's writer only.
#[derive(Debug)]
pub(crate) struct MarkFile {
    file: File,
    path: PathBuf,
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

/// Reads the mark file in `dir`: `None` when there is none.
pub fn read(dir: &Path) -> Result<Option<MarkSlots>> {
    let path = dir.join(MARK_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path)(e)),
    };
    let slot = |i: u64| {
        let at = usize::try_from(i * SLOT_BYTES).ok()?;
        Mark::decode(bytes.get(at..)?)
    };
    Ok(Some(MarkSlots { slots: [slot(0), slot(1)] }))
}

impl MarkFile {
    /// Creates the file with `mark` in both slots and makes it and its directory entry
    /// durable. Replaces nothing: fails if the file exists.
    pub(crate) fn create(dir: &Path, mark: Mark) -> Result<Self> {
        let path = dir.join(MARK_FILE);
        let mut bytes = vec![0u8; 2 * SLOT_BYTES as usize];
        let record = mark.encode();
        bytes[..RECORD_BYTES].copy_from_slice(&record);
        bytes[SLOT_BYTES as usize..SLOT_BYTES as usize + RECORD_BYTES].copy_from_slice(&record);
        let file = (|| {
            let mut file =
                OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            Ok(file)
        })()
        .map_err(io_error(&path))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))?;
        Ok(Self { file, path })
    }

    /// Opens the existing file for writing.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(MARK_FILE);
        let file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(io_error(&path))?;
        Ok(Self { file, path })
    }

    /// Writes `mark` into its slot (by commit parity) and makes it durable.
    pub(crate) fn write(&self, mark: Mark) -> Result<()> {
        let at = (mark.commit % 2) * SLOT_BYTES;
        let io = io_error(&self.path);
        self.file.write_all_at(&mark.encode(), at).map_err(&io)?;
        self.file.sync_data().map_err(&io)
    }
}

/// Overwrites both slots of the mark in `dir` with `mark` (creating the file if needed) and
/// makes it durable. The mark is a witness against *loss*, not a signature: anyone who can
/// write the store's files can rewrite it, which is why tampering is caught by signed
/// checkpoints and the Merkle tree, not by the mark. Operators use this only to accept a loss
/// on purpose, after keeping a copy of the damaged store (see docs/operations.md).
pub fn overwrite(dir: &Path, mark: Mark) -> Result<()> {
    let path = dir.join(MARK_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&path)(e)),
    }
    MarkFile::create(dir, mark).map(drop)
}

/// The store as fjall recovered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreState {
    /// The commit count stored in `meta`.
    pub commit: u64,
    /// The head seq.
    pub seq: u64,
    /// The head's hash.
    pub hash: Digest,
}

/// Checks the store against the mark. `hash_at(seq)` reads the chain hash of a stored frame.
/// Returns the reason to refuse writes, if any.
pub(crate) fn check(
    store: StoreState,
    mark: &MarkSlots,
    hash_at: &dyn Fn(u64) -> Result<Option<Digest>>,
) -> Result<Option<String>> {
    let Some(newest) = mark.newest() else {
        return Ok(Some(format!(
            "both copies of the high-water mark ({MARK_FILE}) are unreadable, so nothing \
             vouches that the log (commit {}, head seq {}) holds every acknowledged event",
            store.commit, store.seq
        )));
    };
    if store.commit < newest.commit {
        return Ok(Some(format!(
            "acknowledged events are missing: the log's head is seq {} (commit {}), but its \
             high-water mark records seq {} (commit {}) as durable; the journal lost batches \
             that were acknowledged",
            store.seq, store.commit, newest.seq, newest.commit
        )));
    }
    if store.commit > newest.commit + 1 {
        return Ok(Some(format!(
            "the high-water mark (commit {}, seq {}) is older than the log (commit {}, seq {}): \
             it was replaced by an older copy, so it cannot vouch for the log",
            newest.commit, newest.seq, store.commit, store.seq
        )));
    }
    for mark in mark.slots.iter().flatten() {
        if mark.commit > store.commit {
            continue;
        }
        if mark.commit == store.commit {
            if (mark.seq, mark.hash) != (store.seq, store.hash) {
                return Ok(Some(format!(
                    "the log's head (seq {}, hash {}) is not the one its high-water mark \
                     records for commit {} (seq {}, hash {})",
                    store.seq, store.hash, mark.commit, mark.seq, mark.hash
                )));
            }
            continue;
        }
        if mark.seq > store.seq {
            return Ok(Some(format!(
                "acknowledged events are missing: the log's head is seq {}, but its \
                 high-water mark records seq {} (commit {}) as durable",
                store.seq, mark.seq, mark.commit
            )));
        }
        if mark.seq > 0 {
            let found = hash_at(mark.seq)?;
            if found != Some(mark.hash) {
                return Ok(Some(format!(
                    "the frame at seq {} does not carry the hash its high-water mark records \
                     ({}): the log was rewritten",
                    mark.seq, mark.hash
                )));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    fn digest(b: u8) -> Digest {
        Digest::from_slice(&[b; 32]).unwrap()
    }

    fn mark(commit: u64, seq: u64, b: u8) -> Mark {
        Mark { commit, seq, hash: digest(b) }
    }

    fn store(commit: u64, seq: u64, b: u8) -> StoreState {
        StoreState { commit, seq, hash: digest(b) }
    }

    fn chain(seq: u64) -> Result<Option<Digest>> {
        Ok(Some(digest(u8::try_from(seq % 251).unwrap())))
    }

    fn slots(a: Option<Mark>, b: Option<Mark>) -> MarkSlots {
        MarkSlots { slots: [a, b] }
    }

    #[test]
    fn records_round_trip_and_any_flipped_bit_spoils_a_slot() {
        let m = mark(7, 1234, 9);
        let bytes = m.encode();
        assert_eq!(Mark::decode(&bytes), Some(m));
        for bit in 0..RECORD_BYTES * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Mark::decode(&flipped), None, "bit {bit}");
        }
        assert_eq!(Mark::decode(&bytes[..RECORD_BYTES - 1]), None);
    }

    #[test]
    fn a_store_at_or_one_past_the_mark_is_accepted() {
        // commit 5 at seq 50 (hash 50), commit 4 at seq 40.
        let s = slots(Some(mark(4, 40, 40)), Some(mark(5, 50, 50)));
        assert_eq!(check(store(5, 50, 50), &s, &chain).unwrap(), None);
        // The mark write after commit 6 did not happen (or tore slot 0).
        assert_eq!(check(store(6, 60, 60), &s, &chain).unwrap(), None);
        let torn = slots(None, Some(mark(5, 50, 50)));
        assert_eq!(check(store(6, 60, 60), &torn, &chain).unwrap(), None);
    }

    #[test]
    fn lost_batches_a_rewritten_head_or_a_stale_mark_are_refused() {
        let s = slots(Some(mark(4, 40, 40)), Some(mark(5, 50, 50)));
        let lost = check(store(4, 40, 40), &s, &chain).unwrap().unwrap();
        assert!(lost.contains("head is seq 40 (commit 4)") && lost.contains("seq 50"), "{lost}");
        let empty = check(store(0, 0, 0), &s, &chain).unwrap().unwrap();
        assert!(empty.contains("missing"), "{empty}");
        let other_head = check(store(5, 50, 77), &s, &chain).unwrap().unwrap();
        assert!(other_head.contains("is not the one"), "{other_head}");
        let stale = check(store(7, 70, 70), &s, &chain).unwrap().unwrap();
        assert!(stale.contains("older than the log"), "{stale}");
        let rewritten = |_: u64| Ok(Some(digest(1)));
        let why = check(store(6, 60, 60), &s, &rewritten).unwrap().unwrap();
        assert!(why.contains("rewritten"), "{why}");
        let unreadable = check(store(6, 60, 60), &slots(None, None), &chain).unwrap().unwrap();
        assert!(unreadable.contains("unreadable"), "{unreadable}");
    }

    #[test]
    fn the_file_alternates_slots_and_survives_a_torn_slot() {
        let dir = tempfile::tempdir().unwrap();
        let file = MarkFile::create(dir.path(), mark(0, 0, 0)).unwrap();
        file.write(mark(1, 10, 10)).unwrap();
        file.write(mark(2, 20, 20)).unwrap();
        let read_back = read(dir.path()).unwrap().unwrap();
        assert_eq!(read_back.slots, [Some(mark(2, 20, 20)), Some(mark(1, 10, 10))]);
        // Tear slot 0 (the newest): the other still vouches for commit 1.
        let path = dir.path().join(MARK_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[30] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap().newest(), Some(mark(1, 10, 10)));
        assert!(MarkFile::create(dir.path(), mark(0, 0, 0)).is_err(), "never replaced");
        assert_eq!(read(&dir.path().join("none")).unwrap(), None);
    }
}
