//! The write side of one projection during one chunk: reads see earlier writes of the chunk,
//! and everything lands in one fjall batch with the checkpoint, together with the versions the
//! chunk's events wrote (the view's history, see [`crate::history`]).

use crate::apply_error::ApplyError;
use crate::history;
use fjall::Keyspace;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

/// A pending write: `Some(value)` or a deletion (`None`).
type Pending = Option<Vec<u8>>;

/// Versions written in a chunk: history key → history value.
type Versions = BTreeMap<Vec<u8>, Vec<u8>>;

/// Pending writes of one projection over its keyspace.
pub struct Tx<'a> {
    keyspace: &'a Keyspace,
    /// Storage reads still to fail (test-only fault injection; always 0 otherwise).
    read_faults: &'a AtomicU64,
    overlay: BTreeMap<Vec<u8>, Pending>,
    /// Overlay entries replaced since the current event began, to undo a failed apply.
    undo: Vec<(Vec<u8>, Option<Pending>)>,
    /// The view's history and what this chunk adds to it; `None` for a store that keeps no
    /// history (a throw-away replay).
    history: Option<Kept<'a>>,
}

/// The keyspaces of a view's history.
#[derive(Clone, Copy)]
pub(crate) struct HistoryKeyspaces<'a> {
    /// Every version of every key (see [`crate::history`]).
    pub(crate) versions: &'a Keyspace,
    /// The lifetime of every key deleted (see [`history::lifetime_entry`]).
    pub(crate) lifetimes: &'a Keyspace,
}

/// What a chunk adds to a view's history.
struct Kept<'a> {
    keyspaces: HistoryKeyspaces<'a>,
    /// History key → history value.
    versions: Versions,
    /// Lifetime entries of the keys deleted.
    lifetimes: Versions,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("pending", &self.overlay.len()).finish()
    }
}

impl<'a> Tx<'a> {
    pub(crate) fn new(
        keyspace: &'a Keyspace,
        history: Option<HistoryKeyspaces<'a>>,
        read_faults: &'a AtomicU64,
    ) -> Self {
        Self {
            keyspace,
            read_faults,
            overlay: BTreeMap::new(),
            undo: Vec::new(),
            history: history.map(|keyspaces| Kept {
                keyspaces,
                versions: BTreeMap::new(),
                lifetimes: BTreeMap::new(),
            }),
        }
    }

    /// Raw read through the pending writes.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ApplyError> {
        if let Some(pending) = self.overlay.get(key) {
            return Ok(pending.clone());
        }
        let injected = self
            .read_faults
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if injected {
            return Err(ApplyError::storage("read: injected i/o error"));
        }
        self.keyspace
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| ApplyError::storage(format!("read: {e}")))
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let previous = self.overlay.insert(key.clone(), value);
        self.undo.push((key, previous));
    }

    /// Raw write.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.write(key, Some(value));
    }

    /// Removes a key.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.write(key, None);
    }

    /// Starts an event: later [`Tx::rollback`] undoes only what follows.
    pub(crate) fn begin(&mut self) {
        self.undo.clear();
    }

    /// Ends the event `seq` began with [`Tx::begin`]: records the value of every key it wrote
    /// as that key's version at `seq`, and the lifetime of every key it deleted.
    pub(crate) fn end(&mut self, seq: u64) -> Result<(), ApplyError> {
        let Some(kept) = &mut self.history else {
            self.undo.clear();
            return Ok(());
        };
        for (key, _) in self.undo.drain(..) {
            debug_assert!(key.len() <= 32_000, "view keys are short (ids are at most 64 bytes)");
            let version = history::history_key(&key, seq);
            if kept.versions.contains_key(&version) {
                continue; // written twice by this event: recorded once, as it ends
            }
            // The same key may be written more than once by one event: the overlay holds the
            // last write, which is the version.
            let value = self.overlay.get(&key).and_then(Option::as_deref);
            if value.is_none()
                && let Some(born) = kept.born(&key, &version)?
            {
                let (entry, died) = history::lifetime_entry(&key, born, seq);
                kept.lifetimes.insert(entry, died);
            }
            kept.versions.insert(version, history::history_value(value));
        }
        Ok(())
    }

    /// Undoes every write since [`Tx::begin`].
    pub(crate) fn rollback(&mut self) {
        while let Some((key, previous)) = self.undo.pop() {
            match previous {
                Some(value) => {
                    self.overlay.insert(key, value);
                }
                None => {
                    self.overlay.remove(&key);
                }
            }
        }
    }

    /// Typed read (postcard).
    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, ApplyError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => postcard::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| ApplyError::new(format!("stored value under {key:?}: {e}"))),
        }
    }

    /// Typed write (postcard: deterministic bytes for equal values).
    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<(), ApplyError> {
        let bytes =
            postcard::to_stdvec(value).map_err(|e| ApplyError::new(format!("encoding: {e}")))?;
        self.put_raw(key, bytes);
        Ok(())
    }

    /// Read-modify-write of a typed value, starting from `Default` when absent.
    pub fn update<T, F>(&mut self, key: Vec<u8>, change: F) -> Result<T, ApplyError>
    where
        T: Serialize + DeserializeOwned + Default,
        F: FnOnce(&mut T),
    {
        let mut value: T = self.get(&key)?.unwrap_or_default();
        change(&mut value);
        self.put(key, &value)?;
        Ok(value)
    }

    /// Adds `delta` to an i64 counter (stored big-endian for readability in dumps).
    pub fn add(&mut self, key: Vec<u8>, delta: i64) -> Result<i64, ApplyError> {
        let current = match self.get_raw(&key)? {
            Some(bytes) => i64::from_be_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| ApplyError::new("counter is not 8 bytes"))?,
            ),
            None => 0,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| ApplyError::new(format!("counter overflow at {key:?}")))?;
        self.put_raw(key, next.to_be_bytes().to_vec());
        Ok(next)
    }

    /// Pending writes, versions included.
    pub(crate) fn len(&self) -> usize {
        self.overlay.len()
            + self.history.as_ref().map_or(0, |kept| kept.versions.len() + kept.lifetimes.len())
    }

    pub(crate) fn drain_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        self.undo.clear();
        if let Some(kept) = &mut self.history {
            for (key, value) in std::mem::take(&mut kept.versions) {
                batch.insert(kept.keyspaces.versions, key, value);
            }
            for (key, value) in std::mem::take(&mut kept.lifetimes) {
                batch.insert(kept.keyspaces.lifetimes, key, value);
            }
        }
        for (key, value) in std::mem::take(&mut self.overlay) {
            match value {
                Some(value) => batch.insert(self.keyspace, key, value),
                None => batch.remove(self.keyspace, key),
            }
        }
    }
}

impl Kept<'_> {
    /// Where the lifetime of `key` that its deletion `deletion` (a history key) ends began:
    /// from the versions before it, this chunk's first, then those committed.
    fn born(&self, key: &[u8], deletion: &[u8]) -> Result<Option<u64>, ApplyError> {
        let part = history::key_part(key);
        let oldest = history::after_key(key);
        let pending = self
            .versions
            .range::<[u8], _>((Bound::Excluded(deletion), Bound::Included(oldest.as_slice())))
            .map(|(k, v)| Ok((k.clone(), v.clone())));
        let committed = self.keyspaces.versions.range(part..=oldest.clone()).map(|guard| {
            let (k, v) =
                guard.into_inner().map_err(|e| ApplyError::storage(format!("read: {e}")))?;
            Ok((k.to_vec(), v.to_vec()))
        });
        let mut versions = Vec::new();
        for entry in pending.chain(committed) {
            let (k, v): (Vec<u8>, Vec<u8>) = entry?;
            let version = history::version_of(&k, &v)
                .ok_or_else(|| ApplyError::storage(format!("malformed history at {k:?}")))?;
            let ends = !version.1;
            versions.push(version);
            if ends || versions.len() > history::LIFETIME_WALK {
                break;
            }
        }
        Ok(history::lifetime_start(versions.into_iter()))
    }
}

/// Builds a key from parts separated by 0x00 (parts never contain 0x00: ids are printable).
#[must_use]
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}
