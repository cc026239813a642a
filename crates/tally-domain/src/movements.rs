//! On-hand history per stock bucket, by business time: what a partner's snapshot taken at
//! `as_of` is compared with (DOMAIN §3: a 3PL's count is of the units there *then*).
//!
//! Every event that changes a bucket's on-hand leaves one entry `(business time, change)`.
//! On-hand at `t` is on-hand now minus the changes with a business time after `t`, which is
//! right whatever order facts arrive in (a late shipment dated before `t` is already in
//! on-hand at `t`; one dated after is subtracted).
//!
//! The history is bounded: a bucket drops, from the front, the entries older than
//! [`HISTORY_WINDOW_MS`] before its newest entry's business time. Pruning is decided by event
//! times only, so every replay keeps exactly the same entries; `pruned_through` remembers the newest time ever pruned, and an
//! `as_of` before it cannot be answered (`STALE_SNAPSHOT`) rather than answered wrong.
//! Space: 16 bytes per on-hand change in the window (a bucket moving 1,000 times a day keeps
//! ≈ 480 KiB), plus a small header per bucket that ever moved.

use std::collections::VecDeque;

/// How much business time of on-hand history a bucket keeps: 30 days.
pub const HISTORY_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// One bucket's on-hand changes by business time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnHandHistory {
    /// `(business time ms, signed change of on-hand)`, in the order applied.
    entries: VecDeque<(i64, i64)>,
    /// The newest business time among the entries ever recorded.
    newest_ms: Option<i64>,
    /// The newest business time among the entries pruned (none: nothing was pruned).
    pruned_through_ms: Option<i64>,
    /// `as_of` of the bucket's last partner snapshot: the time its adjustment is dated.
    last_snapshot_ms: Option<i64>,
}

impl OnHandHistory {
    /// Records a change of on-hand at business time `at_ms`, then drops what left the window.
    pub(crate) fn record(&mut self, at_ms: i64, change: i64) {
        debug_assert!(change != 0, "only changes are recorded");
        self.entries.push_back((at_ms, change));
        let newest = self.newest_ms.map_or(at_ms, |n| n.max(at_ms));
        self.newest_ms = Some(newest);
        let horizon = newest.saturating_sub(HISTORY_WINDOW_MS);
        // Entries arrive nearly in time order, so the old ones are at the front: pruning pops
        // them there, O(1) amortized per event on a bucket of any size. A late fact older than
        // the window waits behind newer entries until it reaches the front; keeping it is
        // harmless (it is a real change), and `pruned_through_ms` is the newest time actually
        // dropped, which is all `change_after` relies on.
        while let Some(&(t, _)) = self.entries.front() {
            if t >= horizon {
                break;
            }
            self.entries.pop_front();
            self.pruned_through_ms = Some(self.pruned_through_ms.map_or(t, |p| p.max(t)));
        }
    }

    /// Notes a partner's snapshot of the bucket as of `as_of_ms`.
    pub(crate) fn snapshot_as_of(&mut self, as_of_ms: i64) {
        self.last_snapshot_ms = Some(as_of_ms);
    }

    /// `as_of` of the bucket's last partner snapshot.
    #[must_use]
    pub const fn last_snapshot_ms(&self) -> Option<i64> {
        self.last_snapshot_ms
    }

    /// The sum of the changes with a business time after `t_ms`, or `None` when the history
    /// no longer holds every such change (some were pruned at or after `t_ms`).
    #[must_use]
    pub fn change_after(&self, t_ms: i64) -> Option<i64> {
        if self.pruned_through_ms.is_some_and(|p| p > t_ms) {
            return None;
        }
        Some(self.entries.iter().filter(|(t, _)| *t > t_ms).map(|(_, c)| *c).sum())
    }

    /// The entries kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest business time pruned, if any.
    #[must_use]
    pub const fn pruned_through_ms(&self) -> Option<i64> {
        self.pruned_through_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 60 * 60 * 1000;

    #[test]
    fn on_hand_after_a_time_sums_later_changes_whatever_order_they_arrived_in() {
        let mut h = OnHandHistory::default();
        h.record(10 * DAY, 100);
        h.record(12 * DAY, -30);
        // A late fact dated between the two.
        h.record(11 * DAY, -5);
        assert_eq!(h.change_after(9 * DAY), Some(65));
        assert_eq!(h.change_after(10 * DAY), Some(-35));
        assert_eq!(h.change_after(11 * DAY), Some(-30));
        assert_eq!(h.change_after(12 * DAY), Some(0));
    }

    #[test]
    fn the_window_is_kept_by_event_time_and_older_questions_are_refused() {
        let mut h = OnHandHistory::default();
        h.record(DAY, 10);
        h.record(2 * DAY, 5);
        assert_eq!(h.pruned_through_ms(), None);
        h.record(32 * DAY, -1);
        // Day 1 left the window (32 − 30 = 2 is the horizon); day 2 stays.
        assert_eq!(h.len(), 2);
        assert_eq!(h.pruned_through_ms(), Some(DAY));
        assert_eq!(h.change_after(DAY), Some(4));
        assert_eq!(h.change_after(DAY - 1), None);
        // A late fact older than the window is kept behind newer entries (it is a real
        // change), so questions it answers stay exact.
        h.record(DAY + 5, 3);
        assert_eq!(h.pruned_through_ms(), Some(DAY));
        assert_eq!(h.change_after(DAY), Some(7));
        assert_eq!(h.change_after(2 * DAY), Some(-1));
        // Time moves on: what is older than the new horizon at the front goes (day 2); the
        // late fact waits behind day 32 until it reaches the front. The bound is the newest
        // time dropped.
        h.record(40 * DAY, 2);
        assert_eq!(h.pruned_through_ms(), Some(2 * DAY));
        assert_eq!(h.len(), 3);
        assert_eq!(h.change_after(10 * DAY), Some(1));
        assert_eq!(h.change_after(DAY + 4), None);
    }
}
