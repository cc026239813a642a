//! `tally import`: commands from NDJSON, or a format merchants have (`--format`), idempotently.
//!
//! **Formats** (`--format shopify-orders | amazon-settlement-v2 | stock-snapshot-csv`): the
//! whole file (at most [`FORMAT_FILE_BYTES_MAX`]) is translated by `tally_intake`; a file that
//! is not the format, or fails a file-level check (a settlement total that is not Σ amounts),
//! is refused whole (exit 2, nothing imported). Otherwise its records are submitted through
//! `tally_engine::intake::submit_records` (the same path as the GraphQL `importRecords`
//! mutation) and the summary is printed: exit 0 when every record was accepted or already
//! present, 1 when any was rejected (each is listed with its source id, code and message).
//!
//! **NDJSON** (the default):
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
    lines: u64,
    accepted: u64,
    present: u64,
    rejected: u64,
    rejected_by_code: std::collections::BTreeMap<String, u64>,
    events: u64,
}

impl Tally {
    fn reject(&mut self, code: &str) {
        self.rejected += 1;
        *self.rejected_by_code.entry(code.to_owned()).or_default() += 1;
    }
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
pub fn run(data: &Path, file: &str, require_keys: bool, json: bool) -> anyhow::Result<Outcome> {
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
                    tally.reject(err.code());
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
            Ok(line) => {
                tally.lines += 1;
                parse_import_line(&line, &import_file, number)
            }
            Err(e) => {
                tally.lines += 1;
                Err(e)
            }
        };
        match parsed {
            Ok(submission)
                if require_keys && submission.idempotency_key == import_file.line_key(number) =>
            {
                tally.reject("INVALID_INPUT");
                progress.suspend(|| {
                    eprintln!(
                        "line {number}: INVALID_INPUT: the line has no \"key\" (--require-keys)"
                    );
                });
            }
            Ok(submission) => chunk.push((number, submission)),
            Err(e) => {
                tally.reject(e.code());
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
    if json {
        let summary = serde_json::json!({
            "format": "ndjson",
            "records": tally.lines,
            "accepted": tally.accepted,
            "duplicates": tally.present,
            "rejected": tally.rejected,
            "rejected_by_code": tally.rejected_by_code,
            "events": tally.events,
            "head_seq": head,
        });
        println!("{summary}");
    } else {
        println!(
            "imported: {} accepted ({} events), {} already present, {} rejected; head seq {head}",
            tally.accepted, tally.events, tally.present, tally.rejected
        );
    }
    if changed {
        anyhow::bail!(
            "'{file}' changed while it was imported: its key-less lines were keyed by the content it had at the start; import it again once it no longer changes"
        );
    }
    Ok(if tally.rejected > 0 { Outcome::Problem } else { Outcome::Ok })
}

/// Largest file `--format` reads (it is translated whole): 256 MiB.
pub const FORMAT_FILE_BYTES_MAX: u64 = 256 << 20;

/// `tally import --format <fmt>`'s options.
#[derive(Debug)]
pub struct FormatArgs {
    /// The format's name.
    pub format: String,
    /// `--channel`.
    pub channel: Option<String>,
    /// `--location`.
    pub location: Option<String>,
    /// `--json`.
    pub json: bool,
}

/// Reads `file` (or stdin) whole, refusing more than [`FORMAT_FILE_BYTES_MAX`].
fn read_whole(file: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().lock().take(FORMAT_FILE_BYTES_MAX + 1).read_to_end(&mut bytes)
    } else {
        File::open(file)
            .with_context(|| format!("opening '{file}'"))?
            .take(FORMAT_FILE_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
    };
    read.with_context(|| format!("reading '{file}'"))?;
    if bytes.len() as u64 > FORMAT_FILE_BYTES_MAX {
        anyhow::bail!("'{file}' is larger than {FORMAT_FILE_BYTES_MAX} bytes; split it");
    }
    Ok(bytes)
}

/// Imports `file` in `args.format` into the store in `data`.
pub fn run_format(data: &Path, file: &str, args: &FormatArgs) -> anyhow::Result<Outcome> {
    let names: Vec<&str> = tally_intake::Format::ALL.iter().map(|(n, _)| *n).collect();
    let format = tally_intake::Format::parse(&args.format).with_context(|| {
        format!("unknown --format '{}': give ndjson, {}", args.format, names.join(", "))
    })?;
    let options = tally_intake::Options {
        channel: args
            .channel
            .as_deref()
            .map(tally_domain::ids::ChannelId::parse)
            .transpose()
            .context("--channel")?,
        location: args
            .location
            .as_deref()
            .map(tally_domain::ids::LocationId::parse)
            .transpose()
            .context("--location")?,
    };
    let bytes = read_whole(file)?;
    let records = tally_intake::translate(format, &bytes, &options).with_context(|| {
        format!("'{file}' is not a valid {} file; nothing was imported", format.name())
    })?;
    let dir = DataDir::open(data)?;
    let engine = dir.open_engine()?;
    if let Some(reason) = engine.integrity_problem() {
        engine.close();
        anyhow::bail!("the store refuses writes: {reason} (see docs/operations.md)");
    }
    let progress = ProgressBar::new(records.len() as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ctx = tally_engine::intake::IntakeContext {
        actor: "cli:import".to_owned(),
        source: format!("import/{}", format.name()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let bar = progress.clone();
    let summary = runtime.block_on(tally_engine::intake::submit_records(
        &engine,
        records,
        &ctx,
        &mut move |n| bar.set_position(n),
    ));
    progress.finish_and_clear();
    let head = engine.log().head().seq;
    engine.close();
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("format".to_owned(), format.name().into());
            object.insert("head_seq".to_owned(), head.into());
        }
        println!("{value}");
    } else {
        for r in &summary.refusals {
            eprintln!("record {} ({}): {}: {}", r.index + 1, r.source_id, r.code, r.message);
        }
        if summary.refusals_truncated {
            eprintln!("… more rejected records than listed (see the counts)");
        }
        let by_code: Vec<String> =
            summary.rejected_by_code.iter().map(|(code, n)| format!("{code} {n}")).collect();
        println!(
            "imported {} '{file}': {} records: {} accepted, {} duplicates, {} rejected{}; {} events appended; head seq {head}",
            format.name(),
            summary.records,
            summary.accepted,
            summary.duplicates,
            summary.rejected,
            if by_code.is_empty() { String::new() } else { format!(" ({})", by_code.join(", ")) },
            summary.events,
        );
    }
    Ok(if summary.rejected > 0 { Outcome::Problem } else { Outcome::Ok })
}
