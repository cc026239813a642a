//! Inventory as explicit states per location × SKU × lot (DOMAIN.md §1), and lots.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, LotId, Sku};
use crate::time::Date;

/// Where a bucket of stock lives: location × SKU × lot (lot only for lot-tracked SKUs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockKey {
    /// The location.
    pub location: LocationId,
    /// The SKU.
    pub sku: Sku,
    /// The lot, for lot-tracked SKUs.
    pub lot: Option<LotId>,
}

impl StockKey {
    /// A key.
    #[must_use]
    pub fn new(location: LocationId, sku: Sku, lot: Option<LotId>) -> Self {
        Self { location, sku, lot }
    }

    /// The stream this key's events belong to: `inventory:{location}:{sku}[:{lot}]`
    /// ([`crate::stream::inventory`]).
    #[must_use]
    pub fn stream(&self) -> String {
        crate::stream::inventory(self)
    }
}

/// Why units are quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// Physically damaged.
    Damaged,
    /// Held for a quality check.
    QualityHold,
    /// The lot was recalled.
    Recalled,
    /// Past expiry or removal date.
    Expired,
    /// A returned unit failed inspection.
    ReturnInspection,
}

/// The claim of an order on stock that a release gives back to `available`: units reserved,
/// or units already picked or packed and pulled back (a recall, a count below the claims).
/// Variant order is part of the event format.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// Reserved, not yet picked.
    #[default]
    Reserved,
    /// Picked, not yet packed.
    Picked,
    /// Packed, not yet shipped.
    Packed,
}

/// Why stock was adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    /// Units found.
    Found,
    /// Units lost.
    Lost,
    /// Units stolen.
    Theft,
    /// Units damaged and disposed of outside a quarantine.
    Damage,
    /// A cycle-count variance.
    CycleCount,
    /// A correction of an earlier mistake.
    Correction,
    /// Units a picker did not find: they leave on hand (written off) and a count is raised.
    ShortPick,
    /// A partner's (3PL, drop-ship) on-hand snapshot differed within tolerance.
    Snapshot,
}

/// The states of one bucket of stock. Every field is an O(1) read; none is ever negative.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    /// Sellable, unclaimed.
    pub available: u64,
    /// Claimed by an order line, not yet picked.
    pub reserved: u64,
    /// Picked for an order.
    pub picked: u64,
    /// Packed, awaiting the carrier.
    pub packed: u64,
    /// Not sellable, by reason.
    pub quarantined: BTreeMap<QuarantineReason, u64>,
    /// Returned by customers, awaiting inspection.
    pub returned: u64,
    /// Shipped from another location toward this one, not yet received.
    pub in_transit: u64,
    /// Expected inbound, not yet received.
    pub incoming: u64,
    /// Cumulative units shipped to customers from here (a counter, not stock).
    pub shipped: u64,
}

impl Stock {
    /// Σ quarantined over reasons.
    #[must_use]
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined.values().sum()
    }

    /// `available + reserved + picked + packed + quarantined + returned`, or `None` when it
    /// does not fit in `u64` (never for a bucket within `limits::BUCKET_UNITS_MAX`).
    #[must_use]
    pub fn checked_on_hand(&self) -> Option<u64> {
        let mut sum = self.available;
        for n in [self.reserved, self.picked, self.packed, self.returned]
            .into_iter()
            .chain(self.quarantined.values().copied())
        {
            sum = sum.checked_add(n)?;
        }
        Some(sum)
    }

    /// `available + reserved + picked + packed + quarantined + returned`. Decisions keep a
    /// bucket within `limits::BUCKET_UNITS_MAX`, so the sum fits; see [`Stock::checked_on_hand`].
    #[must_use]
    pub fn on_hand(&self) -> u64 {
        self.available
            + self.reserved
            + self.picked
            + self.packed
            + self.quarantined_total()
            + self.returned
    }

    /// Whether the bucket holds nothing and can be dropped from state.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.on_hand() == 0 && self.in_transit == 0 && self.incoming == 0 && self.shipped == 0
    }
}

/// A lot of a lot-tracked SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// Expiry date, if the lot has one.
    pub expiry: Option<Date>,
    /// Whether the lot was recalled: no allocation may take it.
    pub recalled: bool,
}

impl Lot {
    /// The last day the lot may be allocated: expiry minus the SKU's shelf-life margin.
    #[must_use]
    pub fn removal_date(&self, shelf_life_margin_days: u32) -> Option<Date> {
        self.expiry.map(|e| e.minus_days(shelf_life_margin_days))
    }

    /// Whether an allocation on `today` may take this lot (FEFO policy).
    #[must_use]
    pub fn allocatable_on(&self, today: Date, shelf_life_margin_days: u32) -> bool {
        !self.recalled && self.removal_date(shelf_life_margin_days).is_none_or(|r| today <= r)
    }
}
