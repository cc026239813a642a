//! The exception queue as decisions see it: how many exceptions were ever raised (an
//! exception's number is the ordinal of its `exception.raised` event in the log, so every
//! replay numbers them the same), and which are still open.
//!
//! An exception leaves the queue when a person resolves or dismisses it
//! (`resolve_exception`), or when a later decision clears its cause: a hold past its SLA is
//! released or its order cancelled; a settlement whose deposit differed from its lines gets
//! the lines that explain the difference.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::ExceptionKind;
use crate::journal::JournalRef;

/// An exception's number: the ordinal of its `exception.raised` event in the log (1 is the
/// first ever raised). In GraphQL an `UnsignedInt64` (a string of digits), like every count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExceptionNo(pub u64);

impl std::fmt::Display for ExceptionNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An exception still in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenException {
    /// What to do.
    pub kind: ExceptionKind,
    /// What it is about.
    pub subject: JournalRef,
}

/// Raised count and open exceptions, indexed by number and by (kind, subject).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions {
    raised: u64,
    open: BTreeMap<u64, OpenException>,
    /// (kind, subject's stream) → open numbers: what a clearing decision looks up.
    by_subject: BTreeMap<(ExceptionKind, String), BTreeSet<u64>>,
}

impl Exceptions {
    /// Exceptions ever raised.
    #[must_use]
    pub const fn raised(&self) -> u64 {
        self.raised
    }

    /// An open exception by number.
    #[must_use]
    pub fn open(&self, number: u64) -> Option<&OpenException> {
        self.open.get(&number)
    }

    /// Open exceptions.
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// The numbers of the open exceptions of `kind` about `subject`, oldest first.
    pub fn open_about(
        &self,
        kind: ExceptionKind,
        subject: &JournalRef,
    ) -> impl Iterator<Item = u64> {
        self.by_subject.get(&(kind, subject.stream())).into_iter().flatten().copied()
    }

    /// Records a raised exception: it gets the next number.
    pub(crate) fn raise(&mut self, kind: ExceptionKind, subject: &JournalRef) {
        self.raised += 1;
        self.by_subject.entry((kind, subject.stream())).or_default().insert(self.raised);
        self.open.insert(self.raised, OpenException { kind, subject: subject.clone() });
    }

    /// Takes an exception out of the queue (a no-op for one not open: replay is total).
    pub(crate) fn close(&mut self, number: u64) {
        let Some(x) = self.open.remove(&number) else { return };
        let key = (x.kind, x.subject.stream());
        if let Some(set) = self.by_subject.get_mut(&key) {
            set.remove(&number);
            if set.is_empty() {
                self.by_subject.remove(&key);
            }
        }
    }
}
