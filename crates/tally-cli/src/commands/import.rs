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
use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use tally_domain::Command;
use tally_domain::time::Timestamp;
use tally_engine::Submission;

/// Commands submitted together (each still gets its own answer).
const CHUNK_LINES: usize = 1000;
/// Longest accepted line.
const LINE_BYTES_MAX: usize = 1 << 20;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    key: Option<String>,
    command: Command,
    source: Option<String>,
    actor: Option<String>,
    occurred_at: Option<Timestamp>,
}

fn parse(line: &str) -> Result<Submission, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let derived = || format!("import-{}", &blake3::hash(line.trim().as_bytes()).to_hex()[..32]);
    if value.get("command").is_some() {
        let envelope: Envelope = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let mut submission =
            Submission::new(envelope.key.unwrap_or_else(derived), envelope.command);
        submission.source = envelope.source.unwrap_or_else(|| "import".to_owned());
        if let Some(actor) = envelope.actor {
            submission.actor = actor;
        }
        submission.occurred_at_ms = envelope.occurred_at.map(Timestamp::millis);
        Ok(submission)
    } else {
        let command: Command = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let mut submission = Submission::new(derived(), command);
        submission.source = "import".to_owned();
        Ok(submission)
    }
}

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
    let reader = BufReader::new(input);
    for (index, line) in reader.lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.with_context(|| format!("reading line {number}"))?;
        progress.set_position(number);
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > LINE_BYTES_MAX {
            tally.rejected += 1;
            eprintln!(
                "line {number}: INVALID_INPUT: line of {} bytes is over {LINE_BYTES_MAX}",
                line.len()
            );
            continue;
        }
        match parse(&line) {
            Ok(submission) => chunk.push((number, submission)),
            Err(reason) => {
                tally.rejected += 1;
                progress.suspend(|| eprintln!("line {number}: INVALID_INPUT: {reason}"));
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
