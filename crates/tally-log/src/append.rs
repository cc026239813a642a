//! What callers append: events, stream expectations, and what they get back.

use crate::chain::{Digest, GENESIS, body_digest};
use crate::config::{Limits, PAYLOAD_FORMAT_MAX, TEXT_FORMAT_MAX};
use crate::error::{Error, Result};
use crate::frame::{FrameFields, HASH_BYTES, encode_into};
use crate::ids::EventId;
use std::collections::HashSet;

/// One event to append. The log assigns seq, stream version, recorded_at and the hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Idempotency key.
    pub event_id: EventId,
    /// The entity stream it belongs to.
    pub stream: String,
    /// Type name of the payload.
    pub event_type: String,
    /// Schema version of the payload.
    pub schema_version: u16,
    /// Business time, ms since the Unix epoch.
    pub occurred_at_ms: i64,
    /// Where it came from (system, channel, external id).
    pub source: String,
    /// Groups the events of one business flow.
    pub correlation_id: Option<EventId>,
    /// The event or command that caused it.
    pub causation_id: Option<EventId>,
    /// Who did it.
    pub actor: String,
    /// Opaque payload.
    pub payload: Vec<u8>,
}

/// An event encoded on the caller's side: its frame with the fields the writer assigns left
/// zero, a zeroed hash trailer, and the digest of that template.
pub(crate) struct PreparedEvent {
    pub event_id: EventId,
    pub stream: String,
    pub event_type: String,
    pub digest: Digest,
    pub frame: Vec<u8>,
}

impl NewEvent {
    fn prepare(self) -> PreparedEvent {
        let mut frame = Vec::new();
        encode_into(
            &FrameFields {
                seq: 0,
                stream_version: 0,
                event_id: self.event_id,
                correlation_id: self.correlation_id,
                causation_id: self.causation_id,
                occurred_at_ms: self.occurred_at_ms,
                recorded_at_ms: 0,
                schema_version: self.schema_version,
                prev_hash: &GENESIS,
                stream: &self.stream,
                event_type: &self.event_type,
                source: &self.source,
                actor: &self.actor,
                payload: &self.payload,
            },
            &mut frame,
        );
        let digest = body_digest(&frame);
        frame.extend_from_slice(&[0; HASH_BYTES]);
        PreparedEvent {
            event_id: self.event_id,
            stream: self.stream,
            event_type: self.event_type,
            digest,
            frame,
        }
    }
}

/// A validated request, encoded on the caller's side so the writer only patches and hashes.
pub(crate) struct PreparedRequest {
    pub events: Vec<PreparedEvent>,
    pub expectations: Vec<StreamExpectation>,
    pub payload_bytes: usize,
}

/// What a stream's current version must be for the append to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// No check.
    Any,
    /// The stream has no events yet.
    NoStream,
    /// The stream's last version is exactly this (≥ 1).
    Exact(u64),
}

impl Expected {
    pub(crate) fn describe(self) -> String {
        match self {
            Self::Any => "any version".to_owned(),
            Self::NoStream => "no stream".to_owned(),
            Self::Exact(v) => format!("version {v}"),
        }
    }

    pub(crate) fn admits(self, current: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current == 0,
            Self::Exact(v) => current == v,
        }
    }
}

/// An expectation on one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamExpectation {
    /// The stream.
    pub stream: String,
    /// What its version must be.
    pub expected: Expected,
}

/// An all-or-nothing append of events that may touch several streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendRequest {
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Conditions checked before anything is written.
    pub expectations: Vec<StreamExpectation>,
}

impl AppendRequest {
    /// A request without conditions.
    #[must_use]
    pub fn new(events: Vec<NewEvent>) -> Self {
        Self { events, expectations: Vec::new() }
    }

    /// Adds a condition on a stream.
    #[must_use]
    pub fn expect(mut self, stream: impl Into<String>, expected: Expected) -> Self {
        self.expectations.push(StreamExpectation { stream: stream.into(), expected });
        self
    }

    /// Total payload bytes.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.events.iter().map(|e| e.payload.len()).sum()
    }

    /// Checks the request against the limits and encodes it; runs on the caller's side.
    pub(crate) fn prepare(self, limits: &Limits) -> Result<PreparedRequest> {
        self.validate(limits)?;
        let payload_bytes = self.payload_bytes();
        Ok(PreparedRequest {
            events: self.events.into_iter().map(NewEvent::prepare).collect(),
            expectations: self.expectations,
            payload_bytes,
        })
    }

    fn validate(&self, limits: &Limits) -> Result<()> {
        if self.events.is_empty() {
            return Err(Error::Invalid("an append needs at least one event".to_owned()));
        }
        check_limit("events in one append", self.events.len(), limits.append_events_max)?;
        check_limit("payload bytes in one append", self.payload_bytes(), limits.append_bytes_max)?;
        let mut ids = HashSet::with_capacity(self.events.len());
        for event in &self.events {
            if !ids.insert(event.event_id) {
                return Err(Error::Invalid(format!(
                    "event id {} appears twice in one append",
                    event.event_id
                )));
            }
            check_text("stream id", &event.stream, limits.stream_id_bytes_max)?;
            check_text("event type", &event.event_type, limits.event_type_bytes_max)?;
            check_text_allow_empty("source", &event.source, limits.text_bytes_max)?;
            check_text_allow_empty("actor", &event.actor, limits.text_bytes_max)?;
            check_limit(
                "payload bytes of one event",
                event.payload.len(),
                limits.event_bytes_max.min(PAYLOAD_FORMAT_MAX),
            )?;
        }
        let mut streams = HashSet::with_capacity(self.expectations.len());
        for expectation in &self.expectations {
            check_text("stream id", &expectation.stream, limits.stream_id_bytes_max)?;
            if !streams.insert(expectation.stream.as_str()) {
                return Err(Error::Invalid(format!(
                    "stream '{}' has two expectations",
                    expectation.stream
                )));
            }
            if expectation.expected == Expected::Exact(0) {
                return Err(Error::Invalid(format!(
                    "stream '{}': exact version 0 is spelled NoStream",
                    expectation.stream
                )));
            }
        }
        Ok(())
    }
}

fn check_limit(what: &'static str, value: usize, max: usize) -> Result<()> {
    if value > max { Err(Error::LimitExceeded { what, value, max }) } else { Ok(()) }
}

fn check_text(what: &'static str, text: &str, max: usize) -> Result<()> {
    if text.is_empty() {
        return Err(Error::Invalid(format!("{what} is empty")));
    }
    check_text_allow_empty(what, text, max)
}

fn check_text_allow_empty(what: &'static str, text: &str, max: usize) -> Result<()> {
    let max = max.min(TEXT_FORMAT_MAX);
    if text.len() > max {
        return Err(Error::LimitExceeded { what, value: text.len(), max });
    }
    if text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!("{what} {text:?} contains a control character")));
    }
    Ok(())
}

/// Where one event of an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Global seq.
    pub seq: u64,
    /// Version within its stream.
    pub stream_version: u64,
}

/// The answer to an append, given once it is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Where each event of the request is, in request order.
    pub positions: Vec<Position>,
    /// True when every event was already stored with an identical body: nothing was appended
    /// and `positions` are the original ones.
    pub deduplicated: bool,
}

impl Appended {
    /// First seq of the request.
    #[must_use]
    pub fn first_seq(&self) -> u64 {
        self.positions.first().map_or(0, |p| p.seq)
    }
    /// Last seq of the request.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.positions.last().map_or(0, |p| p.seq)
    }
}
