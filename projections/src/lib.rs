//! `tally-projections`: the views people act on, built from the log.
//!
//! Each projection is a module implementing [`Projection`]: it applies decoded events in seq
//! order and keeps its state in its own fjall keyspace, with its checkpoint written in the same
//! batch as the state. [`ViewStore`] catches projections up with the log, serves snapshot
//! reads, rebuilds a projection blue/green, and replays into a temporary store for as-of reads.
//! Rebuilding from the log gives byte-identical state.

mod apply_error;
pub mod audit;
pub mod diff;
pub mod fill_rate;
pub mod finance;
#[cfg(feature = "graphql")]
pub mod graphql;
mod history;
pub mod inventory;
pub mod keys;
pub mod kpis;
pub mod ledger;
pub mod lots;
pub mod movement;
pub mod orders;
mod projection;
pub mod purchasing;
pub mod receivables;
mod store;
mod tx;

pub use projection::{Applied, ApplyError, Projection};
pub use store::{
    CHECKPOINT_KEY, CHUNK_EVENTS, Error, KEY_BYTES_MAX, QUARANTINE_PREFIX, RebuildReport, Result,
    ViewReader, ViewStore,
};
pub use tx::{Tx, key};

use std::sync::Arc;

/// Every projection of the ledger, in a fixed order.
#[must_use]
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(inventory::Inventory),
        Arc::new(orders::Orders),
        Arc::new(audit::Audit),
        Arc::new(finance::Finance),
        Arc::new(fill_rate::FillRate),
        Arc::new(lots::Lots),
        Arc::new(kpis::Kpis::new()),
        Arc::new(ledger::Ledger),
        Arc::new(purchasing::Purchasing),
        Arc::new(receivables::Receivables),
    ]
}
