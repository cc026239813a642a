//! `schema/schema.graphql` is generated from the code; this fails on drift.

use std::path::PathBuf;

#[test]
fn schema_file_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/schema.graphql");
    let sdl = tally_api::schema::sdl();
    if std::env::var_os("TALLY_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == sdl,
        "schema/schema.graphql is out of date with the code; regenerate it with\n  \
         TALLY_UPDATE_SCHEMA=1 cargo test -p tally-api --test it schema_file_matches_the_code"
    );
}

/// GraphQL's `Int` is 32-bit: no seq, time, duration, count or sum that can pass 2³¹, and no
/// money, may be one. Every `Int` field, argument and input field of the schema is listed
/// here by name with the bound that keeps it small; a new one fails until it is justified
/// (or given `UnsignedInt64`, `DateTime`, `Duration` or `MoneyV2`).
#[test]
fn every_int_in_the_schema_is_bounded_below_two_to_the_31() {
    /// Field or argument names that may be `Int`, and why.
    const BOUNDED: &[(&str, &str)] = &[
        ("qty", "units of one line or bucket: |qty| ≤ 10⁹ (tally_domain::limits)"),
        ("validationSlaMinutes", "an SLA: 1 to 525,600 minutes (workflow::SLA_MINUTES_MAX)"),
        ("slaMinutes", "an SLA: 1 to 525,600 minutes (workflow::SLA_MINUTES_MAX)"),
        ("backorderDays", "1 to 365 days (workflow::BACKORDER_DAYS_MAX)"),
        ("fraudScore", "a fraud score: 0 to 100"),
        ("delta", "an adjustment: |delta| ≤ 10⁹"),
        ("counted", "units counted in one bucket: ≤ 10⁹"),
        ("missing", "units a short pick did not find: ≤ the units reserved (≤ 10⁹)"),
        ("point", "a reorder point: ≤ 10⁹ units"),
        ("reorderQty", "a reorder quantity: ≤ 10⁹ units"),
        ("ordered", "units of one order line: ≤ 10⁹"),
        ("allocated", "units of one order line: ≤ 10⁹"),
        ("backordered", "units of one order line: ≤ 10⁹"),
        ("cancelled", "units of one order line: ≤ 10⁹"),
        ("reserved", "units of one order line: ≤ 10⁹"),
        ("picked", "units of one order line: ≤ 10⁹"),
        ("packed", "units of one order line: ≤ 10⁹"),
        ("shipped", "units of one order line: ≤ 10⁹"),
        ("line", "a line number of one order"),
        ("poLine", "a line number of one purchase order"),
        ("paymentTermsDays", "days: ≤ 3650 (tally_domain::decide::PAYMENT_TERMS_DAYS_MAX)"),
        ("qtyTolerance", "units: ≤ 10⁹"),
        ("rank", "an allocation rank of a location"),
        ("shelfLifeMarginDays", "days"),
        ("termsDays", "payment terms: ≤ 365 days (tally_domain::customer::TERMS_DAYS_MAX)"),
        ("daysPastDue", "an i32 difference of two dates, saturating"),
        ("schemaVersion", "a u16 payload version"),
        ("bps", "basis points: 0..=10 000"),
        (
            "retentionDays",
            "days of submission counters: ≤ 36 500 (tally_engine::RETENTION_DAYS_MAX)",
        ),
        ("units", "a cycle-count tolerance: ≤ 10⁹ (limits::COUNT_TOLERANCE_UNITS_MAX)"),
        ("glAccount", "a four-digit chart account number"),
        ("number", "a four-digit chart account number"),
        ("first", "a page size: ≤ the configured page maximum"),
        ("last", "a page size: ≤ the configured page maximum"),
    ];
    let sdl = tally_api::schema::sdl();
    let mut owner = String::new();
    let mut in_description = false;
    let mut unjustified = Vec::new();
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            let closes_here = trimmed.len() > 3 && trimmed.ends_with("\"\"\"");
            if !closes_here {
                in_description = !in_description;
            }
            continue;
        }
        if in_description {
            continue;
        }
        for keyword in ["type ", "input ", "interface "] {
            if let Some(rest) = trimmed.strip_prefix(keyword) {
                owner = rest.split([' ', '{']).next().unwrap_or_default().to_owned();
            }
        }
        for (name, rest) in trimmed.split(['(', ',']).filter_map(|p| p.split_once(':')) {
            let name = name.trim();
            let ty = rest.trim_start().trim_start_matches('[');
            let is_int = ty.starts_with("Int") && !ty.starts_with("Int6");
            if is_int && !BOUNDED.iter().any(|(n, _)| *n == name) {
                unjustified.push(format!("{owner}.{name}"));
            }
        }
    }
    assert!(
        unjustified.is_empty(),
        "Int fields without a bound below 2^31 (use UnsignedInt64, DateTime, Duration or MoneyV2, \
         or justify them in BOUNDED): {unjustified:?}"
    );
}
