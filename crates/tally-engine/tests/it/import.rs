//! Import lines: keys of key-less lines, strict JSON, the byte order mark.

use tally_engine::import::{ImportFile, ImportLineError, ImportLines, parse_import_line};

const RECEIPT: &str = r#"{"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 5}"#;

/// Issue #12 item 5: key-less lines were keyed by their content, so two identical lines of one
/// file were one command. They are keyed by the file and the line number.
#[test]
fn key_less_lines_are_keyed_by_file_and_line() {
    let text = format!("{RECEIPT}\n{RECEIPT}\n");
    let file = ImportFile::of_bytes(text.as_bytes());
    let first = parse_import_line(RECEIPT, &file, 1).unwrap();
    let second = parse_import_line(RECEIPT, &file, 2).unwrap();
    assert_ne!(first.idempotency_key, second.idempotency_key);
    assert_eq!(first.command, second.command);
    // The same file again gives the same keys; another file other keys.
    let again = ImportFile::of_bytes(text.as_bytes());
    assert_eq!(
        parse_import_line(RECEIPT, &again, 1).unwrap().idempotency_key,
        first.idempotency_key
    );
    let other = ImportFile::of_bytes(format!("{text}\n").as_bytes());
    assert_ne!(
        parse_import_line(RECEIPT, &other, 1).unwrap().idempotency_key,
        first.idempotency_key
    );
    let digest = blake3::hash(text.as_bytes()).to_hex();
    assert_eq!(first.idempotency_key, format!("import:{}:1", &digest[..32]));
    // An envelope without a key is keyed the same way; one with a key keeps it.
    let envelope = format!(r#"{{"command": {RECEIPT}, "source": "wms"}}"#);
    assert_eq!(parse_import_line(&envelope, &file, 7).unwrap().idempotency_key, file.line_key(7));
    let keyed = format!(r#"{{"key": "rcv-1", "command": {RECEIPT}}}"#);
    assert_eq!(parse_import_line(&keyed, &file, 7).unwrap().idempotency_key, "rcv-1");
}

/// A member given twice is refused wherever it is, not taken with its last value.
#[test]
fn duplicate_members_are_refused() {
    let file = ImportFile::of_bytes(b"");
    for (line, member) in [
        (
            r#"{"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 5, "qty": 500}"#,
            "qty",
        ),
        (
            r#"{"key": "a", "key": "b", "command": {"type": "validate_order", "order": "D1"}}"#,
            "key",
        ),
        (r#"{"command": {"type": "validate_order", "order": "D1", "order": "D2"}}"#, "order"),
        (
            r#"{"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "1.00", "amount": "9.00", "currency": "USD"}, "abc": "B"}"#,
            "amount",
        ),
    ] {
        let err = parse_import_line(line, &file, 1).unwrap_err();
        assert!(matches!(err, ImportLineError::Json(_)), "{line}");
        assert!(err.to_string().contains(&format!("duplicate member '{member}'")), "{err}");
        assert_eq!(err.code(), "INVALID_INPUT");
    }
    // Equal members in different objects are fine.
    let ok = r#"{"type": "receive_order", "order": "D1", "channel": "web", "placed_at": "2026-03-01T10:00:00Z", "currency": "USD", "lines": [{"sku": "A", "qty": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}, {"sku": "B", "qty": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}], "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"}"#;
    parse_import_line(ok, &file, 1).unwrap();
}

/// A byte order mark is skipped at the start of the file only.
#[test]
fn a_byte_order_mark_starts_a_file() {
    let text = format!("\u{feff}{RECEIPT}\r\n\u{feff}{RECEIPT}\n");
    let lines: Vec<_> = ImportLines::new(text.as_bytes()).map(|l| l.unwrap()).collect();
    let file = ImportFile::of_bytes(text.as_bytes());
    assert_eq!(lines[0].0, 1);
    let first = lines[0].1.as_ref().unwrap();
    assert_eq!(first, RECEIPT);
    parse_import_line(first, &file, 1).unwrap();
    let second = lines[1].1.as_ref().unwrap();
    assert!(parse_import_line(second, &file, 2).is_err(), "a mark inside the file is not skipped");
}
