//! Time as data: `Timestamp` (milliseconds since the Unix epoch, UTC) and `Date` (a calendar day).
//! The domain never reads a clock; chrono is used only to parse and format text.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Why a time or date does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not an RFC 3339 timestamp.
    #[error("invalid timestamp '{0}'")]
    InvalidTimestamp(String),
    /// Not a `YYYY-MM-DD` date.
    #[error("invalid date '{0}'")]
    InvalidDate(String),
}

/// A point in time: milliseconds since 1970-01-01T00:00:00Z. JSON: RFC 3339 text (or integer
/// milliseconds); binary formats: the integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// A timestamp from milliseconds since the epoch.
    #[must_use]
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339, e.g. `2026-03-01T12:00:00Z`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Self(t.timestamp_millis()))
            .map_err(|_| TimeError::InvalidTimestamp(text.to_owned()))
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-03-01T12:00:00.000Z`.
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .map_or_else(|| self.0.to_string(), |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// The UTC calendar day this instant falls on.
    #[must_use]
    pub fn date(self) -> Date {
        let days = self.0.div_euclid(DAY_MS);
        Date(i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX }))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A calendar day (UTC), stored as days since 1970-01-01. Used for lot expiry. JSON:
/// `YYYY-MM-DD`; binary formats: the day number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// A date from days since 1970-01-01.
    #[must_use]
    pub const fn from_days(days: i32) -> Self {
        Self(days)
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub const fn days(self) -> i32 {
        self.0
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let invalid = || TimeError::InvalidDate(text.to_owned());
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(invalid)?;
        let days = date.signed_duration_since(epoch).num_days();
        Ok(Self(i32::try_from(days).map_err(|_| invalid())?))
    }

    /// This date plus `days` days (saturating).
    #[must_use]
    pub const fn plus_days(self, days: u32) -> Self {
        let days = if days > i32::MAX as u32 { i32::MAX } else { days as i32 };
        Self(self.0.saturating_add(days))
    }

    /// This date minus `days` days (saturating).
    #[must_use]
    pub const fn minus_days(self, days: u32) -> Self {
        let days = if days > i32::MAX as u32 { i32::MAX } else { days as i32 };
        Self(self.0.saturating_sub(days))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(i64::from(self.0))))
            .map_or_else(|| format!("day {}", self.0), |d| d.format("%Y-%m-%d").to_string());
        f.write_str(&text)
    }
}

/// A timestamp as JSON gives it: text or milliseconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimestampText {
    Text(String),
    Millis(i64),
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_rfc3339())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            match TimestampText::deserialize(deserializer)? {
                TimestampText::Text(text) => {
                    Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
                }
                TimestampText::Millis(ms) => Ok(Self(ms)),
            }
        } else {
            i64::deserialize(deserializer).map(Self)
        }
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_i32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Self::parse(&text).map_err(serde::de::Error::custom)
        } else {
            i32::deserialize(deserializer).map(Self)
        }
    }
}
