//! Closed orders kept outside the decision state (`tally_domain::closed`): the decision state
//! holds at most [`crate::EngineConfig::closed_orders_resident_max`] of them, the least
//! recently used go here, and the writer loads back the ones a command or event names.
//!
//! This is a cache of the state, not a record: the state is rebuilt from the log at every
//! open, so the store is emptied at open and filled again as the rebuild evicts (it never
//! holds an order as of a later seq than the state being rebuilt). Nothing here needs to
//! survive a crash, so writes are never synced.

use crate::error::OpenError;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use std::path::Path;
use tally_domain::State;
use tally_domain::ids::OrderId;
use tally_domain::order::ClosedOrder;

/// The store's write buffer: small, the store is written once per closed order evicted.
const SPILL_MEMTABLE_BYTES: u64 = 4 << 20;

/// Why the spill store failed (a storage failure of the store directory).
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The storage engine failed.
    #[error("closed-order store: {0}")]
    Storage(#[from] fjall::Error),
    /// A stored record does not decode (the store is this process's own: a bug or damage).
    #[error("closed-order store: the record of order '{order}' does not decode: {reason}")]
    Malformed {
        /// The order.
        order: String,
        /// Why.
        reason: String,
    },
}

/// The closed orders evicted from the decision state.
pub(crate) struct Spill {
    db: Database,
    orders: Keyspace,
    max: usize,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill").field("max", &self.max).finish_non_exhaustive()
    }
}

impl Spill {
    /// Opens an empty store at `path` (what an earlier process left there is removed) that
    /// keeps the state at `max` resident closed orders.
    pub(crate) fn open(path: &Path, max: usize) -> Result<Self, OpenError> {
        match std::fs::remove_dir_all(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(OpenError::Spill(SpillError::Storage(e.into()))),
        }
        let db = Database::builder(path)
            .temporary(true)
            .open()
            .map_err(|e| OpenError::Spill(SpillError::Storage(e)))?;
        let orders = db
            .keyspace("closed_orders", || {
                KeyspaceCreateOptions::default().max_memtable_size(SPILL_MEMTABLE_BYTES)
            })
            .map_err(|e| OpenError::Spill(SpillError::Storage(e)))?;
        Ok(Self { db, orders, max })
    }

    /// Loads into `state` every id of `ids` it may hold only here.
    pub(crate) fn load<'a>(
        &self,
        state: &mut State,
        ids: impl IntoIterator<Item = &'a OrderId>,
    ) -> Result<(), SpillError> {
        for id in ids {
            if !state.closed_orders().needs_load(id) {
                continue;
            }
            let found = match self.orders.get(id.as_str().as_bytes())? {
                Some(bytes) => {
                    Some(serde_json::from_slice::<ClosedOrder>(&bytes).map_err(|e| {
                        SpillError::Malformed { order: id.to_string(), reason: e.to_string() }
                    })?)
                }
                None => None,
            };
            state.closed_orders_mut().load(id.clone(), found);
        }
        Ok(())
    }

    /// Moves the least recently used closed orders beyond the bound out of `state`: written
    /// here first, dropped from the state only once written.
    pub(crate) fn evict(&self, state: &mut State) -> Result<(), SpillError> {
        let over = state.closed_orders().over(self.max);
        if over.is_empty() {
            state.closed_orders_mut().evict(&[]);
            return Ok(());
        }
        // One batch per eviction (a group's worth): one journal write, not one per order.
        let mut batch = self.db.batch();
        let mut ids = Vec::with_capacity(over.len());
        for (id, closed) in over {
            let bytes = serde_json::to_vec(closed).map_err(|e| SpillError::Malformed {
                order: id.to_string(),
                reason: e.to_string(),
            })?;
            batch.insert(&self.orders, id.as_str().as_bytes(), bytes);
            ids.push(id.clone());
        }
        batch.commit()?;
        state.closed_orders_mut().evict(&ids);
        Ok(())
    }
}
