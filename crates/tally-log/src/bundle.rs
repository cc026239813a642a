//! Audit bundle export: the events exactly as stored, the checkpoints and the public key, in
//! the directory layout `tally_proof::bundle::dir` reads (so `verify_dir` needs nothing else).

use crate::chain::Digest;
use crate::error::{Error, Result};
use crate::log::Log;
use std::io::Write as _;
use std::path::Path;
use tally_proof::bundle::dir::{
    CHECKPOINTS_FILE, EVENTS_FILE, KEY_FILE, event_line, write_checkpoints,
};
use tally_proof::checkpoint::SignedCheckpoint;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSummary {
    /// Events written (seq 1 to this).
    pub event_count: u64,
    /// Checkpoints written.
    pub checkpoint_count: usize,
    /// Chain hash of the last event written.
    pub head_hash: Digest,
}

/// Events written between two progress calls of an export.
const BUNDLE_PROGRESS_EVENTS: u64 = 4096;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

impl Log {
    /// Writes an audit bundle of the events up to `upto` (a checkpoint of this log signed by
    /// its key, e.g. from [`Log::checkpoint`] at the head) into `dir`, which must not exist yet
    /// or be empty. `upto` is the last event written, so a signed checkpoint covers the
    /// bundle's last event and the bundle verifies without an unsigned tail. Needs the
    /// checkpoint policy's key for `key.pub`; refuses an empty log (a bundle of no events
    /// proves nothing and does not verify).
    pub fn export_bundle(&self, dir: &Path, upto: &SignedCheckpoint) -> Result<BundleSummary> {
        self.export_bundle_with_progress(dir, upto, &mut |_, _| {})
    }

    /// [`Log::export_bundle`], calling `progress(written, total)` every
    /// `BUNDLE_PROGRESS_EVENTS` events and at the end. It reads the events up to the
    /// checkpoint's size, which never change: appends go on meanwhile.
    pub fn export_bundle_with_progress(
        &self,
        dir: &Path,
        upto: &SignedCheckpoint,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BundleSummary> {
        let policy = self.config().checkpoints.as_ref().ok_or_else(|| {
            Error::Invalid(
                "no checkpoint key is configured for this log: a bundle needs a signed \
                 checkpoint of its last event"
                    .to_owned(),
            )
        })?;
        let public = policy.key.public_key();
        let checkpoint = upto.verify_with(&public).map_err(|e| {
            Error::Invalid(format!("the bundle's checkpoint is not signed by this log's key: {e}"))
        })?;
        let size = checkpoint.size;
        if size == 0 {
            return Err(Error::Invalid(
                "the log holds no events: a bundle of an empty log proves nothing".to_owned(),
            ));
        }
        if size > self.head().seq {
            return Err(Error::Invalid(format!(
                "checkpoint of size {size} is beyond the head at {}",
                self.head().seq
            )));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
            return Err(Error::Invalid(format!("bundle directory {} is not empty", dir.display())));
        }
        let events_path = dir.join(EVENTS_FILE);
        let file = std::fs::File::create(&events_path).map_err(io(&events_path))?;
        let mut out = std::io::BufWriter::new(file);
        let mut head_hash = crate::GENESIS;
        let mut event_count = 0;
        for event in self.read(1..=size) {
            let event = event?;
            head_hash = event.hash();
            event_count += 1;
            if event_count % BUNDLE_PROGRESS_EVENTS == 0 {
                progress(event_count, size);
            }
            writeln!(out, "{}", event_line(event.seq(), &head_hash, event.frame_bytes()))
                .map_err(io(&events_path))?;
        }
        progress(event_count, size);
        out.flush().map_err(io(&events_path))?;
        out.get_ref().sync_all().map_err(io(&events_path))?;
        if head_hash != checkpoint.head_hash || event_count != size {
            return Err(Error::Invalid(format!(
                "the checkpoint of size {size} does not match this log's events (head hash {}, \
                 {event_count} events read)",
                head_hash
            )));
        }

        // Stored checkpoints up to `upto`, and `upto` itself (one note per size).
        let mut checkpoints: Vec<SignedCheckpoint> =
            self.checkpoints()?.into_iter().filter(|c| c.unverified().size < size).collect();
        checkpoints.push(upto.clone());
        let checkpoints_path = dir.join(CHECKPOINTS_FILE);
        std::fs::write(&checkpoints_path, write_checkpoints(&checkpoints))
            .map_err(io(&checkpoints_path))?;
        let key_path = dir.join(KEY_FILE);
        std::fs::write(&key_path, format!("{}\n", public.to_vkey())).map_err(io(&key_path))?;
        Ok(BundleSummary { event_count, checkpoint_count: checkpoints.len(), head_hash })
    }
}
