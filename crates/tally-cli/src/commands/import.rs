//! `tally import`: commands from NDJSON, idempotently.
//!
//! Each line is either a bare command (`{"type": "receive_inventory", …}`) or an envelope
//! `{"key": "…", "command": {…}, "source": "…", "actor": "…", "occurred_at": "RFC 3339"}`.
//! A line without a key is keyed by the file's digest and its line number
//! (`import:{digest}:{line}`, see `tally_engine::import`): importing the same file again
//! appends nothing, two identical lines are two commands, and a changed file is a new file.
//! Standard input is first copied to an anonymous temporary file to be digested. Rejected
//! lines are reported (`line N: CODE: message`) and the import goes on; the exit code is 1
//! when any line was rejected.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufReader, Read, Seek as _};
use std::path::Path;
use tally_engine::Submission;
use tally_engine::import::{ImportFile, ImportLines, parse_import_line};

/// Commands submitted together (each still gets its own answer).
const CHUNK_LINES: usize = 1000;

#[derive(Default)]
struct Tally {
    accepted: u64,
    present: u64,
    rejected: u64,
    events: u64,
}

/// A reader that digests what it reads.
struct Digesting<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Copies standard input to an anonymous temporary file (deleted when closed), digesting it.
fn spool_stdin() -> anyhow::Result<(File, blake3::Hash)> {
    let mut spool = tempfile::tempfile().context("creating a temporary file for stdin")?;
    let mut reader = Digesting { inner: std::io::stdin().lock(), hasher: blake3::Hasher::new() };
    std::io::copy(&mut reader, &mut spool).context("reading stdin")?;
    spool.rewind()?;
    Ok((spool, reader.hasher.finalize()))
}

/// Opens `file` (or stdin for `-`) and digests its whole content.
fn open_input(file: &str) -> anyhow::Result<(File, blake3::Hash)> {
    if file == "-" {
        return spool_stdin();
    }
    let mut input = File::open(file).with_context(|| format!("opening '{file}'"))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut input, &mut hasher).with_context(|| format!("reading '{file}'"))?;
    input.rewind()?;
    Ok((input, hasher.finalize()))
}

/// Imports `file` into the store in `data`; with `require_keys`, a line without its own key
/// is a rejected line.
pub fn run(data: &Path, file: &str, require_keys: bool) -> anyhow::Result<Outcome> {
    let (input, digest) = open_input(file)?;
    let import_file = ImportFile::new(digest);
    let mut input = Digesting { inner: input, hasher: blake3::Hasher::new() };
    let dir = DataDir::open(data)?;
    let engine = dir.open_engine()?;
    if let Some(reason) = engine.integrity_problem() {
        engine.close();
        anyhow::bail!("the store refuses writes: {reason} (see docs/operations.md)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} lines {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut tally = Tally::default();
    let mut chunk: Vec<(u64, Submission)> = Vec::with_capacity(CHUNK_LINES);
    let flush = |chunk: &mut Vec<(u64, Submission)>, tally: &mut Tally| {
        let (numbers, submissions): (Vec<u64>, Vec<Submission>) = chunk.drain(..).unzip();
        let results = runtime.block_on(engine.submit_many(submissions));
        for (number, result) in numbers.into_iter().zip(results) {
            match result {
                Ok(accepted) if accepted.deduplicated => tally.present += 1,
                Ok(accepted) => {
                    tally.accepted += 1;
                    tally.events += accepted.events.len() as u64;
                }
                Err(err) => {
                    tally.rejected += 1;
                    progress.suspend(|| eprintln!("line {number}: {}: {err}", err.code()));
                }
            }
        }
    };
    for line in ImportLines::new(BufReader::new(&mut input)) {
        let (number, line) = line.context("reading the input")?;
        progress.set_position(number);
        let parsed = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_import_line(&line, &import_file, number),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(submission)
                if require_keys && submission.idempotency_key == import_file.line_key(number) =>
            {
                tally.rejected += 1;
                progress.suspend(|| {
                    eprintln!(
                        "line {number}: INVALID_INPUT: the line has no \"key\" (--require-keys)"
                    );
                });
            }
            Ok(submission) => chunk.push((number, submission)),
            Err(e) => {
                tally.rejected += 1;
                progress.suspend(|| eprintln!("line {number}: {}: {e}", e.code()));
            }
        }
        if chunk.len() == CHUNK_LINES {
            flush(&mut chunk, &mut tally);
        }
    }
    flush(&mut chunk, &mut tally);
    progress.finish_and_clear();
    // Lines were keyed by the digest taken before the import: the file must not have changed.
    let changed = input.hasher.finalize() != digest;
    let head = engine.log().head().seq;
    engine.close();
    println!(
        "imported: {} accepted ({} events), {} already present, {} rejected; head seq {head}",
        tally.accepted, tally.events, tally.present, tally.rejected
    );
    if changed {
        anyhow::bail!(
            "'{file}' changed while it was imported: its key-less lines were keyed by the content it had at the start; import it again once it no longer changes"
        );
    }
    Ok(if tally.rejected > 0 { Outcome::Problem } else { Outcome::Ok })
}
