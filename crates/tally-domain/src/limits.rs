//! The documented bounds on what the ledger accepts: lengths of ids and text, units per
//! movement, minor units per amount, and the running sums those bounds imply.
//!
//! Every bound is checked in one place: id lengths in the id newtypes' `parse` (`crate::ids`),
//! text lengths by [`check_text`], quantities by `decide::positive`/`decide::units`, amounts
//! by `decide::amount` and every posting by the decision's journal. A command past a bound is a
//! rejection (`INVALID_INPUT`, `INVALID_QUANTITY`, `INVALID_AMOUNT`), never a wrapped number.
//!
//! # Running sums
//! Per-item bounds alone do not bound a sum over many events: `i64` holds 9.2 × 10¹⁸, which is
//! 9 223 postings of [`AMOUNT_MINOR_MAX`] or 9.2 × 10⁹ movements of [`QTY_MAX`]. So the
//! sums kept in decision state are checked when a command would grow them:
//! - an account balance (per currency) stays within ±[`BALANCE_MINOR_MAX`]: a command whose
//!   postings would take one past it is refused (`INVALID_AMOUNT`, what = `account balance`);
//! - an order's captured and deposit totals and a settlement's net stay within
//!   [`BALANCE_MINOR_MAX`] the same way;
//! - a stock bucket (location × SKU × lot) holds at most [`BUCKET_UNITS_MAX`] units over
//!   on hand, in transit and incoming together; a movement that would exceed it is refused
//!   (`INVALID_QUANTITY`). Summed over the states of a bucket (six of them in on hand) that is at
//!   most 6 × 10¹⁵, far inside `u64`.
//! - the cumulative `shipped` counter of a bucket grows by at most [`BUCKET_UNITS_MAX`] per
//!   shipment, so it needs more than 18 000 shipments of a full bucket to reach `u64::MAX`.
//!
//! Arithmetic in `evolve` is plain; release builds keep overflow checks on for the workspace
//! crates (root `Cargo.toml`), so a broken invariant stops the process with a panic instead of
//! wrapping silently. Projections add with checked arithmetic and quarantine an event whose
//! sums would overflow (only possible for events stored before these bounds existed).

/// Most units a cycle-count tolerance may allow (`set_count_tolerance`): [`QTY_MAX`], the
/// most one count can differ by. Its fraction is a `Rate`, at most 1 (100 % of expected).
pub const COUNT_TOLERANCE_UNITS_MAX: u64 = QTY_MAX;
const _: () = assert!(COUNT_TOLERANCE_UNITS_MAX <= i32::MAX as u64, "shown as a GraphQL Int");

/// Longest identifier (order, SKU, location, …), in bytes: 128. Ids are printable UTF-8 with
/// inner spaces (`crate::ids::check`), long enough for real channel, marketplace and EDI ids
/// (Shopify order ids are up to 20 digits, its SKUs free text; X12 PO numbers 22 characters).
///
/// Streams embed ids (`order:{id}`, `inventory:{location}:{sku}:{lot}`), and the log bounds a
/// stream name (the engine's `stream_id_bytes_max`, 200 by default; the frame format allows
/// [`STREAM_BYTES_MAX`]). One id of this length always fits in a one-id stream
/// (`settlement:` + 128 < 200, unless it is made of `%` and `:`, which are escaped to three
/// bytes); a command whose streams would still be too long (three long ids in one stock
/// stream) is refused whole by the engine with a message naming the stream, before anything is
/// appended.
pub const ID_BYTES_MAX: usize = 128;
const _: () = assert!(ID_BYTES_MAX + "settlement:".len() <= 200);

/// Longest stream name, in bytes (the log's frame format stores it with a one-byte length).
pub const STREAM_BYTES_MAX: usize = 255;

/// Longest free text of a command (a hold note, a carrier, a tracking number, a serial, a
/// settlement line's description, a journal memo), in bytes.
pub const TEXT_BYTES_MAX: usize = 1024;

/// Most serial numbers on one shipment line.
pub const SERIALS_MAX: usize = 10_000;

/// Most units one order line, movement, count or safety-stock setting may name: 10⁹.
pub const QTY_MAX: u64 = 1_000_000_000;

/// Highest allocation rank of a location: 10⁶ (ranks order a handful of locations; the bound
/// keeps them well inside GraphQL's 32-bit `Int`).
pub const RANK_MAX: u32 = 1_000_000;

/// Longest shelf-life margin of a SKU: 36 500 days (a century).
pub const SHELF_LIFE_MARGIN_DAYS_MAX: u32 = 36_500;

/// Largest |amount| of one price, payment, fee, settlement line or posting, in minor units:
/// 10¹⁵ (ten trillion USD; a quadrillion JPY).
pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000_000;

/// Largest |balance| of an account in a currency, and of an order's or settlement's running
/// money totals, in minor units: 10¹⁸ (a thousand postings of [`AMOUNT_MINOR_MAX`], and still
/// nine times inside `i64`).
pub const BALANCE_MINOR_MAX: i64 = 1_000_000_000_000_000_000;

/// Most units one stock bucket may hold on hand, in transit and incoming together: 10¹⁵.
pub const BUCKET_UNITS_MAX: u64 = 1_000_000_000_000_000;

const _: () = assert!(QTY_MAX <= BUCKET_UNITS_MAX);
const _: () = assert!(AMOUNT_MINOR_MAX <= BALANCE_MINOR_MAX);
// Two maximal balances and a maximal amount still add without overflow.
const _: () = assert!(BALANCE_MINOR_MAX <= (i64::MAX - AMOUNT_MINOR_MAX) / 2);
// Six maximal states of a bucket plus one movement fit in u64.
const _: () = assert!(BUCKET_UNITS_MAX <= (u64::MAX - QTY_MAX) / 8);
// Extended amounts (price × qty) are computed in i128 and then checked against the bound.
const _: () = assert!((AMOUNT_MINOR_MAX as i128) * (QTY_MAX as i128) < i128::MAX);

/// Why a text field is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} has {len} bytes, more than {max}")]
pub struct TooLong {
    /// Which field.
    pub what: &'static str,
    /// Its length in bytes.
    pub len: usize,
    /// The bound.
    pub max: usize,
}

/// `Ok` when `text` is at most `max` bytes long.
pub fn check_len(what: &'static str, text: &str, max: usize) -> Result<(), TooLong> {
    if text.len() > max { Err(TooLong { what, len: text.len(), max }) } else { Ok(()) }
}

/// `Ok` when `text` is at most [`TEXT_BYTES_MAX`] bytes long.
pub fn check_text(what: &'static str, text: &str) -> Result<(), TooLong> {
    check_len(what, text, TEXT_BYTES_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_past_its_bound_is_refused() {
        assert!(check_text("memo", &"m".repeat(TEXT_BYTES_MAX)).is_ok());
        let e = check_text("memo", &"m".repeat(TEXT_BYTES_MAX + 1));
        assert_eq!(e, Err(TooLong { what: "memo", len: TEXT_BYTES_MAX + 1, max: TEXT_BYTES_MAX }));
    }
}
