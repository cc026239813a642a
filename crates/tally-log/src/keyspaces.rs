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
    pub(crate) fn open(db: &Database) -> Result<Self> {
        let open = |name| db.keyspace(name, KeyspaceCreateOptions::default);
        Ok(Self {
            frames: open(layout::FRAMES)?,
            streams: open(layout::STREAMS)?,
            event_ids: open(layout::EVENT_IDS)?,
            meta: open(layout::META)?,
            merkle: open(layout::MERKLE)?,
        })
    }
}
