//! The outbox store (`<data-dir>/outbox/`, its own fjall database, outside the hash-chained
//! log): endpoints added through the API, each endpoint's cursor and retry state, the
//! `ats.changed` messages cut but not yet delivered, the ATS each endpoint was last told, and
//! the dead letters.
//!
//! Layout (keys start with the endpoint's name and a 0 byte; names hold no 0 byte):
//! - `endpoints`: name → the endpoint as JSON ([`EndpointText`]), for endpoints of the API;
//! - `state`: name → [`EndpointState`] as JSON;
//! - `pending`: name ‖ 0 ‖ key (u64 BE) → a cut `ats.changed` [`Message`];
//! - `ats`: name ‖ 0 ‖ channel ‖ 0 ‖ sku → the ATS last cut for the endpoint (u64 BE);
//! - `dead`, `replay`: name ‖ 0 ‖ key (u64 BE) → [`DeadLetter`] as JSON.
//!
//! Durability: a cut of `ats.changed` messages, a dead letter and every endpoint change are
//! fsynced before anything else happens; the cursor after a 2xx is written to the OS (it
//! survives a process crash) and fsynced at most every [`SYNC_INTERVAL_MS`]: after a power
//! loss a few messages may be sent again, with the same ids.

use crate::config::EndpointText;
use crate::message::Message;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The directory of the outbox store inside the data directory.
pub const DIR_NAME: &str = "outbox";
/// Longest time between two fsyncs of delivered cursors, in milliseconds.
pub const SYNC_INTERVAL_MS: u64 = 1000;
/// Most dead letters kept per endpoint; the oldest goes when another arrives (counted in
/// [`EndpointState::dead_letters_dropped`]).
pub const DEAD_LETTERS_MAX: u64 = 10_000;

/// A storage failure of the outbox store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// fjall failed.
    #[error("outbox store: {0}")]
    Storage(#[from] fjall::Error),
    /// A stored value does not decode.
    #[error("outbox store: corrupt value under '{key}': {reason}")]
    Corrupt {
        /// The key, as text where it is text.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The message being retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inflight {
    /// Its id.
    pub id: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the first attempt failed (ms since the epoch).
    pub first_failure_ms: i64,
    /// When the next attempt is due (ms since the epoch).
    pub next_attempt_ms: i64,
}

/// An endpoint's durable delivery state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    /// Every event message with seq ≤ this was delivered (a 2xx), dead-lettered or filtered out.
    pub cursor: u64,
    /// The stock moves of every event ≤ this are in the cut `ats.changed` messages.
    pub ats_seq: u64,
    /// Paused by an operator (or by a 410 Gone answer).
    pub paused: bool,
    /// Why it is paused.
    pub paused_reason: Option<String>,
    /// The message being retried, if any.
    pub inflight: Option<Inflight>,
    /// Messages delivered (2xx).
    pub delivered: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Failed attempts since the last 2xx.
    pub consecutive_failures: u32,
    /// The last failure (status or transport error).
    pub last_error: Option<String>,
    /// When the last attempt was made (ms since the epoch).
    pub last_attempt_ms: Option<i64>,
    /// When the last 2xx came (ms since the epoch).
    pub last_success_ms: Option<i64>,
    /// The next key for a pending, dead or replayed message.
    pub next_key: u64,
    /// Dead letters dropped because the endpoint held [`DEAD_LETTERS_MAX`].
    pub dead_letters_dropped: u64,
}

/// A message that exhausted its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its key in the endpoint's list.
    pub key: u64,
    /// The message, as it was sent.
    pub message: Message,
    /// Attempts made.
    pub attempts: u32,
    /// When the first attempt failed.
    pub first_failure_ms: i64,
    /// When it was given up.
    pub dead_at_ms: i64,
    /// The last failure.
    pub last_error: String,
}

/// The outbox store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Database,
    endpoints: Keyspace,
    state: Keyspace,
    pending: Keyspace,
    ats: Keyspace,
    dead: Keyspace,
    replay: Keyspace,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

fn numbered(name: &str, n: u64) -> Vec<u8> {
    let mut key = prefix(name);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

fn ats_key(name: &str, channel: &str, sku: &str) -> Vec<u8> {
    let mut key = prefix(name);
    key.extend_from_slice(channel.as_bytes());
    key.push(0);
    key.extend_from_slice(sku.as_bytes());
    key
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The stored types are plain structs of strings and integers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder(path).open()?;
        // Cursors are rewritten on every delivery: a small write buffer bounds the versions
        // held in memory (fjall's default is 64 MiB).
        let options = || KeyspaceCreateOptions::default().max_memtable_size(4 << 20);
        let ks = |name: &str| db.keyspace(name, options);
        Ok(Self {
            endpoints: ks("endpoints")?,
            state: ks("state")?,
            pending: ks("pending")?,
            ats: ks("ats")?,
            dead: ks("dead")?,
            replay: ks("replay")?,
            db,
        })
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncData)?;
        Ok(())
    }

    /// The endpoints added through the API.
    pub fn api_endpoints(&self) -> Result<Vec<EndpointText>, StoreError> {
        let mut out = Vec::new();
        for guard in self.endpoints.iter() {
            let (key, value) = guard.into_inner()?;
            out.push(decode(&key, &value)?);
        }
        Ok(out)
    }

    /// Stores an endpoint added through the API (durably).
    pub fn put_endpoint(&self, endpoint: &EndpointText) -> Result<(), StoreError> {
        self.endpoints.insert(endpoint.name.as_bytes(), encode(endpoint))?;
        self.sync()
    }

    /// Forgets an endpoint: its definition, cursor, pending messages, ATS memory and dead
    /// letters (durably).
    pub fn remove_endpoint(&self, name: &str) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        batch.remove(&self.endpoints, name.as_bytes());
        batch.remove(&self.state, name.as_bytes());
        for ks in [&self.pending, &self.ats, &self.dead, &self.replay] {
            for guard in ks.prefix(prefix(name)) {
                batch.remove(ks, guard.key()?);
            }
        }
        batch.commit()?;
        self.sync()
    }

    /// An endpoint's state (`None` for an endpoint never seen).
    pub fn state(&self, name: &str) -> Result<Option<EndpointState>, StoreError> {
        match self.state.get(name.as_bytes())? {
            None => Ok(None),
            Some(value) => decode(name.as_bytes(), &value).map(Some),
        }
    }

    /// Writes an endpoint's state; `durable` fsyncs it.
    pub fn put_state(
        &self,
        name: &str,
        state: &EndpointState,
        durable: bool,
    ) -> Result<(), StoreError> {
        self.state.insert(name.as_bytes(), encode(state))?;
        if durable {
            self.sync()?;
        } else {
            self.db.persist(PersistMode::Buffer)?;
        }
        Ok(())
    }

    /// The cut `ats.changed` messages not yet delivered, oldest first (read once at start:
    /// the worker keeps the queue in memory, so no scan walks the tombstones of delivered
    /// ones).
    pub fn pending(&self, name: &str) -> Result<Vec<(u64, Message)>, StoreError> {
        all(&self.pending, name)
    }

    /// How many cut `ats.changed` messages wait.
    pub fn pending_count(&self, name: &str) -> Result<u64, StoreError> {
        count(&self.pending, name)
    }

    /// The ATS last cut for (channel, SKU).
    pub fn ats(&self, name: &str, channel: &str, sku: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .ats
            .get(ats_key(name, channel, sku))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok().map(u64::from_be_bytes)))
    }

    /// Stores a cut: its messages, the ATS they announce and the state (with `ats_seq`
    /// moved), in one durable batch, before any of them is sent. Returns the messages with
    /// their keys.
    pub fn cut(
        &self,
        name: &str,
        state: &mut EndpointState,
        messages: Vec<Message>,
        figures: &[(String, String, u64)],
    ) -> Result<Vec<(u64, Message)>, StoreError> {
        let mut batch = self.db.batch();
        let mut keyed = Vec::with_capacity(messages.len());
        for message in messages {
            batch.insert(&self.pending, numbered(name, state.next_key), encode(&message));
            keyed.push((state.next_key, message));
            state.next_key += 1;
        }
        for (channel, sku, ats) in figures {
            batch.insert(&self.ats, ats_key(name, channel, sku), ats.to_be_bytes().to_vec());
        }
        batch.insert(&self.state, name.as_bytes(), encode(&*state));
        batch.commit()?;
        self.sync()?;
        Ok(keyed)
    }

    /// Removes a delivered pending message and writes the state, in one batch (to the OS).
    pub fn ack_pending(
        &self,
        name: &str,
        key: u64,
        state: &EndpointState,
    ) -> Result<(), StoreError> {
        self.ack(&self.pending, name, key, state)
    }

    /// Removes a delivered replayed message and writes the state, in one batch (to the OS).
    pub fn ack_replay(
        &self,
        name: &str,
        key: u64,
        state: &EndpointState,
    ) -> Result<(), StoreError> {
        self.ack(&self.replay, name, key, state)
    }

    fn ack(
        &self,
        ks: &Keyspace,
        name: &str,
        key: u64,
        state: &EndpointState,
    ) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        batch.remove(ks, numbered(name, key));
        batch.insert(&self.state, name.as_bytes(), encode(state));
        batch.commit()?;
        self.db.persist(PersistMode::Buffer)?;
        Ok(())
    }

    /// Gives a message up: it joins the dead letters, leaves the queue it came from
    /// (`from`: a pending or replayed key), and the state moves on, in one durable batch.
    pub fn dead_letter(
        &self,
        name: &str,
        state: &mut EndpointState,
        mut letter: DeadLetter,
        from: Option<Source>,
    ) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        match from {
            Some(Source::Pending(key)) => batch.remove(&self.pending, numbered(name, key)),
            Some(Source::Replay(key)) => batch.remove(&self.replay, numbered(name, key)),
            None => {}
        }
        letter.key = state.next_key;
        state.next_key += 1;
        batch.insert(&self.dead, numbered(name, letter.key), encode(&letter));
        if count(&self.dead, name)? >= DEAD_LETTERS_MAX
            && let Some((oldest, _)) = first::<DeadLetter>(&self.dead, name)?
        {
            batch.remove(&self.dead, numbered(name, oldest));
            state.dead_letters_dropped += 1;
        }
        batch.insert(&self.state, name.as_bytes(), encode(&*state));
        batch.commit()?;
        self.sync()
    }

    /// The dead letters, oldest first, at most `limit`.
    pub fn dead_letters(&self, name: &str, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let mut out = Vec::new();
        for guard in self.dead.prefix(prefix(name)).take(limit) {
            let (key, value) = guard.into_inner()?;
            out.push(decode(&key, &value)?);
        }
        Ok(out)
    }

    /// How many dead letters the endpoint holds.
    pub fn dead_count(&self, name: &str) -> Result<u64, StoreError> {
        count(&self.dead, name)
    }

    /// Moves dead letters to the replay queue (all, or those whose message id is in `ids`),
    /// durably; returns how many.
    pub fn replay(&self, name: &str, ids: Option<&[String]>) -> Result<u64, StoreError> {
        let mut batch = self.db.batch();
        let mut moved = 0;
        for guard in self.dead.prefix(prefix(name)) {
            let (key, value) = guard.into_inner()?;
            let letter: DeadLetter = decode(&key, &value)?;
            if ids.is_none_or(|ids| ids.contains(&letter.message.id)) {
                batch.remove(&self.dead, key.clone());
                batch.insert(&self.replay, key, value);
                moved += 1;
            }
        }
        batch.commit()?;
        self.sync()?;
        Ok(moved)
    }

    /// The messages waiting to be replayed, oldest first.
    pub fn replays(&self, name: &str) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(all::<DeadLetter>(&self.replay, name)?.into_iter().map(|(_, letter)| letter).collect())
    }

    /// How many messages wait to be replayed.
    pub fn replay_count(&self, name: &str) -> Result<u64, StoreError> {
        count(&self.replay, name)
    }
}

/// The queue a message given up came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A cut `ats.changed` message, by key.
    Pending(u64),
    /// A replayed dead letter, by key.
    Replay(u64),
}

fn first<T: serde::de::DeserializeOwned>(
    ks: &Keyspace,
    name: &str,
) -> Result<Option<(u64, T)>, StoreError> {
    let Some(guard) = ks.prefix(prefix(name)).next() else { return Ok(None) };
    let (key, value) = guard.into_inner()?;
    let n = key
        .get(key.len().saturating_sub(8)..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "short key".to_owned(),
        })?;
    Ok(Some((n, decode(&key, &value)?)))
}

fn all<T: serde::de::DeserializeOwned>(
    ks: &Keyspace,
    name: &str,
) -> Result<Vec<(u64, T)>, StoreError> {
    let mut out = Vec::new();
    for guard in ks.prefix(prefix(name)) {
        let (key, value) = guard.into_inner()?;
        let n = key
            .get(key.len().saturating_sub(8)..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: "short key".to_owned(),
            })?;
        out.push((n, decode(&key, &value)?));
    }
    Ok(out)
}

fn count(ks: &Keyspace, name: &str) -> Result<u64, StoreError> {
    let mut n = 0;
    for guard in ks.prefix(prefix(name)) {
        guard.key()?;
        n += 1;
    }
    Ok(n)
}
