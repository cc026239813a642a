//! Workflow rules run inside the single writer (issue #15): validation, hold rules,
//! auto-release and auto-allocation follow the command that caused them, in the same group,
//! each with `rule:<name>` as its actor; the backorder timeout comes from the timer; the rules
//! file is loaded as a `workflow.configured` event.

use std::time::{Duration, Instant};

use serde_json::json;
use tally_engine::workflow_file::{self, Applied};
use tally_engine::{Engine, EngineConfig};

use crate::support::{open, projections, seed, sub};

/// (type, actor, stream) of every event after `from`, in log order.
fn events_after(engine: &Engine, from: u64) -> Vec<(String, String, String)> {
    engine
        .log()
        .read(from + 1..)
        .map(|e| {
            let e = e.unwrap();
            (e.event_type().to_owned(), e.actor().to_owned(), e.stream().to_owned())
        })
        .collect()
}

fn rules() -> serde_json::Value {
    json!({"type": "configure_workflow", "channels": [{
    "channel": "web", "validate": true, "require_address": true,
    "validation_sla_minutes": 60, "auto_release": true, "auto_allocate": true,
    "backorder": "cancel_after", "backorder_days": 14,
    "holds": [
        {"name": "unpaid", "when": "payment_not_captured", "reason": "payment", "sla_minutes": 1440},
        {"name": "risky", "when": "fraud_score_at_least", "fraud_score": 75, "reason": "fraud", "sla_minutes": 240}
    ]}]})
}

fn address() -> serde_json::Value {
    json!({"name": "Ana Müller", "line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"})
}

fn web_order(id: &str, qty: i64, extra: &serde_json::Value) -> serde_json::Value {
    let mut o = crate::support::order(id, qty);
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

/// "type by actor" of every event after `from`; without the test's own when `with_test` is
/// false (what the rules did).
fn trail(engine: &Engine, from: u64, with_test: bool) -> Vec<String> {
    events_after(engine, from)
        .into_iter()
        .filter(|(_, a, _)| with_test || a != "test")
        .map(|(t, a, _)| format!("{t} by {a}"))
        .collect()
}

fn head(engine: &Engine) -> u64 {
    engine.log().head().seq
}

/// The flow without a person: an unpaid order is validated and held for payment by
/// rule; its capture releases and allocates it.
#[test]
fn an_unpaid_order_is_held_by_rule_and_released_and_allocated_when_paid() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    engine.submit_blocking(sub("rules", rules())).unwrap();

    let before = head(&engine);
    let accepted = engine
        .submit_blocking(sub("o1", web_order("O1", 2, &json!({"ship_to": address()}))))
        .unwrap();
    // The caller's answer is its own command's events; the rules' follow in the same group.
    assert_eq!(accepted.events.len(), 1);
    let after = events_after(&engine, before);
    let kinds: Vec<(&str, &str)> = after.iter().map(|(t, a, _)| (t.as_str(), a.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("order.received", "test"),
            ("order.validated", "rule:validate"),
            ("order.held", "rule:unpaid")
        ]
    );

    let before = head(&engine);
    engine
        .submit_blocking(sub(
            "pay1",
            json!({"type": "capture_payment", "order": "O1", "payment": "p1", "amount": {"amount": "30.00", "currency": "USD"}}),
        ))
        .unwrap();
    let after = events_after(&engine, before);
    let kinds: Vec<(&str, &str)> = after.iter().map(|(t, a, _)| (t.as_str(), a.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("finance.payment_captured", "test"),
            ("journal.entry_posted", "test"),
            ("order.hold_released", "rule:auto-release"),
            ("order.line_allocated", "rule:auto-release"),
        ]
    );

    // A paid order with a complete address goes straight to allocation.
    let before = head(&engine);
    engine
        .submit_blocking(sub(
            "o2",
            web_order("O2", 1, &json!({"ship_to": address(), "payments": [{"payment": "p2", "amount": {"amount": "15.00", "currency": "USD"}}]})),
        ))
        .unwrap();
    let kinds: Vec<String> =
        events_after(&engine, before).into_iter().map(|(t, a, _)| format!("{t} by {a}")).collect();
    assert_eq!(
        kinds,
        [
            "order.received by test",
            "finance.payment_captured by test",
            "journal.entry_posted by test",
            "order.validated by rule:validate",
            "order.line_allocated by rule:auto-allocate",
        ]
    );

    // Retrying the first command changes nothing: the rules do not run twice.
    let head_now = head(&engine);
    let again = engine
        .submit_blocking(sub("o1", web_order("O1", 2, &json!({"ship_to": address()}))))
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(head(&engine), head_now);
    engine.close();
}

#[test]
fn validation_holds_for_address_and_data_and_a_release_validates() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    engine.submit_blocking(sub("rules", rules())).unwrap();

    let before = head(&engine);
    let mut no_postcode = address();
    no_postcode["postal_code"] = json!("");
    engine
        .submit_blocking(sub("o1", web_order("O1", 1, &json!({"ship_to": no_postcode}))))
        .unwrap();
    let held: Vec<(String, String)> =
        events_after(&engine, before).into_iter().map(|(t, a, _)| (t, a)).collect();
    assert_eq!(held[1], ("order.held".to_owned(), "rule:validate".to_owned()));

    // A zero price is a data problem, found before the address.
    let mut free = web_order("O2", 1, &json!({}));
    free["lines"][0]["unit_price"]["amount"] = json!("0.00");
    let before = head(&engine);
    engine.submit_blocking(sub("o2", free)).unwrap();
    let record = engine.log().read(before + 2..=before + 2).next().unwrap().unwrap();
    let tally_domain::Event::OrderHeld(h) =
        tally_domain::decode(record.event_type(), record.schema_version(), record.payload())
            .unwrap()
    else {
        panic!("not a hold")
    };
    assert_eq!(h.reason, tally_domain::order::HoldReason::Data);
    assert!(h.note.contains("no price"), "{}", h.note);

    // A person releases the address hold (the address was checked by phone): the order is
    // validated, then the hold rules look at it (unpaid → held for payment).
    let before = head(&engine);
    engine.submit_blocking(sub("rel", json!({"type": "release_hold", "order": "O1"}))).unwrap();
    let kinds: Vec<String> =
        events_after(&engine, before).into_iter().map(|(t, a, _)| format!("{t} by {a}")).collect();
    assert_eq!(
        kinds,
        [
            "order.hold_released by test",
            "order.validated by rule:validate",
            "order.held by rule:unpaid"
        ]
    );
    engine.close();
}

#[test]
fn hold_rules_match_in_order_and_only_payment_and_credit_release_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    engine.submit_blocking(sub("rules", rules())).unwrap();
    // Paid, but risky: the fraud rule holds it, and a capture does not release a fraud hold.
    let before = head(&engine);
    engine
        .submit_blocking(sub(
            "o1",
            web_order("O1", 1, &json!({"ship_to": address(), "fraud_score": 80, "payments": [{"payment": "p1", "amount": {"amount": "15.00", "currency": "USD"}}]})),
        ))
        .unwrap();
    let last = events_after(&engine, before).pop().unwrap();
    assert_eq!((last.0.as_str(), last.1.as_str()), ("order.held", "rule:risky"));
    let before = head(&engine);
    engine
        .submit_blocking(sub(
            "p-extra",
            json!({"type": "capture_payment", "order": "O1", "payment": "p9", "amount": {"amount": "1.00", "currency": "USD"}}),
        ))
        .unwrap();
    assert!(
        events_after(&engine, before).iter().all(|(_, a, _)| a == "test"),
        "a fraud hold waits for a person"
    );
    engine.close();
}

#[test]
fn the_timer_cancels_backorders_of_a_cancel_after_channel() {
    let dir = tempfile::tempdir().unwrap();
    // The engine's clock is 2026-04-01, more than 14 days after the order was placed.
    fn april() -> i64 {
        1_775_001_600_000
    }
    let config = EngineConfig {
        timer_interval: Some(Duration::from_millis(50)),
        clock_ms: april,
        ..EngineConfig::default()
    };
    let engine = Engine::open(dir.path(), config, projections()).unwrap();
    seed(&engine);
    engine.submit_blocking(sub("rules", rules())).unwrap();
    // 12 of A ordered, 10 in stock: 2 wait.
    engine
        .submit_blocking(sub(
            "o1",
            web_order("O1", 12, &json!({"ship_to": address(), "payments": [{"payment": "p1", "amount": {"amount": "180.00", "currency": "USD"}}]})),
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = events_after(&engine, 0);
        if let Some((_, actor, _)) = all.iter().find(|(t, _, _)| t == "order.backorders_cancelled")
        {
            assert_eq!(actor, "rule:backorder-timeout");
            break;
        }
        assert!(Instant::now() < deadline, "no backorder timeout in 20 s: {all:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let cancels = events_after(&engine, 0)
        .iter()
        .filter(|(t, _, _)| t == "order.backorders_cancelled")
        .count();
    assert_eq!(cancels, 1, "the timeout cancels once");
    engine.close();
}

#[test]
fn the_rules_file_is_loaded_checked_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    assert_eq!(workflow_file::apply_blocking(&engine, dir.path(), "operator"), Ok(Applied::NoFile));
    let file = dir.path().join(workflow_file::WORKFLOW_FILE);
    std::fs::write(
        &file,
        "[channels.web]\nbackorder = \"wait\"\n[[channels.web.holds]]\nname = \"unpaid\"\nwhen = \"payment_not_captured\"\nreason = \"payment\"\nsla = \"1d\"\n",
    )
    .unwrap();
    let Ok(Applied::Changed { seq, channels: 1 }) =
        workflow_file::apply_blocking(&engine, dir.path(), "operator")
    else {
        panic!("the rules were not set")
    };
    let record = engine.log().read(seq..=seq).next().unwrap().unwrap();
    assert_eq!(record.event_type(), "workflow.configured");
    assert_eq!(record.actor(), "operator");
    // The same file again: in force already, nothing but the load's marker.
    assert_eq!(
        workflow_file::apply_blocking(&engine, dir.path(), "operator"),
        Ok(Applied::Unchanged)
    );
    // A file naming an unknown channel is refused by the domain; one with a typo by the
    // parser, with the key; the rules in force stay.
    std::fs::write(&file, "[channels.nowhere]\n").unwrap();
    let e = workflow_file::apply_blocking(&engine, dir.path(), "operator").unwrap_err();
    assert!(e.contains("nowhere"), "{e}");
    std::fs::write(&file, "[channels.web]\nauto_relase = false\n").unwrap();
    let e = workflow_file::apply_blocking(&engine, dir.path(), "operator").unwrap_err();
    assert!(e.contains("auto_relase"), "{e}");
    engine.close();
}

/// A B2B order over the credit limit is held at receipt; the customer's payment restores the
/// credit and releases it, and the rules take it from there (validation, allocation).
#[test]
fn a_customer_payment_releases_a_credit_hold() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    let mut rules = rules();
    rules["channels"][0]["require_address"] = json!(false);
    engine.submit_blocking(sub("rules", rules)).unwrap();
    engine
        .submit_blocking(sub(
            "acme",
            json!({"type": "define_customer", "customer": "ACME", "name": "Acme Clinics", "currency": "USD", "terms_days": 30, "credit_limit": {"amount": "100.00", "currency": "USD"}}),
        ))
        .unwrap();
    let before = head(&engine);
    engine.submit_blocking(sub("b1", web_order("B1", 10, &json!({"customer": "ACME"})))).unwrap();
    let kinds: Vec<String> =
        events_after(&engine, before).into_iter().map(|(t, a, _)| format!("{t} by {a}")).collect();
    assert_eq!(
        kinds,
        ["order.received by test", "order.held by test"],
        "held for credit at receipt"
    );
    let before = head(&engine);
    engine
        .submit_blocking(sub(
            "ach",
            json!({"type": "record_customer_payment", "payment": "ach-1", "customer": "ACME", "amount": {"amount": "100.00", "currency": "USD"}, "applications": []}),
        ))
        .unwrap();
    let kinds = trail(&engine, before, false);
    // The payment's own decision releases the credit holds it clears (receivables policy);
    // the rules then validate and allocate the order.
    assert_eq!(
        kinds,
        ["order.validated by rule:validate", "order.line_allocated by rule:auto-allocate"]
    );
    assert!(
        events_after(&engine, before)
            .iter()
            .any(|(t, a, _)| t == "order.hold_released" && a == "test"),
        "the hold was released"
    );
    engine.close();
}

/// A `substitute` channel ships the configured substitute for a line no stock can fill.
#[test]
fn a_backordered_line_takes_its_substitute() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    seed(&engine);
    for (i, step) in [
        json!({"type": "define_sku", "sku": "A2", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}),
        json!({"type": "define_sku", "sku": "Z", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}),
        json!({"type": "receive_inventory", "location": "WH1", "sku": "A2", "qty": 5}),
    ]
    .into_iter()
    .enumerate()
    {
        engine.submit_blocking(sub(&format!("m{i}"), step)).unwrap();
    }
    let mut rules = rules();
    rules["channels"][0]["backorder"] = json!("substitute");
    rules["channels"][0]["backorder_days"] = serde_json::Value::Null;
    rules["channels"][0]["substitutes"] = json!([{"sku": "Z", "substitute": "A2"}]);
    engine.submit_blocking(sub("rules", rules)).unwrap();
    let mut order = web_order(
        "S1",
        3,
        &json!({"ship_to": address(), "payments": [{"payment": "p1", "amount": {"amount": "45.00", "currency": "USD"}}]}),
    );
    order["lines"][0]["sku"] = json!("Z");
    let before = head(&engine);
    engine.submit_blocking(sub("s1", order)).unwrap();
    let kinds = trail(&engine, before, false);
    assert_eq!(
        kinds,
        [
            "order.validated by rule:validate",
            "order.line_backordered by rule:auto-allocate",
            "order.line_substituted by rule:substitute",
            "order.line_allocated by rule:substitute",
        ]
    );
    engine.close();
}
