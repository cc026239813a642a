//! Working the exception queue: a person acknowledges and resolves (or dismisses) an
//! exception; a decision that removes an exception's cause clears it.

use super::{Decision, text};
use crate::command::{AcknowledgeException, ManualResolution, ResolveException};
use crate::event::{
    Event, ExceptionAcknowledged, ExceptionKind, ExceptionResolution, ExceptionResolved,
};
use crate::journal::JournalRef;
use crate::rejection::Rejection;

pub(super) fn acknowledge(
    d: &Decision<'_>,
    c: &AcknowledgeException,
) -> Result<Vec<Event>, Rejection> {
    let open =
        d.state.exceptions.open(c.exception.0).ok_or(Rejection::UnknownException(c.exception.0))?;
    if !c.note.is_empty() {
        text("exception note", &c.note)?;
    }
    Ok(vec![Event::ExceptionAcknowledged(ExceptionAcknowledged {
        exception: c.exception.0,
        subject: open.subject.clone(),
        note: c.note.clone(),
    })])
}

pub(super) fn resolve(d: &Decision<'_>, c: &ResolveException) -> Result<Vec<Event>, Rejection> {
    let open =
        d.state.exceptions.open(c.exception.0).ok_or(Rejection::UnknownException(c.exception.0))?;
    // An auditor reads why an exception left the queue: the note is required.
    if c.note.trim().is_empty() {
        return Err(Rejection::InvalidInput(format!(
            "resolving exception {} needs a note saying what was done",
            c.exception
        )));
    }
    text("exception note", &c.note)?;
    Ok(vec![Event::ExceptionResolved(ExceptionResolved {
        exception: c.exception.0,
        kind: open.kind,
        subject: open.subject.clone(),
        resolution: match c.resolution {
            ManualResolution::Resolved => ExceptionResolution::Resolved,
            ManualResolution::Dismissed => ExceptionResolution::Dismissed,
        },
        note: c.note.clone(),
    })])
}

/// The events that clear every open exception of `kind` about `subject`, oldest first:
/// called by a decision that removed the cause.
pub(super) fn clear(
    d: &Decision<'_>,
    kind: ExceptionKind,
    subject: &JournalRef,
    why: &str,
) -> Vec<Event> {
    d.state
        .exceptions
        .open_about(kind, subject)
        .map(|exception| {
            Event::ExceptionResolved(ExceptionResolved {
                exception,
                kind,
                subject: subject.clone(),
                resolution: ExceptionResolution::Cleared,
                note: why.to_owned(),
            })
        })
        .collect()
}
