//! Submission counters, kept durably *outside* the hash-chained log: per UTC day of the
//! decision, source and command type, the commands decided, rejected, and rejected per
//! rejection code (the integration failure rate of docs/domain.md §5, which survives a
//! restart).
//!
//! They live in their own fjall database (`<store>/stats`), not in the log's: the log stays
//! the audited record (a rejected command appends nothing to it), and nothing here is hashed,
//! signed, verified or exported. The writer records each decision group's counters in one
//! fjall batch after deciding the group, written to the OS but not fsynced: a process crash
//! loses nothing already recorded; a machine crash may lose the counters of the last groups
//! the OS had not written yet. Days older than the retention are dropped at open and whenever
//! the day changes.
//!
//! Layout (keyspace `submissions`): day (days since the epoch, i32 with its sign bit flipped,
//! big-endian, so byte order is day order) ‖ source length (u16 BE) ‖ source ‖ command type →
//! [`SubmissionCounts`] as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

/// Days of counters kept by default: today and the 89 days before it.
pub const RETENTION_DAYS_DEFAULT: u32 = 90;

/// Most days of counters kept (a configured retention above it is clamped): 100 years.
pub const RETENTION_DAYS_MAX: u32 = 36_500;

/// Most (source, command type) rows one day keeps; submissions of further new rows that day
/// count under the source [`OVERFLOW_SOURCE`], so a flood of distinct sources cannot grow the
/// counters without bound.
pub const ROWS_PER_DAY_MAX: usize = 10_000;

/// The source counted for rows beyond [`ROWS_PER_DAY_MAX`] in one day.
pub const OVERFLOW_SOURCE: &str = "(other sources)";

const KEYSPACE: &str = "submissions";
const MS_PER_DAY: i64 = 86_400_000;

/// Submissions and rejections of one source and command type (on one day, or summed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionCounts {
    /// Submissions decided (accepted or rejected).
    pub submitted: u64,
    /// Of which rejected.
    pub rejected: u64,
    /// Rejections per rejection code.
    pub rejected_by_code: BTreeMap<String, u64>,
}

impl SubmissionCounts {
    /// Adds `other` to these counts (saturating: counters never wrap).
    pub fn add(&mut self, other: &SubmissionCounts) {
        self.submitted = self.submitted.saturating_add(other.submitted);
        self.rejected = self.rejected.saturating_add(other.rejected);
        for (code, n) in &other.rejected_by_code {
            let entry = self.rejected_by_code.entry(code.clone()).or_default();
            *entry = entry.saturating_add(*n);
        }
    }
}

/// A row's key: (UTC day, source, command type).
pub type RowKey = (i32, String, String);

/// The UTC day (days since the epoch) of a time in ms since the epoch.
#[must_use]
pub fn day_of_ms(ms: i64) -> i32 {
    i32::try_from(ms.div_euclid(MS_PER_DAY)).unwrap_or(if ms < 0 { i32::MIN } else { i32::MAX })
}

fn day_bytes(day: i32) -> [u8; 4] {
    (day.cast_unsigned() ^ 0x8000_0000).to_be_bytes()
}

fn encode_key((day, source, kind): &RowKey) -> Vec<u8> {
    let mut key = Vec::with_capacity(6 + source.len() + kind.len());
    key.extend_from_slice(&day_bytes(*day));
    key.extend_from_slice(&u16::try_from(source.len()).unwrap_or(u16::MAX).to_be_bytes());
    key.extend_from_slice(source.as_bytes());
    key.extend_from_slice(kind.as_bytes());
    key
}

fn decode_key(key: &[u8]) -> Option<RowKey> {
    let day = u32::from_be_bytes(key.get(..4)?.try_into().ok()?) ^ 0x8000_0000;
    let len = usize::from(u16::from_be_bytes(key.get(4..6)?.try_into().ok()?));
    let source = std::str::from_utf8(key.get(6..6 + len)?).ok()?.to_owned();
    let kind = std::str::from_utf8(key.get(6 + len..)?).ok()?.to_owned();
    Some((day.cast_signed(), source, kind))
}

/// Why the counters could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// The database failed.
    #[error("submission counters: {0}")]
    Storage(#[from] fjall::Error),
    /// A stored row does not decode.
    #[error("submission counters: row {key} does not decode: {reason}")]
    Corrupt {
        /// The key, hex.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The counters: every retained row in memory, written through to their own database.
pub(crate) struct SubmissionStats {
    db: Database,
    rows_ks: Keyspace,
    retention_days: u32,
    rows: BTreeMap<RowKey, SubmissionCounts>,
    /// Rows changed since the last [`SubmissionStats::flush`].
    dirty: Vec<RowKey>,
    /// The last day pruned for.
    pruned_for: i32,
    /// Most rows per day ([`ROWS_PER_DAY_MAX`]; smaller in unit tests).
    rows_per_day_max: usize,
}

impl std::fmt::Debug for SubmissionStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmissionStats")
            .field("retention_days", &self.retention_days)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl SubmissionStats {
    /// Opens (or creates) the counters in `path`, reads every row back and drops the days
    /// past the retention as of `today`.
    pub(crate) fn open(path: &Path, retention_days: u32, today: i32) -> Result<Self, StatsError> {
        let db = Database::builder(path).open()?;
        // Rows are rewritten on every submission: a small write buffer bounds the versions
        // held in memory (fjall's default is 64 MiB).
        let options = || KeyspaceCreateOptions::default().max_memtable_size(4 << 20);
        let rows_ks = db.keyspace(KEYSPACE, options)?;
        let mut rows = BTreeMap::new();
        for guard in rows_ks.iter() {
            let (key, value) = guard.into_inner()?;
            let corrupt = |reason: String| StatsError::Corrupt {
                key: key.iter().map(|b| format!("{b:02x}")).collect(),
                reason,
            };
            let row = decode_key(&key).ok_or_else(|| corrupt("bad key".to_owned()))?;
            let counts: SubmissionCounts =
                serde_json::from_slice(&value).map_err(|e| corrupt(e.to_string()))?;
            rows.insert(row, counts);
        }
        let mut stats = Self {
            db,
            rows_ks,
            retention_days: retention_days.clamp(1, RETENTION_DAYS_MAX),
            rows,
            dirty: Vec::new(),
            pruned_for: i32::MIN,
            rows_per_day_max: ROWS_PER_DAY_MAX,
        };
        stats.prune(today)?;
        Ok(stats)
    }

    /// The first day kept when today is `today`.
    fn first_kept(&self, today: i32) -> i32 {
        let back = i32::try_from(self.retention_days - 1).unwrap_or(i32::MAX);
        today.saturating_sub(back)
    }

    /// Drops the rows of days before the retention window, in memory and on disk.
    fn prune(&mut self, today: i32) -> Result<(), StatsError> {
        if self.pruned_for == today {
            return Ok(());
        }
        let first = self.first_kept(today);
        let old: Vec<RowKey> = self
            .rows
            .range(..(first, String::new(), String::new()))
            .map(|(k, _)| k.clone())
            .collect();
        if !old.is_empty() {
            let mut batch = self.db.batch();
            for key in &old {
                batch.remove(&self.rows_ks, encode_key(key));
                self.rows.remove(key);
            }
            batch.commit()?;
            self.db.persist(PersistMode::Buffer)?;
        }
        self.dirty.retain(|k| k.0 >= first);
        self.pruned_for = today;
        Ok(())
    }

    /// Counts one decided submission on `today`: `rejection` is its code when rejected.
    pub(crate) fn count(&mut self, today: i32, source: &str, kind: &str, rejection: Option<&str>) {
        let mut key = (today, source.to_owned(), kind.to_owned());
        if !self.rows.contains_key(&key) {
            let start = (today, String::new(), String::new());
            let end = (today.saturating_add(1), String::new(), String::new());
            if self.rows.range(start..end).take(self.rows_per_day_max).count()
                >= self.rows_per_day_max
            {
                key.1 = OVERFLOW_SOURCE.to_owned();
            }
        }
        let row = self.rows.entry(key.clone()).or_default();
        row.submitted = row.submitted.saturating_add(1);
        if let Some(code) = rejection {
            row.rejected = row.rejected.saturating_add(1);
            let n = row.rejected_by_code.entry(code.to_owned()).or_default();
            *n = n.saturating_add(1);
        }
        self.dirty.push(key);
    }

    /// Writes the rows changed since the last flush in one batch (to the OS, not fsynced),
    /// after dropping days past the retention as of `today`.
    pub(crate) fn flush(&mut self, today: i32) -> Result<(), StatsError> {
        self.prune(today)?;
        if self.dirty.is_empty() {
            return Ok(());
        }
        self.dirty.sort_unstable();
        self.dirty.dedup();
        let mut batch = self.db.batch();
        for key in &self.dirty {
            if let Some(counts) = self.rows.get(key) {
                let value = serde_json::to_vec(counts).unwrap_or_default();
                batch.insert(&self.rows_ks, encode_key(key), value);
            }
        }
        batch.commit()?;
        self.db.persist(PersistMode::Buffer)?;
        self.dirty.clear();
        Ok(())
    }

    /// The counters of days `since..` summed per (source, command type).
    pub(crate) fn since(&self, since: i32) -> BTreeMap<(String, String), SubmissionCounts> {
        let mut out: BTreeMap<(String, String), SubmissionCounts> = BTreeMap::new();
        for ((_, source, kind), counts) in self.rows.range((since, String::new(), String::new())..)
        {
            out.entry((source.clone(), kind.clone())).or_default().add(counts);
        }
        out
    }

    /// The first day with counters, if any.
    pub(crate) fn first_day(&self) -> Option<i32> {
        self.rows.keys().next().map(|k| k.0)
    }

    /// Days of counters kept.
    pub(crate) fn retention_days(&self) -> u32 {
        self.retention_days
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn keys_round_trip_in_day_order() {
        let a = (-1, "shop".to_owned(), "receive_order".to_owned());
        let b = (0, "".to_owned(), "x".to_owned());
        let c = (20_000, "a:b".to_owned(), "cycle_count".to_owned());
        for k in [&a, &b, &c] {
            assert_eq!(decode_key(&encode_key(k)).as_ref(), Some(k));
        }
        assert!(encode_key(&a) < encode_key(&b) && encode_key(&b) < encode_key(&c));
        assert_eq!(day_of_ms(-1), -1);
        assert_eq!(day_of_ms(MS_PER_DAY), 1);
    }

    #[test]
    fn a_day_keeps_a_bounded_number_of_rows_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut stats = SubmissionStats::open(dir.path(), 90, 100).unwrap();
        stats.rows_per_day_max = 2;
        stats.count(100, "a", "t", None);
        stats.count(100, "b", "t", Some("UNKNOWN_SKU"));
        stats.count(100, "c", "t", Some("UNKNOWN_SKU")); // a third row: counted as overflow
        stats.count(100, "a", "t", None); // an existing row keeps counting
        stats.count(101, "d", "t", None); // another day has its own rows
        stats.flush(101).unwrap();
        drop(stats);
        let stats = SubmissionStats::open(dir.path(), 90, 101).unwrap();
        let all = stats.since(i32::MIN);
        let row =
            |s: &str| all.get(&(s.to_owned(), "t".to_owned())).map(|c| (c.submitted, c.rejected));
        assert_eq!(row("a"), Some((2, 0)));
        assert_eq!(row("b"), Some((1, 1)));
        assert_eq!(row("c"), None);
        assert_eq!(row(OVERFLOW_SOURCE), Some((1, 1)));
        assert_eq!(row("d"), Some((1, 0)));
        assert_eq!(stats.since(101).len(), 1);
    }
}
