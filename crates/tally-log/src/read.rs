//! Readers over consistent snapshots, bounded by the durable head.

use crate::error::{Corruption, Error, Result};
use crate::frame::RecordedEvent;
use crate::ids::EventId;
use crate::layout;
use crate::log::Log;
use fjall::{Readable as _, Slice, Snapshot};
use std::ops::{Bound, RangeBounds};

pub(crate) fn decode_at(seq: u64, value: Slice) -> Result<RecordedEvent> {
    let event = RecordedEvent::decode(value)
        .map_err(|e| Error::Corrupt(Corruption::MalformedFrame { seq, reason: e.to_string() }))?;
    if event.seq() != seq {
        return Err(Error::Corrupt(Corruption::MisplacedFrame { key: seq, found: event.seq() }));
    }
    Ok(event)
}

/// Events in seq order from a snapshot; yields an error and stops at the first bad frame.
pub struct EventIter {
    iter: fjall::Iter,
    next_seq: u64,
    last_seq: u64,
    done: bool,
}

impl std::fmt::Debug for EventIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventIter")
            .field("next_seq", &self.next_seq)
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

impl EventIter {
    fn fail(&mut self, err: Error) -> Option<Result<RecordedEvent>> {
        self.done = true;
        Some(Err(err))
    }
}

impl Iterator for EventIter {
    type Item = Result<RecordedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.next_seq > self.last_seq {
            return None;
        }
        let Some(guard) = self.iter.next() else {
            let seq = self.next_seq;
            return self.fail(Error::Corrupt(Corruption::MissingFrame { seq }));
        };
        let (key, value) = match guard.into_inner() {
            Ok(kv) => kv,
            Err(e) => return self.fail(e.into()),
        };
        let key_seq = layout::be_u64(&key).unwrap_or(0);
        if key_seq != self.next_seq {
            let seq = self.next_seq;
            return self.fail(Error::Corrupt(Corruption::MissingFrame { seq }));
        }
        self.next_seq += 1;
        match decode_at(key_seq, value) {
            Ok(event) => Some(Ok(event)),
            Err(e) => self.fail(e),
        }
    }
}

/// The events of one stream from a version on, in stream order.
pub struct StreamIter {
    snapshot: Snapshot,
    frames: fjall::Keyspace,
    index: fjall::Iter,
    head_seq: u64,
    done: bool,
}

impl std::fmt::Debug for StreamIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamIter").field("head_seq", &self.head_seq).finish_non_exhaustive()
    }
}

impl Iterator for StreamIter {
    type Item = Result<RecordedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut step = || -> Result<Option<RecordedEvent>> {
            let Some(guard) = self.index.next() else { return Ok(None) };
            let (_, value) = guard.into_inner()?;
            let seq = layout::be_u64(&value).ok_or_else(|| {
                Error::Corrupt(Corruption::Index {
                    index: layout::STREAMS,
                    seq: 0,
                    reason: "value is not a seq".to_owned(),
                })
            })?;
            if seq > self.head_seq {
                return Ok(None);
            }
            let value = self
                .snapshot
                .get(&self.frames, layout::frame_key(seq))?
                .ok_or(Error::Corrupt(Corruption::MissingFrame { seq }))?;
            decode_at(seq, value).map(Some)
        };
        match step() {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Log {
    /// Events with seq in `range` (clamped to the durable head), from one snapshot.
    #[must_use]
    pub fn read(&self, range: impl RangeBounds<u64>) -> EventIter {
        let head = self.head().seq;
        let first = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s.saturating_add(1),
            Bound::Unbounded => 1,
        }
        .max(1);
        let last = match range.end_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s.saturating_sub(1),
            Bound::Unbounded => u64::MAX,
        }
        .min(head);
        let snapshot = self.inner.db.snapshot();
        let iter = snapshot.range(
            &self.inner.ks.frames,
            layout::frame_key(first)..=layout::frame_key(last.max(first)),
        );
        EventIter { iter, next_seq: first, last_seq: last, done: false }
    }

    /// The events of `stream` with version ≥ `from_version`, up to the durable head.
    #[must_use]
    pub fn read_stream(&self, stream: &str, from_version: u64) -> StreamIter {
        let head_seq = self.head().seq;
        let snapshot = self.inner.db.snapshot();
        let start = layout::stream_key(stream, from_version.max(1));
        let end = layout::stream_key(stream, u64::MAX);
        let index = snapshot.range(&self.inner.ks.streams, start..=end);
        StreamIter { snapshot, frames: self.inner.ks.frames.clone(), index, head_seq, done: false }
    }

    /// The event at `seq`, if it is durable.
    pub fn get(&self, seq: u64) -> Result<Option<RecordedEvent>> {
        if seq == 0 || seq > self.head().seq {
            return Ok(None);
        }
        match self.inner.ks.frames.get(layout::frame_key(seq))? {
            Some(value) => decode_at(seq, value).map(Some),
            None => Err(Error::Corrupt(Corruption::MissingFrame { seq })),
        }
    }

    /// The event stored under `event_id`, if it is durable.
    pub fn get_by_event_id(&self, event_id: EventId) -> Result<Option<RecordedEvent>> {
        let head = self.head().seq;
        let snapshot = self.inner.db.snapshot();
        let Some(value) = snapshot.get(&self.inner.ks.event_ids, event_id.to_be_bytes())? else {
            return Ok(None);
        };
        let (seq, _, _) = layout::parse_event_id_value(&value).ok_or_else(|| {
            Error::Corrupt(Corruption::Index {
                index: layout::EVENT_IDS,
                seq: 0,
                reason: format!("entry for {event_id} is malformed"),
            })
        })?;
        if seq > head {
            return Ok(None);
        }
        let value = snapshot
            .get(&self.inner.ks.frames, layout::frame_key(seq))?
            .ok_or(Error::Corrupt(Corruption::MissingFrame { seq }))?;
        let event = decode_at(seq, value)?;
        if event.event_id() != event_id {
            return Err(Error::Corrupt(Corruption::Index {
                index: layout::EVENT_IDS,
                seq,
                reason: format!("entry for {event_id} points at event {}", event.event_id()),
            }));
        }
        Ok(Some(event))
    }
}
