//! Test-only storage faults (feature `fault-injection`): make the writer's commits fail as a
//! full disk would, then recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A switch shared by a test and the log it opened (through [`crate::Config::faults`]).
/// While it is on, every commit of the writer fails with `ENOSPC` before anything is written.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector {
    fail_commits: Arc<AtomicBool>,
}

impl FaultInjector {
    /// Turns the injected commit failure on or off.
    pub fn fail_commits(&self, on: bool) {
        self.fail_commits.store(on, Ordering::SeqCst);
    }

    /// The error the next commit fails with, if the fault is on.
    pub(crate) fn commit_error(&self) -> Option<fjall::Error> {
        self.fail_commits.load(Ordering::SeqCst).then(|| {
            // ENOSPC, as `write(2)` reports a full disk.
            fjall::Error::Io(std::io::Error::from_raw_os_error(28))
        })
    }
}
