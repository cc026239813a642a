//! The engine's timer (DOMAIN §1 expiry, §2 hold SLA): time-driven events are appended by the
//! engine itself, once, with their own keys, and survive a reopen without being appended again.

use std::time::{Duration, Instant};

use tally_engine::{Engine, EngineConfig};

use crate::support::{projections, seed, sub};

fn open_with_timer(dir: &std::path::Path) -> Engine {
    let config =
        EngineConfig { timer_interval: Some(Duration::from_millis(50)), ..EngineConfig::default() };
    Engine::open(dir, config, projections()).unwrap()
}

/// (type, actor, source) of every event, in log order.
fn events(engine: &Engine) -> Vec<(String, String, String)> {
    engine
        .log()
        .read(..)
        .map(|e| {
            let e = e.unwrap();
            (e.event_type().to_owned(), e.actor().to_owned(), e.source().to_owned())
        })
        .collect()
}

fn count(events: &[(String, String, String)], event_type: &str) -> usize {
    events.iter().filter(|(t, _, _)| t == event_type).count()
}

#[test]
fn the_timer_expires_lots_and_records_hold_breaches_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_with_timer(dir.path());
    seed(&engine);
    // Received on 2026-03-01 (the submissions' business time), removable after 2026-06-01:
    // by the engine's clock (later than that) the lot is past its removal date.
    let steps = [
        serde_json::json!({"type": "define_sku", "sku": "L", "lot_tracked": true, "shelf_life_margin_days": 0, "unit_cost": {"amount": "1.00", "currency": "USD"}, "abc": "A"}),
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "L", "lot": "E", "expiry": "2026-06-01", "qty": 5}),
        crate::support::order("O1", 1),
        serde_json::json!({"type": "hold_order", "order": "O1", "reason": "payment", "due_at": "2026-03-01T10:00:00Z", "note": ""}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        engine.submit_blocking(sub(&format!("t-{i}"), step)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = events(&engine);
        if count(&all, "inventory.quarantined") == 1 && count(&all, "order.hold_sla_breached") == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "the timer appended nothing in 20 s: {all:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // More ticks append nothing more.
    std::thread::sleep(Duration::from_millis(300));
    let all = events(&engine);
    assert_eq!(count(&all, "inventory.quarantined"), 1, "{all:?}");
    assert_eq!(count(&all, "order.hold_sla_breached"), 1, "{all:?}");
    for (t, actor, source) in &all {
        if t == "inventory.quarantined" || t == "order.hold_sla_breached" {
            assert_eq!((actor.as_str(), source.as_str()), ("timer", "tally/timer"));
        }
    }
    let head = engine.log().head().seq;
    engine.close();
    drop(engine);
    // Reopened, the state knows both facts: nothing is due again.
    let engine = open_with_timer(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(engine.log().head().seq, head);
    engine.close();
}

/// Regression: a tick with nothing due stopped the writer, so every command after the first
/// idle minute of `tally serve` was refused ("the engine is closed").
#[test]
fn idle_ticks_do_not_stop_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        EngineConfig { timer_interval: Some(Duration::from_millis(10)), ..EngineConfig::default() };
    let engine = Engine::open(dir.path(), config, projections()).unwrap();
    seed(&engine);
    // Many idle ticks go by.
    std::thread::sleep(Duration::from_millis(300));
    let accepted =
        engine.submit_blocking(sub("after-idle", crate::support::order("O1", 1))).unwrap();
    assert_eq!(accepted.events.len(), 1);
    std::thread::sleep(Duration::from_millis(100));
    engine.submit_blocking(sub("after-idle-2", crate::support::order("O2", 1))).unwrap();
    engine.close();
}
