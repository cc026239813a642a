//! Output values shared by the view queries: money as exact decimal text, UTC days, times.

use crate::error::{ApiError, ApiResult};
use async_graphql::SimpleObject;
use chrono::{DateTime, NaiveDate, Utc};
use tally_domain::money::{Currency, Money};

/// An amount of money: decimal text with exactly the currency's minor digits (`"118.80"`,
/// `"-3.75"`, `"1200"` for JPY), never a float.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct Amount {
    /// Decimal text.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl Amount {
    /// `minor` units of `currency`.
    #[must_use]
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self {
            amount: Money::from_minor(minor, currency).to_decimal_string(),
            currency: currency.code().to_owned(),
        }
    }

    /// A wide sum (of a trial balance); `INTERNAL` if it does not fit in i64.
    pub fn wide(minor: i128, currency: Currency) -> ApiResult<Self> {
        let minor = i64::try_from(minor).map_err(|e| ApiError::internal("sum out of range", &e))?;
        Ok(Self::new(minor, currency))
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The date of a day number (days since 1970-01-01).
#[must_use]
pub fn date_of(day: i32) -> NaiveDate {
    epoch().checked_add_signed(chrono::TimeDelta::days(i64::from(day))).unwrap_or_default()
}

/// The day number of a date; `INVALID_INPUT` out of range.
pub fn day_of(date: NaiveDate) -> ApiResult<i32> {
    i32::try_from(date.signed_duration_since(epoch()).num_days())
        .map_err(|_| ApiError::invalid(format!("date {date} is out of range")))
}

/// A day window `from..=to`; `INVALID_INPUT` when `from` is after `to`.
pub fn day_window(from: NaiveDate, to: NaiveDate) -> ApiResult<(i32, i32)> {
    if from > to {
        return Err(ApiError::invalid(format!("fromDay {from} is after toDay {to}")));
    }
    Ok((day_of(from)?, day_of(to)?))
}

/// The time of milliseconds since the epoch (the epoch itself if out of range).
#[must_use]
pub fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The snake_case name a domain enum serialises to (`quality_hold`, `processor_clearing`).
#[must_use]
pub fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_exactly_the_minor_digits() {
        assert_eq!(Amount::new(480, Currency::USD).amount, "4.80");
        assert_eq!(Amount::new(-5, Currency::USD).amount, "-0.05");
        assert_eq!(Amount::new(1200, Currency::JPY).amount, "1200");
        assert_eq!(Amount::new(1, Currency::KWD).amount, "0.001");
    }

    #[test]
    fn days_round_trip() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        assert_eq!(date_of(day_of(d).unwrap_or_default()), d);
        assert!(day_window(d, epoch()).is_err());
    }
}
