//! The translators on realistic files written from the public format documentation
//! (`tests/fixtures/`): what each row becomes, the file-level checks, and the keys that make
//! a re-import append nothing.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly on unexpected errors"
)]

use std::collections::BTreeSet;

use tally_domain::Command;
use tally_domain::ids::{ChannelId, LocationId};
use tally_domain::money::Currency;
use tally_domain::settlement::SettlementLineKind as K;
use tally_intake::{Format, FormatError, Options, Record, translate};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn amazon() -> Options {
    Options { channel: Some(ChannelId::parse("amazon-us").unwrap()), ..Options::default() }
}

fn settlement(bytes: &[u8]) -> Result<Vec<Record>, FormatError> {
    translate(Format::AmazonSettlementV2, bytes, &amazon())
}

fn commands(records: &[Record]) -> Vec<Command> {
    records
        .iter()
        .flat_map(|r| r.outcome.as_ref().unwrap().iter().map(|i| i.command.clone()))
        .collect()
}

fn keys(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .flat_map(|r| r.outcome.as_ref().unwrap().iter().map(|i| i.idempotency_key.clone()))
        .collect()
}

#[test]
fn a_us_settlement_becomes_open_lines_and_payout_with_every_line_classified() {
    let records = settlement(&fixture("amazon-settlement-us.tsv")).unwrap();
    let commands = commands(&records);
    // Summary + 28 money rows + deposit.
    assert_eq!(records.len(), 30);
    let Command::OpenSettlement(open) = &commands[0] else { panic!("{:?}", commands[0]) };
    assert_eq!(open.settlement.as_str(), "11783365821");
    assert_eq!(open.channel.as_str(), "amazon-us");
    assert_eq!(open.currency, Currency::USD);
    assert_eq!(
        (open.period_start.to_string(), open.period_end.to_string()),
        ("2026-02-19".into(), "2026-03-05".into())
    );
    let Command::SettlePayout(payout) = commands.last().unwrap() else { panic!() };
    assert_eq!(payout.amount.to_decimal_string(), "73.58");
    assert_eq!(payout.deposit_date.to_string(), "2026-03-07");
    let lines: Vec<_> = commands
        .iter()
        .filter_map(|c| match c {
            Command::RecordSettlementLine(l) => Some(l),
            _ => None,
        })
        .collect();
    let sum: i64 = lines.iter().map(|l| l.amount.minor()).sum();
    assert_eq!(sum, payout.amount.minor());
    let kind_of = |desc: &str, minor: i64| {
        lines
            .iter()
            .find(|l| l.description == desc && l.amount.minor() == minor)
            .unwrap_or_else(|| panic!("no line {desc} {minor}"))
            .kind
    };
    assert_eq!(kind_of("Principal", 3998), K::Principal);
    assert_eq!(kind_of("Shipping", 599), K::Shipping);
    assert_eq!(kind_of("Tax", 330), K::Tax);
    assert_eq!(kind_of("ShippingTax", 49), K::Tax);
    assert_eq!(kind_of("MarketplaceFacilitatorTax-Principal", -330), K::FacilitatorTax);
    assert_eq!(kind_of("MarketplaceFacilitatorTax-Principal", 165), K::FacilitatorTax);
    assert_eq!(kind_of("FBAPerUnitFulfillmentFee", -794), K::FulfillmentFee);
    assert_eq!(kind_of("ShippingChargeback", -599), K::FulfillmentFee);
    assert_eq!(kind_of("Commission", -690), K::Commission);
    assert_eq!(kind_of("Commission", 345), K::Commission);
    assert_eq!(kind_of("RefundCommission", -69), K::RefundCommission);
    assert_eq!(kind_of("Shipping", -599), K::Promotion);
    assert_eq!(kind_of("Principal", -150), K::Promotion);
    assert_eq!(kind_of("Principal", -1999), K::Refund);
    assert_eq!(kind_of("Tax", -165), K::Tax);
    assert_eq!(kind_of("Storage Fee", -1247), K::StorageFee);
    assert_eq!(kind_of("Subscription Fee", -3999), K::Subscription);
    assert_eq!(kind_of("TransactionTotalAmount", -2361), K::Advertising);
    assert_eq!(kind_of("WAREHOUSE_DAMAGE", 847), K::Reimbursement);
    assert_eq!(kind_of("Previous Reserve Amount Balance", 22_000), K::Reserve);
    assert_eq!(kind_of("Current Reserve Amount", -8500), K::Reserve);
    // The unknown description is kept whole, in suspense.
    assert_eq!(
        kind_of("other-transaction/other-transaction/Low-Inventory-Level Fee", -312),
        K::Suspense
    );
    // Lines keep the order, sku and quantity.
    let principal = lines.iter().find(|l| l.amount.minor() == 3998).unwrap();
    assert_eq!(principal.order.as_ref().unwrap().as_str(), "113-4567890-1234567");
    assert_eq!((principal.sku.as_ref().unwrap().as_str(), principal.qty), ("TS-BLU-M", 2));
    let refund = lines.iter().find(|l| l.kind == K::Refund).unwrap();
    assert_eq!((refund.sku.as_ref().unwrap().as_str(), refund.qty), ("TS-BLU-M", 1));
}

#[test]
fn keys_are_stable_unique_short_and_from_the_source_ids() {
    let bytes = fixture("amazon-settlement-us.tsv");
    let first = keys(&settlement(&bytes).unwrap());
    assert_eq!(first, keys(&settlement(&bytes).unwrap()), "the same file, the same keys");
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), first.len(), "no two rows share a key");
    assert!(
        first.iter().all(|k| k.starts_with("amazon-settlement:11783365821:") && k.len() <= 128)
    );
    assert_eq!(first[0], "amazon-settlement:11783365821:open");
    assert_eq!(first.last().unwrap(), "amazon-settlement:11783365821:payout");
}

#[test]
fn a_reissued_row_with_another_amount_keeps_its_key_and_identical_rows_get_their_own() {
    let text = String::from_utf8(fixture("amazon-settlement-us.tsv")).unwrap();
    let changed = text.replace("\t73.58\t", "\t73.57\t").replace("\t-12.47\t", "\t-12.48\t");
    let (a, b) = (settlement(text.as_bytes()).unwrap(), settlement(changed.as_bytes()).unwrap());
    let storage = |r: &[Record]| {
        r.iter()
            .flat_map(|r| r.outcome.as_ref().unwrap())
            .find(|i| matches!(&i.command, Command::RecordSettlementLine(l) if l.description == "Storage Fee"))
            .cloned()
            .unwrap()
    };
    assert_eq!(storage(&a).idempotency_key, storage(&b).idempotency_key);
    assert_ne!(storage(&a).command, storage(&b).command);
    // A row repeated verbatim is a second money line with its own key.
    let storage_row = text.lines().find(|l| l.contains("Storage Fee")).unwrap();
    let doubled = text
        .replace("\t73.58\t", "\t61.11\t")
        .replace(storage_row, &format!("{storage_row}\r\n{storage_row}"));
    let records = settlement(doubled.as_bytes()).unwrap();
    assert_eq!(records.len(), 31);
    let k = keys(&records);
    assert_eq!(k.iter().collect::<BTreeSet<_>>().len(), k.len());
}

#[test]
fn a_jpy_settlement_reads_whole_yen_and_skips_zero_rows() {
    let records = settlement(&fixture("amazon-settlement-jp.tsv")).unwrap();
    let commands = commands(&records);
    // Summary + 8 rows with money (the 0 shipping row carries none) + deposit.
    assert_eq!(records.len(), 10);
    let Command::RecordSettlementLine(first) = &commands[1] else { panic!() };
    assert_eq!((first.amount.currency(), first.amount.minor()), (Currency::JPY, 3960));
    let Command::SettlePayout(payout) = commands.last().unwrap() else { panic!() };
    assert_eq!(payout.amount.to_decimal_string(), "3692");
    // Yen have no decimals: a fractional amount refuses the file.
    let text = String::from_utf8(fixture("amazon-settlement-jp.tsv")).unwrap();
    let bad = text.replacen("\t3960\t", "\t3960.5\t", 1);
    let FormatError::Invalid(e) = settlement(bad.as_bytes()).unwrap_err() else { panic!() };
    assert!(e.contains("'3960.5'") && e.contains("at most 0 decimal(s) for JPY"), "{e}");
    let bad = text.replacen("\t3960\t", "\t3960.00\t", 1);
    assert!(settlement(bad.as_bytes()).is_err());
}

#[test]
fn a_total_that_is_not_the_sum_refuses_the_file_naming_both_numbers() {
    let FormatError::Invalid(e) =
        settlement(&fixture("amazon-settlement-total-mismatch.tsv")).unwrap_err()
    else {
        panic!()
    };
    assert!(
        e.contains("total-amount 13.03 USD") && e.contains("sum of its lines 13.02 USD"),
        "{e}"
    );
}

#[test]
fn files_that_are_not_a_v2_settlement_are_refused_whole() {
    let us = String::from_utf8(fixture("amazon-settlement-us.tsv")).unwrap();
    let err = |bytes: &[u8], options: &Options| match translate(
        Format::AmazonSettlementV2,
        bytes,
        options,
    ) {
        Err(FormatError::Invalid(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(err(us.as_bytes(), &Options::default()).contains("--channel is required"));
    assert!(err(b"order-id,sku\n1,A\n", &amazon()).contains("header lacks settlement-id"));
    assert!(err(b"\xff\xfe", &amazon()).contains("not UTF-8"));
    let header_only = us.lines().next().unwrap().to_owned();
    assert!(err(header_only.as_bytes(), &amazon()).contains("no settlement summary row"));
    let other = us.replacen("\n11783365821\t\t", "\n11783365822\t\t", 1);
    assert!(err(other.as_bytes(), &amazon()).contains("one settlement per file"));
    // A BOM and LF line endings are fine.
    let lf = format!("\u{feff}{}", us.replace("\r\n", "\n"));
    assert_eq!(settlement(lf.as_bytes()).unwrap().len(), 30);
}

#[test]
fn a_line_with_an_id_tally_cannot_hold_is_refused_alone() {
    let us = String::from_utf8(fixture("amazon-settlement-us.tsv")).unwrap();
    let bad = us.replacen("\tMUG-WHT-11\t", "\tMUG-WHT\u{7}11\t", 1);
    let records = settlement(bad.as_bytes()).unwrap();
    let refused: Vec<_> = records.iter().filter(|r| r.outcome.is_err()).collect();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].source_id.contains("order 114-2223334-5556667"), "{}", refused[0].source_id);
    assert_eq!(refused[0].outcome.as_ref().unwrap_err().code, "INVALID_INPUT");
}

fn snapshot_options() -> Options {
    Options { location: Some(LocationId::parse("3PL-RENO").unwrap()), ..Options::default() }
}

#[test]
fn a_snapshot_becomes_one_reconciliation_per_bucket() {
    let records = translate(
        Format::StockSnapshotCsv,
        &fixture("stock-snapshot-3pl.csv"),
        &snapshot_options(),
    )
    .unwrap();
    assert_eq!(records.len(), 5);
    let commands = commands(&records);
    let Command::ReconcileStock(first) = &commands[0] else { panic!() };
    assert_eq!(first.location.as_str(), "3PL-RENO");
    assert_eq!(first.sku.as_str(), "GLV-NIT-M");
    assert_eq!(first.lot.as_ref().unwrap().as_str(), "LOT-2611A");
    assert_eq!(first.expiry.unwrap().to_string(), "2027-05-31");
    assert_eq!(first.counted, 480);
    assert_eq!(first.as_of.to_rfc3339(), "2026-03-01T05:00:00.000Z");
    let Command::ReconcileStock(mask) = &commands[2] else { panic!() };
    assert_eq!((mask.lot.clone(), mask.expiry, mask.counted), (None, None, 950));
    assert!(records.iter().all(|r| r.outcome.as_ref().unwrap()[0].occurred_at_ms.is_none()));
    assert_eq!(records[4].source_id, "line 6 sku SYR-10ML-LL lot LOT-88");
    let k = keys(&records);
    assert_eq!(k.iter().collect::<BTreeSet<_>>().len(), 5);
    assert_eq!(
        k,
        keys(
            &translate(
                Format::StockSnapshotCsv,
                &fixture("stock-snapshot-3pl.csv"),
                &snapshot_options()
            )
            .unwrap()
        )
    );
}

#[test]
fn bad_snapshot_rows_are_refused_alone_and_bad_files_whole() {
    let t = |text: &str| translate(Format::StockSnapshotCsv, text.as_bytes(), &snapshot_options());
    let records = t("sku,lot,expiry,quantity,as_of\n\
                     A,,,12.5,2026-03-01T05:00:00Z\n\
                     A,,,-1,2026-03-01T05:00:00Z\n\
                     B,,2027-13-01,1,2026-03-01T05:00:00Z\n\
                     C,,,1,soon\n\
                     D,,,4,2026-03-01\n\
                     D,,,5,2026-03-01\n")
    .unwrap();
    let codes: Vec<_> = records.iter().map(|r| r.outcome.as_ref().err().map(|e| e.code)).collect();
    assert_eq!(
        codes,
        [
            Some("INVALID_INPUT"),
            Some("DUPLICATE_ROW"),
            Some("INVALID_INPUT"),
            Some("INVALID_INPUT"),
            None,
            Some("DUPLICATE_ROW")
        ]
    );
    assert!(records[0].outcome.as_ref().unwrap_err().message.contains("quantity '12.5'"));
    assert!(
        matches!(t("sku,quantity\nA,1\n"), Err(FormatError::Invalid(e)) if e.contains("header lacks lot, expiry, as_of"))
    );
    assert!(matches!(
        translate(Format::StockSnapshotCsv, b"sku,lot,expiry,quantity,as_of\n", &Options::default()),
        Err(FormatError::Invalid(e)) if e.contains("--location is required")
    ));
}

#[test]
fn a_european_report_with_decimal_commas_and_day_first_dates_reads_exactly() {
    let header = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";
    let text = format!(
        "{header}\n\
         12345678901\t01.03.2026 08:12:33 UTC\t15.03.2026 08:12:33 UTC\t17.03.2026 08:12:33 UTC\t13,21\tEUR\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n\
         12345678901\t\t\t\t\t\tOrder\t302-1234567-7654321\t\t\tDzLm12\tAmazon.de\tItemPrice\tPrincipal\t19,99\tAFN\t02.03.2026\t02.03.2026 14:01:07 UTC\t51234567890123\t\t\tTS-BLU-M\t1\t\n\
         12345678901\t\t\t\t\t\tOrder\t302-1234567-7654321\t\t\tDzLm12\tAmazon.de\tItemFees\tCommission\t-3,00\tAFN\t02.03.2026\t02.03.2026 14:01:07 UTC\t51234567890123\t\t\tTS-BLU-M\t1\t\n\
         12345678901\t\t\t\t\t\tOrder\t302-1234567-7654321\t\t\tDzLm12\tAmazon.de\tItemFees\tFBAPerUnitFulfillmentFee\t-3,78\tAFN\t02.03.2026\t02.03.2026 14:01:07 UTC\t51234567890123\t\t\tTS-BLU-M\t1\t\n"
    );
    let records = settlement(text.as_bytes()).unwrap();
    let commands = commands(&records);
    let Command::OpenSettlement(open) = &commands[0] else { panic!() };
    assert_eq!(
        (open.currency, open.period_start.to_string()),
        (Currency::EUR, "2026-03-01".to_owned())
    );
    let Command::RecordSettlementLine(principal) = &commands[1] else { panic!() };
    assert_eq!(principal.amount.minor(), 1999);
    assert_eq!(records[1].outcome.as_ref().unwrap()[0].occurred_at_ms, Some(1_772_460_067_000));
    let Command::SettlePayout(payout) = &commands[4] else { panic!() };
    assert_eq!(
        (payout.amount.minor(), payout.deposit_date.to_string()),
        (1321, "2026-03-17".to_owned())
    );
}
