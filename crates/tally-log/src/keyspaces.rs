//! The fjall keyspaces of the log, opened once and shared by the writer and the readers.

use crate::error::Result;
use crate::layout;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};

/// The fjall keyspaces of the log.
#[derive(Clone)]
pub(crate) struct Keyspaces {
    pub frames: Keyspace,
    pub streams: Keyspace,
    pub event_ids: Keyspace,
    pub meta: Keyspace,
    pub merkle: Keyspace,
}

impl Keyspaces {
    /// Opens them: the frames with a write buffer of `memtable_bytes` ([`crate::Config`]),
    /// the indexes and the Merkle nodes with a quarter of it (their entries are small, so a
    /// memtable's nodes weigh several times the bytes fjall counts).
    pub(crate) fn open(db: &Database, memtable_bytes: u64) -> Result<Self> {
        let open = |name, bytes: u64| {
            db.keyspace(name, || KeyspaceCreateOptions::default().max_memtable_size(bytes))
        };
        let small = (memtable_bytes / 4).max(1 << 20);
        Ok(Self {
            frames: open(layout::FRAMES, memtable_bytes)?,
            streams: open(layout::STREAMS, small)?,
            event_ids: open(layout::EVENT_IDS, small)?,
            meta: open(layout::META, small)?,
            merkle: open(layout::MERKLE, small)?,
        })
    }
}
