//! Customer returns: authorised → received (into `returned`) → inspected per unit → closed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, LotId, OrderId, ReturnId, Sku};

/// What happens to an inspected returned unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back to available (and back into inventory value).
    Restock,
    /// To quarantine (reason `return_inspection`).
    Quarantine,
    /// Leaves on_hand.
    Scrap,
}

/// A return line in decision state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The SKU.
    pub sku: Sku,
    /// Units authorised.
    pub authorized: u64,
    /// Units received.
    pub received: u64,
    /// Units inspected.
    pub inspected: u64,
}

/// An open return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    /// Its id.
    pub id: ReturnId,
    /// The order it returns units of.
    pub order: OrderId,
    /// Where units are received (set by the first receipt).
    pub location: Option<LocationId>,
    /// Lines by order line number.
    pub lines: BTreeMap<u32, ReturnLine>,
    /// Units received and awaiting inspection, by order line and lot.
    pub pending: BTreeMap<(u32, Option<LotId>), u64>,
}

impl Return {
    /// Lowercase state name, for messages.
    #[must_use]
    pub fn state_name(&self) -> &'static str {
        if self.lines.values().all(|l| l.received == 0) {
            "authorized"
        } else if self.pending.values().any(|n| *n > 0) {
            "received"
        } else {
            "inspected"
        }
    }
}
