//! The frame: the exact bytes stored for one event, and its zero-copy reader.
//!
//! # Format version 1
//!
//! The value stored under a `seq` key in the `frames` keyspace is `frame ‖ hash`, where
//! `hash = chain_hash(prev_hash, frame)` (32 bytes). All integers are little-endian.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 1 | format version (`1`: this envelope; payloads are opaque, encoded by the writer's codec named by event type + schema version — postcard 1.x for Tally's domain) |
//! | 1 | 8 | seq (u64, gap-free from 1) |
//! | 9 | 8 | stream version (u64, from 1 within the stream) |
//! | 17 | 16 | event id (u128, never 0) |
//! | 33 | 16 | correlation id (u128, 0 = none) |
//! | 49 | 16 | causation id (u128, 0 = none) |
//! | 65 | 8 | occurred_at (i64 ms since the Unix epoch, business time from the source) |
//! | 73 | 8 | recorded_at (i64 ms since the Unix epoch, ledger time, non-decreasing) |
//! | 81 | 2 | schema version (u16) |
//! | 83 | 32 | prev_hash (hash of frame `seq - 1`; zeros for seq 1) |
//! | 115 | 1 | stream id length S |
//! | 116 | 1 | event type length T |
//! | 117 | 1 | source length U |
//! | 118 | 1 | actor length A |
//! | 119 | 4 | payload length P (u32) |
//! | 123 | S+T+U+A+P | stream id, event type, source, actor (UTF-8), then the payload |
//!
//! Decoding checks the version byte, every length against the stored size, and UTF-8; it never
//! re-encodes. Verification hashes the stored bytes as they are.

use crate::chain::Digest;
use crate::ids::EventId;
use fjall::Slice;
use std::fmt;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Size of the fixed part of a version-1 frame.
pub const HEADER_BYTES: usize = 123;
/// Size of the hash trailer after each frame.
pub const HASH_BYTES: usize = 32;

const OFF_SEQ: usize = 1;
const OFF_STREAM_VERSION: usize = 9;
const OFF_EVENT_ID: usize = 17;
const OFF_CORRELATION: usize = 33;
const OFF_CAUSATION: usize = 49;
const OFF_OCCURRED: usize = 65;
const OFF_RECORDED: usize = 73;
const OFF_SCHEMA: usize = 81;
const OFF_PREV: usize = 83;
const OFF_LENS: usize = 115;
const OFF_PAYLOAD_LEN: usize = 119;
const _: () = assert!(OFF_PAYLOAD_LEN + 4 == HEADER_BYTES);
const _: () = assert!(OFF_PREV + 32 == OFF_LENS);

/// The fields of a frame, borrowed, as the writer encodes them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameFields<'a> {
    pub seq: u64,
    pub stream_version: u64,
    pub event_id: EventId,
    pub correlation_id: Option<EventId>,
    pub causation_id: Option<EventId>,
    pub occurred_at_ms: i64,
    pub recorded_at_ms: i64,
    pub schema_version: u16,
    pub prev_hash: &'a Digest,
    pub stream: &'a str,
    pub event_type: &'a str,
    pub source: &'a str,
    pub actor: &'a str,
    pub payload: &'a [u8],
}

fn id_raw(id: Option<EventId>) -> u128 {
    id.map_or(0, EventId::get)
}

/// Appends the frame for `fields` to `out` and returns the frame's length.
///
/// The caller has checked every length against the limits, which are below the format's
/// maxima; the assertions guard that relation.
pub(crate) fn encode_into(fields: &FrameFields<'_>, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let var_len = fields.stream.len()
        + fields.event_type.len()
        + fields.source.len()
        + fields.actor.len()
        + fields.payload.len();
    out.reserve(HEADER_BYTES + var_len + HASH_BYTES);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&fields.seq.to_le_bytes());
    out.extend_from_slice(&fields.stream_version.to_le_bytes());
    out.extend_from_slice(&fields.event_id.get().to_le_bytes());
    out.extend_from_slice(&id_raw(fields.correlation_id).to_le_bytes());
    out.extend_from_slice(&id_raw(fields.causation_id).to_le_bytes());
    out.extend_from_slice(&fields.occurred_at_ms.to_le_bytes());
    out.extend_from_slice(&fields.recorded_at_ms.to_le_bytes());
    out.extend_from_slice(&fields.schema_version.to_le_bytes());
    out.extend_from_slice(fields.prev_hash.as_bytes());
    for text in [fields.stream, fields.event_type, fields.source, fields.actor] {
        let len = u8::try_from(text.len());
        assert!(len.is_ok(), "text field over 255 bytes passed the limits");
        out.push(len.unwrap_or(u8::MAX));
    }
    let payload_len = u32::try_from(fields.payload.len());
    assert!(payload_len.is_ok(), "payload over 4 GiB passed the limits");
    out.extend_from_slice(&payload_len.unwrap_or(u32::MAX).to_le_bytes());
    debug_assert_eq!(out.len() - start, HEADER_BYTES);
    for text in [fields.stream, fields.event_type, fields.source, fields.actor] {
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(fields.payload);
    out.len() - start
}

/// Fills in the fields the writer assigns in a frame template made by [`encode_into`].
pub(crate) fn patch(
    frame: &mut [u8],
    seq: u64,
    stream_version: u64,
    recorded_at_ms: i64,
    prev_hash: &Digest,
) {
    frame[OFF_SEQ..OFF_SEQ + 8].copy_from_slice(&seq.to_le_bytes());
    frame[OFF_STREAM_VERSION..OFF_STREAM_VERSION + 8]
        .copy_from_slice(&stream_version.to_le_bytes());
    frame[OFF_RECORDED..OFF_RECORDED + 8].copy_from_slice(&recorded_at_ms.to_le_bytes());
    frame[OFF_PREV..OFF_PREV + 32].copy_from_slice(prev_hash.as_bytes());
}

/// Why stored bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the fixed header plus hash.
    TooShort {
        /// Bytes stored.
        len: usize,
    },
    /// A format version this build does not read.
    UnknownVersion(u8),
    /// The lengths in the header do not add up to the stored size.
    LengthMismatch {
        /// Size implied by the header.
        declared: usize,
        /// Size stored.
        stored: usize,
    },
    /// A text field is not UTF-8.
    NotUtf8(&'static str),
    /// The event id is the reserved zero.
    ZeroEventId,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(f, "frame of {len} bytes is shorter than a header"),
            Self::UnknownVersion(v) => write!(f, "unknown frame format version {v}"),
            Self::LengthMismatch { declared, stored } => {
                write!(f, "frame declares {declared} bytes but {stored} are stored")
            }
            Self::NotUtf8(field) => write!(f, "frame field '{field}' is not utf-8"),
            Self::ZeroEventId => write!(f, "frame has the reserved zero event id"),
        }
    }
}

/// One stored event, read without copying: it keeps the stored value and field offsets.
#[derive(Clone)]
pub struct RecordedEvent {
    value: Slice,
    stream_end: u32,
    type_end: u32,
    source_end: u32,
    actor_end: u32,
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buf)
}

fn le_u128(bytes: &[u8], at: usize) -> u128 {
    let mut buf = [0; 16];
    buf.copy_from_slice(&bytes[at..at + 16]);
    u128::from_le_bytes(buf)
}

impl RecordedEvent {
    /// Parses a stored value (`frame ‖ hash`). Checks structure only; the chain is checked by
    /// verification.
    pub fn decode(value: Slice) -> Result<Self, FrameError> {
        let bytes: &[u8] = &value;
        if bytes.len() < HEADER_BYTES + HASH_BYTES {
            return Err(FrameError::TooShort { len: bytes.len() });
        }
        if bytes[0] != FORMAT_VERSION {
            return Err(FrameError::UnknownVersion(bytes[0]));
        }
        let lens = [
            usize::from(bytes[OFF_LENS]),
            usize::from(bytes[OFF_LENS + 1]),
            usize::from(bytes[OFF_LENS + 2]),
            usize::from(bytes[OFF_LENS + 3]),
        ];
        let mut payload_len = [0; 4];
        payload_len.copy_from_slice(&bytes[OFF_PAYLOAD_LEN..HEADER_BYTES]);
        let payload_len = u32::from_le_bytes(payload_len) as usize;
        let declared = HEADER_BYTES + lens.iter().sum::<usize>() + payload_len + HASH_BYTES;
        if declared != bytes.len() {
            return Err(FrameError::LengthMismatch { declared, stored: bytes.len() });
        }
        if le_u128(bytes, OFF_EVENT_ID) == 0 {
            return Err(FrameError::ZeroEventId);
        }
        let mut ends = [0u32; 4];
        let mut at = HEADER_BYTES;
        for (i, (len, name)) in
            lens.iter().zip(["stream", "event_type", "source", "actor"]).enumerate()
        {
            if std::str::from_utf8(&bytes[at..at + len]).is_err() {
                return Err(FrameError::NotUtf8(name));
            }
            at += len;
            // Fits: the whole value is under u32::MAX because the payload length is a u32
            // and the rest is at most 4 × 255 + header.
            ends[i] = u32::try_from(at).unwrap_or(u32::MAX);
        }
        Ok(Self {
            value,
            stream_end: ends[0],
            type_end: ends[1],
            source_end: ends[2],
            actor_end: ends[3],
        })
    }

    fn bytes(&self) -> &[u8] {
        &self.value
    }

    fn text(&self, from: usize, to: u32) -> &str {
        // Checked as UTF-8 in `decode`; the empty fallback is unreachable.
        std::str::from_utf8(&self.bytes()[from..to as usize]).unwrap_or_default()
    }

    /// Global sequence number, gap-free from 1.
    #[must_use]
    pub fn seq(&self) -> u64 {
        le_u64(self.bytes(), OFF_SEQ)
    }
    /// Version of the event within its stream, from 1.
    #[must_use]
    pub fn stream_version(&self) -> u64 {
        le_u64(self.bytes(), OFF_STREAM_VERSION)
    }
    /// The idempotency key.
    #[must_use]
    pub fn event_id(&self) -> EventId {
        // Checked non-zero in `decode`.
        EventId::new(le_u128(self.bytes(), OFF_EVENT_ID)).unwrap_or(EventId::MAX)
    }
    /// Correlation id, if any.
    #[must_use]
    pub fn correlation_id(&self) -> Option<EventId> {
        EventId::new(le_u128(self.bytes(), OFF_CORRELATION))
    }
    /// Causation id, if any.
    #[must_use]
    pub fn causation_id(&self) -> Option<EventId> {
        EventId::new(le_u128(self.bytes(), OFF_CAUSATION))
    }
    /// Business time from the source, ms since the Unix epoch.
    #[must_use]
    pub fn occurred_at_ms(&self) -> i64 {
        le_u64(self.bytes(), OFF_OCCURRED) as i64
    }
    /// Ledger time, ms since the Unix epoch; non-decreasing along the log.
    #[must_use]
    pub fn recorded_at_ms(&self) -> i64 {
        le_u64(self.bytes(), OFF_RECORDED) as i64
    }
    /// Schema version of the payload.
    #[must_use]
    pub fn schema_version(&self) -> u16 {
        u16::from_le_bytes([self.bytes()[OFF_SCHEMA], self.bytes()[OFF_SCHEMA + 1]])
    }
    /// Hash of the previous frame.
    #[must_use]
    pub fn prev_hash(&self) -> Digest {
        let mut out = [0; 32];
        out.copy_from_slice(&self.bytes()[OFF_PREV..OFF_PREV + 32]);
        Digest::from_bytes(out)
    }
    /// This frame's chain hash, as stored.
    #[must_use]
    pub fn hash(&self) -> Digest {
        let bytes = self.bytes();
        let mut out = [0; 32];
        out.copy_from_slice(&bytes[bytes.len() - HASH_BYTES..]);
        Digest::from_bytes(out)
    }
    /// Stream id.
    #[must_use]
    pub fn stream(&self) -> &str {
        self.text(HEADER_BYTES, self.stream_end)
    }
    /// Event type name.
    #[must_use]
    pub fn event_type(&self) -> &str {
        self.text(self.stream_end as usize, self.type_end)
    }
    /// Source (system, channel, external id), as the caller wrote it.
    #[must_use]
    pub fn source(&self) -> &str {
        self.text(self.type_end as usize, self.source_end)
    }
    /// Actor.
    #[must_use]
    pub fn actor(&self) -> &str {
        self.text(self.source_end as usize, self.actor_end)
    }
    /// The opaque payload.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        let bytes = self.bytes();
        &bytes[self.actor_end as usize..bytes.len() - HASH_BYTES]
    }
    /// The exact frame bytes the hash covers (without the hash trailer).
    #[must_use]
    pub fn frame_bytes(&self) -> &[u8] {
        let bytes = self.bytes();
        &bytes[..bytes.len() - HASH_BYTES]
    }
    /// The stored value: frame bytes followed by the hash.
    #[must_use]
    pub fn stored_bytes(&self) -> &[u8] {
        self.bytes()
    }
}

impl fmt::Debug for RecordedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedEvent")
            .field("seq", &self.seq())
            .field("stream", &self.stream())
            .field("stream_version", &self.stream_version())
            .field("event_type", &self.event_type())
            .field("event_id", &self.event_id())
            .field("payload_len", &self.payload().len())
            .finish_non_exhaustive()
    }
}
