//! Helpers: an engine in a temp dir with a small counting projection, and command builders.

use std::path::Path;
use std::sync::Arc;
use tally_domain::Command;
use tally_engine::{Engine, EngineConfig, Submission};
use tally_projections::{Applied, ApplyError, Projection, Tx, key};

/// Counts events per type and remembers the last seq: enough to see double counting.
pub struct Counter;

impl Projection for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn version(&self) -> u32 {
        1
    }
    fn apply(&self, tx: &mut Tx<'_>, event: &Applied<'_>) -> Result<(), ApplyError> {
        tx.add(key(&[b"type", event.event_type.as_bytes()]), 1)?;
        tx.add(b"total".to_vec(), 1)?;
        tx.put(b"last".to_vec(), &event.seq)
    }
}

pub fn projections() -> Vec<Arc<dyn Projection>> {
    vec![Arc::new(Counter)]
}

pub fn open(dir: &Path) -> Engine {
    Engine::open(dir, EngineConfig::default(), projections()).unwrap()
}

pub fn command(json: serde_json::Value) -> Command {
    serde_json::from_value(json).unwrap()
}

pub fn sub(key: &str, json: serde_json::Value) -> Submission {
    let mut s = Submission::new(key, command(json));
    s.actor = "test".to_owned();
    s.occurred_at_ms = Some(1_772_355_600_000); // 2026-03-01T09:00:00Z
    s
}

/// Master data and stock for the contention and idempotency tests: WH1 serves web, 10 of A.
pub fn seed(engine: &Engine) {
    let steps = [
        serde_json::json!({"type": "define_channel", "channel": "web", "priority": "standard", "kind": "direct", "currency": "USD"}),
        serde_json::json!({"type": "define_location", "location": "WH1", "kind": "warehouse", "rank": 1, "channels": ["web"]}),
        serde_json::json!({"type": "define_sku", "sku": "A", "lot_tracked": false, "unit_cost": {"amount": "4.00", "currency": "USD"}, "abc": "B"}),
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 10}),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        engine.submit_blocking(sub(&format!("seed-{i}"), step)).unwrap();
    }
}

pub fn order(id: &str, qty: i64) -> serde_json::Value {
    serde_json::json!({"type": "receive_order", "order": id, "channel": "web",
        "placed_at": "2026-03-01T10:00:00Z", "currency": "USD",
        "lines": [{"sku": "A", "qty": qty, "unit_price": {"amount": "15.00", "currency": "USD"}}],
        "shipping": {"amount": "0.00", "currency": "USD"}, "tax_rate": "0"})
}
