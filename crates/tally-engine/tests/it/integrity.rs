//! A store whose log holds less than was acknowledged refuses every command (so no seq is
//! reused and no idempotency key accepted twice) and keeps serving reads.

use crate::support::{open, seed, sub};
use std::path::Path;
use tally_engine::SubmitError;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The views of a store that went on after a copy of its log was taken: the views have
/// applied seqs the log no longer holds, as after a journal that lost its tail.
#[test]
fn views_ahead_of_the_log_refuse_commands_and_keep_reads() {
    let early = tempfile::tempdir().unwrap();
    let later = tempfile::tempdir().unwrap();
    let head = {
        let engine = open(early.path());
        seed(&engine);
        engine.close();
        engine.log().head().seq
    };
    copy_dir(early.path(), later.path());
    {
        let engine = open(later.path());
        for i in 0..3 {
            let receipt = serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1});
            engine.submit_blocking(sub(&format!("more-{i}"), receipt)).unwrap();
        }
        engine.close();
    }
    // The early log with the later views.
    std::fs::remove_dir_all(early.path().join("views")).unwrap();
    copy_dir(&later.path().join("views"), &early.path().join("views"));
    let engine = open(early.path());
    let problem = engine.integrity_problem().expect("views ahead of the log must stop writes");
    assert!(problem.contains(&format!("beyond the log's head at seq {head}")), "{problem}");
    let receipt =
        serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1});
    // A key that was acknowledged in the lost tail is not accepted again.
    let err = engine.submit_blocking(sub("more-0", receipt)).unwrap_err();
    assert!(matches!(err, SubmitError::IntegrityFailed(_)), "{err}");
    assert_eq!(err.code(), "INTEGRITY_FAILED");
    assert_eq!(engine.log().head().seq, head, "nothing appended");
    assert_eq!(engine.log().read(..).count() as u64, head, "reads go on");
    engine.close();
}
