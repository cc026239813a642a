//! Submitting what an importer translated (`tally_intake::Record`s) and counting what
//! happened: the one place `tally import --format`, the GraphQL `importRecords` mutation and
//! the webhook endpoints share.
//!
//! Records are submitted in source order, each record's intents in their order; a rejected
//! intent stops its record (the record counts as rejected with that code; intents before it
//! stay accepted, and a re-import finds them by their keys). Consecutive records of a single
//! intent are submitted together (`Engine::submit_many`, decided in the same order), so a
//! large file is not one group commit per line; a record of several intents is submitted one
//! intent at a time, so nothing of it is decided after its own rejection.
//!
//! A record the importer refused (no intents) is counted here as rejected with its refusal's
//! code, and in the durable submission counters under the caller's source and command type
//! `record` ([`Engine::count_refused_record`]); a rejected intent is counted there by the
//! writer like every submission, under the intent's own source and command type.

use std::collections::BTreeMap;

use serde::Serialize;
use tally_intake::{Intent, Record};

use crate::engine::Engine;
use crate::submission::{Accepted, Submission};

/// Most records submitted together.
const BATCH_RECORDS: usize = 1000;

/// Most per-record refusals kept in a summary (the counts are always complete).
pub const REFUSALS_KEPT_MAX: usize = 1000;

/// One record that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRefusal {
    /// The record's place in the input (0-based).
    pub index: u64,
    /// The source's id of the record.
    pub source_id: String,
    /// Stable code (a rejection code, `IDEMPOTENCY_CONFLICT`, or an importer code such as
    /// `INVALID_INPUT`, `DUPLICATE_ROW`).
    pub code: String,
    /// Why, for people.
    pub message: String,
}

/// What an import did. JSON (`tally import --json`, and the GraphQL `ImportSummary`):
/// `{"records", "accepted", "duplicates", "rejected", "rejected_by_code": {CODE: n},
/// "events", "last_seq", "refusals": [{"index", "source_id", "code", "message"}],
/// "refusals_truncated"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records read.
    pub records: u64,
    /// Records that appended events.
    pub accepted: u64,
    /// Records already imported (nothing new appended).
    pub duplicates: u64,
    /// Records refused or rejected.
    pub rejected: u64,
    /// Rejected records per code.
    pub rejected_by_code: BTreeMap<String, u64>,
    /// Events appended.
    pub events: u64,
    /// Seq of the last event appended (0 when none): wait for the views up to it to read
    /// what the import did.
    pub last_seq: u64,
    /// The rejected records, in input order (at most [`REFUSALS_KEPT_MAX`]).
    pub refusals: Vec<RecordRefusal>,
    /// True when more records were rejected than `refusals` lists.
    pub refusals_truncated: bool,
}

impl ImportSummary {
    fn reject(&mut self, index: u64, source_id: &str, code: &str, message: String) {
        self.rejected += 1;
        *self.rejected_by_code.entry(code.to_owned()).or_default() += 1;
        if self.refusals.len() < REFUSALS_KEPT_MAX {
            self.refusals.push(RecordRefusal {
                index,
                source_id: source_id.to_owned(),
                code: code.to_owned(),
                message,
            });
        } else {
            self.refusals_truncated = true;
        }
    }

    /// Adds the events `answers` appended (duplicates append none); returns how many.
    fn appended(&mut self, answers: &[Accepted]) -> u64 {
        let mut appended = 0;
        for a in answers.iter().filter(|a| !a.deduplicated) {
            appended += a.events.len() as u64;
            self.last_seq = self.last_seq.max(a.last_seq());
        }
        self.events += appended;
        appended
    }

    /// Counts a record all of whose commands were accepted.
    fn accepted_record(&mut self, answers: &[Accepted]) {
        if self.appended(answers) > 0 {
            self.accepted += 1;
        } else {
            self.duplicates += 1;
        }
    }
}

/// Who asks, and where refused records are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeContext {
    /// The envelope's actor of every command (`import:cli`, `api:<token name>`, …).
    pub actor: String,
    /// The source refused records are counted under (e.g. `import/amazon-settlement-v2`).
    pub source: String,
}

fn submission(intent: &Intent, ctx: &IntakeContext) -> Submission {
    Submission {
        idempotency_key: intent.idempotency_key.clone(),
        command: intent.command.clone(),
        actor: ctx.actor.clone(),
        source: intent.source.clone(),
        occurred_at_ms: intent.occurred_at_ms,
        correlation_id: None,
    }
}

/// Submits `records` through `engine` in order and counts the outcomes; `progress` is called
/// with the number of records done so far (for a progress bar).
///
/// An engine that stops taking commands (`UNAVAILABLE`, `STORAGE_FAILED`,
/// `INTEGRITY_FAILED`) rejects every record left with that code: the summary says how far
/// the import got, and re-running it later appends only what is missing.
pub async fn submit_records(
    engine: &Engine,
    records: Vec<Record>,
    ctx: &IntakeContext,
    progress: &mut (dyn FnMut(u64) + Send),
) -> ImportSummary {
    let mut summary = ImportSummary { records: records.len() as u64, ..ImportSummary::default() };
    let mut batch: Vec<(u64, String, Submission)> = Vec::new();
    let mut done = 0_u64;
    for (index, record) in (0_u64..).zip(records) {
        match record.outcome {
            Err(refusal) => {
                flush(engine, &mut batch, &mut summary).await;
                engine.count_refused_record(&ctx.source, refusal.code);
                summary.reject(index, &record.source_id, refusal.code, refusal.message);
            }
            Ok(intents) if intents.len() == 1 => {
                batch.push((index, record.source_id, submission(&intents[0], ctx)));
                if batch.len() >= BATCH_RECORDS {
                    flush(engine, &mut batch, &mut summary).await;
                }
            }
            Ok(intents) => {
                flush(engine, &mut batch, &mut summary).await;
                let mut answers = Vec::with_capacity(intents.len());
                let mut failed = None;
                for intent in &intents {
                    match engine.submit(submission(intent, ctx)).await {
                        Ok(a) => answers.push(a),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                match failed {
                    None => summary.accepted_record(&answers),
                    Some(e) => {
                        // What was appended before the rejection is in the log all the same.
                        summary.appended(&answers);
                        summary.reject(index, &record.source_id, e.code(), e.to_string());
                    }
                }
            }
        }
        done += 1;
        if done.is_multiple_of(256) {
            progress(done);
        }
    }
    flush(engine, &mut batch, &mut summary).await;
    progress(done);
    summary
}

async fn flush(
    engine: &Engine,
    batch: &mut Vec<(u64, String, Submission)>,
    summary: &mut ImportSummary,
) {
    if batch.is_empty() {
        return;
    }
    let (meta, submissions): (Vec<(u64, String)>, Vec<Submission>) =
        batch.drain(..).map(|(i, s, sub)| ((i, s), sub)).unzip();
    let answers = engine.submit_many(submissions).await;
    for ((index, source_id), answer) in meta.into_iter().zip(answers) {
        match answer {
            Ok(a) => summary.accepted_record(std::slice::from_ref(&a)),
            Err(e) => summary.reject(index, &source_id, e.code(), e.to_string()),
        }
    }
}
