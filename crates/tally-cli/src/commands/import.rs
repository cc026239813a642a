//! `tally import`: commands from NDJSON, idempotently.
//!
//! Each line is either a bare command (`{"type": "receive_inventory", …}`) or an envelope
//! `{"key": "…", "command": {…}, "source": "…", "actor": "…", "occurred_at": "RFC 3339"}`.
//! A line without a key gets one derived from its content, so importing the same file twice
//! appends nothing the second time. Rejected lines are reported (`line N: CODE: message`) and
//! the import goes on; the exit code is 1 when any line was rejected.

use crate::Outcome;
use crate::store::DataDir;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufReader, Read};
use std::path::Path;
use tally_engine::Submission;
use tally_engine::import::{ImportLines, parse_import_line};

/// Commands submitted together (each still gets its own answer).
const CHUNK_LINES: usize = 1000;

#[derive(Default)]
struct Tally {
    accepted: u64,
    present: u64,
    rejected: u64,
    events: u64,
}

pub fn run(data: &Path, file: &str) -> anyhow::Result<Outcome> {
    let input: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening '{file}'"))?)
    };
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
    for line in ImportLines::new(BufReader::new(input)) {
        let (number, line) = line.context("reading the input")?;
        progress.set_position(number);
        let parsed = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_import_line(&line),
            Err(e) => Err(e),
        };
        match parsed {
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
    let head = engine.log().head().seq;
    engine.close();
    println!(
        "imported: {} accepted ({} events), {} already present, {} rejected; head seq {head}",
        tally.accepted, tally.events, tally.present, tally.rejected
    );
    Ok(if tally.rejected > 0 { Outcome::Problem } else { Outcome::Ok })
}
