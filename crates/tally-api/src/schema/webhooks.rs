//! Webhook administration (admin only): the endpoints with their cursor, lag and failures,
//! their dead letters; adding, removing, pausing endpoints and replaying dead letters. The
//! deliveries themselves are `tally-outbox`'s; this module only drives its handle.

use crate::auth::FieldGuard;
use crate::error::{ApiError, code};
use crate::state::AppState;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Timestamp;
use tally_outbox::Outbox;

/// Most message ids one replay may name.
pub const REPLAY_IDS_MAX: usize = 1000;
/// Dead letters listed when `first` is not given.
pub const DEAD_LETTERS_DEFAULT: usize = 100;

fn outbox<'a>(ctx: &'a Context<'_>) -> Result<&'a Outbox, ApiError> {
    ctx.data_unchecked::<AppState>()
        .outbox()
        .ok_or_else(|| ApiError::new(code::UNAVAILABLE, "this server runs no webhook outbox"))
}

fn outbox_error(e: tally_outbox::Error) -> ApiError {
    match e {
        tally_outbox::Error::NotFound(_) => ApiError::not_found(e.to_string()),
        tally_outbox::Error::Invalid(_)
        | tally_outbox::Error::Exists(_)
        | tally_outbox::Error::FromConfig(_) => ApiError::invalid(e.to_string()),
        other => ApiError::internal("webhooks", &other),
    }
}

fn name_arg(field: &str, value: &str) -> Result<(), ApiError> {
    super::args::bounded(field, value, tally_outbox::config::NAME_BYTES_MAX)?;
    Ok(())
}

/// Where an endpoint is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WebhookEndpointOrigin {
    /// In `webhooks.toml` (edit the file and restart to change it).
    Config,
    /// Added through `addWebhookEndpoint`.
    Api,
}

/// Where a new endpoint's cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
pub enum WebhookStart {
    /// After the current head: only new events.
    #[default]
    Head,
    /// From the first event: the whole history.
    Earliest,
}

/// The message being retried.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookRetry {
    /// Its `webhook-id`.
    pub message_id: String,
    /// Failed attempts so far.
    pub attempts: UnsignedInt64,
    /// When the first attempt failed.
    pub first_failure_at: Timestamp,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
}

/// A webhook endpoint and its delivery state.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookEndpoint {
    /// Name.
    pub name: String,
    /// The URL messages are POSTed to.
    pub url: String,
    /// The PEM file of CA certificates its server certificate must chain to (instead of the
    /// built-in web roots), if any.
    pub ca_file: Option<String>,
    /// Event types it receives (names or globs such as `order.*`; `ats.changed` for the feed).
    pub types: Vec<String>,
    /// Only these channels (empty: all).
    pub channels: Vec<String>,
    /// Only these SKUs (empty: all).
    pub skus: Vec<String>,
    /// Where it is defined.
    pub origin: WebhookEndpointOrigin,
    /// Paused: nothing is sent, the cursor stays.
    pub paused: bool,
    /// Why it is paused (e.g. the endpoint answered 410 Gone).
    pub paused_reason: Option<String>,
    /// Every event up to this seq is done for the endpoint (delivered, dead-lettered or
    /// filtered out).
    pub cursor: UnsignedInt64,
    /// `head − cursor`.
    pub lag: UnsignedInt64,
    /// `ats.changed` messages cut and waiting.
    pub ats_pending: UnsignedInt64,
    /// Dead letters queued for replay.
    pub replay_pending: UnsignedInt64,
    /// Dead letters held.
    pub dead_letters: UnsignedInt64,
    /// Messages delivered (2xx).
    pub delivered: UnsignedInt64,
    /// Failed attempts in total.
    pub failed_attempts: UnsignedInt64,
    /// Failed attempts since the last 2xx.
    pub consecutive_failures: UnsignedInt64,
    /// The message being retried.
    pub retrying: Option<WebhookRetry>,
    /// The last failure (HTTP status or transport error).
    pub last_error: Option<String>,
    /// The last attempt.
    pub last_attempt_at: Option<Timestamp>,
    /// The last 2xx.
    pub last_success_at: Option<Timestamp>,
}

impl From<tally_outbox::EndpointStatus> for WebhookEndpoint {
    fn from(s: tally_outbox::EndpointStatus) -> Self {
        Self {
            name: s.name,
            url: s.url,
            ca_file: s.ca_file,
            types: s.types,
            channels: s.channels,
            skus: s.skus,
            origin: match s.origin {
                tally_outbox::Origin::Config => WebhookEndpointOrigin::Config,
                tally_outbox::Origin::Api => WebhookEndpointOrigin::Api,
            },
            paused: s.paused,
            paused_reason: s.paused_reason,
            cursor: UnsignedInt64(s.cursor),
            lag: UnsignedInt64(s.lag),
            ats_pending: UnsignedInt64(s.ats_pending),
            replay_pending: UnsignedInt64(s.replay_pending),
            dead_letters: UnsignedInt64(s.dead_letters),
            delivered: UnsignedInt64(s.delivered),
            failed_attempts: UnsignedInt64(s.failed_attempts),
            consecutive_failures: UnsignedInt64(u64::from(s.consecutive_failures)),
            retrying: s.retrying.map(|r| WebhookRetry {
                message_id: r.id,
                attempts: UnsignedInt64(u64::from(r.attempts)),
                first_failure_at: Timestamp::from_millis(r.first_failure_ms),
                next_attempt_at: Timestamp::from_millis(r.next_attempt_ms),
            }),
            last_error: s.last_error,
            last_attempt_at: s.last_attempt_ms.map(Timestamp::from_millis),
            last_success_at: s.last_success_ms.map(Timestamp::from_millis),
        }
    }
}

/// A message given up after its attempts; `replayWebhookDeadLetters` sends it again.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookDeadLetter {
    /// Its `webhook-id` (a replay sends the same).
    pub message_id: String,
    /// Its type.
    #[graphql(name = "type")]
    pub event_type: String,
    /// The seq of its event (for `ats.changed`: the last event its cut read).
    pub seq: UnsignedInt64,
    /// The body as it was sent (JSON text).
    pub body: String,
    /// Attempts made.
    pub attempts: UnsignedInt64,
    /// When the first attempt failed.
    pub first_failure_at: Timestamp,
    /// When it was given up.
    pub dead_at: Timestamp,
    /// The last failure.
    pub last_error: String,
}

/// A new endpoint.
#[derive(Debug, Clone, InputObject)]
pub struct AddWebhookEndpointInput {
    /// Name: 1 to 64 characters of `a-z`, `0-9`, `_`, `-`.
    pub name: String,
    /// `https://` URL (or `http://`; at most 2048 bytes).
    pub url: String,
    /// For an `https://` receiver with a private CA: path on the server of a PEM file of the
    /// CA certificates its certificate must chain to (absolute, or relative to the data
    /// directory; at most 4096 bytes), trusted instead of the built-in web roots. Read and
    /// checked now: a missing or unparseable file is refused.
    pub ca_file: Option<String>,
    /// Event types: names (`order.shipped`, `ats.changed`) or globs (`order.*`, `*`); at most
    /// 256.
    pub types: Vec<String>,
    /// Only messages about these channels (default: all; at most 256).
    #[graphql(default)]
    pub channels: Vec<String>,
    /// Only messages about these SKUs (default: all; at most 256).
    #[graphql(default)]
    pub skus: Vec<String>,
    /// `whsec_<base64 of 24 to 64 bytes>`; default: a new random secret, returned once.
    pub secret: Option<String>,
    /// Where its cursor starts (default: the head).
    #[graphql(default)]
    pub start: WebhookStart,
}

/// The endpoint added, and its signing secret (shown this once).
#[derive(Debug, Clone, SimpleObject)]
pub struct AddWebhookEndpointPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its signing secret, `whsec_…`: store it where the receiver verifies signatures.
    pub secret: String,
}

/// The endpoint removed.
#[derive(Debug, Clone, SimpleObject)]
pub struct RemoveWebhookEndpointPayload {
    /// Its name.
    pub name: String,
}

/// What a replay queued.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReplayWebhookDeadLettersPayload {
    /// The endpoint.
    pub endpoint: String,
    /// Dead letters queued for another round of attempts.
    pub queued: UnsignedInt64,
}

/// Webhook queries.
#[derive(Debug, Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Every webhook endpoint with its cursor, lag, failures and dead-letter count.
    #[graphql(guard = "FieldGuard(\"Query.webhookEndpoints\")")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<WebhookEndpoint>> {
        let outbox = outbox(ctx)?;
        Ok(outbox
            .endpoints()
            .map_err(outbox_error)?
            .into_iter()
            .map(WebhookEndpoint::from)
            .collect())
    }

    /// The dead letters of an endpoint, oldest first.
    #[graphql(guard = "FieldGuard(\"Query.webhookDeadLetters\")")]
    async fn webhook_dead_letters(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's name.")] endpoint: String,
        #[graphql(desc = "At most this many (default 100, at most 1000).")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<WebhookDeadLetter>> {
        name_arg("endpoint", &endpoint)?;
        let max = tally_outbox::store::DEAD_LETTERS_MAX.min(1000) as usize;
        let limit = match first {
            None => DEAD_LETTERS_DEFAULT,
            Some(n) if n >= 0 && (n as usize) <= max => n as usize,
            Some(n) => return Err(ApiError::invalid(format!("first is {n}; 0 to {max}")).into()),
        };
        let outbox = outbox(ctx)?;
        let letters = outbox.dead_letters(&endpoint, limit).map_err(outbox_error)?;
        Ok(letters
            .into_iter()
            .map(|d| WebhookDeadLetter {
                message_id: d.message.id,
                event_type: d.message.event_type,
                seq: UnsignedInt64(d.message.seq),
                body: d.message.body,
                attempts: UnsignedInt64(u64::from(d.attempts)),
                first_failure_at: Timestamp::from_millis(d.first_failure_ms),
                dead_at: Timestamp::from_millis(d.dead_at_ms),
                last_error: d.last_error,
            })
            .collect())
    }
}

/// Webhook mutations.
#[derive(Debug, Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Adds a webhook endpoint (kept in the store's outbox) and starts delivering to it.
    #[graphql(guard = "FieldGuard(\"Mutation.addWebhookEndpoint\")")]
    async fn add_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint: name, URL, types, filters, secret, start.")]
        input: AddWebhookEndpointInput,
    ) -> async_graphql::Result<AddWebhookEndpointPayload> {
        name_arg("name", &input.name)?;
        super::args::bounded("url", &input.url, tally_outbox::config::URL_BYTES_MAX)?;
        if let Some(ca_file) = &input.ca_file {
            super::args::bounded("caFile", ca_file, tally_outbox::config::CA_PATH_BYTES_MAX)?;
        }
        let outbox = outbox(ctx)?;
        let new = tally_outbox::NewEndpoint {
            name: input.name,
            url: input.url,
            ca_file: input.ca_file,
            types: input.types,
            channels: input.channels,
            skus: input.skus,
            secret: input.secret,
            start: match input.start {
                WebhookStart::Head => tally_outbox::Start::Head,
                WebhookStart::Earliest => tally_outbox::Start::Earliest,
            },
        };
        let (status, secret) = outbox.add_endpoint(new).map_err(outbox_error)?;
        Ok(AddWebhookEndpointPayload { endpoint: status.into(), secret })
    }

    /// Stops and forgets an endpoint added through the API, with its cursor and dead letters.
    #[graphql(guard = "FieldGuard(\"Mutation.removeWebhookEndpoint\")")]
    async fn remove_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's name.")] name: String,
    ) -> async_graphql::Result<RemoveWebhookEndpointPayload> {
        name_arg("name", &name)?;
        outbox(ctx)?.remove_endpoint(&name).await.map_err(outbox_error)?;
        Ok(RemoveWebhookEndpointPayload { name })
    }

    /// Pauses (`paused: true`: nothing is sent, the cursor stays) or resumes an endpoint.
    #[graphql(guard = "FieldGuard(\"Mutation.pauseWebhookEndpoint\")")]
    async fn pause_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's name.")] name: String,
        #[graphql(desc = "`true` pauses, `false` resumes.", default = true)] paused: bool,
    ) -> async_graphql::Result<WebhookEndpoint> {
        name_arg("name", &name)?;
        Ok(outbox(ctx)?.set_paused(&name, paused).map_err(outbox_error)?.into())
    }

    /// Queues an endpoint's dead letters (all, or those with these message ids) for another
    /// round of attempts; each keeps its `webhook-id`.
    #[graphql(guard = "FieldGuard(\"Mutation.replayWebhookDeadLetters\")")]
    async fn replay_webhook_dead_letters(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint's name.")] endpoint: String,
        #[graphql(desc = "Only these message ids (at most 1000); default: every dead letter.")]
        message_ids: Option<Vec<String>>,
    ) -> async_graphql::Result<ReplayWebhookDeadLettersPayload> {
        name_arg("endpoint", &endpoint)?;
        if let Some(ids) = &message_ids {
            if ids.len() > REPLAY_IDS_MAX {
                return Err(ApiError::invalid(format!(
                    "messageIds has {} entries, more than {REPLAY_IDS_MAX}",
                    ids.len()
                ))
                .into());
            }
            for id in ids {
                super::args::bounded("messageIds", id, 256)?;
            }
        }
        let queued =
            outbox(ctx)?.replay(&endpoint, message_ids.as_deref()).map_err(outbox_error)?;
        Ok(ReplayWebhookDeadLettersPayload { endpoint, queued: UnsignedInt64(queued) })
    }
}
