//! Master data and policy: locations, channels, SKUs and their classes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, LocationId, Sku};
use crate::money::{Currency, Money, PPM_PER_WHOLE, Rate};

/// What kind of place a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// A distribution centre or warehouse.
    Warehouse,
    /// A retail store that ships from its shelves.
    Store,
    /// A third-party logistics provider's site.
    ThirdParty,
    /// A marketplace fulfilment centre holding our stock.
    MarketplaceFulfillment,
}

/// A stocking location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Its id.
    pub id: LocationId,
    /// What kind of place it is.
    pub kind: LocationKind,
    /// Allocation rank: lower ranks are tried first.
    pub rank: u32,
    /// Channels this location ships for.
    pub channels: BTreeSet<ChannelId>,
}

/// Allocation priority of a channel (docs/domain.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    /// Wholesale/B2B with contractual priority: may allocate into safety stock, fills first.
    Contract,
    /// Direct-to-consumer and marketplaces: never takes safety stock.
    Standard,
}

/// Whose processor collects the money of a channel's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Our own shop: payments through the processor clearing account (1100).
    Direct,
    /// A marketplace: money through marketplace settlements (1150).
    Marketplace,
    /// Invoiced wholesale/EDI.
    Wholesale,
}

/// A sales channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// Allocation priority.
    pub priority: PriorityClass,
    /// What kind of channel it is.
    pub kind: ChannelKind,
    /// The currency its orders are priced in.
    pub currency: Currency,
    /// Marketplace-facilitator tax: the marketplace collects and remits the sales tax of this
    /// channel's orders, so the seller never credits 2200 for them (DOMAIN.md §4).
    #[serde(default)]
    pub facilitator_tax: bool,
}

/// ABC classification of a SKU by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum AbcClass {
    /// Highest value.
    A,
    /// Middle value.
    B,
    /// Lowest value.
    C,
}

impl AbcClass {
    /// Every class, A first.
    pub const ALL: [AbcClass; 3] = [AbcClass::A, AbcClass::B, AbcClass::C];

    /// The class's letter (`"A"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AbcClass::A => "A",
            AbcClass::B => "B",
            AbcClass::C => "C",
        }
    }
}

/// How far a cycle count of a SKU of one ABC class may be from the expected on-hand and
/// still count as accurate (DOMAIN §5 record accuracy): within when
/// |counted − expected| ≤ `units`, or ≤ `fraction` × expected (exact, no rounding). The
/// default, for a class never set, is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountTolerance {
    /// Absolute units (at most [`crate::limits::QTY_MAX`]).
    pub units: u64,
    /// A fraction of the expected on-hand (`"0.05"` = 5 %); zero for none.
    pub fraction: Rate,
}

impl CountTolerance {
    /// No variance allowed: the default of every class.
    pub const EXACT: CountTolerance = CountTolerance { units: 0, fraction: Rate::ZERO };

    /// Whether this is [`CountTolerance::EXACT`].
    #[must_use]
    pub fn is_exact(&self) -> bool {
        *self == Self::EXACT
    }

    /// Whether a count of `counted` against `expected` is within this tolerance.
    #[must_use]
    pub fn allows(&self, expected: u64, counted: u64) -> bool {
        let variance = counted.abs_diff(expected);
        variance <= self.units
            || u128::from(variance) * u128::from(PPM_PER_WHOLE)
                <= u128::from(expected) * u128::from(self.fraction.ppm())
    }
}

impl Default for CountTolerance {
    fn default() -> Self {
        Self::EXACT
    }
}

/// A SKU's master record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuDef {
    /// Its id.
    pub sku: Sku,
    /// Whether stock is kept by lot (with expiry) and allocated FEFO.
    pub lot_tracked: bool,
    /// Days before expiry at which a lot may no longer be allocated.
    pub shelf_life_margin_days: u32,
    /// Standard unit cost: values COGS, write-offs and restocks.
    pub unit_cost: Money,
    /// ABC class.
    pub abc: AbcClass,
}
