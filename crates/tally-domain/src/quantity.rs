//! Quantities of units: non-negative counts in state, strictly positive amounts in events.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A strictly positive number of units moved by one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Quantity(u64);

/// Why a number is not a valid quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {0}")]
pub struct QuantityError(pub i128);

impl Quantity {
    /// A quantity from a signed count, which must be at least 1.
    pub fn new(count: i64) -> Result<Self, QuantityError> {
        u64::try_from(count)
            .ok()
            .filter(|c| *c > 0)
            .map(Self)
            .ok_or(QuantityError(i128::from(count)))
    }

    /// A quantity from an unsigned count, which must be at least 1.
    pub fn from_u64(count: u64) -> Result<Self, QuantityError> {
        if count == 0 { Err(QuantityError(0)) } else { Ok(Self(count)) }
    }

    /// The count.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Quantity {
    type Error = QuantityError;
    fn try_from(count: u64) -> Result<Self, QuantityError> {
        Self::from_u64(count)
    }
}

impl From<Quantity> for u64 {
    fn from(q: Quantity) -> u64 {
        q.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
