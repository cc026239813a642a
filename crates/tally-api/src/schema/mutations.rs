//! Mutations: a generic `submit` of any domain command as JSON, bulk `submitMany`,
//! `cutCheckpoint`, and the submission path the typed mutations (`typed.rs`) share.

use super::inputs::{CommandInput, EnvelopeInput};
use super::proofs::Checkpoint;
use crate::auth::{Auth, Caller, FieldGuard};
use crate::error::{ApiError, ApiResult, log_error};
use crate::state::AppState;
use crate::telemetry;
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Instant;
use tally_domain::Command;
use tally_engine::{Accepted, Submission, SubmitError};

/// One event a command appended.
#[derive(Debug, Clone, SimpleObject)]
pub struct AppendedEvent {
    /// Its seq.
    pub seq: u64,
    /// Its stream.
    pub stream: String,
    /// Its type name.
    #[graphql(name = "type")]
    pub event_type: String,
}

/// What an accepted command did.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmitResult {
    /// The command's content id (the causation id of its events), hex.
    pub command_id: String,
    /// Its events, in order (empty for an accepted no-op).
    pub events: Vec<AppendedEvent>,
    /// Seq of the first event (0 when none).
    pub first_seq: u64,
    /// Seq of the last event (0 when none). Durable when this answer is sent.
    pub last_seq: u64,
    /// True when this is the first result of an earlier submission with the same key.
    pub deduplicated: bool,
    /// With `waitForViews`: the seq every view had applied when the answer was sent.
    pub views_seq: Option<u64>,
    /// With `waitForViews`: whether the views reached `lastSeq` within the wait.
    pub views_caught_up: Option<bool>,
}

impl From<Accepted> for SubmitResult {
    fn from(a: Accepted) -> Self {
        Self {
            command_id: a.command_id.to_string(),
            first_seq: a.first_seq(),
            last_seq: a.last_seq(),
            deduplicated: a.deduplicated,
            events: a
                .events
                .into_iter()
                .map(|e| AppendedEvent { seq: e.seq, stream: e.stream, event_type: e.event_type })
                .collect(),
            views_seq: None,
            views_caught_up: None,
        }
    }
}

/// An error of one item of `submitMany`.
#[derive(Debug, Clone, SimpleObject)]
pub struct ItemError {
    /// The stable code (as in the `code` extension of GraphQL errors).
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// The answer for one item of `submitMany`: exactly one of `result` and `error` is set.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmitManyItem {
    /// Index in the input list.
    pub index: u32,
    /// Set when accepted.
    pub result: Option<SubmitResult>,
    /// Set when not; nothing was appended for this item.
    pub error: Option<ItemError>,
}

struct Envelope {
    idempotency_key: String,
    source: Option<String>,
    occurred_at: Option<DateTime<Utc>>,
}

impl From<EnvelopeInput> for Envelope {
    fn from(e: EnvelopeInput) -> Self {
        Self { idempotency_key: e.idempotency_key, source: e.source, occurred_at: e.occurred_at }
    }
}

fn submission(caller: &Caller, envelope: Envelope, command: Command) -> Submission {
    let mut s = Submission::new(envelope.idempotency_key, command);
    s.actor.clone_from(&caller.name);
    if let Some(source) = envelope.source {
        s.source = source;
    }
    s.occurred_at_ms = envelope.occurred_at.map(|t| t.timestamp_millis());
    s
}

/// Parses domain command JSON.
fn parse_command(value: serde_json::Value) -> ApiResult<Command> {
    serde_json::from_value(value).map_err(|e| ApiError::invalid(format!("invalid command: {e}")))
}

/// A typed input as the domain command tagged `tag`.
fn typed_command<T: Serialize>(tag: &str, input: &T) -> ApiResult<Command> {
    let mut value = serde_json::to_value(input).map_err(|e| ApiError::internal("input", &e))?;
    match &mut value {
        serde_json::Value::Object(map) => {
            map.insert("type".to_owned(), serde_json::Value::String(tag.to_owned()));
        }
        _ => return Err(ApiError::internal("input", &"a typed input is not an object")),
    }
    serde_json::from_value(value).map_err(|e| ApiError::invalid(format!("invalid {tag}: {e}")))
}

fn caller<'c>(ctx: &'c Context<'_>, field: &str) -> ApiResult<&'c Caller> {
    ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous).check(field)
}

fn record_rejection(state: &AppState, e: &SubmitError, source: &str) {
    state.record_rejection(e.code(), source);
}

fn record_accepted(a: &Accepted) {
    #[expect(clippy::cast_precision_loss, reason = "a small count")]
    metrics::histogram!(telemetry::COMMAND_EVENTS).record(a.events.len() as f64);
}

async fn await_views(state: &AppState, result: &mut SubmitResult) {
    let engine = state.engine();
    if engine.views().names().is_empty() {
        // No projection: there is nothing to wait for.
        result.views_seq = Some(result.last_seq);
        result.views_caught_up = Some(true);
        return;
    }
    let reached =
        engine.wait_for_views(result.last_seq, state.config().wait_for_views_timeout()).await;
    result.views_caught_up = Some(reached.is_ok());
    result.views_seq = Some(match reached {
        Ok(seq) => seq,
        Err(_) => engine.views().low_water(),
    });
}

/// Submits one command and answers once it is durable (and the views reflect it, if asked).
async fn submit_one(
    state: &AppState,
    submission: Submission,
    wait: Option<bool>,
) -> ApiResult<SubmitResult> {
    let source = submission.source.clone();
    let in_flight = metrics::gauge!(telemetry::QUEUE_DEPTH);
    in_flight.increment(1.0);
    let started = Instant::now();
    let outcome = state.engine().submit(submission).await;
    metrics::histogram!(telemetry::APPEND_LATENCY).record(started.elapsed().as_secs_f64());
    in_flight.decrement(1.0);
    match outcome {
        Ok(accepted) => {
            record_accepted(&accepted);
            let mut result = SubmitResult::from(accepted);
            if wait == Some(true) {
                await_views(state, &mut result).await;
            }
            Ok(result)
        }
        Err(e) => {
            record_rejection(state, &e, &source);
            Err(e.into())
        }
    }
}

/// Submits a typed input as the domain command tagged `tag`.
pub(super) async fn submit_typed<T: Serialize>(
    ctx: &Context<'_>,
    field: &str,
    tag: &str,
    envelope: EnvelopeInput,
    input: &T,
    wait: Option<bool>,
) -> async_graphql::Result<SubmitResult> {
    let state = ctx.data_unchecked::<AppState>();
    let caller = caller(ctx, field)?;
    let command = typed_command(tag, input)?;
    Ok(submit_one(state, submission(caller, envelope.into(), command), wait).await?)
}

/// The generic mutations: any command as JSON, bulk, and checkpoints.
#[derive(Debug, Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Submits any domain command given as JSON. A command that does not parse is
    /// `INVALID_INPUT`; a refused one carries the domain's rejection code.
    #[graphql(guard = "FieldGuard(\"Mutation.submit\")")]
    async fn submit(
        &self,
        ctx: &Context<'_>,
        input: CommandInput,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<SubmitResult> {
        let state = ctx.data_unchecked::<AppState>();
        let caller = caller(ctx, "Mutation.submit")?;
        let command = parse_command(input.command.0)?;
        let envelope = Envelope {
            idempotency_key: input.idempotency_key,
            source: input.source,
            occurred_at: input.occurred_at,
        };
        Ok(submit_one(state, submission(caller, envelope, command), wait_for_views).await?)
    }

    /// Submits many commands, decided in list order (possibly interleaved with other callers'
    /// commands). Each item is answered on its own; a bad item does not stop the others.
    /// At most `submit_many_commands_max` items.
    #[graphql(guard = "FieldGuard(\"Mutation.submitMany\")")]
    async fn submit_many(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<CommandInput>,
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<Vec<SubmitManyItem>> {
        let state = ctx.data_unchecked::<AppState>();
        let caller = caller(ctx, "Mutation.submitMany")?;
        let max = state.config().submit_many_commands_max;
        if inputs.len() > max {
            return Err(ApiError::invalid(format!(
                "submitMany got {} commands, over the limit of {max}",
                inputs.len()
            ))
            .into());
        }
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        metrics::histogram!(telemetry::BATCH_COMMANDS).record(inputs.len() as f64);
        let mut items: Vec<SubmitManyItem> = Vec::with_capacity(inputs.len());
        let mut submissions = Vec::with_capacity(inputs.len());
        let mut submitted_at = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match parse_command(input.command.0) {
                Ok(command) => {
                    let envelope = Envelope {
                        idempotency_key: input.idempotency_key,
                        source: input.source,
                        occurred_at: input.occurred_at,
                    };
                    submitted_at.push(items.len());
                    submissions.push(submission(caller, envelope, command));
                    items.push(SubmitManyItem { index, result: None, error: None });
                }
                Err(e) => items.push(SubmitManyItem {
                    index,
                    result: None,
                    error: Some(ItemError { code: e.code.to_owned(), message: e.message }),
                }),
            }
        }
        let sources: Vec<String> = submissions.iter().map(|s| s.source.clone()).collect();
        let in_flight = metrics::gauge!(telemetry::QUEUE_DEPTH);
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        let count = submissions.len() as f64;
        in_flight.increment(count);
        let started = Instant::now();
        let answers = state.engine().submit_many(submissions).await;
        metrics::histogram!(telemetry::APPEND_LATENCY).record(started.elapsed().as_secs_f64());
        in_flight.decrement(count);
        let mut last_seq = 0;
        for ((slot, answer), source) in submitted_at.into_iter().zip(answers).zip(&sources) {
            let Some(item) = items.get_mut(slot) else { continue };
            match answer {
                Ok(accepted) => {
                    record_accepted(&accepted);
                    last_seq = last_seq.max(accepted.last_seq());
                    item.result = Some(accepted.into());
                }
                Err(e) => {
                    record_rejection(state, &e, source);
                    let e = ApiError::from(e);
                    item.error = Some(ItemError { code: e.code.to_owned(), message: e.message });
                }
            }
        }
        if wait_for_views == Some(true) {
            let mut probe = SubmitResult {
                command_id: String::new(),
                events: Vec::new(),
                first_seq: 0,
                last_seq,
                deduplicated: false,
                views_seq: None,
                views_caught_up: None,
            };
            await_views(state, &mut probe).await;
            for item in &mut items {
                if let Some(r) = &mut item.result {
                    r.views_seq = probe.views_seq;
                    r.views_caught_up = probe.views_seq.map(|s| s >= r.last_seq);
                }
            }
        }
        Ok(items)
    }

    /// Cuts a signed checkpoint of everything appended so far (or returns the stored one at
    /// the head). Needs a checkpoint policy (a signing key) on the log.
    #[graphql(guard = "FieldGuard(\"Mutation.cutCheckpoint\")")]
    async fn cut_checkpoint(&self, ctx: &Context<'_>) -> async_graphql::Result<Checkpoint> {
        let state = ctx.data_unchecked::<AppState>();
        if state.log().config().checkpoints.is_none() {
            return Err(ApiError::invalid("the log has no signing key: checkpoints are off").into());
        }
        let signed = state.log().checkpoint().await.map_err(|e| log_error("checkpoint", &e))?;
        Ok(Checkpoint::from(&signed))
    }
}
