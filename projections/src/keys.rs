//! Key parts shared by the views: order-preserving encodings of numbers, times and days, the
//! "no lot" part, and prefixes that end on a separator so `A` never matches `A1`.

use crate::store::Error;
use crate::tx::key;

/// A u64 as 8 big-endian bytes: sorts numerically.
#[must_use]
pub fn be64(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// A u32 as 4 big-endian bytes: sorts numerically.
#[must_use]
pub fn be32(n: u32) -> [u8; 4] {
    n.to_be_bytes()
}

/// An i64 (ms since the epoch) as 8 bytes that sort in numeric order, negatives first.
#[must_use]
pub fn time_part(ms: i64) -> [u8; 8] {
    (ms.cast_unsigned() ^ (1 << 63)).to_be_bytes()
}

/// Reads back [`time_part`].
#[must_use]
pub fn time_from(bytes: &[u8]) -> Option<i64> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Some((u64::from_be_bytes(array) ^ (1 << 63)).cast_signed())
}

/// A day number (days since the epoch) as 4 bytes that sort in numeric order.
#[must_use]
pub fn day_part(day: i32) -> [u8; 4] {
    (day.cast_unsigned() ^ (1 << 31)).to_be_bytes()
}

/// Reads back [`day_part`].
#[must_use]
pub fn day_from(bytes: &[u8]) -> Option<i32> {
    let array: [u8; 4] = bytes.try_into().ok()?;
    Some((u32::from_be_bytes(array) ^ (1 << 31)).cast_signed())
}

/// Reads back [`be64`].
#[must_use]
pub fn u64_from(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

/// The lot part of a key: the lot id, or empty for SKUs without lots (ids are never empty).
#[must_use]
pub fn lot_part(lot: Option<&tally_domain::ids::LotId>) -> &[u8] {
    lot.map_or(&[][..], |l| l.as_str().as_bytes())
}

/// `key(parts)` followed by the separator: a prefix that matches whole parts only.
#[must_use]
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = key(parts);
    out.push(0);
    out
}

/// Splits a key suffix into its parts.
#[must_use]
pub fn split(suffix: &[u8]) -> Vec<&[u8]> {
    suffix.split(|b| *b == 0).collect()
}

/// A key part as text (ids are printable).
#[must_use]
pub fn text(part: &[u8]) -> String {
    String::from_utf8_lossy(part).into_owned()
}

/// A malformed-data error for `view`.
pub(crate) fn malformed(view: &str, reason: impl Into<String>) -> Error {
    Error::Malformed { view: view.to_owned(), reason: reason.into() }
}

/// Applies a page limit to rows already in cursor order: at most `limit` rows, and the cursor
/// of the next page when more remain.
pub(crate) fn page<T, C>(rows: Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Page<T, C> {
    let more = rows.len() > limit;
    let mut items = rows;
    items.truncate(limit);
    let next = if more { items.last().map(&cursor) } else { None };
    Page { items, next }
}

/// One page of a cursor-paginated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass this as the cursor to get the next page; `None` on the last page.
    pub next: Option<C>,
}
