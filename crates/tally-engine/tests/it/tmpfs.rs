//! A real full disk: the store on a 4 MiB tmpfs. Needs root and `mount`, so it runs only with
//! `TALLY_TMPFS_TESTS=1` (otherwise it returns at once). The engine is fed until the disk is
//! full; then the mount is grown (`mount -o remount,size=`), the engine restarted, and the
//! store must hold exactly what was acknowledged and verify.

use crate::support::{projections, seed, sub};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use tally_engine::{Engine, EngineConfig, event_id};
use tally_log::VerifyOptions;

/// A tmpfs mounted on a temp dir, unmounted on drop (also when the test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .ok()?;
        status.success().then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Names of the threads that panicked while the hook was installed.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn receipt() -> serde_json::Value {
    serde_json::json!({"type": "receive_inventory", "location": "WH1", "sku": "A", "qty": 1})
}

#[test]
fn a_real_full_disk_stops_the_writer_and_a_restart_with_space_recovers() {
    if std::env::var("TALLY_TMPFS_TESTS").as_deref() != Ok("1") {
        return;
    }
    let Some(disk) = Tmpfs::mount("4m") else {
        eprintln!("tmpfs test skipped: cannot mount a tmpfs here");
        return;
    };
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        PANICS.lock().unwrap().push(name);
        default_hook(info);
    }));
    let store: PathBuf = disk.path().join("store");
    let engine = Engine::open(&store, EngineConfig::default(), projections()).unwrap();
    seed(&engine);
    let mut acknowledged: Vec<(String, u64)> = Vec::new();
    let mut failures = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    'fill: for round in 0..10_000 {
        let keys: Vec<String> = (0..200).map(|i| format!("fill-{round}-{i}")).collect();
        let results =
            runtime.block_on(engine.submit_many(keys.iter().map(|k| sub(k, receipt())).collect()));
        for (key, result) in keys.into_iter().zip(results) {
            match result {
                Ok(accepted) => acknowledged.push((key, accepted.events[0].seq)),
                Err(err) => failures.push((key, err)),
            }
        }
        if !failures.is_empty() {
            break 'fill;
        }
    }
    assert!(!failures.is_empty(), "the disk never filled up");
    let head_at_failure = engine.log().head().seq;
    let acknowledged_at_failure = acknowledged.len();
    let first = &failures[0].1;
    eprintln!(
        "full disk after {} acknowledged commands (head {head_at_failure}): {} failed, first: {first}",
        acknowledged.len(),
        failures.len()
    );
    for (key, err) in &failures {
        assert_eq!(err.code(), "STORAGE_FAILED", "{key}: {err}");
    }
    eprintln!("views applied up to {} of {head_at_failure}", engine.views().low_water());
    assert!(engine.storage_failed());
    // Reads still work on the full disk.
    assert_eq!(engine.log().read(..).count() as u64, head_at_failure);
    engine.close();
    drop(engine);

    // A restart while the disk is still full: opening works, and holds what was acknowledged.
    // fjall truncated the failed (torn) batch at open, which frees a little space: commands
    // are taken until it is used up, then refused with the same typed error.
    let engine = Engine::open(&store, EngineConfig::default(), projections()).unwrap();
    assert_eq!(engine.log().head().seq, head_at_failure);
    let mut still_full = None;
    for i in 0..10_000 {
        let key = format!("still-full-{i}");
        match engine.submit_blocking(sub(&key, receipt())) {
            Ok(accepted) => acknowledged.push((key, accepted.events[0].seq)),
            Err(err) => {
                still_full = Some((key, err));
                break;
            }
        }
    }
    let (still_full_key, err) = still_full.expect("the disk is still full");
    eprintln!(
        "restart on the full disk: {} more commands taken, then: {err}",
        acknowledged.len() - acknowledged_at_failure
    );
    assert_eq!(err.code(), "STORAGE_FAILED", "{err}");
    let head_at_failure = engine.log().head().seq;
    engine.close();
    drop(engine);

    // Space returns; restart.
    disk.resize("64m");
    let engine = Engine::open(&store, EngineConfig::default(), projections()).unwrap();
    let head = engine.log().head().seq;
    assert_eq!(head, head_at_failure, "exactly what was acknowledged is durable");
    for (key, seq) in &acknowledged {
        let stored = engine.log().get_by_event_id(event_id(key, 0)).unwrap();
        assert_eq!(stored.map(|e| e.seq()), Some(*seq), "{key}");
    }
    for key in failures.iter().map(|(k, _)| k.as_str()).chain([still_full_key.as_str()]) {
        assert!(engine.log().get_by_event_id(event_id(key, 0)).unwrap().is_none(), "{key}");
    }
    let report = engine.log().verify(VerifyOptions::full()).unwrap();
    assert_eq!(report.last_seq, head);
    let again = engine.submit_blocking(sub("after-space-returns", receipt())).unwrap();
    assert_eq!(again.events[0].seq, head + 1);
    engine.close();
    drop(engine);
    let _ = std::panic::take_hook();
    let panics = PANICS.lock().unwrap().clone();
    assert!(panics.is_empty(), "threads panicked: {panics:?}");
}
