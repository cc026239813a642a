//! The integration failure rate survives a restart: submissions and rejections per day,
//! source and command type are kept outside the hash-chained log, with bounded retention.

use crate::support::{order, projections, seed, sub};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use tally_engine::{Engine, EngineConfig, SubmissionCounts, day_of_ms};

/// The injected wall clock of the retention test (ms since the epoch).
static CLOCK_MS: AtomicI64 = AtomicI64::new(1_772_355_600_000); // 2026-03-01T09:00:00Z
const DAY_MS: i64 = 86_400_000;

fn clock() -> i64 {
    CLOCK_MS.load(Ordering::SeqCst)
}

fn open_with_clock(dir: &Path) -> Engine {
    let config = EngineConfig { clock_ms: clock, ..EngineConfig::default() };
    Engine::open(dir, config, projections()).unwrap()
}

fn counts(submitted: u64, rejected: u64, codes: &[(&str, u64)]) -> SubmissionCounts {
    SubmissionCounts {
        submitted,
        rejected,
        rejected_by_code: codes.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect(),
    }
}

#[test]
fn counters_survive_a_restart_and_a_rejection_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let engine = crate::support::open(dir.path());
        seed(&engine);
        let head = engine.log().head();
        let mut bad = sub("bad-1", order("D1", 0));
        bad.source = "shop".to_owned();
        assert_eq!(engine.submit_blocking(bad).unwrap_err().code(), "INVALID_QUANTITY");
        let mut unknown = sub(
            "bad-2",
            serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "NOPE", "qty": 1}),
        );
        unknown.source = "shop".to_owned();
        assert_eq!(engine.submit_blocking(unknown).unwrap_err().code(), "UNKNOWN_SKU");
        assert_eq!(engine.log().head(), head, "a rejected command appends nothing");
        let mut good = sub("o-1", order("D1", 2));
        good.source = "shop".to_owned();
        engine.submit_blocking(good).unwrap();
        let all = engine.submission_counts();
        let shop = |kind: &str| all.get(&("shop".to_owned(), kind.to_owned())).cloned();
        assert_eq!(shop("receive_order"), Some(counts(2, 1, &[("INVALID_QUANTITY", 1)])));
        assert_eq!(shop("receive_inventory"), Some(counts(1, 1, &[("UNKNOWN_SKU", 1)])));
        assert_eq!(engine.rejections_by_code().get("UNKNOWN_SKU"), Some(&1));
        engine.close();
        all
    };
    let engine = crate::support::open(dir.path());
    assert_eq!(engine.submission_counts(), before, "the counters read back at open");
    // A rejection after the restart: counted on top of what was stored, nothing appended.
    let head = engine.log().head();
    let mut again = sub("bad-3", order("D2", -1));
    again.source = "shop".to_owned();
    engine.submit_blocking(again).unwrap_err();
    assert_eq!(engine.log().head(), head);
    let key = ("shop".to_owned(), "receive_order".to_owned());
    assert_eq!(engine.submission_counts()[&key], counts(3, 2, &[("INVALID_QUANTITY", 2)]));
}

#[test]
fn days_past_the_retention_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let day0 = day_of_ms(clock());
    let reject = |engine: &Engine, key: &str| {
        let mut s = sub(key, order("X", 0));
        s.source = "edi".to_owned();
        engine.submit_blocking(s).unwrap_err();
    };
    let rejected_since = |engine: &Engine, day: i32| -> u64 {
        engine.submission_counts_since(day).values().map(|c| c.rejected).sum()
    };
    {
        let engine = open_with_clock(dir.path());
        seed(&engine);
        reject(&engine, "r0"); // day 0
        CLOCK_MS.fetch_add(DAY_MS, Ordering::SeqCst);
        reject(&engine, "r1"); // day 1
        reject(&engine, "r1b");
        assert_eq!(rejected_since(&engine, day0), 3);
        assert_eq!(rejected_since(&engine, day0 + 1), 2, "the window starts at sinceDay");
        assert_eq!(engine.submission_stats_window(), (Some(day0), day0 + 1, 90));
        engine.close();
    }
    // Day 90: day 0 is 90 days back, past the 90 days kept (days 1..=90); reopening drops it.
    CLOCK_MS.fetch_add(89 * DAY_MS, Ordering::SeqCst);
    {
        let engine = open_with_clock(dir.path());
        assert_eq!(rejected_since(&engine, i32::MIN), 2);
        assert_eq!(engine.submission_stats_window(), (Some(day0 + 1), day0 + 90, 90));
        engine.close();
    }
    // Day 91, without a restart: the next write drops day 1.
    let engine = open_with_clock(dir.path());
    CLOCK_MS.fetch_add(DAY_MS, Ordering::SeqCst);
    reject(&engine, "r91");
    assert_eq!(rejected_since(&engine, i32::MIN), 1);
    assert_eq!(engine.submission_stats_window().0, Some(day0 + 91));
    engine.close();
    drop(engine);
    let engine = open_with_clock(dir.path());
    assert_eq!(rejected_since(&engine, i32::MIN), 1, "the drop is stored too");
}
