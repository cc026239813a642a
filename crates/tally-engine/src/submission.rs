//! What callers submit and what they get back.

use tally_domain::Command;
use tally_log::EventId;

/// Longest idempotency key.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// A command with its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Chosen by the caller; a retry with the same key returns the first result.
    pub idempotency_key: String,
    /// The command.
    pub command: Command,
    /// Who asks.
    pub actor: String,
    /// Where it comes from: system, channel, external id (e.g. `shopify/web/#1001`).
    pub source: String,
    /// Business time, ms since the epoch; `None` = when the engine decides it.
    pub occurred_at_ms: Option<i64>,
    /// Groups the events of one business flow; `None` = the command's own id.
    pub correlation_id: Option<EventId>,
}

impl Submission {
    /// A submission with defaults for the envelope.
    #[must_use]
    pub fn new(idempotency_key: impl Into<String>, command: Command) -> Self {
        Self {
            idempotency_key: idempotency_key.into(),
            command,
            actor: "system".to_owned(),
            source: "api".to_owned(),
            occurred_at_ms: None,
            correlation_id: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let key = &self.idempotency_key;
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
            return Err(format!(
                "idempotency key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} bytes, got {}",
                key.len()
            ));
        }
        if key.chars().any(char::is_control) {
            return Err("idempotency key contains a control character".to_owned());
        }
        for (what, text) in [("actor", &self.actor), ("source", &self.source)] {
            if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
                return Err(format!("{what} must be 1 to 200 printable bytes"));
            }
        }
        Ok(())
    }
}

/// One event of an accepted command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// Its seq.
    pub seq: u64,
    /// Its stream.
    pub stream: String,
    /// Its type name.
    pub event_type: String,
}

/// An accepted command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The command's content id (the causation id of its events).
    pub command_id: EventId,
    /// Its events, in order. Empty for an accepted no-op (e.g. an identical re-sent order):
    /// its key is then recorded by a `command.accepted` marker in the log, not listed here.
    pub events: Vec<EventRef>,
    /// True when this is the first result of an earlier submission with the same key.
    pub deduplicated: bool,
}

impl Accepted {
    /// Seq of the last event, or 0 when there is none.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }
    /// Seq of the first event, or 0 when there is none.
    #[must_use]
    pub fn first_seq(&self) -> u64 {
        self.events.first().map_or(0, |e| e.seq)
    }
}
