//! When to try again: exponential backoff with jitter, and the clock it is measured on.

use crate::config::Delivery;

/// The time source of the outbox (ms since the epoch). Tests inject their own.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The wait before attempt `failures + 1` of message `id`, after `failures` (≥ 1) failed
/// attempts: `base = min(backoff_max, backoff_initial × 2^(failures−1))`, then "equal jitter":
/// half of `base` plus a share of the other half drawn from blake3(seed ‖ id ‖ failures), so
/// endpoints that failed together do not retry together, and a run with the same seed waits
/// the same.
#[must_use]
pub fn delay_ms(delivery: &Delivery, id: &str, failures: u32) -> u64 {
    let exponent = failures.saturating_sub(1).min(40);
    let base =
        delivery.backoff_initial_ms.saturating_mul(1_u64 << exponent).min(delivery.backoff_max_ms);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&delivery.jitter_seed.to_le_bytes());
    hasher.update(id.as_bytes());
    hasher.update(&failures.to_le_bytes());
    let mut draw = [0_u8; 8];
    draw.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    let half = base / 2;
    let span = base - half;
    half + if span == 0 { 0 } else { u64::from_le_bytes(draw) % (span + 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum_with_bounded_jitter() {
        let delivery =
            Delivery { backoff_initial_ms: 1000, backoff_max_ms: 60_000, ..Delivery::default() };
        for failures in 1..=12 {
            let base = (1000_u64 << (failures - 1)).min(60_000);
            let d = delay_ms(&delivery, "msg_x_1", failures);
            assert!(
                d >= base / 2 && d <= base,
                "failures {failures}: {d} not in [{}, {base}]",
                base / 2
            );
            assert_eq!(d, delay_ms(&delivery, "msg_x_1", failures), "same seed, same wait");
        }
        let spread: std::collections::BTreeSet<u64> =
            (0..50).map(|i| delay_ms(&delivery, &format!("msg_x_{i}"), 3)).collect();
        assert!(spread.len() > 10, "jitter spreads messages: {spread:?}");
        let other_seed = Delivery { jitter_seed: 7, ..delivery.clone() };
        assert!((0..20).any(|i| {
            let id = format!("msg_x_{i}");
            delay_ms(&delivery, &id, 3) != delay_ms(&other_seed, &id, 3)
        }));
    }
}
