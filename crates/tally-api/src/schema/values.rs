//! Argument helpers shared by the view queries: UTC day windows and counts.

use crate::error::{ApiError, ApiResult};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Date;

/// A day window `from..=to` as day numbers; `INVALID_INPUT` when `from` is after `to`.
pub fn day_window(from: Date, to: Date) -> ApiResult<(i32, i32)> {
    if from > to {
        return Err(ApiError::invalid(format!("fromDay {from} is after toDay {to}")));
    }
    Ok((from.days(), to.days()))
}

/// A length as an [`UnsignedInt64`].
#[must_use]
pub fn count(n: usize) -> UnsignedInt64 {
    UnsignedInt64(u64::try_from(n).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_ending_before_it_starts_is_refused() {
        let a = Date::from_days(10);
        let b = Date::from_days(11);
        assert_eq!(day_window(a, b).ok(), Some((10, 11)));
        assert!(day_window(b, a).is_err());
    }
}
