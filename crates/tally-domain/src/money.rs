//! Money: integer minor units of an ISO 4217 currency, rates in parts per million, half-even
//! rounding, and exact decimal text ("118.80").

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency the ledger supports. Variant order is part of the event format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum), graphql(name = "CurrencyCode"))]
pub enum Currency {
    /// US dollar, 2 minor digits.
    USD,
    /// Euro, 2 minor digits.
    EUR,
    /// Pound sterling, 2 minor digits.
    GBP,
    /// Japanese yen, 0 minor digits.
    JPY,
    /// Canadian dollar, 2 minor digits.
    CAD,
    /// Australian dollar, 2 minor digits.
    AUD,
    /// Swiss franc, 2 minor digits.
    CHF,
    /// Swedish krona, 2 minor digits.
    SEK,
    /// Kuwaiti dinar, 3 minor digits.
    KWD,
}

/// Why a currency code or an amount does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not a supported ISO 4217 code.
    #[error("unknown currency '{0}'")]
    UnknownCurrency(String),
    /// Not a decimal amount with at most the currency's minor digits.
    #[error("invalid amount '{value}' for {currency}")]
    InvalidAmount {
        /// The offending text.
        value: String,
        /// The currency it was read in.
        currency: Currency,
    },
    /// The amount does not fit in 64-bit minor units.
    #[error("amount '{0}' is out of range")]
    OutOfRange(String),
    /// A rate is not a percentage with at most four decimals between 0 and 100.
    #[error("invalid rate '{0}'")]
    InvalidRate(String),
}

impl Currency {
    /// Every supported currency.
    pub const ALL: [Currency; 9] = [
        Currency::USD,
        Currency::EUR,
        Currency::GBP,
        Currency::JPY,
        Currency::CAD,
        Currency::AUD,
        Currency::CHF,
        Currency::SEK,
        Currency::KWD,
    ];

    /// Parses an ISO 4217 alphabetic code such as `USD`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The ISO 4217 alphabetic code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::JPY => "JPY",
            Currency::CAD => "CAD",
            Currency::AUD => "AUD",
            Currency::CHF => "CHF",
            Currency::SEK => "SEK",
            Currency::KWD => "KWD",
        }
    }

    /// Digits after the decimal point (ISO 4217 exponent).
    #[must_use]
    pub const fn minor_digits(self) -> u32 {
        match self {
            Currency::JPY => 0,
            Currency::KWD => 3,
            _ => 2,
        }
    }

    /// Minor units in one major unit (100 for USD).
    #[must_use]
    pub const fn minor_per_major(self) -> i64 {
        10_i64.pow(self.minor_digits())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: signed integer minor units of one currency. Never a float.
/// JSON: `{"amount": "118.80", "currency": "USD"}`; binary formats: (minor, currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (cents for USD).
    #[must_use]
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero in `currency`.
    #[must_use]
    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Parses a decimal amount such as `118.80` or `-3.75`; at most the currency's minor digits.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let invalid = || MoneyError::InvalidAmount { value: text.to_owned(), currency };
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let digits = currency.minor_digits() as usize;
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || frac_part.len() > digits
            || (body.contains('.') && frac_part.is_empty())
        {
            return Err(invalid());
        }
        let out_of_range = || MoneyError::OutOfRange(text.to_owned());
        let int: i64 = int_part.parse().map_err(|_| out_of_range())?;
        let mut frac: i64 =
            if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| invalid())? };
        for _ in frac_part.len()..digits {
            frac *= 10;
        }
        let minor = int
            .checked_mul(currency.minor_per_major())
            .and_then(|m| m.checked_add(frac))
            .ok_or_else(out_of_range)?;
        Ok(Self { minor: if negative { -minor } else { minor }, currency })
    }

    /// Signed minor units.
    #[must_use]
    pub const fn minor(self) -> i64 {
        self.minor
    }

    /// The currency.
    #[must_use]
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// The same amount with the opposite sign.
    #[must_use]
    pub const fn negated(self) -> Self {
        Self { minor: -self.minor, currency: self.currency }
    }

    /// Sum of two amounts of the same currency; `None` on a currency mismatch or overflow.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        if self.currency != other.currency {
            return None;
        }
        Some(Self { minor: self.minor.checked_add(other.minor)?, currency: self.currency })
    }

    /// The amount times a whole number; `None` on overflow.
    #[must_use]
    pub fn checked_mul(self, factor: u64) -> Option<Self> {
        let factor = i64::try_from(factor).ok()?;
        Some(Self { minor: self.minor.checked_mul(factor)?, currency: self.currency })
    }

    /// The amount times a rate, rounded half-even to minor units.
    #[must_use]
    pub fn times_rate(self, rate: Rate) -> Self {
        Self { minor: rate.apply_half_even(self.minor), currency: self.currency }
    }

    /// Decimal text with exactly the currency's minor digits: `118.80`, `-3.75`, `1200` (JPY).
    #[must_use]
    pub fn to_decimal_string(self) -> String {
        let digits = self.currency.minor_digits() as usize;
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if digits == 0 {
            return format!("{sign}{abs}");
        }
        let per = self.currency.minor_per_major().unsigned_abs();
        format!("{sign}{}.{:0digits$}", abs / per, abs % per)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

/// Parts per million in one whole.
pub const PPM_PER_WHOLE: u32 = 1_000_000;

/// A rate (tax, fee, commission) in parts per million: 8% is `Rate::from_ppm(80_000)`.
/// JSON (and GraphQL): an exact decimal fraction as a string, `"0.08"` for 8 % (a bare
/// number is refused: `8` once silently meant 0.0008 %); binary formats: the ppm integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u32);

impl Rate {
    /// No rate at all (0 %).
    pub const ZERO: Rate = Rate(0);

    /// A rate from parts per million; at most 100%.
    pub fn from_ppm(ppm: u32) -> Result<Self, MoneyError> {
        if ppm > PPM_PER_WHOLE {
            return Err(MoneyError::InvalidRate(ppm.to_string()));
        }
        Ok(Self(ppm))
    }

    /// Parses a percentage with up to four decimals: `"2.9"` is 29 000 ppm.
    pub fn parse_percent(text: &str) -> Result<Self, MoneyError> {
        let invalid = || MoneyError::InvalidRate(text.to_owned());
        let (int_part, frac_part) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || frac_part.len() > 4
        {
            return Err(invalid());
        }
        let int: u32 = int_part.parse().map_err(|_| invalid())?;
        let mut frac: u32 =
            if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| invalid())? };
        for _ in frac_part.len()..4 {
            frac *= 10;
        }
        let ppm = int.checked_mul(10_000).and_then(|p| p.checked_add(frac)).ok_or_else(invalid)?;
        Self::from_ppm(ppm).map_err(|_| invalid())
    }

    /// Parses an exact decimal fraction from 0 to 1 with at most six decimals: `"0.08"` is
    /// 80 000 ppm (8 %), `"1"` is 100 %.
    pub fn parse_fraction(text: &str) -> Result<Self, MoneyError> {
        let invalid = || MoneyError::InvalidRate(text.to_owned());
        let (int_part, frac_part) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || frac_part.len() > 6
            || (text.contains('.') && frac_part.is_empty())
            || int_part.len() > 1
        {
            return Err(invalid());
        }
        let int: u32 = int_part.parse().map_err(|_| invalid())?;
        let mut frac: u32 =
            if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| invalid())? };
        for _ in frac_part.len()..6 {
            frac *= 10;
        }
        let ppm = int.checked_mul(PPM_PER_WHOLE).and_then(|p| p.checked_add(frac));
        Self::from_ppm(ppm.ok_or_else(invalid)?).map_err(|_| invalid())
    }

    /// The rate as an exact decimal fraction, without trailing zeros: `"0.08"`, `"0"`, `"1"`.
    #[must_use]
    pub fn to_fraction_string(self) -> String {
        let whole = self.0 / PPM_PER_WHOLE;
        let frac = self.0 % PPM_PER_WHOLE;
        if frac == 0 {
            return whole.to_string();
        }
        let text = format!("{whole}.{frac:06}");
        text.trim_end_matches('0').to_owned()
    }

    /// Parts per million.
    #[must_use]
    pub const fn ppm(self) -> u32 {
        self.0
    }

    /// `minor × rate`, rounded half-even to a whole minor unit.
    #[must_use]
    pub fn apply_half_even(self, minor: i64) -> i64 {
        let product = i128::from(minor) * i128::from(self.0);
        let rounded = div_half_even(product, i128::from(PPM_PER_WHOLE));
        // |minor × rate| ≤ |minor| because rate ≤ 1, so the result always fits.
        i64::try_from(rounded).unwrap_or(minor)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_fraction_string())
        } else {
            serializer.serialize_u32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            match serde_json_like::Text::deserialize(deserializer)? {
                serde_json_like::Text::Text(text) => {
                    Rate::parse_fraction(&text).map_err(serde::de::Error::custom)
                }
                serde_json_like::Text::Other(_) => Err(serde::de::Error::custom(
                    "a rate is a decimal fraction given as a string: \"0.08\" for 8 %",
                )),
            }
        } else {
            let ppm = u32::deserialize(deserializer)?;
            Rate::from_ppm(ppm).map_err(serde::de::Error::custom)
        }
    }
}

/// What a human-readable rate may be given as: text, or anything else (a number is refused
/// with a clear message rather than read in the wrong unit).
mod serde_json_like {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Text {
        Text(String),
        Other(serde::de::IgnoredAny),
    }
}

impl TryFrom<u32> for Rate {
    type Error = MoneyError;
    fn try_from(ppm: u32) -> Result<Self, MoneyError> {
        Self::from_ppm(ppm)
    }
}

impl From<Rate> for u32 {
    fn from(rate: Rate) -> u32 {
        rate.0
    }
}

/// `numerator / denominator` rounded half to even; `denominator` must be positive.
#[must_use]
pub fn div_half_even(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0, "denominator must be positive");
    let quotient = numerator.div_euclid(denominator);
    let remainder = numerator.rem_euclid(denominator);
    let twice = remainder * 2;
    if twice > denominator || (twice == denominator && quotient % 2 != 0) {
        quotient + 1
    } else {
        quotient
    }
}

#[derive(Serialize, Deserialize)]
struct MoneyBinary {
    minor: i64,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
struct MoneyText {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            MoneyText { amount: self.to_decimal_string(), currency: self.currency }
                .serialize(serializer)
        } else {
            MoneyBinary { minor: self.minor, currency: self.currency }.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = MoneyText::deserialize(deserializer)?;
            Money::parse(&text.amount, text.currency).map_err(serde::de::Error::custom)
        } else {
            let binary = MoneyBinary::deserialize(deserializer)?;
            Ok(Money { minor: binary.minor, currency: binary.currency })
        }
    }
}
