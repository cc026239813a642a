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
//! history, only with the number of keys the range ever held. For ranges whose keys come and
//! go, that number grows with history too; a scan that meets many keys absent as of `S` reads
//! the view's lifetime index instead ([`lifetime_entry`]), which yields the keys alive at `S`.

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

/// A range of view keys (not history keys).
pub(crate) type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The history-key bound below which no version of a key in the range sorts.
fn lower_part(bound: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(key_part(k)),
        Bound::Excluded(k) => Bound::Excluded(after_key(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The history-key bound above which no version of a key in the range sorts.
fn upper_part(bound: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(after_key(k)),
        Bound::Excluded(k) => Bound::Excluded(key_part(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// `bound` (a history-key bound) inside the lifetime node `node`.
fn in_node(node: &[u8], bound: Bound<Vec<u8>>, upper: bool) -> Bound<Vec<u8>> {
    let within = |part: Vec<u8>| {
        let mut out = node.to_vec();
        out.extend_from_slice(&part);
        out
    };
    match bound {
        Bound::Included(part) => Bound::Included(within(part)),
        Bound::Excluded(part) => Bound::Excluded(within(part)),
        Bound::Unbounded if upper => prefix_end(node).map_or(Bound::Unbounded, Bound::Excluded),
        Bound::Unbounded => Bound::Included(node.to_vec()),
    }
}

/// Reads of one view's history as of one seq, in one snapshot.
pub(crate) struct AsOf<'a> {
    pub(crate) snapshot: &'a Snapshot,
    /// The view's state (its keys alive now).
    pub(crate) state: &'a Keyspace,
    pub(crate) history: &'a Keyspace,
    /// The view's lifetime index, when it holds every lifetime its history does (`None`:
    /// scans walk the history only).
    pub(crate) lifetimes: Option<&'a Keyspace>,
    pub(crate) seq: u64,
    /// The seq the state has applied: no lifetime ends after it.
    pub(crate) head: u64,
    /// Keys not alive as of the seq that a forward scan walks in the history before it reads
    /// the lifetime index instead (a backward scan: a sixteenth of it).
    pub(crate) dead_before_index: usize,
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A key at the head of one source of a merge, ordered so that the heap's top is the next
/// key in the scan's direction.
#[derive(PartialEq, Eq)]
struct Head {
    key: Vec<u8>,
    source: usize,
    descending: bool,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let by_key =
            if self.descending { self.key.cmp(&other.key) } else { other.key.cmp(&self.key) };
        by_key.then(other.source.cmp(&self.source))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

type Keys<'a> = Box<dyn Iterator<Item = Result<Vec<u8>, Malformed>> + 'a>;

fn read_error(e: &fjall::Error) -> Malformed {
    Malformed(format!("read: {e}"))
}

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
        let (_, v) = guard.into_inner().map_err(|e| read_error(&e))?;
        let value = value_of(&v).ok_or_else(|| malformed("value", part))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    /// The value of `key` as of the seq.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Malformed> {
        self.point(&key_part(key))
    }

    /// Keys in `range` (and their values as of the seq), in key order or `descending`, at
    /// most `limit`; keys deleted as of the seq or not yet written are left out.
    pub(crate) fn scan(
        &self,
        range: KeyRange,
        descending: bool,
        limit: usize,
    ) -> Result<Entries, Malformed> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if descending { self.scan_backward(range, limit) } else { self.scan_forward(range, limit) }
    }

    /// Whether a scan that has walked `dead` keys not alive as of the seq reads the lifetime
    /// index from here on.
    fn index_now(&self, dead: usize, threshold: usize) -> bool {
        self.lifetimes.is_some() && dead >= threshold
    }

    fn scan_forward(&self, range: KeyRange, limit: usize) -> Result<Entries, Malformed> {
        let threshold = self.dead_before_index;
        if self.index_now(0, threshold) {
            return self.indexed(range, false, limit);
        }
        let mut out = Vec::new();
        let upper = upper_part(&range.1);
        let mut start = lower_part(&range.0);
        let mut dead = 0_usize;
        'seek: loop {
            // The key walked now, whether it was answered, and whether its version as of the
            // seq was found; older versions walked past.
            let mut current: Option<Vec<u8>> = None;
            let mut answered = false;
            let mut resolved = false;
            let mut skipped = 0_usize;
            for guard in self.snapshot.range(self.history, (start.clone(), upper.clone())) {
                let (k, v) = guard.into_inner().map_err(|e| read_error(&e))?;
                let (part, seq) = split(&k).ok_or_else(|| malformed("key", &k))?;
                if current.as_deref() != Some(part) {
                    if current.is_some() && !answered {
                        dead += 1;
                    }
                    if self.index_now(dead, threshold) {
                        // Most keys here are gone as of the seq: read only those alive then.
                        let key = unescape(part).ok_or_else(|| malformed("key", &k))?;
                        let rest = (Bound::Included(key), range.1);
                        out.extend(self.indexed(rest, false, limit - out.len())?);
                        return Ok(out);
                    }
                    current = Some(part.to_vec());
                    answered = false;
                    resolved = false;
                    skipped = 0;
                }
                if !resolved && seq <= self.seq {
                    // The newest version not after the seq (versions come newest first).
                    resolved = true;
                    if let Some(value) = value_of(&v).ok_or_else(|| malformed("value", &k))? {
                        let key = unescape(part).ok_or_else(|| malformed("key", &k))?;
                        out.push((key, value.to_vec()));
                        answered = true;
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
                        answered = true;
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                    if !answered {
                        dead += 1;
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

    /// The mirror of [`AsOf::scan_forward`]: keys nearest the range's upper end first.
    fn scan_backward(&self, range: KeyRange, limit: usize) -> Result<Entries, Malformed> {
        // Each key walked backward costs a seek of its own: the index pays off sooner.
        let threshold = self.dead_before_index / 16;
        let lower = lower_part(&range.0);
        let mut out = Vec::new();
        let mut end = upper_part(&range.1);
        let mut dead = 0_usize;
        while out.len() < limit {
            // The last entry below `end` is the oldest version of the nearest key.
            let Some(guard) = self.snapshot.range(self.history, (lower.clone(), end)).next_back()
            else {
                break;
            };
            let k = guard.key().map_err(|e| read_error(&e))?;
            let (part, _) = split(&k).ok_or_else(|| malformed("key", &k))?;
            let key = unescape(part).ok_or_else(|| malformed("key", &k))?;
            if self.index_now(dead, threshold) {
                let rest = (range.0, Bound::Included(key));
                out.extend(self.indexed(rest, true, limit - out.len())?);
                break;
            }
            match self.point(part)? {
                Some(value) => out.push((key, value)),
                None => dead += 1,
            }
            end = Bound::Excluded(part.to_vec());
        }
        Ok(out)
    }

    /// Keys in `range` alive as of the seq, from the lifetime index and the state, without a
    /// walk over the keys the range held at other times (see [`lifetime_key`]).
    ///
    /// A key alive as of the seq either has been deleted since (its lifetime `[c, d)` holds
    /// the seq, and is stored under the one node of each level that can hold it) or is still
    /// alive (it is in the state). Both sources give candidates in key order; one seek in the
    /// history per candidate gives its value as of the seq, or tells that it was not alive.
    fn indexed(
        &self,
        range: KeyRange,
        descending: bool,
        limit: usize,
    ) -> Result<Entries, Malformed> {
        let Some(lifetimes) = self.lifetimes else {
            return Err(Malformed("history read without its lifetime index".to_owned()));
        };
        let seq = self.seq;
        let mut sources: Vec<Keys<'_>> = Vec::new();
        let levels = (u64::BITS - self.head.leading_zeros()).div_ceil(FANOUT_BITS);
        for level in 0..=levels.min(MAX_LEVEL) {
            let node = node_prefix(level, seq);
            let lower = in_node(&node, lower_part(&range.0), false);
            let upper = in_node(&node, upper_part(&range.1), true);
            let entries = self.snapshot.range(lifetimes, (lower, upper));
            let alive = move |guard: fjall::Guard| -> Option<Result<Vec<u8>, Malformed>> {
                let (k, v) = match guard.into_inner() {
                    Ok(kv) => kv,
                    Err(e) => return Some(Err(read_error(&e))),
                };
                let parsed = k.get(NODE_BYTES..).and_then(split).and_then(|(part, born)| {
                    let died = u64::from_be_bytes(v.as_ref().try_into().ok()?);
                    Some(((born..died).contains(&seq), part))
                });
                match parsed {
                    None => Some(Err(malformed("lifetime", &k))),
                    Some((false, _)) => None,
                    Some((true, part)) => Some(unescape(part).ok_or_else(|| malformed("key", &k))),
                }
            };
            if descending {
                sources.push(Box::new(entries.rev().filter_map(alive)));
            } else {
                sources.push(Box::new(entries.filter_map(alive)));
            }
        }
        let live = self.snapshot.range(self.state, range);
        let key_of =
            |guard: fjall::Guard| guard.key().map(|k| k.to_vec()).map_err(|e| read_error(&e));
        if descending {
            sources.push(Box::new(live.rev().map(key_of)));
        } else {
            sources.push(Box::new(live.map(key_of)));
        }
        let mut heads = std::collections::BinaryHeap::new();
        for (source, keys) in sources.iter_mut().enumerate() {
            if let Some(key) = keys.next() {
                heads.push(Head { key: key?, source, descending });
            }
        }
        let mut out = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        while let Some(Head { key, source, .. }) = heads.pop() {
            if let Some(next) = sources[source].next() {
                heads.push(Head { key: next?, source, descending });
            }
            if last.as_ref() == Some(&key) {
                continue;
            }
            if let Some(value) = self.point(&key_part(&key))? {
                out.push((key.clone(), value));
                if out.len() == limit {
                    break;
                }
            }
            last = Some(key);
        }
        Ok(out)
    }

    /// Every key under `prefix` as of the seq.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, Malformed> {
        self.scan(prefix_range(prefix), false, usize::MAX)
    }
}

/// The view-key range of the keys starting with `prefix`.
pub(crate) fn prefix_range(prefix: &[u8]) -> KeyRange {
    let upper = prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded);
    (Bound::Included(prefix.to_vec()), upper)
}

/// Bytes of a lifetime node: its level and its number.
const NODE_BYTES: usize = 9;
/// Bits of seq per level of the lifetime tree: a node of level `l` spans 16^l seqs, so a read
/// opens one range per level, seven at 10 M events (a binary tree needed 25).
const FANOUT_BITS: u32 = 4;
/// The highest level of a lifetime node (16^16 = 2^64).
const MAX_LEVEL: u32 = u64::BITS / FANOUT_BITS;

/// The node of level `level` that holds `seq`: the seqs that agree with it above bit
/// `level × FANOUT_BITS`.
fn node_prefix(level: u32, seq: u64) -> [u8; NODE_BYTES] {
    let mut node = [0; NODE_BYTES];
    node[0] = u8::try_from(level).expect("levels are at most 16");
    node[1..].copy_from_slice(&seq.checked_shr(level * FANOUT_BITS).unwrap_or(0).to_be_bytes());
    node
}

/// The lifetime index entry of `key`, alive from seq `born` until it was deleted by seq
/// `died` (`born < died`): key `node ‖ escape(key) ‖ 00 00 ‖ !born`, value `died` (u64 BE).
///
/// The node is the smallest aligned power-of-16 range of seqs holding `born` and `died - 1`
/// (a node of a 16-ary interval tree over seqs). A read as of seq `S` visits the one node of
/// each level that holds `S`: every lifetime holding `S` is in one of them, and each of them
/// holds only lifetimes that cross one of its fifteen inner edges, so what a read walks past
/// is bounded by the keys alive around those edges, not by all the keys the range ever held.
pub(crate) fn lifetime_entry(key: &[u8], born: u64, died: u64) -> (Vec<u8>, Vec<u8>) {
    debug_assert!(born < died, "a lifetime ends after it starts");
    let last = died - 1;
    let level = (u64::BITS - (born ^ last).leading_zeros()).div_ceil(FANOUT_BITS);
    let mut out = node_prefix(level, born).to_vec();
    out.extend_from_slice(&history_key(key, born));
    (out, died.to_be_bytes().to_vec())
}

/// Versions of a key walked back to find where its lifetime began, before a deletion records
/// the lifetime as starting at seq 0 (an earlier start only adds a candidate a read checks).
pub(crate) const LIFETIME_WALK: usize = 64;

/// Where the lifetime of a key ended by a deletion began: the oldest of the versions (given
/// newest first, all older than the deletion) written since the key's last deletion; `None`
/// when the key was not alive. `Some(0)` when the versions walked run past
/// [`LIFETIME_WALK`].
pub(crate) fn lifetime_start(versions: impl Iterator<Item = (u64, bool)>) -> Option<u64> {
    let mut start = None;
    for (walked, (seq, put)) in versions.enumerate() {
        if !put {
            break;
        }
        if walked == LIFETIME_WALK {
            return Some(0);
        }
        start = Some(seq);
    }
    start
}

/// A history entry as (seq, whether it holds a value): for [`lifetime_start`].
pub(crate) fn version_of(history_key: &[u8], value: &[u8]) -> Option<(u64, bool)> {
    let (_, seq) = split(history_key)?;
    let put = value_of(value)?.is_some();
    Some((seq, put))
}

/// The history-key bound just past every version of `key` (keys strictly after it follow).
pub(crate) fn after_key(key: &[u8]) -> Vec<u8> {
    let mut past = key_part(key);
    past.extend_from_slice(&[0xFF; 8]);
    past
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
            let range = prefix_range(prefix);
            let (lower, upper) = (lower_part(&range.0), upper_part(&range.1));
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
    fn a_lifetime_is_in_the_node_of_its_level_that_holds_each_seq_it_spans() {
        let spans = [
            (0, 1),
            (1, 2),
            (3, 4),
            (15, 17),
            (16, 32),
            (7, 9),
            (8, 16),
            (5, 1_000),
            (1 << 40, 1 << 41),
        ];
        for (born, died) in spans {
            let (entry, value) = lifetime_entry(b"k", born, died);
            assert_eq!(value, died.to_be_bytes());
            let level = u32::from(entry[0]);
            for seq in [born, died - 1, born + (died - born) / 2] {
                assert_eq!(entry[..NODE_BYTES], node_prefix(level, seq), "{born}..{died} at {seq}");
            }
            // One level lower, the span's ends are in two different nodes.
            if level > 0 {
                assert_ne!(node_prefix(level - 1, born), node_prefix(level - 1, died - 1));
            }
            assert_eq!(split(&entry[NODE_BYTES..]), Some((key_part(b"k").as_slice(), born)));
        }
    }

    #[test]
    fn a_lifetime_starts_at_the_oldest_write_since_the_last_deletion() {
        assert_eq!(lifetime_start(std::iter::empty()), None, "never written");
        assert_eq!(lifetime_start([(5, false), (3, true)].into_iter()), None, "already deleted");
        assert_eq!(
            lifetime_start([(9, true), (6, true), (4, false), (2, true)].into_iter()),
            Some(6)
        );
        let long: Vec<(u64, bool)> = (0..100).rev().map(|s| (s + 10, true)).collect();
        assert_eq!(
            lifetime_start(long.into_iter()),
            Some(0),
            "a long run starts at 0 (a superset)"
        );
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
