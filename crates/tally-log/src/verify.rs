//! Verification: recompute the chain over the stored bytes and check the indexes against it.
//!
//! What it proves: every frame from the starting point to the head is present, in place,
//! well-formed, links to the frame before it, and hashes (as stored, never re-encoded) to the
//! hash stored with it; the head record names the last one. With `indexes`, every frame is
//! reachable through the stream and event-id indexes and the indexes hold nothing else.
//!
//! What it cannot prove alone: that nobody rewrote a frame and recomputed every later hash
//! (a "relink"). The chain then verifies; a checkpoint kept outside the store catches it.

use crate::chain::{Digest, GENESIS, chain_hash};
use crate::error::{Corruption, Error, Result};
use crate::frame::{HASH_BYTES, RecordedEvent};
use crate::keyspaces::Keyspaces;
use crate::layout;
use crate::log::Log;
use crate::read::{decode_at, scan_chunked};
use crate::tree::StoredNodes;
use fjall::Readable as _;
use tally_proof::checkpoint::Checkpoint;
use tally_proof::hash::leaf_hash;
use tally_proof::merkle::Frontier;

/// What to verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Start after a trusted (seq, hash) instead of from genesis.
    pub trusted: Option<(u64, Digest)>,
    /// Also check the stream and event-id indexes against the frames.
    pub indexes: bool,
    /// Also recompute the Merkle tree from the frames and check the stored frontier.
    pub tree: bool,
    /// A checkpoint the caller trusts (its signature already checked): the log must contain
    /// exactly what it attests — same root and head hash at its size. Implies `tree`.
    pub against: Option<Checkpoint>,
}

impl VerifyOptions {
    /// Everything: chain, indexes and tree.
    #[must_use]
    pub fn full() -> Self {
        Self { indexes: true, tree: true, ..Self::default() }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// First seq checked.
    pub first_seq: u64,
    /// Last seq checked (the head when verification started).
    pub last_seq: u64,
    /// Frames hashed.
    pub frames_checked: u64,
    /// The hash at `last_seq`.
    pub head_hash: Digest,
    /// Whether the indexes were checked.
    pub indexes_checked: bool,
    /// The Merkle root recomputed from the frames, when the tree was checked.
    pub root: Option<Digest>,
}

/// Frames handed to a hashing worker at once.
const VERIFY_BATCH_FRAMES: usize = 4096;

/// Re-hashes a batch whose links were checked by the reader: each stored hash must equal the
/// keyed hash of the frame's own `prev_hash` and bytes. Returns the first failure.
fn rehash(batch: &[RecordedEvent]) -> Option<(u64, Error)> {
    batch.iter().find_map(|event| {
        let expected = chain_hash(&event.prev_hash(), event.frame_bytes());
        (expected != event.hash()).then(|| {
            let seq = event.seq();
            (seq, Error::Corrupt(Corruption::ChainBroken { seq, expected, found: event.hash() }))
        })
    })
}

/// Index entries are written once, with their frame: read from the latest state, the entries
/// of durable frames are those of any snapshot.
fn check_indexes(ks: &Keyspaces, event: &RecordedEvent) -> Result<()> {
    let seq = event.seq();
    let stream_key = layout::stream_key(event.stream(), event.stream_version());
    match ks.streams.get(&stream_key)? {
        Some(v) if layout::be_u64(&v) == Some(seq) => {}
        Some(v) => {
            return Err(index_error(
                layout::STREAMS,
                seq,
                format!(
                    "({}, {}) points at seq {:?}",
                    event.stream(),
                    event.stream_version(),
                    layout::be_u64(&v)
                ),
            ));
        }
        None => return Err(index_error(layout::STREAMS, seq, "entry missing".into())),
    }
    let id_value = ks.event_ids.get(event.event_id().to_be_bytes())?;
    match id_value.as_deref().and_then(layout::parse_event_id_value) {
        Some((s, v, _)) if s == seq && v == event.stream_version() => Ok(()),
        other => Err(index_error(
            layout::EVENT_IDS,
            seq,
            format!("entry for {} is {other:?}", event.event_id()),
        )),
    }
}

/// Whether the Merkle node stored under `key` (level ‖ index) is a complete node of the tree
/// of the first `size` leaves: it covers leaves `index·2^level .. (index+1)·2^level`. A key of
/// another shape counts (and so fails the count).
fn node_within(key: &[u8], size: u64) -> bool {
    let (Some(&level), Some(index)) = (key.first(), key.get(1..).and_then(layout::be_u64)) else {
        return true;
    };
    if key.len() != 9 || level > 64 {
        return true;
    }
    // (index + 1) ≤ 2^64 and level ≤ 64: the product fits in 128 bits.
    ((u128::from(index) + 1) << level) <= u128::from(size)
}

fn index_error(index: &'static str, seq: u64, reason: String) -> Error {
    Error::Corrupt(Corruption::Index { index, seq, reason })
}

impl Log {
    /// Verifies the log up to the current head; the first failure is returned as
    /// [`Error::Corrupt`], naming the seq and the expected and found hashes.
    pub fn verify(&self, options: VerifyOptions) -> Result<VerifyReport> {
        self.verify_with_progress(options, &mut |_, _| {})
    }

    /// [`Log::verify`], calling `progress(done, total)` as frames are read (every
    /// `VERIFY_BATCH_FRAMES` frames and at the end; `total` is the frames to check, fixed by
    /// the snapshot the verification reads). Appends go on meanwhile: they are not in the
    /// snapshot.
    pub fn verify_with_progress(
        &self,
        options: VerifyOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport> {
        // A log that disagrees with its high-water mark fails, whatever its chain says: a
        // chain cut short at a batch boundary is still a valid chain.
        if let Some(refusal) = self.refusal() {
            return Err(Error::Corrupt(refusal.clone()));
        }
        // The head and the stored frontier come from one snapshot. A batch is visible only
        // once it is durable, so the snapshot's head record is a durable head. Everything at
        // or below that head (frames, index entries, complete Merkle nodes) is written once,
        // so the rest is read in chunks from fresh snapshots: a verify of a live store does
        // not pin the memory of what the writer appends meanwhile (`read::READ_CHUNK_ENTRIES`).
        let snapshot = self.inner.db.snapshot();
        let ks = &self.inner.ks;
        let head = match snapshot.get(&ks.meta, layout::META_HEAD)? {
            None => crate::head::Head::EMPTY,
            Some(v) => {
                let (seq, hash, recorded_at_ms) =
                    layout::parse_head_value(&v).ok_or_else(|| {
                        Error::Corrupt(Corruption::Head("head record is malformed".to_owned()))
                    })?;
                crate::head::Head { seq, hash, recorded_at_ms }
            }
        };
        let (first, mut prev) = match options.trusted {
            None | Some((0, _)) => (1, GENESIS),
            Some((seq, hash)) => {
                let value = snapshot
                    .get(&ks.frames, layout::frame_key(seq))?
                    .ok_or(Error::Corrupt(Corruption::MissingFrame { seq }))?;
                let found = decode_at(seq, value)?.hash();
                if found != hash {
                    return Err(Error::Corrupt(Corruption::TrustedMismatch {
                        seq,
                        expected: hash,
                        found,
                    }));
                }
                (seq + 1, hash)
            }
        };
        let tree = options.tree || options.against.is_some();
        if let Some(cp) = &options.against {
            if cp.size > head.seq {
                return Err(Error::Corrupt(Corruption::Checkpoint {
                    size: cp.size,
                    reason: format!("the log holds only {} events", head.seq),
                }));
            }
            if cp.size < first.saturating_sub(1) {
                return Err(Error::Invalid(format!(
                    "checkpoint of size {} precedes the trusted start at seq {}",
                    cp.size,
                    first - 1
                )));
            }
        }
        let mut frontier = if tree && first > 1 {
            Frontier::from_source(&StoredNodes { snapshot: &snapshot, ks, cache: None }, first - 1)
                .map_err(|e| match e {
                    tally_proof::merkle::FrontierError::Source(inner) => inner,
                    other => Error::Corrupt(Corruption::Merkle(other.to_string())),
                })?
        } else {
            Frontier::new()
        };
        let check_against = |frontier: &Frontier, hash: &Digest| -> Result<()> {
            match &options.against {
                Some(cp) if cp.size == frontier.size() => {
                    if frontier.root() != cp.root {
                        return Err(Error::Corrupt(Corruption::Checkpoint {
                            size: cp.size,
                            reason: format!(
                                "root mismatch: checkpoint says {}, the log gives {}",
                                cp.root,
                                frontier.root()
                            ),
                        }));
                    }
                    if *hash != cp.head_hash {
                        return Err(Error::Corrupt(Corruption::Checkpoint {
                            size: cp.size,
                            reason: format!(
                                "head hash mismatch: checkpoint says {}, the log has {hash}",
                                cp.head_hash
                            ),
                        }));
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        };
        check_against(&frontier, &prev)?;
        let stored_frontier = snapshot.get(&ks.meta, layout::META_FRONTIER)?;
        drop(snapshot);
        let db = &self.inner.db;
        let mut next = first;
        let mut failures: Vec<(u64, Error)> = Vec::new();
        if first <= head.seq {
            let range = layout::frame_key(first)..=layout::frame_key(head.seq);
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
            let (work_tx, work_rx) =
                std::sync::mpsc::sync_channel::<Vec<RecordedEvent>>(workers * 2);
            let work_rx = std::sync::Mutex::new(work_rx);
            std::thread::scope(|scope| -> Result<()> {
                let (fail_tx, fail_rx) = std::sync::mpsc::channel::<(u64, Error)>();
                for _ in 0..workers {
                    let fail_tx = fail_tx.clone();
                    let work_rx = &work_rx;
                    scope.spawn(move || {
                        loop {
                            let batch = match work_rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(batch) = batch else { return };
                            if let Some(err) = rehash(&batch) {
                                let _ = fail_tx.send(err);
                            }
                        }
                    });
                }
                drop(fail_tx);
                let mut batch = Vec::with_capacity(VERIFY_BATCH_FRAMES);
                let (from, to) = range.into_inner();
                scan_chunked(db, &ks.frames, from.to_vec(), Some(&to[..]), &mut |key, value| {
                    let seq = layout::be_u64(key).unwrap_or(0);
                    if seq != next {
                        failures
                            .push((next, Error::Corrupt(Corruption::MissingFrame { seq: next })));
                        return Ok(false);
                    }
                    let event = match decode_at(seq, value) {
                        Ok(event) => event,
                        Err(e) => {
                            failures.push((seq, e));
                            return Ok(false);
                        }
                    };
                    if event.prev_hash() != prev {
                        failures.push((
                            seq,
                            Error::Corrupt(Corruption::ChainBroken {
                                seq,
                                expected: chain_hash(&prev, event.frame_bytes()),
                                found: event.hash(),
                            }),
                        ));
                        return Ok(false);
                    }
                    if options.indexes
                        && let Err(e) = check_indexes(ks, &event)
                    {
                        failures.push((seq, e));
                        return Ok(false);
                    }
                    prev = event.hash();
                    next += 1;
                    if tree {
                        frontier.push_with(leaf_hash(&prev), |_, _| {});
                        if let Err(e) = check_against(&frontier, &prev) {
                            failures.push((seq, e));
                            return Ok(false);
                        }
                    }
                    batch.push(event);
                    if batch.len() == VERIFY_BATCH_FRAMES {
                        progress(next - first, head.seq + 1 - first);
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(VERIFY_BATCH_FRAMES));
                        if work_tx.send(full).is_err() {
                            return Ok(false);
                        }
                        if let Ok(failure) = fail_rx.try_recv() {
                            failures.push(failure);
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?;
                if !batch.is_empty() {
                    let _ = work_tx.send(batch);
                }
                drop(work_tx);
                failures.extend(fail_rx.iter());
                Ok(())
            })?;
        }
        // Batches run in parallel but every batch before a failing one was checked, so the
        // smallest failing seq is the first failure of the chain.
        if let Some((_, err)) = failures.into_iter().min_by_key(|(seq, _)| *seq) {
            return Err(err);
        }
        progress(next - first, (head.seq + 1).saturating_sub(first));
        if next != head.seq.max(first.saturating_sub(1)) + 1 {
            return Err(Error::Corrupt(Corruption::MissingFrame { seq: next }));
        }
        if prev != head.hash {
            return Err(Error::Corrupt(Corruption::ChainBroken {
                seq: head.seq,
                expected: head.hash,
                found: prev,
            }));
        }
        if options.indexes {
            // The indexes must hold exactly one entry per frame up to the head.
            for (name, keyspace) in
                [(layout::STREAMS, &ks.streams), (layout::EVENT_IDS, &ks.event_ids)]
            {
                let mut entries = 0u64;
                scan_chunked(db, keyspace, Vec::new(), None, &mut |_, value| {
                    let seq = value.get(..8).and_then(layout::be_u64).unwrap_or(u64::MAX);
                    if seq <= head.seq {
                        entries += 1;
                    }
                    Ok(true)
                })?;
                if entries != head.seq {
                    return Err(index_error(
                        name,
                        0,
                        format!("holds {entries} entries for {} frames", head.seq),
                    ));
                }
            }
        }
        if tree {
            // Every stored inner node is read (fjall checks each block's checksum), and a tree
            // of n leaves has exactly n - popcount(n) complete inner nodes.
            // Nodes the writer added after the head (a live store) are read but not counted.
            let mut nodes = 0u64;
            scan_chunked(db, &ks.merkle, Vec::new(), None, &mut |key, value| {
                if value.len() != HASH_BYTES {
                    return Err(Error::Corrupt(Corruption::Merkle(format!(
                        "node {key:?} holds {} bytes, not {HASH_BYTES}",
                        value.len()
                    ))));
                }
                if node_within(key, head.seq) {
                    nodes += 1;
                }
                Ok(true)
            })?;
            let expected = head.seq - u64::from(head.seq.count_ones());
            if nodes != expected {
                return Err(Error::Corrupt(Corruption::Merkle(format!(
                    "{nodes} inner nodes are stored, a tree of {} leaves has {expected}",
                    head.seq
                ))));
            }
            // The meta keyspace is small (head, frontier, counts, checkpoints): read it all.
            for guard in db.snapshot().iter(&ks.meta) {
                guard.into_inner()?;
            }
        }
        let root = if tree {
            let stored = match stored_frontier {
                Some(bytes) => Frontier::from_bytes(&bytes)
                    .map_err(|e| Error::Corrupt(Corruption::Merkle(e.to_string())))?,
                None => Frontier::new(),
            };
            if stored != frontier {
                return Err(Error::Corrupt(Corruption::Merkle(format!(
                    "stored frontier (size {}, root {}) differs from the recomputed (size {}, root {})",
                    stored.size(),
                    stored.root(),
                    frontier.size(),
                    frontier.root()
                ))));
            }
            Some(frontier.root())
        } else {
            None
        };
        Ok(VerifyReport {
            root,
            first_seq: first,
            last_seq: head.seq,
            frames_checked: next - first,
            head_hash: prev,
            indexes_checked: options.indexes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::node_within;

    fn key(level: u8, index: u64) -> Vec<u8> {
        let mut key = vec![level];
        key.extend_from_slice(&index.to_be_bytes());
        key
    }

    #[test]
    fn a_node_is_within_a_tree_when_it_covers_only_its_leaves() {
        // A tree of 6 leaves: complete inner nodes (1,0) (1,1) (1,2) (2,0); 6 - popcount(6).
        let within: Vec<(u8, u64)> = (1..=3)
            .flat_map(|level| (0..4).map(move |index| (level, index)))
            .filter(|&(level, index)| node_within(&key(level, index), 6))
            .collect();
        assert_eq!(within, vec![(1, 0), (1, 1), (1, 2), (2, 0)]);
        assert!(!node_within(&key(64, 0), u64::MAX), "2^64 leaves exceed any size");
        assert!(node_within(&key(63, 0), u64::MAX));
        // Keys of another shape are counted, so the node count fails on them.
        assert!(node_within(&[1, 2, 3], 0));
        assert!(node_within(&key(65, 0), 0));
    }
}
