//! Opening after a crash: the stored head must agree with the last frames.
//!
//! fjall recovers its journal by truncating at the first invalid batch. Frames and the head
//! record are written in the same batch, so they survive or vanish together; what remains must
//! chain. The tail (up to `recovery_tail_frames`) is re-hashed against the head; anything else
//! is refused with a typed [`Corruption`] rather than repaired.

use crate::chain::{GENESIS, chain_hash};
use crate::checkpoint::decode_counts;
use crate::error::{Corruption, Error, Result};
use crate::frame::FORMAT_VERSION;
use crate::head::Head;
use crate::keyspaces::Keyspaces;
use crate::layout;
use crate::read::decode_at;
use crate::tree::StoredNodes;
use fjall::{Database, PersistMode};
use std::collections::BTreeMap;
use tally_proof::merkle::Frontier;

/// What the writer needs to go on after opening.
pub(crate) struct Recovered {
    pub head: Head,
    pub frontier: Frontier,
    pub counts: BTreeMap<String, u64>,
    /// Tree size of the newest stored checkpoint.
    pub checkpoint_size: Option<u64>,
}

fn merkle(reason: String) -> Error {
    Error::Corrupt(Corruption::Merkle(reason))
}

/// Checks the head and tail, then the Merkle frontier and counts against the head.
pub(crate) fn check(db: &Database, ks: &Keyspaces, tail_frames: u64) -> Result<Recovered> {
    let head = check_head(db, ks, tail_frames)?;
    let frontier = match ks.meta.get(layout::META_FRONTIER)? {
        Some(bytes) => Frontier::from_bytes(&bytes)
            .map_err(|e| merkle(format!("stored frontier is malformed: {e}")))?,
        None if head.seq == 0 => Frontier::new(),
        None => return Err(merkle("frontier is missing".to_owned())),
    };
    if frontier.size() != head.seq {
        return Err(merkle(format!(
            "frontier covers {} events but the head is at seq {}",
            frontier.size(),
            head.seq
        )));
    }
    let snapshot = db.snapshot();
    let from_nodes =
        Frontier::from_source(&StoredNodes { snapshot: &snapshot, ks, cache: None }, head.seq)
            .map_err(|e| match e {
                tally_proof::merkle::FrontierError::Source(inner) => inner,
                other => merkle(format!("reading the frontier's nodes: {other}")),
            })?;
    if from_nodes != frontier {
        return Err(merkle("stored frontier disagrees with the stored nodes".to_owned()));
    }
    let counts = match ks.meta.get(layout::META_COUNTS)? {
        Some(bytes) => decode_counts(&bytes)
            .ok_or_else(|| Error::Corrupt(Corruption::Head("event counts are malformed".into())))?,
        None => BTreeMap::new(),
    };
    let counted: u64 = counts.values().sum();
    if counted != head.seq {
        return Err(Error::Corrupt(Corruption::Head(format!(
            "event counts add up to {counted} but the head is at seq {}",
            head.seq
        ))));
    }
    let checkpoint_size = ks
        .meta
        .prefix(layout::META_CHECKPOINT_PREFIX)
        .next_back()
        .map(|g| g.key())
        .transpose()?
        .and_then(|key| key.get(layout::META_CHECKPOINT_PREFIX.len()..).and_then(layout::be_u64));
    Ok(Recovered { head, frontier, counts, checkpoint_size })
}

fn check_head(db: &Database, ks: &Keyspaces, tail_frames: u64) -> Result<Head> {
    match ks.meta.get(layout::META_FORMAT)? {
        Some(v) if v.as_ref() == [FORMAT_VERSION] => {}
        Some(v) => {
            return Err(Error::Corrupt(Corruption::Head(format!(
                "store has format version {:?}, this build reads {FORMAT_VERSION}",
                v.as_ref()
            ))));
        }
        None => {
            if ks.frames.first_key_value().is_some() {
                return Err(Error::Corrupt(Corruption::Head(
                    "frames exist but the format marker is missing".to_owned(),
                )));
            }
            ks.meta.insert(layout::META_FORMAT, [FORMAT_VERSION])?;
            db.persist(PersistMode::SyncData)?;
        }
    }

    let stored_head = ks.meta.get(layout::META_HEAD)?;
    let last = ks.frames.last_key_value().map(|g| g.into_inner()).transpose()?;
    let Some(stored_head) = stored_head else {
        return match last {
            None => Ok(Head::EMPTY),
            Some(_) => Err(Error::Corrupt(Corruption::Head(
                "frames exist but the head record is missing".to_owned(),
            ))),
        };
    };
    let (head_seq, head_hash, recorded_at_ms) = layout::parse_head_value(&stored_head)
        .ok_or_else(|| Error::Corrupt(Corruption::Head("head record is malformed".to_owned())))?;
    let last_seq = match &last {
        None => 0,
        Some((key, _)) => layout::be_u64(key).ok_or_else(|| {
            Error::Corrupt(Corruption::Head("last frame key is not a seq".to_owned()))
        })?,
    };
    if last_seq > head_seq {
        return Err(Error::Corrupt(Corruption::BeyondHead { seq: last_seq, head: head_seq }));
    }
    if last_seq < head_seq {
        return Err(Error::Corrupt(Corruption::MissingFrame { seq: head_seq }));
    }

    // Re-hash the tail up to the head. The first tail frame's own `prev_hash` is taken on
    // trust (a full verify checks it); everything after it must chain.
    let first = head_seq.saturating_sub(tail_frames.max(1) - 1).max(1);
    let mut prev = if first == 1 {
        GENESIS
    } else {
        let value = ks
            .frames
            .get(layout::frame_key(first))?
            .ok_or(Error::Corrupt(Corruption::MissingFrame { seq: first }))?;
        decode_at(first, value)?.prev_hash()
    };
    let mut expected_seq = first;
    for guard in ks.frames.range(layout::frame_key(first)..=layout::frame_key(head_seq)) {
        let (key, value) = guard.into_inner()?;
        let seq = layout::be_u64(&key).unwrap_or(0);
        if seq != expected_seq {
            return Err(Error::Corrupt(Corruption::MissingFrame { seq: expected_seq }));
        }
        let event = decode_at(seq, value)?;
        let expected = chain_hash(&prev, event.frame_bytes());
        if event.prev_hash() != prev || event.hash() != expected {
            return Err(Error::Corrupt(Corruption::ChainBroken {
                seq,
                expected,
                found: event.hash(),
            }));
        }
        prev = expected;
        expected_seq += 1;
    }
    if expected_seq != head_seq + 1 {
        return Err(Error::Corrupt(Corruption::MissingFrame { seq: expected_seq }));
    }
    if prev != head_hash {
        return Err(Error::Corrupt(Corruption::ChainBroken {
            seq: head_seq,
            expected: head_hash,
            found: prev,
        }));
    }
    Ok(Head { seq: head_seq, hash: head_hash, recorded_at_ms })
}
