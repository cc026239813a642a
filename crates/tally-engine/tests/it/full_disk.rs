//! A full disk, injected: the log's commits fail with ENOSPC (feature `fault-injection` of
//! tally-log). The engine stops taking commands with a typed `STORAGE_FAILED` error, answers
//! nothing it did not persist, keeps serving reads, and after a restart holds exactly what it
//! acknowledged and takes commands again.

use crate::support::{order, projections, seed, sub};
use tally_engine::{Engine, EngineConfig, SubmitError, event_id};
use tally_log::{FaultInjector, VerifyOptions};

fn open_with(dir: &std::path::Path, faults: &FaultInjector) -> Engine {
    let mut config = EngineConfig::default();
    config.log.faults = faults.clone();
    Engine::open(dir, config, projections()).unwrap()
}

fn receipt(qty: i64) -> serde_json::Value {
    serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": qty})
}

#[test]
fn a_full_disk_stops_the_writer_acknowledges_nothing_and_a_restart_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultInjector::default();
    let engine = open_with(dir.path(), &faults);
    seed(&engine);
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let key = format!("before-{i}");
        let accepted = engine.submit_blocking(sub(&key, receipt(1))).unwrap();
        acknowledged.push((key, accepted.events[0].seq));
    }
    let head_before = engine.log().head().seq;

    // The disk fills up: concurrent submitters all get the typed error, none an answer.
    faults.fail_commits(true);
    let results: Vec<Result<_, SubmitError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let engine = engine.clone();
                scope.spawn(move || {
                    (0..5)
                        .map(|i| {
                            engine.submit_blocking(sub(&format!("during-{t}-{i}"), receipt(1)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), 40);
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.code(), "STORAGE_FAILED", "{err}");
        assert!(err.to_string().contains("No space left on device"), "names the cause: {err}");
    }
    assert!(engine.storage_failed());
    assert!(engine.poisoned().is_some());
    assert_eq!(engine.log().head().seq, head_before, "nothing new is durable");

    // Reads keep working while the writer is stopped.
    assert_eq!(engine.log().read(..).count() as u64, head_before);
    let (_, seq) = &acknowledged[19];
    assert_eq!(engine.log().get(*seq).unwrap().unwrap().seq(), *seq);

    // Space returns: the engine is fail-stop, so it still refuses until restarted.
    faults.fail_commits(false);
    let err = engine.submit_blocking(sub("after-space-returns", receipt(1))).unwrap_err();
    assert_eq!(err.code(), "STORAGE_FAILED");
    engine.close();
    drop(engine);

    // Restart: exactly what was acknowledged is there.
    let engine = open_with(dir.path(), &faults);
    assert_eq!(engine.log().head().seq, head_before);
    for (key, seq) in &acknowledged {
        let again = engine.submit_blocking(sub(key, receipt(1))).unwrap();
        assert!(again.deduplicated, "{key} is stored");
        assert_eq!(again.events[0].seq, *seq);
    }
    for t in 0..8 {
        for i in 0..5 {
            let id = event_id(&format!("during-{t}-{i}"), 0);
            assert!(engine.log().get_by_event_id(id).unwrap().is_none(), "during-{t}-{i}");
        }
    }
    let report = engine.log().verify(VerifyOptions::full()).unwrap();
    assert_eq!(report.last_seq, head_before);
    // New commands are taken again, and a failed key can be retried.
    let retried = engine.submit_blocking(sub("during-0-0", receipt(1))).unwrap();
    assert_eq!(retried.events[0].seq, head_before + 1);
    engine.submit_blocking(sub("after-restart", order("D1", 2))).unwrap();
    assert_eq!(engine.log().head().seq, head_before + 3, "a receipt, an order and its reservation");
    engine.close();
}
