//! Event ids: 128-bit idempotency keys chosen by the caller.

use std::fmt;

/// A 128-bit event id. The caller chooses it; it is the idempotency key of the event.
///
/// Zero is reserved as "none" in the frame format, so it is never a valid event id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u128);

impl EventId {
    /// The largest id.
    pub const MAX: Self = Self(u128::MAX);

    /// Wraps a raw id; `None` for the reserved zero id.
    #[must_use]
    pub const fn new(raw: u128) -> Option<Self> {
        if raw == 0 { None } else { Some(Self(raw)) }
    }

    /// The raw 128-bit value.
    #[must_use]
    pub const fn get(self) -> u128 {
        self.0
    }

    /// Big-endian bytes, as stored in index keys.
    #[must_use]
    pub const fn to_be_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// Parses 32 hexadecimal digits (the form [`fmt::Display`] prints).
    pub fn parse_hex(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        u128::from_str_radix(text, 16).ok().and_then(Self::new)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}
