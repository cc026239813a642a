//! Versioned view state: every write a projection makes is also kept, with the seq of the event
//! that made it, in the view's history keyspace, so that the view as it was after any seq is
//! read with seeks instead of a replay of the log.
//!
//! A history key is `escape(key) ‖ 0x00 0x00 ‖ !seq` (u64 big-endian, bitwise not):
//! - `escape` writes every 0x00 byte of the key as 0x00 0xFF. The escaped keys with their
//!   terminator are prefix-free and sort as the keys do, so all versions of one key are
//!   contiguous and keys keep their order (prefix scans and cursors map one to one).
//! - `!seq` puts the newest version of a key first: the version in force after seq `S` is the
//!   first entry at or after `escape(key) ‖ 0x00 0x00 ‖ !S` that still belongs to the key: one
//!   seek.
//!
//! A history value is a tag byte, [`PUT`] followed by the value or [`DELETED`] alone.
//!
//! Reading a range as of `S` costs one or two seeks per distinct key in the range (never a walk
//! over a key's versions beyond [`SKIP_BEFORE_SEEK`]), so it does not grow with the length of
//! history, only with the number of keys the range ever held.

use fjall::{Keyspace, Readable as _, Snapshot};
use std::ops::Bound;

/// Tag of a history value holding the value written.
pub(crate) const PUT: u8 = 1;
/// Tag of a history value recording a deletion.
pub(crate) const DELETED: u8 = 0;
/// The two bytes that end an escaped key.
const TERMINATOR: [u8; 2] = [0, 0];
/// Older versions of a key walked over before a seek past them is cheaper.
const SKIP_BEFORE_SEEK: usize = 4;

/// Appends the escaped form of `key` (every 0x00 as 0x00 0xFF) to `out`.
pub(crate) fn escape_into(out: &mut Vec<u8>, key: &[u8]) {
    for &b in key {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// `escape(key) ‖ terminator`: the part of a history key before the seq.
pub(crate) fn key_part(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 10);
    escape_into(&mut out, key);
    out.extend_from_slice(&TERMINATOR);
    out
}

/// The history key of `key`'s version written by `seq`.
pub(crate) fn history_key(key: &[u8], seq: u64) -> Vec<u8> {
    let mut out = key_part(key);
    out.extend_from_slice(&(!seq).to_be_bytes());
    out
}

/// The encoded history value of a write (`None`: a deletion).
pub(crate) fn history_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![DELETED],
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(PUT);
            out.extend_from_slice(v);
            out
        }
    }
}

/// Splits a history key into its key part (escaped key and terminator) and its seq.
fn split(history_key: &[u8]) -> Option<(&[u8], u64)> {
    let cut = history_key.len().checked_sub(8)?;
    let (part, seq) = history_key.split_at(cut);
    if !part.ends_with(&TERMINATOR) {
        return None;
    }
    Some((part, !u64::from_be_bytes(seq.try_into().ok()?)))
}

/// The key an escaped key part (with its terminator) stands for.
fn unescape(part: &[u8]) -> Option<Vec<u8>> {
    let body = part.strip_suffix(&TERMINATOR)?;
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.iter();
    while let Some(&b) = bytes.next() {
        out.push(b);
        if b == 0 && bytes.next() != Some(&0xFF) {
            return None;
        }
    }
    Some(out)
}

/// The value a history value records: `Some(value)`, or `None` for a deletion.
fn value_of(stored: &[u8]) -> Option<Option<&[u8]>> {
    match stored.split_first()? {
        (&PUT, value) => Some(Some(value)),
        (&DELETED, []) => Some(None),
        _ => None,
    }
}

/// A malformed history entry (a bug or damage: history is written only by this module).
#[derive(Debug)]
pub(crate) struct Malformed(pub(crate) String);

fn malformed(what: &str, key: &[u8]) -> Malformed {
    Malformed(format!("history {what} at {key:?}"))
}

/// The smallest byte string greater than every string starting with `prefix` (`None`: no
/// such string, the prefix is empty or all 0xFF).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|b| *b != 0xFF)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

/// Reads of one view's history as of one seq, in one snapshot.
pub(crate) struct AsOf<'a> {
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) history: &'a Keyspace,
    pub(crate) seq: u64,
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

impl AsOf<'_> {
    /// The value of the key whose key part is `part`, as of the seq: one seek.
    fn point(&self, part: &[u8]) -> Result<Option<Vec<u8>>, Malformed> {
        let mut from = part.to_vec();
        from.extend_from_slice(&(!self.seq).to_be_bytes());
        let mut to = part.to_vec();
        to.extend_from_slice(&[0xFF; 8]);
        let Some(guard) = self.snapshot.range(self.history, from..=to).next() else {
            return Ok(None);
        };
        let (_, v) = guard.into_inner().map_err(|e| Malformed(format!("read: {e}")))?;
        let value = value_of(&v).ok_or_else(|| malformed("value", part))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    /// The value of `key` as of the seq.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Malformed> {
        self.point(&key_part(key))
    }

    /// Keys (and their values as of the seq) with key part in `(lower, upper)`, in key order,
    /// at most `limit`; keys deleted as of the seq or not yet written are left out.
    pub(crate) fn scan_forward(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
    ) -> Result<Entries, Malformed> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut start = lower;
        'seek: loop {
            let mut current: Option<Vec<u8>> = None;
            let mut resolved = false;
            let mut skipped = 0_usize;
            for guard in self.snapshot.range(self.history, (start.clone(), upper.clone())) {
                let (k, v) = guard.into_inner().map_err(|e| Malformed(format!("read: {e}")))?;
                let (part, seq) = split(&k).ok_or_else(|| malformed("key", &k))?;
                if current.as_deref() != Some(part) {
                    current = Some(part.to_vec());
                    resolved = false;
                    skipped = 0;
                }
                if !resolved && seq <= self.seq {
                    // The newest version not after the seq (versions come newest first).
                    resolved = true;
                    if let Some(value) = value_of(&v).ok_or_else(|| malformed("value", &k))? {
                        let key = unescape(part).ok_or_else(|| malformed("key", &k))?;
                        out.push((key, value.to_vec()));
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                    continue;
                }
                skipped += 1;
                if skipped > SKIP_BEFORE_SEEK {
                    // Many versions: seek instead of walking them.
                    let part = current.take().unwrap_or_default();
                    if !resolved && let Some(value) = self.point(&part)? {
                        let key = unescape(&part).ok_or_else(|| malformed("key", &part))?;
                        out.push((key, value));
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                    let mut past = part;
                    past.extend_from_slice(&[0xFF; 8]);
                    start = Bound::Excluded(past);
                    continue 'seek;
                }
            }
            return Ok(out);
        }
    }

    /// The mirror of [`AsOf::scan_forward`]: keys in `(lower, upper)` nearest `upper` first.
    pub(crate) fn scan_backward(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        limit: usize,
    ) -> Result<Entries, Malformed> {
        let mut out = Vec::new();
        let mut end = upper;
        while out.len() < limit {
            // The last entry below `end` is the oldest version of the nearest key.
            let Some(guard) = self.snapshot.range(self.history, (lower.clone(), end)).next_back()
            else {
                break;
            };
            let k = guard.key().map_err(|e| Malformed(format!("read: {e}")))?;
            let (part, _) = split(&k).ok_or_else(|| malformed("key", &k))?;
            if let Some(value) = self.point(part)? {
                out.push((unescape(part).ok_or_else(|| malformed("key", &k))?, value));
            }
            end = Bound::Excluded(part.to_vec());
        }
        Ok(out)
    }

    /// Every key under `prefix` as of the seq.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, Malformed> {
        let (lower, upper) = prefix_bounds(prefix);
        self.scan_forward(lower, upper, usize::MAX)
    }
}

/// The history-key range of the keys starting with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut escaped = Vec::with_capacity(prefix.len() + 2);
    escape_into(&mut escaped, prefix);
    let upper = prefix_end(&escaped).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(escaped), upper)
}

/// The history-key bound just past every version of `key` (keys strictly after it follow).
pub(crate) fn after_key(key: &[u8]) -> Vec<u8> {
    let mut past = key_part(key);
    past.extend_from_slice(&[0xFF; 8]);
    past
}

/// The history-key bound before every version of `key` (keys strictly before it precede).
pub(crate) fn before_key(key: &[u8]) -> Vec<u8> {
    key_part(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_keys_sort_as_the_keys_and_no_key_part_prefixes_another() {
        let keys: [&[u8]; 9] =
            [b"", b"\0", b"\0\0", b"\0\xff", b"a", b"a\0", b"a\0b", b"a\x01", b"\xff\xff"];
        for a in keys {
            for b in keys {
                let (pa, pb) = (key_part(a), key_part(b));
                assert_eq!(a.cmp(b), pa.cmp(&pb), "{a:?} vs {b:?}");
                if a != b {
                    assert!(!pb.starts_with(&pa), "{a:?} is a part-prefix of {b:?}");
                }
                // Every version of a sorts the way a does against every version of b.
                let (va, vb) = (history_key(a, 0), history_key(b, u64::MAX));
                if a != b {
                    assert_eq!(a.cmp(b), va.cmp(&vb));
                }
            }
            assert_eq!(unescape(&key_part(a)).as_deref(), Some(a));
            assert_eq!(split(&history_key(a, 42)), Some((key_part(a).as_slice(), 42)));
        }
        assert!(history_key(b"k", 9) < history_key(b"k", 3), "newest version first");
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_with_that_prefix() {
        let keys: [&[u8]; 7] = [b"a", b"a\0", b"a\0b", b"a\0\0", b"ab", b"b", b"\0"];
        for prefix in [&b"a"[..], b"a\0", b""] {
            let (lower, upper) = prefix_bounds(prefix);
            for key in keys {
                let k = history_key(key, 7);
                let inside = match &lower {
                    Bound::Included(l) => k >= *l,
                    _ => unreachable!(),
                } && match &upper {
                    Bound::Excluded(u) => k < *u,
                    Bound::Unbounded => true,
                    Bound::Included(_) => unreachable!(),
                };
                assert_eq!(inside, key.starts_with(prefix), "{key:?} under {prefix:?}");
            }
        }
    }

    #[test]
    fn values_round_trip_and_damage_is_refused() {
        assert_eq!(value_of(&history_value(Some(b"x"))), Some(Some(&b"x"[..])));
        assert_eq!(value_of(&history_value(Some(b""))), Some(Some(&b""[..])));
        assert_eq!(value_of(&history_value(None)), Some(None));
        assert_eq!(value_of(&[DELETED, 1]), None);
        assert_eq!(value_of(&[7]), None);
        assert_eq!(value_of(&[]), None);
        assert_eq!(unescape(b"a\0\x01\0\0"), None, "a lone 0x00 in an escaped key");
    }
}
