//! Before fjall opens the log: damage in its journals that fjall would take for a torn write.
//!
//! fjall 3.1 recovers a journal by reading entries until the first one that does not decode
//! (a bad tag, a short read, a bad trailer) and then *truncates the file* to the last complete
//! batch before it, without an error (`RecoveryMode::TolerateCorruptTail`, its only mode). A
//! crash can only tear the batch being written: the writer makes every batch durable before it
//! starts the next. So when complete batches follow the point where decoding stops, the
//! journal is damaged, not torn, and fjall would silently drop acknowledged events.
//!
//! This check reads each journal (read-only, streaming) with a decoder of fjall's journal
//! framing that is never stricter than fjall's own, finds where decoding stops, and counts the
//! batch trailers (`End` entries: tag 3, checksum, `FJL\x03`) after that point. Two or more
//! mean at least one complete batch written after the damaged one: the log refuses to open,
//! before fjall has changed anything. One is ambiguous (a torn last batch whose trailer page
//! reached the disk before an earlier page), zero is a torn or clean tail: both are left to
//! fjall. Checksum mismatches inside a batch are fjall's own error at open.
//!
//! The framing is fjall 3.1's (`journal/entry.rs`); a test runs this check over journals
//! written by the fjall in use, so a format change fails the tests, not a store.

use crate::error::{Corruption, Error, Result};
use std::io::{BufReader, Read};
use std::path::Path;

const TAG_START: u8 = 1;
const TAG_ITEM: u8 = 2;
const TAG_END: u8 = 3;
const TAG_CLEAR: u8 = 4;
/// fjall's batch trailer magic.
const MAGIC: [u8; 4] = [b'F', b'J', b'L', 3];
/// Bytes of an `End` entry: tag, checksum (u64), magic.
const END_BYTES: usize = 1 + 8 + MAGIC.len();

/// What a scan of one journal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JournalScan {
    /// Where decoding stops (the file's length when everything decodes).
    pub stop: u64,
    /// Where fjall would cut the file: the end of the last complete batch before `stop`.
    pub cut: u64,
    /// Batch trailers at or after `stop`.
    pub trailers_after: u64,
    /// One past the last non-zero byte (fjall preallocates journals with zeros).
    pub written: u64,
}

/// Folder (inside the log's directory) where the bytes fjall is about to cut from a journal
/// are kept before it opens the store.
pub const TAILS_DIR: &str = "journal-tails";

/// Checks every journal (`*.jnl`) in `dir`, and keeps a copy of every journal tail fjall's
/// recovery is about to cut (a torn last batch after a crash, or damage): the evidence stays
/// on disk whatever the opening decides. Returns the copies made.
pub(crate) fn check_journals(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let io = |source| Error::Io { path: dir.display().to_string(), source };
    let mut journals = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "jnl") {
            journals.push(path);
        }
    }
    journals.sort();
    let mut kept = Vec::new();
    for path in journals {
        let scan =
            scan(&path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        if scan.cut < scan.written {
            kept.push(
                keep_tail(dir, &path, scan.cut, scan.written)
                    .map_err(|source| Error::Io { path: path.display().to_string(), source })?,
            );
        }
        if scan.trailers_after >= 2 {
            return Err(Error::Corrupt(Corruption::Files(format!(
                "journal '{}' is damaged at byte {}: {} complete batches follow the damage, so \
                 it is not a torn write, and opening would silently drop them; the store was \
                 not opened and is unchanged (restore the journal from a backup)",
                path.display(),
                scan.stop,
                scan.trailers_after
            ))));
        }
    }
    Ok(kept)
}

/// Copies bytes `from..to` of `journal` to `dir/journal-tails/<name>-at-<from>.tail`, durably.
fn keep_tail(
    dir: &Path,
    journal: &Path,
    from: u64,
    to: u64,
) -> std::io::Result<std::path::PathBuf> {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let tails = dir.join(TAILS_DIR);
    std::fs::create_dir_all(&tails)?;
    let name = journal.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = tails.join(format!("{name}-at-{from}.tail"));
    if target.exists() {
        return Ok(target);
    }
    let mut source = std::fs::File::open(journal)?;
    source.seek(SeekFrom::Start(from))?;
    let partial = tails.join(format!("{name}-at-{from}.partial"));
    let mut out = std::fs::File::create(&partial)?;
    std::io::copy(&mut source.take(to - from), &mut out)?;
    out.flush()?;
    out.sync_all()?;
    std::fs::rename(&partial, &target)?;
    std::fs::File::open(&tails)?.sync_all()?;
    Ok(target)
}

/// A reader that counts the bytes it has consumed.
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Counting<R> {
    /// Reads exactly `buf.len()` bytes; `false` at end of file.
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<bool> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Skips `n` bytes; `false` when the file ends first.
    fn skip(&mut self, n: u64) -> std::io::Result<bool> {
        let skipped = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())?;
        self.pos += skipped;
        Ok(skipped == n)
    }
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Decodes entries until one does not decode, or breaks fjall's batch framing (a start inside
/// a batch, an item or end outside one). Returns (that offset, the end of the last complete
/// batch before it): fjall's recovery cuts the file at the latter.
fn decode_until_stop<R: Read>(reader: &mut Counting<R>) -> std::io::Result<(u64, u64)> {
    let mut in_batch = false;
    let mut cut = 0;
    loop {
        let at = reader.pos;
        let mut tag = [0u8; 1];
        if !reader.fill(&mut tag)? {
            return Ok((at, cut));
        }
        let complete = match tag[0] {
            TAG_START => !in_batch && reader.skip(4 + 8)?,
            TAG_CLEAR => in_batch && reader.skip(8)?,
            TAG_END => {
                let mut rest = [0u8; END_BYTES - 1];
                in_batch && reader.fill(&mut rest)? && rest[8..] == MAGIC
            }
            TAG_ITEM => {
                // value type, compression, keyspace id (u64), key len (u16), value len (u32),
                // on-disk value len (u32), key, value.
                let mut head = [0u8; 1 + 1 + 8 + 2 + 4 + 4];
                if in_batch && reader.fill(&mut head)? {
                    // lsm-tree's value types: value, tombstone, weak tombstone, indirection.
                    let value_type = matches!(head[0], 0 | 1 | 2 | 4);
                    let compression = head[1];
                    let key_len = u64::from(u16::from_le_bytes([head[10], head[11]]));
                    let value_len = u32_le(&head[12..16]);
                    let on_disk = u32_le(&head[16..20]);
                    // 0 = none (both lengths equal), 1 = lz4.
                    let framed = compression == 1 || (compression == 0 && value_len == on_disk);
                    value_type && framed && reader.skip(key_len + u64::from(on_disk))?
                } else {
                    false
                }
            }
            _ => false,
        };
        if !complete {
            return Ok((at, cut));
        }
        match tag[0] {
            TAG_START => in_batch = true,
            TAG_END => {
                in_batch = false;
                cut = reader.pos;
            }
            _ => {}
        }
    }
}

/// Counts `End` entries (tag 3, eight bytes, magic) in what `reader` has left, starting at
/// offset `from`; also returns one past the last non-zero byte (or `from`).
fn count_trailers<R: Read>(reader: &mut R, from: u64) -> std::io::Result<(u64, u64)> {
    let mut count = 0;
    let mut written = from;
    let mut pos = from;
    let mut window: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok((count, written));
        }
        if let Some(last) = chunk[..n].iter().rposition(|b| *b != 0) {
            written = pos + last as u64 + 1;
        }
        pos += n as u64;
        window.extend_from_slice(&chunk[..n]);
        let mut i = 0;
        while i + END_BYTES <= window.len() {
            if window[i] == TAG_END && window[i + 9..i + END_BYTES] == MAGIC {
                count += 1;
                i += END_BYTES;
            } else {
                i += 1;
            }
        }
        // Keep the bytes a trailer starting near the end could still need.
        window.drain(..i);
    }
}

/// Scans one journal file.
pub(crate) fn scan(path: &Path) -> std::io::Result<JournalScan> {
    let file = std::fs::File::open(path)?;
    let mut reader = Counting { inner: BufReader::with_capacity(1 << 20, file), pos: 0 };
    let (stop, cut) = decode_until_stop(&mut reader)?;
    // Count from the stop itself: re-open there.
    let mut file = std::fs::File::open(path)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(stop))?;
    let (trailers_after, mut written) =
        count_trailers(&mut BufReader::with_capacity(1 << 20, file), stop)?;
    if written == stop && cut < stop {
        // Nothing but zeros after the stop: the written part may end before it (a torn
        // entry whose length ran into the preallocated zeros).
        let mut file = std::fs::File::open(path)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(cut))?;
        let mut between = Vec::new();
        file.take(stop - cut).read_to_end(&mut between)?;
        written = cut + between.iter().rposition(|b| *b != 0).map_or(0, |i| i as u64 + 1);
    }
    Ok(JournalScan { stop, cut, trailers_after, written })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
mod tests {
    use super::*;

    fn start(out: &mut Vec<u8>, items: u32) {
        out.push(TAG_START);
        out.extend_from_slice(&items.to_le_bytes());
        out.extend_from_slice(&7u64.to_le_bytes());
    }

    fn item(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
        out.extend_from_slice(&[TAG_ITEM, 0, 0]);
        out.extend_from_slice(&1u64.to_le_bytes());
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(value);
    }

    fn end(out: &mut Vec<u8>) {
        out.push(TAG_END);
        out.extend_from_slice(&42u64.to_le_bytes());
        out.extend_from_slice(&MAGIC);
    }

    fn journal(batches: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for b in 0..batches {
            start(&mut out, 2);
            item(&mut out, b"k", format!("value {b}").as_bytes());
            item(&mut out, b"key2", &[9; 300]);
            end(&mut out);
        }
        out
    }

    fn len5(bytes: &[u8]) -> u64 {
        bytes.len() as u64
    }

    fn scan_bytes(bytes: &[u8]) -> JournalScan {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.jnl");
        std::fs::write(&path, bytes).unwrap();
        scan(&path).unwrap()
    }

    #[test]
    fn a_clean_or_preallocated_journal_decodes_to_its_end() {
        let mut bytes = journal(5);
        let len = bytes.len() as u64;
        let clean = JournalScan { stop: len, cut: len, trailers_after: 0, written: len };
        assert_eq!(scan_bytes(&bytes), clean);
        bytes.resize(bytes.len() + 4096, 0);
        assert_eq!(scan_bytes(&bytes), clean);
    }

    #[test]
    fn a_torn_last_batch_has_no_trailer_after_the_stop() {
        let bytes = journal(5);
        let torn = &bytes[..bytes.len() - 20];
        let scan = scan_bytes(torn);
        assert_eq!(scan.trailers_after, 0);
        assert_eq!(scan.cut, (bytes.len() / 5 * 4) as u64, "{scan:?}");
        assert_eq!(scan.written, torn.len() as u64);
    }

    /// The bytes fjall is about to cut are copied out first, once.
    #[test]
    fn a_tail_fjall_will_cut_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = journal(5);
        let mut torn = bytes[..bytes.len() - 20].to_vec();
        torn.resize(torn.len() + 4096, 0);
        std::fs::write(dir.path().join("3.jnl"), &torn).unwrap();
        let kept = check_journals(dir.path()).unwrap();
        let four = bytes.len() / 5 * 4;
        assert_eq!(kept, vec![dir.path().join(TAILS_DIR).join(format!("3.jnl-at-{four}.tail"))]);
        // Up to the last non-zero byte: the zeros after it are fjall's preallocation.
        let tail = &bytes[four..bytes.len() - 20];
        let written = tail.iter().rposition(|b| *b != 0).unwrap() + 1;
        assert_eq!(std::fs::read(&kept[0]).unwrap(), &tail[..written]);
        assert_eq!(check_journals(dir.path()).unwrap(), kept);
    }

    /// fjall's recovery stops at an item whose value type is not one lsm-tree knows, and cuts
    /// every batch from there on: with complete batches after it, that is damage.
    #[test]
    fn a_flipped_value_type_byte_is_damage() {
        let mut bytes = journal(5);
        let batch = bytes.len() / 5;
        // The first item of the second batch: start entry (13 bytes), then its value type.
        bytes[batch + 13 + 1] = 3;
        let scan = scan_bytes(&bytes);
        assert_eq!(
            (scan.stop, scan.cut, scan.trailers_after),
            ((batch + 13) as u64, batch as u64, 4)
        );
    }

    /// A start inside a batch, or an item outside one, breaks the framing where fjall's does.
    #[test]
    fn batch_framing_is_checked() {
        let mut bytes = journal(3);
        let batch = bytes.len() / 3;
        // Turn the first batch's end entry into garbage that is not an end: the next start is
        // then inside a batch.
        bytes[batch - END_BYTES] = TAG_CLEAR;
        let scan = scan_bytes(&bytes);
        assert_eq!(scan.cut, 0, "{scan:?}");
        assert!(scan.stop < batch as u64 + 1, "{scan:?}");
    }

    /// The scan agrees with the journals the fjall in use writes (lz4 values included).
    #[test]
    fn journals_written_by_fjall_decode_to_their_end() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = fjall::Database::builder(dir.path()).open().unwrap();
            let ks = db.keyspace("k", fjall::KeyspaceCreateOptions::default).unwrap();
            for i in 0u32..200 {
                let mut batch = db.batch().durability(Some(fjall::PersistMode::SyncData));
                batch.insert(&ks, i.to_be_bytes(), vec![(i % 251) as u8; (i as usize * 97) % 9000]);
                batch.insert(&ks, b"head", i.to_be_bytes());
                batch.remove(&ks, (i + 1000).to_be_bytes());
                batch.commit().unwrap();
            }
        }
        let mut journals: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jnl"))
            .collect();
        assert_eq!(journals.len(), 1);
        let path = journals.pop().unwrap();
        let scan = scan(&path).unwrap();
        assert_eq!(scan.trailers_after, 0, "{scan:?}");
        assert!(scan.stop > 200 * 40, "{scan:?}");
        check_journals(dir.path()).unwrap();
        // The same journal with its first byte flipped is refused before fjall touches it.
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        bytes[0] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = check_journals(dir.path()).unwrap_err();
        assert!(err.to_string().contains("at byte 0: 200 complete batches"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, len, "unchanged");
    }

    #[test]
    fn damage_followed_by_complete_batches_is_counted() {
        let mut bytes = journal(5);
        bytes[0] ^= 1;
        assert_eq!(
            scan_bytes(&bytes),
            JournalScan { stop: 0, cut: 0, trailers_after: 5, written: len5(&bytes) }
        );
        let mut bytes = journal(5);
        let one = bytes.len() / 5;
        bytes[one] = 0x7f; // the second batch's start tag
        let scan = scan_bytes(&bytes);
        assert_eq!((scan.stop, scan.trailers_after), (one as u64, 4));
    }
}
