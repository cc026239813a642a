//! `tally verify` and `tally verify-bundle`.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use std::path::Path;
use tally_log::tally_proof::bundle::dir::{DirError, KEY_FILE, parse_key_file, verify_dir};
use tally_log::tally_proof::bundle::{BundleError, UnsignedTail};
use tally_log::tally_proof::checkpoint::SignedCheckpoint;
use tally_log::{Error, Log, VerifyOptions};
use tally_projections::ViewStore;

fn read_checkpoint(path: &Path) -> anyhow::Result<SignedCheckpoint> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading checkpoint '{}'", path.display()))?;
    SignedCheckpoint::parse(&text).with_context(|| format!("checkpoint '{}'", path.display()))
}

/// Verifies the store: chain, tree, indexes; and optionally that it still holds what a saved
/// checkpoint attests.
pub fn run(data: &Path, against: Option<&Path>) -> anyhow::Result<Outcome> {
    let dir = DataDir::open(data)?;
    let key = dir.key()?;
    let against = match against {
        None => None,
        Some(path) => {
            let signed = read_checkpoint(path)?;
            match signed.verify(key.public_key().verifying_key()) {
                Ok(checkpoint) => Some(checkpoint),
                Err(e) => {
                    println!(
                        "FAILED: checkpoint '{}' is not signed by this ledger: {e}",
                        path.display()
                    );
                    return Ok(Outcome::Problem);
                }
            }
        }
    };
    let log = match Log::open(dir.root.join("log"), dir.log_config()?) {
        Ok(log) => log,
        Err(err) if err.is_corruption() => {
            println!("FAILED: the store does not open: {err}");
            return Ok(Outcome::Problem);
        }
        Err(err) if err.damage().is_some() => {
            println!(
                "FAILED: the store does not open: the files of the log in '{}' are damaged: {} \
                 ({err})",
                dir.root.join("log").display(),
                err.damage().unwrap_or_default()
            );
            return Ok(Outcome::Problem);
        }
        Err(err) => return Err(err).context("opening the log"),
    };
    let head = log.head().seq;
    let options = VerifyOptions { against: against.clone(), ..VerifyOptions::full() };
    let outcome = match log.verify(options) {
        Ok(report) => {
            println!(
                "ok: {} events verified (chain, merkle tree, indexes); head {} hash {}",
                report.frames_checked, report.last_seq, report.head_hash
            );
            if let Some(root) = report.root {
                println!("merkle root {root}");
            }
            if let Some(cp) = against {
                println!("the log contains what checkpoint of size {} attests", cp.size);
            }
            Outcome::Ok
        }
        Err(Error::Corrupt(corruption)) => {
            println!("FAILED: {corruption}");
            if matches!(corruption, tally_log::Corruption::HighWaterMark(_)) {
                println!(
                    "the store refuses writes until an operator acts: see 'The store refuses \
                     writes' in docs/operations.md"
                );
            }
            Outcome::Problem
        }
        Err(err) if err.damage().is_some() => {
            println!(
                "FAILED: reading the log: its files in '{}' are damaged: {} ({err})",
                dir.root.join("log").display(),
                err.damage().unwrap_or_default()
            );
            Outcome::Problem
        }
        Err(err) => {
            log.close();
            return Err(err).context("verifying");
        }
    };
    log.close();
    if outcome == Outcome::Problem {
        return Ok(outcome);
    }
    Ok(verify_views(&dir.root.join("views"), head))
}

/// `tally verify` against a running server: a `VERIFY` operation (chain, tree, indexes, then
/// every view's entries), `--against` sent as the checkpoint's text for the server to check.
pub fn online(remote: &crate::remote::Remote, against: Option<&Path>) -> anyhow::Result<Outcome> {
    let text = match against {
        None => None,
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading checkpoint '{}'", path.display()))?,
        ),
    };
    let op = remote.run_operation("VERIFY", text.as_deref(), None)?;
    Ok(crate::remote::print_report(&op))
}

/// Reads every entry of every view (fjall checks each block's checksum on the way). Views are
/// derived from the log, so damage there is repaired by rebuilding them, not by a backup.
fn verify_views(path: &Path, head: u64) -> Outcome {
    if !path.exists() {
        return Outcome::Ok;
    }
    let failed = |e: &dyn std::fmt::Display| {
        println!(
            "FAILED: views: {e}; the views are derived from the log: stop the server, delete \
             '{}' and start it again to rebuild them",
            path.display()
        );
        Outcome::Problem
    };
    let describe = |e: &tally_projections::Error| match e {
        tally_projections::Error::Storage(inner) => tally_log::storage_damage(inner)
            .map_or_else(|| e.to_string(), |what| format!("{what} ({e})")),
        _ => e.to_string(),
    };
    let views = match ViewStore::open(path, tally_projections::all()) {
        Ok(views) => views,
        Err(e) => return failed(&describe(&e)),
    };
    // A view that applied more than the log holds saw events the log has lost.
    for name in views.names() {
        match views.applied(name) {
            Ok(applied) if applied > head => {
                println!(
                    "FAILED: view '{name}' has applied events up to seq {applied}, beyond the \
                     log's head at seq {head}: the log lost acknowledged events"
                );
                return Outcome::Problem;
            }
            Ok(_) => {}
            Err(e) => return failed(&format_args!("view '{name}': {}", describe(&e))),
        }
    }
    let mut entries = 0usize;
    for name in views.names() {
        match views.dump(name) {
            Ok(rows) => entries += rows.len(),
            Err(e) => return failed(&format_args!("view '{name}': {}", describe(&e))),
        }
    }
    println!("views: {entries} entries of {} views read", views.names().len());
    Outcome::Ok
}

/// Verifies an audit bundle with nothing but its files, anchored by a key or a checkpoint the
/// auditor holds. The bundle's own `key.pub` is not an anchor: anyone can write a bundle with a
/// key of their own, so without `--key` or `--trusted` this is an error, not a pass.
pub fn bundle(
    dir: &Path,
    trusted: Option<&Path>,
    key: Option<&Path>,
    allow_unsigned_tail: bool,
) -> anyhow::Result<Outcome> {
    if key.is_none() && trusted.is_none() {
        anyhow::bail!(
            "give --key <the ledger's public key file> (or --trusted <a checkpoint saved \
             earlier>): the bundle's own key.pub shows only that the bundle agrees with itself, \
             not who signed it"
        );
    }
    let key = match key {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading key '{}'", path.display()))?;
            Some(parse_key_file(&text).with_context(|| format!("key '{}'", path.display()))?)
        }
    };
    let trusted = match trusted {
        None => None,
        Some(path) => Some(read_checkpoint(path)?),
    };
    // A saved checkpoint is trusted only once its signature checks out with the given key (or,
    // without one, the bundle's, which the saved checkpoint then anchors); verify_dir proves
    // the log extends it.
    let trusted_checkpoint = match (&trusted, &key) {
        (Some(signed), Some(key)) => match signed.verify_with(key) {
            Ok(cp) => Some(cp),
            Err(e) => {
                println!("FAILED: trusted checkpoint: {e}");
                return Ok(Outcome::Problem);
            }
        },
        (Some(signed), None) => {
            let path = dir.join(KEY_FILE);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading '{}'", path.display()))?;
            let bundle_key = match parse_key_file(&text) {
                Ok(key) => key,
                Err(e) => {
                    println!("FAILED: the bundle's key.pub: {e}");
                    return Ok(Outcome::Problem);
                }
            };
            match signed.verify_with(&bundle_key) {
                Ok(cp) => Some(cp),
                Err(e) => {
                    println!("FAILED: trusted checkpoint: {e}");
                    return Ok(Outcome::Problem);
                }
            }
        }
        (None, _) => None,
    };
    let tail = if allow_unsigned_tail { UnsignedTail::Allow } else { UnsignedTail::Refuse };
    match verify_dir(dir, key.as_ref(), trusted_checkpoint.as_ref(), tail) {
        Ok(report) => {
            println!(
                "ok: {} events, {} checkpoints verified; root {}",
                report.event_count, report.checkpoints_verified, report.root
            );
            if let Some(cp) = report.latest_checkpoint {
                println!("latest checkpoint: size {} at {}", cp.size, cp.time);
            }
            if report.unsigned_event_count > 0 {
                println!(
                    "warning: {} events (seq {} to {}) are unsigned: beyond the newest signed \
                     checkpoint, checked for chain consistency only (--allow-unsigned-tail)",
                    report.unsigned_event_count,
                    report.signed_event_count + 1,
                    report.event_count
                );
            }
            if report.trusted_proof.is_some() {
                println!(
                    "the bundle's log extends the trusted checkpoint (consistency proof verified)"
                );
            }
            Ok(Outcome::Ok)
        }
        Err(err @ (DirError::Io { .. } | DirError::TooLarge { .. })) => {
            Err(anyhow::Error::from(err)).context("reading the bundle")
        }
        Err(err) => {
            let unsigned = matches!(err, DirError::Verify(BundleError::UnsignedTail { .. }));
            println!("FAILED: {:#}", anyhow::Error::from(err));
            if unsigned {
                println!(
                    "(--allow-unsigned-tail verifies the signed prefix and reports the rest as \
                     unsigned)"
                );
            }
            Ok(Outcome::Problem)
        }
    }
}
