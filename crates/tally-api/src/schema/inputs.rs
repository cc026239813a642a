//! The inputs the mutations share: the envelope every command travels in, and `submit`'s
//! input. The commands' own inputs are the domain's types (`tally_domain::command`, feature
//! `graphql`): they are not restated here.

use async_graphql::InputObject;
use tally_domain::Command;
use tally_domain::time::Timestamp;

/// The envelope of a command: how to deduplicate it, where it comes from, and its business
/// time.
#[derive(Debug, Clone, InputObject)]
pub struct EnvelopeInput {
    /// Chosen by the caller (1–128 bytes); a retry with the same key returns the first result
    /// (`deduplicated: true`) and never appends twice.
    pub idempotency_key: String,
    /// Where the command comes from, e.g. `shopify/web/#1001`. Default `api`.
    pub source: Option<String>,
    /// Business time. Default: when the engine decides it.
    pub occurred_at: Option<Timestamp>,
}

/// One command for `submit` or `submitMany`: give exactly one of `command` (typed) and `json`
/// (the domain's JSON, as NDJSON import reads it).
#[derive(Debug, Clone, InputObject)]
pub struct SubmitInput {
    /// Chosen by the caller (1–128 bytes); a retry with the same key returns the first result
    /// (`deduplicated: true`) and never appends twice.
    pub idempotency_key: String,
    /// The command, typed: one field named after the command (`{receiveInventory: {…}}`).
    pub command: Option<Command>,
    /// The command as the domain's JSON, tagged by `type` (`{"type": "receive_inventory", …}`).
    pub json: Option<async_graphql::Json<serde_json::Value>>,
    /// Where the command comes from. Default `api`.
    pub source: Option<String>,
    /// Business time. Default: when the engine decides it.
    pub occurred_at: Option<Timestamp>,
}
