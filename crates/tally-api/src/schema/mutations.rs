//! Mutations: the path every command takes (typed mutations in `typed.rs`, `submit`,
//! `submitMany`), the payload they answer with, and `cutCheckpoint`.
//!
//! Errors follow Shopify's convention: a command the domain refuses, an idempotency key
//! reused for another command or a malformed envelope is answered in the payload's
//! `userErrors` (nothing was appended); transport, authentication, limits and a store that
//! cannot take commands are top-level GraphQL errors with a `code` extension.

use super::event_type::EventType;
use super::inputs::{EnvelopeInput, SubmitInput};
use super::proofs::Checkpoint;
use crate::auth::{Auth, Caller, FieldGuard};
use crate::error::{ApiError, ApiResult, code, log_error};
use crate::state::AppState;
use crate::telemetry;
use async_graphql::{Context, ID, Object, SimpleObject};
use std::time::Instant;
use tally_domain::Command;
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Timestamp;
use tally_engine::{Accepted, Submission, SubmitError};

/// One event a command appended.
#[derive(Debug, Clone, SimpleObject)]
pub struct AppendedEvent {
    /// Its seq.
    pub seq: UnsignedInt64,
    /// Its stream.
    pub stream: String,
    /// Its type.
    #[graphql(name = "type")]
    pub event_type: EventType,
}

/// Defines [`UserErrorCode`]: the domain's rejection codes and the API's own.
macro_rules! user_error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident $code:literal;)*) => {
        /// Why a command was refused (`userErrors.code`): a domain rejection, or
        /// `IDEMPOTENCY_CONFLICT`. The same text as a GraphQL error's `code` extension.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
        pub enum UserErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// The idempotency key was used for another command.
            IdempotencyConflict,
        }

        impl UserErrorCode {
            /// The value of a code's text, if it is one.
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($code => Some(Self::$variant),)*
                    "IDEMPOTENCY_CONFLICT" => Some(Self::IdempotencyConflict),
                    _ => None,
                }
            }
        }
    };
}

tally_domain::for_each_rejection_code!(user_error_codes);

/// A problem with a command that the caller can fix: the domain refused it, its idempotency
/// key was used for another command, or its envelope is malformed. Nothing was appended.
#[derive(Debug, Clone, SimpleObject)]
pub struct UserError {
    /// Path to the input field at fault, when one is (`["input", "qty"]`); null otherwise.
    pub field: Option<Vec<String>>,
    /// What went wrong, for people.
    pub message: String,
    /// The stable code: a domain rejection (`INSUFFICIENT_STOCK`, `UNKNOWN_SKU`, …),
    /// `IDEMPOTENCY_CONFLICT` or `INVALID_INPUT`.
    pub code: UserErrorCode,
}

/// What a command did. Accepted: its id, its events and seqs, the objects it changed, and no
/// `userErrors`. Refused: `userErrors` says why, and every other field is null or empty.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CommandPayload {
    /// The command's content id (the causation id of its events), hex; null when refused.
    pub command_id: Option<String>,
    /// Its events, in order (empty for an accepted no-op and when refused).
    pub events: Vec<AppendedEvent>,
    /// Seq of the first event; null when none was appended.
    pub first_seq: Option<UnsignedInt64>,
    /// Seq of the last event; null when none was appended. Durable when this answer is sent.
    pub last_seq: Option<UnsignedInt64>,
    /// True when this is the first answer of an earlier submission with the same key.
    pub deduplicated: bool,
    /// With `waitForViews`: the seq every view had applied when the answer was sent.
    pub views_seq: Option<UnsignedInt64>,
    /// With `waitForViews`: whether the views reached `lastSeq` within the wait.
    pub views_caught_up: Option<bool>,
    /// Why the command was refused; empty when accepted.
    pub user_errors: Vec<UserError>,
}

#[async_graphql::ComplexObject]
impl CommandPayload {
    /// Global ids of the objects the command's events belong to, in the order first touched:
    /// orders, SKUs (also for a change of their stock), locations, lots, returns and
    /// settlements. Fetch any of them with `node(id:)`.
    async fn changed_ids(&self) -> Vec<ID> {
        self.node_ids()
    }

    /// The objects of `changedIds` as the views hold them when this field is read (with
    /// `waitForViews: true`, after this command), leaving out those the caller's role may not
    /// read (a settlement for an operator) and those the views do not hold yet.
    async fn changed(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::node::Node>> {
        let mut out = Vec::new();
        for id in self.node_ids() {
            if let Some(node) = super::node::resolve_readable(ctx, &id).await? {
                out.push(node);
            }
        }
        Ok(out)
    }
}

impl CommandPayload {
    fn accepted(a: Accepted) -> ApiResult<Self> {
        let seq = |s: u64| (s > 0).then_some(UnsignedInt64(s));
        let (first_seq, last_seq) = (seq(a.first_seq()), seq(a.last_seq()));
        let events = a
            .events
            .into_iter()
            .map(|e| {
                let event_type = EventType::parse(&e.event_type).ok_or_else(|| {
                    ApiError::internal("event type", &format!("unlisted type {}", e.event_type))
                })?;
                Ok(AppendedEvent { seq: UnsignedInt64(e.seq), stream: e.stream, event_type })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Self {
            command_id: Some(a.command_id.to_string()),
            first_seq,
            last_seq,
            deduplicated: a.deduplicated,
            events,
            views_seq: None,
            views_caught_up: None,
            user_errors: Vec::new(),
        })
    }

    fn refused(error: UserError) -> Self {
        Self {
            command_id: None,
            events: Vec::new(),
            first_seq: None,
            last_seq: None,
            deduplicated: false,
            views_seq: None,
            views_caught_up: None,
            user_errors: vec![error],
        }
    }

    /// The global ids of the objects the events belong to, first touched first.
    fn node_ids(&self) -> Vec<ID> {
        let mut ids: Vec<ID> = Vec::new();
        for event in &self.events {
            if let Some(id) = super::node::stream_node_id(&event.stream)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }

    fn last(&self) -> u64 {
        self.last_seq.map_or(0, |s| s.0)
    }
}

/// Splits a submission error: the caller's to fix (a `UserError`), or a top-level error.
fn user_error(e: SubmitError) -> Result<UserError, ApiError> {
    let field = match &e {
        SubmitError::Rejected(_) => Some(vec!["input".to_owned()]),
        SubmitError::IdempotencyConflict { .. } => {
            Some(vec!["envelope".to_owned(), "idempotencyKey".to_owned()])
        }
        SubmitError::Invalid(_) => Some(vec!["envelope".to_owned()]),
        _ => return Err(ApiError::from(e)),
    };
    let e = ApiError::from(e);
    let code = UserErrorCode::parse(e.code)
        .ok_or_else(|| ApiError::internal("user error", &format!("unlisted code {}", e.code)))?;
    Ok(UserError { field, message: e.message, code })
}

struct Envelope {
    idempotency_key: String,
    source: Option<String>,
    occurred_at: Option<Timestamp>,
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
    s.occurred_at_ms = envelope.occurred_at.map(Timestamp::millis);
    s
}

/// The caller of the current root field, checked against the roles table.
fn caller<'c>(ctx: &'c Context<'_>) -> ApiResult<&'c Caller> {
    let field = format!("Mutation.{}", ctx.item.node.name.node);
    ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous).check(&field)
}

fn record_rejection(state: &AppState, e: &SubmitError, source: &str) {
    state.record_rejection(e.code(), source);
}

fn record_accepted(a: &Accepted) {
    #[expect(clippy::cast_precision_loss, reason = "a small count")]
    metrics::histogram!(telemetry::COMMAND_EVENTS).record(a.events.len() as f64);
}

/// Waits (bounded) until the views reach `last_seq`; answers (views seq, caught up).
async fn await_views(state: &AppState, last_seq: u64) -> (u64, bool) {
    let engine = state.engine();
    if engine.views().names().is_empty() {
        // No projection: there is nothing to wait for.
        return (last_seq, true);
    }
    match engine.wait_for_views(last_seq, state.config().wait_for_views_timeout()).await {
        Ok(seq) => (seq, true),
        Err(_) => (engine.views().low_water(), false),
    }
}

/// Submits one command and answers once it is durable (and the views reflect it, if asked).
async fn submit_one(
    state: &AppState,
    submission: Submission,
    wait: Option<bool>,
) -> ApiResult<CommandPayload> {
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
            let mut payload = CommandPayload::accepted(accepted)?;
            if wait == Some(true) {
                let (seq, caught_up) = await_views(state, payload.last()).await;
                payload.views_seq = Some(UnsignedInt64(seq));
                payload.views_caught_up = Some(caught_up);
            }
            Ok(payload)
        }
        Err(e) => {
            record_rejection(state, &e, &source);
            user_error(e).map(CommandPayload::refused)
        }
    }
}

/// Submits a typed command (the path of every typed mutation).
pub(super) async fn submit_command(
    ctx: &Context<'_>,
    envelope: EnvelopeInput,
    command: Command,
    wait: Option<bool>,
) -> async_graphql::Result<CommandPayload> {
    let state = ctx.data_unchecked::<AppState>();
    let caller = caller(ctx)?;
    Ok(submit_one(state, submission(caller, envelope.into(), command), wait).await?)
}

/// The command of a `SubmitInput`: exactly one of `command` and `json`; a problem is a
/// `UserError` on the field at fault (`path` locates the input).
fn command_of(input: &mut SubmitInput, path: &[String]) -> Result<(Command, Envelope), UserError> {
    let at = |field: &str| {
        let mut p = path.to_vec();
        p.push(field.to_owned());
        Some(p)
    };
    let command = match (input.command.take(), input.json.take()) {
        (Some(command), None) => command,
        (None, Some(json)) => serde_json::from_value(json.0).map_err(|e| UserError {
            field: at("json"),
            message: format!("invalid command: {e}"),
            code: UserErrorCode::InvalidInput,
        })?,
        _ => {
            return Err(UserError {
                field: path.is_empty().then(Vec::new).or_else(|| Some(path.to_vec())),
                message: "give exactly one of `command` and `json`".to_owned(),
                code: UserErrorCode::InvalidInput,
            });
        }
    };
    let envelope = Envelope {
        idempotency_key: std::mem::take(&mut input.idempotency_key),
        source: input.source.take(),
        occurred_at: input.occurred_at.take(),
    };
    Ok((command, envelope))
}

/// The generic mutations: any command (typed or JSON), bulk, and checkpoints.
#[derive(Debug, Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Submits any command, typed (`command: {receiveInventory: {…}}`) or as the domain's
    /// JSON (`json: {"type": "receive_inventory", …}`).
    #[graphql(guard = "FieldGuard(\"Mutation.submit\")")]
    async fn submit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The command and its envelope.")] mut input: SubmitInput,
        #[graphql(desc = "Answer only once every view reflects the command (bounded by the \
                          server's wait; see `viewsCaughtUp`).")]
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<CommandPayload> {
        let state = ctx.data_unchecked::<AppState>();
        let caller = caller(ctx)?;
        let (command, envelope) = match command_of(&mut input, &["input".to_owned()]) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(CommandPayload::refused(e)),
        };
        Ok(submit_one(state, submission(caller, envelope, command), wait_for_views).await?)
    }

    /// Submits many commands, decided in list order (possibly interleaved with other callers'
    /// commands), and answers one payload per input, in input order. A refused item does not
    /// stop the others. At most `submit_many_commands_max` items. A store that cannot take
    /// commands fails the whole field (top-level error); items accepted before that are
    /// durable, and a retry with the same idempotency keys answers them `deduplicated`.
    #[graphql(guard = "FieldGuard(\"Mutation.submitMany\")")]
    async fn submit_many(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The commands, each with its envelope.")] inputs: Vec<SubmitInput>,
        #[graphql(desc = "Answer only once every view reflects the accepted commands \
                          (bounded by the server's wait).")]
        wait_for_views: Option<bool>,
    ) -> async_graphql::Result<Vec<CommandPayload>> {
        let state = ctx.data_unchecked::<AppState>();
        let caller = caller(ctx)?;
        let max = state.config().submit_many_commands_max;
        if inputs.len() > max {
            return Err(ApiError::new(
                code::LIMIT_EXCEEDED,
                format!("submitMany got {} commands, over the limit of {max}", inputs.len()),
            )
            .into());
        }
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        metrics::histogram!(telemetry::BATCH_COMMANDS).record(inputs.len() as f64);
        let mut payloads: Vec<Option<CommandPayload>> = Vec::with_capacity(inputs.len());
        let mut submissions = Vec::with_capacity(inputs.len());
        let mut submitted_at = Vec::with_capacity(inputs.len());
        for (index, mut input) in inputs.into_iter().enumerate() {
            let path = ["inputs".to_owned(), index.to_string()];
            match command_of(&mut input, &path) {
                Ok((command, envelope)) => {
                    submitted_at.push(payloads.len());
                    submissions.push(submission(caller, envelope, command));
                    payloads.push(None);
                }
                Err(e) => payloads.push(Some(CommandPayload::refused(e))),
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
        let mut failure = None;
        for ((slot, answer), source) in submitted_at.into_iter().zip(answers).zip(&sources) {
            let payload = match answer {
                Ok(accepted) => {
                    record_accepted(&accepted);
                    last_seq = last_seq.max(accepted.last_seq());
                    match CommandPayload::accepted(accepted) {
                        Ok(payload) => payload,
                        Err(e) => {
                            failure.get_or_insert(e);
                            continue;
                        }
                    }
                }
                Err(e) => {
                    record_rejection(state, &e, source);
                    match user_error(e) {
                        Ok(mut user) => {
                            user.field = Some(vec!["inputs".to_owned(), slot.to_string()]);
                            CommandPayload::refused(user)
                        }
                        Err(top) => {
                            failure.get_or_insert(top);
                            continue;
                        }
                    }
                }
            };
            if let Some(entry) = payloads.get_mut(slot) {
                *entry = Some(payload);
            }
        }
        if let Some(top) = failure {
            return Err(top.into());
        }
        let mut payloads: Vec<CommandPayload> = payloads.into_iter().flatten().collect();
        if wait_for_views == Some(true) {
            let (seq, _) = await_views(state, last_seq).await;
            for payload in &mut payloads {
                if payload.user_errors.is_empty() {
                    payload.views_seq = Some(UnsignedInt64(seq));
                    payload.views_caught_up = Some(seq >= payload.last());
                }
            }
        }
        Ok(payloads)
    }

    /// Rebuilds one view from the log online (blue/green): a new generation is built in the
    /// background while the served one keeps answering and appends go on, then swapped in
    /// atomically. Answers at once; progress and outcome are in `views { rebuild }`.
    #[graphql(guard = "FieldGuard(\"Mutation.rebuildView\")")]
    async fn rebuild_view(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view's name (as in `views`).")] name: String,
    ) -> async_graphql::Result<RebuildViewPayload> {
        let state = ctx.data_unchecked::<AppState>();
        crate::schema::args::view_name("name", &name)?;
        if !state.engine().views().names().contains(&name.as_str()) {
            return Err(ApiError::not_found(format!("no view named '{name}'")).into());
        }
        state.start_rebuild(&name).map_err(ApiError::invalid)?;
        Ok(RebuildViewPayload { view: name, started: true })
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

/// What `rebuildView` started.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct RebuildViewPayload {
    /// The view.
    pub view: String,
    /// The rebuild runs in the background (see `views { rebuild }`).
    pub started: bool,
}
