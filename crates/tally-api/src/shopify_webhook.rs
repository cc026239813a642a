//! `POST /intake/shopify/{channel}`: Shopify order webhooks (`orders/create`,
//! `orders/updated`, `orders/paid`, `orders/cancelled`, …) into the ledger.
//!
//! - **Authentication** is Shopify's: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the
//!   raw body under the channel's webhook secret ([`WebhookSecrets`]), compared in constant
//!   time. A missing or wrong signature is `401` with `UNAUTHENTICATED`; a channel without a
//!   secret is `404` with `NOT_FOUND` (nothing is read). No bearer token is involved.
//! - **Translation** is `tally_intake::shopify` (the same as `tally import --format
//!   shopify-orders`): the order's commands, each keyed by the Shopify ids.
//! - **Idempotency** is by those keys, durable in the log: a redelivery (the same
//!   `X-Shopify-Webhook-Id`), the same order under another topic, or an update that changed
//!   nothing the ledger books appends nothing; an update with a new capture, refund or
//!   cancellation appends only that.
//! - **Answer**: `200` with what happened to each command (`appended`, `duplicate`,
//!   `rejected` with its code); a refused order (say `UNKNOWN_SKU`) is still `200`, because
//!   Shopify retries anything else and a retry cannot fix the data: the refusal is in the
//!   answer, in the logs and in the rejection counters per source. A body that is not an
//!   order is `400` (`INVALID_INPUT`); an engine that cannot take commands is `503`, which
//!   Shopify retries. Topics other than `orders/*` are answered `200` with `ignored` (and
//!   logged), so Shopify does not drop the subscription.
//!
//! The submit loop here is minimal (one command at a time, stopping an order's commands at
//! its first refusal); the engine's shared intake runner may replace it.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tally_domain::ids::{ChannelId, Id as _};
use tally_engine::{Submission, SubmitError};

use crate::error::code;
use crate::state::AppState;

/// The header carrying the body's signature.
pub const HMAC_HEADER: &str = "x-shopify-hmac-sha256";
/// The header naming the topic (`orders/create`).
pub const TOPIC_HEADER: &str = "x-shopify-topic";
/// The header naming the delivery (the same on a retry).
pub const WEBHOOK_ID_HEADER: &str = "x-shopify-webhook-id";
/// The actor of every command a webhook submits.
pub const ACTOR: &str = "webhook:shopify";

/// Each channel's Shopify webhook secret (the app's client secret, or the secret shown where
/// the webhook was created in the Shopify admin). `Debug` never prints a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookSecrets(BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl WebhookSecrets {
    /// No channel takes webhooks.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `channel`'s secret.
    #[must_use]
    pub fn with(mut self, channel: &str, secret: &str) -> Self {
        self.0.insert(channel.to_owned(), secret.as_bytes().to_vec());
        self
    }

    /// Reads `channel=secret` pairs, one per line or separated by `;` (the
    /// `TALLY_SHOPIFY_WEBHOOK_SECRETS` variable); blank entries and `#` comments are skipped.
    ///
    /// # Errors
    /// An entry without `=`, with an invalid channel id, an empty secret, or a channel twice.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::new();
        for (n, entry) in text.split(['\n', ';']).enumerate() {
            let entry = entry.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let (channel, secret) = entry
                .split_once('=')
                .ok_or_else(|| format!("entry {}: expected channel=secret", n + 1))?;
            let (channel, secret) = (channel.trim(), secret.trim());
            ChannelId::parse_id(channel.to_owned()).map_err(|e| format!("entry {}: {e}", n + 1))?;
            if secret.is_empty() {
                return Err(format!("entry {}: the secret of channel '{channel}' is empty", n + 1));
            }
            if out.0.contains_key(channel) {
                return Err(format!("channel '{channel}' has two secrets"));
            }
            out = out.with(channel, secret);
        }
        Ok(out)
    }

    /// The channels that take webhooks.
    #[must_use]
    pub fn channels(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    fn get(&self, channel: &str) -> Option<&[u8]> {
        self.0.get(channel).map(Vec::as_slice)
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
#[must_use]
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// Whether `a` equals `b`, in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether `signature` (the header's base64 text) signs `body` under `secret`.
#[must_use]
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    constant_time_eq(&given, &hmac_sha256(secret, body))
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    crate::server::json_response(status, &body)
}

/// What happened to one command.
#[derive(Debug, Serialize)]
struct CommandOutcome {
    /// The command's type (`receive_order`).
    command: &'static str,
    /// Its idempotency key.
    key: String,
    /// `appended`, `duplicate` (submitted before: nothing appended) or `rejected`.
    outcome: &'static str,
    /// Events appended.
    events: usize,
    /// The rejection's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// The rejection's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// What happened to one order of the payload.
#[derive(Debug, Serialize)]
struct RecordOutcome {
    /// The Shopify order id.
    source_id: String,
    /// `accepted` (every command appended or a duplicate), `rejected` (the first one refused),
    /// or `partial` (refused after some were appended).
    status: &'static str,
    /// The translator's or the first refusing command's code, when not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// Its message.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The commands, in order.
    commands: Vec<CommandOutcome>,
}

/// The answer to one delivery.
#[derive(Debug, Serialize)]
struct Answer {
    channel: String,
    topic: Option<String>,
    webhook_id: Option<String>,
    /// Events appended by this delivery (0 for a redelivery).
    appended_events: usize,
    records: Vec<RecordOutcome>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The handler.
pub(crate) async fn receive(
    state: AppState,
    channel: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secrets = &state.config().shopify_webhook_secrets;
    let Some(secret) = secrets.get(&channel) else {
        return error(
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            format!("no Shopify webhook secret is configured for channel '{channel}'"),
        );
    };
    let Some(signature) = header(&headers, HMAC_HEADER) else {
        return error(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "the X-Shopify-Hmac-Sha256 header is missing".to_owned(),
        );
    };
    if !verify(secret, &body, signature) {
        tracing::warn!(channel = %channel, "Shopify webhook with a bad signature refused");
        return error(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "the X-Shopify-Hmac-Sha256 signature does not match the body under this channel's secret"
                .to_owned(),
        );
    }
    let topic = header(&headers, TOPIC_HEADER).map(str::to_owned);
    let webhook_id = header(&headers, WEBHOOK_ID_HEADER).map(str::to_owned);
    if let Some(t) = topic.as_deref().filter(|t| !t.starts_with("orders/")) {
        tracing::warn!(channel = %channel, topic = %t, "Shopify webhook topic ignored");
        let body = serde_json::json!({
            "channel": channel, "topic": t, "webhook_id": webhook_id, "ignored": true,
            "reason": "only orders/* topics are imported",
        });
        return crate::server::json_response(StatusCode::OK, &body);
    }
    // The path is authenticated by the secret; it is a configured channel id.
    let Ok(channel_id) = ChannelId::parse(channel.clone()) else {
        return error(StatusCode::NOT_FOUND, code::NOT_FOUND, format!("channel '{channel}'"));
    };
    let options = tally_intake::Options { channel: Some(channel_id), location: None };
    let records = match tally_intake::shopify::translate(&body, &options) {
        Ok(records) => records,
        Err(e) => return error(StatusCode::BAD_REQUEST, code::INVALID_INPUT, e.to_string()),
    };
    // Metrics count by integration (`shopify/{channel}`), not by order.
    let metrics_source = format!("shopify/{channel}");
    let mut answer = Answer { channel, topic, webhook_id, appended_events: 0, records: Vec::new() };
    for record in records {
        match submit_record(&state, &metrics_source, record).await {
            Ok(outcome) => {
                answer.appended_events += outcome.commands.iter().map(|c| c.events).sum::<usize>();
                answer.records.push(outcome);
            }
            Err(e) => {
                return error(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string());
            }
        }
    }
    crate::server::json_response(StatusCode::OK, &answer)
}

/// Submits one record's intents in order; stops at the first refusal (the record's later
/// facts hang on it). `Err` only when the engine cannot take commands (the caller retries).
async fn submit_record(
    state: &AppState,
    metrics_source: &str,
    record: tally_intake::Record,
) -> Result<RecordOutcome, SubmitError> {
    let intents = match record.outcome {
        Ok(intents) => intents,
        Err(refusal) => {
            state.record_rejection(refusal.code, metrics_source);
            return Ok(RecordOutcome {
                source_id: record.source_id,
                status: "rejected",
                code: Some(refusal.code),
                message: Some(refusal.message),
                commands: Vec::new(),
            });
        }
    };
    let mut out = RecordOutcome {
        source_id: record.source_id,
        status: "accepted",
        code: None,
        message: None,
        commands: Vec::new(),
    };
    for intent in intents {
        let kind = intent.command.kind();
        let submission = Submission {
            idempotency_key: intent.idempotency_key.clone(),
            command: intent.command,
            actor: ACTOR.to_owned(),
            source: intent.source.clone(),
            occurred_at_ms: intent.occurred_at_ms,
            correlation_id: None,
        };
        match state.engine().submit(submission).await {
            Ok(accepted) => out.commands.push(CommandOutcome {
                command: kind,
                key: intent.idempotency_key,
                // Accepted with no event (the order already known, a capture already
                // recorded) is, for the sender, the same as a redelivery.
                outcome: if accepted.deduplicated || accepted.events.is_empty() {
                    "duplicate"
                } else {
                    "appended"
                },
                events: if accepted.deduplicated { 0 } else { accepted.events.len() },
                code: None,
                message: None,
            }),
            Err(
                e @ (SubmitError::Unavailable(_)
                | SubmitError::StorageFailed(_)
                | SubmitError::IntegrityFailed(_)),
            ) => return Err(e),
            Err(e) => {
                let code = e.code();
                state.record_rejection(code, metrics_source);
                let message = format!("order {}: {e}", out.source_id);
                out.status = if out.commands.iter().any(|c| c.outcome == "appended") {
                    "partial"
                } else {
                    "rejected"
                };
                out.code = Some(code);
                out.message = Some(message.clone());
                out.commands.push(CommandOutcome {
                    command: kind,
                    key: intent.idempotency_key,
                    outcome: "rejected",
                    events: 0,
                    code: Some(code),
                    message: Some(message),
                });
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Case 6: a key longer than the block is hashed first.
        let mac =
            hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn secrets_parse_from_the_environment_form_and_never_print() {
        let s = WebhookSecrets::parse("web=shpss_abc; eu = shpss_def\n# comment\n").expect("ok");
        assert_eq!(s.channels(), ["eu", "web"]);
        assert!(!format!("{s:?}").contains("shpss"));
        assert!(WebhookSecrets::parse("web").is_err());
        assert!(WebhookSecrets::parse("web=").is_err());
        assert!(WebhookSecrets::parse("web=a;web=b").is_err());
        assert!(verify(
            b"k",
            b"body",
            &base64::engine::general_purpose::STANDARD.encode(hmac_sha256(b"k", b"body"))
        ));
        assert!(!verify(
            b"k",
            b"body!",
            &base64::engine::general_purpose::STANDARD.encode(hmac_sha256(b"k", b"body"))
        ));
        assert!(!verify(b"k", b"body", "not base64 !"));
    }
}
