//! Money, rates, rounding and decimal text.

use tally_domain::money::{Currency, Money, MoneyError, Rate, div_half_even};
use tally_domain::time::{Date, Timestamp};

#[test]
fn decimal_text_follows_minor_digits() {
    assert_eq!(Money::from_minor(11_880, Currency::USD).to_decimal_string(), "118.80");
    assert_eq!(Money::from_minor(-375, Currency::EUR).to_decimal_string(), "-3.75");
    assert_eq!(Money::from_minor(1200, Currency::JPY).to_decimal_string(), "1200");
    assert_eq!(Money::from_minor(1_005, Currency::KWD).to_decimal_string(), "1.005");
    assert_eq!(Money::from_minor(5, Currency::USD).to_decimal_string(), "0.05");
}

#[test]
fn parse_decimal_text() {
    assert_eq!(Money::parse("118.80", Currency::USD).unwrap().minor(), 11_880);
    assert_eq!(Money::parse("118.8", Currency::USD).unwrap().minor(), 11_880);
    assert_eq!(Money::parse("-3.75", Currency::USD).unwrap().minor(), -375);
    assert_eq!(Money::parse("12", Currency::JPY).unwrap().minor(), 12);
    assert_eq!(Money::parse("1.005", Currency::KWD).unwrap().minor(), 1_005);
    for bad in ["1.005", "", "1.", ".5", "1e3", "1,00", "abc", "--1"] {
        assert!(Money::parse(bad, Currency::USD).is_err(), "{bad}");
    }
    assert!(Money::parse("1.5", Currency::JPY).is_err());
    assert!(Money::parse("99999999999999999999", Currency::USD).is_err());
}

#[test]
fn currency_codes() {
    for c in Currency::ALL {
        assert_eq!(Currency::parse(c.code()).unwrap(), c);
        assert!(c.minor_digits() <= 3, "{c}");
    }
    // The nine constants the code names are all in the list.
    let named = [
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
    for c in named {
        assert!(Currency::ALL.contains(&c), "{c}");
    }
    // Ordered by code, no duplicates, and far more than the nine of before (ISO 4217 lists
    // about 150 active currencies).
    assert!(Currency::ALL.windows(2).all(|w| w[0].code() < w[1].code()));
    assert!(Currency::ALL.len() > 140, "{}", Currency::ALL.len());
    assert_eq!(Currency::ALL.first().map(|c| c.code()), Some("AED"));
}

#[test]
fn every_active_currency_has_its_iso_minor_digits() {
    let digits = |code: &str| Currency::parse(code).unwrap().minor_digits();
    assert_eq!(digits("JPY"), 0);
    assert_eq!(digits("KRW"), 0);
    assert_eq!(digits("ISK"), 0);
    assert_eq!(digits("USD"), 2);
    assert_eq!(digits("NOK"), 2);
    assert_eq!(digits("KWD"), 3);
    assert_eq!(digits("BHD"), 3);
    assert_eq!(digits("TND"), 3);
    assert_eq!(digits("OMR"), 3);
    assert_eq!(Money::parse("1.234", Currency::parse("BHD").unwrap()).unwrap().minor(), 1_234);
    assert_eq!(
        Money::from_minor(-5, Currency::parse("TND").unwrap()).to_decimal_string(),
        "-0.005"
    );
    assert!(Money::parse("1.5", Currency::parse("KRW").unwrap()).is_err());
}

#[test]
fn funds_special_superseded_and_unknown_codes_are_refused() {
    // CLF (Chile's Unidad de Fomento, 4 digits) and UYW are ISO *fund* codes, not money a
    // store books in; XAU/XDR/XXX/XTS are special codes; HRK, BGN (both replaced by EUR), VES
    // and SLL are superseded; the rest are not ISO codes or not written as ISO writes them.
    for code in [
        "CLF", "UYW", "BOV", "USN", "XAU", "XAG", "XDR", "XXX", "XTS", "XUA", "HRK", "BGN", "VES",
        "SLL", "ABC", "usd", "US", "USDD", "",
    ] {
        assert_eq!(
            Currency::parse(code),
            Err(MoneyError::UnknownCurrency(code.to_owned())),
            "{code}"
        );
        assert!(Currency::ALL.iter().all(|c| c.code() != code), "{code}");
    }
}

#[test]
fn currencies_serialize_as_their_code_in_json_and_postcard() {
    for c in Currency::ALL {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.code()));
        assert_eq!(serde_json::from_str::<Currency>(&json).unwrap(), c);
        let bytes = postcard::to_stdvec(&c).unwrap();
        let mut expected = vec![3_u8];
        expected.extend_from_slice(c.code().as_bytes());
        assert_eq!(bytes, expected, "{c}");
        assert_eq!(postcard::from_bytes::<Currency>(&bytes).unwrap(), c);
    }
    let nok = Currency::parse("NOK").unwrap();
    let money = Money::from_minor(12_345, nok);
    let json = serde_json::to_string(&money).unwrap();
    assert_eq!(json, r#"{"amount":"123.45","currency":"NOK"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
    let bytes = postcard::to_stdvec(&money).unwrap();
    // zigzag varint 12345 = f2 c0 01, then 03 "NOK"
    assert_eq!(bytes, [0xf2, 0xc0, 0x01, 3, b'N', b'O', b'K']);
    assert_eq!(postcard::from_bytes::<Money>(&bytes).unwrap(), money);
    for bad in [r#""XAU""#, r#""CLF""#, r#""ZZZ""#, "0"] {
        assert!(serde_json::from_str::<Currency>(bad).is_err(), "{bad}");
    }
    assert!(postcard::from_bytes::<Currency>(&[3, b'X', b'X', b'X']).is_err());
    // A stored index (the format before this session) is not a code.
    assert!(postcard::from_bytes::<Currency>(&[0]).is_err());
}

#[test]
fn half_even_rounding() {
    assert_eq!(div_half_even(25, 10), 2);
    assert_eq!(div_half_even(35, 10), 4);
    assert_eq!(div_half_even(-25, 10), -2);
    assert_eq!(div_half_even(-35, 10), -4);
    assert_eq!(div_half_even(26, 10), 3);
    // DOMAIN.md §4: 2.9% of 118.80 = 3.4452 → 3.45; + 0.30 = 3.75.
    let fee =
        Money::from_minor(11_880, Currency::USD).times_rate(Rate::parse_percent("2.9").unwrap());
    assert_eq!(fee.minor(), 345);
    // 8% of 0.5625 cents-ish ties: 50 × 1% = 0.5 → 0 (even), 150 × 1% = 1.5 → 2.
    assert_eq!(Rate::from_ppm(10_000).unwrap().apply_half_even(50), 0);
    assert_eq!(Rate::from_ppm(10_000).unwrap().apply_half_even(150), 2);
}

#[test]
fn rates_parse() {
    assert_eq!(Rate::parse_percent("8").unwrap().ppm(), 80_000);
    assert_eq!(Rate::parse_percent("2.9").unwrap().ppm(), 29_000);
    assert_eq!(Rate::parse_percent("0.0001").unwrap().ppm(), 1);
    assert!(Rate::parse_percent("100.01").is_err());
    assert!(Rate::parse_percent("-1").is_err());
    assert!(Rate::from_ppm(1_000_001).is_err());
}

#[test]
fn json_forms_are_human_readable() {
    let m = Money::from_minor(11_880, Currency::USD);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(json, r#"{"amount":"118.80","currency":"USD"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    let t = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""2026-03-01T12:00:00.000Z""#);
    assert_eq!(serde_json::from_str::<Timestamp>("1772366400000").unwrap(), t);
    let d = Date::parse("2026-12-31").unwrap();
    assert_eq!(serde_json::to_string(&d).unwrap(), r#""2026-12-31""#);
    assert_eq!(d.minus_days(30).to_string(), "2026-12-01");
    assert_eq!(t.date().to_string(), "2026-03-01");
    assert!(Date::parse("2026-02-30").is_err());
}

#[test]
fn ids_are_parsed() {
    use tally_domain::ids::Sku;
    assert!(Sku::parse("").is_err());
    // Printable UTF-8 with inner spaces (real channel SKUs), nothing that breaks a line.
    assert_eq!(Sku::parse("Café Crème 250 g").unwrap().as_str(), "Café Crème 250 g");
    assert_eq!(Sku::parse("#1001").unwrap().as_str(), "#1001");
    for bad in [" A", "A ", "A\tB", "A\nB", "A\u{2028}B", "A\u{a0}B", "A\u{0}B"] {
        assert!(Sku::parse(bad).is_err(), "{bad:?}");
    }
    assert!(Sku::parse("x".repeat(tally_domain::limits::ID_BYTES_MAX)).is_ok());
    assert!(Sku::parse("x".repeat(tally_domain::limits::ID_BYTES_MAX + 1)).is_err());
    assert!(Sku::parse("é".repeat(64)).is_ok(), "128 bytes of two-byte characters");
    assert_eq!(Sku::parse("ABC-1").unwrap().as_str(), "ABC-1");
    assert!(serde_json::from_str::<Sku>("\"\"").is_err());
}

/// Rates are exact decimal fractions in JSON (`"0.08"` is 8 %); a bare number, which once
/// meant parts per million (`8` = 0.0008 %), is refused with the form to use.
#[test]
fn rates_are_decimal_fraction_strings_in_json() {
    let rate: Rate = serde_json::from_str("\"0.08\"").unwrap();
    assert_eq!(rate.ppm(), 80_000);
    assert_eq!(serde_json::to_string(&rate).unwrap(), "\"0.08\"");
    assert_eq!(Rate::parse_fraction("1").unwrap().ppm(), 1_000_000);
    assert_eq!(Rate::parse_fraction("0.000001").unwrap().ppm(), 1);
    for bad in ["8", "1.000001", "0.0000001", "-0.1", ".08", "0.", "10"] {
        assert!(Rate::parse_fraction(bad).is_err(), "{bad}");
    }
    let number = serde_json::from_str::<Rate>("8").unwrap_err().to_string();
    assert!(number.contains("\"0.08\""), "{number}");
}
