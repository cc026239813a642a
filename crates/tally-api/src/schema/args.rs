//! Query arguments checked at the edge: every string argument of a query goes through one of
//! these helpers before it reaches a view or the log, so an over-long or malformed value is
//! `INVALID_INPUT` (and never a storage key past fjall's 64 KiB limit, which panics).
//!
//! The bounds themselves live in `tally_domain::limits`: ids are parsed by the domain's id
//! newtypes (1–128 bytes of printable UTF-8), stream names are at most 255 bytes, cursors and view
//! names at most [`CURSOR_BYTES_MAX`] / 64 bytes. The test `limits` in `tests/it` walks every
//! root query field by introspection and checks each string argument against these.

use crate::error::{ApiError, ApiResult};
use tally_domain::ids::Id;
use tally_domain::limits::{self, ID_BYTES_MAX, STREAM_BYTES_MAX};

/// Longest pagination cursor, in bytes (a cursor holds a kind and an id or a seq).
pub const CURSOR_BYTES_MAX: usize = 512;

/// Parses argument `arg` as the domain id `T`; `INVALID_INPUT` when it is not one.
pub fn id<T: Id>(arg: &str, value: &str) -> ApiResult<T> {
    // The length is checked before the copy, so a huge value is never cloned.
    if value.len() > ID_BYTES_MAX {
        return Err(too_long(arg, value.len(), ID_BYTES_MAX));
    }
    T::parse_id(value.to_owned()).map_err(|e| ApiError::invalid(format!("argument {arg}: {e}")))
}

/// [`id`] of an optional argument.
pub fn opt_id<T: Id>(arg: &str, value: Option<&str>) -> ApiResult<Option<T>> {
    value.map(|v| id(arg, v)).transpose()
}

/// A stream name: 1 to [`STREAM_BYTES_MAX`] bytes.
pub fn stream(arg: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::invalid(format!("argument {arg} is empty")));
    }
    bounded(arg, value, STREAM_BYTES_MAX)
}

/// A view name: at most [`ID_BYTES_MAX`] bytes (unknown names are `NOT_FOUND` later).
pub fn view_name(arg: &str, value: &str) -> ApiResult<()> {
    bounded(arg, value, ID_BYTES_MAX)
}

/// A pagination cursor: at most [`CURSOR_BYTES_MAX`] bytes (its content is checked when it
/// is decoded).
pub fn cursor(arg: &str, value: Option<&str>) -> ApiResult<()> {
    value.map_or(Ok(()), |v| bounded(arg, v, CURSOR_BYTES_MAX))
}

/// Any other string argument: at most `max` bytes.
pub fn bounded(arg: &str, value: &str, max: usize) -> ApiResult<()> {
    limits::check_len("argument", value, max).map_err(|e| too_long(arg, e.len, e.max))
}

fn too_long(arg: &str, len: usize, max: usize) -> ApiError {
    ApiError::invalid(format!("argument {arg} has {len} bytes, more than {max}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use tally_domain::ids::Sku;

    #[test]
    fn ids_past_the_bound_are_invalid_input_without_echoing_the_value() {
        let long = "s".repeat(70_000);
        let e = id::<Sku>("sku", &long).err().map(|e| (e.code, e.message.len()));
        assert!(matches!(e, Some((code::INVALID_INPUT, n)) if n < 200), "{e:?}");
        assert!(id::<Sku>("sku", "A B").is_err());
        assert_eq!(id::<Sku>("sku", "SKU-A").map(|s| s.to_string()), Ok("SKU-A".to_owned()));
        assert!(stream("stream", &"s".repeat(STREAM_BYTES_MAX + 1)).is_err());
        assert!(stream("stream", "").is_err());
        assert!(cursor("after", Some(&"c".repeat(CURSOR_BYTES_MAX + 1))).is_err());
    }
}
