//! NDJSON import lines: arbitrary text, and the sample and scenario lines with structured
//! damage (hostile numbers, long and odd strings, deep nesting, missing and extra fields).

use crate::support::{apply, byte_mutation, config, json_mutation, mutate_bytes, nested_array};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;
use tally_engine::import::{
    IMPORT_LINE_BYTES_MAX, ImportFile, ImportLineError, ImportLines, parse_import_line,
};
use tally_fuzz::command::command_json;
use tally_fuzz::samples;

/// The domain's scenarios (`crates/tally-domain/tests/scenarios`) as import lines, one
/// envelope per command step with the scenario's business time, in file order.
pub fn scenario_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tally-domain/tests/scenarios");
        let mut files: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let mut lines = Vec::new();
        for file in files {
            let scenario: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let mut at = Value::String("2026-03-01T09:00:00Z".into());
            for step in scenario["steps"].as_array().unwrap() {
                if let Some(t) = step.get("at") {
                    at = t.clone();
                }
                if let Some(command) = step.get("command") {
                    lines.push(
                        serde_json::json!({ "command": command, "occurred_at": at }).to_string(),
                    );
                }
            }
        }
        assert!(lines.len() > 50);
        lines
    })
}

fn valid_lines() -> Vec<String> {
    let mut lines: Vec<String> = samples::COMMANDS.lines().map(str::to_owned).collect();
    lines.extend(scenario_lines().iter().cloned());
    lines
}

#[test]
fn the_sample_file_and_the_scenarios_are_accepted() {
    let outcome = command_json(samples::COMMANDS.as_bytes());
    assert_eq!((outcome.lines, outcome.accepted), (7, 7), "{outcome:?}");
    let file = scenario_lines().join("\n");
    let outcome = command_json(file.as_bytes());
    assert!(outcome.invalid.is_empty(), "{outcome:?}");
    assert!(outcome.accepted > 50 && outcome.events > 100, "{outcome:?}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [127, 129, 1000, 100_000] {
        for open in ["[", "{\"a\":", "{\"command\":"] {
            let line = open.repeat(depth);
            let outcome = command_json(line.as_bytes());
            assert_eq!(outcome.invalid, vec!["INVALID_INPUT"], "{open} × {depth}");
        }
    }
    let deep = format!(
        r#"{{"type": "receive_inventory", "location": {}1{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    // serde_json's parser stops at 128 levels.
    assert!(matches!(
        parse_import_line(&deep, &ImportFile::of_bytes(deep.as_bytes()), 1),
        Err(ImportLineError::Json(_))
    ));
    let just_over = serde_json::json!({ "command": nested_array(130) }).to_string();
    assert!(matches!(
        parse_import_line(&just_over, &ImportFile::of_bytes(just_over.as_bytes()), 1),
        Err(ImportLineError::Json(_))
    ));
}

#[test]
fn over_long_lines_are_refused_and_the_next_line_still_read() {
    let long = format!("{{\"type\": \"{}\"}}", "x".repeat(IMPORT_LINE_BYTES_MAX));
    let mut file = long.clone().into_bytes();
    file.push(b'\n');
    file.extend_from_slice(samples::COMMANDS.lines().next().unwrap().as_bytes());
    let lines: Vec<_> = ImportLines::new(file.as_slice()).map(Result::unwrap).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        matches!(&lines[0], (1, Err(ImportLineError::TooLong { len })) if *len == long.len()),
        "{:?}",
        lines[0].1.as_ref().map(String::len)
    );
    assert!(matches!(&lines[1], (2, Ok(_))));
    // A long last line without an ending, and CRLF endings.
    let lines: Vec<_> = ImportLines::new(&long.as_bytes()[..IMPORT_LINE_BYTES_MAX + 1])
        .map(Result::unwrap)
        .collect();
    assert!(matches!(&lines[..], [(1, Err(ImportLineError::TooLong { .. }))]));
    let crlf = "{}\r\n\r\n{\"a\":1}";
    let lines: Vec<_> = ImportLines::new(crlf.as_bytes()).map(|l| l.unwrap().1.unwrap()).collect();
    assert_eq!(lines, ["{}", "", "{\"a\":1}"]);
    let outcome = command_json(b"\xff\xfe{}\n{\"type\": \"nope\"}\n");
    assert_eq!(outcome.invalid, vec!["INVALID_INPUT", "INVALID_INPUT"]);
}

#[test]
fn hostile_numbers_are_typed_rejections() {
    for qty in [
        "-1",
        "0",
        "18446744073709551615",
        "18446744073709551616",
        "1e3",
        "1.5",
        "\"5\"",
        "9223372036854775808",
    ] {
        let line = format!(
            r#"{{"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": {qty}}}"#
        );
        let outcome = command_json(line.as_bytes());
        assert_eq!(outcome.lines, 1, "{qty}");
        if !qty.starts_with('9') && !qty.starts_with("18") {
            assert_eq!(outcome.accepted, 0, "{qty}: {outcome:?}");
        }
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        let outcome = command_json(&bytes);
        prop_assert_eq!(outcome.lines, outcome.invalid.len() + outcome.accepted + outcome.rejected.len());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = command_json(text.as_bytes());
    }

    #[test]
    fn damaged_valid_lines_are_decided_or_refused(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(json_mutation(), 1..4),
    ) {
        let lines = valid_lines();
        let mut value: Value = serde_json::from_str(&lines[pick % lines.len()]).unwrap();
        for m in &mutations {
            apply(&mut value, m);
        }
        let outcome = command_json(value.to_string().as_bytes());
        prop_assert_eq!(outcome.lines, 1);
    }

    #[test]
    fn byte_damaged_files_are_decided_or_refused(
        start in any::<usize>(),
        count in 1usize..12,
        mutations in proptest::collection::vec(byte_mutation(), 1..8),
    ) {
        let lines = valid_lines();
        let start = start % lines.len();
        let mut file = lines[start..(start + count).min(lines.len())].join("\n").into_bytes();
        for m in &mutations {
            mutate_bytes(&mut file, m);
        }
        let _ = command_json(&file);
    }
}
