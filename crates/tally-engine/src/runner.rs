//! The projection runner: applies new durable events to the views after each append.

use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use tally_log::Log;
use tally_projections::ViewStore;

/// Starts the runner. It catches up once, then again after every notification, and a last
/// time when the writer goes away (the sender is dropped).
pub(crate) fn spawn(
    log: Log,
    views: ViewStore,
    wake: Receiver<()>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("tally-views".to_owned()).spawn(move || {
        loop {
            match views.catch_up(&log, None) {
                // A storage failure of the views stopped the store (logged once, when it
                // stopped): the checkpoints did not move, and a restart resumes from them.
                Ok(_) | Err(tally_projections::Error::Stopped(_)) => {}
                // Reading the log failed: nothing was applied, the next wake-up retries.
                Err(err) => tracing::error!(error = %err, "projection catch-up failed"),
            }
            if wake.recv().is_err() {
                if let Err(err) = views.catch_up(&log, None)
                    && !matches!(err, tally_projections::Error::Stopped(_))
                {
                    tracing::error!(error = %err, "final projection catch-up failed");
                }
                return;
            }
        }
    })
}
