//! The domain's types as GraphQL types (feature `graphql`), so that the API derives its inputs
//! and outputs from the one definition here instead of restating them.
//!
//! What this module decides is only the *shape* a domain type takes in GraphQL; parsing stays
//! with the domain (an id is checked by its own `parse`, an amount by [`Money::parse`]), so a
//! bad value is a GraphQL input error carrying the domain's message. Nothing here does I/O or
//! knows about HTTP.
//!
//! | domain | GraphQL |
//! | --- | --- |
//! | ids (`Sku`, `OrderId`, …) | `String` |
//! | [`Timestamp`] | `DateTime` (RFC 3339) |
//! | [`Date`] | `Date` (`YYYY-MM-DD`) |
//! | [`Money`] | input `MoneyInput`, output `MoneyV2`: `{amount: Decimal, currencyCode}` |
//! | [`Currency`] | enum `CurrencyCode` |
//! | [`Rate`] | `Fraction` (`"0.0825"` is 8.25 %) |
//! | `u64` counts and seqs (wrapped) | [`UnsignedInt64`], a string of digits |
//! | decimal text | [`Decimal`] |
//!
//! Quantities stay `Int`: their bound (`limits::QTY_ABS_MAX`, 10⁹) is below 2³¹.

use std::borrow::Cow;
use std::fmt;

use async_graphql::parser::types::Field;
use async_graphql::registry::{Deprecation, MetaEnumValue, MetaType, MetaTypeId, Registry};
use async_graphql::{
    ContextSelectionSet, InputObject, InputType, InputValueError, InputValueResult, Name,
    OutputType, Positioned, Scalar, ScalarType, ServerResult, SimpleObject, Value,
};

use crate::ids::{
    Actor, ChannelId, CustomerId, Id, InvoiceId, JournalEntryId, LocationId, LotId, OrderId,
    PaymentId, PayoutId, RefundId, ReturnId, SettlementId, Sku, TransferId,
};
use crate::money::{Currency, Money, Rate};
use crate::time::{Date, Timestamp};

/// Implements `InputType` and `OutputType` for types that are a `String` in GraphQL and parse
/// through the domain.
macro_rules! string_type {
    ($($ty:ty),* $(,)?) => {$(
        impl InputType for $ty {
            type RawValueType = Self;

            fn type_name() -> Cow<'static, str> {
                Cow::Borrowed("String")
            }

            fn create_type_info(registry: &mut Registry) -> String {
                <String as InputType>::create_type_info(registry)
            }

            fn parse(value: Option<Value>) -> InputValueResult<Self> {
                let text = <String as InputType>::parse(value).map_err(InputValueError::propagate)?;
                <$ty as Id>::parse_id(text).map_err(InputValueError::custom)
            }

            fn to_value(&self) -> Value {
                Value::String(self.text().to_owned())
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }
        }

        impl OutputType for $ty {
            fn type_name() -> Cow<'static, str> {
                Cow::Borrowed("String")
            }

            fn create_type_info(registry: &mut Registry) -> String {
                <String as OutputType>::create_type_info(registry)
            }

            async fn resolve(
                &self,
                _ctx: &ContextSelectionSet<'_>,
                _field: &Positioned<Field>,
            ) -> ServerResult<Value> {
                Ok(Value::String(self.text().to_owned()))
            }
        }
    )*};
}

string_type!(
    OrderId,
    Sku,
    LocationId,
    ChannelId,
    LotId,
    ReturnId,
    SettlementId,
    TransferId,
    PaymentId,
    RefundId,
    PayoutId,
    JournalEntryId,
    InvoiceId,
    CustomerId,
    crate::ids::BuyerId,
    Actor,
    crate::ids::SupplierId,
    crate::ids::PurchaseOrderId,
    crate::ids::SupplierInvoiceId,
    crate::ids::SupplierPaymentId,
);

/// An unsigned 64-bit integer (seqs, counts, sums of units, durations in milliseconds), as a
/// string of base-10 digits because GraphQL's `Int` is 32-bit. Parsed from a string of digits
/// or a non-negative integer literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnsignedInt64(pub u64);

impl From<u64> for UnsignedInt64 {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl From<UnsignedInt64> for u64 {
    fn from(value: UnsignedInt64) -> Self {
        value.0
    }
}

impl fmt::Display for UnsignedInt64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An unsigned 64-bit integer, encoded as a string of base-10 digits (0 to 2⁶⁴ − 1), because
/// GraphQL's `Int` is 32-bit. Seqs, counts, sums of units and durations in milliseconds use it.
/// Input accepts the string or a non-negative integer literal.
#[Scalar(name = "UnsignedInt64")]
impl ScalarType for UnsignedInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InputValueError::custom(format!(
                        "'{text}' is not an unsigned integer"
                    )));
                }
                text.parse::<u64>()
                    .map(Self)
                    .map_err(|_| InputValueError::custom(format!("'{text}' is above 2^64 - 1")))
            }
            Value::Number(n) => n
                .as_u64()
                .map(Self)
                .ok_or_else(|| InputValueError::custom(format!("{n} is not an unsigned integer"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Number(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// An exception's number is an [`UnsignedInt64`] in GraphQL.
impl InputType for crate::exceptions::ExceptionNo {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        <UnsignedInt64 as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <UnsignedInt64 as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        <UnsignedInt64 as InputType>::parse(value)
            .map(|n| Self(n.0))
            .map_err(InputValueError::propagate)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

/// An exact decimal number as text: an optional `-`, digits, and optionally `.` and digits
/// (`"118.80"`, `"-3.75"`, `"100"`). Never a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Checks the shape of `text`: optional `-`, 1+ digits, optionally `.` and 1+ digits.
    pub fn parse(text: impl Into<String>) -> Result<Self, String> {
        let text = text.into();
        let body = text.strip_prefix('-').unwrap_or(&text);
        let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if text.len() > 64 || !digits(int) || !digits(frac) {
            return Err(format!("'{text}' is not a decimal number"));
        }
        Ok(Self(text))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An exact decimal number as a string: an optional `-`, digits, and optionally `.` and
/// digits (`"118.80"`). Money amounts use it, so no amount ever passes through a float.
/// Input accepts the string or an integer literal.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Decimal::parse(text.clone()).map_err(InputValueError::custom),
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                Decimal::parse(n.to_string()).map_err(InputValueError::custom)
            }
            Value::Number(n) => Err(InputValueError::custom(format!(
                "{n} is a float; give decimals as a string such as \"118.80\""
            ))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Number(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A calendar day, `YYYY-MM-DD` (ISO 8601).
#[Scalar(name = "Date", specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Date::parse(text).map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl InputType for Timestamp {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        <chrono::DateTime<chrono::Utc> as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <chrono::DateTime<chrono::Utc> as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Timestamp::parse_rfc3339(&text).map_err(InputValueError::custom),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

impl OutputType for Timestamp {
    fn type_name() -> Cow<'static, str> {
        <chrono::DateTime<chrono::Utc> as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <chrono::DateTime<chrono::Utc> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::String(self.to_rfc3339()))
    }
}

/// A rate (tax, fee) as an exact decimal fraction from 0 to 1 with at most six decimals, as a
/// string: `"0.08"` is 8 %, `"0.0825"` is 8.25 %. Never a float.
#[Scalar(name = "Fraction")]
impl ScalarType for Rate {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Rate::parse_fraction(text).map_err(InputValueError::custom),
            Value::Number(_) => Err(InputValueError::custom(
                "a rate is a decimal fraction given as a string: \"0.08\" for 8 %",
            )),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_fraction_string())
    }
}

impl Currency {
    /// The GraphQL enum's name.
    const GRAPHQL_NAME: &'static str = "CurrencyCode";

    fn graphql_type_info(registry: &mut Registry) -> String {
        registry.create_input_type::<Self, _>(MetaTypeId::Enum, |_| MetaType::Enum {
            name: Self::GRAPHQL_NAME.to_owned(),
            description: Some(
                "An active ISO 4217 currency (Shopify's `CurrencyCode`), one value per code from \
                 the ISO table Tally is built with; funds, special codes (`XAU`, `XDR`, `XXX`) and \
                 superseded codes are not values."
                    .to_owned(),
            ),
            enum_values: Currency::ALL
                .into_iter()
                .map(|c| {
                    let value = MetaEnumValue {
                        name: c.code().to_owned(),
                        description: Some(format!(
                            "{}, {} minor digits.",
                            c.name(),
                            c.minor_digits()
                        )),
                        deprecation: Deprecation::NoDeprecated,
                        visible: None,
                        inaccessible: false,
                        tags: Vec::new(),
                        directive_invocations: Vec::new(),
                    };
                    (c.code().to_owned(), value)
                })
                .collect(),
            visible: None,
            inaccessible: false,
            tags: Vec::new(),
            rust_typename: Some(std::any::type_name::<Self>()),
            directive_invocations: Vec::new(),
            requires_scopes: Vec::new(),
        })
    }

    fn graphql_value(self) -> Value {
        Value::Enum(Name::new(self.code()))
    }
}

/// `CurrencyCode` is a GraphQL enum generated from [`Currency::ALL`] (async-graphql's derive
/// needs a Rust enum; the list comes from the ISO table instead), so clients get the same enum
/// type Shopify's API has and an unknown code is refused by validation.
impl InputType for Currency {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(Self::GRAPHQL_NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Self::graphql_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        match value.unwrap_or_default() {
            Value::Enum(name) => Currency::parse(name.as_str()).map_err(InputValueError::custom),
            Value::String(code) => Currency::parse(&code).map_err(InputValueError::custom),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        self.graphql_value()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

impl OutputType for Currency {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(Self::GRAPHQL_NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Self::graphql_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(self.graphql_value())
    }
}

/// An amount of money given to Tally: a decimal amount with at most the currency's minor
/// digits (`{amount: "118.80", currencyCode: USD}`).
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "MoneyInput")]
struct MoneyInput {
    /// Decimal amount, at most the currency's minor digits (`"118.80"`; JPY has none).
    amount: Decimal,
    /// ISO 4217 currency.
    currency_code: Currency,
}

/// An amount of money: an exact decimal amount and its currency (Shopify's `MoneyV2`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MoneyV2")]
struct MoneyV2 {
    /// Decimal amount with the currency's minor digits (`"118.80"`).
    amount: Decimal,
    /// ISO 4217 currency.
    currency_code: Currency,
}

impl InputType for Money {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        <MoneyInput as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <MoneyInput as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let input = <MoneyInput as InputType>::parse(value).map_err(InputValueError::propagate)?;
        Money::parse(input.amount.as_str(), input.currency_code).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        MoneyInput { amount: Decimal(self.to_decimal_string()), currency_code: self.currency() }
            .to_value()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

impl OutputType for Money {
    fn type_name() -> Cow<'static, str> {
        <MoneyV2 as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <MoneyV2 as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let shape =
            MoneyV2 { amount: Decimal(self.to_decimal_string()), currency_code: self.currency() };
        OutputType::resolve(&shape, ctx, field).await
    }
}

// ---------------------------------------------------------------------------------------------
// Durations (added for the read side of the API: KPI sums and means of times).
// ---------------------------------------------------------------------------------------------

/// A signed span of time in milliseconds, shown as an ISO 8601 duration in seconds:
/// `PT3600S` (an hour), `PT1.5S`, `-PT0.25S`, `PT0S`. Signed, because a span between two
/// business times a caller supplied can be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DurationMs(pub i64);

impl DurationMs {
    /// The ISO 8601 text: `[-]PT{seconds}[.{fraction}]S`, without trailing zeros.
    #[must_use]
    pub fn to_iso8601(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let ms = self.0.unsigned_abs();
        let (whole, frac) = (ms / 1000, ms % 1000);
        if frac == 0 {
            format!("{sign}PT{whole}S")
        } else {
            let frac = format!("{frac:03}");
            format!("{sign}PT{whole}.{}S", frac.trim_end_matches('0'))
        }
    }

    /// Parses `[-]PT{seconds}[.{1-3 digits}]S` (the form [`DurationMs::to_iso8601`] writes).
    pub fn parse_iso8601(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a duration such as \"PT90S\" or \"-PT1.5S\"");
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let seconds = body.strip_prefix("PT").and_then(|b| b.strip_suffix('S')).ok_or_else(bad)?;
        let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
            return Err(bad());
        }
        if seconds.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
        let ms = whole.checked_mul(1000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
        Ok(Self(if negative { -ms } else { ms }))
    }
}

/// A signed span of time as an ISO 8601 duration in seconds with up to millisecond
/// precision: `"PT3600S"` is an hour, `"PT1.5S"` 1 500 ms, `"-PT2S"` minus two seconds.
#[Scalar(name = "Duration", specified_by_url = "https://en.wikipedia.org/wiki/ISO_8601#Durations")]
impl ScalarType for DurationMs {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DurationMs::parse_iso8601(text).map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_iso8601())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_through_the_domain() {
        let ok = <Sku as InputType>::parse(Some(Value::String("SKU-A".into())));
        assert_eq!(ok.ok(), Some(Sku::parse("SKU-A").expect("valid")));
        let bad = <Sku as InputType>::parse(Some(Value::String(" leading space".into())));
        let message = bad.err().map(|e| e.into_server_error(Default::default()).message);
        assert!(message.is_some_and(|m| m.contains("whitespace")), "the domain's message");
        assert!(<Sku as InputType>::parse(Some(Value::Number(3.into()))).is_err());
    }

    #[test]
    fn unsigned_int64_is_text_and_takes_the_whole_range() {
        assert_eq!(
            ScalarType::to_value(&UnsignedInt64(u64::MAX)),
            Value::String(u64::MAX.to_string())
        );
        let max = <UnsignedInt64 as ScalarType>::parse(Value::String(u64::MAX.to_string()));
        assert_eq!(max.ok(), Some(UnsignedInt64(u64::MAX)));
        for bad in ["", "-1", "1.5", "18446744073709551616", " 1"] {
            let parsed = <UnsignedInt64 as ScalarType>::parse(Value::String(bad.into()));
            assert!(parsed.is_err(), "{bad:?} is refused");
        }
        let from_int = <UnsignedInt64 as ScalarType>::parse(Value::Number(7.into()));
        assert_eq!(from_int.ok(), Some(UnsignedInt64(7)));
    }

    #[test]
    fn decimals_are_text_and_never_floats() {
        for good in ["0", "118.80", "-3.75", "100"] {
            assert!(Decimal::parse(good).is_ok(), "{good}");
        }
        for bad in ["", ".5", "5.", "1e3", "1.2.3", "--1", "0x10", "NaN"] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
        let float = serde_json::Number::from_f64(1.5).map(Value::Number);
        let parsed = float.map(<Decimal as ScalarType>::parse);
        assert!(parsed.is_some_and(|p| p.is_err()), "a float literal is refused");
    }

    #[test]
    fn money_round_trips_through_its_input_shape() {
        let money = Money::parse("118.80", Currency::USD).expect("valid");
        let value = InputType::to_value(&money);
        assert_eq!(<Money as InputType>::parse(Some(value)).ok(), Some(money));
        let too_precise = Value::from_json(serde_json::json!({
            "amount": "1.234", "currencyCode": "USD"
        }))
        .expect("json");
        assert!(<Money as InputType>::parse(Some(too_precise)).is_err());
    }

    #[test]
    fn fractions_read_and_print_exactly() {
        let rate = <Rate as ScalarType>::parse(Value::String("0.0825".into())).expect("valid");
        assert_eq!(rate.ppm(), 82_500);
        assert_eq!(ScalarType::to_value(&rate), Value::String("0.0825".into()));
        let show = |ppm| Rate::from_ppm(ppm).expect("valid").to_fraction_string();
        assert_eq!(
            (show(80_000), show(29_000), show(1)),
            ("0.08".into(), "0.029".into(), "0.000001".into())
        );
        assert_eq!((show(0), show(1_000_000)), ("0".into(), "1".into()));
        for bad in ["1.5", "8", "0.0000001", ".5", "5.", "-0.1", "0,08"] {
            assert!(<Rate as ScalarType>::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(
            <Rate as ScalarType>::parse(Value::Number(8.into())).is_err(),
            "a bare 8 is refused"
        );
    }

    #[test]
    fn dates_and_times_use_iso_text() {
        let date = <Date as ScalarType>::parse(Value::String("2026-03-01".into())).expect("ok");
        assert_eq!(ScalarType::to_value(&date), Value::String("2026-03-01".into()));
        let at =
            <Timestamp as InputType>::parse(Some(Value::String("2026-03-01T10:00:00Z".into())))
                .expect("ok");
        assert_eq!(InputType::to_value(&at), Value::String(at.to_rfc3339()));
        assert!(<Timestamp as InputType>::parse(Some(Value::String("yesterday".into()))).is_err());
    }

    #[test]
    fn durations_are_iso_8601_seconds_both_ways() {
        for (ms, text) in [
            (0, "PT0S"),
            (3_600_000, "PT3600S"),
            (1_500, "PT1.5S"),
            (-250, "-PT0.25S"),
            (7, "PT0.007S"),
        ] {
            assert_eq!(DurationMs(ms).to_iso8601(), text);
            assert_eq!(DurationMs::parse_iso8601(text), Ok(DurationMs(ms)), "{text}");
        }
        for bad in ["", "P1D", "PT", "PTS", "PT1.S", "PT1.2345S", "1S", "PT-1S"] {
            assert!(DurationMs::parse_iso8601(bad).is_err(), "{bad}");
        }
    }
}
