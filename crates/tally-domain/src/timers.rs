//! Time-driven facts: what the passing of time makes due, as commands with their own
//! idempotency keys. The engine's timer asks [`due`] at a tick and submits each command like
//! any other, so the events are in the log and a replay reproduces them; a key is derived
//! from the fact (which lot on which day, which hold with which due time), so a second tick
//! before the first is applied, or a retry after a crash, appends nothing twice.

use std::collections::BTreeSet;

use crate::command::{Command, LotRef, OrderRef};
use crate::ids::{LotId, Sku};
use crate::state::State;
use crate::time::Timestamp;

/// The actor recorded on commands the timer submits.
pub const TIMER_ACTOR: &str = "timer";

/// The source recorded on commands the timer submits.
pub const TIMER_SOURCE: &str = "tally/timer";

/// Commands due at `now`, each with its idempotency key, in a stable order:
/// - `expire_lot` for every lot past its removal date that still has available or reserved
///   units somewhere (key `timer:expire-lot:{digest of sku and lot}:{today}`);
/// - `record_hold_sla_breach` for every hold past its due time not yet recorded (key
///   `timer:hold-sla:{digest of order}:{due time in ms}`).
///
/// Keys stay within the engine's 128-byte limit whatever the ids' lengths.
#[must_use]
pub fn due(state: &State, now: Timestamp) -> Vec<(String, Command)> {
    let today = now.date();
    let mut expiring: BTreeSet<(&Sku, &LotId)> = BTreeSet::new();
    for (key, stock) in state.stock_buckets() {
        let Some(lot_id) = &key.lot else { continue };
        if stock.available == 0 && stock.reserved == 0 {
            continue;
        }
        let (Some(lot), Some(def)) = (state.lot(&key.sku, lot_id), state.sku(&key.sku)) else {
            continue;
        };
        let past = lot.removal_date(def.shelf_life_margin_days).is_some_and(|r| today > r);
        if past && !lot.recalled {
            expiring.insert((&key.sku, lot_id));
        }
    }
    let mut out = Vec::with_capacity(expiring.len());
    for (sku, lot) in expiring {
        let digest = short_digest(&[sku.as_str(), lot.as_str()]);
        out.push((
            format!("timer:expire-lot:{digest}:{today}"),
            Command::ExpireLot(LotRef { sku: sku.clone(), lot: lot.clone() }),
        ));
    }
    for order in state.orders() {
        let Some(hold) = &order.hold else { continue };
        if hold.breached || now <= hold.due_at {
            continue;
        }
        let digest = short_digest(&[order.id.as_str()]);
        out.push((
            format!("timer:hold-sla:{digest}:{}", hold.due_at.millis()),
            Command::RecordHoldSlaBreach(OrderRef { order: order.id.clone() }),
        ));
    }
    out
}

/// Workflow steps the passing of time made due at `now`, each with its key and the rule that
/// asks (its actor is `rule:<name>`): the backorder timeout of channels that cancel backorders
/// after N days (key `timer:backorder-timeout:{digest of order}:{waiting units}`, so a
/// second tick appends nothing, and an order whose waiting units changed is looked at again).
#[must_use]
pub fn due_by_rules(state: &State, now: Timestamp) -> Vec<(String, &'static str, Command)> {
    let mut out = Vec::new();
    if state.workflow.is_empty() {
        return out;
    }
    for order in state.orders() {
        let Some(command) = crate::workflow::backorder_timeout(state, order, now) else {
            continue;
        };
        let waiting: u64 = order.lines.iter().map(crate::order::Line::unallocated).sum();
        let digest = short_digest(&[order.id.as_str()]);
        out.push((
            format!("timer:backorder-timeout:{digest}:{waiting}"),
            crate::workflow::rules::BACKORDER_TIMEOUT,
            command,
        ));
    }
    out
}

/// 16 hex digits of blake3 over the parts (length-prefixed, so parts cannot run together).
fn short_digest(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new_derive_key("tally timer key v1");
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let bytes = h.finalize();
    hex16(&bytes.as_bytes()[..8])
}

fn hex16(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(16);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
