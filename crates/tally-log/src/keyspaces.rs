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
    /// Opens them, each with a write buffer of `memtable_bytes` ([`crate::Config`]).
    pub(crate) fn open(db: &Database, memtable_bytes: u64) -> Result<Self> {
        let options = || KeyspaceCreateOptions::default().max_memtable_size(memtable_bytes);
        let open = |name| db.keyspace(name, options);
        Ok(Self {
            frames: open(layout::FRAMES)?,
            streams: open(layout::STREAMS)?,
            event_ids: open(layout::EVENT_IDS)?,
            meta: open(layout::META)?,
            merkle: open(layout::MERKLE)?,
        })
    }
}
