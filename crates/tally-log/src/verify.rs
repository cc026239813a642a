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
use crate::layout;
use crate::log::Log;
use crate::read::decode_at;
use fjall::Readable as _;

/// What to verify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Start after a trusted (seq, hash) instead of from genesis.
    pub trusted: Option<(u64, Digest)>,
    /// Also check the stream and event-id indexes against the frames.
    pub indexes: bool,
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
}

fn index_error(index: &'static str, seq: u64, reason: String) -> Error {
    Error::Corrupt(Corruption::Index { index, seq, reason })
}

impl Log {
    /// Verifies the log up to the current head; the first failure is returned as
    /// [`Error::Corrupt`], naming the seq and the expected and found hashes.
    pub fn verify(&self, options: VerifyOptions) -> Result<VerifyReport> {
        let head = self.head();
        let snapshot = self.inner.db.snapshot();
        let ks = &self.inner.ks;
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
        let mut next = first;
        if first <= head.seq {
            let range = layout::frame_key(first)..=layout::frame_key(head.seq);
            for guard in snapshot.range(&ks.frames, range) {
                let (key, value) = guard.into_inner()?;
                let seq = layout::be_u64(&key).unwrap_or(0);
                if seq != next {
                    return Err(Error::Corrupt(Corruption::MissingFrame { seq: next }));
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
                if options.indexes {
                    let stream_key = layout::stream_key(event.stream(), event.stream_version());
                    match snapshot.get(&ks.streams, &stream_key)? {
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
                        None => {
                            return Err(index_error(layout::STREAMS, seq, "entry missing".into()));
                        }
                    }
                    let id_value = snapshot.get(&ks.event_ids, event.event_id().to_be_bytes())?;
                    let parsed = id_value.as_deref().and_then(layout::parse_event_id_value);
                    match parsed {
                        Some((s, v, _)) if s == seq && v == event.stream_version() => {}
                        other => {
                            return Err(index_error(
                                layout::EVENT_IDS,
                                seq,
                                format!("entry for {} is {other:?}", event.event_id()),
                            ));
                        }
                    }
                }
                prev = expected;
                next += 1;
            }
        }
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
                for guard in snapshot.iter(keyspace) {
                    let (_, value) = guard.into_inner()?;
                    let seq = value.get(..8).and_then(layout::be_u64).unwrap_or(u64::MAX);
                    if seq <= head.seq {
                        entries += 1;
                    }
                }
                if entries != head.seq {
                    return Err(index_error(
                        name,
                        0,
                        format!("holds {entries} entries for {} frames", head.seq),
                    ));
                }
            }
        }
        Ok(VerifyReport {
            first_seq: first,
            last_seq: head.seq,
            frames_checked: next - first,
            head_hash: prev,
            indexes_checked: options.indexes,
        })
    }
}
