//! Signed checkpoints of the log: when they are cut, how they are stored, how they are read.
//!
//! A checkpoint attests the tree size, Merkle root, head seq and chain hash, the time, and the
//! event count per type (format: `tally_proof::checkpoint`). The writer cuts one inside the
//! commit group that reaches `every_events` events or `every_ms` since the last one, and on
//! demand ([`Log::checkpoint`]); it is stored in `meta` under `checkpoint/<size BE>` in the same
//! batch as the events it covers.

use crate::error::{Error, Result};
use crate::layout;
use crate::log::Log;
use fjall::Readable as _;
use std::collections::BTreeMap;
use std::sync::Arc;
use tally_proof::checkpoint::{Checkpoint, SignedCheckpoint};
use tally_proof::key::LedgerKey;

/// Who signs checkpoints and how often.
#[derive(Clone)]
pub struct CheckpointPolicy {
    /// The ledger's signing key.
    pub key: Arc<LedgerKey>,
    /// The log's identity written in every checkpoint, e.g. `tally.example/ledger`.
    pub origin: String,
    /// Cut one when this many events were appended since the last (0 = not by count).
    /// Default 10 000.
    pub every_events: u64,
    /// Cut one when this long has passed since the last and events were appended (0 = not by
    /// time). Default 60 000.
    pub every_ms: u64,
}

impl CheckpointPolicy {
    /// A policy with the default cadence.
    #[must_use]
    pub fn new(key: LedgerKey, origin: impl Into<String>) -> Self {
        Self { key: Arc::new(key), origin: origin.into(), every_events: 10_000, every_ms: 60_000 }
    }
}

impl std::fmt::Debug for CheckpointPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointPolicy")
            .field("key", &self.key.public_key().to_vkey())
            .field("origin", &self.origin)
            .field("every_events", &self.every_events)
            .field("every_ms", &self.every_ms)
            .finish()
    }
}

/// Meta key of the checkpoint of tree size `size`.
pub(crate) fn meta_key(size: u64) -> Vec<u8> {
    let mut key = layout::META_CHECKPOINT_PREFIX.to_vec();
    key.extend_from_slice(&size.to_be_bytes());
    key
}

/// Signs a checkpoint of the given state.
pub(crate) fn cut(policy: &CheckpointPolicy, checkpoint: Checkpoint) -> Result<SignedCheckpoint> {
    SignedCheckpoint::sign(&checkpoint, policy.key.signing_key(), policy.key.name())
        .map_err(|e| Error::Invalid(format!("cannot sign checkpoint: {e}")))
}

/// Now, as RFC 3339 UTC to the second.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Encodes the per-type counts for `meta`: repeated `len u8 ‖ type ‖ count u64 BE`.
pub(crate) fn encode_counts(counts: &BTreeMap<String, u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, count) in counts {
        out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&count.to_be_bytes());
    }
    out
}

/// Decodes [`encode_counts`]; `None` when malformed.
pub(crate) fn decode_counts(mut bytes: &[u8]) -> Option<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let len = usize::from(len);
        let name = std::str::from_utf8(rest.get(..len)?).ok()?;
        let count = layout::be_u64(rest.get(len..len + 8)?)?;
        counts.insert(name.to_owned(), count);
        bytes = &rest[len + 8..];
    }
    Some(counts)
}

impl Log {
    /// Every stored checkpoint, by tree size.
    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let snapshot = self.inner.db.snapshot();
        let mut out = Vec::new();
        for guard in snapshot.prefix(&self.inner.ks.meta, layout::META_CHECKPOINT_PREFIX) {
            let (_, value) = guard.into_inner()?;
            out.push(parse_stored(&value)?);
        }
        Ok(out)
    }

    /// The checkpoint of the largest tree size, if any: one seek.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        self.checkpoint_at_or_below(u64::MAX)
    }

    /// The checkpoint of the largest tree size at most `size` (the newest one that covers an
    /// answer reflecting seq `size`), if any: one seek in the meta keyspace (keys are the
    /// big-endian size), O(log n) in the number of checkpoints, whatever their count.
    pub fn checkpoint_at_or_below(&self, size: u64) -> Result<Option<SignedCheckpoint>> {
        let snapshot = self.inner.db.snapshot();
        let Some(guard) =
            snapshot.range(&self.inner.ks.meta, meta_key(0)..=meta_key(size)).next_back()
        else {
            return Ok(None);
        };
        let (_, value) = guard.into_inner()?;
        parse_stored(&value).map(Some)
    }
}

impl Log {
    /// At most `n` checkpoints strictly after (`forward`) or before `from` (a tree size; none:
    /// from the start or the end), nearest first: a page read by one range, parsing only
    /// what it returns.
    pub fn checkpoints_page(
        &self,
        forward: bool,
        from: Option<u64>,
        n: usize,
    ) -> Result<Vec<SignedCheckpoint>> {
        let snapshot = self.inner.db.snapshot();
        let (low, high) = match (forward, from) {
            (true, Some(size)) => match size.checked_add(1) {
                Some(next) => (next, u64::MAX),
                None => return Ok(Vec::new()),
            },
            (false, Some(size)) => match size.checked_sub(1) {
                Some(before) => (0, before),
                None => return Ok(Vec::new()),
            },
            (_, None) => (0, u64::MAX),
        };
        let range = snapshot.range(&self.inner.ks.meta, meta_key(low)..=meta_key(high));
        let mut out = Vec::with_capacity(n.min(64));
        let mut take = |guard: fjall::Guard| -> Result<()> {
            let (_, value) = guard.into_inner()?;
            out.push(parse_stored(&value)?);
            Ok(())
        };
        if forward {
            for guard in range.take(n) {
                take(guard)?;
            }
        } else {
            for guard in range.rev().take(n) {
                take(guard)?;
            }
        }
        Ok(out)
    }

    /// How many checkpoints are stored (their keys counted; none is parsed).
    pub fn checkpoint_count(&self) -> Result<u64> {
        let snapshot = self.inner.db.snapshot();
        let mut count = 0_u64;
        for guard in snapshot.prefix(&self.inner.ks.meta, layout::META_CHECKPOINT_PREFIX) {
            guard.key()?;
            count += 1;
        }
        Ok(count)
    }
}

/// A stored checkpoint's text, parsed (never re-encoded: the stored bytes are the note).
fn parse_stored(value: &[u8]) -> Result<SignedCheckpoint> {
    let text = std::str::from_utf8(value).map_err(|_| {
        Error::Corrupt(crate::Corruption::Head("a stored checkpoint is not utf-8".into()))
    })?;
    SignedCheckpoint::parse(text)
        .map_err(|e| Error::Corrupt(crate::Corruption::Head(format!("a stored checkpoint: {e}"))))
}
